//! Device-code sign-in (RFC 8628) and refresh against the stand-in's loopback identity endpoint,
//! under tokio's paused clock: the waits are virtual, the spacing exact.

use std::time::Duration;

use autopilot_resource_account::device_code::DeviceCodeCredential;
use autopilot_resource_account::{
    DeviceCodePrompt, GraphClient, ResourceAccountAssignment, TokenError, TokenProvider,
};
use autopilot_resource_account_stand_in::{SignIn, StandIn};

const SCOPE: &str = "https://graph.microsoft.com/.default";

async fn sign_in(
    graph: &StandIn,
) -> (
    Result<DeviceCodeCredential, TokenError>,
    Vec<DeviceCodePrompt>,
) {
    let mut prompts = Vec::new();
    let result = DeviceCodeCredential::builder(
        "11111111-2222-3333-4444-555555555555",
        "contoso.onmicrosoft.com",
    )
    .authority(&graph.authority_url())
    .sign_in(|prompt| prompts.push(prompt.clone()))
    .await;
    (result, prompts)
}

fn secrets_absent(text: &str) {
    for secret in [
        "stand-in-access",
        "stand-in-refresh",
        "stand-in-device-code",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn pending_then_slow_down_then_a_token_with_the_polls_spaced_by_the_rfc() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(
        SignIn::approve()
            .pending(2)
            .slow_down(1)
            .interval(Duration::from_secs(5)),
    );
    let started = tokio::time::Instant::now();
    let (credential, prompts) = sign_in(&graph).await;
    let credential = credential.unwrap();

    let [prompt] = prompts.as_slice() else {
        panic!("{prompts:?}")
    };
    assert_eq!(prompt.user_code, "STANDIN1");
    assert!(
        prompt.verification_uri.ends_with("/identity/devicelogin"),
        "{prompt:?}"
    );
    assert_eq!(prompt.expires_in, Duration::from_secs(900));

    // pending, pending, slow_down, token: 5 s apart, then 5 s more after slow_down (§3.5).
    let polls = graph.sign_in_polls();
    let mut at = vec![polls[0] - started];
    at.extend(polls.windows(2).map(|w| w[1] - w[0]));
    let secs: Vec<u64> = at.iter().map(|d| d.as_millis() as u64 / 100).collect();
    assert_eq!(secs, [50, 50, 50, 100], "poll spacing in 0.1 s: {at:?}");

    let counters = graph.identity_counters();
    assert_eq!(
        (counters.device_codes, counters.polls, counters.sign_ins),
        (1, 4, 1)
    );
    let token = credential.token(&[SCOPE]).await.unwrap();
    assert!(token.secret().starts_with("stand-in-access-"));
    secrets_absent(&format!("{credential:?}"));
    assert!(
        credential
            .scope()
            .ends_with("/DeviceManagementServiceConfig.ReadWrite.All offline_access")
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_longer_than_two_token_lifetimes_never_fails_and_refreshes_twice() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(SignIn::approve().token_lifetime(Duration::from_secs(60)));
    let (credential, _) = sign_in(&graph).await;
    graph.require_issued_tokens(true);
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(credential.unwrap())
        .build()
        .unwrap();

    // 30 calls 5 s apart: 150 s, two and a half lifetimes (refreshed at 54 s of each).
    let assignment = ResourceAccountAssignment::new().with_user_principal_name("room@contoso.com");
    for i in 0..30 {
        client
            .assign_resource_account_to_device(&id(&format!("device-{i}")), &assignment)
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let counters = graph.identity_counters();
    assert_eq!(counters.refreshes, 2, "{counters:?}");
    assert_eq!(counters.refused_graph_calls, 0, "{counters:?}");
    assert_eq!(graph.succeeded().len(), 30);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_refresh() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(SignIn::approve().token_lifetime(Duration::from_secs(60)));
    let credential = sign_in(&graph).await.0.unwrap();
    tokio::time::sleep(Duration::from_secs(55)).await;
    let calls = (0..16).map(|_| {
        let credential = credential.clone();
        tokio::spawn(async move { credential.token(&[SCOPE]).await })
    });
    let tokens: Vec<_> = futures_util::future::join_all(calls).await;
    let first = tokens[0].as_ref().unwrap().as_ref().unwrap().clone();
    assert!(
        tokens
            .iter()
            .all(|t| t.as_ref().unwrap().as_ref() == Ok(&first))
    );
    assert_eq!(graph.identity_counters().refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_token_ends_in_one_clear_message() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(
        SignIn::approve()
            .token_lifetime(Duration::from_secs(60))
            .refuse_refresh(),
    );
    let credential = sign_in(&graph).await.0.unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    let first = credential.token(&[SCOPE]).await.unwrap_err();
    let again = credential.token(&[SCOPE]).await.unwrap_err();
    assert_eq!(first, again);
    let text = first.to_string();
    assert!(
        text.contains("can no longer be refreshed") && text.contains("invalid_grant"),
        "{text}"
    );
    assert!(text.contains("sign in again"), "{text}");
    assert!(!text.contains('\n'));
    secrets_absent(&format!("{text} {first:?}"));
    // Asked once: the dead refresh token is not sent again.
    assert_eq!(graph.identity_counters().refused_refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn declined_and_expired_sign_ins_say_so() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(SignIn::deny().pending(1));
    let err = sign_in(&graph).await.0.unwrap_err().to_string();
    assert!(
        err.contains("declined") && err.contains("access_denied"),
        "{err}"
    );
    secrets_absent(&err);

    graph.script_sign_in(SignIn::expire());
    let err = sign_in(&graph).await.0.unwrap_err().to_string();
    assert!(
        err.contains("expired") && err.contains("expired_token"),
        "{err}"
    );
    assert!(err.contains("run the command again"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn polling_stops_when_the_device_code_expires() {
    let graph = StandIn::start().await.unwrap();
    graph.script_sign_in(
        SignIn::approve()
            .pending(u32::MAX)
            .interval(Duration::from_secs(5))
            .code_lifetime(Duration::from_secs(32)),
    );
    let started = tokio::time::Instant::now();
    let err = sign_in(&graph).await.0.unwrap_err().to_string();
    assert!(err.contains("expired after 32 s"), "{err}");
    assert_eq!(graph.identity_counters().polls, 6);
    assert!(started.elapsed() <= Duration::from_secs(32));
}

#[tokio::test]
async fn the_authority_is_https_or_loopback_and_ids_are_checked() {
    let cases = [
        ("http://login.example/identity", "t", "must use https"),
        ("https://user:pw@login.example", "t", "credentials"),
        ("https://login.example", "a/../b", "tenant must be"),
    ];
    for (authority, tenant, why) in cases {
        let err = DeviceCodeCredential::builder("client", tenant)
            .authority(authority)
            .sign_in(|_| panic!("no prompt"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{authority}: {err}");
        assert!(!err.contains("pw"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_of_another_cloud_is_refused() {
    let graph = StandIn::start().await.unwrap();
    let credential = sign_in(&graph).await.0.unwrap();
    let err = credential
        .token(&["https://microsoftgraph.chinacloudapi.cn/.default"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("this sign-in is for https://graph.microsoft.com"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_from_graph_makes_the_next_call_refresh() {
    let graph = StandIn::start().await.unwrap();
    let credential = sign_in(&graph).await.0.unwrap();
    graph.require_issued_tokens(true);
    graph.script(
        "device-1",
        [autopilot_resource_account_stand_in::Reply::status(401)],
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(credential)
        .build()
        .unwrap();
    let assignment = ResourceAccountAssignment::new();
    let refused = client
        .assign_resource_account_to_device(&id("device-1"), &assignment)
        .await;
    assert_eq!(refused.unwrap_err().status(), Some(401));
    assert_eq!(graph.identity_counters().refreshes, 0);
    client
        .assign_resource_account_to_device(&id("device-2"), &assignment)
        .await
        .unwrap();
    assert_eq!(
        graph.identity_counters().refreshes,
        1,
        "the refused token was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn an_authority_that_never_answers_times_out() {
    // Connections complete in the kernel's backlog; nothing ever reads or answers them.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = format!("http://{}/identity", silent.local_addr().unwrap());
    let err = DeviceCodeCredential::builder("client", "tenant")
        .authority(&authority)
        .timeout(Duration::from_secs(10))
        .sign_in(|_| panic!("no prompt"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot start the device-code sign-in") && err.contains("timed out"),
        "{err}"
    );
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}
