//! [`GraphClient`] and its builder: the typed entry point over the generated client.

use std::sync::Arc;
use std::time::Duration;

use crate::api::call::Call;
use crate::api::http::{checked_proxy, http_builder, with_root_certificates};
use crate::api::ids::{DeviceId, ProfileId};
use crate::error::{Error, InputErrorKind};
use crate::generated::{self, types::ResourceAccountAssignment};
use crate::request::call::{self, call_span};
use crate::request::hooks::HookState;
use crate::request::retry::RetryPolicy;
use crate::request::throttle::RunPacing;
use crate::signin::auth::{AccessToken, StaticToken, TokenProvider};
use crate::signin::cloud::Cloud;
use crate::signin::endpoint::checked_base_url;

/// Whole-request timeout unless [`GraphClientBuilder::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a serial lookup may take, all pages together, unless
/// [`GraphClientBuilder::lookup_deadline`] says otherwise.
pub const DEFAULT_LOOKUP_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// `skuId` (lower-case) → `skuPartNumber`, for the tenant's subscribed SKUs.
pub(crate) type SkuNames = std::collections::HashMap<String, String>;

/// The per-client cache of [`SkuNames`] (filled by the account check, `account/skus.rs`):
/// concurrent first callers share one read, a failed read is not kept (the next caller tries
/// again). Here, beside the client that holds it, so the client needs nothing of `account`.
pub(crate) type SkuCache = tokio::sync::OnceCell<Arc<SkuNames>>;

/// A Microsoft Graph client for the `assignResourceAccountToDevice` action.
///
/// Cheap to clone (clones share one connection pool). Every request carries the bearer token,
/// `Accept` and `Content-Type: application/json`, a fresh `client-request-id` and this crate's
/// `User-Agent`.
///
/// ```no_run
/// use autopilot_resource_account::{DeviceId, GraphClient, ResourceAccountAssignment};
///
/// # async fn run() -> Result<(), autopilot_resource_account::Error> {
/// let client = GraphClient::builder()
///     .bearer_token(std::env::var("GRAPH_TOKEN").unwrap_or_default())
///     .build()?;
/// let assignment = ResourceAccountAssignment::new()
///     .with_user_principal_name("room-101@contoso.com")
///     .with_addressable_user_name("Room 101")
///     .with_resource_account_name("room-101");
/// let device: DeviceId = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
/// client.assign_resource_account_to_device(&device, &assignment).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GraphClient {
    generated: generated::Client,
    /// Bounds a whole serial lookup (every page, with retries): see `devices.rs`.
    pub(crate) lookup_deadline: Duration,
    /// The tenant's SKU names for the account check, read once (see `account/skus.rs`).
    pub(crate) skus: Arc<SkuCache>,
}

impl GraphClient {
    /// Starts configuring a client (global cloud, no token yet).
    pub fn builder() -> GraphClientBuilder {
        GraphClientBuilder::default()
    }

    /// The progenitor-generated client underneath, for calls this wrapper does not cover.
    /// Its requests go through the same hooks (token, `client-request-id`, bounded error bodies).
    pub fn generated(&self) -> &generated::Client {
        &self.generated
    }

    /// A clone whose calls are those of one bulk run, paced as `run` says (see `bulk.rs`); it
    /// shares the connection pool, token source, throttle and caches of this client.
    pub(crate) fn for_run(&self, run: Arc<RunPacing>) -> Self {
        use progenitor_client::ClientInfo;
        let generated = &self.generated;
        Self {
            generated: generated::Client::new_with_client(
                generated.baseurl(),
                generated.client().clone(),
                generated.inner().for_run(run),
            ),
            lookup_deadline: self.lookup_deadline,
            skus: Arc::clone(&self.skus),
        }
    }

    /// The base URL requests go to, e.g. `https://graph.microsoft.com/beta`.
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.generated)
    }

    /// `POST /deviceManagement/windowsAutopilotDeviceIdentities/{device_id}/assignResourceAccountToDevice`
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
    pub fn assign_resource_account_to_device<'a>(
        &'a self,
        device_id: &'a DeviceId,
        assignment: &'a ResourceAccountAssignment,
    ) -> Call<'a, ()> {
        let device_id = device_id.as_str();
        let span = call_span!(ASSIGN_RESOURCE_ACCOUNT_TO_DEVICE, device_id = device_id);
        let call = self
            .generated
            .assign_resource_account_to_device(device_id, assignment);
        Call::generated(span, call::ASSIGNMENT, call)
    }

    /// `POST /deviceManagement/windowsAutopilotDeploymentProfiles/{profile_id}/assignedDevices/{device_id}/assignResourceAccountToDevice`
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
    pub fn assign_resource_account_to_deployment_profile_device<'a>(
        &'a self,
        profile_id: &'a ProfileId,
        device_id: &'a DeviceId,
        assignment: &'a ResourceAccountAssignment,
    ) -> Call<'a, ()> {
        let (profile_id, device_id) = (profile_id.as_str(), device_id.as_str());
        let span = call_span!(
            ASSIGN_RESOURCE_ACCOUNT_TO_DEPLOYMENT_PROFILE_DEVICE,
            profile_id = profile_id,
            device_id = device_id
        );
        let call = self
            .generated
            .assign_resource_account_to_deployment_profile_device(
                profile_id, device_id, assignment,
            );
        Call::generated(span, call::ASSIGNMENT, call)
    }

    /// `POST /deviceManagement/windowsAutopilotDeviceIdentities/{device_id}/deploymentProfile/assignedDevices/{assigned_device_id}/assignResourceAccountToDevice`
    ///
    /// Documented in Graph's API reference but in no OpenAPI text; this crate adds it to the spec.
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
    pub fn assign_resource_account_to_device_via_deployment_profile<'a>(
        &'a self,
        device_id: &'a DeviceId,
        assigned_device_id: &'a DeviceId,
        assignment: &'a ResourceAccountAssignment,
    ) -> Call<'a, ()> {
        let (device_id, assigned_device_id) = (device_id.as_str(), assigned_device_id.as_str());
        let span = call_span!(
            ASSIGN_RESOURCE_ACCOUNT_TO_DEVICE_VIA_DEPLOYMENT_PROFILE,
            device_id = device_id,
            assigned_device_id = assigned_device_id
        );
        let call = self
            .generated
            .assign_resource_account_to_device_via_deployment_profile(
                device_id,
                assigned_device_id,
                assignment,
            );
        Call::generated(span, call::ASSIGNMENT, call)
    }
}

/// Configures a [`GraphClient`]. Only a token (or token provider) is required.
///
/// The builder makes its own HTTP client and does not take the caller's: a ready-made client
/// would bypass what the builder guarantees for the token (no redirects followed; plain http
/// only to loopback, never through a proxy, `localhost` never resolved; the whole-request and
/// connect timeouts), and would make the HTTP client's type part of this crate's API, so that
/// its upgrades became breaking releases. TLS uses the platform's root certificates (feature
/// `rustls`) and those of [`add_root_certificate_pem`](Self::add_root_certificate_pem); an
/// `https` base URL goes through the [`proxy`](Self::proxy) given, else the proxy
/// of the environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), where `CONNECT` keeps TLS end
/// to end.
///
/// ```
/// use autopilot_resource_account::{Cloud, GraphClient};
/// let client = GraphClient::builder().cloud(Cloud::UsGovL4).bearer_token("token").build().unwrap();
/// assert_eq!(client.base_url(), "https://graph.microsoft.us/beta");
/// ```
#[derive(Default)]
pub struct GraphClientBuilder {
    cloud: Cloud,
    base_url: Option<String>,
    token: Option<Arc<dyn TokenProvider>>,
    timeout: Option<Duration>,
    lookup_deadline: Option<Duration>,
    retry: RetryPolicy,
    proxy: Option<String>,
    /// PEM texts of [`GraphClientBuilder::add_root_certificate_pem`], parsed by `build()`.
    root_certificates: Vec<Vec<u8>>,
}

impl std::fmt::Debug for GraphClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClientBuilder")
            .field("cloud", &self.cloud)
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("lookup_deadline", &self.lookup_deadline)
            .field("retry", &self.retry)
            // A proxy URL may hold credentials.
            .field("proxy", &self.proxy.as_ref().map(|_| "<set>"))
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

impl GraphClientBuilder {
    /// The national cloud: picks the root URL and the token scope. Default: [`Cloud::Global`].
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = cloud;
        self
    }

    /// Sends requests to `url` instead of the cloud's root (a proxy, or a local stand-in).
    /// Must be `https`, or plain `http` to a loopback host; the token scope still follows the cloud.
    /// Plain-http requests never go through a proxy from the environment (`HTTP_PROXY`,
    /// `ALL_PROXY`): the token would cross the network in clear text. `https` requests may.
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_owned());
        self
    }

    /// Uses a fixed bearer token (without the `Bearer ` prefix).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Arc::new(StaticToken(AccessToken::new(token))));
        self
    }

    /// Asks `provider` for a token on every call, with the cloud's `.default` scope.
    pub fn token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.token = Some(Arc::new(provider));
        self
    }

    /// Whole-request timeout (connect, send, answer). Default: [`DEFAULT_TIMEOUT`]. It also bounds
    /// each wait for the token source, so a hung credential fails calls instead of stalling them.
    ///
    /// It must be greater than zero: [`build`](Self::build) refuses [`Duration::ZERO`] with
    /// [`Error::InvalidInput`], since every call would time out.
    ///
    /// ```
    /// use autopilot_resource_account::{Error, GraphClient};
    /// use std::time::Duration;
    ///
    /// let zero = GraphClient::builder().bearer_token("t").timeout(Duration::ZERO).build();
    /// assert!(matches!(zero, Err(Error::InvalidInput(_))));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Longest a [`find_autopilot_devices_by_serial`](GraphClient::find_autopilot_devices_by_serial)
    /// may take, every page and retry together. Default: [`DEFAULT_LOOKUP_DEADLINE`] (5 minutes).
    /// A lookup still running then ends with [`Error::DeadlineExceeded`]: a server that pages
    /// slowly could otherwise hold it for hours (up to 1,000 pages, each up to the timeout and
    /// its retries). [`build`](Self::build) refuses [`Duration::ZERO`].
    pub fn lookup_deadline(mut self, deadline: Duration) -> Self {
        self.lookup_deadline = Some(deadline);
        self
    }

    /// How calls are retried (429, 503, 504, failures before an answer; not timeouts). Default:
    /// [`RetryPolicy::default`] (3 retries, 3 s base delay, 180 s cap); [`RetryPolicy::none`] disables.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends `https` requests through the proxy at `url` (`http://host:port` or
    /// `https://host:port`, credentials allowed as `http://user:password@host:port`) instead of
    /// the environment's (`HTTPS_PROXY`, `ALL_PROXY`). Plain-http requests (a loopback base URL)
    /// never use it: the bearer token would cross the network in clear text. The proxy is
    /// asked to `CONNECT`, so TLS stays end to end.
    ///
    /// [`build`](Self::build) refuses a URL that does not parse or is not `http`/`https` (kind
    /// [`Proxy`](crate::InputErrorKind::Proxy)).
    ///
    /// ```
    /// use autopilot_resource_account::{Error, GraphClient};
    ///
    /// let client = GraphClient::builder().bearer_token("t").proxy("http://proxy.contoso.com:3128").build();
    /// assert!(client.is_ok());
    /// let socks = GraphClient::builder().bearer_token("t").proxy("socks5://127.0.0.1:1080").build();
    /// assert!(matches!(socks, Err(Error::InvalidInput(_))));
    /// ```
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_owned());
        self
    }

    /// Also trusts the certificates of `pem` (one or more `-----BEGIN CERTIFICATE-----`
    /// blocks, e.g. a company's TLS-inspecting proxy or a private test endpoint), beside the
    /// platform's roots. May be called more than once.
    ///
    /// [`build`](Self::build) refuses a text that holds no certificate or does not decode, and
    /// any root certificate in a build without the `rustls` feature (kind
    /// [`RootCertificate`](crate::InputErrorKind::RootCertificate)).
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.root_certificates.push(pem.to_vec());
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`], whose [`kind`](crate::InvalidInput::kind) is a builder mistake:
    /// no token source ([`NoTokenSource`](crate::InputErrorKind::NoTokenSource)), a base URL
    /// that does not parse or is not allowed ([`BaseUrl`](crate::InputErrorKind::BaseUrl)), a
    /// zero timeout or lookup deadline, a [`proxy`](Self::proxy) URL that does not parse or is
    /// not `http`/`https` ([`Proxy`](crate::InputErrorKind::Proxy)), a root certificate that
    /// does not decode ([`RootCertificate`](crate::InputErrorKind::RootCertificate)), or an HTTP
    /// client that
    /// cannot be built ([`HttpClient`](crate::InputErrorKind::HttpClient)).
    pub fn build(self) -> Result<GraphClient, Error> {
        let token = self.token.ok_or_else(|| {
            Error::invalid_input(
                InputErrorKind::NoTokenSource,
                None,
                "no token: call bearer_token(…) or token_provider(…)",
            )
        })?;
        let base_url = match &self.base_url {
            Some(url) => checked_base_url(url).map_err(|message| {
                Error::invalid_input(InputErrorKind::BaseUrl, Some("base_url"), message)
            })?,
            None => self.cloud.base_url().to_owned(),
        };
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::invalid_input(
                InputErrorKind::ZeroTimeout,
                Some("timeout"),
                "timeout must be greater than zero (with Duration::ZERO every call times out)",
            ));
        }
        let lookup_deadline = self.lookup_deadline.unwrap_or(DEFAULT_LOOKUP_DEADLINE);
        if lookup_deadline.is_zero() {
            return Err(Error::invalid_input(
                InputErrorKind::ZeroDeadline,
                Some("lookup_deadline"),
                "lookup deadline must be greater than zero (with Duration::ZERO every lookup fails)",
            ));
        }
        let proxy = self.proxy.as_deref().map(checked_proxy).transpose()?;
        let http = http_builder(&base_url, timeout, proxy);
        let http = with_root_certificates(http, &self.root_certificates)?;
        let http = http.build().map_err(|e| {
            Error::invalid_input(
                InputErrorKind::HttpClient,
                None,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        let state = HookState::new(token, self.cloud.scope(), self.retry, timeout, &base_url);
        Ok(GraphClient {
            generated: generated::Client::new_with_client(&base_url, http, state),
            lookup_deadline,
            skus: Arc::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_needs_a_token_and_never_shows_it() {
        let err = GraphClient::builder().build().unwrap_err();
        assert!(err.to_string().contains("no token"));
        let builder = GraphClient::builder().bearer_token("s3cret-token");
        assert!(!format!("{builder:?}").contains("s3cret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("s3cret"));
        assert_eq!(client.base_url(), "https://graph.microsoft.com/beta");
    }

    #[test]
    fn a_zero_timeout_is_refused_at_build() {
        let err = GraphClient::builder()
            .bearer_token("t")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("timeout") && text.contains("zero"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        // The smallest positive timeout is a choice the caller may make.
        GraphClient::builder()
            .bearer_token("t")
            .timeout(Duration::from_nanos(1))
            .build()
            .unwrap();
    }

    #[test]
    fn every_cloud_has_its_root() {
        for cloud in Cloud::ALL {
            let client = GraphClient::builder()
                .cloud(cloud)
                .bearer_token("t")
                .build()
                .unwrap();
            assert_eq!(client.base_url(), cloud.base_url());
        }
    }
}

/// The hooks as the builder sets them up: these need a `GraphClient`, a layer above the hooks.
#[cfg(test)]
mod hooks_tests {
    use progenitor_client::{ClientHooks, OperationInfo};
    use reqwest::header::AUTHORIZATION;

    use super::GraphClient;

    #[tokio::test]
    async fn the_authorization_header_is_marked_sensitive() {
        // Mutant killed: `set_sensitive(true)` removed. Checked on the request `pre` hands to
        // `exec`, for a fresh header and for the one reused for the same token.
        let client = GraphClient::builder()
            .base_url("http://127.0.0.1:9/beta")
            .bearer_token("s3cret-token")
            .build()
            .unwrap();
        let url = "http://127.0.0.1:9/beta/deviceManagement/windowsAutopilotDeviceIdentities/d/assignResourceAccountToDevice";
        let info = OperationInfo {
            operation_id: crate::generated::operations::ASSIGN_RESOURCE_ACCOUNT_TO_DEVICE,
        };
        for _ in 0..2 {
            let mut request = reqwest::Client::new().post(url).build().unwrap();
            client
                .generated()
                .pre::<()>(&mut request, &info)
                .await
                .unwrap();
            let auth = &request.headers()[AUTHORIZATION];
            assert!(auth.is_sensitive());
            let shown = format!("{:?}", request.headers());
            assert!(
                shown.contains("Sensitive") && !shown.contains("s3cret"),
                "{shown}"
            );
        }
    }

    #[test]
    fn the_client_debug_shows_its_settings_never_its_token() {
        // Mutant killed: `Debug for HookState` replaced by `Ok(())` (cargo mutants): the hook state
        // is shown by what is safe to show (scopes, retry policy), and the token never.
        let client = GraphClient::builder()
            .base_url("http://127.0.0.1:9/beta")
            .bearer_token("s3cret-token")
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("HookState") && shown.contains("scopes") && shown.contains("retry"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
