//! What a real HTTP server on loopback receives for each operation: method, exact path and
//! encoding, headers and body.

mod support;

use autopilot_resource_account::{DeviceId, ProfileId, ResourceAccountAssignment, USER_AGENT};
use autopilot_resource_account_stand_in::{RecordedRequest, Reply, StandIn};
use support::{
    DEVICE, TOKEN, assert_call_headers, assignment, client, client_request_ids, device, id, profile,
};

/// An assignment call as it arrives: POST with a JSON body, the headers of every call, answered.
fn assert_common_headers(request: &RecordedRequest) {
    assert_eq!(request.method, "POST");
    assert_call_headers(request);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(
        USER_AGENT.starts_with("autopilot-resource-account/0."),
        "{USER_AGENT}"
    );
    assert_eq!(request.answered, Some(204));
}

#[tokio::test]
async fn device_identity_operation_on_the_wire() {
    let graph = StandIn::start().await.unwrap();
    client(&graph)
        .assign_resource_account_to_device(
            &id("7f9b6c1e-0000-4000-8000-000000000001"),
            &assignment(),
        )
        .await
        .unwrap();
    let [request] = graph.requests().try_into().unwrap();
    assert_eq!(
        request.target,
        "/beta/deviceManagement/windowsAutopilotDeviceIdentities/7f9b6c1e-0000-4000-8000-000000000001/assignResourceAccountToDevice"
    );
    assert_common_headers(&request);
    assert_eq!(
        std::str::from_utf8(&request.body).unwrap(),
        r#"{"addressableUserName":"Room 101","resourceAccountName":"room-101","userPrincipalName":"room-101@contoso.com"}"#
    );
    assert_eq!(
        request.operation.as_deref(),
        Some("assign_resource_account_to_device")
    );
}

#[tokio::test]
async fn deployment_profile_operation_on_the_wire() {
    let graph = StandIn::start().await.unwrap();
    client(&graph)
        .assign_resource_account_to_deployment_profile_device(
            &profile("profile-1"),
            &id("device-1"),
            &assignment(),
        )
        .await
        .unwrap();
    let [request] = graph.requests().try_into().unwrap();
    assert_eq!(
        request.target,
        "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/profile-1/assignedDevices/device-1/assignResourceAccountToDevice"
    );
    assert_common_headers(&request);
    assert_eq!(
        request.json().unwrap(),
        serde_json::to_value(assignment()).unwrap()
    );
    assert_eq!(request.device_id.as_deref(), Some("device-1"));
}

#[tokio::test]
async fn via_deployment_profile_operation_on_the_wire() {
    let graph = StandIn::start().await.unwrap();
    client(&graph)
        .assign_resource_account_to_device_via_deployment_profile(
            &id("device-1"),
            &id("device-2"),
            &assignment(),
        )
        .await
        .unwrap();
    let [request] = graph.requests().try_into().unwrap();
    assert_eq!(
        request.target,
        "/beta/deviceManagement/windowsAutopilotDeviceIdentities/device-1/deploymentProfile/assignedDevices/device-2/assignResourceAccountToDevice"
    );
    assert_common_headers(&request);
    assert_eq!(request.device_id.as_deref(), Some("device-2"));
}

#[tokio::test]
async fn none_fields_are_omitted_and_empty_assignment_is_an_empty_object() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let only_upn = ResourceAccountAssignment::new().with_user_principal_name("room@contoso.com");
    client
        .assign_resource_account_to_device(&id("d1"), &only_upn)
        .await
        .unwrap();
    client
        .assign_resource_account_to_device(&id("d2"), &ResourceAccountAssignment::default())
        .await
        .unwrap();
    let requests = graph.requests();
    assert_eq!(
        &requests[0].body[..],
        br#"{"userPrincipalName":"room@contoso.com"}"#
    );
    assert_eq!(&requests[1].body[..], b"{}");
}

#[tokio::test]
async fn allowed_ids_go_out_verbatim() {
    let graph = StandIn::start().await.unwrap();
    client(&graph)
        .assign_resource_account_to_deployment_profile_device(
            &profile("Profile_1.a-B"),
            &id("..."),
            &assignment(),
        )
        .await
        .unwrap();
    let [request] = graph.requests().try_into().unwrap();
    assert_eq!(
        request.target,
        "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/Profile_1.a-B/assignedDevices/.../assignResourceAccountToDevice"
    );
}

#[tokio::test]
async fn every_call_gets_a_fresh_client_request_id() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    for _ in 0..3 {
        client
            .assign_resource_account_to_device(&id("d"), &assignment())
            .await
            .unwrap();
    }
    assert_eq!(client_request_ids(&graph.requests()).len(), 3);
}

#[tokio::test]
async fn any_2xx_is_success() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "d",
        [
            Reply::status(204),
            Reply::status(200).json(&serde_json::json!({"value": true})),
            Reply::status(200),
            Reply::status(202),
        ],
    );
    let client = client(&graph);
    for _ in 0..4 {
        client
            .assign_resource_account_to_device(&id("d"), &assignment())
            .await
            .unwrap();
    }
    let answered: Vec<_> = graph
        .requests()
        .iter()
        .map(|r| r.answered.unwrap())
        .collect();
    assert_eq!(answered, [204, 200, 200, 202]);
}

/// Ids that would rewrite the path, or are not Graph ids at all (issue 8).
fn refused_ids() -> Vec<String> {
    [
        "",
        ".",
        "..",
        "x/deploymentProfile/assignedDevices/y",
        "..;",
        "%2e%2e%2fx",
        "..%2f",
        "%2e%2E",
        "%252e%252e",
        "\u{ff0e}\u{ff0e}",
        "dev/../other",
        "..\\x",
        "a\\b",
        "a\nb",
        "a\u{0}b",
        "a b",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        "a".repeat(autopilot_resource_account::MAX_ID_LEN + 1),
        "..\\..\\..".to_owned(),
    ])
    .collect()
}

#[tokio::test]
async fn refused_ids_never_reach_the_server() {
    let graph = StandIn::start().await.unwrap();
    let _client = client(&graph);
    for bad in refused_ids() {
        let bad = bad.as_str();
        // Each id of the three operations, refused where it is made, so no call can send it.
        let e1 = bad.parse::<DeviceId>().unwrap_err();
        let e2 = DeviceId::try_from(bad).unwrap_err();
        let e3 = bad.parse::<ProfileId>().unwrap_err();
        let e4 = DeviceId::try_from(bad.to_owned()).unwrap_err();
        let e5 = DeviceId::parse_as("assigned_device_id", bad).unwrap_err();
        for (e, param) in [
            (e1, "device_id"),
            (e2, "device_id"),
            (e3, "profile_id"),
            (e4, "device_id"),
            (e5, "assigned_device_id"),
        ] {
            assert!(
                matches!(e, autopilot_resource_account::Error::InvalidInput(_)),
                "{bad:?}: {e:?}"
            );
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("invalid input: {param} ")),
                "{bad:?}: {text}"
            );
            assert!(!e.is_retryable());
            assert_eq!(e.status(), None);
            assert!(!text.contains('\n'));
        }
    }
    assert!(graph.requests().is_empty(), "{:?}", graph.requests());
}

#[tokio::test]
async fn refused_ids_never_reach_the_server_through_generated() {
    use progenitor_client::Error as E;
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let generated = client.generated();
    for bad in refused_ids() {
        let bad = bad.as_str();
        let outcomes = [
            generated
                .assign_resource_account_to_device(bad, &assignment())
                .await
                .map(|_| ()),
            generated
                .assign_resource_account_to_deployment_profile_device(bad, DEVICE, &assignment())
                .await
                .map(|_| ()),
            generated
                .assign_resource_account_to_deployment_profile_device(DEVICE, bad, &assignment())
                .await
                .map(|_| ()),
            generated
                .assign_resource_account_to_device_via_deployment_profile(
                    bad,
                    DEVICE,
                    &assignment(),
                )
                .await
                .map(|_| ()),
            generated
                .assign_resource_account_to_device_via_deployment_profile(
                    DEVICE,
                    bad,
                    &assignment(),
                )
                .await
                .map(|_| ()),
        ];
        for outcome in outcomes {
            match outcome {
                Err(E::InvalidRequest(message)) => {
                    // Names the spec's parameter, or says the path was rewritten.
                    assert!(
                        message.contains("an id rewrote it")
                            || message.starts_with("windowsAutopilotDe"),
                        "{bad:?}: {message}"
                    );
                    assert!(!message.contains('\n'), "{message}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
    assert!(graph.requests().is_empty(), "{:?}", graph.requests());

    // The same calls with GUIDs do go out.
    generated
        .assign_resource_account_to_device_via_deployment_profile(DEVICE, DEVICE, &assignment())
        .await
        .unwrap();
    generated
        .assign_resource_account_to_deployment_profile_device(DEVICE, DEVICE, &assignment())
        .await
        .unwrap();
    generated
        .assign_resource_account_to_device(DEVICE, &assignment())
        .await
        .unwrap();
    assert_eq!(graph.succeeded(), [DEVICE, DEVICE, DEVICE]);
}

#[tokio::test]
async fn generated_calls_go_through_the_hooks() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    client
        .generated()
        .assign_resource_account_to_device(DEVICE, &assignment())
        .await
        .unwrap();
    client
        .generated()
        .assign_resource_account_to_device(DEVICE, &assignment())
        .await
        .unwrap();
    let requests = graph.requests();
    assert_eq!(requests.len(), 2);
    // Token, a client-request-id GUID, no api-version, this crate's User-Agent.
    for request in &requests {
        assert_common_headers(request);
    }
    assert_ne!(
        requests[0].header("client-request-id"),
        requests[1].header("client-request-id"),
        "a fresh id per call, outside a wrapper call too"
    );
}

#[tokio::test]
async fn the_stand_ins_debug_never_shows_the_token() {
    let graph = StandIn::start().await.unwrap();
    client(&graph)
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap();
    let requests = format!("{:?}", graph.requests());
    assert!(
        requests.contains(r#"("authorization", "<redacted>")"#),
        "{requests}"
    );
    assert!(requests.contains(DEVICE), "the rest is shown: {requests}");
    let stand_in = format!("{graph:?}");
    for shown in [requests, stand_in] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}
