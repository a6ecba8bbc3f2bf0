//! `DeviceId` and `ProfileId`: made only through the id allow-list, refused with the error the
//! operations gave before they took these types (kind, parameter and message), and usable as
//! text and as keys.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use autopilot_resource_account::{DeviceId, Error, InputErrorKind, MAX_ID_LEN, ProfileId};

const GUID: &str = "7f9b6c1e-0000-4000-8000-000000000001";

fn refusal(e: &Error) -> (InputErrorKind, Option<&str>, String) {
    match e {
        Error::InvalidInput(input) => (input.kind(), input.parameter(), e.to_string()),
        other => panic!("{other:?}"),
    }
}

/// Every way to make a `T`, each with the same answer.
fn all_ways<T>(id: &str) -> [Result<T, Error>; 3]
where
    T: FromStr<Err = Error>
        + for<'a> TryFrom<&'a str, Error = Error>
        + TryFrom<String, Error = Error>,
{
    [T::from_str(id), T::try_from(id), T::try_from(id.to_owned())]
}

#[test]
fn guids_and_plain_ids_are_accepted() {
    for ok in [
        GUID,
        "device_1",
        "Profile_1.a-B",
        "...",
        &"a".repeat(MAX_ID_LEN),
    ] {
        for made in all_ways::<DeviceId>(ok) {
            assert_eq!(made.unwrap().as_str(), ok);
        }
        for made in all_ways::<ProfileId>(ok) {
            assert_eq!(made.unwrap().as_str(), ok);
        }
    }
}

#[test]
fn refused_ids_give_the_error_the_calls_gave() {
    let long = "a".repeat(MAX_ID_LEN + 1);
    let cases = [
        (
            "../x",
            r#""../x" contains '/': ids are ASCII letters, digits, '-', '_' and '.'"#.to_owned(),
        ),
        ("", "is empty".to_owned()),
        ("..", r#"".." is a dot segment"#.to_owned()),
        (long.as_str(), "is 129 bytes long (at most 128)".to_owned()),
    ];
    for (bad, why) in &cases {
        for made in all_ways::<DeviceId>(bad) {
            let e = made.unwrap_err();
            assert_eq!(
                refusal(&e),
                (
                    InputErrorKind::Id,
                    Some("device_id"),
                    format!("invalid input: device_id {why}")
                ),
                "{bad:?}"
            );
            assert!(!e.is_retryable());
            assert_eq!(e.status(), None);
        }
        for made in all_ways::<ProfileId>(bad) {
            assert_eq!(
                refusal(&made.unwrap_err()),
                (
                    InputErrorKind::Id,
                    Some("profile_id"),
                    format!("invalid input: profile_id {why}")
                ),
                "{bad:?}"
            );
        }
        // The second id of the via-deployment-profile operation names itself, as it did.
        let e = DeviceId::parse_as("assigned_device_id", *bad).unwrap_err();
        assert_eq!(
            refusal(&e),
            (
                InputErrorKind::Id,
                Some("assigned_device_id"),
                format!("invalid input: assigned_device_id {why}")
            )
        );
    }
}

#[test]
fn display_and_as_ref_round_trip() {
    let id: DeviceId = GUID.parse().unwrap();
    assert_eq!(id.to_string(), GUID);
    assert_eq!(AsRef::<str>::as_ref(&id), GUID);
    assert_eq!(id.to_string().parse::<DeviceId>().unwrap(), id);
    assert_eq!(format!("{id:?}"), format!("DeviceId({GUID:?})"));
    assert_eq!(id, *GUID);
    assert_eq!(String::from(id.clone()), GUID);
    assert_eq!(id.clone().into_string(), GUID);

    let profile = ProfileId::try_from("p-1").unwrap();
    assert_eq!(profile.to_string(), "p-1");
    assert_eq!(format!("{profile:?}"), r#"ProfileId("p-1")"#);
}

#[test]
fn ids_are_keys() {
    let a: DeviceId = "a".parse().unwrap();
    let b: DeviceId = "b".parse().unwrap();
    assert_eq!(a, "a".parse::<DeviceId>().unwrap());
    assert_ne!(a, b);
    assert!(a < b);
    let set: HashSet<DeviceId> = [a.clone(), b.clone(), a.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
    // Looked up by text too (`Borrow<str>`).
    let map: HashMap<DeviceId, u32> = [(a, 1), (b, 2)].into_iter().collect();
    assert_eq!(map.get("b"), Some(&2));
    assert_eq!(map.get("c"), None);
}

#[test]
fn serde_round_trips_and_checks() {
    let id: DeviceId = GUID.parse().unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("{GUID:?}"));
    assert_eq!(serde_json::from_str::<DeviceId>(&json).unwrap(), id);
    let err = serde_json::from_str::<ProfileId>(r#""../x""#)
        .unwrap_err()
        .to_string();
    assert!(err.contains(r#"profile_id "../x" contains '/'"#), "{err}");
}
