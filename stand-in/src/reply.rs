//! Scripted answers: any status, headers and body, after an optional delay, or a reset.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

use super::ResetConnection;

/// One scripted answer of the [`StandIn`](super::StandIn).
///
/// ```
/// use autopilot_resource_account_stand_in::Reply;
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
    odata: Option<(String, String)>,
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
            odata: None,
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

    /// Sets a Graph OData error body, with `innerError` as Graph sends it: a fresh `request-id`,
    /// the request's `client-request-id` echoed, and a `date` without UTC offset.
    pub fn odata(mut self, code: &str, message: &str) -> Self {
        self.odata = Some((code.to_owned(), message.to_owned()));
        self
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

    /// Renders the answer to a request that sent `client_request_id`.
    pub(super) async fn into_response(
        mut self,
        client_request_id: Option<&str>,
    ) -> Result<hyper::Response<Full<Bytes>>, ResetConnection> {
        // Graph names its request on every answer, in the header and in an error's body, and
        // echoes the caller's id; a script may fix the request's id.
        let scripted = self
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("request-id"))
            .map(|(_, id)| id.clone());
        let request_id = scripted
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if let Some((code, message)) = self.odata.take() {
            let date = httpdate::fmt_http_date(std::time::SystemTime::now());
            self = self.json(&serde_json::json!({
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {
                        "date": iso_without_offset(&date),
                        "request-id": request_id,
                        "client-request-id": client_request_id,
                    }
                }
            }));
        }
        if scripted.is_none() {
            self = self.header("request-id", request_id);
        }
        if let Some(id) = client_request_id {
            self = self.header("client-request-id", id);
        }
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

/// `Sun, 29 Nov 2026 12:00:00 GMT` → `2026-11-29T12:00:00`, the offset-less form Graph uses.
fn iso_without_offset(http_date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = http_date.split_whitespace().collect();
    match parts.as_slice() {
        [_, day, month, year, time, _] => {
            let month = MONTHS.iter().position(|m| m == month).map_or(1, |i| i + 1);
            format!("{year}-{month:02}-{day}T{time}")
        }
        _ => http_date.to_owned(),
    }
}
