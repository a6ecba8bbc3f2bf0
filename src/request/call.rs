//! One wrapper call: its span, its [`CallRecord`], and the mapping of the generated error.
//!
//! Every [`GraphClient`](crate::GraphClient) method is a few lines over [`run`]: check the
//! input, open a span with [`call_span!`], run the generated call.

use std::pin::Pin;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use tracing::Instrument;

use crate::error::Error;
use crate::error::call_record::CallRecord;
use crate::generated::{self, types::ODataError};
use crate::request::hooks::{NEXT_PAGE, REQUEST_ID, field};
use crate::request::options::{CallOptions, Response};

/// One span per call: the operation (a constant of the generated `operations` table, named
/// without its path, so a misspelt id does not build), its ids, and the [`field`]s the hooks
/// record.
macro_rules! call_span {
    ($operation:ident, $($id:ident = $value:expr),+) => {
        tracing::info_span!(
            "graph_call",
            operation = $crate::generated::operations::$operation,
            $($id = $value,)+
            { $crate::request::hooks::field::CLIENT_REQUEST_ID } = tracing::field::Empty,
            { $crate::request::hooks::field::ATTEMPTS } = tracing::field::Empty,
            { $crate::request::hooks::field::STATUS } = tracing::field::Empty,
            { $crate::request::hooks::field::REQUEST_ID } = tracing::field::Empty,
            { $crate::request::hooks::field::DIAGNOSTIC } = tracing::field::Empty,
        )
    };
}
pub(crate) use call_span;

/// What a generated call returns.
pub(crate) type Generated<T> = Result<ResponseValue<T>, progenitor_client::Error<ODataError>>;

/// Log lines of a call's outcome (kept per kind of call: log searches rely on them).
pub(crate) struct Outcome {
    pub(crate) ok: &'static str,
    pub(crate) failed: &'static str,
}

/// For the writes.
pub(crate) const ASSIGNMENT: Outcome = Outcome {
    ok: "assignment accepted",
    failed: "assignment failed",
};

/// For the reads.
pub(crate) const READ: Outcome = Outcome {
    ok: "read answered",
    failed: "read failed",
};

/// Runs one generated call inside `span` and a fresh call record, and maps the outcome.
///
/// The generated future is about 3 KB and the layers around it would copy it into an 8.9 KB
/// future per call; callers box it (the wrapper future is then 256 bytes), so a bulk run
/// holding many calls in flight stays small.
pub(crate) async fn run<T>(
    span: tracing::Span,
    outcome: Outcome,
    call: Pin<Box<impl Future<Output = Generated<T>>>>,
) -> Result<T, Error> {
    respond(span, outcome, &CallOptions::default(), call)
        .await
        .map(Response::into_value)
}

/// [`run`] with the caller's options, keeping what the answer said (status, `request-id`).
/// Options are checked before the call is first polled: a refused one sends nothing.
pub(crate) async fn respond<T>(
    span: tracing::Span,
    outcome: Outcome,
    options: &CallOptions,
    call: Pin<Box<impl Future<Output = Generated<T>>>>,
) -> Result<Response<T>, Error> {
    let (timeout, client_request_id) = options.checked()?;
    let record = CallRecord::for_call(timeout, client_request_id);
    span.record(field::CLIENT_REQUEST_ID, record.client_request_id());
    let result = record.scope(call).instrument(span.clone()).await;
    let _entered = span.enter();
    match result {
        Ok(value) => {
            tracing::info!("{}", outcome.ok);
            let request_id = value
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok(Response::new(
                value.status().as_u16(),
                request_id,
                record.client_request_id().to_owned(),
                record.attempts(),
                value.into_inner(),
            ))
        }
        Err(error) => {
            let error = Error::from_generated(error, &record);
            tracing::warn!(error = %error, "{}", outcome.failed);
            Err(error)
        }
    }
}

/// `GET url` through the same hooks as a generated call (token, ids, retries, bounded errors),
/// decoded like one. `url` must already be checked to be under the client's base URL.
pub(crate) async fn get_next_page<T: serde::de::DeserializeOwned>(
    client: &generated::Client,
    url: reqwest::Url,
) -> Generated<T> {
    let info = OperationInfo {
        operation_id: NEXT_PAGE,
    };
    let mut request = client
        .client()
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .build()?;
    client.pre(&mut request, &info).await?;
    let result = client.exec(request, &info).await;
    client.post(&result, &info).await?;
    let response = result?;
    match response.status().as_u16() {
        200..=299 => ResponseValue::from_response(response).await,
        400..=599 => Err(progenitor_client::Error::ErrorResponse(
            ResponseValue::from_response(response).await?,
        )),
        _ => Err(progenitor_client::Error::UnexpectedResponse(response)),
    }
}
