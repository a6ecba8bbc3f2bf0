//! From the global flags to a [`GraphClient`]: cloud, base URL, and where the token comes from
//! (`--token`/`GRAPH_TOKEN`, or an Azure SDK credential with `--auth`).

use std::time::Duration;

#[cfg(any(feature = "azure-identity", test))]
use autopilot_resource_account::{AccessToken, TokenProvider};
use autopilot_resource_account::{Cloud, GraphClient};

use crate::args::{AuthArg, Global};
use crate::exit::ConnectError;
use crate::journal::Binding;
use crate::token::tenant_of;

/// A client, and what its journal entries are bound to.
pub struct Connection {
    pub client: GraphClient,
    pub binding: Binding,
}

/// The client's timeout (the library's default), which also bounds the first token fetch.
const TIMEOUT: Duration = autopilot_resource_account::DEFAULT_TIMEOUT;

pub async fn connect(global: &Global) -> Result<Connection, ConnectError> {
    let cloud = Cloud::from(global.cloud);
    let mut builder = GraphClient::builder().cloud(cloud).timeout(TIMEOUT);
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url);
    }
    if global.authority.is_some() && global.auth != Some(AuthArg::DeviceCode) {
        return Err(ConnectError::Usage(
            "--authority is for --auth device-code".into(),
        ));
    }
    if global.auth == Some(AuthArg::DeviceCode) {
        let (provider, tenant) = crate::signin::device_code(global, cloud).await?;
        builder = builder.token_provider(provider);
        return finish(builder, tenant);
    }
    #[cfg(feature = "azure-identity")]
    if let Some(auth) = global.auth {
        let provider = azure::provider(auth, global, cloud)?;
        // Ask once up front: a sign-in problem stops the run before any row, and the token's
        // tenant binds the journal. The adapter caches it for the calls that follow.
        let token = first_token(&provider, cloud.scope(), TIMEOUT).await?;
        let tenant = tenant_of(token.secret());
        builder = builder.token_provider(provider);
        return finish(builder, tenant);
    }
    let Some(token) = global
        .token
        .as_deref()
        .map(without_scheme)
        .filter(|t| !t.is_empty())
    else {
        return Err(ConnectError::Usage(no_token_hint().into()));
    };
    let tenant = tenant_of(token);
    builder = builder.bearer_token(token);
    finish(builder, tenant)
}

/// The token without surrounding whitespace and without a `Bearer ` prefix (any case, any
/// whitespace after it): a token copied with its scheme was sent as `Bearer Bearer …`.
fn without_scheme(token: &str) -> &str {
    let token = token.trim();
    let (scheme, rest) = match token.find(char::is_whitespace) {
        Some(at) => token.split_at(at),
        None => (token, ""),
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim_start()
    } else {
        token
    }
}

#[cfg(any(feature = "azure-identity", test))]
/// Asks `provider` once, for at most `timeout` (the client's): the Azure CLI, an unreachable
/// managed-identity endpoint and the like have no bound of their own, and the run would wait
/// for ever before any row. One line on failure (`SignIn`: exit 1).
async fn first_token(
    provider: &dyn TokenProvider,
    scope: &str,
    timeout: Duration,
) -> Result<AccessToken, ConnectError> {
    match tokio::time::timeout(timeout, provider.token(&[scope])).await {
        Ok(Ok(token)) => Ok(token),
        Ok(Err(e)) => Err(ConnectError::SignIn(format!("cannot sign in: {e}"))),
        Err(_) => Err(ConnectError::SignIn(format!(
            "cannot sign in: the credential gave no token within {} s (the client timeout)",
            timeout.as_secs_f64()
        ))),
    }
}

fn finish(
    builder: autopilot_resource_account::GraphClientBuilder,
    tenant: Option<String>,
) -> Result<Connection, ConnectError> {
    let client = builder
        .build()
        .map_err(|e| ConnectError::Usage(e.to_string()))?;
    let binding = Binding {
        endpoint: client.base_url().to_owned(),
        tenant,
    };
    Ok(Connection { client, binding })
}

fn no_token_hint() -> &'static str {
    if cfg!(feature = "azure-identity") {
        "no token: set GRAPH_TOKEN (or pass --token, or --auth, e.g. --auth device-code); `autopilot-ra demo` runs without one"
    } else {
        "no token: set GRAPH_TOKEN, pass --token, or sign in with --auth device-code --client-id ID --tenant-id TENANT; `autopilot-ra demo` runs without one"
    }
}

#[cfg(feature = "azure-identity")]
mod azure {
    use std::sync::Arc;

    use autopilot_resource_account::Cloud;
    use autopilot_resource_account::azure_identity::{AzureCredential, client_options};
    use azure_identity::{
        AzureCliCredential, ClientSecretCredential, ClientSecretCredentialOptions,
        ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    };

    use crate::args::{AuthArg, Global};
    use crate::exit::ConnectError;

    pub(super) fn provider(
        auth: AuthArg,
        global: &Global,
        cloud: Cloud,
    ) -> Result<AzureCredential, ConnectError> {
        // The first line only: azure_core errors can run to several lines of context.
        let failed = |e: azure_core::Error| {
            let text = e.to_string();
            ConnectError::SignIn(format!(
                "cannot create the credential: {}",
                text.lines().next().unwrap_or_default()
            ))
        };
        let credential: Arc<dyn azure_core::credentials::TokenCredential> = match auth {
            // connect() signs in with the device code before it gets here.
            AuthArg::DeviceCode => {
                return Err(ConnectError::Usage(
                    "--auth device-code is not an Azure SDK credential".into(),
                ));
            }
            AuthArg::AzureCli => AzureCliCredential::new(None).map_err(failed)?,
            AuthArg::ClientSecret => {
                let missing =
                    |what: &str| ConnectError::Usage(format!("--auth client-secret needs {what}"));
                let tenant = global
                    .tenant_id
                    .as_deref()
                    .ok_or_else(|| missing("--tenant-id or AZURE_TENANT_ID"))?;
                let client = global
                    .client_id
                    .clone()
                    .ok_or_else(|| missing("--client-id or AZURE_CLIENT_ID"))?;
                let secret = std::env::var("AZURE_CLIENT_SECRET")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("AZURE_CLIENT_SECRET"))?;
                ClientSecretCredential::new(
                    tenant,
                    client,
                    secret.into(),
                    Some(ClientSecretCredentialOptions {
                        client_options: client_options(cloud),
                    }),
                )
                .map_err(failed)?
            }
            AuthArg::ManagedIdentity => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: global.client_id.clone().map(UserAssignedId::ClientId),
                    client_options: client_options(cloud),
                }))
                .map_err(failed)?
            }
        };
        Ok(AzureCredential::new(credential))
    }
}

#[cfg(test)]
mod tests {
    use super::{first_token, without_scheme};
    use crate::exit::ConnectError;
    use autopilot_resource_account::{AccessToken, BoxFuture, TokenError, TokenProvider};
    use std::time::Duration;

    #[test]
    fn a_pasted_bearer_prefix_is_dropped() {
        for pasted in [
            "Bearer eyJ0.x.y",
            "bearer eyJ0.x.y",
            "BEARER\t  eyJ0.x.y",
            "  Bearer\n eyJ0.x.y \n",
            "eyJ0.x.y",
            " eyJ0.x.y\n",
        ] {
            assert_eq!(without_scheme(pasted), "eyJ0.x.y", "{pasted:?}");
        }
        assert_eq!(without_scheme("Bearer"), "");
        assert_eq!(without_scheme("Bearer  "), "");
        // Only a whole word `Bearer` is a scheme.
        assert_eq!(without_scheme("Bearerish.x.y"), "Bearerish.x.y");
        assert_eq!(without_scheme("Basic abc"), "Basic abc");
    }

    /// A credential that never answers (an `az` that hangs).
    struct Hung;

    impl TokenProvider for Hung {
        fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_token_waits_at_most_the_timeout() {
        let started = tokio::time::Instant::now();
        let Err(ConnectError::SignIn(message)) =
            first_token(&Hung, "scope", Duration::from_secs(60)).await
        else {
            panic!("a hung credential must fail the sign-in");
        };
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        assert_eq!(
            message,
            "cannot sign in: the credential gave no token within 60 s (the client timeout)"
        );
    }
}
