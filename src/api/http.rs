//! The HTTP client that [`GraphClientBuilder::build`](crate::GraphClientBuilder::build) makes:
//! its timeouts, no redirects, the proxy rule (plain http to loopback never through a proxy,
//! `localhost` never resolved), an explicit proxy and extra root certificates.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::error::{Error, InputErrorKind};
use crate::signin::endpoint::USER_AGENT;

/// The proxy of [`GraphClientBuilder::proxy`](crate::GraphClientBuilder::proxy), checked. Its text is not repeated in the error:
/// it may hold credentials.
pub(super) fn checked_proxy(url: &str) -> Result<reqwest::Proxy, Error> {
    let refuse = |why: String| {
        Error::invalid_input(
            InputErrorKind::Proxy,
            Some("proxy"),
            format!("proxy URL {why}"),
        )
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(format!("does not parse: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(refuse(format!(
            "must be http://host:port or https://host:port (scheme {:?})",
            parsed.scheme()
        )));
    }
    reqwest::Proxy::all(parsed).map_err(|e| refuse(format!("is not usable: {e}")))
}

/// Adds the root certificates of [`GraphClientBuilder::add_root_certificate_pem`](crate::GraphClientBuilder::add_root_certificate_pem).
pub(super) fn with_root_certificates(
    http: reqwest::ClientBuilder,
    pems: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder, Error> {
    let refuse = |why: String| {
        Error::invalid_input(
            InputErrorKind::RootCertificate,
            Some("root_certificate"),
            why,
        )
    };
    if pems.is_empty() {
        return Ok(http);
    }
    #[cfg(not(feature = "rustls"))]
    return Err(refuse(
        "root certificates need TLS: enable the feature \"rustls\"".to_owned(),
    ));
    #[cfg(feature = "rustls")]
    {
        let mut certificates = Vec::new();
        for (n, pem) in pems.iter().enumerate() {
            let found = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| refuse(format!("root certificate {} does not decode: {e}", n + 1)))?;
            if found.is_empty() {
                return Err(refuse(format!(
                    "root certificate {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    n + 1
                )));
            }
            certificates.extend(found);
        }
        Ok(http.tls_certs_merge(certificates))
    }
}

/// The HTTP client's settings for a checked base URL; `proxy` is used for https only.
pub(super) fn http_builder(
    base_url: &str,
    timeout: Duration,
    proxy: Option<reqwest::Proxy>,
) -> reqwest::ClientBuilder {
    let mut http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // Graph does not redirect this action; following a redirect could carry the token elsewhere.
        .redirect(reqwest::redirect::Policy::none());
    if base_url.starts_with("http:") {
        // Plain http goes only to loopback (checked above). Through a proxy from the
        // environment (`HTTP_PROXY`, `ALL_PROXY`) the bearer token would travel in clear text
        // to another host; https may use one, since CONNECT keeps TLS end to end.
        http = http.no_proxy();
        // `localhost` is plain http's one loopback name: never ask the system's resolver (a
        // hosts file without it, or a DNS answer, could send the token elsewhere in clear text).
        // Port 0: reqwest uses the URL's port; the Host header keeps the name.
        let is_localhost = reqwest::Url::parse(base_url).is_ok_and(|url| {
            url.host_str()
                .is_some_and(|host| host.eq_ignore_ascii_case("localhost"))
        });
        if is_localhost {
            let loopback = [
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ];
            http = http.resolve_to_addrs("localhost", &loopback);
        }
    } else if let Some(proxy) = proxy {
        // Replaces the environment's proxies (reqwest stops reading them).
        http = http.proxy(proxy);
    }
    http
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::client::DEFAULT_TIMEOUT;
    use crate::signin::endpoint::checked_base_url;

    /// A resolver that counts its calls and sends every name to a closed port.
    struct Elsewhere(Arc<std::sync::atomic::AtomicUsize>);

    impl reqwest::dns::Resolve for Elsewhere {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::from((
                Ipv4Addr::new(127, 0, 0, 1),
                1,
            ))));
            Box::pin(async move { Ok(addrs) })
        }
    }

    #[tokio::test]
    async fn localhost_is_never_resolved_by_name() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request head ends");
                head.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        let base = format!("http://localhost:{port}/beta");
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Without the override this resolver would be asked, and send the request elsewhere.
        let http = http_builder(&checked_base_url(&base).unwrap(), DEFAULT_TIMEOUT, None)
            .dns_resolver(Elsewhere(asked.clone()))
            .build()
            .unwrap();
        let response = http.get(format!("{base}/x")).send().await.unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
        let head = server.await.unwrap().to_ascii_lowercase();
        assert!(
            head.contains(&format!("host: localhost:{port}\r\n")),
            "{head}"
        );
    }
}
