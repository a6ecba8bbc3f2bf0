//! The account check (issue 24) on the wire, at the stand-in: each answer, the UPN in the
//! path, the id rule before sending, one SKU read per client, and a refused read.

use autopilot_resource_account::{AccountStatus, Error, GraphClient, RetryPolicy};
use autopilot_resource_account_stand_in::{Reply, StandIn, StandInUser};

const SELECT: &str = "id,userPrincipalName,displayName,accountEnabled,assignedLicenses";

/// The stand-in with the demo's five kinds of account (the fifth, absent, is simply not added).
async fn tenant() -> (StandIn, GraphClient) {
    let graph = StandIn::start().await.unwrap();
    graph.add_user(
        StandInUser::new("room-pro@contoso.com")
            .id("11111111-0000-4000-8000-000000000001")
            .display_name("Room Pro")
            .license("SPE_E5")
            .license("Microsoft_Teams_Rooms_Pro"),
    );
    graph.add_user(
        StandInUser::new("room-basic@contoso.com").license("Microsoft_Teams_Rooms_Basic"),
    );
    graph.add_user(StandInUser::new("room-e5@contoso.com").license("SPE_E5"));
    graph.add_user(
        StandInUser::new("room-off@contoso.com")
            .disabled()
            .license("Microsoft_Teams_Rooms_Pro"),
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    (graph, client)
}

/// The path and the decoded query of a recorded target.
fn split(target: &str) -> (String, Vec<(String, String)>) {
    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()));
    (url.path().to_owned(), query.collect())
}

#[tokio::test]
async fn licensed_pro_names_the_teams_rooms_license_and_reads_what_it_needs() {
    let (graph, client) = tenant().await;
    let check = client
        .check_resource_account("room-pro@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        check.status,
        AccountStatus::Licensed {
            license: "Microsoft_Teams_Rooms_Pro".into()
        }
    );
    assert!(check.is_usable());
    assert_eq!(check.user_principal_name, "room-pro@contoso.com");
    assert_eq!(
        check.id.as_deref(),
        Some("11111111-0000-4000-8000-000000000001")
    );
    assert_eq!(check.display_name.as_deref(), Some("Room Pro"));
    let requests = graph.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (path, query) = split(&requests[0].target);
    assert_eq!(path, "/beta/users/room-pro@contoso.com");
    assert_eq!(query, [("$select".to_owned(), SELECT.to_owned())]);
    let (path, query) = split(&requests[1].target);
    assert_eq!(path, "/beta/subscribedSkus");
    assert_eq!(
        query,
        [("$select".to_owned(), "skuId,skuPartNumber".to_owned())]
    );
    assert!(requests.iter().all(|r| r.answered == Some(200)));
}

#[tokio::test]
async fn licensed_basic() {
    let (_graph, client) = tenant().await;
    let check = client
        .check_resource_account("ROOM-BASIC@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        check.status,
        AccountStatus::Licensed {
            license: "Microsoft_Teams_Rooms_Basic".into()
        }
    );
    // Graph's spelling, not the one asked.
    assert_eq!(check.user_principal_name, "room-basic@contoso.com");
}

#[tokio::test]
async fn a_user_license_alone_is_no_teams_rooms_license_and_is_named() {
    let (graph, client) = tenant().await;
    let check = client
        .check_resource_account("room-e5@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        check.status,
        AccountStatus::NoTeamsRoomsLicense {
            licenses: vec!["SPE_E5".into()]
        }
    );
    assert!(!check.is_usable());
    // A licence the tenant's list does not name is shown by its skuId; no licence at all, empty.
    graph.add_user(
        StandInUser::new("odd@contoso.com").license("0000aaaa-0000-4000-8000-00000000beef"),
    );
    graph.add_user(StandInUser::new("bare@contoso.com"));
    let odd = client
        .check_resource_account("odd@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        odd.status,
        AccountStatus::NoTeamsRoomsLicense {
            licenses: vec!["0000aaaa-0000-4000-8000-00000000beef".into()]
        }
    );
    let bare = client
        .check_resource_account("bare@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        bare.status,
        AccountStatus::NoTeamsRoomsLicense { licenses: vec![] }
    );
}

#[tokio::test]
async fn a_disabled_account_is_disabled_whatever_its_licenses() {
    let (graph, client) = tenant().await;
    let check = client
        .check_resource_account("room-off@contoso.com")
        .await
        .unwrap();
    assert_eq!(check.status, AccountStatus::Disabled);
    assert_eq!(
        check.id.as_deref(),
        Some("00000000-0000-4000-a000-000000000004")
    );
    // Nothing to name: the tenant's SKUs are not read for it.
    assert_eq!(graph.account_reads().subscribed_skus, 0);
}

#[tokio::test]
async fn an_absent_account_is_not_found_from_graphs_404() {
    let (graph, client) = tenant().await;
    let check = client
        .check_resource_account("nobody@contoso.com")
        .await
        .unwrap();
    assert_eq!(check.status, AccountStatus::NotFound);
    assert_eq!(check.user_principal_name, "nobody@contoso.com");
    assert_eq!(check.id, None);
    let requests = graph.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].answered, Some(404));
    // Graph's error shape.
    let raw = reqwest::Client::new()
        .get(format!("{}/users/nobody@contoso.com", graph.base_url()))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 404);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'nobody@contoso.com' does not exist"),
        "{body}"
    );
}

#[tokio::test]
async fn a_upn_with_apostrophe_plus_and_hyphen_goes_in_the_path_as_graph_reads_it() {
    let (graph, client) = tenant().await;
    let upn = "o'brien+room-7@contoso.com";
    graph.add_user(StandInUser::new(upn).license("Microsoft_Teams_Rooms_Pro"));
    let check = client.check_resource_account(upn).await.unwrap();
    assert_eq!(
        check.status,
        AccountStatus::Licensed {
            license: "Microsoft_Teams_Rooms_Pro".into()
        }
    );
    // Exactly as sent: none of `'`, `+`, `-`, `@` is encoded in a path segment (a `+` there is
    // a plus, not a space; Graph Explorer sends them so), and nothing else was needed.
    let target = &graph.requests()[0].target;
    assert!(
        target.starts_with("/beta/users/o'brien+room-7@contoso.com?"),
        "{target}"
    );
    assert_eq!(graph.requests()[0].device_id.as_deref(), Some(upn));
}

#[tokio::test]
async fn a_upn_refused_by_the_id_rule_sends_nothing() {
    let (graph, client) = tenant().await;
    for (upn, why) in [
        ("$metadata@contoso.com", "starts with '$'"),
        ("room/../x@contoso.com", "contains '/'"),
        ("room 1@contoso.com", "contains ' '"),
        ("room%2F1@contoso.com", "contains '%'"),
        ("", "is empty"),
    ] {
        let err = client.check_resource_account(upn).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{upn:?}: {err:?}");
        let text = err.to_string();
        assert!(text.contains(why), "{upn:?}: {text}");
        // The wrapper's own check (the pre-hook's would name the spec's `user-id`).
        assert!(
            text.starts_with("invalid input: user_principal_name "),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
    assert_eq!(graph.requests().len(), 0);
}

#[tokio::test]
async fn the_tenants_skus_are_read_once_for_many_rows() {
    let (graph, client) = tenant().await;
    let upns = [
        "room-pro@contoso.com",
        "room-basic@contoso.com",
        "room-e5@contoso.com",
        "room-off@contoso.com",
        "nobody@contoso.com",
    ];
    // 20 concurrent first callers, through clones of one client: one read between them.
    let mut rows = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = client.clone();
        let upn = upns[i % 2];
        rows.spawn(async move { client.check_resource_account(upn).await });
    }
    while let Some(row) = rows.join_next().await {
        assert!(row.unwrap().unwrap().is_usable());
    }
    for upn in upns {
        client.check_resource_account(upn).await.unwrap();
    }
    let reads = graph.account_reads();
    assert_eq!(reads.users, 25);
    assert_eq!(reads.subscribed_skus, 1);
    // Another client reads them again: the cache is per client.
    let other = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("t")
        .build()
        .unwrap();
    other.check_resource_account(upns[0]).await.unwrap();
    assert_eq!(graph.account_reads().subscribed_skus, 2);
}

#[tokio::test]
async fn a_refused_read_is_an_error_with_status_403() {
    let (graph, client) = tenant().await;
    graph.refuse_account_reads(true);
    let err = client
        .check_resource_account("room-pro@contoso.com")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(err.code(), Some("Authorization_RequestDenied"));
    graph.refuse_account_reads(false);
    client
        .check_resource_account("room-pro@contoso.com")
        .await
        .unwrap();
    assert_eq!(graph.account_reads().users, 2);
}

#[tokio::test]
async fn a_refused_sku_read_is_not_cached() {
    let (graph, client) = tenant().await;
    let upn = "room-pro@contoso.com";
    // The user read answers; the SKU read after it is refused.
    let user = serde_json::json!({
        "id": "u1", "userPrincipalName": upn, "accountEnabled": true,
        "assignedLicenses": [{"skuId": "4cde982a-ede4-4409-9ae6-b003453c8ea6"}],
    });
    graph.script(upn, [Reply::status(200).json(&user)]);
    graph.script_any([Reply::status(403).odata(
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )]);
    let err = client.check_resource_account(upn).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(graph.account_reads().subscribed_skus, 1);
    // Nothing was kept: the next check reads the SKUs again, and then they are cached.
    let check = client.check_resource_account(upn).await.unwrap();
    assert!(check.is_usable());
    client.check_resource_account(upn).await.unwrap();
    assert_eq!(graph.account_reads().subscribed_skus, 2);
}

#[tokio::test]
async fn the_stand_in_honours_select_and_lists_microsofts_sku_ids() {
    let (graph, _client) = tenant().await;
    let get = |path: String| async move {
        let response = reqwest::Client::new()
            .get(path)
            .bearer_auth("t")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };
    let base = graph.base_url();
    // Without $select, Graph's defaults: neither accountEnabled nor assignedLicenses.
    let (status, user) = get(format!("{base}/users/room-pro@contoso.com")).await;
    assert_eq!(status, 200);
    assert!(user.get("accountEnabled").is_none(), "{user}");
    assert!(user.get("assignedLicenses").is_none(), "{user}");
    let (_, user) = get(format!(
        "{base}/users/room-pro@contoso.com?$select=accountEnabled"
    ))
    .await;
    assert_eq!(user, serde_json::json!({ "accountEnabled": true }));
    let (status, bad) = get(format!("{base}/users/room-pro@contoso.com?$select=nope")).await;
    assert_eq!(status, 400, "{bad}");
    let (status, skus) = get(format!("{base}/subscribedSkus?$select=skuId,skuPartNumber")).await;
    assert_eq!(status, 200);
    assert_eq!(
        skus["value"],
        serde_json::json!([
            {"skuId": "4cde982a-ede4-4409-9ae6-b003453c8ea6", "skuPartNumber": "Microsoft_Teams_Rooms_Pro"},
            {"skuId": "6af4b3d6-14bb-4a2a-960c-6c902aad34f3", "skuPartNumber": "Microsoft_Teams_Rooms_Basic"},
            {"skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "skuPartNumber": "SPE_E5"},
        ])
    );
    // The paths are still checked against the spec (a path it lacks is not the directory's).
    let (status, body) = get(format!("{base}/users/room-pro@contoso.com/manager")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Resource not found for the segment"),
        "{body}"
    );
    assert_eq!(graph.requests().last().unwrap().operation, None);
}

#[tokio::test(start_paused = true)]
async fn the_reads_go_through_the_clients_retries() {
    let (graph, _) = tenant().await;
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("t")
        .build()
        .unwrap();
    let upn = "room-basic@contoso.com";
    graph.script(
        upn,
        [Reply::status(503)
            .header("Retry-After", "1")
            .odata("ServiceUnavailable", "try later")],
    );
    let check = client.check_resource_account(upn).await.unwrap();
    assert!(check.is_usable());
    let requests = graph.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[0].answered, Some(503));
    assert_eq!(requests[1].header("retry-attempt"), Some("1"));
    assert_eq!(
        requests[0].header("client-request-id"),
        requests[1].header("client-request-id")
    );
    assert!(
        requests[0]
            .header("user-agent")
            .unwrap()
            .starts_with("autopilot-resource-account/")
    );
}
