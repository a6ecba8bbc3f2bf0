//! The serial lookup's pages, one stream item per page: the one implementation behind
//! [`GraphClient::autopilot_device_pages_by_serial`] and the `Vec` of
//! [`GraphClient::find_autopilot_devices_by_serial`] (`devices.rs`).

use std::collections::HashSet;
use std::time::Duration;

use futures_util::Stream;

use crate::api::client::GraphClient;
use crate::api::device_fields::DEVICE_SELECT;
use crate::error::Error;
use crate::generated::types::{AutopilotDevice, AutopilotDeviceCollectionResponse};
use crate::request::call::{self, call_span};
use crate::request::odata;

/// `$top` of a serial lookup's pages.
const PAGE_SIZE: u64 = 100;

/// A lookup stops with an error after this many pages (a server that never stops paging).
const MAX_PAGES: usize = 1000;

/// A lookup stops with an error when more devices than this report the serial: a real serial
/// is on one device (a few when re-registered), and the `Vec` lookup holds the matches.
const MAX_MATCHES: usize = 1000;

/// What the next poll of the stream reads.
enum Next {
    /// The serial was refused: the stream's one item is this error.
    Refused(Error),
    /// The first page (the filtered list).
    First,
    /// A page by the previous page's `@odata.nextLink`, checked before it is followed.
    Link(String),
}

/// The lookup's state between pages.
struct Pager<'a> {
    client: &'a GraphClient,
    /// The checked (trimmed) serial, as sent.
    serial: String,
    /// `serial` lower-cased: what an exact match's trimmed, lower-cased serial equals.
    wanted: String,
    /// `None` once the last page was read or an error was yielded.
    next: Option<Next>,
    followed: HashSet<String>,
    pages: u32,
    matches: usize,
    /// What is left of the lookup deadline: only the time spent reading pages counts, not the
    /// caller's time between them (so collecting into a `Vec` bounds the lookup as before).
    budget: Duration,
}

/// The stream of [`GraphClient::autopilot_device_pages_by_serial`].
pub(crate) fn pages<'a>(
    client: &'a GraphClient,
    serial: &str,
) -> impl Stream<Item = Result<Vec<AutopilotDevice>, Error>> + Send + use<'a> {
    let (serial, next) = match odata::check_serial(serial) {
        Ok(serial) => (serial.to_owned(), Next::First),
        Err(e) => (String::new(), Next::Refused(e)),
    };
    let pager = Pager {
        client,
        wanted: serial.to_lowercase(),
        serial,
        next: Some(next),
        followed: HashSet::new(),
        pages: 0,
        matches: 0,
        budget: client.lookup_deadline,
    };
    futures_util::stream::unfold(pager, |mut pager| async move {
        let next = pager.next.take()?;
        let page = pager.read(next).await;
        Some((page, pager))
    })
}

impl Pager<'_> {
    /// Reads one page and returns its exact matches; sets `next` when there is another page.
    async fn read(&mut self, next: Next) -> Result<Vec<AutopilotDevice>, Error> {
        let started = tokio::time::Instant::now();
        let budget = self.budget;
        let mut page = match tokio::time::timeout(budget, self.read_page(next)).await {
            Ok(page) => page?,
            Err(_) => {
                return Err(Error::DeadlineExceeded {
                    operation: format!("serial lookup {:?}", self.serial),
                    deadline: self.client.lookup_deadline,
                    pages: self.pages,
                });
            }
        };
        self.budget = self.budget.saturating_sub(started.elapsed());
        self.pages += 1;
        let wanted = &self.wanted;
        let found: Vec<AutopilotDevice> = std::mem::take(&mut page.value)
            .into_iter()
            .filter(|d| {
                d.serial_number
                    .as_deref()
                    .is_some_and(|s| s.trim().to_lowercase() == *wanted)
            })
            .collect();
        self.matches += found.len();
        if self.matches > MAX_MATCHES {
            return Err(Error::UnexpectedResponse {
                status: None,
                detail: format!(
                    "more than {MAX_MATCHES} devices report serial {:?}",
                    self.serial
                ),
            });
        }
        self.next = page.odata_next_link.take().map(Next::Link);
        Ok(found)
    }

    /// The request of `next`, after the checks on a next link.
    async fn read_page(&mut self, next: Next) -> Result<AutopilotDeviceCollectionResponse, Error> {
        let number = self.pages as usize + 1;
        let serial = self.serial.as_str();
        let link = match next {
            Next::Refused(e) => return Err(e),
            Next::First => {
                let filter = odata::serial_filter(serial);
                let span = call_span!(LIST_AUTOPILOT_DEVICES, serial = serial, page = 1);
                let call = self.client.generated().list_autopilot_devices(
                    Some(&filter),
                    Some(DEVICE_SELECT),
                    Some(PAGE_SIZE),
                );
                return call::run(span, call::READ, Box::pin(call)).await;
            }
            Next::Link(link) => link,
        };
        if number > MAX_PAGES || !self.followed.insert(link.clone()) {
            return Err(Error::UnexpectedResponse {
                status: None,
                detail: format!(
                    "the device list did not end after {} pages (or repeated a page link)",
                    number - 1
                ),
            });
        }
        let url = checked_next_link(self.client.base_url(), &link)?;
        let span = call_span!(LIST_AUTOPILOT_DEVICES, serial = serial, page = number);
        let call = call::get_next_page(self.client.generated(), url);
        call::run(span, call::READ, Box::pin(call)).await
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
