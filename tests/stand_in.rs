//! The stand-in refuses what Graph would refuse, with Graph's error shape, and records everything.

use autopilot_resource_account::stand_in::StandIn;

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

#[tokio::test]
async fn valid_requests_get_204_and_invalid_ones_graphs_errors() {
    let graph = StandIn::start().await.unwrap();
    let post = reqwest::Method::POST;
    let cases: Vec<(reqwest::Method, &str, Vec<(&str, &str)>, &str, u16, &str)> = vec![
        (
            post.clone(),
            PATH,
            GOOD.to_vec(),
            r#"{"userPrincipalName":"a@b.c","resourceAccountName":null}"#,
            204,
            "",
        ),
        (
            post.clone(),
            "/deviceManagement/windowsAutopilotDeviceIdentities/d1/assignUserToDevice",
            GOOD.to_vec(),
            "{}",
            404,
            "BadRequest",
        ),
        (
            post.clone(),
            "/deviceManagement/windowsAutopilotDeviceIdentities//assignResourceAccountToDevice",
            GOOD.to_vec(),
            "{}",
            404,
            "BadRequest",
        ),
        (
            reqwest::Method::GET,
            PATH,
            GOOD.to_vec(),
            "",
            405,
            "BadRequest",
        ),
        (
            post.clone(),
            PATH,
            vec![("content-type", "application/json")],
            "{}",
            401,
            "InvalidAuthenticationToken",
        ),
        (
            post.clone(),
            PATH,
            vec![
                ("authorization", "Bearer t"),
                ("content-type", "text/plain"),
            ],
            "{}",
            415,
            "BadRequest",
        ),
        (
            post.clone(),
            PATH,
            GOOD.to_vec(),
            r#"{"displayName":"x"}"#,
            400,
            "BadRequest",
        ),
        (
            post.clone(),
            PATH,
            GOOD.to_vec(),
            r#"{"userPrincipalName":7}"#,
            400,
            "BadRequest",
        ),
        (post.clone(), PATH, GOOD.to_vec(), "[]", 400, "BadRequest"),
        (
            post.clone(),
            PATH,
            GOOD.to_vec(),
            "{not json",
            400,
            "BadRequest",
        ),
    ];
    for (method, path, headers, body, status, code) in &cases {
        let (got, answer) = send(&graph, method.clone(), path, headers, body).await;
        assert_eq!(got, *status, "{method} {path} {body}: {answer}");
        if !code.is_empty() {
            assert_eq!(answer["error"]["code"], *code, "{answer}");
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
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
