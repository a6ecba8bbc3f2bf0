//! Waiting until a device reports an assignment: Intune shows it only after a while.

use std::time::Duration;

use crate::api::client::GraphClient;
use crate::api::ids::DeviceId;
use crate::error::Error;
use crate::generated::types::{AutopilotDevice, ResourceAccountAssignment};

/// The first pause between reads; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The longest pause between reads.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

impl GraphClient {
    /// Reads the device until it reports `assignment`, or until `timeout` has passed.
    ///
    /// The device must report the assignment's `userPrincipalName` (compared without regard to
    /// case), and its `addressableUserName` when the assignment gives one. The assignment's
    /// `resourceAccountName` is compared with the device's `resourceName` only when the device
    /// reports one: that these two name the same thing is inferred from the field names and
    /// the API reference, not documented by Microsoft.
    ///
    /// Reads start 200 ms apart and back off (doubling, at most 30 s). After `timeout` the
    /// result is [`Error::NotVerified`], saying what the device still reports. Errors of the
    /// reads themselves (after the client's own retries) end the wait at once.
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
        let start = tokio::time::Instant::now();
        let mut pause = FIRST_POLL_INTERVAL;
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
            pause = pause.saturating_mul(2).min(MAX_POLL_INTERVAL);
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
