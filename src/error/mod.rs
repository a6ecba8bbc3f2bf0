//! The crate's one error type, and how progenitor's errors map onto it; [`graph_error`] holds
//! what Graph said. [`call_record`] what the hooks saw of the
//! call, [`retryable`] what is worth another attempt. This layer imports only `signin` (for
//! [`TokenError`]) and the `text` leaf.

pub(crate) mod call_record;
pub(crate) mod graph_error;
pub(crate) mod retryable;

use std::fmt;

use crate::generated::types::ODataError;
use crate::signin::auth::TokenError;
use crate::text::one_line;
use call_record::{CallRecord, MAX_SUCCESS_BODY};
use graph_error::GraphError;

/// Everything that can go wrong with a call. `Display` is one line and never holds a token.
///
/// The enum and its struct-like variants are `#[non_exhaustive]`, so a variant or a field added
/// later is not a breaking change: match them with `..` and a wildcard arm.
///
/// ```
/// use autopilot_resource_account::Error;
///
/// fn attempts(e: &Error) -> u32 {
///     match e {
///         Error::Transport { attempts, .. } => *attempts,
///         _ => 1,
///     }
/// }
/// # let _ = attempts;
/// ```
///
/// Naming every field without `..` does not compile outside the crate:
///
/// ```compile_fail,E0638
/// use autopilot_resource_account::Error;
///
/// fn attempts(e: &Error) -> u32 {
///     match e {
///         Error::Transport { source, attempts } => { let _ = source; *attempts }
///         _ => 1,
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused before anything was sent (a bad id, a bad base URL, …);
    /// [`InvalidInput::kind`] says which.
    InvalidInput(InvalidInput),
    /// Graph (or a gateway in front of it) answered with an error status.
    Graph(Box<GraphError>),
    /// No answer: the connection failed, was reset, or timed out.
    #[non_exhaustive]
    Transport {
        /// What failed (its text holds the URL, never headers).
        source: TransportError,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The token source could not produce a token.
    TokenSource(TokenError),
    /// [`GraphClient::verify_assignment`](crate::GraphClient::verify_assignment) ran out of
    /// time: the device still reports something other than the assignment.
    #[non_exhaustive]
    NotVerified {
        /// The device read.
        device_id: String,
        /// How long the device was watched.
        waited: std::time::Duration,
        /// What the device still reports, one phrase per field, e.g.
        /// `userPrincipalName is "old@contoso.com" (expected "room@contoso.com")`.
        still_reports: String,
        /// The device as last read.
        device: Box<crate::generated::types::AutopilotDevice>,
    },
    /// A serial lookup did not finish within the client's
    /// [`lookup_deadline`](crate::GraphClientBuilder::lookup_deadline) (a server that pages
    /// slowly); nothing is returned of the pages read so far.
    #[non_exhaustive]
    DeadlineExceeded {
        /// What ran out of time, e.g. `serial lookup "PF3ABC12"`.
        operation: String,
        /// The deadline it had.
        deadline: std::time::Duration,
        /// How many pages were read before it.
        pages: u32,
    },
    /// An answer the API description does not allow (a redirect, say), or one we could not read.
    #[non_exhaustive]
    UnexpectedResponse {
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What was wrong, on one line.
        detail: String,
    },
}

impl Error {
    /// Input refused before sending: what kind, the parameter it concerns, and the message.
    pub(crate) fn invalid_input(
        kind: InputErrorKind,
        parameter: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Error::InvalidInput(InvalidInput {
            kind,
            parameter: parameter.map(str::to_owned),
            message: message.into(),
        })
    }

    /// The error of a transport failure (`attempts`: how many times the request was sent).
    pub(crate) fn transport(source: reqwest::Error, attempts: u32) -> Self {
        Error::Transport {
            source: TransportError(source),
            attempts,
        }
    }

    /// The HTTP status, whenever a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Graph(e) => Some(e.status()),
            Error::Transport { source, .. } => source.0.status().map(|s| s.as_u16()),
            Error::UnexpectedResponse { status, .. } => *status,
            Error::InvalidInput(_)
            | Error::TokenSource(_)
            | Error::NotVerified { .. }
            | Error::DeadlineExceeded { .. } => None,
        }
    }

    /// The Graph error details, when Graph answered with an error status.
    pub fn graph(&self) -> Option<&GraphError> {
        match self {
            Error::Graph(e) => Some(e),
            _ => None,
        }
    }

    /// The OData error `code` (e.g. `Forbidden`), when Graph sent one.
    pub fn code(&self) -> Option<&str> {
        self.graph()?.code()
    }

    /// Graph's `request-id`, for support cases.
    pub fn request_id(&self) -> Option<&str> {
        self.graph()?.request_id()
    }

    /// The `client-request-id` of the failed call.
    pub fn client_request_id(&self) -> Option<&str> {
        self.graph()?.client_request_id()
    }

    /// Whether the same call may succeed later: 429, 503, 504 and failures before any answer
    /// (the cases the client itself retries), and a token source failure its source marked
    /// [transient](TokenError::is_transient). A timeout is not: the server may have acted.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Graph(e) => e.is_retryable(),
            Error::Transport { source, .. } => retryable::is_retryable_transport(&source.0),
            // A passing failure of the token source (a timeout, an unreachable or busy identity
            // endpoint): the next call fetches again.
            Error::TokenSource(e) => e.is_transient(),
            Error::InvalidInput(_)
            | Error::UnexpectedResponse { .. }
            | Error::NotVerified { .. }
            // Like a timeout: the same slow server would most likely run out of time again.
            | Error::DeadlineExceeded { .. } => false,
        }
    }

    /// Maps what the generated client returned, using what the hooks recorded for this call.
    pub(crate) fn from_generated(
        error: progenitor_client::Error<ODataError>,
        call: &CallRecord,
    ) -> Self {
        use progenitor_client::Error as E;
        let attempts = call.attempts();
        let sent_id = Some(call.client_request_id());
        let retry_after = call.retry_after();
        let graph = |status: u16, headers: &reqwest::header::HeaderMap, odata, body: &[u8]| {
            Error::Graph(Box::new(GraphError::new(
                status,
                headers,
                odata,
                body,
                sent_id,
                retry_after,
                attempts,
            )))
        };
        match error {
            E::ErrorResponse(value) => {
                let status = value.status().as_u16();
                let headers = value.headers().clone();
                graph(status, &headers, Some(value.into_inner()), &[])
            }
            // Not an OData body (HTML, empty, cut short): progenitor lost the status, the hooks did not.
            E::InvalidResponsePayload(body, decode) => match call.last_answer() {
                Some(answer) => graph(answer.status, &answer.headers, None, &body),
                None => Error::UnexpectedResponse {
                    status: None,
                    detail: format!("unreadable response body: {decode}"),
                },
            },
            E::UnexpectedResponse(response) => Error::UnexpectedResponse {
                status: Some(response.status().as_u16()),
                detail: format!("status {} is not in the API description", response.status()),
            },
            // The hooks cut a success body at its bound: an answer, not a failure to get one.
            E::ResponseBodyError(source) if body_too_long(&source) => Error::UnexpectedResponse {
                status: None,
                detail: format!(
                    "the response body is longer than {} bytes; not read further",
                    MAX_SUCCESS_BODY
                ),
            },
            E::CommunicationError(source)
            | E::ResponseBodyError(source)
            | E::InvalidUpgrade(source) => Error::transport(source, attempts),
            E::Custom(message) => match call.token_error() {
                Some(error) => Error::TokenSource(error),
                None => Error::UnexpectedResponse {
                    status: None,
                    detail: message,
                },
            },
            // The hooks refused the built request's path (an id rewrote it), or progenitor could
            // not build the request.
            E::InvalidRequest(message) => {
                Error::invalid_input(InputErrorKind::RequestPath, None, message)
            }
        }
    }
}

/// Whether `error` is the bound the hooks put on success bodies.
fn body_too_long(error: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(input) => {
                write!(f, "invalid input: {}", one_line(&input.message, 300))
            }
            Error::Graph(e) => e.fmt(f),
            Error::Transport { source, attempts } => {
                write!(f, "transport error")?;
                if *attempts > 1 {
                    write!(f, " after {attempts} attempts")?;
                }
                // reqwest's own chain, as before `TransportError` wrapped it.
                let mut cause: Option<&dyn std::error::Error> = Some(&source.0);
                while let Some(e) = cause {
                    write!(f, ": {}", one_line(&e.to_string(), 200))?;
                    cause = e.source();
                }
                Ok(())
            }
            Error::TokenSource(e) => {
                write!(f, "token source failed: {}", one_line(e.message(), 300))
            }
            Error::NotVerified {
                device_id,
                waited,
                still_reports,
                ..
            } => write!(
                f,
                "device {device_id:?} does not report the assignment after {:.1} s: {}",
                waited.as_secs_f64(),
                one_line(still_reports, 300)
            ),
            Error::DeadlineExceeded {
                operation,
                deadline,
                pages,
                ..
            } => write!(
                f,
                "{} did not finish within {:.1} s (the lookup deadline; {pages} pages read)",
                one_line(operation, 200),
                deadline.as_secs_f64()
            ),
            Error::UnexpectedResponse { status, detail, .. } => {
                write!(f, "unexpected response")?;
                if let Some(status) = status {
                    write!(f, " ({status})")?;
                }
                write!(f, ": {}", one_line(detail, 300))
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            Error::TokenSource(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a request got no answer: an opaque wrapper of the HTTP client's error, so that upgrading
/// the HTTP client is not a breaking change of this crate. `Display` is one line;
/// [`source`](std::error::Error::source) is the HTTP client's error (its text holds the URL,
/// never headers).
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    /// Whether the request (or the wait for its answer) ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// Whether the connection could not be made (refused, DNS, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What failed; the HTTP client's text (with the URL) is the source.
        f.write_str(if self.0.is_timeout() {
            "the request timed out"
        } else if self.0.is_connect() {
            "the connection failed"
        } else if self.0.is_body() || self.0.is_decode() {
            "reading the response failed"
        } else {
            "the request failed"
        })
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Input refused before anything was sent: its [`kind`](Self::kind), the
/// [`parameter`](Self::parameter) it concerns, and a one-line message (the `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    kind: InputErrorKind,
    parameter: Option<String>,
    message: String,
}

impl InvalidInput {
    /// What was refused: a builder mistake or a refused value.
    pub fn kind(&self) -> InputErrorKind {
        self.kind
    }

    /// The parameter it concerns (e.g. `device_id`), when one does.
    pub fn parameter(&self) -> Option<&str> {
        self.parameter.as_deref()
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidInput {}

/// What kind of input was refused. The first group are mistakes in building the client (fixed
/// in code or configuration); the second are values refused at a call (fixed in the data).
/// [`is_builder_mistake`](Self::is_builder_mistake) tells the groups apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// [`build`](crate::GraphClientBuilder::build) without a token source.
    NoTokenSource,
    /// The base URL does not parse or is not allowed (plain http off loopback, credentials, …).
    BaseUrl,
    /// A zero [`timeout`](crate::GraphClientBuilder::timeout), of the client or of one call
    /// ([`CallOptions::with_timeout`](crate::CallOptions::with_timeout)).
    ZeroTimeout,
    /// A zero [`lookup_deadline`](crate::GraphClientBuilder::lookup_deadline).
    ZeroDeadline,
    /// The HTTP client could not be built (e.g. no TLS backend).
    HttpClient,
    /// A [`proxy`](crate::GraphClientBuilder::proxy) URL that does not parse or is not
    /// `http`/`https`.
    Proxy,
    /// An [`add_root_certificate_pem`](crate::GraphClientBuilder::add_root_certificate_pem)
    /// text that holds no PEM certificate or does not decode, or a build without TLS.
    RootCertificate,
    /// An id (a device, profile or assigned-device id) that may not go in a path.
    Id,
    /// A user principal name (or user id) Graph cannot address by path.
    UserPrincipalName,
    /// A serial number (empty, too long, or with control characters).
    Serial,
    /// The built request's path is not the operation's (an id rewrote it), or the request could
    /// not be built.
    RequestPath,
    /// A [`CallOptions`](crate::CallOptions) `client-request-id` that is not a GUID.
    ClientRequestId,
    /// A [`VerifyOptions`](crate::VerifyOptions) poll schedule that cannot work: a zero pause
    /// between reads (the device would be read without pause until the timeout), or a first
    /// pause longer than the longest.
    PollSchedule,
}

impl InputErrorKind {
    /// Whether this is a mistake in building the client rather than a value refused at a call.
    pub fn is_builder_mistake(self) -> bool {
        matches!(
            self,
            Self::NoTokenSource
                | Self::BaseUrl
                | Self::ZeroTimeout
                | Self::ZeroDeadline
                | Self::HttpClient
                | Self::Proxy
                | Self::RootCertificate
        )
    }
}
