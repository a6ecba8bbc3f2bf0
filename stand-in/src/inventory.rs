//! The stand-in's Autopilot devices: what the onboarding job reads, finds and changes.
//!
//! Modelled on what Intune does: an assignment (or its removal) shows on the device only
//! after a delay; `allowNextEnrollment` unblocks userless enrollment; the device list answers
//! `$filter=contains(serialNumber,'…')` (case-insensitive, so near misses come back too) in
//! pages with an absolute `@odata.nextLink`; `$select` is honoured.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use autopilot_resource_account_stand_in::{Device, StandIn};
//! use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
//!
//! let graph = StandIn::start().await?;
//! graph.add_devices([Device::new("dev-1", "PF3ABC12").group_tag("MTR-lobby")]);
//! graph.set_visibility_delay(Duration::from_millis(50));
//! let client = GraphClient::builder().base_url(&graph.base_url()).bearer_token("t").build()?;
//!
//! let found = client.find_autopilot_devices_by_serial("pf3abc12").await?;
//! assert_eq!(found[0].id.as_deref(), Some("dev-1"));
//! let assignment = ResourceAccountAssignment::new().with_user_principal_name("room@contoso.com");
//! client.assign_resource_account_to_device(&"dev-1".parse()?, &assignment).await?;
//! let device = client.verify_assignment(&"dev-1".parse()?, &assignment, Duration::from_secs(5)).await?;
//! assert_eq!(device.user_principal_name.as_deref(), Some("room@contoso.com"));
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{Reply, StandIn};
use autopilot_resource_account::generated::operations;

/// Longest serial-filter literal the stand-in parses.
const MAX_FILTER: usize = 4096;

/// Longest visibility delay: a longer one (`Duration::MAX`, say) would overflow an `Instant`;
/// a century is "never" to any test.
const MAX_VISIBILITY_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// An Autopilot device in the stand-in's inventory. Start from [`Device::new`]; the defaults
/// are a device ready for Teams Rooms except for its group tag (none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The Autopilot device id.
    pub id: String,
    /// `serialNumber`.
    pub serial_number: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `groupTag`.
    pub group_tag: Option<String>,
    /// `deploymentProfileAssignmentStatus` (default `assignedInSync`).
    pub deployment_profile_assignment_status: String,
    /// `userlessEnrollmentStatus` (default `allowed`).
    pub userless_enrollment_status: String,
    /// `enrollmentState` (default `notContacted`).
    pub enrollment_state: String,
    /// `lastContactedDateTime`, as Intune sends it (no UTC offset).
    pub last_contacted_date_time: String,
    /// `userPrincipalName` of the linked resource account, as the device reports it now.
    pub user_principal_name: Option<String>,
    /// `addressableUserName`, as the device reports it now.
    pub addressable_user_name: Option<String>,
    /// `resourceName`, as the device reports it now.
    pub resource_name: Option<String>,
}

impl Device {
    /// A device with an id and a serial number.
    pub fn new(id: impl Into<String>, serial_number: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            serial_number: serial_number.into(),
            display_name: None,
            group_tag: None,
            deployment_profile_assignment_status: "assignedInSync".into(),
            userless_enrollment_status: "allowed".into(),
            enrollment_state: "notContacted".into(),
            last_contacted_date_time: "2025-01-31T08:00:00".into(),
            user_principal_name: None,
            addressable_user_name: None,
            resource_name: None,
        }
    }

    /// Sets `groupTag`.
    pub fn group_tag(mut self, tag: impl Into<String>) -> Self {
        self.group_tag = Some(tag.into());
        self
    }

    /// Sets `deploymentProfileAssignmentStatus` (e.g. `notAssigned`).
    pub fn profile_status(mut self, status: impl Into<String>) -> Self {
        self.deployment_profile_assignment_status = status.into();
        self
    }

    /// Sets `userlessEnrollmentStatus` (e.g. `blocked`).
    pub fn userless_enrollment(mut self, status: impl Into<String>) -> Self {
        self.userless_enrollment_status = status.into();
        self
    }

    /// Sets `enrollmentState`.
    pub fn enrollment_state(mut self, state: impl Into<String>) -> Self {
        self.enrollment_state = state.into();
        self
    }

    /// A resource account already linked (visible at once).
    pub fn linked(mut self, upn: &str, addressable_user_name: &str, resource_name: &str) -> Self {
        self.user_principal_name = Some(upn.into());
        self.addressable_user_name = Some(addressable_user_name.into());
        self.resource_name = Some(resource_name.into());
        self
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("id", json!(self.id));
        put("serialNumber", json!(self.serial_number));
        put("displayName", json!(self.display_name));
        put("groupTag", json!(self.group_tag));
        put("userPrincipalName", json!(self.user_principal_name));
        put("addressableUserName", json!(self.addressable_user_name));
        put("resourceName", json!(self.resource_name));
        put(
            "deploymentProfileAssignmentStatus",
            json!(self.deployment_profile_assignment_status),
        );
        put(
            "userlessEnrollmentStatus",
            json!(self.userless_enrollment_status),
        );
        put("enrollmentState", json!(self.enrollment_state));
        put(
            "lastContactedDateTime",
            json!(self.last_contacted_date_time),
        );
        // Real devices carry many more properties; a client must ignore them.
        put("manufacturer", json!("Contoso"));
        put("model", json!("Teams Room"));
        m
    }
}

/// The linked account fields, as a pending change.
#[derive(Debug, Clone, Default)]
struct Linked {
    upn: Option<String>,
    addressable_user_name: Option<String>,
    resource_name: Option<String>,
}

#[derive(Debug)]
struct Entry {
    device: Device,
    /// A change not yet visible, and when it becomes visible.
    pending: Option<(Linked, Instant)>,
}

impl Entry {
    /// Applies a pending change that is due.
    fn settle(&mut self, now: Instant) {
        if let Some((linked, at)) = self.pending.take() {
            if at <= now {
                self.device.user_principal_name = linked.upn;
                self.device.addressable_user_name = linked.addressable_user_name;
                self.device.resource_name = linked.resource_name;
            } else {
                self.pending = Some((linked, at));
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Inventory {
    pub(super) base_url: String,
    devices: Vec<Entry>,
    visibility_delay: Duration,
    page_size: Option<usize>,
    next_link_base: Option<String>,
}

impl StandIn {
    /// Adds devices to the inventory (in list order). Once it holds any device, writes to an
    /// unknown device id are answered `404`, as Intune does.
    pub fn add_devices(&self, devices: impl IntoIterator<Item = Device>) {
        let mut inventory = self.shared.inventory();
        inventory
            .devices
            .extend(devices.into_iter().map(|device| Entry {
                device,
                pending: None,
            }));
    }

    /// How long an assignment or unassignment takes to show on the device (default: at once;
    /// at most a century, which stands for "never").
    pub fn set_visibility_delay(&self, delay: Duration) {
        self.shared.inventory().visibility_delay = delay.min(MAX_VISIBILITY_DELAY);
    }

    /// The most devices per page of the list, whatever `$top` asks (default: `$top`, else 100).
    pub fn set_page_size(&self, size: usize) {
        self.shared.inventory().page_size = Some(size.max(1));
    }

    /// Writes `@odata.nextLink`s under `base` (e.g. another host's URL) instead of the
    /// stand-in's own base URL: for testing that a client does not follow them.
    pub fn set_next_link_base(&self, base: Option<String>) {
        self.shared.inventory().next_link_base = base;
    }

    /// A device as it reports itself now (changes still pending are not shown).
    pub fn device(&self, id: &str) -> Option<Device> {
        let mut inventory = self.shared.inventory();
        let now = Instant::now();
        inventory
            .devices
            .iter_mut()
            .find(|e| e.device.id == id)
            .map(|e| {
                e.settle(now);
                e.device.clone()
            })
    }
}

impl super::Shared {
    pub(super) fn inventory(&self) -> std::sync::MutexGuard<'_, Inventory> {
        self.inventory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn bad_request(message: &str) -> Reply {
    Reply::status(400).odata("BadRequest", message)
}

fn not_found(id: &str) -> Reply {
    Reply::status(404).odata(
        "ResourceNotFound",
        &format!("windowsAutopilotDeviceIdentity {id:?} was not found"),
    )
}

impl Inventory {
    /// The answer to a request the spec check accepted and no script answered.
    pub(super) fn answer(
        &mut self,
        operation: &str,
        device_id: Option<&str>,
        target: &str,
        body: &[u8],
    ) -> Reply {
        let now = Instant::now();
        for e in &mut self.devices {
            e.settle(now);
        }
        let query = match parse_query(target) {
            Ok(q) => q,
            Err(why) => return bad_request(&why),
        };
        if operation == operations::LIST_AUTOPILOT_DEVICES {
            return self.list(&query, now);
        }
        let id = device_id.unwrap_or_default();
        let empty = self.devices.is_empty();
        let delay = self.visibility_delay;
        let entry = self.devices.iter_mut().find(|e| e.device.id == id);
        match (operation, entry) {
            (operations::GET_AUTOPILOT_DEVICE, Some(e)) => match select(&e.device, &query) {
                Ok(fields) => Reply::status(200).json(&Value::Object(fields)),
                Err(why) => bad_request(&why),
            },
            (operations::GET_AUTOPILOT_DEVICE, None) => not_found(id),
            // Without an inventory every write succeeds, as before there was one.
            (_, None) if empty => Reply::status(204),
            (_, None) => not_found(id),
            (operations::UNASSIGN_RESOURCE_ACCOUNT_FROM_DEVICE, Some(e)) => {
                e.pending = Some((Linked::default(), now + delay));
                Reply::status(204)
            }
            (operations::ALLOW_NEXT_ENROLLMENT, Some(e)) => {
                if e.device.userless_enrollment_status == "blocked" {
                    e.device.userless_enrollment_status = "allowed".into();
                }
                Reply::status(204)
            }
            (_, Some(e)) => {
                // One of the assign operations (the spec check has vetted the body).
                let v: Value = serde_json::from_slice(body).unwrap_or_default();
                let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                let linked = Linked {
                    upn: field("userPrincipalName"),
                    addressable_user_name: field("addressableUserName"),
                    // Inferred: the device shows the account's name as resourceName.
                    resource_name: field("resourceAccountName"),
                };
                e.pending = Some((linked, now + delay));
                Reply::status(204)
            }
        }
    }

    fn list(&self, query: &[(String, String)], _now: Instant) -> Reply {
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let needle = match get("$filter").map(parse_serial_filter).transpose() {
            Ok(n) => n.map(|n| n.to_lowercase()),
            Err(why) => return bad_request(&why),
        };
        let top = match get("$top").map(str::parse::<usize>).transpose() {
            Ok(t) => t,
            Err(_) => return bad_request("$top must be a non-negative integer"),
        };
        let skip = match get("$skiptoken").map(str::parse::<usize>).transpose() {
            Ok(s) => s.unwrap_or(0),
            Err(_) => return bad_request("The $skiptoken is not valid"),
        };
        let size = match (top, self.page_size) {
            (Some(t), Some(p)) => t.min(p),
            (Some(t), None) => t,
            (None, p) => p.unwrap_or(100),
        }
        .max(1);
        let matching: Vec<&Device> = self
            .devices
            .iter()
            .map(|e| &e.device)
            .filter(|d| {
                needle
                    .as_ref()
                    .is_none_or(|n| d.serial_number.to_lowercase().contains(n))
            })
            .collect();
        let mut value = Vec::new();
        for d in matching.iter().skip(skip).take(size) {
            match select(d, query) {
                Ok(fields) => value.push(Value::Object(fields)),
                Err(why) => return bad_request(&why),
            }
        }
        // The list's path, from the generated table (no path is written by hand).
        let list = operations::find(operations::LIST_AUTOPILOT_DEVICES).map_or("", |op| op.path);
        let mut page = json!({
            "@odata.context": format!("{}/$metadata#{}", self.base_url, list.trim_start_matches('/')),
            "value": value,
        });
        // Both come from the query: a huge `$skiptoken` or `$top` must not overflow.
        if skip.saturating_add(size) < matching.len() {
            let base = self.next_link_base.as_deref().unwrap_or(&self.base_url);
            let mut rest: Vec<String> = query
                .iter()
                .filter(|(k, _)| k != "$skiptoken")
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            rest.push(format!("$skiptoken={}", skip + size));
            page["@odata.nextLink"] = json!(format!("{base}{list}?{}", rest.join("&")));
        }
        Reply::status(200).json(&page)
    }
}

fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'$')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b',')
        .remove(b'(')
        .remove(b')');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// The device's JSON, cut to `$select` when given (an unknown property is a `400`, as in Graph).
fn select(device: &Device, query: &[(String, String)]) -> Result<Map<String, Value>, String> {
    let mut all = device.to_json();
    let Some((_, list)) = query.iter().find(|(k, _)| k == "$select") else {
        return Ok(all);
    };
    let mut out = Map::new();
    for name in list.split(',').map(str::trim) {
        let value = all.remove(name).ok_or_else(|| {
            format!("Could not find a property named '{name}' on type 'microsoft.graph.windowsAutopilotDeviceIdentity'.")
        })?;
        out.insert(name.to_owned(), value);
    }
    Ok(out)
}

/// The query of `target`, decoded as ASP.NET does (`+` is a space). A repeated or unknown
/// system query option is refused, as Graph refuses it.
pub(super) fn parse_query(target: &str) -> Result<Vec<(String, String)>, String> {
    let Some((_, query)) = target.split_once('?') else {
        return Ok(Vec::new());
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| "The query is not UTF-8".to_owned())
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if out.iter().any(|(n, _)| *n == k) {
            return Err(format!(
                "Query option '{k}' was specified more than once, but it must be specified at most once."
            ));
        }
        if k.starts_with('$') && !["$filter", "$select", "$top", "$skiptoken"].contains(&k.as_str())
        {
            return Err(format!("The query parameter '{k}' is not supported."));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// `contains(serialNumber,'…')` with OData's quote doubling; anything else is refused.
fn parse_serial_filter(filter: &str) -> Result<String, String> {
    let invalid = || {
        format!("Invalid filter clause: {filter:?} (the stand-in knows contains(serialNumber,'…'))")
    };
    if filter.len() > MAX_FILTER {
        return Err(invalid());
    }
    let rest = filter
        .trim()
        .strip_prefix("contains(")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("serialNumber"))
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix(','))
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('\''))
        .ok_or_else(invalid)?;
    let mut literal = String::new();
    let mut chars = rest.chars();
    loop {
        match chars.next() {
            Some('\'') => {
                let mut after = chars.clone();
                if after.next() == Some('\'') {
                    literal.push('\'');
                    chars = after;
                } else {
                    break;
                }
            }
            Some(c) => literal.push(c),
            None => return Err(invalid()),
        }
    }
    if chars.as_str().trim() != ")" {
        return Err(invalid());
    }
    Ok(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_filters_parse_with_quote_doubling() {
        assert_eq!(
            parse_serial_filter("contains(serialNumber,'AB')").unwrap(),
            "AB"
        );
        assert_eq!(
            parse_serial_filter("contains( serialNumber , 'A''B' )").unwrap(),
            "A'B"
        );
        assert_eq!(
            parse_serial_filter("contains(serialNumber,''') or true or (''')").unwrap(),
            "') or true or ('"
        );
        for bad in [
            "contains(serialNumber,'A') or true or ('')",
            "contains(serialNumber,'A'",
            "startswith(serialNumber,'A')",
            "contains(displayName,'A')",
            "serialNumber eq 'A'",
        ] {
            assert!(parse_serial_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_decode_like_graph_and_refuse_repeats() {
        let q = parse_query("/x?%24filter=a%20b+c&$select=id").unwrap();
        assert_eq!(q[0], ("$filter".into(), "a b c".into()));
        assert!(parse_query("/x?$select=id&$select=serialNumber").is_err());
        assert!(parse_query("/x?$expand=x").is_err());
    }
}
