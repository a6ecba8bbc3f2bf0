//! The typed parts of [`Error`] a caller matches on (issue 25): `InvalidInput`'s kind and
//! parameter, the opaque `TransportError`, and `TokenError`'s transient flag as
//! `is_retryable()` reads it. The messages stay what they were: the CLI prints them.

use std::error::Error as _;
use std::time::Duration;

use autopilot_resource_account::{
    AccessToken, BoxFuture, DeviceId, Error, GraphClient, InputErrorKind,
    ResourceAccountAssignment, RetryPolicy, TokenError, TokenProvider,
};

/// A loopback port nothing listens on: the connection is refused at once.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn input(e: &Error) -> (InputErrorKind, Option<&str>, String) {
    match e {
        Error::InvalidInput(input) => (input.kind(), input.parameter(), input.to_string()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn builder_mistakes_have_their_kind_and_keep_their_message() {
    let no_token = GraphClient::builder().build().unwrap_err();
    assert_eq!(
        input(&no_token),
        (
            InputErrorKind::NoTokenSource,
            None,
            "no token: call bearer_token(…) or token_provider(…)".into()
        )
    );
    assert_eq!(
        no_token.to_string(),
        "invalid input: no token: call bearer_token(…) or token_provider(…)"
    );

    let zero = GraphClient::builder()
        .bearer_token("t")
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(input(&zero).0, InputErrorKind::ZeroTimeout);
    assert_eq!(input(&zero).1, Some("timeout"));

    let deadline = GraphClient::builder()
        .bearer_token("t")
        .lookup_deadline(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(input(&deadline).0, InputErrorKind::ZeroDeadline);

    let url = GraphClient::builder()
        .bearer_token("t")
        .base_url("http://graph.example.com")
        .build()
        .unwrap_err();
    assert_eq!(input(&url).0, InputErrorKind::BaseUrl);
    assert_eq!(input(&url).1, Some("base_url"));

    for e in [&no_token, &zero, &deadline, &url] {
        assert!(input(e).0.is_builder_mistake(), "{e}");
        assert!(!e.is_retryable());
    }
}

#[tokio::test]
async fn refused_values_name_their_parameter() {
    let client = GraphClient::builder()
        .base_url(&closed_port())
        .bearer_token("t")
        .build()
        .unwrap();

    // A refused id never makes it to a call: it is refused where the id is made.
    let e = "a/b".parse::<DeviceId>().unwrap_err();
    let (kind, parameter, message) = input(&e);
    assert_eq!((kind, parameter), (InputErrorKind::Id, Some("device_id")));
    assert_eq!(
        message,
        r#"device_id "a/b" contains '/': ids are ASCII letters, digits, '-', '_' and '.'"#
    );
    assert!(!kind.is_builder_mistake());

    let e = DeviceId::parse_as("assigned_device_id", "").unwrap_err();
    assert_eq!(
        input(&e),
        (
            InputErrorKind::Id,
            Some("assigned_device_id"),
            "assigned_device_id is empty".into()
        )
    );

    let e = client
        .find_autopilot_devices_by_serial("  ")
        .await
        .unwrap_err();
    assert_eq!(
        input(&e),
        (
            InputErrorKind::Serial,
            Some("serial"),
            "serial is empty".into()
        )
    );

    let e = client.check_resource_account("$x").await.unwrap_err();
    let (kind, parameter, _) = input(&e);
    assert_eq!(
        (kind, parameter),
        (
            InputErrorKind::UserPrincipalName,
            Some("user_principal_name")
        )
    );
    assert!(!kind.is_builder_mistake());
}

#[tokio::test]
async fn a_refused_connection_is_an_opaque_transport_error() {
    let client = GraphClient::builder()
        .base_url(&closed_port())
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(source.is_connect(), "{source:?}");
    assert!(!source.is_timeout());
    assert_eq!(source.to_string(), "the connection failed");
    // The HTTP client's error is the source, reachable without naming its type.
    let inner = source.source().expect("the HTTP client's error");
    assert!(inner.to_string().contains("127.0.0.1"), "{inner}");
    // `Error`'s own chain goes through the wrapper; its one line is what it was.
    assert_eq!(err.source().unwrap().to_string(), "the connection failed");
    assert!(err.to_string().starts_with("transport error: "), "{err}");
    assert!(!err.to_string().contains('\n'));
    assert!(err.is_retryable(), "refused before any answer");
}

/// Answers with `error`, or never (`None`).
struct Failing(Option<TokenError>);

impl TokenProvider for Failing {
    fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        let answer = self.0.clone();
        Box::pin(async move {
            match answer {
                Some(error) => Err(error),
                None => std::future::pending().await,
            }
        })
    }
}

async fn token_failure(provider: Failing) -> Error {
    let client = GraphClient::builder()
        .base_url(&closed_port())
        .token_provider(provider)
        .timeout(Duration::from_millis(100))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    client
        .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_transient_token_failure_is_retryable_and_a_permanent_one_is_not() {
    let transient = token_failure(Failing(Some(TokenError::transient("IMDS busy")))).await;
    assert!(
        matches!(&transient, Error::TokenSource(e) if e.is_transient()),
        "{transient:?}"
    );
    assert!(transient.is_retryable());
    assert_eq!(transient.to_string(), "token source failed: IMDS busy");

    let permanent = token_failure(Failing(Some(TokenError::new("no credential")))).await;
    assert!(!permanent.is_retryable());

    let io = std::io::Error::other("reset");
    let with_source = TokenError::new("x").with_source(io);
    assert_eq!(with_source.source().unwrap().to_string(), "reset");
    assert!(!with_source.is_transient());
    assert!(with_source.clone().with_transient(true).is_transient());
    assert_ne!(with_source, TokenError::new("x"));
}

#[tokio::test]
async fn a_token_source_that_does_not_answer_in_time_is_transient() {
    let err = token_failure(Failing(None)).await;
    match &err {
        Error::TokenSource(e) => {
            assert!(e.is_transient(), "{e:?}");
            assert!(e.message().contains("did not answer within"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}
