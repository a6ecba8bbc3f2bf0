//! Scripted answers: any status, headers and body, after an optional delay, or a reset.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

use super::ResetConnection;

/// One scripted answer of the [`StandIn`](super::StandIn).
///
/// ```
/// use autopilot_resource_account::stand_in::Reply;
/// use std::time::Duration;
///
/// let throttled = Reply::status(429).header("Retry-After", "1").odata("TooManyRequests", "Slow down");
/// let gateway = Reply::status(502).header("Content-Type", "text/html").body("<html>Bad Gateway</html>");
/// let slow = Reply::status(204).delay(Duration::from_millis(200));
/// let reset = Reply::reset();
/// # let _ = (throttled, gateway, slow, reset);
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
    reset: bool,
}

impl Reply {
    /// An answer with this status and no body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
            reset: false,
        }
    }

    /// Drops the connection without answering (after the delay, if any).
    pub fn reset() -> Self {
        Self {
            reset: true,
            ..Self::status(0)
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(serde_json::to_vec(value).expect("a Value always serialises"))
    }

    /// Sets a Graph OData error body, with `innerError` ids and a date as Graph sends them.
    pub fn odata(self, code: &str, message: &str) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        self.header("request-id", request_id.clone()).json(&serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": "2026-11-29T12:00:00",
                    "request-id": request_id,
                    "client-request-id": request_id,
                }
            }
        }))
    }

    /// Waits this long before answering (or resetting).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub(super) fn is_reset(&self) -> bool {
        self.reset
    }

    pub(super) fn status_code(&self) -> u16 {
        self.status
    }

    pub(super) async fn into_response(self) -> Result<hyper::Response<Full<Bytes>>, ResetConnection> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.reset {
            return Err(ResetConnection);
        }
        let mut response = hyper::Response::builder().status(self.status);
        for (name, value) in &self.headers {
            response = response.header(name, value);
        }
        response
            .body(Full::new(self.body))
            .map_err(|_| ResetConnection)
    }
}
