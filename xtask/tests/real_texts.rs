//! The real upstream texts: S1 reproduces the committed spec/ byte for byte; the 2023 text
//! differs from it only where Microsoft's text really differs; older and newer forms of the
//! action normalise to the same adjusted meaning; the fast path equals the full parse.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};
use xtask::adjust::{self, Adjustments};
use xtask::slice::{self, Mode};
use xtask::{spec, surface, yaml};

fn committed_openapi() -> Value {
    serde_json::from_str(&std::fs::read_to_string(spec_dir().join("openapi.json")).unwrap())
        .unwrap()
}

/// What the action-only adjustments make of the committed (S1) slice: the reference for texts
/// that hold only the action.
fn action_openapi() -> Value {
    adjust::apply(&committed_slice(), &action_adjustments()).unwrap()
}

fn committed_slice() -> Value {
    yaml::parse(
        &std::fs::read_to_string(spec_dir().join("upstream-slice.yaml")).unwrap(),
        1,
        None,
    )
    .unwrap()
}

/// JSON pointers where two values differ.
fn diff_pointers(a: &Value, b: &Value, at: String, out: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff_pointers(u, v, p, out),
                    _ => {
                        out.insert(p);
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff_pointers(u, v, format!("{at}/{i}"), out);
            }
        }
        _ if a != b => {
            out.insert(at);
        }
        _ => {}
    }
}

#[test]
fn vendored_texts_are_the_recorded_ones() {
    // The table in upstream-texts/README.md is the provenance of what the tests read.
    let readme = std::fs::read_to_string(upstream_texts().join("README.md")).unwrap();
    for f in [S1, M2023] {
        let bytes = std::fs::read(upstream_texts().join(f)).unwrap();
        let sha = xtask::fetch::sha256_hex(&bytes);
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{f}` |")))
            .unwrap_or_else(|| panic!("no README row for {f}"));
        assert!(
            row.contains(&format!("`{sha}`")),
            "{f}: sha256 {sha} is not the recorded one"
        );
    }
}

#[test]
fn s1_update_reproduces_committed_spec_byte_for_byte() {
    // Start from the committed adjustments alone: update must recreate every other file,
    // provenance included, from S1 and the source named on the command line.
    let t = scratch_spec("s1", false);
    let sd = t.path().join("spec");
    let from = upstream_texts().join(S1);
    let source = spec::SourceInfo {
        repository: Some("microsoftgraph/msgraph-sdk-powershell".into()),
        path: Some("openApiDocs/beta/DeviceManagement.Enrollment.yml".into()),
        commit: Some("042c9483f5eccc46c0f5b0623414a643001a13a5".into()),
        date: None,
        sha256: Some("1785ae1b99f2a4a7293e0e57aaf3eb2fc72411fb7631253b588f1a383bcfb589".into()),
    };
    let r = spec::update(from.to_str().unwrap(), &sd, Mode::Auto, source).unwrap();
    assert!(r.fallback.is_none(), "S1 takes the fast path");
    let mut names: Vec<String> = std::fs::read_dir(spec_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut made: Vec<String> = std::fs::read_dir(&sd)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, names, "the same set of files as the committed spec/");
    for f in &names {
        assert_eq!(
            std::fs::read_to_string(sd.join(f)).unwrap(),
            std::fs::read_to_string(spec_dir().join(f)).unwrap(),
            "{f}"
        );
    }
    // A second run (no provenance options: kept for the same input) changes nothing and
    // reports an unchanged surface.
    let r = spec::update(from.to_str().unwrap(), &sd, Mode::Auto, Default::default()).unwrap();
    assert!(r.changed_files.is_empty() && !r.surface_changed, "{r:?}");
    spec::check(&sd).unwrap();
}

#[test]
fn s1_fast_path_equals_full_parse() {
    let text = s1();
    let wanted = adjustments().wanted_paths();
    let fast = slice::slice(&text, &wanted, Mode::Auto).unwrap();
    assert!(fast.fallback.is_none());
    let full = slice::slice(&text, &wanted, Mode::Full).unwrap();
    assert_eq!(fast.slice, full.slice);
    assert_eq!(fast.slice, committed_slice());
}

#[test]
fn slice_is_upstream_lines_verbatim() {
    // Every line of the slice's path items is a line of S1 (same indentation relative to it).
    let text = s1();
    let slice = std::fs::read_to_string(spec_dir().join("upstream-slice.yaml")).unwrap();
    let upstream_lines: std::collections::HashSet<&str> =
        text.lines().map(str::trim_start).collect();
    for l in slice.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            upstream_lines.contains(l.trim_start()),
            "not an upstream line: {l:?}"
        );
    }
}

#[test]
fn text_2023_regenerates_with_only_real_differences() {
    let text = text_2023();
    let adj = action_adjustments();
    let fast = spec::derive(&text, &adj, Mode::Auto).unwrap();
    assert!(fast.fallback.is_none());
    let full = spec::derive(&text, &adj, Mode::Full).unwrap();
    assert_eq!(fast.slice_yaml, full.slice_yaml);
    assert!(fast.slice_yaml.contains("'204':") && fast.slice_yaml.contains("innererror:"));

    let mut d = BTreeSet::new();
    diff_pointers(&action_openapi(), &fast.adjusted, String::new(), &mut d);
    let allowed = |p: &str| {
        p == "/info/title"
            || p.ends_with("/tags/0")
            || (p.contains("/parameters/") && p.ends_with("/description"))
            || p == "/components/schemas/MainError/properties/message/x-ms-primary-error-message"
    };
    let unexpected: Vec<&String> = d.iter().filter(|p| !allowed(p)).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected differences: {unexpected:?}"
    );
    assert!(!d.is_empty());
    // The generated Rust surface is the same as from S1.
    assert_eq!(
        surface::generate(&fast.adjusted).unwrap(),
        surface::generate(&action_openapi()).unwrap()
    );
}

/// Apply a change to the action's part of the committed slice, write it in the converter's
/// layout, derive again (with the action-only adjustments; compare with [`action_openapi`]).
fn derive_variant(change: impl FnOnce(&mut Value)) -> Result<Value, String> {
    let mut s = committed_slice();
    s["paths"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k.ends_with("assignResourceAccountToDevice"));
    change(&mut s);
    let text = yaml::emit(&s);
    let adj = action_adjustments();
    let fast = spec::derive(&text, &adj, Mode::Auto)?;
    assert!(
        fast.fallback.is_none(),
        "the converter's layout takes the fast path: {:?}",
        fast.fallback
    );
    let full = spec::derive(&text, &adj, Mode::Full)?;
    assert_eq!(fast.adjusted, full.adjusted);
    Ok(fast.adjusted)
}

const P1: &str = "/deviceManagement/windowsAutopilotDeploymentProfiles/{windowsAutopilotDeploymentProfile-id}/assignedDevices/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice";
const P2: &str = "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice";

fn ops(s: &mut Value) -> Vec<&mut Value> {
    s["paths"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .map(|i| &mut i["post"])
        .collect()
}

fn schemas(s: &mut Value) -> &mut serde_json::Map<String, Value> {
    s["components"]["schemas"].as_object_mut().unwrap()
}

#[test]
fn openapi_yaml_form_normalises_to_the_same_meaning() {
    // Unqualified paths, 4XX/5XX, dotted operation ids, path parameters on the path item with
    // a description and x-ms-docs-grouped-path, nullable anyOf references (both forms), and
    // innerError with request-id/client-request-id/date (date-time with a pattern).
    let adjusted = derive_variant(|s| {
        let paths = std::mem::take(s["paths"].as_object_mut().unwrap());
        for (k, mut item) in paths {
            let params = item["post"].as_object_mut().unwrap().shift_remove("parameters").unwrap();
            let r = item["post"]["responses"].as_object_mut().unwrap();
            r.shift_remove("default");
            r.insert("4XX".into(), json!({"$ref": "#/components/responses/error"}));
            r.insert("5XX".into(), json!({"$ref": "#/components/responses/error"}));
            item["post"]["operationId"] = json!("deviceManagement.a.b.assignResourceAccountToDevice");
            let post = item.as_object_mut().unwrap().shift_remove("post").unwrap();
            let new_item = json!({
                "description": "Provides operations to call the assignResourceAccountToDevice method.",
                "post": post,
                "parameters": params,
                "x-ms-docs-grouped-path": ["/other/path"],
            });
            s["paths"][k.replace("microsoft.graph.", "")] = new_item;
        }
        let sc = schemas(s);
        sc["microsoft.graph.ODataErrors.MainError"]["properties"]["innerError"] = json!({"anyOf": [
            {"$ref": "#/components/schemas/microsoft.graph.ODataErrors.InnerError"},
            {"type": "object", "nullable": true}]});
        sc["microsoft.graph.ODataErrors.ODataError"]["properties"]["error"] = json!({"anyOf": [
            {"$ref": "#/components/schemas/microsoft.graph.ODataErrors.MainError"}, {"enum": [null]}]});
        sc["microsoft.graph.ODataErrors.InnerError"]["properties"] = json!({
            "request-id": {"type": "string", "nullable": true},
            "client-request-id": {"type": "string", "nullable": true},
            "date": {"pattern": "^[0-9]{4}-...$", "type": "string", "format": "date-time", "nullable": true},
        });
    })
    .unwrap();
    let mut d = BTreeSet::new();
    diff_pointers(&action_openapi(), &adjusted, String::new(), &mut d);
    // Only the key order may differ (and InnerError keeps upstream's property position).
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn forms_up_to_2023_normalise_to_the_same_meaning() {
    // 204 + default, innererror, 2021 odata.error names with innererror declared inline.
    let adjusted = derive_variant(|s| {
        for op in ops(s) {
            let r = op["responses"].as_object_mut().unwrap();
            let ok = r.shift_remove("2XX").unwrap();
            let mut nr = serde_json::Map::new();
            nr.insert("204".into(), ok);
            nr.extend(std::mem::take(r));
            *r = nr;
        }
        let sc = schemas(s);
        let rename = |sc: &mut serde_json::Map<String, Value>, a: &str, b: &str| {
            let v = sc.shift_remove(a).unwrap();
            sc.insert(b.into(), v);
        };
        rename(sc, "microsoft.graph.ODataErrors.ODataError", "odata.error");
        rename(
            sc,
            "microsoft.graph.ODataErrors.MainError",
            "odata.error.main",
        );
        rename(
            sc,
            "microsoft.graph.ODataErrors.ErrorDetails",
            "odata.error.detail",
        );
        let inner = sc
            .shift_remove("microsoft.graph.ODataErrors.InnerError")
            .unwrap();
        sc["odata.error"]["properties"]["error"]["$ref"] =
            json!("#/components/schemas/odata.error.main");
        let main = &mut sc["odata.error.main"]["properties"];
        main["details"]["items"]["$ref"] = json!("#/components/schemas/odata.error.detail");
        let m = main.as_object_mut().unwrap();
        m.shift_remove("innerError");
        m.insert("innererror".into(), inner);
        s["components"]["responses"]["error"]["content"]["application/json"]["schema"]["$ref"] =
            json!("#/components/schemas/odata.error");
    })
    .unwrap();
    let mut d = BTreeSet::new();
    diff_pointers(&action_openapi(), &adjusted, String::new(), &mut d);
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn vanished_targets_are_errors_naming_the_adjustment() {
    let adj = adjustments();
    let base = committed_slice();
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "schema_renames.ODataError",
            Box::new(|s: &mut Value| {
                let sc = schemas(s);
                let v = sc
                    .shift_remove("microsoft.graph.ODataErrors.ODataError")
                    .unwrap();
                sc.insert("microsoft.graph.ODataErrors.TheError".into(), v);
            }),
        ),
        (
            "property_renames[0]",
            Box::new(|s: &mut Value| {
                schemas(s)["microsoft.graph.ODataErrors.MainError"]["properties"]
                    .as_object_mut()
                    .unwrap()
                    .shift_remove("innerError");
            }),
        ),
        (
            "inline_to_schema[0]",
            Box::new(|s: &mut Value| {
                // InnerError gone and innerError refers elsewhere: nothing to hoist.
                schemas(s).shift_remove("microsoft.graph.ODataErrors.InnerError");
                schemas(s)["microsoft.graph.ODataErrors.MainError"]["properties"]["innerError"] =
                    json!({"$ref": "#/components/schemas/x"});
            }),
        ),
        (
            "operations[0]",
            Box::new(|s: &mut Value| {
                s["paths"].as_object_mut().unwrap().shift_remove(P2);
            }),
        ),
        (
            "responses",
            Box::new(|s: &mut Value| {
                s["paths"][P1]["post"]["responses"]
                    .as_object_mut()
                    .unwrap()
                    .shift_remove("default");
            }),
        ),
        (
            "responses",
            Box::new(|s: &mut Value| {
                s["paths"][P1]["post"]["responses"]["2XX"]["content"] =
                    json!({"application/json": {}});
            }),
        ),
        (
            "request_body_schema",
            Box::new(|s: &mut Value| {
                s["paths"][P2]["post"]["requestBody"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/x"});
            }),
        ),
        (
            "added_paths[0]",
            Box::new(|s: &mut Value| {
                for p in s["paths"][P2]["post"]["parameters"].as_array_mut().unwrap() {
                    p["name"] = json!("id");
                }
            }),
        ),
    ];
    for (name, change) in cases {
        let mut s = base.clone();
        change(&mut s);
        let e = adjust::apply(&s, &adj).unwrap_err();
        assert!(e.contains(name) && !e.contains('\n'), "{name}: {e}");
    }
}

const DEVICE_SCHEMA: &str = "microsoft.graph.windowsAutopilotDeviceIdentity";
const GET_DEVICE: &str =
    "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}";
const UNASSIGN: &str = "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.unassignResourceAccountFromDevice";

fn device_props(s: &mut Value) -> &mut serde_json::Map<String, Value> {
    schemas(s)[DEVICE_SCHEMA]["allOf"][1]["properties"]
        .as_object_mut()
        .unwrap()
}

#[test]
fn onboarding_adjustments_fail_naming_themselves_when_upstream_moves() {
    let adj = adjustments();
    let base = committed_slice();
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "flatten_all_of.AutopilotDevice",
            Box::new(|s: &mut Value| {
                let own = schemas(s)[DEVICE_SCHEMA]["allOf"][1].clone();
                schemas(s)[DEVICE_SCHEMA] = own;
            }),
        ),
        (
            "flatten_all_of.AutopilotDevice: property 'id' is declared by two parts",
            Box::new(|s: &mut Value| {
                device_props(s).insert("id".into(), json!({"type": "string"}));
            }),
        ),
        (
            "keep_properties.AutopilotDevice: [\"groupTag\"]",
            Box::new(|s: &mut Value| {
                device_props(s).shift_remove("groupTag");
            }),
        ),
        (
            "open_enums.AutopilotDevice",
            Box::new(|s: &mut Value| {
                for p in [
                    "deploymentProfileAssignmentStatus",
                    "userlessEnrollmentStatus",
                    "enrollmentState",
                ] {
                    device_props(s)[p] = json!({"type": "string"});
                }
            }),
        ),
        (
            "plain_date_times.AutopilotDevice",
            Box::new(|s: &mut Value| {
                device_props(s)["lastContactedDateTime"] = json!({"type": "string"});
            }),
        ),
        (
            "operations[2] (unassign_resource_account_from_device): the operation now has a request body",
            Box::new(|s: &mut Value| {
                s["paths"][UNASSIGN]["post"]["requestBody"] = json!({"content": {}});
            }),
        ),
        (
            "operations[4] (get_autopilot_device): query parameter '$select'",
            Box::new(|s: &mut Value| {
                s["paths"][GET_DEVICE]["get"]["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|p| p["name"] != "$select");
            }),
        ),
        (
            "operations[4] (get_autopilot_device): the success response's body is",
            Box::new(|s: &mut Value| {
                s["paths"][GET_DEVICE]["get"]["responses"]["2XX"]["content"]["application/json"]
                    ["schema"] = json!({"$ref": "#/components/schemas/microsoft.graph.entity"});
            }),
        ),
        (
            "responses (operations[3] (allow_next_enrollment)): success response 2XX now has a body",
            Box::new(|s: &mut Value| {
                let p = "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.allowNextEnrollment";
                s["paths"][p]["post"]["responses"]["2XX"]["content"] =
                    json!({"application/json": {}});
            }),
        ),
    ];
    for (name, change) in cases {
        let mut s = base.clone();
        change(&mut s);
        let e = adjust::apply(&s, &adj).unwrap_err();
        assert!(e.contains(name) && !e.contains('\n'), "{name}: {e}");
    }
}

#[test]
fn the_device_type_is_trimmed_open_and_alone() {
    let doc = committed_openapi();
    let device = &doc["components"]["schemas"]["AutopilotDevice"];
    assert!(device.get("allOf").is_none());
    let props = device["properties"].as_object().unwrap();
    assert_eq!(
        props.keys().next().map(String::as_str),
        Some("id"),
        "base entity first"
    );
    assert_eq!(props.len(), 11);
    for (name, p) in props {
        assert_eq!(p["type"], "string", "{name}");
        assert!(p.get("$ref").is_none() && p.get("format").is_none() && p.get("enum").is_none());
    }
    assert!(
        props["userlessEnrollmentStatus"]["description"]
            .as_str()
            .unwrap()
            .contains("blocked")
    );
    // Nothing the trimmed device no longer uses is left behind.
    let names: BTreeSet<&str> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "ResourceAccountAssignment",
            "AutopilotDevice",
            "AutopilotDeviceCollectionResponse",
            "ODataError",
            "MainError",
            "ErrorDetails",
            "InnerError",
        ])
    );
    assert!(doc["components"].get("parameters").is_none());
    // `$select` is one comma-separated string: progenitor would repeat the name per item.
    for path in [
        "/deviceManagement/windowsAutopilotDeviceIdentities",
        "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}",
    ] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let select = params.iter().find(|p| p["name"] == "$select").unwrap();
        assert_eq!(select["schema"], json!({"type": "string"}));
    }
}

#[test]
fn set_properties_on_a_missing_schema_is_named() {
    let text = std::fs::read_to_string(spec_dir().join("adjustments.yaml")).unwrap();
    let adj = Adjustments::parse(
        &text.replace("set_properties:\n  InnerError:", "set_properties:\n  Nope:"),
    )
    .unwrap();
    let e = adjust::apply(&committed_slice(), &adj).unwrap_err();
    assert!(e.contains("set_properties.Nope"), "{e}");
}

#[test]
fn adjustments_file_is_strict() {
    let text = std::fs::read_to_string(spec_dir().join("adjustments.yaml")).unwrap();
    assert!(
        Adjustments::parse(&text.replace("version: 1", "version: 2"))
            .unwrap_err()
            .contains("version 2")
    );
    assert!(
        Adjustments::parse(&format!("{text}\nsurprise: 1\n"))
            .unwrap_err()
            .contains("surprise")
    );
}

#[test]
fn check_fails_with_a_diff_on_hand_edits() {
    let t = scratch_spec("check", true);
    let sd = t.path().join("spec");
    spec::check(&sd).unwrap();
    let json = std::fs::read_to_string(sd.join("openapi.json")).unwrap();
    std::fs::write(sd.join("openapi.json"), json.replace("\"2XX\"", "\"204\"")).unwrap();
    let (msg, diff) = spec::check(&sd).unwrap_err();
    assert!(msg.contains("differs") && !msg.contains('\n'));
    let diff = diff.unwrap();
    assert!(
        diff.contains("-          \"204\": {") && diff.contains("+          \"2XX\": {"),
        "{diff}"
    );
    std::fs::write(sd.join("openapi.json"), json).unwrap();
    let slice = std::fs::read_to_string(sd.join("upstream-slice.yaml")).unwrap();
    std::fs::write(
        sd.join("upstream-slice.yaml"),
        slice.replace("Success", "Fine"),
    )
    .unwrap();
    assert!(spec::check(&sd).unwrap_err().0.contains("edited by hand"));
}

#[test]
fn surface_change_is_detected_and_summarised() {
    let old = committed_openapi();
    let mut new = old.clone();
    new["components"]["schemas"]["ResourceAccountAssignment"]["properties"]["displayName"] =
        json!({"type": "string"});
    new["paths"].as_object_mut().unwrap().shift_remove(
        "/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/deploymentProfile/assignedDevices/{windowsAutopilotDeviceIdentity-id1}/assignResourceAccountToDevice",
    );
    let summary = surface::summary(&old, &new);
    assert!(
        summary
            .iter()
            .any(|l| l == "schema ResourceAccountAssignment: property added: displayName"),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("operation removed: POST")
                && l.contains("via_deployment_profile")),
        "{summary:?}"
    );
    assert_ne!(
        surface::generate(&old).unwrap(),
        surface::generate(&new).unwrap()
    );
    // Docs only: same surface.
    let mut docs = old.clone();
    docs["components"]["schemas"]["InnerError"]["description"] = json!("changed words");
    assert_eq!(
        surface::generate(&old).unwrap(),
        surface::generate(&docs).unwrap()
    );
}

#[test]
fn progenitor_failure_is_an_error_not_a_panic() {
    // 204 beside default makes progenitor panic; the adjustments exist to avoid it, and the
    // surface step turns such a panic into an error line.
    let mut doc = committed_openapi();
    for item in doc["paths"].as_object_mut().unwrap().values_mut() {
        item["post"]["responses"] = json!({"204": {"description": "Success"}, "default": {"$ref": "#/components/responses/error"}});
    }
    let e = surface::generate(&doc).expect_err("progenitor cannot take 204 beside default");
    assert!(e.starts_with("progenitor") && !e.contains('\n'), "{e}");
}

/// The fixture `cargo xtask fixture` builds (the bench uses 88 MB of it in release; a few MB
/// here keep the debug test fast): the fast path is taken, agrees with the full parse, and
/// finds S1's path items and components among all the renamed copies.
#[test]
fn fixture_fast_path_equals_full_parse() {
    let texts: Vec<String> = xtask::fixture::default_inputs()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut out = Vec::new();
    let stats =
        xtask::fixture::build(&texts, xtask::fixture::Target::Size(2_500_000), &mut out).unwrap();
    assert!(stats.replicas >= 1 && stats.bytes >= 2_500_000, "{stats:?}");
    let text = String::from_utf8(out).unwrap();
    let wanted = adjustments().wanted_paths();
    let fast = slice::slice(&text, &wanted, Mode::Auto).unwrap();
    assert!(fast.fallback.is_none(), "{:?}", fast.fallback);
    let full = slice::slice(&text, &wanted, Mode::Full).unwrap();
    assert_eq!(fast.slice, full.slice);
    let committed = committed_slice();
    for part in ["paths", "components"] {
        assert_eq!(fast.slice[part], committed[part], "{part}");
    }
}
