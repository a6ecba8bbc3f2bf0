//! The client-wide throttle gate: one 429 pauses every call of the client for its
//! `Retry-After`, instead of each worker finding out on its own.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Shared by all clones of a client (it lives in the hooks' state).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    paused_until: Mutex<Option<Instant>>,
}

impl Throttle {
    /// Waits until no pause is in force. Loops because a pause may be extended while waiting.
    pub(crate) async fn wait_open(&self) {
        loop {
            let until = *self.lock();
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Closes the gate for `delay` from now (never shortens a pause already in force).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self.lock();
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_waiter_and_is_never_shortened() {
        let throttle = Throttle::default();
        let start = Instant::now();
        throttle.wait_open().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        throttle.pause(Duration::from_secs(5));
        throttle.pause(Duration::from_secs(2));
        throttle.wait_open().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
