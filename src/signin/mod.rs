//! The lowest layer, sign-in: where tokens come from ([`auth`]: the token source trait and a
//! static token; [`device_code`]; [`azure_identity`](crate::azure_identity) with its feature),
//! and the national clouds they are for ([`cloud`]). It imports nothing else of the crate.

pub mod auth;
#[cfg(feature = "azure-identity")]
pub mod azure_identity;
pub mod cloud;
pub mod device_code;
