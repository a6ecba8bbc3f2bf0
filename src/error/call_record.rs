//! What the hooks learn during one wrapper call, kept for the error that may end it: the hooks
//! (a layer above) write it through a task-local, and [`Error`](super::Error) is built from it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::signin::auth::TokenError;

/// Success bodies (a device, a page of devices: kilobytes) are read up to this many bytes; a
/// longer one ends the call instead of growing memory until the timeout.
pub(crate) const MAX_SUCCESS_BODY: usize = 16 * 1024 * 1024;

/// Per-call facts that progenitor's error type cannot carry (it drops the status of an
/// undecodable body, for one). The wrapper scopes one around each call; clones share state.
#[derive(Debug, Clone)]
pub(crate) struct CallRecord(Arc<CallState>);

#[derive(Debug)]
struct CallState {
    client_request_id: String,
    /// The call's own request timeout, in place of the client's (`CallOptions::with_timeout`).
    timeout: Option<Duration>,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) attempts: u32,
    pub(crate) last_answer: Option<Answer>,
    /// The final answer's `Retry-After`, clamped to the retry policy's cap.
    pub(crate) retry_after: Option<Duration>,
    pub(crate) token_error: Option<TokenError>,
}

/// The status line and headers of the last error answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
}

impl CallRecord {
    /// A record for a call with a timeout and a `client-request-id` of its own (else a fresh one).
    pub(crate) fn for_call(timeout: Option<Duration>, client_request_id: Option<String>) -> Self {
        Self(Arc::new(CallState {
            client_request_id: client_request_id.unwrap_or_else(new_client_request_id),
            timeout,
            seen: Mutex::default(),
        }))
    }

    pub(crate) fn client_request_id(&self) -> &str {
        &self.0.client_request_id
    }

    /// The call's own request timeout, if it has one.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.0.timeout
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.seen().attempts
    }

    pub(crate) fn last_answer(&self) -> Option<Answer> {
        self.seen().last_answer.clone()
    }

    /// The final answer's `Retry-After`, clamped to the retry policy's cap.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.seen().retry_after
    }

    /// Why the token source failed, if that is what ended the call.
    pub(crate) fn token_error(&self) -> Option<TokenError> {
        self.seen().token_error.clone()
    }

    pub(crate) fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // Nothing panics while holding the lock, but a poisoned record is still readable.
        self.0.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A fresh GUID in its hyphenated lower-case form (as `Uuid::to_string`, without `fmt`).
pub(crate) fn new_client_request_id() -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buffer)
        .to_owned()
}
