//! What a caller may set for one call ([`CallOptions`]) and what a successful call reports
//! besides its value ([`Response`]).

use std::time::Duration;

use crate::error::{Error, InputErrorKind};

/// Options for one call, in the style of the Azure SDK's per-method options: `Default` is the
/// client's behaviour, and each `with_*` setter changes one thing. Given to a call with
/// [`Call::options`](crate::Call::options), or set one at a time with the call's own setters.
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account::CallOptions;
///
/// let options = CallOptions::default()
///     .with_timeout(Duration::from_secs(10))
///     .with_client_request_id("0f8fad5b-d9cb-469f-a165-70867728950e");
/// assert_eq!(options.timeout(), Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    timeout: Option<Duration>,
    client_request_id: Option<String>,
}

impl CallOptions {
    /// This call's request timeout, in place of the client's
    /// [`timeout`](crate::GraphClientBuilder::timeout): it bounds each attempt (a retry gets it
    /// afresh) and each wait for the token source. Zero is refused when the call starts
    /// ([`InputErrorKind::ZeroTimeout`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The `client-request-id` to send (every attempt carries the same), in place of a fresh
    /// one: to correlate the call with the caller's own logs or a support case. Graph's is a
    /// GUID; anything else is refused when the call starts
    /// ([`InputErrorKind::ClientRequestId`]). Give each call its own.
    pub fn with_client_request_id(mut self, id: impl Into<String>) -> Self {
        self.client_request_id = Some(id.into());
        self
    }

    /// The timeout set, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The `client-request-id` set, if any.
    pub fn client_request_id(&self) -> Option<&str> {
        self.client_request_id.as_deref()
    }

    /// The options as the hooks use them, or the refusal of a bad one.
    pub(crate) fn checked(&self) -> Result<(Option<Duration>, Option<String>), Error> {
        if self.timeout == Some(Duration::ZERO) {
            return Err(Error::invalid_input(
                InputErrorKind::ZeroTimeout,
                Some("timeout"),
                "the call's timeout must be greater than zero",
            ));
        }
        let id = match &self.client_request_id {
            None => None,
            Some(id) => match uuid::Uuid::try_parse(id) {
                // Sent in Graph's own form: hyphenated, lower case.
                Ok(uuid) => Some(uuid.hyphenated().to_string()),
                Err(_) => {
                    return Err(Error::invalid_input(
                        InputErrorKind::ClientRequestId,
                        Some("client_request_id"),
                        "the client-request-id must be a GUID",
                    ));
                }
            },
        };
        Ok((self.timeout, id))
    }
}

/// A successful call's value and what its answer said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<T> {
    value: T,
    status: u16,
    request_id: Option<String>,
    client_request_id: String,
    attempts: u32,
}

impl<T> Response<T> {
    pub(crate) fn new(
        status: u16,
        request_id: Option<String>,
        client_request_id: String,
        attempts: u32,
        value: T,
    ) -> Self {
        Self {
            value,
            status,
            request_id,
            client_request_id,
            attempts,
        }
    }

    /// The decoded value (`()` for an action Graph answers with `204`).
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The decoded value, the metadata dropped.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The HTTP status of the answer (e.g. `204` for the assignment).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Graph's `request-id` header of the answer: what Microsoft support asks for.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The `client-request-id` the call sent (the one of [`CallOptions`], or a fresh GUID).
    pub fn client_request_id(&self) -> &str {
        &self.client_request_id
    }

    /// How many times the request was sent (1 without retries).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}
