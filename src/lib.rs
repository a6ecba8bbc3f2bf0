//! Typed, resilient binding for the Microsoft Graph beta action `assignResourceAccountToDevice`.
#![deny(missing_docs)]

pub mod auth;
#[cfg(feature = "azure-identity")]
pub mod azure_identity;
mod client;
pub mod cloud;
mod error;
mod graph_error;
mod hooks;
mod ids;
mod retry;
mod retry_after;
#[cfg(feature = "test-util")]
pub mod stand_in;
mod throttle;

pub use auth::{AccessToken, BoxFuture, TokenError, TokenProvider};
pub use client::{DEFAULT_TIMEOUT, GraphClient, GraphClientBuilder, USER_AGENT};
pub use cloud::Cloud;
pub use error::Error;
pub use generated::types::ResourceAccountAssignment;
pub use graph_error::{GraphError, IntuneMessage};
pub use retry::{MAX_RETRIES_CAP, RetryPolicy};

/// The progenitor-generated client and types (from `spec/openapi.json`, at build time).
///
/// Never edited by hand: change the spec adjustments and regenerate instead.
#[allow(missing_docs)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}
