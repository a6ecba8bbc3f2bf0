//! The real upstream texts: spec/ is reproducible from its recorded source; S1 regenerates to
//! the same bytes every time; the 2023 text differs from S1 only where Microsoft's text really
//! differs; older and newer forms of the action normalise to the same adjusted meaning; the fast
//! path equals the full parse.
//!
//! Only `spec_is_reproducible_from_its_recorded_source` and the shape checks of the adjusted
//! document read the committed spec/'s generated files: the weekly job regenerates them from
//! Microsoft's current text, so every comparison with S1 regenerates S1 itself (in temp dirs or
//! in memory).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use serde_json::{Value, json};
use xtask::adjust::{self, Adjustments};
use xtask::slice::{self, Mode};
use xtask::{provenance, spec, surface, yaml};

fn committed_openapi() -> Value {
    serde_json::from_str(&std::fs::read_to_string(spec_dir().join("openapi.json")).unwrap())
        .unwrap()
}

/// What the action-only adjustments make of S1's slice: the reference for texts that hold only
/// the action.
fn action_openapi() -> Value {
    adjust::apply(&s1_slice(), &action_adjustments()).unwrap()
}

/// Every file of a spec dir, by name, as text.
fn files_of(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The files a regenerated spec dir holds (the committed adjustments and what update writes).
const SPEC_FILES: [&str; 4] = [
    "adjustments.yaml",
    "openapi.json",
    "provenance.json",
    "upstream-slice.yaml",
];

/// Assert two spec dirs hold the same files with the same bytes, naming the first that differs.
fn assert_same_files(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: file names"
    );
    for (name, text) in a {
        assert!(text == &b[name], "{what}: {name} differs");
    }
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

/// The committed spec/ against its own record, whichever text it came from: provenance.json names
/// the slice's sha256, openapi.json is exactly slice + adjustments, and the slice is a fixed point
/// of the slicer (cutting it again, as if it were the upstream text, gives the same bytes).
fn assert_spec_is_self_consistent(dir: &Path) {
    spec::check(dir).unwrap_or_else(|(msg, diff)| panic!("{msg}\n{}", diff.unwrap_or_default()));
    let slice_text = std::fs::read_to_string(dir.join("upstream-slice.yaml")).unwrap();
    let adj = Adjustments::parse(&std::fs::read_to_string(dir.join("adjustments.yaml")).unwrap())
        .unwrap();
    let again = spec::derive(&slice_text, &adj, Mode::Full).unwrap();
    assert!(
        again.slice_yaml == slice_text,
        "cutting upstream-slice.yaml again changes it"
    );
    assert!(
        again.openapi_json == std::fs::read_to_string(dir.join("openapi.json")).unwrap(),
        "openapi.json is not what the slice gives"
    );
}

#[test]
fn spec_is_reproducible_from_its_recorded_source() {
    assert_spec_is_self_consistent(&spec_dir());
    // When the text provenance.json records is vendored, `spec update` from it, starting from the
    // committed adjustments alone, recreates every other file byte for byte, provenance included.
    // After the weekly job the source is Microsoft's current text, which is not vendored: then
    // the self-consistency above is what holds, until that text is vendored too.
    let prov: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("provenance.json")).unwrap())
            .unwrap();
    if prov.get("sources").is_some() {
        // Several module texts: tests/modules_2025.rs regenerates from them.
        return;
    }
    let sha = prov["input"]["sha256"]
        .as_str()
        .expect("provenance.json records the input's sha256");
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    let vendored = std::fs::read_dir(upstream_texts())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .find(|p| xtask::fetch::sha256_hex(&std::fs::read(p).unwrap()) == sha);
    let Some(from) = vendored else {
        println!("spec/'s source ({sha}) is not vendored: self-consistency checked only");
        return;
    };
    // What provenance.json says of its origin is what upstream-texts/README.md records for that
    // file (whose sha256 `vendored_texts_are_the_recorded_ones` checks).
    let field = |f: &str| prov["source"][f].as_str().map(str::to_owned);
    let name = from.file_name().unwrap().to_string_lossy().into_owned();
    let readme = std::fs::read_to_string(upstream_texts().join("README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| `{name}` |")))
        .unwrap_or_else(|| panic!("no README row for {name}"));
    for f in ["repository", "path", "commit"] {
        let v = field(f).unwrap_or_else(|| panic!("provenance.json records no source {f}"));
        assert!(row.contains(&v), "source {f} {v} is not {name}'s: {row}");
    }
    assert_eq!(prov["source"]["retrieved_as"], name.as_str());
    let t = scratch_spec("reproduce", false);
    let sd = t.path().join("spec");
    let source = provenance::SourceInfo {
        repository: field("repository"),
        path: field("path"),
        commit: field("commit"),
        date: field("date"),
        sha256: Some(sha.to_owned()),
    };
    spec::update(from.to_str().unwrap(), &sd, Mode::Auto, source).unwrap();
    assert_same_files(
        &files_of(&sd),
        &files_of(&spec_dir()),
        &format!("spec/ regenerated from {}", from.display()),
    );
}

#[test]
fn s1_regenerates_to_the_same_bytes_twice() {
    let a = s1_spec("s1-twice-a");
    let b = s1_spec("s1-twice-b");
    let (da, db) = (a.path().join("spec"), b.path().join("spec"));
    let first = files_of(&da);
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        SPEC_FILES
    );
    assert_same_files(&first, &files_of(&db), "two regenerations of S1");
    assert_spec_is_self_consistent(&da);
    // Again in place (no provenance options: kept for the same input): nothing changes and the
    // surface is reported unchanged.
    let from = upstream_texts().join(S1);
    let r = spec::update(from.to_str().unwrap(), &da, Mode::Auto, Default::default()).unwrap();
    assert!(r.changed_files.is_empty() && !r.surface_changed, "{r:?}");
    assert_same_files(&first, &files_of(&da), "S1 regenerated in place");
}

#[test]
fn s1_fast_path_equals_full_parse() {
    let text = s1();
    let adj = adjustments();
    let wanted = adj.wanted_paths();
    let fast = slice::slice(&text, &wanted, Mode::Auto).unwrap();
    assert!(fast.fallback.is_none());
    let full = slice::slice(&text, &wanted, Mode::Full).unwrap();
    assert_eq!(fast.slice, full.slice);
    // One path item per operation the adjustments name, and they apply to it (two empty
    // slices would also agree).
    assert_eq!(
        full.slice["paths"].as_object().unwrap().len(),
        adj.operations.len()
    );
    adjust::apply(&full.slice, &adj).unwrap();
    // The same through `spec update` (the files it writes), each mode in its own spec dir.
    let from = upstream_texts().join(S1);
    let dirs: Vec<TempDir> = [(Mode::Auto, "s1-auto"), (Mode::Full, "s1-full")]
        .into_iter()
        .map(|(mode, tag)| {
            let t = scratch_spec(tag, false);
            let r = spec::update(
                from.to_str().unwrap(),
                &t.path().join("spec"),
                mode,
                s1_source(),
            )
            .unwrap();
            assert!(
                mode == Mode::Full || r.fallback.is_none(),
                "{:?}",
                r.fallback
            );
            t
        })
        .collect();
    assert_same_files(
        &files_of(&dirs[0].path().join("spec")),
        &files_of(&dirs[1].path().join("spec")),
        "S1 updated with the fast path vs the full parse",
    );
}

#[test]
fn slice_is_upstream_lines_verbatim() {
    // Every line of the slice's path items is a line of S1 (same indentation relative to it).
    let text = s1();
    let slice = spec::derive(&text, &adjustments(), Mode::Auto)
        .unwrap()
        .slice_yaml;
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

    // Both texts regenerated by `spec update` with the action-only adjustments, each in its own
    // spec dir.
    let regenerate = |name: &str, tag: &str| -> (TempDir, Value) {
        let t = action_scratch_spec(tag);
        let sd = t.path().join("spec");
        let from = upstream_texts().join(name);
        let r = spec::update(from.to_str().unwrap(), &sd, Mode::Auto, Default::default()).unwrap();
        assert!(r.fallback.is_none(), "{name}");
        let json = std::fs::read_to_string(sd.join("openapi.json")).unwrap();
        (t, serde_json::from_str(&json).unwrap())
    };
    let (_t2023, from_2023) = regenerate(M2023, "text-2023");
    let (_ts1, from_s1) = regenerate(S1, "text-2023-s1");
    assert_eq!(from_2023, fast.adjusted);

    let mut d = BTreeSet::new();
    diff_pointers(&from_s1, &from_2023, String::new(), &mut d);
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
        surface::generate(&from_2023).unwrap(),
        surface::generate(&from_s1).unwrap()
    );
}

/// Apply a change to the action's part of the committed slice, write it in the converter's
/// layout, derive again (with the action-only adjustments; compare with [`action_openapi`]).
fn derive_variant(change: impl FnOnce(&mut Value)) -> Result<Value, String> {
    let mut s = s1_slice();
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
    let base = s1_slice();
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
    let base = s1_slice();
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
            // The account check's user and licences (issue 24), trimmed the same way.
            "User",
            "AssignedLicense",
            "SubscribedSku",
            "SubscribedSkuCollectionResponse",
            "LicenseUnitsDetail",
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
    let text = s1_adjustments_yaml();
    let adj = Adjustments::parse(
        &text.replace("set_properties:\n  InnerError:", "set_properties:\n  Nope:"),
    )
    .unwrap();
    let e = adjust::apply(&s1_slice(), &adj).unwrap_err();
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
/// finds S1's path items and components (as the full parse of S1 alone gives them) among all
/// the renamed copies.
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
    let s1 = s1_slice();
    for part in ["paths", "components"] {
        assert_eq!(fast.slice[part], s1[part], "{part}");
    }
}
