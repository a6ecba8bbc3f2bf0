//! The account side of each row: the resource account exists, is enabled and holds a Teams Rooms
//! license (since July 2023 a Teams Rooms device without one cannot sign in; user licenses such
//! as E3/E5 no longer count). Otherwise the failure shows only at the room, after Autopilot.
//!
//! One `check_resource_account` per distinct account (rows that share one share its answer),
//! the first alone and the rest `concurrency` at a time, like the device reads. A token that may
//! not read users or licenses (`403`) skips the check with one notice, never a failed row: the
//! device side alone is what `plan` checked before.

use std::collections::HashMap;

use autopilot_resource_account::{AccountStatus, GraphClient};
use futures_util::StreamExt;
use serde_json::json;

use crate::characters::escape;
use crate::output::{Output, json_text};
use crate::planned::Planned;
use crate::refusal::Stop;

/// The Graph permissions the check needs (`Directory.Read.All` covers both).
pub const PERMISSIONS: [&str; 2] = ["User.Read.All", "Organization.Read.All"];

/// Checks the account of every row that is not `not_attempted`: adds a blocker for an account
/// that is missing, disabled or without a Teams Rooms license (or that cannot be checked), and
/// records the Teams Rooms license of the others. A `401` trips `stop` and leaves the rows it
/// did not check `not_attempted`.
pub async fn check(
    client: &GraphClient,
    planned: &mut [Planned],
    concurrency: usize,
    stop: &Stop,
    out: Output,
) {
    // Accounts in CSV order, each with the rows that name it (compared as Graph does: case
    // does not matter).
    let mut order: Vec<String> = Vec::new();
    let mut rows: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, p) in planned.iter().enumerate() {
        if p.not_attempted {
            continue;
        }
        let key = p.row.user_principal_name.trim().to_lowercase();
        let entry = rows.entry(key.clone()).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        entry.push(index);
    }
    let ask = |index: usize| {
        let upn = planned[index].row.user_principal_name.trim().to_owned();
        async move {
            if stop.stopped() {
                return None;
            }
            Some(client.check_resource_account(&upn).await)
        }
    };
    let mut answers = Vec::with_capacity(order.len());
    let mut accounts = order.iter().map(|key| rows[key][0]);
    // The first alone: a token without the permissions then costs one refused request.
    if let Some(first) = accounts.next() {
        let answer = ask(first).await;
        let refused = matches!(&answer, Some(Err(e)) if e.status() == Some(403));
        answers.push(answer);
        if refused {
            skipped(out);
            return;
        }
    }
    let rest: Vec<_> = futures_util::stream::iter(accounts)
        .map(ask)
        .buffered(concurrency.max(1))
        .collect()
        .await;
    answers.extend(rest);
    let mut told = false;
    for (key, answer) in order.iter().zip(answers) {
        for &index in &rows[key] {
            let p = &mut planned[index];
            match &answer {
                None => p.not_attempted = true,
                Some(Ok(found)) => match verdict(&found.status) {
                    Ok(license) => p.account_license = Some(license),
                    Err(why) => p.blockers.push(why),
                },
                // Only a later account refused: still one notice for the run.
                Some(Err(e)) if e.status() == Some(403) => {
                    if !told {
                        skipped(out);
                        told = true;
                    }
                }
                Some(Err(e)) if stop.check(e) => p.not_attempted = true,
                Some(Err(e)) => p.blockers.push(format!("cannot check the account: {e}")),
            }
        }
    }
}

/// The Teams Rooms license of a usable account, or why the account blocks the row.
fn verdict(status: &AccountStatus) -> Result<String, String> {
    match status {
        AccountStatus::Licensed { license } => Ok(license.clone()),
        AccountStatus::NotFound => {
            Err("account not found: no user has this user principal name".into())
        }
        AccountStatus::Disabled => {
            Err("account disabled: a Teams Rooms device cannot sign in with it".into())
        }
        AccountStatus::NoTeamsRoomsLicense { licenses } => Err(format!(
            "account has no Teams Rooms license ({}); a Teams Rooms device needs Teams Rooms Basic or Pro",
            match licenses.as_slice() {
                [] => "it has no license".to_owned(),
                names => format!("it has {}", names.join(", ")),
            }
        )),
        other => Err(format!(
            "account check answered {other:?}, which this version does not know"
        )),
    }
}

/// The one notice of a run whose token may not read users or licenses.
fn skipped(out: Output) {
    let why = format!(
        "account checks skipped: Graph refused to read users or licenses (403); the Graph \
         permissions {} (admin-consented) enable them",
        PERMISSIONS.join(" and ")
    );
    if out.json() {
        let line = json!({
            "notice": "account-checks-skipped",
            "detail": why,
            "permissions": PERMISSIONS,
        });
        say!("{}", json_text(&line));
    } else {
        tell!("autopilot-ra: {}", escape(&why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_has_its_reason() {
        assert_eq!(
            verdict(
                &(AccountStatus::Licensed {
                    license: "Microsoft_Teams_Rooms_Pro".into()
                })
            ),
            Ok("Microsoft_Teams_Rooms_Pro".into())
        );
        assert!(
            verdict(&(AccountStatus::NotFound))
                .unwrap_err()
                .contains("not found")
        );
        assert!(
            verdict(&(AccountStatus::Disabled))
                .unwrap_err()
                .contains("disabled")
        );
        let why = verdict(
            &(AccountStatus::NoTeamsRoomsLicense {
                licenses: vec!["SPE_E5".into()],
            }),
        )
        .unwrap_err();
        assert!(
            why.contains("no Teams Rooms license (it has SPE_E5)"),
            "{why}"
        );
        let why = verdict(&(AccountStatus::NoTeamsRoomsLicense { licenses: vec![] })).unwrap_err();
        assert!(why.contains("it has no license"), "{why}");
    }
}
