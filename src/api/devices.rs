//! The calls around the action that the onboarding job needs: read a device, find devices by
//! serial number (following every page), undo an assignment, unblock the next enrollment.

use std::collections::HashSet;

use crate::api::client::GraphClient;
use crate::api::ids::DeviceId;
use crate::error::Error;
use crate::generated::types::{AutopilotDevice, AutopilotDeviceCollectionResponse};
use crate::request::call::{self, call_span};
use crate::request::odata;

/// The `$select` of every device read: exactly the fields of [`AutopilotDevice`] (a unit test
/// holds this to the spec).
pub(crate) const DEVICE_SELECT: &str = "id,serialNumber,displayName,groupTag,userPrincipalName,\
addressableUserName,resourceName,deploymentProfileAssignmentStatus,userlessEnrollmentStatus,\
enrollmentState,lastContactedDateTime";

/// `$top` of a serial lookup's pages.
const PAGE_SIZE: u64 = 100;

/// A lookup stops with an error after this many pages (a server that never stops paging).
const MAX_PAGES: usize = 1000;

/// A lookup stops with an error when more devices than this report the serial: a real serial
/// is on one device (a few when re-registered), and the matches are held in memory.
const MAX_MATCHES: usize = 1000;

impl GraphClient {
    /// `POST /deviceManagement/windowsAutopilotDeviceIdentities/{device_id}/unassignResourceAccountFromDevice`
    ///
    /// Removes the resource account from the device (no body; Graph answers `204`). Like the
    /// assignment, the change shows on the device only after a while.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// let device = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// client.unassign_resource_account_from_device(&device).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow.
    pub async fn unassign_resource_account_from_device(
        &self,
        device_id: &DeviceId,
    ) -> Result<(), Error> {
        let device_id = device_id.as_str();
        let span = call_span!(UNASSIGN_RESOURCE_ACCOUNT_FROM_DEVICE, device_id = device_id);
        let call = self
            .generated()
            .unassign_resource_account_from_device(device_id);
        call::run(span, call::ASSIGNMENT, Box::pin(call)).await
    }

    /// `POST /deviceManagement/windowsAutopilotDeviceIdentities/{device_id}/allowNextEnrollment`
    ///
    /// Unblocks the next userless enrollment of a device whose `userlessEnrollmentStatus` is
    /// `blocked` (no body; Graph answers `204`).
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// let id = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// let device = client.autopilot_device(&id).await?;
    /// if device.userless_enrollment_status.as_deref() == Some("blocked") {
    ///     client.allow_next_enrollment(&id).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow.
    pub async fn allow_next_enrollment(&self, device_id: &DeviceId) -> Result<(), Error> {
        let device_id = device_id.as_str();
        let span = call_span!(ALLOW_NEXT_ENROLLMENT, device_id = device_id);
        let call = self.generated().allow_next_enrollment(device_id);
        call::run(span, call::ASSIGNMENT, Box::pin(call)).await
    }

    /// `GET /deviceManagement/windowsAutopilotDeviceIdentities/{device_id}?$select=…`
    ///
    /// Reads the device's fields that the job needs (every field of [`AutopilotDevice`]).
    /// Enum-like fields are plain strings, so values Intune adds later still decode.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// let device = client.autopilot_device(&"7f9b6c1e-0000-4000-8000-000000000001".parse()?).await?;
    /// println!("{:?} is linked to {:?}", device.serial_number, device.user_principal_name);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow, or a body that does not decode.
    pub async fn autopilot_device(&self, device_id: &DeviceId) -> Result<AutopilotDevice, Error> {
        let device_id = device_id.as_str();
        let span = call_span!(GET_AUTOPILOT_DEVICE, device_id = device_id);
        let call = self
            .generated()
            .get_autopilot_device(device_id, Some(DEVICE_SELECT));
        call::run(span, call::READ, Box::pin(call)).await
    }

    /// Every Autopilot device whose serial number is `serial`: trimmed, compared without regard
    /// to case. Empty when there is none; more than one when the serial is ambiguous; an error
    /// when more than 1000 devices report it (a server's answer, not a tenant's), and
    /// [`Error::DeadlineExceeded`] when the whole lookup takes longer than the client's
    /// [`lookup_deadline`](crate::GraphClientBuilder::lookup_deadline) (default 5 minutes).
    ///
    /// Sends `$filter=contains(serialNumber,'…')` (the query of Intune's own PowerShell module;
    /// the serial is an OData string literal, `'` doubled, so it can never change the filter's
    /// meaning), follows every `@odata.nextLink` that stays under the client's base URL (one
    /// that points elsewhere is an error, and is never sent the token), and keeps the exact
    /// matches: `contains` also returns near misses.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// match client.find_autopilot_devices_by_serial("PF3ABC12").await?.as_slice() {
    ///     [device] => println!("device id {:?}", device.id),
    ///     [] => println!("no such serial"),
    ///     many => println!("{} devices share that serial", many.len()),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`] (kind [`Serial`](crate::InputErrorKind::Serial)) before
    ///   anything is sent, when the trimmed serial is empty, longer than 256 bytes, or holds a
    ///   control character.
    /// - [`Error::DeadlineExceeded`] when the lookup outlasts the client's lookup deadline.
    /// - [`Error::UnexpectedResponse`] for a next link off the base URL, more than 1000 pages or
    ///   matches, or a page that does not decode.
    /// - [`Error::Graph`], [`Error::Transport`] or [`Error::TokenSource`] from any page's read,
    ///   as for [`autopilot_device`](Self::autopilot_device).
    pub async fn find_autopilot_devices_by_serial(
        &self,
        serial: &str,
    ) -> Result<Vec<AutopilotDevice>, Error> {
        let serial = odata::check_serial(serial)?;
        let mut pages = 0;
        let lookup = self.lookup_serial(serial, &mut pages);
        match tokio::time::timeout(self.lookup_deadline, lookup).await {
            Ok(found) => found,
            Err(_) => Err(Error::DeadlineExceeded {
                operation: format!("serial lookup {serial:?}"),
                deadline: self.lookup_deadline,
                pages,
            }),
        }
    }

    /// The lookup without its deadline; counts the pages read in `pages`.
    async fn lookup_serial(
        &self,
        serial: &str,
        pages: &mut u32,
    ) -> Result<Vec<AutopilotDevice>, Error> {
        let wanted = serial.to_lowercase();
        let is_match = |d: &AutopilotDevice| {
            d.serial_number
                .as_deref()
                .is_some_and(|s| s.trim().to_lowercase() == wanted)
        };
        let filter = odata::serial_filter(serial);
        let span = call_span!(LIST_AUTOPILOT_DEVICES, serial = serial, page = 1);
        let call = self.generated().list_autopilot_devices(
            Some(&filter),
            Some(DEVICE_SELECT),
            Some(PAGE_SIZE),
        );
        let mut page: AutopilotDeviceCollectionResponse =
            call::run(span, call::READ, Box::pin(call)).await?;
        *pages = 1;
        let mut found = Vec::new();
        let mut followed = HashSet::new();
        for number in 2.. {
            found.extend(std::mem::take(&mut page.value).into_iter().filter(is_match));
            if found.len() > MAX_MATCHES {
                return Err(Error::UnexpectedResponse {
                    status: None,
                    detail: format!("more than {MAX_MATCHES} devices report serial {serial:?}"),
                });
            }
            let Some(link) = page.odata_next_link.take() else {
                break;
            };
            if number > MAX_PAGES || !followed.insert(link.clone()) {
                return Err(Error::UnexpectedResponse {
                    status: None,
                    detail: format!(
                        "the device list did not end after {} pages (or repeated a page link)",
                        number - 1
                    ),
                });
            }
            let url = checked_next_link(self.base_url(), &link)?;
            let span = call_span!(LIST_AUTOPILOT_DEVICES, serial = serial, page = number);
            let call = call::get_next_page(self.generated(), url);
            page = call::run(span, call::READ, Box::pin(call)).await?;
            *pages += 1;
        }
        Ok(found)
    }
}

/// A next-page link is followed only under the client's own base URL: same scheme, host and
/// port, and a path below the base path. Anything else would hand the token to another server.
fn checked_next_link(base: &str, link: &str) -> Result<reqwest::Url, Error> {
    let refuse = |why: String| Error::UnexpectedResponse {
        status: None,
        detail: format!("@odata.nextLink {why}; not followed"),
    };
    let base = reqwest::Url::parse(base).map_err(|e| refuse(format!("base URL: {e}")))?;
    let url = reqwest::Url::parse(link).map_err(|e| refuse(format!("does not parse: {e}")))?;
    let under = format!("{}/", base.path().trim_end_matches('/'));
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default();
    if !same_origin || !url.username().is_empty() || url.password().is_some() {
        // Only the origin is shown: the rest of a foreign link is none of the log's business.
        let origin = url.origin().ascii_serialization();
        return Err(refuse(format!(
            "points to {origin}, outside the client's base URL"
        )));
    }
    if !url.path().starts_with(&under) {
        return Err(refuse(format!(
            "leaves the base path {} (path {})",
            base.path(),
            url.path()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_is_exactly_the_generated_device_fields() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap();
        let fields: Vec<&str> = spec["components"]["schemas"]["AutopilotDevice"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut selected: Vec<&str> = DEVICE_SELECT.split(',').collect();
        let mut fields = fields;
        selected.sort_unstable();
        fields.sort_unstable();
        assert_eq!(selected, fields);
    }

    #[test]
    fn next_links_stay_under_the_base_url() {
        let base = "http://127.0.0.1:8080/beta";
        for ok in [
            "http://127.0.0.1:8080/beta/deviceManagement/windowsAutopilotDeviceIdentities?$skiptoken=2",
            "HTTP://127.0.0.1:8080/beta/x",
        ] {
            assert!(checked_next_link(base, ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://127.0.0.1:8081/beta/x", "outside"),
            ("https://127.0.0.1:8080/beta/x", "outside"),
            ("http://localhost:8080/beta/x", "outside"),
            ("http://evil.example/beta/x", "outside"),
            ("http://u:p@127.0.0.1:8080/beta/x", "outside"),
            // A user name alone, or a password alone, is refused too (kills the mutant
            // `||` -> `&&` between the user name and password checks, found by cargo mutants).
            ("http://u@127.0.0.1:8080/beta/x", "outside"),
            ("http://:p@127.0.0.1:8080/beta/x", "outside"),
            ("http://127.0.0.1:8080/betax/y", "base path"),
            ("http://127.0.0.1:8080/beta/../other", "base path"),
            ("http://127.0.0.1:8080/", "base path"),
            ("/beta/relative", "does not parse"),
        ] {
            let e = checked_next_link(base, bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("u:p"), "{e}");
        }
        assert!(
            checked_next_link(
                "https://graph.microsoft.com/beta",
                "https://graph.microsoft.com:443/beta/x"
            )
            .is_ok()
        );
    }
}
