//! The one request seam: progenitor's `ClientHooks` for the generated client.
//!
//! Everything cross-cutting happens here, so the generated code stays untouched:
//! `pre` swaps progenitor's `api-version` header (Graph has no use for it) for the bearer
//! token and a `client-request-id`; `exec` waits for the client-wide throttle gate, sends,
//! retries what [`RetryPolicy`] allows (same `client-request-id`, `Retry-Attempt: n`), and for
//! a final error status reads only a bounded prefix of the body, recording what it saw in the
//! per-call [`CallRecord`] and on the current tracing span.

use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::error::call_record::{Answer, CallRecord, MAX_SUCCESS_BODY, new_client_request_id};
use crate::error::retryable;
use crate::generated::{self, Client};
use crate::request::ids;
use crate::request::retry::RetryPolicy;
use crate::request::retry_after;
use crate::request::throttle::{self, RunPacing, Throttle};
use crate::signin::auth::{AccessToken, TokenError, TokenProvider};

/// The names of the span fields the hooks fill in as answers arrive, defined once.
pub(crate) mod field {
    pub(crate) const CLIENT_REQUEST_ID: &str = "client_request_id";
    pub(crate) const ATTEMPTS: &str = "attempts";
    pub(crate) const STATUS: &str = "status";
    pub(crate) const REQUEST_ID: &str = "request_id";
    pub(crate) const DIAGNOSTIC: &str = "diagnostic";
}

/// The operation id of a request to an `@odata.nextLink`: its URL is the server's, sent as given.
pub(crate) const NEXT_PAGE: &str = "next_page";
/// The operation whose pages [`NEXT_PAGE`] requests fetch (its path is what the hooks check).
pub(crate) const NEXT_PAGE_OF: &str = generated::operations::LIST_AUTOPILOT_DEVICES;

/// Error bodies are read up to this many bytes; the rest of the body is never read.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

// Header names the hooks touch on every request, made once: a name given as `&str` is parsed
// again on each `insert`, `remove` or `get`. (Statics, not consts: `HeaderName` holds `Bytes`.)
static API_VERSION: HeaderName = HeaderName::from_static("api-version");
static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
static RETRY_ATTEMPT: HeaderName = HeaderName::from_static("retry-attempt");
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
static AGS_DIAGNOSTIC: HeaderName = HeaderName::from_static("x-ms-ags-diagnostic");

/// Shared, immutable client state that the hooks need (the generated client's inner type), and
/// the bulk run a client clone calls for, if any.
#[derive(Clone)]
pub struct HookState {
    shared: Arc<State>,
    /// Set only on a bulk run's own clone of the client (`GraphClient::for_run`): how the
    /// throttle paces the run's calls, and that a rate limit's 429 uses up none of their retries.
    run: Option<Arc<RunPacing>>,
}

struct State {
    token: Arc<dyn TokenProvider>,
    scopes: [&'static str; 1],
    retry: RetryPolicy,
    /// The client's timeout, which also bounds each wait for the token source.
    timeout: Duration,
    throttle: Throttle,
    /// The base URL the client was built with, and its path, parsed once here rather than on
    /// every request (`pre` parses only a client built by hand with another base URL).
    base_url: String,
    base_path: String,
    /// The last token and its `Authorization` value: a token source hands out the same token
    /// for many calls, so the header is built once per token, not once per request.
    bearer: Mutex<Option<(AccessToken, HeaderValue)>>,
}

impl HookState {
    pub(crate) fn new(
        token: Arc<dyn TokenProvider>,
        scope: &'static str,
        retry: RetryPolicy,
        timeout: Duration,
        base_url: &str,
    ) -> Self {
        Self {
            shared: Arc::new(State {
                token,
                scopes: [scope],
                retry,
                timeout,
                throttle: Throttle::default(),
                base_url: base_url.to_owned(),
                base_path: base_path(base_url),
                bearer: Mutex::default(),
            }),
            run: None,
        }
    }

    /// The same state (token, retries, throttle: all shared) for the calls of one bulk run.
    pub(crate) fn for_run(&self, run: Arc<RunPacing>) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            run: Some(run),
        }
    }
}

/// The path of a base URL (`/beta`); empty if it does not parse.
fn base_path(base_url: &str) -> String {
    reqwest::Url::parse(base_url)
        .map(|url| url.path().to_owned())
        .unwrap_or_default()
}

impl State {
    /// `Bearer <token>` as a sensitive header value, reused while the token source returns the
    /// same token (the comparison is a pointer check for a clone of the cached token).
    fn bearer(&self, token: &AccessToken) -> Result<HeaderValue, TokenError> {
        let mut cached = self.bearer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((last, value)) = &*cached
            && last == token
        {
            return Ok(value.clone());
        }
        // `Authorization: Bearer ` is no credential: fail here, not with Graph's 401.
        if token.secret().trim().is_empty() {
            return Err(TokenError::new("the token source returned an empty token"));
        }
        let mut auth = HeaderValue::try_from(format!("Bearer {}", token.secret()))
            .map_err(|_| TokenError::new("the token is not a valid HTTP header value"))?;
        // Sensitive values are redacted by `Debug` of the request and its headers.
        auth.set_sensitive(true);
        *cached = Some((token.clone(), auth.clone()));
        Ok(auth)
    }
}

impl std::fmt::Debug for HookState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token source may hold secrets: show only what is safe.
        f.debug_struct("HookState")
            .field("scopes", &self.shared.scopes)
            .field("retry", &self.shared.retry)
            .finish_non_exhaustive()
    }
}

tokio::task_local! {
    /// What the hooks learned during the current wrapper call.
    static CALL: CallRecord;
}

// Beside the task-local it sets: the record itself is data of the `error` layer.
impl CallRecord {
    /// Runs `call` with this record visible to the hooks.
    pub(crate) async fn scope<F: Future>(&self, call: F) -> F::Output {
        CALL.scope(self.clone(), call).await
    }
}

impl ClientHooks<HookState> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let state = &self.inner().shared;
        // Ids reach here unchecked through `generated()`: hold the final URL to the spec's path.
        let parsed;
        let base_path = if self.baseurl() == state.base_url {
            &state.base_path
        } else {
            parsed = base_path(self.baseurl());
            &parsed
        };
        let operation = match info.operation_id {
            NEXT_PAGE => NEXT_PAGE_OF,
            other => other,
        };
        if let Err(refused) = ids::check_path(operation, base_path, request.url().path()) {
            let message = match refused {
                crate::error::Error::InvalidInput(input) => input.to_string(),
                other => other.to_string(),
            };
            return Err(progenitor_client::Error::InvalidRequest(message));
        }
        // A next page's URL is the server's own text: sent exactly as given.
        if info.operation_id != NEXT_PAGE {
            crate::request::odata::reencode_query(request.url_mut());
        }
        // A hung credential (an az CLI that never exits, an unreachable IMDS) must not stall
        // every call: it gets as long as a request would. A source that answers at once (a
        // fixed token, a cache hit) is not put under a timer: arming one costs more than the
        // fetch.
        // A call's own timeout (`CallOptions`) replaces the client's, here and for each attempt.
        let call_timeout = CALL.try_with(CallRecord::timeout).ok().flatten();
        let (timeout, whose) = match call_timeout {
            Some(timeout) => (timeout, "the call's timeout"),
            None => (state.timeout, "the client timeout"),
        };
        let mut fetch = state.token.token(&state.scopes);
        let token = match std::future::poll_fn(|cx| Poll::Ready(fetch.as_mut().poll(cx))).await {
            Poll::Ready(token) => token,
            Poll::Pending => tokio::time::timeout(timeout, fetch)
                .await
                .unwrap_or_else(|_| {
                    Err(TokenError::transient(format!(
                        "the token source did not answer within {timeout:?} ({whose})"
                    )))
                }),
        };
        let token = token.and_then(|token| state.bearer(&token));
        let auth = match token {
            Ok(auth) => auth,
            Err(error) => {
                // progenitor's error type has no room for it: the wrapper reads it from the record.
                let message = error.to_string();
                let _ = CALL.try_with(|r| r.seen().token_error = Some(error));
                return Err(progenitor_client::Error::Custom(format!(
                    "token source: {message}"
                )));
            }
        };

        let client_request_id = CALL
            .try_with(|r| HeaderValue::from_str(r.client_request_id()))
            .unwrap_or_else(|_| HeaderValue::from_str(&new_client_request_id()))
            .expect("a UUID is a valid header value");
        if call_timeout.is_some() {
            // Kept by `try_clone`, so every retry of the call has it too.
            *request.timeout_mut() = call_timeout;
        }
        let headers = request.headers_mut();
        headers.remove(&API_VERSION);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(CLIENT_REQUEST_ID.clone(), client_request_id);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let state = &self.inner().shared;
        let run = self.inner().run.as_deref();
        let span = tracing::Span::current();
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        // Retries that used up one of the policy's `max_retries` (a throttle-timed 429 does not).
        let mut retries: u32 = 0;
        // A 429 whose retry the throttle times, kept to end the call with if the call's total
        // delay runs out first; and how much of it is left.
        let mut held: Option<(reqwest::Response, Duration)> = None;
        let mut request = request;
        // The token this request carries, so that a 401 can name it to the token source (read
        // out of the header only then).
        let sent_auth = request.headers().get(AUTHORIZATION).cloned();
        loop {
            attempt += 1;
            // Bodies here are JSON bytes, so the clone succeeds; without one we cannot retry.
            let spare = request.try_clone();
            // The gate (a 429's pause) and the pacer (the rate the server accepts).
            let ticket = match held.take() {
                None => state.throttle.admit(run).await,
                Some((refused, left)) => {
                    // Waiting for the throttle is this call's retry delay: it counts toward
                    // the total cap, which ends the call with its 429 rather than wait on.
                    let since = tokio::time::Instant::now();
                    match tokio::time::timeout(left, state.throttle.admit(run)).await {
                        Ok(ticket) => {
                            waited = waited.saturating_add(since.elapsed());
                            ticket
                        }
                        Err(_) => {
                            let _ = CALL.try_with(|r| r.seen().retry_after = None);
                            return finish(refused).await;
                        }
                    }
                }
            };
            let sent_at = ticket.sent_at;
            let _ = CALL.try_with(|r| r.seen().attempts = attempt);
            span.record(field::ATTEMPTS, attempt);
            tracing::debug!(attempt, "sending");

            let (delay, reason, next) = match self.client().execute(request).await {
                Ok(response) => {
                    record_response(&span, &response);
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| retry_after::parse(v, state.retry.max_total_delay()));
                    if response.status().is_success() {
                        state.throttle.succeeded(sent_at);
                    }
                    // A 429 without `Retry-After`: the client's throttle probes the server for
                    // every call and decides when this one goes again (see `paced_wait`).
                    let paced = status == 429 && retry_after.is_none();
                    let delay = if paced {
                        state.retry.paced_wait(waited)
                    } else {
                        retryable::is_retryable_status(status)
                            .then(|| state.retry.next_delay(retries + 1, retry_after, waited))
                            .flatten()
                    };
                    match (delay, spare) {
                        (Some(left), Some(next)) if paced => {
                            state.throttle.throttled(sent_at, None);
                            held = Some((response, left));
                            (Duration::ZERO, format!("status {status}"), next)
                        }
                        (Some(delay), Some(next)) => {
                            if status == 429 {
                                // While this call waits out the `Retry-After`, every call of
                                // the client waits too.
                                state
                                    .throttle
                                    .throttled(sent_at, retry_after.map(|r| r.wait));
                            }
                            // In a bulk run a rate limit's 429 throttles the fleet, not this
                            // item: the pacer asks until each window's 429, so one item can be
                            // refused at the end of several windows and fail while the run goes
                            // on. The total delay cap still ends it, since each such 429 waits.
                            // One asking for no pause (`Retry-After: 0`) counts: it would
                            // otherwise be retried at once, for ever, adding nothing to the cap.
                            let rate_limit = throttle::is_rate_limit(retry_after.map(|r| r.wait));
                            if !(status == 429 && rate_limit && run.is_some()) {
                                retries += 1;
                            }
                            (delay, format!("status {status}"), next)
                        }
                        _ => {
                            let retry_after = retry_after.map(|r| r.wait);
                            let _ = CALL.try_with(|r| r.seen().retry_after = retry_after);
                            // The body first: the request's timeout also runs while it is read.
                            let finished = finish(response).await;
                            if status == 401 {
                                invalidate(state, sent_auth.as_ref()).await;
                            }
                            return finished;
                        }
                    }
                }
                Err(error) => {
                    let delay = retryable::is_retryable_transport(&error)
                        .then(|| state.retry.next_delay(retries + 1, None, waited))
                        .flatten();
                    match (delay, spare) {
                        (Some(delay), Some(next)) => {
                            retries += 1;
                            (delay, format!("transport error: {error}"), next)
                        }
                        _ => return Err(error),
                    }
                }
            };
            drop(ticket); // not in flight while waiting to retry
            tracing::warn!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason,
                "retrying"
            );
            tokio::time::sleep(delay).await;
            waited = waited.saturating_add(delay);
            request = next;
            request
                .headers_mut()
                .insert(RETRY_ATTEMPT.clone(), HeaderValue::from(attempt));
        }
    }
}

/// Tells the token source that Graph refused the token `sent` carried (`Bearer …`). Once per
/// call: a 401 is final, and the next call asks for a new token. Bounded like the token fetch:
/// a cache may wait on a hung credential.
async fn invalidate(state: &State, sent: Option<&HeaderValue>) {
    let Some(token) = sent
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(AccessToken::new)
    else {
        return;
    };
    let invalidate = state.token.invalidate(&state.scopes, &token);
    let _ = tokio::time::timeout(state.timeout, invalidate).await;
}

/// Records the answer's status and Graph's ids on the call's span.
fn record_response(span: &tracing::Span, response: &reqwest::Response) {
    if span.is_disabled() {
        // No subscriber wants the span: nothing to look up.
        return;
    }
    let header = |name: &HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok());
    span.record(field::STATUS, response.status().as_u16());
    if let Some(id) = header(&REQUEST_ID) {
        span.record(field::REQUEST_ID, id);
    }
    if let Some(diagnostic) = header(&AGS_DIAGNOSTIC) {
        span.record(field::DIAGNOSTIC, diagnostic);
    }
}

/// Bounds a success body to [`MAX_SUCCESS_BODY`]; cuts an error body to its bounded prefix and
/// records the answer.
async fn finish(response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(limit_body(response));
    }
    let (answer, body) = read_bounded(response).await?;
    let _ = CALL.try_with(|r| r.seen().last_answer = Some(answer.clone()));
    Ok(rebuild(answer, body))
}

/// The same response, whose body fails with [`http_body_util::LengthLimitError`] once it passes
/// [`MAX_SUCCESS_BODY`] (progenitor would otherwise buffer whatever the server sends).
fn limit_body(response: reqwest::Response) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    // A declared length within the bound needs no limit (a `204`'s is 0): hyper ends the body
    // at its `Content-Length` (HTTP/1) or refuses DATA beyond it (HTTP/2). Rebuilding the
    // response around a limited body costs a URL copy and two allocations per call.
    if response
        .content_length()
        .is_some_and(|length| length <= MAX_SUCCESS_BODY as u64)
    {
        return response;
    }
    // Keep the URL: errors while reading the body name it.
    let url = response.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let (with_url, ()) = http::Response::builder()
        .url(url)
        .body(())
        .expect("an empty builder with a URL is a valid response")
        .into_parts();
    parts.extensions.extend(with_url.extensions);
    let body = reqwest::Body::wrap(http_body_util::Limited::new(body, MAX_SUCCESS_BODY));
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error body; an oversized body is cut, not buffered.
async fn read_bounded(mut response: reqwest::Response) -> reqwest::Result<(Answer, Bytes)> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await? {
            Some(chunk) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok((Answer { status, headers }, body.into()))
}

/// Hands progenitor an equivalent response whose body is the bounded prefix.
fn rebuild(answer: Answer, body: Bytes) -> reqwest::Response {
    let mut response = http::Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    reqwest::Response::from(response)
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
