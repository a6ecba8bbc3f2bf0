//! The stand-in refuses what Graph would refuse, with Graph's error shape, and records everything.

use autopilot_resource_account_stand_in::StandIn;

const PATH: &str =
    "/deviceManagement/windowsAutopilotDeviceIdentities/d1/assignResourceAccountToDevice";

async fn send(
    graph: &StandIn,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", graph.base_url()))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

const GOOD: [(&str, &str); 2] = [
    ("authorization", "Bearer t"),
    ("content-type", "application/json"),
];

/// One request and what the stand-in must answer (`code` empty: no error body expected).
struct Case {
    method: reqwest::Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    status: u16,
    code: &'static str,
}

const fn post(path: &'static str, body: &'static str, status: u16, code: &'static str) -> Case {
    Case {
        method: reqwest::Method::POST,
        path,
        headers: &GOOD,
        body,
        status,
        code,
    }
}

#[tokio::test]
async fn valid_requests_get_204_and_invalid_ones_graphs_errors() {
    let graph = StandIn::start().await.unwrap();
    let cases = [
        post(
            PATH,
            r#"{"userPrincipalName":"a@b.c","resourceAccountName":null}"#,
            204,
            "",
        ),
        post(
            "/deviceManagement/windowsAutopilotDeviceIdentities/d1/assignUserToDevice",
            "{}",
            404,
            "BadRequest",
        ),
        post(
            "/deviceManagement/windowsAutopilotDeviceIdentities//assignResourceAccountToDevice",
            "{}",
            404,
            "BadRequest",
        ),
        Case {
            method: reqwest::Method::GET,
            ..post(PATH, "", 405, "BadRequest")
        },
        Case {
            headers: &[("content-type", "application/json")],
            ..post(PATH, "{}", 401, "InvalidAuthenticationToken")
        },
        Case {
            headers: &[
                ("authorization", "Bearer t"),
                ("content-type", "text/plain"),
            ],
            ..post(PATH, "{}", 415, "BadRequest")
        },
        post(PATH, r#"{"displayName":"x"}"#, 400, "BadRequest"),
        post(PATH, r#"{"userPrincipalName":7}"#, 400, "BadRequest"),
        post(PATH, "[]", 400, "BadRequest"),
        post(PATH, "{not json", 400, "BadRequest"),
    ];
    for case in &cases {
        let (got, answer) = send(
            &graph,
            case.method.clone(),
            case.path,
            case.headers,
            case.body,
        )
        .await;
        assert_eq!(
            got, case.status,
            "{} {} {}: {answer}",
            case.method, case.path, case.body
        );
        if !case.code.is_empty() {
            assert_eq!(answer["error"]["code"], case.code, "{answer}");
            assert!(
                answer["error"]["innerError"]["request-id"].is_string(),
                "{answer}"
            );
            let date = answer["error"]["innerError"]["date"].as_str().unwrap();
            assert_eq!(date.len(), "2026-11-29T12:00:00".len(), "no offset: {date}");
        }
    }
    let recorded = graph.requests();
    assert_eq!(
        recorded.len(),
        cases.len(),
        "every request is recorded, refused or not"
    );
    assert_eq!(graph.succeeded(), ["d1"]);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let graph = StandIn::start().await.unwrap();
    let big = format!(
        r#"{{"userPrincipalName":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, _) = send(&graph, reqwest::Method::POST, PATH, &GOOD, &big).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn stops_when_dropped() {
    let graph = StandIn::start().await.unwrap();
    let addr = graph.addr();
    drop(graph);
    // The server task ends (and closes its listener) once the runtime runs it again: wait for
    // that event by yielding, not for a fixed time.
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{addr} still accepts connections");
}

#[tokio::test]
async fn huge_paging_values_and_delays_do_not_panic() {
    use autopilot_resource_account::{GraphClient, ResourceAccountAssignment};
    use autopilot_resource_account_stand_in::Device;
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("dev-1", "PF3ABC12")]);
    let list = "/deviceManagement/windowsAutopilotDeviceIdentities";
    let max = u64::MAX;
    for query in [
        format!("?$top=5&$skiptoken={max}"),
        format!("?$top={max}&$skiptoken=1"),
    ] {
        // A panicking handler drops the connection: `send` would panic on the missing answer.
        let (status, body) = send(
            &graph,
            reqwest::Method::GET,
            &format!("{list}{query}"),
            &GOOD,
            "",
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["value"], serde_json::json!([]), "{query}");
        assert!(body.get("@odata.nextLink").is_none(), "{query}: {body}");
    }
    // "Never visible" as a delay: the assignment is accepted and stays pending.
    graph.set_visibility_delay(std::time::Duration::MAX);
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("t")
        .build()
        .unwrap();
    let assignment = ResourceAccountAssignment::new().with_user_principal_name("room@contoso.com");
    client
        .assign_resource_account_to_device(&id("dev-1"), &assignment)
        .await
        .unwrap();
    let device = client.autopilot_device(&id("dev-1")).await.unwrap();
    assert_eq!(device.user_principal_name, None);
}

#[tokio::test]
async fn latency_delays_each_answer_and_the_limits_still_apply() {
    use autopilot_resource_account_stand_in::{Model, PauseHint, Scope, Throttling};
    use std::time::{Duration, Instant};
    let graph = StandIn::start().await.unwrap();
    // One request per 10 s, answered 400 ms after sending.
    graph.throttling(
        Throttling::new(PauseHint::Seconds)
            .limit(
                Scope::App,
                Model::FixedWindow {
                    limit: 1,
                    window: Duration::from_secs(10),
                },
            )
            .latency(Duration::from_millis(400)),
    );
    let body = r#"{"userPrincipalName":"a@b.c","resourceAccountName":null}"#;
    let start = Instant::now();
    let (first, second) = tokio::join!(
        send(&graph, reqwest::Method::POST, PATH, &GOOD, body),
        send(&graph, reqwest::Method::POST, PATH, &GOOD, body),
    );
    let took = start.elapsed();
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 429], "the limit still applies");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}
