//! Typed, resilient binding for the Microsoft Graph **beta** action
//! [`assignResourceAccountToDevice`](https://learn.microsoft.com/en-us/graph/api/intune-enrollment-windowsautopilotdeviceidentity-assignresourceaccounttodevice?view=graph-rest-beta):
//! link a Teams Rooms resource account to a Windows Autopilot device.
//!
//! The client underneath ([`generated`]) is generated at build time by progenitor from a trimmed
//! copy of Microsoft's OpenAPI description; [`GraphClient`] adds authentication, request ids,
//! retries, checked ids and typed errors in one seam (progenitor's `ClientHooks`).
//!
//! # Runtime
//!
//! The client runs on [Tokio](https://tokio.rs) (its HTTP client, reqwest, does): call it from
//! within a Tokio runtime, e.g. under `#[tokio::main]`; the default multi-threaded runtime and
//! the current-thread one both work. [`GraphClient`] is `Send + Sync + Clone` (clones share one
//! connection pool and throttle), and the futures and streams of its methods are `Send`, so
//! they can be spawned.
//!
//! # Quickstart: a static token
//!
//! ```no_run
//! use autopilot_resource_account::{DeviceId, GraphClient, ResourceAccountAssignment};
//!
//! # async fn run() -> Result<(), autopilot_resource_account::Error> {
//! let client = GraphClient::builder()
//!     .bearer_token(std::env::var("GRAPH_TOKEN").expect("GRAPH_TOKEN"))
//!     .build()?;
//! let assignment = ResourceAccountAssignment::new()
//!     .with_user_principal_name("room-101@contoso.com")
//!     .with_addressable_user_name("Room 101")
//!     .with_resource_account_name("room-101");
//! // Ids are checked when parsed: a bad one is refused here, before any call.
//! let device: DeviceId = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
//! client.assign_resource_account_to_device(&device, &assignment).await?;
//! # Ok(()) }
//! ```
//!
//! # Quickstart: an app registration, managed identity or `az login` (feature `azure-identity`)
//!
//! Any `azure_core::credentials::TokenCredential` becomes a token source with cached,
//! single-flight refresh; the scope follows the [`Cloud`]. See the `azure_identity` module
//! (built with the `azure-identity` feature) and `examples/client_credentials.rs`.
//!
//! # Quickstart: another endpoint (a test double, a proxy)
//!
//! [`GraphClientBuilder::base_url`] points the client at any Graph-shaped endpoint, such as the
//! loopback stand-in of this workspace (the unpublished crate `autopilot-resource-account-stand-in`
//! in `stand-in/`, whose docs have a runnable version of this example):
//!
//! ```no_run
//! use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
//!
//! # async fn run() -> Result<(), autopilot_resource_account::Error> {
//! let client = GraphClient::builder()
//!     .base_url("http://127.0.0.1:8080/beta") // the stand-in's `base_url()`
//!     .bearer_token("t")
//!     .build()?;
//! let device = "device-1".parse()?;
//! client.assign_resource_account_to_device(&device, &ResourceAccountAssignment::default()).await?;
//! # Ok(()) }
//! ```
//!
//! # Building a request body
//!
//! [`ResourceAccountAssignment`] (like every generated type) is `#[non_exhaustive]`: build it
//! with `new()` and the generated `with_<property>()` setters (or `Default` and field
//! assignment), so a property Microsoft adds later does not break your code. A struct literal
//! does not compile outside this crate:
//!
//! ```compile_fail
//! let assignment = autopilot_resource_account::ResourceAccountAssignment {
//!     user_principal_name: Some("room-101@contoso.com".into()),
//!     addressable_user_name: None,
//!     resource_account_name: None,
//! };
//! ```
//!
//! ```
//! use autopilot_resource_account::ResourceAccountAssignment;
//!
//! let mut assignment = ResourceAccountAssignment::new().with_user_principal_name("room-101@contoso.com");
//! assignment.addressable_user_name = None; // fields stay public for Option values
//! assert_eq!(assignment, ResourceAccountAssignment::default().with_user_principal_name("room-101@contoso.com"));
//! ```
//!
//! # Permissions
//!
//! `DeviceManagementServiceConfig.ReadWrite.All` (or `DeviceManagementConfiguration.ReadWrite.All`),
//! application or delegated, admin-consented.
//! The account check ([`GraphClient::check_resource_account`]) also needs `User.Read.All` and
//! `Organization.Read.All` (or `Directory.Read.All`).
//!
//! # Clouds
//!
//! [`Cloud::Global`] (`graph.microsoft.com`), [`Cloud::UsGovL4`] (`graph.microsoft.us`),
//! [`Cloud::UsGovL5Dod`] (`dod-graph.microsoft.us`) and [`Cloud::China`]
//! (`microsoftgraph.chinacloudapi.cn`); each has its own root and `.default` scope.
//!
//! # Errors and what is retried
//!
//! Every call returns [`Error`]: invalid input (refused before sending), a Graph error status
//! ([`GraphError`]: status, OData `code`/`message`, `request-id`, `client-request-id`, Intune's
//! detail), transport, token source, or an unexpected response. `Display` is one line and never
//! holds the token. Calls answered 429, 503 or 504, or failing before any answer (connection
//! refused or reset; not a timeout, after which the server may still act), are retried per
//! [`RetryPolicy`] (default: 3 retries, 3 s exponential backoff with jitter, `Retry-After`
//! obeyed, 180 s total); a 429 that its call will retry pauses every call of the client until
//! that retry. [`Error::is_retryable`] also says yes for a token source failure marked
//! [transient](TokenError::is_transient) (a timeout, an identity endpoint unreachable or busy).
#![deny(missing_docs)]

// Four layers, each importing only those below it: `api` (what users call) → `request` (one
// call and the hooks around each request) → `error` → `signin` (tokens and clouds).
mod api;
mod error;
mod request;
mod signin;
mod text;

#[cfg(feature = "azure-identity")]
pub use signin::azure_identity;
pub use signin::{auth, cloud, device_code};
// The generated client names its inner type `crate::hooks::HookState` (codegen.rs).
use request::hooks;

pub use api::account::{AccountCheck, AccountStatus, TEAMS_ROOMS_SKUS};
pub use api::bulk::{
    BulkItem, BulkOptions, DEFAULT_CONCURRENCY, Outcome, Pacing, RateHint, Target,
};
pub use api::call::{Call, CallFuture};
pub use api::client::{DEFAULT_LOOKUP_DEADLINE, DEFAULT_TIMEOUT, GraphClient, GraphClientBuilder};
pub use api::ids::{DeviceId, ProfileId};
pub use api::verify::VerifyOptions;
pub use auth::{AccessToken, BoxFuture, TokenError, TokenProvider};
pub use cloud::Cloud;
pub use device_code::{DeviceCodeCredential, DeviceCodePrompt};
pub use error::graph_error::{GraphError, IntuneMessage};
pub use error::{Error, InputErrorKind, InvalidInput, TransportError};
pub use generated::types::{AutopilotDevice, ResourceAccountAssignment};
pub use request::ids::MAX_ID_LEN;
pub use request::options::{CallOptions, Response};
pub use request::retry::{MAX_RETRIES_CAP, RetryPolicy};
pub use signin::endpoint::USER_AGENT;

/// The progenitor-generated client and types (from `spec/openapi.json`, at build time).
///
/// Never edited by hand: change the spec adjustments and regenerate instead.
#[allow(missing_docs)]
pub mod generated;

// The README's Rust example is compiled as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
