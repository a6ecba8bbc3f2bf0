//! The lowest layer, sign-in: where tokens come from ([`auth`]: the token source trait and a
//! static token; [`device_code`]; `azure_identity` with its feature), the national clouds they
//! are for ([`cloud`]), and what every connection shares ([`endpoint`]: the base URL rule, the
//! `User-Agent`). It imports nothing of the crate but the `text` leaf.

pub mod auth;
#[cfg(feature = "azure-identity")]
pub mod azure_identity;
pub mod cloud;
pub mod device_code;
pub(crate) mod endpoint;
