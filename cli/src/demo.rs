//! `demo`: the job against a loopback stand-in of Graph, printing what the endpoint received
//! and answered. No credentials; nothing leaves the machine; no journal is written.

use autopilot_resource_account::stand_in::{RecordedRequest, Reply, StandIn};
use autopilot_resource_account::{Error, GraphClient};

use crate::output::escape;
use crate::rows::{Row, Target};
use crate::{Failure, Status};

pub async fn run() -> Result<Status, Failure> {
    let graph = StandIn::start()
        .await
        .map_err(|e| Failure::Run(format!("cannot start the stand-in: {e}")))?;
    println!(
        "A loopback stand-in of Microsoft Graph is listening at {}; nothing leaves this machine.",
        graph.base_url()
    );
    println!(
        "(autopilot-ra plan|apply --csv rooms.csv with GRAPH_TOKEN set talk to the real Graph)\n"
    );
    // A throwaway token: the stand-in only checks that there is one.
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("demo-token")
        .build()
        .map_err(|e| Failure::Run(e.to_string()))?;

    let room = Row {
        line: 2,
        target: Target::Device("7f9b6c1e-0000-4000-8000-000000000001".into()),
        user_principal_name: "room-101@contoso.com".into(),
        addressable_user_name: Some("Room 101".into()),
        resource_account_name: Some("room-101".into()),
    };
    let refused = "7f9b6c1e-0000-4000-8000-000000000403";
    graph.script(
        refused,
        [Reply::status(403).odata(
            "Forbidden",
            "Insufficient privileges to complete the operation.",
        )],
    );
    let mut failures = 0;
    for device in ["7f9b6c1e-0000-4000-8000-000000000001", refused] {
        let seen = graph.requests().len();
        let result = client
            .assign_resource_account_to_device(device, &room.assignment())
            .await;
        let request = graph.requests().into_iter().nth(seen);
        show(request.as_ref(), result.as_ref().err());
        failures += usize::from(result.is_err());
    }
    println!("{failures} of 2 assignments refused, as scripted.");
    Ok(Status::AllDone)
}

fn show(request: Option<&RecordedRequest>, error: Option<&Error>) {
    if let Some(request) = request {
        println!("→ {} {}", request.method, escape(&request.target));
        for (name, value) in &request.headers {
            let value = if name == "authorization" {
                "Bearer <redacted>"
            } else {
                value
            };
            println!("  {name}: {}", escape(value));
        }
        println!(
            "  body: {}",
            escape(&String::from_utf8_lossy(&request.body))
        );
    } else {
        println!("→ nothing sent");
    }
    match (request.and_then(|r| r.answered), error) {
        (_, Some(error)) => println!("← {}\n", escape(&error.to_string())),
        (Some(status), None) => println!("← {status}: assignment accepted\n"),
        (None, None) => println!("← no answer\n"),
    }
}
