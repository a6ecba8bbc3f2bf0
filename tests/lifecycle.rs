//! The onboarding job's calls on the wire (loopback): find by serial through pages and near
//! misses, read, unassign, allow next enrollment, verify after a delay.

mod support;

use std::time::Duration;

use autopilot_resource_account::{DeviceId, Error};
use autopilot_resource_account_stand_in::{Device, RecordedRequest, StandIn};
use support::{DEVICE, assert_call_headers, assignment, client, client_request_ids, device, id};

const SELECT: &str = "id,serialNumber,displayName,groupTag,userPrincipalName,addressableUserName,resourceName,deploymentProfileAssignmentStatus,userlessEnrollmentStatus,enrollmentState,lastContactedDateTime";
const LIST: &str = "/beta/deviceManagement/windowsAutopilotDeviceIdentities";

/// A call without a body: `method`, the headers of every call, and no Content-Type.
fn assert_headers(request: &RecordedRequest, method: &str) {
    assert_eq!(request.method, method);
    assert_call_headers(request);
    assert_eq!(request.header("content-type"), None);
    assert!(request.body.is_empty(), "{:?}", request.body);
}

#[tokio::test]
async fn unassign_and_allow_next_enrollment_on_the_wire() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new(DEVICE, "PF1")
        .linked("old@contoso.com", "Old", "old")
        .userless_enrollment("blocked")]);
    let c = client(&graph);
    c.unassign_resource_account_from_device(&device())
        .await
        .unwrap();
    c.allow_next_enrollment(&device()).await.unwrap();
    let [unassign, allow] = graph.requests().try_into().unwrap();
    assert_eq!(
        unassign.target,
        format!("{LIST}/{DEVICE}/unassignResourceAccountFromDevice")
    );
    assert_eq!(allow.target, format!("{LIST}/{DEVICE}/allowNextEnrollment"));
    for r in [&unassign, &allow] {
        assert_headers(r, "POST");
        assert_eq!(r.answered, Some(204));
    }
    assert_ne!(
        unassign.header("client-request-id"),
        allow.header("client-request-id")
    );
    let device = graph.device(DEVICE).unwrap();
    assert_eq!(device.user_principal_name, None, "unassign clears the link");
    assert_eq!(device.userless_enrollment_status, "allowed");
}

#[tokio::test]
async fn read_a_device_with_select() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new(DEVICE, "PF1")
        .group_tag("MTR-lobby")
        .userless_enrollment("someValueAddedLater")
        .linked("room-101@contoso.com", "Room 101", "room-101")]);
    let device = client(&graph).autopilot_device(&device()).await.unwrap();
    let [request] = graph.requests().try_into().unwrap();
    assert_headers(&request, "GET");
    assert_eq!(request.target, format!("{LIST}/{DEVICE}?$select={SELECT}"));
    assert_eq!(device.id.as_deref(), Some(DEVICE));
    assert_eq!(device.serial_number.as_deref(), Some("PF1"));
    assert_eq!(device.group_tag.as_deref(), Some("MTR-lobby"));
    assert_eq!(
        device.user_principal_name.as_deref(),
        Some("room-101@contoso.com")
    );
    assert_eq!(device.addressable_user_name.as_deref(), Some("Room 101"));
    assert_eq!(device.resource_name.as_deref(), Some("room-101"));
    // An enum value Intune added later, and a date without a UTC offset, both decode.
    assert_eq!(
        device.userless_enrollment_status.as_deref(),
        Some("someValueAddedLater")
    );
    assert_eq!(
        device.last_contacted_date_time.as_deref(),
        Some("2025-01-31T08:00:00")
    );

    let err = client(&graph)
        .autopilot_device(&id("unknown"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn serial_lookup_follows_three_pages_and_drops_near_misses() {
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(2);
    graph.add_devices([
        Device::new("d1", "XPF1"),
        Device::new("d2", "pf1"),
        Device::new("d3", "PF10"),
        Device::new("d4", "OTHER"),
        Device::new("d5", " PF1 "),
        Device::new("d6", "APF1B"),
    ]);
    let found = client(&graph)
        .find_autopilot_devices_by_serial(" Pf1 ")
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|d| d.id.as_deref().unwrap()).collect();
    assert_eq!(
        ids,
        ["d2", "d5"],
        "exact, case-insensitive, trimmed; ambiguous → 2"
    );

    let requests = graph.requests();
    assert_eq!(requests.len(), 3, "five matches of contains, two per page");
    let filter = "contains(serialNumber,%27Pf1%27)";
    assert_eq!(
        requests[0].target,
        format!("{LIST}?$filter={filter}&$select={SELECT}&$top=100")
    );
    assert!(
        requests[1].target.ends_with("&$skiptoken=2"),
        "{}",
        requests[1].target
    );
    assert!(requests[2].target.ends_with("&$skiptoken=4"));
    for r in &requests {
        assert_headers(r, "GET");
        assert_eq!(r.answered, Some(200));
        assert!(
            r.target.contains(&format!("$filter={filter}")),
            "{}",
            r.target
        );
    }
    // Every page is its own call with its own client-request-id.
    assert_eq!(client_request_ids(&requests).len(), 3);
}

#[tokio::test]
async fn a_serial_on_too_many_devices_is_an_error_not_unbounded_memory() {
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(100);
    graph.add_devices((0..=1000).map(|i| Device::new(format!("dev-{i}"), "SAME")));
    let err = client(&graph)
        .find_autopilot_devices_by_serial("same")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("more than 1000 devices report serial \"same\""),
        "{err}"
    );
    // A thousand is still an answer.
    let graph = StandIn::start().await.unwrap();
    graph.add_devices((0..1000).map(|i| Device::new(format!("dev-{i}"), "SAME")));
    let found = client(&graph)
        .find_autopilot_devices_by_serial("same")
        .await;
    assert_eq!(found.unwrap().len(), 1000);
}

#[tokio::test]
async fn a_serial_never_changes_the_filter() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([
        Device::new("quote", "AB'C D"),
        Device::new("injection", "') or true or ('"),
        Device::new("other", "ZZZ"),
    ]);
    let c = client(&graph);
    let found = c.find_autopilot_devices_by_serial("ab'c d").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_deref(), Some("quote"));
    let found = c
        .find_autopilot_devices_by_serial("') or true or ('")
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|d| d.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["injection"], "the other devices are not matched");

    let requests = graph.requests();
    // The quote is doubled inside the literal, then percent-encoded (%27); the space is %20.
    assert!(
        requests[0].target.starts_with(&format!(
            "{LIST}?$filter=contains(serialNumber,%27ab%27%27c%20d%27)&"
        )),
        "{}",
        requests[0].target
    );
    assert!(
        requests[1].target.starts_with(&format!(
            "{LIST}?$filter=contains(serialNumber,%27%27%27)%20or%20true%20or%20(%27%27%27)&"
        )),
        "{}",
        requests[1].target
    );

    for (bad, why) in [
        ("", "empty"),
        ("  ", "empty"),
        ("a\nb", "control"),
        ("a\u{0}", "control"),
    ] {
        let e = c.find_autopilot_devices_by_serial(bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{bad:?}: {e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    assert_eq!(graph.requests().len(), 2, "refused serials send nothing");
}

#[tokio::test]
async fn a_foreign_next_link_is_refused_and_never_gets_the_token() {
    let graph = StandIn::start().await.unwrap();
    let other = StandIn::start().await.unwrap();
    graph.set_page_size(1);
    graph.set_next_link_base(Some(other.base_url()));
    graph.add_devices([Device::new("d1", "PF1"), Device::new("d2", "PF1")]);
    let e = client(&graph)
        .find_autopilot_devices_by_serial("PF1")
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("outside the client's base URL"), "{text}");
    assert!(text.contains(&format!("{}", other.addr().port())), "{text}");
    assert_eq!(graph.requests().len(), 1);
    assert!(
        other.requests().is_empty(),
        "the other host received nothing"
    );
}

#[tokio::test]
async fn verify_waits_for_the_assignment_to_show() {
    let graph = StandIn::start().await.unwrap();
    graph.set_visibility_delay(Duration::from_millis(600));
    graph.add_devices([Device::new(DEVICE, "PF1")]);
    let c = client(&graph);
    c.assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap();
    // Not visible yet: a read right away still shows no account.
    assert_eq!(
        c.autopilot_device(&device())
            .await
            .unwrap()
            .user_principal_name,
        None
    );
    let device = c
        .verify_assignment(&device(), &assignment(), Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        device.user_principal_name.as_deref(),
        Some("room-101@contoso.com")
    );
    assert_eq!(device.resource_name.as_deref(), Some("room-101"));
    let reads = graph
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert!(reads >= 3, "polled until visible: {reads} reads");
}

#[tokio::test]
async fn verify_times_out_naming_what_the_device_still_reports() {
    let graph = StandIn::start().await.unwrap();
    graph.set_visibility_delay(Duration::from_secs(3600));
    graph.add_devices([Device::new(DEVICE, "PF1").linked("old@contoso.com", "Old", "old")]);
    let c = client(&graph);
    c.assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap();
    let e = c
        .verify_assignment(&device(), &assignment(), Duration::from_millis(700))
        .await
        .unwrap_err();
    let Error::NotVerified {
        device_id,
        still_reports,
        device,
        waited,
        ..
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!(device_id, DEVICE);
    assert!(*waited >= Duration::from_millis(700));
    assert_eq!(
        device.user_principal_name.as_deref(),
        Some("old@contoso.com")
    );
    assert!(
        still_reports.contains(
            r#"userPrincipalName is "old@contoso.com" (expected "room-101@contoso.com")"#
        ),
        "{still_reports}"
    );
    assert!(still_reports.contains(r#"resourceName is "old" (expected "room-101")"#));
    let text = e.to_string();
    assert!(
        text.contains("does not report the assignment") && !text.contains('\n'),
        "{text}"
    );
}

#[tokio::test]
async fn ids_are_refused_before_sending() {
    let graph = StandIn::start().await.unwrap();
    let _c = client(&graph);
    for bad in ["", "..", "%2e%2e", "a\\b", "a\nb"] {
        // The four calls take a `DeviceId`: the id is refused where it is made.
        let errors = [
            bad.parse::<DeviceId>().unwrap_err(),
            DeviceId::try_from(bad).unwrap_err(),
        ];
        for e in errors {
            assert!(matches!(e, Error::InvalidInput(_)), "{bad:?}: {e}");
            assert!(e.to_string().contains("device_id"), "{e}");
        }
    }
    assert!(graph.requests().is_empty());
}
