//! [`Call`]: an operation not sent yet, so that options can be set on it and `.await` still
//! gives the value.

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::Error;
use crate::request::call::{Generated, Outcome, respond};
use crate::request::options::{CallOptions, Response};
use crate::signin::auth::BoxFuture;

/// Starts the call with its options: the operation method's body.
type Start<'a, T> =
    Box<dyn FnOnce(CallOptions) -> BoxFuture<'a, Result<Response<T>, Error>> + Send + 'a>;

/// One Graph operation, ready to go. Nothing is sent until it is awaited or [`send`](Self::send)
/// is awaited; options may be set before.
///
/// - `.await` gives the value (`()` for the writes): `client.allow_next_enrollment(&id).await?`.
/// - [`send`](Self::send) gives a [`Response`]: the value with the answer's status, Graph's
///   `request-id` and the `client-request-id` sent.
///
/// ```no_run
/// use std::time::Duration;
/// use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
///
/// # async fn run(client: GraphClient, assignment: ResourceAccountAssignment) -> Result<(), autopilot_resource_account::Error> {
/// let device = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
/// let response = client
///     .assign_resource_account_to_device(&device, &assignment)
///     .with_timeout(Duration::from_secs(10))
///     .with_client_request_id("0f8fad5b-d9cb-469f-a165-70867728950e")
///     .send()
///     .await?;
/// println!("accepted ({}), request-id {:?}", response.status(), response.request_id());
/// # Ok(()) }
/// ```
#[must_use = "a call sends nothing until it is awaited"]
pub struct Call<'a, T> {
    options: CallOptions,
    start: Start<'a, T>,
}

impl<'a, T: 'a> Call<'a, T> {
    /// One generated operation's call, run in `span` and logged as `outcome` says when sent.
    /// (The generated future does nothing until polled, so it can be made here.)
    pub(crate) fn generated(
        span: tracing::Span,
        outcome: Outcome,
        call: impl Future<Output = Generated<T>> + Send + 'a,
    ) -> Self {
        let start = move |options: CallOptions| -> BoxFuture<'a, Result<Response<T>, Error>> {
            Box::pin(async move { respond(span, outcome, &options, Box::pin(call)).await })
        };
        Self {
            options: CallOptions::default(),
            start: Box::new(start),
        }
    }
}

impl<'a, T> Call<'a, T> {
    /// Replaces every option of this call.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// [`CallOptions::with_timeout`] for this call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.with_timeout(timeout);
        self
    }

    /// [`CallOptions::with_client_request_id`] for this call.
    pub fn with_client_request_id(mut self, id: impl Into<String>) -> Self {
        self.options = self.options.with_client_request_id(id);
        self
    }

    /// Sends the call; the value comes with what the answer said about it.
    ///
    /// # Errors
    ///
    /// As the operation's own (see the method that made this call), and
    /// [`Error::InvalidInput`] for an option that cannot work (a zero timeout, a
    /// `client-request-id` that is not a GUID), before anything is sent.
    pub fn send(self) -> BoxFuture<'a, Result<Response<T>, Error>> {
        (self.start)(self.options)
    }
}

impl<T> std::fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, T: 'a> IntoFuture for Call<'a, T> {
    type Output = Result<T, Error>;
    type IntoFuture = CallFuture<'a, T>;

    fn into_future(self) -> Self::IntoFuture {
        CallFuture(self.send())
    }
}

/// The future of an awaited [`Call`]: its value, without the metadata.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture<'a, T>(BoxFuture<'a, Result<Response<T>, Error>>);

impl<T> Future for CallFuture<'_, T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0
            .as_mut()
            .poll(cx)
            .map(|result| result.map(Response::into_value))
    }
}

impl<T> std::fmt::Debug for CallFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallFuture")
    }
}
