//! `GraphClientBuilder::add_root_certificate_pem` (issue 25): a loopback https server whose
//! certificate a private CA signed is refused without that CA and reached with it; a text that
//! holds no certificate is refused at `build()`.
#![cfg(feature = "rustls")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use autopilot_resource_account::{Error, GraphClient, InputErrorKind, RetryPolicy};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{TOKEN, assignment, device};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");

/// An https server on loopback that answers every request `204` and counts the requests it
/// read (after a completed handshake). Returns its base URL.
async fn https_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let certificate = CertificateDer::from(include_bytes!("fixtures/tls/server.der").to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        include_bytes!("fixtures/tls/server.key.der").to_vec(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/beta", listener.local_addr().unwrap());
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, count) = (acceptor.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tls
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, served)
}

fn builder(base_url: &str) -> autopilot_resource_account::GraphClientBuilder {
    GraphClient::builder()
        .base_url(base_url)
        .bearer_token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_added() {
    let (url, served) = https_server().await;
    let err = builder(&url)
        .build()
        .unwrap()
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 0);

    builder(&url)
        .add_root_certificate_pem(CA)
        .build()
        .unwrap()
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .expect("the server's certificate chains to the added CA");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_text_without_a_certificate_is_refused_at_build() {
    let broken_base64 = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
    for (pem, says) in [
        (&b"not a certificate"[..], "holds no PEM certificate"),
        (&b""[..], "holds no PEM certificate"),
        (&broken_base64[..], "does not decode"),
    ] {
        let err = GraphClient::builder()
            .bearer_token("t")
            .add_root_certificate_pem(CA)
            .add_root_certificate_pem(pem)
            .build()
            .unwrap_err();
        let Error::InvalidInput(input) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(input.kind(), InputErrorKind::RootCertificate);
        assert!(input.kind().is_builder_mistake());
        assert_eq!(input.parameter(), Some("root_certificate"));
        let text = err.to_string();
        assert!(
            text.contains("root certificate 2") && text.contains(says),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
}
