//! Waiting until a device reports an assignment: Intune shows it only after a while.

use std::time::Duration;

use crate::api::client::GraphClient;
use crate::api::ids::DeviceId;
use crate::error::{Error, InputErrorKind};
use crate::generated::types::{AutopilotDevice, ResourceAccountAssignment};

/// The first pause between reads by default; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The longest pause between reads by default.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// How long verification waits by default (the CLI's default `--verify-timeout`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How [`GraphClient::verify_assignment_with`] waits: for how long, and how far apart it reads
/// the device. Reads start [`first_poll`](Self::first_poll) apart and the pause doubles up to
/// [`max_poll`](Self::max_poll); the last pause is cut to end at the
/// [`timeout`](Self::timeout).
///
/// The default is the schedule of [`GraphClient::verify_assignment`] (200 ms doubling up to
/// 30 s) with a 5-minute timeout. A zero timeout is allowed: one read, no wait. Pauses that
/// cannot work are refused when the options are used, not clamped: see
/// [`verify_assignment_with`](GraphClient::verify_assignment_with).
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account::VerifyOptions;
///
/// let options = VerifyOptions::default()
///     .with_timeout(Duration::from_secs(900))
///     .with_first_poll(Duration::from_secs(1));
/// assert_eq!(options.timeout(), Duration::from_secs(900));
/// assert_eq!(options.max_poll(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct VerifyOptions {
    timeout: Duration,
    first_poll: Duration,
    max_poll: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            first_poll: FIRST_POLL_INTERVAL,
            max_poll: MAX_POLL_INTERVAL,
        }
    }
}

impl VerifyOptions {
    /// How long to wait for the device to report the assignment (default 5 minutes; zero:
    /// read once).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The pause after the first read (default 200 ms); each next pause doubles. Must be
    /// greater than zero and at most [`max_poll`](Self::max_poll).
    pub fn with_first_poll(mut self, pause: Duration) -> Self {
        self.first_poll = pause;
        self
    }

    /// The longest pause between reads (default 30 s). Must be greater than zero.
    pub fn with_max_poll(mut self, pause: Duration) -> Self {
        self.max_poll = pause;
        self
    }

    /// How long to wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The pause after the first read.
    pub fn first_poll(&self) -> Duration {
        self.first_poll
    }

    /// The longest pause between reads.
    pub fn max_poll(&self) -> Duration {
        self.max_poll
    }

    /// Refuses a schedule that cannot work (see [`InputErrorKind::PollSchedule`]).
    fn check(&self) -> Result<(), Error> {
        let refuse = |parameter: &str, why: &str| {
            Err(Error::invalid_input(
                InputErrorKind::PollSchedule,
                Some(parameter),
                format!("verification poll schedule: {why}"),
            ))
        };
        if self.first_poll.is_zero() {
            return refuse(
                "first_poll",
                "the first pause must be greater than zero (the device would be read without pause)",
            );
        }
        if self.max_poll.is_zero() {
            return refuse(
                "max_poll",
                "the longest pause must be greater than zero (the device would be read without pause)",
            );
        }
        if self.first_poll > self.max_poll {
            return refuse(
                "first_poll",
                &format!(
                    "the first pause ({:?}) is longer than the longest ({:?})",
                    self.first_poll, self.max_poll
                ),
            );
        }
        Ok(())
    }
}

impl GraphClient {
    /// Reads the device until it reports `assignment`, or until `timeout` has passed.
    ///
    /// The device must report the assignment's `userPrincipalName` (compared without regard to
    /// case), and its `addressableUserName` when the assignment gives one. The assignment's
    /// `resourceAccountName` is compared with the device's `resourceName` only when the device
    /// reports one: that these two name the same thing is inferred from the field names and
    /// the API reference, not documented by Microsoft.
    ///
    /// Reads start 200 ms apart and back off (doubling, at most 30 s); a zero `timeout` reads
    /// once. After `timeout` the result is [`Error::NotVerified`], saying what the device still
    /// reports. Errors of the reads themselves (after the client's own retries) end the wait at
    /// once. [`verify_assignment_with`](Self::verify_assignment_with) takes another schedule.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// use std::time::Duration;
    /// use autopilot_resource_account::ResourceAccountAssignment;
    ///
    /// let assignment = ResourceAccountAssignment::new()
    ///     .with_user_principal_name("room-101@contoso.com")
    ///     .with_addressable_user_name("Room 101")
    ///     .with_resource_account_name("room-101");
    /// let id = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// client.assign_resource_account_to_device(&id, &assignment).await?;
    /// let device = client.verify_assignment(&id, &assignment, Duration::from_secs(600)).await?;
    /// assert_eq!(device.user_principal_name.as_deref(), Some("room-101@contoso.com"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::NotVerified`] when `timeout` passes and the device still reports something
    ///   else (with the device as last read).
    /// - Any error of a read ([`Error::Graph`], [`Error::Transport`], [`Error::TokenSource`],
    ///   [`Error::UnexpectedResponse`]), at once, as for
    ///   [`autopilot_device`](Self::autopilot_device).
    pub async fn verify_assignment(
        &self,
        device_id: &DeviceId,
        assignment: &ResourceAccountAssignment,
        timeout: Duration,
    ) -> Result<AutopilotDevice, Error> {
        let options = VerifyOptions::default().with_timeout(timeout);
        self.verify_assignment_with(device_id, assignment, &options)
            .await
    }

    /// [`verify_assignment`](Self::verify_assignment) with its timeout and poll schedule taken
    /// from `options`.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// use std::time::Duration;
    /// use autopilot_resource_account::{ResourceAccountAssignment, VerifyOptions};
    ///
    /// let assignment = ResourceAccountAssignment::new().with_user_principal_name("room-101@contoso.com");
    /// let id = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// // Every 10 s to a minute, for up to an hour.
    /// let options = VerifyOptions::default()
    ///     .with_timeout(Duration::from_secs(3600))
    ///     .with_first_poll(Duration::from_secs(10))
    ///     .with_max_poll(Duration::from_secs(60));
    /// client.verify_assignment_with(&id, &assignment, &options).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`] (kind [`PollSchedule`](crate::InputErrorKind::PollSchedule))
    ///   before anything is sent, when a pause is zero or the first pause is longer than the
    ///   longest.
    /// - Otherwise those of [`verify_assignment`](Self::verify_assignment).
    pub async fn verify_assignment_with(
        &self,
        device_id: &DeviceId,
        assignment: &ResourceAccountAssignment,
        options: &VerifyOptions,
    ) -> Result<AutopilotDevice, Error> {
        options.check()?;
        let timeout = options.timeout;
        let start = tokio::time::Instant::now();
        let mut pause = options.first_poll;
        loop {
            let device = self.autopilot_device(device_id).await?;
            let differences = device.assignment_differences(assignment);
            if differences.is_empty() {
                return Ok(device);
            }
            let waited = start.elapsed();
            let Some(left) = timeout.checked_sub(waited).filter(|l| !l.is_zero()) else {
                return Err(Error::NotVerified {
                    device_id: device_id.to_string(),
                    waited,
                    still_reports: differences.join("; "),
                    device: Box::new(device),
                });
            };
            tokio::time::sleep(pause.min(left)).await;
            pause = pause.saturating_mul(2).min(options.max_poll);
        }
    }
}

impl AutopilotDevice {
    /// What this device reports that differs from `assignment`, one phrase per field; empty
    /// when it reports the assignment. The comparison [`GraphClient::verify_assignment`] waits
    /// on, public so that a plan can tell "already assigned" by the same rule.
    ///
    /// The `userPrincipalName` is compared without regard to case (and surrounding blanks the
    /// device may report); the `addressableUserName` when the assignment gives one; the
    /// `resourceAccountName` with the device's `resourceName` only when the device reports one
    /// (that the two name the same thing is inferred, not documented by Microsoft).
    ///
    /// ```
    /// use autopilot_resource_account::{AutopilotDevice, ResourceAccountAssignment};
    ///
    /// let mut device = AutopilotDevice::default();
    /// device.user_principal_name = Some("Room-101@contoso.com".into());
    /// let assignment = ResourceAccountAssignment::new().with_user_principal_name("room-101@contoso.com");
    /// assert!(device.assignment_differences(&assignment).is_empty());
    /// ```
    pub fn assignment_differences(&self, assignment: &ResourceAccountAssignment) -> Vec<String> {
        let device = self;
        let mut out = Vec::new();
        let mut compare = |field: &str,
                           reported: Option<&str>,
                           expected: Option<&str>,
                           same: fn(&str, &str) -> bool| {
            let Some(expected) = expected else { return };
            match reported {
                Some(r) if same(r, expected) => {}
                Some(r) => out.push(format!("{field} is {r:?} (expected {expected:?})")),
                None => out.push(format!("{field} is not set (expected {expected:?})")),
            }
        };
        compare(
            "userPrincipalName",
            device.user_principal_name.as_deref(),
            assignment.user_principal_name.as_deref(),
            |a, b| a.trim().eq_ignore_ascii_case(b.trim()),
        );
        compare(
            "addressableUserName",
            device.addressable_user_name.as_deref(),
            assignment.addressable_user_name.as_deref(),
            |a, b| a == b,
        );
        let reported_name = device.resource_name.as_deref().filter(|n| !n.is_empty());
        if reported_name.is_some() {
            compare(
                "resourceName",
                reported_name,
                assignment.resource_account_name.as_deref(),
                |a, b| a == b,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment() -> ResourceAccountAssignment {
        ResourceAccountAssignment::new()
            .with_user_principal_name("room@contoso.com")
            .with_addressable_user_name("Room")
            .with_resource_account_name("room")
    }

    #[test]
    fn matches_when_the_device_reports_the_assignment() {
        let device = AutopilotDevice {
            user_principal_name: Some("ROOM@contoso.com".into()),
            addressable_user_name: Some("Room".into()),
            ..Default::default()
        };
        // No resourceName reported: not compared.
        assert!(device.assignment_differences(&assignment()).is_empty());
    }

    #[test]
    fn resource_name_is_compared_with_its_case() {
        // Mutant killed: `resourceName` compared without regard to case (only the UPN is).
        let device = AutopilotDevice {
            user_principal_name: Some("room@contoso.com".into()),
            addressable_user_name: Some("Room".into()),
            resource_name: Some("ROOM".into()),
            ..Default::default()
        };
        assert_eq!(
            device.assignment_differences(&assignment()),
            [r#"resourceName is "ROOM" (expected "room")"#]
        );
    }

    #[test]
    fn names_every_difference() {
        let device = AutopilotDevice {
            user_principal_name: Some("old@contoso.com".into()),
            resource_name: Some("old".into()),
            ..Default::default()
        };
        assert_eq!(
            device.assignment_differences(&assignment()),
            [
                r#"userPrincipalName is "old@contoso.com" (expected "room@contoso.com")"#,
                r#"addressableUserName is not set (expected "Room")"#,
                r#"resourceName is "old" (expected "room")"#,
            ]
        );
    }
}
