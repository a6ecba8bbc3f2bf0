//! Which ids may stand in a request path, checked before anything is sent.
//!
//! Graph's ids for Autopilot devices and deployment profiles are GUIDs. progenitor
//! percent-encodes path parameters but leaves `.`, `..` and `\` alone, and the URL parser then
//! rewrites `/a/../b` to `/b`: an id of `..` would post to a different resource. Rather than
//! enumerate what is dangerous (encoded dots, full-width dots, `;`, `%2f`, …), ids are held to an
//! allow-list: ASCII letters, digits, `-`, `_` and `.`, never `.` or `..` alone, at most
//! [`MAX_ID_LEN`] bytes. A user is addressed by GUID or by user principal name, so the spec's
//! `user-id` parameter has a wider list ([`check_user`]): also `@`, `'` and `+`, none of which a
//! path segment needs encoded (progenitor leaves them as they are), and never a leading `$`
//! (Graph reads `/users/$…` as a system query, not a user). The wrapper checks each argument by
//! name; the `pre` hook checks the final URL against the spec's path of the operation (see
//! [`check_path`]), each parameter by its own list, so calls through
//! [`GraphClient::generated`](crate::GraphClient::generated) are held to the same rule.

use crate::error::{Error, InputErrorKind};

/// Longest id accepted, in bytes. A GUID is 36; 128 leaves room for any other id format Graph
/// uses while keeping bad input small.
pub const MAX_ID_LEN: usize = 128;

/// Checks `value` (the parameter `name`) and returns it unchanged when it may go in a path.
pub(crate) fn check<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    check_as(InputErrorKind::Id, name, value)
}

/// [`check`], refusing with `kind`.
fn check_as<'a>(kind: InputErrorKind, name: &str, value: &'a str) -> Result<&'a str, Error> {
    let refuse = |why: String| {
        Err(Error::invalid_input(
            kind,
            Some(name),
            format!("{name} {why}"),
        ))
    };
    if value.is_empty() {
        return refuse("is empty".into());
    }
    if value.len() > MAX_ID_LEN {
        return refuse(format!(
            "is {} bytes long (at most {MAX_ID_LEN})",
            value.len()
        ));
    }
    if value == "." || value == ".." {
        return refuse(format!("{value:?} is a dot segment"));
    }
    // A byte scan (ids are short ASCII): every byte before the first refused one is ASCII, so
    // that byte starts the refused character named in the message.
    if let Some(at) = value.bytes().position(|b| !is_id_byte(b)) {
        let bad = value
            .get(at..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        return refuse(format!(
            "{value:?} contains {bad:?}: ids are ASCII letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(value)
}

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Checks a user id (the parameter `name`): a GUID or a user principal name. As [`check`], with
/// `@`, `'` and `+` allowed too, and never a leading `$`.
pub(crate) fn check_user<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    let kind = InputErrorKind::UserPrincipalName;
    let refuse = |why: String| {
        Err(Error::invalid_input(
            kind,
            Some(name),
            format!("{name} {why}"),
        ))
    };
    if value.starts_with('$') {
        return refuse(format!(
            "{value:?} starts with '$': Graph cannot address such a user by path"
        ));
    }
    if value.is_empty() || value.len() > MAX_ID_LEN || value == "." || value == ".." {
        return check_as(kind, name, value);
    }
    if let Some(at) = value.bytes().position(|b| !is_user_byte(b)) {
        let bad = value
            .get(at..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        return refuse(format!(
            "{value:?} contains {bad:?}: user ids are ASCII letters, digits, '@', '\'', '+', '-', '_' and '.'"
        ));
    }
    Ok(value)
}

fn is_user_byte(b: u8) -> bool {
    is_id_byte(b) || matches!(b, b'@' | b'\'' | b'+')
}

/// The rule of a path parameter of the spec, by its name there.
fn check_param<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    match name {
        "user-id" => check_user(name, value),
        _ => check(name, value),
    }
}

/// Checks the path of a built request: below `base_path` it must have exactly the segments of
/// `operation_id`'s path in the spec, each parameter segment passing [`check`]. The URL parser
/// has already resolved `..` and `\` by then, so an id that rewrote the path shows up as a path
/// of another shape.
pub(crate) fn check_path(operation_id: &str, base_path: &str, path: &str) -> Result<(), Error> {
    // The path templates come from the generated table, so no path is written down twice.
    let Some(operation) = crate::generated::operations::find(operation_id) else {
        return Err(Error::invalid_input(
            InputErrorKind::RequestPath,
            None,
            format!("operation {operation_id:?} is not in the spec"),
        ));
    };
    let refuse = || {
        Error::invalid_input(
            InputErrorKind::RequestPath,
            None,
            format!("request path {path:?} is not the path of {operation_id} (an id rewrote it)"),
        )
    };
    let base_path = base_path.trim_end_matches('/');
    let rest = path.strip_prefix(base_path).ok_or_else(refuse)?;
    let rest = rest.strip_prefix('/').ok_or_else(refuse)?;
    // One pass, no allocation, with the outcome of checking the segment count first and then
    // each segment in order: a path of another length is "not the path of" it, whatever its ids.
    let mut actual = rest.split('/');
    let mut first_refusal = None;
    for expected in operation.path.split('/').skip(1) {
        let Some(actual) = actual.next() else {
            return Err(refuse());
        };
        if first_refusal.is_some() {
            continue;
        }
        match expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => first_refusal = check_param(name, actual).err(),
            None if actual == expected => {}
            None => first_refusal = Some(refuse()),
        }
    }
    if actual.next().is_some() {
        return Err(refuse());
    }
    first_refusal.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::operations;

    #[test]
    fn accepts_guids_and_plain_ids() {
        for ok in [
            "7f9b6c1e-0000-4000-8000-000000000001",
            "device_1",
            "...",
            ".a",
            "a.b",
            &"a".repeat(MAX_ID_LEN),
        ] {
            assert_eq!(check("id", ok).unwrap(), ok);
        }
    }

    #[test]
    fn refuses_everything_off_the_allow_list() {
        let cases = [
            ("", "is empty"),
            (".", "dot segment"),
            ("..", "dot segment"),
            ("%2e", "contains '%'"),
            ("..;", "contains ';'"),
            ("..%2f", "contains '%'"),
            ("%2e%2e%2fx", "contains '%'"),
            ("x/deploymentProfile/assignedDevices/y", "contains '/'"),
            ("dev/../other", "contains '/'"),
            ("\u{ff0e}\u{ff0e}", "contains '．'"),
            ("a\\b", "contains '\\\\'"),
            ("a b", "contains ' '"),
            ("a\nb", "contains '\\n'"),
            ("caf\u{e9}", "contains 'é'"),
        ];
        for (id, why) in cases {
            let err = check("device_id", id).unwrap_err().to_string();
            assert!(err.contains(why), "{id:?}: {err}");
            assert!(err.starts_with("invalid input: device_id "), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let long = "a".repeat(MAX_ID_LEN + 1);
        let err = check("id", &long).unwrap_err().to_string();
        assert!(err.contains("129 bytes long (at most 128)"), "{err}");
    }

    #[test]
    fn the_spec_gives_every_operation_a_path() {
        use crate::generated::operations::OPERATIONS;
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap();
        let ids: Vec<&str> = OPERATIONS.iter().map(|op| op.id).collect();
        // Counted from the spec itself (every method of every path item), not written down.
        let methods = [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ];
        let in_spec: Vec<(&str, &str)> = spec["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().unwrap();
                methods.iter().filter_map(move |m| {
                    Some((path.as_str(), item.get(*m)?["operationId"].as_str()?))
                })
            })
            .collect();
        assert!(!in_spec.is_empty(), "{in_spec:?}");
        assert_eq!(
            ids.len(),
            in_spec.len(),
            "one path per operation of the trimmed spec: {ids:?}"
        );
        for (path, id) in in_spec {
            let op = OPERATIONS
                .iter()
                .find(|op| op.id == id)
                .unwrap_or_else(|| panic!("{id} has no path"));
            assert_eq!(op.path, path, "{id}");
            let has_id = !op.params.is_empty();
            // Lists (the devices, the subscribed SKUs) are the operations without an id.
            assert_eq!(has_id, path.contains('{'), "{id}");
        }
    }

    #[test]
    fn user_ids_are_guids_or_user_principal_names() {
        for ok in [
            "7f9b6c1e-0000-4000-8000-000000000001",
            "room-101@contoso.com",
            "o'neil@contoso.com",
            "room+1@contoso.com",
            "room_1.a@contoso.onmicrosoft.com",
        ] {
            assert_eq!(check_user("user_id", ok).unwrap(), ok);
            // The user's GET takes it in its path; the pre-hook's check agrees.
            check_path(operations::GET_USER, "/beta", &format!("/beta/users/{ok}")).unwrap();
        }
        for (bad, why) in [
            (
                "$metadata",
                "starts with '$': Graph cannot address such a user by path",
            ),
            ("$x@contoso.com", "starts with '$'"),
            ("", "is empty"),
            ("..", "dot segment"),
            ("a/b@contoso.com", "contains '/'"),
            ("a%2fb@contoso.com", "contains '%'"),
            ("a b@contoso.com", "contains ' '"),
            ("a?b", "contains '?'"),
            ("caf\u{e9}@contoso.com", "contains 'é'"),
        ] {
            let err = check_user("user_id", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(err.starts_with("invalid input: user_id "), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let long = format!("{}@contoso.com", "a".repeat(MAX_ID_LEN));
        assert!(check_user("user_id", &long).is_err());
        // Exactly the maximum is accepted, one byte more is not (kills `>` → `>=` in
        // `check_user`, found by cargo mutants).
        let longest = format!("{}@contoso.com", "a".repeat(MAX_ID_LEN - 12));
        assert_eq!(longest.len(), MAX_ID_LEN);
        assert_eq!(check_user("user_id", &longest).unwrap(), longest);
        assert!(check_user("user_id", &format!("a{longest}")).is_err());
        // The pre-hook holds the user's path to the same rule, and other ids to theirs.
        let err = check_path(operations::GET_USER, "/beta", "/beta/users/$metadata")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("user-id \"$metadata\" starts with '$'"),
            "{err}"
        );
        let err = check_path(
            operations::GET_AUTOPILOT_DEVICE,
            "/beta",
            "/beta/deviceManagement/windowsAutopilotDeviceIdentities/a@b",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("contains '@'"), "{err}");
    }

    #[test]
    fn paths_are_held_to_their_operation() {
        let op = operations::ASSIGN_RESOURCE_ACCOUNT_TO_DEPLOYMENT_PROFILE_DEVICE;
        let ok = "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/p-1/assignedDevices/d-1/assignResourceAccountToDevice";
        check_path(op, "/beta", ok).unwrap();
        check_path(op, "/beta/", ok).unwrap();
        for (path, why) in [
            // `..` as the profile: the parser already dropped it and the segment before.
            (
                "/beta/deviceManagement/assignedDevices/d-1/assignResourceAccountToDevice",
                "not the path of",
            ),
            (
                "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/p%2F1/assignedDevices/d-1/assignResourceAccountToDevice",
                "windowsAutopilotDeploymentProfile-id \"p%2F1\" contains '%'",
            ),
            (
                "/other/deviceManagement/windowsAutopilotDeploymentProfiles/p/assignedDevices/d/assignResourceAccountToDevice",
                "not the path of",
            ),
            (
                "/beta/deviceManagement/windowsAutopilotDeviceIdentities/p/assignedDevices/d/assignResourceAccountToDevice",
                "not the path of",
            ),
            // A path of another length is named as such, whatever its ids …
            (
                "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/p%2F1/assignedDevices/d-1/assignResourceAccountToDevice/x",
                "not the path of",
            ),
            // … and of the right length, the first segment in order that is refused is named.
            (
                "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/p%2F1/otherDevices/d-1/assignResourceAccountToDevice",
                "windowsAutopilotDeploymentProfile-id \"p%2F1\" contains '%'",
            ),
            (
                "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/p-1/otherDevices/d%2F1/assignResourceAccountToDevice",
                "not the path of",
            ),
        ] {
            let err = check_path(op, "/beta", path).unwrap_err().to_string();
            assert!(err.contains(why), "{path}: {err}");
        }
        assert!(
            check_path("no_such_operation", "/beta", ok)
                .unwrap_err()
                .to_string()
                .contains("not in the spec")
        );
    }
}
