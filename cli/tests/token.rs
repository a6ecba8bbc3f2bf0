//! Where the token comes from, seen from outside: a pasted `Bearer ` prefix, the tenant of a
//! JWT binding the journal, and a credential that never answers.

mod support;

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use base64::Engine as _;
use support::{both, rooms_csv, run_with_env as run, temp_dir, text};

#[tokio::test(flavor = "multi_thread")]
async fn a_token_pasted_with_its_scheme_is_sent_once_prefixed() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("dev-1", "SN-1").group_tag("MTR-Rooms")]);
    // The account check reads the row's account: licensed, so the row goes ahead.
    graph.add_user(StandInUser::new("room-1@contoso.com").license("Microsoft_Teams_Rooms_Pro"));
    let dir = temp_dir("token-bearer");
    let csv = rooms_csv(&dir, 1..=1);
    let base = graph.base_url();
    let plan = ["plan", "--base-url", &base, "--csv", csv.to_str().unwrap()];
    for (flag, env) in [
        (Some("Bearer t0ken"), None),
        (Some("bearer \t t0ken"), None),
        (None, Some("BEARER t0ken\n")),
    ] {
        let before = graph.requests().len();
        let mut args = plan.to_vec();
        if let Some(token) = flag {
            args.extend(["--token", token]);
        }
        let env: Vec<(&str, &str)> = env.map(|t| ("GRAPH_TOKEN", t)).into_iter().collect();
        let out = run(&args, &env).await;
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        let requests = graph.requests()[before..].to_vec();
        assert!(!requests.is_empty());
        for request in &requests {
            assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
        }
    }
}

/// An unsigned token shaped as a JWT whose claims carry `tid`.
fn jwt_of_tenant(tid: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&format!(
            r#"{{"tid":"{tid}","aud":"https://graph.microsoft.com"}}"#
        ))
    )
}

/// Kills the mutant of connect.rs where the `--token` path never binds the tenant
/// (`let tenant = tenant_of(token)` replaced by `None`): the journal would then record no tenant,
/// and a run under another tenant's token would trust it.
#[tokio::test(flavor = "multi_thread")]
async fn the_journal_is_bound_to_the_tenant_of_the_token() {
    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("dev-1", "SN-1").group_tag("MTR-Rooms")]);
    // The account check reads the row's account: licensed, so the row goes ahead.
    graph.add_user(StandInUser::new("room-1@contoso.com").license("Microsoft_Teams_Rooms_Pro"));
    let dir = temp_dir("token-tenant");
    let csv = rooms_csv(&dir, 1..=1);
    let base = graph.base_url();
    let apply = |token: String| {
        let args = [
            "apply",
            "--base-url",
            &base,
            "--verify-timeout",
            "5",
            "--csv",
            csv.to_str().unwrap(),
            "--resume",
        ]
        .map(str::to_owned);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args, &[("GRAPH_TOKEN", &token)]).await
        }
    };
    let out = apply(jwt_of_tenant(A)).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let journal = std::fs::read_to_string(dir.join("rooms.csv.journal.jsonl")).unwrap();
    assert!(
        journal.contains(&format!("\"tenant\":\"{A}\"")),
        "{journal}"
    );

    // The same journal under tenant B's token: refused, nothing sent.
    let before = graph.requests().len();
    let out = apply(jwt_of_tenant(B)).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains(&format!("(tenant {A}), not this one")),
        "{}",
        both(&out)
    );
    assert_eq!(graph.requests().len(), before);

    // Under tenant A again: the journal's verified row is skipped.
    let out = apply(jwt_of_tenant(A)).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("already done: 1"),
        "{}",
        both(&out)
    );
}

/// An `az` on PATH that never answers: the sign-in ends after the client timeout (60 s), with one
/// line and exit 1, instead of waiting for ever.
#[cfg(all(unix, feature = "azure-identity"))]
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_azure_cli_ends_the_sign_in_after_the_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, Instant};

    /// Ends the fake `az` (by the process id it wrote), however the test ends.
    struct Reap(std::path::PathBuf);
    impl Drop for Reap {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(&self.0) {
                let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            }
        }
    }

    let dir = temp_dir("token-hung-az");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pid_file = dir.join("az.pid");
    let _reap = Reap(pid_file.clone());
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 400\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let csv = rooms_csv(&dir, 1..=1);
    let graph = StandIn::start().await.unwrap();
    let base = graph.base_url();
    let args = [
        "--auth",
        "azure-cli",
        "plan",
        "--base-url",
        &base,
        "--csv",
        csv.to_str().unwrap(),
    ];
    let started = Instant::now();
    let out = run(&args, &[("PATH", &path)]).await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", both(&out));
    assert!(stderr.contains("cannot sign in"), "{}", both(&out));
    assert!(pid_file.exists(), "the fake az never ran: {}", both(&out));
    // The timeout is 60 s; the fake az sleeps 400 s. Generous on a loaded machine.
    assert!(took < Duration::from_secs(240), "{took:?}");
    assert!(graph.requests().is_empty());
}
