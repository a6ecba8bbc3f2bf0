//! What Graph said when it refused a call: status, OData error, ids for support, Intune's detail.

use std::fmt;
use std::time::Duration;

use crate::generated::types::{MainError, ODataError};
use crate::text::one_line;

/// How much of a non-OData body we keep for the error text (the rest is never read).
const EXCERPT_CHARS: usize = 200;

/// A non-2xx answer from Graph (or from whatever stood in its place, such as a gateway's HTML page).
///
/// Every field is best-effort except [`status`](GraphError::status): an empty `503`, an HTML
/// `502` or a truncated 10 MB body all still give the status, and the OData fields when the
/// body held them.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub(crate) status: u16,
    pub(crate) error: Option<MainError>,
    pub(crate) request_id: Option<String>,
    pub(crate) client_request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) diagnostic: Option<String>,
    pub(crate) intune: Option<IntuneMessage>,
    pub(crate) body_excerpt: Option<String>,
    pub(crate) attempts: u32,
}

impl GraphError {
    /// Builds the error from what the response carried. `odata` is the decoded body, if it was
    /// an OData error; otherwise `body` (a bounded prefix) becomes a one-line excerpt.
    /// `retry_after` is the answer's `Retry-After` as the hooks read it (clamped).
    pub(crate) fn new(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        odata: Option<ODataError>,
        body: &[u8],
        sent_client_request_id: Option<&str>,
        retry_after: Option<Duration>,
        attempts: u32,
    ) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let error = odata.map(|o| o.error);
        let inner = error.as_ref().and_then(|e| e.inner_error.as_ref());
        let request_id = inner
            .and_then(|i| i.request_id.clone())
            .or_else(|| header("request-id"));
        // The id we sent is the one our logs know; Graph's echo is the fallback.
        let client_request_id = sent_client_request_id
            .map(str::to_owned)
            .or_else(|| inner.and_then(|i| i.client_request_id.clone()))
            .or_else(|| header("client-request-id"));
        let intune = error
            .as_ref()
            .and_then(|e| IntuneMessage::parse(&e.message));
        let body_excerpt = match error {
            Some(_) => None,
            None => Some(one_line(&String::from_utf8_lossy(body), EXCERPT_CHARS))
                .filter(|s| !s.is_empty()),
        };
        Self {
            status,
            error,
            request_id,
            client_request_id,
            retry_after,
            diagnostic: header("x-ms-ags-diagnostic"),
            intune,
            body_excerpt,
            attempts,
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The OData error `code`, such as `Forbidden` or `ResourceNotFound`.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.as_str())
    }

    /// The OData error `message`, verbatim (for Intune, a JSON document: see [`intune`](Self::intune)).
    pub fn message(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.message.as_str())
    }

    /// The whole decoded OData error, when the body was one.
    pub fn odata(&self) -> Option<&MainError> {
        self.error.as_ref()
    }

    /// `innerError.date` as Graph sent it (UTC, but without an offset, so left as text).
    pub fn date(&self) -> Option<&str> {
        self.error.as_ref()?.inner_error.as_ref()?.date.as_deref()
    }

    /// Graph's `request-id` (from `innerError`, else the response header), for support cases.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The `client-request-id` of the call: the one we sent (Graph echoes it).
    pub fn client_request_id(&self) -> Option<&str> {
        self.client_request_id.as_deref()
    }

    /// The server's `Retry-After`, when it sent one (delta-seconds or HTTP-date), clamped to the
    /// retry policy's [total delay cap](crate::RetryPolicy::with_max_total_delay): a longer ask reads
    /// as the cap (and was not retried).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The `x-ms-ags-diagnostic` header (which Graph data centre answered).
    pub fn diagnostic(&self) -> Option<&str> {
        self.diagnostic.as_deref()
    }

    /// Intune's JSON document from inside `message`, when there was one.
    pub fn intune(&self) -> Option<&IntuneMessage> {
        self.intune.as_ref()
    }

    /// The start of a body that was not an OData error (an HTML gateway page, say), on one line.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }

    /// How many times the request was sent before this answer was accepted as final.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether waiting and trying again may succeed: throttling (429) and transient 503/504.
    pub fn is_retryable(&self) -> bool {
        super::retryable::is_retryable_status(self.status)
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph answered {}", self.status)?;
        if let Some(reason) = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        if let Some(code) = self.code() {
            write!(f, ": {}", one_line(code, 80))?;
        }
        let message = self
            .intune
            .as_ref()
            .and_then(|i| i.message())
            .or(self.message());
        if let Some(message) = message.or(self.body_excerpt.as_deref()) {
            write!(f, ": {}", one_line(message, 300))?;
        }
        let mut ids = Vec::new();
        if let Some(id) = &self.request_id {
            ids.push(format!("request-id {}", one_line(id, 64)));
        }
        if let Some(id) = &self.client_request_id {
            ids.push(format!("client-request-id {}", one_line(id, 64)));
        }
        if self.attempts > 1 {
            ids.push(format!("after {} attempts", self.attempts));
        }
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        Ok(())
    }
}

/// Intune's error detail: Intune puts a JSON document inside the OData `message`, such as
/// `{"_version": 3, "Message": "An internal server error has occurred - Operation ID …", …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntuneMessage {
    raw: serde_json::Value,
}

impl IntuneMessage {
    /// Parses `message` when it is (or ends in) a JSON object; anything else is not Intune's.
    pub fn parse(message: &str) -> Option<Self> {
        let start = message.find('{')?;
        let raw: serde_json::Value = serde_json::from_str(message[start..].trim_end()).ok()?;
        raw.is_object().then_some(Self { raw })
    }

    /// The human-readable `Message`.
    pub fn message(&self) -> Option<&str> {
        self.raw.get("Message")?.as_str()
    }

    /// `CustomApiErrorPhrase`, when not empty.
    pub fn custom_api_error_phrase(&self) -> Option<&str> {
        self.raw
            .get("CustomApiErrorPhrase")?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// `ErrorSourceService`, when not empty.
    pub fn error_source_service(&self) -> Option<&str> {
        self.raw
            .get("ErrorSourceService")?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// The `Activity ID` quoted inside `Message`, which Microsoft support asks for.
    pub fn activity_id(&self) -> Option<&str> {
        id_after(self.message()?, "Activity ID: ")
    }

    /// The `Operation ID (for customer support)` quoted inside `Message`.
    pub fn operation_id(&self) -> Option<&str> {
        id_after(self.message()?, "Operation ID (for customer support): ")
    }

    /// The whole document.
    pub fn raw(&self) -> &serde_json::Value {
        &self.raw
    }
}

fn id_after<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let rest = &text[text.find(label)? + label.len()..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intune_message_is_parsed_best_effort() {
        let m = IntuneMessage::parse(
            r#"{"_version": 3, "Message": "An internal server error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: 7d8a2c1e-1111-2222-3333-444455556666 - Url: https://fef.msub02.manage.microsoft.com/x", "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}"#,
        )
        .unwrap();
        assert_eq!(
            m.activity_id(),
            Some("7d8a2c1e-1111-2222-3333-444455556666")
        );
        assert_eq!(
            m.operation_id(),
            Some("00000000-0000-0000-0000-000000000000")
        );
        assert_eq!(m.custom_api_error_phrase(), None);
        assert!(m.message().unwrap().starts_with("An internal server error"));
        assert!(IntuneMessage::parse("Insufficient privileges").is_none());
        assert!(IntuneMessage::parse("{not json").is_none());
        assert!(IntuneMessage::parse("[1]").is_none());
    }
}
