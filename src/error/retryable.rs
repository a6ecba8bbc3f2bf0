//! What is worth another attempt, defined once: read by [`Error::is_retryable`](crate::Error::is_retryable)
//! and by the hooks' retry loop (which sits above this layer).

/// Whether a status is worth another attempt: throttling and transient unavailability.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// Whether a transport error happened before any response (connect failure, reset), which is
/// safe to retry. Timeouts are not: the server may still be working on the request.
pub(crate) fn is_retryable_transport(error: &reqwest::Error) -> bool {
    !error.is_timeout() && (error.is_connect() || error.is_request())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert!([429, 503, 504].into_iter().all(is_retryable_status));
        assert!(
            ![400, 401, 403, 404, 409, 500, 501, 502]
                .into_iter()
                .any(is_retryable_status)
        );
    }
}
