//! Pieces of the `TokenCredential` doubles of tests/azure_identity*.rs: what a credential answers,
//! and one fetch through the adapter.

use autopilot_resource_account::azure_identity::AzureCredential;
use autopilot_resource_account::{Cloud, TokenError, TokenProvider};
use azure_core::credentials::AccessToken as AzureToken;
use azure_core::error::ErrorKind;
use azure_core::time::{Duration as TimeDelta, OffsetDateTime};

/// A token `secret` that expires `life` from now.
pub fn azure_token(secret: String, life: TimeDelta) -> AzureToken {
    AzureToken::new(secret, OffsetDateTime::now_utc() + life)
}

/// A credential's failure, saying `text`.
pub fn credential_error(text: String) -> azure_core::Error {
    azure_core::Error::with_message(ErrorKind::Credential, text)
}

/// One fetch through the adapter for `cloud`'s default scope: the token's secret, or the error.
pub async fn fetch(adapter: &AzureCredential, cloud: Cloud) -> Result<String, TokenError> {
    adapter
        .token(&[cloud.scope()])
        .await
        .map(|t| t.secret().to_owned())
}
