//! The calls around the action that the onboarding job needs: read a device, find devices by
//! serial number (following every page), undo an assignment, unblock the next enrollment.

use futures_util::{Stream, StreamExt};

use crate::api::call::Call;
use crate::api::client::GraphClient;
use crate::api::device_fields::DEVICE_SELECT;
use crate::api::ids::DeviceId;
use crate::api::serial_pages;
use crate::error::Error;
use crate::generated::types::AutopilotDevice;
use crate::request::call::{self, call_span};

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
    /// A [`Call`]: `.await` it, or set [`CallOptions`](crate::CallOptions) and
    /// [`send`](Call::send) it for the answer's status and `request-id`.
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow.
    pub fn unassign_resource_account_from_device<'a>(
        &'a self,
        device_id: &'a DeviceId,
    ) -> Call<'a, ()> {
        let device_id = device_id.as_str();
        let span = call_span!(UNASSIGN_RESOURCE_ACCOUNT_FROM_DEVICE, device_id = device_id);
        let call = self
            .generated()
            .unassign_resource_account_from_device(device_id);
        Call::generated(span, call::ASSIGNMENT, call)
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
    /// A [`Call`]: `.await` it, or set [`CallOptions`](crate::CallOptions) and
    /// [`send`](Call::send) it for the answer's status and `request-id`.
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow.
    pub fn allow_next_enrollment<'a>(&'a self, device_id: &'a DeviceId) -> Call<'a, ()> {
        let device_id = device_id.as_str();
        let span = call_span!(ALLOW_NEXT_ENROLLMENT, device_id = device_id);
        let call = self.generated().allow_next_enrollment(device_id);
        Call::generated(span, call::ASSIGNMENT, call)
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
    /// A [`Call`]: `.await` it, or set [`CallOptions`](crate::CallOptions) and
    /// [`send`](Call::send) it for the answer's status and `request-id`.
    ///
    /// # Errors
    ///
    /// - [`Error::Graph`] when Graph answers an error status, after the client's retries (429,
    ///   503, 504); [`Error::Transport`] when no answer came; [`Error::TokenSource`] when the
    ///   token source fails; [`Error::UnexpectedResponse`] for an answer the API description does
    ///   not allow, or a body that does not decode.
    pub fn autopilot_device<'a>(&'a self, device_id: &'a DeviceId) -> Call<'a, AutopilotDevice> {
        let device_id = device_id.as_str();
        let span = call_span!(GET_AUTOPILOT_DEVICE, device_id = device_id);
        let call = self
            .generated()
            .get_autopilot_device(device_id, Some(DEVICE_SELECT));
        Call::generated(span, call::READ, call)
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
        let mut found = Vec::new();
        let mut pages = std::pin::pin!(self.autopilot_device_pages_by_serial(serial));
        while let Some(page) = pages.next().await {
            found.extend(page?);
        }
        Ok(found)
    }

    /// The lookup of [`find_autopilot_devices_by_serial`](Self::find_autopilot_devices_by_serial)
    /// as a stream of pages: one item per page Graph answers, holding that page's exact matches
    /// (often none: `contains` also returns near misses), so a caller can show progress or stop
    /// early. Nothing is sent until the stream is polled; each poll reads one page.
    ///
    /// The same checks hold: next links are followed only under the client's base URL, at most
    /// 1000 pages and 1000 matches in all, and the
    /// [`lookup_deadline`](crate::GraphClientBuilder::lookup_deadline) bounds the time spent
    /// reading pages, all pages together (the caller's time between polls does not count). An
    /// error is the stream's last item, after the pages before it; a refused serial is its only item.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// use futures_util::StreamExt;
    ///
    /// let mut pages = std::pin::pin!(client.autopilot_device_pages_by_serial("PF3ABC12"));
    /// while let Some(page) = pages.next().await {
    ///     for device in page? {
    ///         println!("device id {:?}", device.id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As items, each ending the stream: those of
    /// [`find_autopilot_devices_by_serial`](Self::find_autopilot_devices_by_serial).
    pub fn autopilot_device_pages_by_serial<'a>(
        &'a self,
        serial: &str,
    ) -> impl Stream<Item = Result<Vec<AutopilotDevice>, Error>> + Send + use<'a> {
        serial_pages::pages(self, serial)
    }
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
}
