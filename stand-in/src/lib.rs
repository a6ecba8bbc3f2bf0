//! A loopback stand-in of the Graph endpoint of `autopilot-resource-account`, for tests, demos
//! and your own test suites.
//!
//! It serves the operations of `spec/openapi.json` (read at compile time, so it follows the
//! spec), checks each request against it, records every request (method, raw target, headers
//! in arrival order with lower-cased names, body), and answers `204 No Content` unless a reply was scripted for that device. With devices in its
//! [inventory](Device) it also behaves like Intune's device list: see [`StandIn::add_devices`].
//! It has a directory for the account check: users ([`StandIn::add_user`]) and the tenant's
//! subscribed SKUs.
//!
//! This crate is a member of the library's workspace and is not published: it reads the
//! workspace's `spec/openapi.json`. Depend on it by path or git.
//!
//! # Quickstart
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
//! use autopilot_resource_account_stand_in::StandIn;
//!
//! let graph = StandIn::start().await?; // 127.0.0.1, checks requests against the spec
//! let client = GraphClient::builder().base_url(&graph.base_url()).bearer_token("t").build()?;
//! client.assign_resource_account_to_device(&"device-1".parse()?, &ResourceAccountAssignment::default()).await?;
//! assert_eq!(graph.requests()[0].body, &b"{}"[..]);
//! # Ok(()) }
//! ```
//!
//! # Scripted replies
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
//! use autopilot_resource_account_stand_in::{Reply, StandIn};
//!
//! let graph = StandIn::start().await?;
//! graph.script("device-2", [Reply::status(403).odata("Forbidden", "Insufficient privileges")]);
//! let client = GraphClient::builder().base_url(&graph.base_url()).bearer_token("test").build()?;
//!
//! let assignment = ResourceAccountAssignment::default();
//! client.assign_resource_account_to_device(&"device-1".parse()?, &assignment).await?;
//! let err = client.assign_resource_account_to_device(&"device-2".parse()?, &assignment).await.unwrap_err();
//! assert_eq!(err.status(), Some(403));
//! assert_eq!(graph.requests().len(), 2);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod identity;
mod inventory;
mod rate_limit;
mod reply;
mod spec;
mod throttle_models;
mod users;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use identity::{IdentityCounters, SignIn};
pub use inventory::Device;
pub use rate_limit::{Counters, FaultMix, RateLimit};
pub use reply::Reply;
use spec::{Operation, SpecCheck};
pub use throttle_models::{Model, Outages, PauseHint, Scope, Throttling};
pub use users::{AccountReads, DEFAULT_SKUS, StandInUser};

/// Request bodies beyond this size are refused with `413` and recorded with an empty body.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// A running stand-in. Stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    inventory: Mutex<inventory::Inventory>,
    identity: Mutex<identity::Identity>,
    directory: Mutex<users::Directory>,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    per_device: HashMap<String, VecDeque<Reply>>,
    any_device: VecDeque<Reply>,
    load: rate_limit::Load,
}

/// One request, exactly as the stand-in received it.
///
/// `Debug` shows every header but the value of `Authorization` (a bearer token).
#[derive(Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The request target as sent on the wire (path and query, still percent-encoded).
    pub target: String,
    /// Every header in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes; empty when the body exceeded 1 MiB (answered `413`).
    pub body: Bytes,
    /// The spec operation the path matched, if any.
    pub operation: Option<String>,
    /// The device the assignment targets (the last path id, percent-decoded), if the path matched.
    pub device_id: Option<String>,
    /// The status the stand-in answered with (`None` when it reset the connection).
    pub answered: Option<u16>,
    /// When the request head arrived.
    pub received_at: std::time::Instant,
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(
                |(name, value)| match name.eq_ignore_ascii_case("authorization") {
                    true => (name.as_str(), "<redacted>"),
                    false => (name.as_str(), value.as_str()),
                },
            )
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("operation", &self.operation)
            .field("device_id", &self.device_id)
            .field("answered", &self.answered)
            .field("received_at", &self.received_at)
            .finish()
    }
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds bearer tokens (requests, rate-limit buckets per token): show counts.
        f.debug_struct("StandIn")
            .field("addr", &self.addr)
            .field("requests", &self.state().requests.len())
            .finish_non_exhaustive()
    }
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl StandIn {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        shared.inventory().base_url = format!("http://{addr}{}", spec::BASE_PATH);
        let server = tokio::spawn(serve(listener, shared.clone()));
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The base URL to hand to [`GraphClientBuilder::base_url`](autopilot_resource_account::GraphClientBuilder::base_url).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, spec::BASE_PATH)
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues replies for requests that target `device_id`, used in order, then back to `204`.
    pub fn script(&self, device_id: impl Into<String>, replies: impl IntoIterator<Item = Reply>) {
        self.state()
            .per_device
            .entry(device_id.into())
            .or_default()
            .extend(replies);
    }

    /// Queues replies for the next requests to any device without a scripted reply of its own.
    pub fn script_any(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().any_device.extend(replies);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Device ids whose assignment was answered with a 2xx, one entry per success, in order.
    pub fn succeeded(&self) -> Vec<String> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .filter_map(|r| r.device_id.clone())
            .collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state()
    }

    /// The authority URL of its identity endpoint (device-code sign-in and refresh), for
    /// [`DeviceCodeBuilder::authority`](autopilot_resource_account::device_code::DeviceCodeBuilder::authority).
    pub fn authority_url(&self) -> String {
        format!("http://{}{}", self.addr, identity::PATH)
    }

    /// How the identity endpoint answers the next sign-ins (default: approve at the first poll).
    pub fn script_sign_in(&self, script: SignIn) {
        self.shared.identity().script(script);
    }

    /// From now on, Graph calls need an unexpired token of the identity endpoint; others get
    /// `401 InvalidAuthenticationToken`, so a missed refresh shows as a failed call.
    pub fn require_issued_tokens(&self, yes: bool) {
        self.shared.identity().require_issued_tokens(yes);
    }

    /// What the identity endpoint has done so far.
    pub fn identity_counters(&self) -> IdentityCounters {
        self.shared.identity().counters()
    }

    /// When each device-code poll arrived (tokio's clock, so a paused test clock shows the spacing).
    pub fn sign_in_polls(&self) -> Vec<tokio::time::Instant> {
        self.shared.identity().polls()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn identity(&self) -> std::sync::MutexGuard<'_, identity::Identity> {
        self.identity.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn directory(&self) -> std::sync::MutexGuard<'_, users::Directory> {
        self.directory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_reply(
        &self,
        device_id: Option<&str>,
        token: &str,
        unscripted: impl FnOnce() -> Reply,
    ) -> (Reply, throttle_models::Admitted) {
        let mut state = self.state();
        let admitted = match state.load.admit(token) {
            Ok(admitted) => admitted,
            Err(refusal) => return (*refusal, throttle_models::Admitted::default()),
        };
        let scripted = device_id
            .and_then(|id| state.per_device.get_mut(id))
            .and_then(VecDeque::pop_front);
        let reply = scripted
            .or_else(|| state.any_device.pop_front())
            .or_else(|| state.load.fault());
        drop(state);
        (reply.unwrap_or_else(unscripted), admitted)
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        // Reap finished connections so the set stays small during long runs.
        while connections.try_join_next().is_some() {}
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| handle(shared.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Answering with `Err` makes hyper drop the connection: that is how a reset is simulated.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scripted connection reset")
    }
}

impl std::error::Error for ResetConnection {}

async fn handle(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ResetConnection> {
    let received_at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect::<Vec<_>>();
    let (body, too_large) = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => (collected.to_bytes(), false),
        Err(_) => (Bytes::new(), true),
    };
    // The identity endpoint is not Graph: not checked against the spec, not recorded (its
    // bodies hold device codes and refresh tokens).
    if target.starts_with(&format!("{}/", identity::PATH)) {
        let host = parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok());
        let path = target.split('?').next().unwrap_or_default();
        let (status, answer) = shared.identity().answer(
            parts.method.as_str(),
            path,
            &body,
            host.unwrap_or("127.0.0.1"),
        );
        let mut response = hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        return Ok(response);
    }

    let check = spec::check(
        parts.method.as_str(),
        &target,
        &parts.headers,
        &body,
        too_large,
    );
    // The way there: the limits see the request half the latency after it was sent.
    let latency = shared.state().load.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency / 2).await;
    }
    let (operation, device_id) = match &check {
        SpecCheck::Valid(Operation { id, device_id })
        | SpecCheck::Invalid(Some(Operation { id, device_id }), _) => {
            (Some(id.clone()), device_id.clone())
        }
        SpecCheck::Invalid(None, _) => (None, None),
    };
    let (reply, admitted) = match check {
        SpecCheck::Valid(_) => {
            // Tokens the identity endpoint issued, when required: checked before anything else.
            let refused = shared.identity().check_bearer(tenant(&parts.headers));
            // Unscripted: the inventory answers (204 for any write while it is empty).
            // The account reads go to the directory.
            let inventory = || {
                let op = operation.as_deref().unwrap_or_default();
                match users::serves(op) {
                    true => shared.directory().answer(op, device_id.as_deref(), &target),
                    false => shared
                        .inventory()
                        .answer(op, device_id.as_deref(), &target, &body),
                }
            };
            match refused {
                Some(refusal) => (refusal, Default::default()),
                None => shared.next_reply(device_id.as_deref(), tenant(&parts.headers), inventory),
            }
        }
        SpecCheck::Invalid(_, refusal) => (refusal, Default::default()),
    };

    shared.state().requests.push(RecordedRequest {
        method: parts.method.to_string(),
        target,
        headers,
        body,
        operation,
        device_id,
        answered: (!reply.is_reset()).then_some(reply.status_code()),
        received_at,
    });
    let client_request_id = parts
        .headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok());
    // And the way back.
    if !latency.is_zero() {
        tokio::time::sleep(latency / 2).await;
    }
    rate_limit::serve(shared.clone(), admitted, reply, client_request_id).await
}

/// Who a request counts against: its bearer token (see `throttle_models` for how it is read).
fn tenant(headers: &hyper::HeaderMap) -> &str {
    let value = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    value.strip_prefix("Bearer ").unwrap_or(value)
}
