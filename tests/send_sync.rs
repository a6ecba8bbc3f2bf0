//! Compile-time checks (issue 25) that the client can be shared across tasks and that every
//! public future and stream can be spawned on a multi-threaded runtime: if one stops being
//! `Send` (a `Rc` or a `MutexGuard` held across an `.await`), this file stops compiling.

use std::future::IntoFuture;
use std::time::Duration;

use autopilot_resource_account::{
    BulkItem, BulkOptions, CallOptions, Error, GraphClient, GraphClientBuilder, InputErrorKind,
    InvalidInput, Outcome, ResourceAccountAssignment, Target, TokenError, TransportError,
    VerifyOptions,
};

fn send<T: Send>(_: T) {}

fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}

fn send_sync<T: Send + Sync + 'static>() {}

/// Never called: it only has to compile.
#[allow(dead_code)]
fn futures_and_streams_are_send(client: &GraphClient, assignment: &ResourceAccountAssignment) {
    // An operation is a `Call` (options first); awaited, or sent for its metadata.
    send(client.assign_resource_account_to_device(&id("d"), assignment));
    send(
        client
            .assign_resource_account_to_device(&id("d"), assignment)
            .into_future(),
    );
    send(
        client
            .assign_resource_account_to_device(&id("d"), assignment)
            .send(),
    );
    send(
        client
            .assign_resource_account_to_deployment_profile_device(
                &profile("p"),
                &id("d"),
                assignment,
            )
            .into_future(),
    );
    send(
        client
            .assign_resource_account_to_device_via_deployment_profile(
                &id("d"),
                &id("a"),
                assignment,
            )
            .into_future(),
    );
    send(
        client
            .unassign_resource_account_from_device(&id("d"))
            .into_future(),
    );
    send(client.allow_next_enrollment(&id("d")).into_future());
    send(client.autopilot_device(&id("d")).into_future());
    send(client.autopilot_device(&id("d")).send());
    send(client.find_autopilot_devices_by_serial("PF1"));
    send(client.autopilot_device_pages_by_serial("PF1"));
    send(client.verify_assignment(&id("d"), assignment, Duration::from_secs(1)));
    send(client.verify_assignment_with(&id("d"), assignment, &VerifyOptions::default()));
    send(client.check_resource_account("room@contoso.com"));

    let items = vec![BulkItem::new(
        0_u32,
        Target::device(id("d")),
        assignment.clone(),
    )];
    send(client.assign_many(items.clone(), BulkOptions::default()));
    send(client.assign_stream(futures_util::stream::iter(items), BulkOptions::default()));
}

#[test]
fn the_client_and_its_errors_can_cross_threads() {
    send_sync_clone::<GraphClient>();
    send_sync::<GraphClientBuilder>();
    send_sync::<Error>();
    send_sync::<InvalidInput>();
    send_sync::<InputErrorKind>();
    send_sync::<TransportError>();
    send_sync::<TokenError>();
    send_sync::<Outcome<u32>>();
    send_sync::<VerifyOptions>();
    send_sync::<CallOptions>();
    send_sync::<autopilot_resource_account::Response<()>>();
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}

/// A profile id the test knows is allowed.
fn profile(id: &str) -> autopilot_resource_account::ProfileId {
    id.parse().unwrap()
}
