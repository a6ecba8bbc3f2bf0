//! `demo`: the whole job against a loopback stand-in of Graph with a small device inventory:
//! the plan of `cli/rooms.csv`, then `apply --allow-next-enrollment` (writes, verification after
//! the stand-in's visibility delay), then the exact request one write sent. No credentials;
//! nothing leaves the machine; no journal is written.

use std::time::Duration;

use autopilot_resource_account::GraphClient;
use autopilot_resource_account::stand_in::{Device, StandIn};

use crate::apply::{self, Options, Recorder};
use crate::output::{Output, escape};
use crate::{Failure, Status, plan, rows};

/// The fleet file of the demo (and an example of the format).
const ROOMS: &str = include_str!("../rooms.csv");

pub async fn run(out: Output) -> Result<Status, Failure> {
    let graph = StandIn::start()
        .await
        .map_err(|e| Failure::Run(format!("cannot start the stand-in: {e}")))?;
    graph.add_devices([
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
            .profile_status("notAssigned"),
    ]);
    graph.set_visibility_delay(Duration::from_millis(300));
    graph.set_page_size(2);
    let say = |text: &str| {
        if !out.json() {
            say!("{text}");
        }
    };
    say(&format!(
        "A loopback stand-in of Microsoft Graph with 6 Autopilot devices is listening at {}.\n\
         Nothing leaves this machine. With GRAPH_TOKEN set, `autopilot-ra plan|apply --csv FILE`\n\
         does the same against the real Graph.\n",
        graph.base_url()
    ));
    // A throwaway token: the stand-in only checks that there is one.
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("demo-token")
        .build()
        .map_err(|e| Failure::Run(e.to_string()))?;
    let rows = rows::parse(ROOMS.as_bytes()).map_err(Failure::Run)?.rows;

    say("$ autopilot-ra plan --csv rooms.csv");
    let planned = plan::plan(&client, rows, 4).await;
    plan::print(&planned, out);

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
        out,
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
