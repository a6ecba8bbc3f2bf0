//! `demo`: the whole job against a loopback stand-in of Graph with a small device inventory:
//! the device-code sign-in at the stand-in's identity endpoint (approved by itself after one
//! `authorization_pending`; Graph then takes only the tokens it issued), the plan of `cli/rooms.csv`
//! (device and account checks: one row for each account outcome), then `apply
//! --allow-next-enrollment` (writes, verification after the stand-in's visibility delay), then the
//! exact request one write sent. No credentials; nothing leaves the machine; no journal is written.

use std::time::Duration;

use autopilot_resource_account::device_code::DeviceCodeCredential;
use autopilot_resource_account::{Cloud, GraphClient};
use autopilot_resource_account_stand_in::{Device, SignIn, StandIn, StandInUser};

use crate::apply::{self, Options, Recorder};
use crate::characters::escape;
use crate::exit::{Failure, Status};
use crate::output::Output;
use crate::{plan, rows};

/// The fleet file of the demo (and an example of the format).
const ROOMS: &str = include_str!("../rooms.csv");
/// Teams Rooms licenses (`skuPartNumber`) the stand-in's tenant has.
const PRO: &str = "Microsoft_Teams_Rooms_Pro";
const BASIC: &str = "Microsoft_Teams_Rooms_Basic";

pub async fn run(out: Output) -> Result<Status, Failure> {
    let graph = StandIn::start()
        .await
        .map_err(|e| Failure::Run(format!("cannot start the stand-in: {e}")))?;
    let devices = [
        Device::new("7f9b6c1e-0000-4000-8000-000000000101", "PF3ABC101").group_tag("MTR-Floor1"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000102", "PF3ABC102").group_tag("MTR-Floor1"),
        // A near miss: the serial lookup's `contains` filter returns it, the exact match drops it.
        Device::new("7f9b6c1e-0000-4000-8000-000000001020", "PF3ABC1020").group_tag("MTR-Floor2"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000103", "PF3ABC103")
            .group_tag("MTR-Floor4")
            .linked("boardroom@contoso.com", "Boardroom, 4th floor", "boardroom"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000104", "PF3ABC104")
            .group_tag("Huddle")
            .userless_enrollment("blocked"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000105", "PF3ABC105")
            .group_tag("MTR-Lobby")
            .profile_status("notAssigned")
            .linked("events@contoso.com", "Events hall", "events"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000106", "PF3ABC106").group_tag("MTR-Floor2"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000107", "PF3ABC107").group_tag("MTR-Floor2"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000108", "PF3ABC108").group_tag("MTR-Floor3"),
        Device::new("7f9b6c1e-0000-4000-8000-000000000109", "PF3ABC109").group_tag("MTR-Floor4"),
    ];
    let device_count = devices.len();
    graph.add_devices(devices);
    // One account for each outcome of the account check (and `absent@contoso.com`, in rooms.csv,
    // is no user at all). PF3ABC109's row names the events account PF3ABC105 already has.
    let users = [
        StandInUser::new("room-101@contoso.com")
            .display_name("Room 101")
            .license(PRO),
        StandInUser::new("room-102@contoso.com")
            .display_name("Room 102")
            .license(BASIC),
        StandInUser::new("boardroom@contoso.com")
            .display_name("Boardroom, 4th floor")
            .license(PRO),
        StandInUser::new("huddle-5a@contoso.com")
            .display_name("Huddle 5A")
            .license(BASIC),
        StandInUser::new("lobby@contoso.com")
            .display_name("Lobby")
            .license(PRO),
        StandInUser::new("events@contoso.com")
            .display_name("Events hall")
            .license(PRO),
        // A user license only: no longer signs in a Teams Rooms device.
        StandInUser::new("training@contoso.com")
            .display_name("Training room")
            .license("SPE_E5"),
        StandInUser::new("old-annex@contoso.com")
            .display_name("Old annex")
            .license(PRO)
            .disabled(),
    ];
    let user_count = users.len();
    for user in users {
        graph.add_user(user);
    }
    graph.set_visibility_delay(Duration::from_millis(300));
    graph.set_page_size(2);
    let say = |text: &str| {
        if !out.json() {
            say!("{text}");
        }
    };
    say(&format!(
        "A loopback stand-in of Microsoft Graph with {device_count} Autopilot devices and \
         {user_count} users is listening\n\
         at {}.\n\
         Nothing leaves this machine. With GRAPH_TOKEN set, or with --auth device-code,\n\
         `autopilot-ra plan|apply --csv FILE` does the same against the real Graph.\n",
        graph.base_url()
    ));
    say(&format!(
        "$ autopilot-ra --auth device-code --authority {} --client-id demo-client --tenant-id contoso.onmicrosoft.com …",
        graph.authority_url()
    ));
    // One pending answer, 1 s apart: the sign-in takes about 2 s. Graph then refuses any token
    // the identity endpoint did not issue.
    graph.script_sign_in(
        SignIn::approve()
            .pending(1)
            .interval(Duration::from_secs(1)),
    );
    graph.require_issued_tokens(true);
    let sign_in = DeviceCodeCredential::builder("demo-client", "contoso.onmicrosoft.com")
        .authority(&graph.authority_url());
    let (credential, _) = crate::signin::sign_in(sign_in, Cloud::Global, out).await?;
    say("Signed in (the stand-in approved the code by itself).\n");
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(credential)
        .build()
        .map_err(|e| Failure::Run(e.to_string()))?;
    let rows = rows::parse(ROOMS.as_bytes()).map_err(Failure::Run)?.rows;

    say("$ autopilot-ra plan --csv rooms.csv");
    let stop = crate::refusal::Stop::default();
    let options = plan::PlanOptions {
        concurrency: 4,
        reassign: false,
        account_checks: true,
    };
    let planned = plan::plan(&client, rows, options, &stop, out).await;
    plan::print(&planned, &mut crate::report::Sink::new(out));

    say("\n$ autopilot-ra apply --csv rooms.csv --allow-next-enrollment");
    let options = Options {
        allow_next_enrollment: true,
        reassign: false,
        verify_timeout: Duration::from_secs(10),
        concurrency: 4,
    };
    let counts = apply::execute(
        &client,
        planned,
        options,
        &mut Recorder { journal: None },
        &mut crate::report::Sink::new(out),
        &stop,
    )
    .await?;
    out.summary(&counts.named(), Some("no journal: this was a stand-in"));

    let write = graph
        .requests()
        .into_iter()
        .find(|r| r.target.ends_with("/assignResourceAccountToDevice"));
    if let (Some(request), false) = (write, out.json()) {
        say!("\nThe first write, as the stand-in received it:");
        say!("→ {} {}", request.method, escape(&request.target));
        for (name, value) in &request.headers {
            let value = if name == "authorization" {
                "Bearer <redacted>"
            } else {
                value
            };
            say!("  {name}: {}", escape(value));
        }
        say!(
            "  body: {}",
            escape(&String::from_utf8_lossy(&request.body))
        );
        say!(
            "← {}",
            request
                .answered
                .map_or("no answer".into(), |s| s.to_string())
        );
    }
    Ok(Status::AllDone)
}
