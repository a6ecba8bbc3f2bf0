//! Bad input: a one-line error and a non-zero exit (or `Err`), never a panic, a hang or
//! unbounded memory. Every case runs through both the default (fast path first) and the full
//! parse, which must agree.

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::*;
use xtask::slice::Mode;
use xtask::spec;

fn err_both(text: &str) -> String {
    let adj = action_adjustments();
    let fast = spec::derive(text, &adj, Mode::Auto)
        .err()
        .expect("fast path must fail");
    let full = spec::derive(text, &adj, Mode::Full)
        .err()
        .expect("full parse must fail");
    assert!(
        !fast.contains('\n') && !full.contains('\n'),
        "one line: {fast:?} / {full:?}"
    );
    assert!(!fast.is_empty());
    fast
}

#[test]
fn mini_document_is_fine_and_decoys_are_not_taken() {
    let adj = action_adjustments();
    for mode in [Mode::Auto, Mode::Full] {
        let g = spec::derive(MINI, &adj, mode).unwrap();
        let paths: Vec<&String> = g.adjusted["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(
            paths
                .iter()
                .all(|p| p.ends_with("/assignResourceAccountToDevice"))
        );
        assert!(
            !g.slice_yaml.contains("decoy") && !g.slice_yaml.contains("unrelated"),
            "{}",
            g.slice_yaml
        );
        assert_eq!(mode == Mode::Auto, g.fallback.is_none());
    }
}

#[test]
fn empty_input() {
    assert!(err_both("").contains("empty"));
    assert!(err_both("\n  \n").contains("empty"));
}

#[test]
fn not_yaml() {
    let e = err_both("openapi: 3.0.1\npaths:\n  /a: [unclosed\n  : : :\n\"oops");
    assert!(e.contains("not valid YAML") && e.contains("line"), "{e}");
    let e = err_both("just some words, not a mapping");
    assert!(e.contains("not a mapping"), "{e}");
}

#[test]
fn binary_garbage() {
    // Through the binary: invalid UTF-8.
    let t = TempDir::new("binary");
    let spec = action_scratch_spec("binary-spec");
    let f = t.path().join("garbage.bin");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&f, bytes).unwrap();
    let (code, stderr) = run(&[
        "spec",
        "update",
        "--from",
        f.to_str().unwrap(),
        "--spec-dir",
        spec.path().join("spec").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    // Valid UTF-8 full of control characters.
    let e = err_both("\u{0}\u{1}\u{2}openapi\u{7}: 3");
    assert!(e.contains("YAML") || e.contains("OpenAPI"), "{e}");
}

#[test]
fn alias_bomb() {
    let bomb = "openapi: 3.0.1\nx-a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nx-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nx-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nx-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\nx-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    let doc = MINI.replacen("openapi: 3.0.1\n", bomb, 1);
    assert!(err_both(&doc).contains("alias bomb"));
}

/// `depth` nested anchored sequences around `width` scalars, inside an operation the slice needs.
fn nested_anchors(depth: usize, width: usize) -> String {
    let mut flow = String::new();
    for i in 0..depth {
        flow.push_str(&format!("&a{i} ["));
    }
    flow.push_str(&vec!["x"; width].join(","));
    flow.push_str(&"]".repeat(depth));
    MINI.replacen(
        "      operationId: device_op\n",
        &format!("      operationId: device_op\n      x-bomb: {flow}\n"),
        1,
    )
}

#[test]
fn nested_anchor_bomb() {
    // No alias at all: each anchored node used to be copied when it completed, so every
    // enclosing anchor copied the whole list again (depth × width nodes).
    let small = nested_anchors(50, 4_000);
    assert!(err_both(&small).contains("anchor/alias bomb"));
    // 200 KB of text that used to cost 20 million copied nodes (over 1 GB): the same
    // one-line error as soon as the innermost anchor completes (one parse; debug builds are slow).
    let big = nested_anchors(200, 100_000);
    assert!(big.len() > 200_000);
    let e = xtask::yaml::parse(&big, 1, None).unwrap_err();
    assert!(e.message.contains("anchor/alias bomb"), "{e}");
    // A few anchors within budget are still fine (and agree with the full parse).
    let fine = nested_anchors(3, 10);
    let adj = action_adjustments();
    assert_eq!(
        spec::derive(&fine, &adj, Mode::Auto).unwrap().adjusted,
        spec::derive(&fine, &adj, Mode::Full).unwrap().adjusted
    );
}

#[test]
fn deep_nesting() {
    let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let doc = MINI.replacen(
        "      operationId: device_op\n",
        &format!("      operationId: device_op\n      x-deep: {flow}\n"),
        1,
    );
    let e = err_both(&doc);
    assert!(e.contains("nesting") || e.contains("recursion"), "{e}");
    // Block style, inside an operation the slice needs.
    let mut block = String::from("      operationId: device_op\n");
    for i in 0..10_000 {
        block.push_str(&" ".repeat(6 + i));
        block.push_str("k:\n");
    }
    let doc = MINI.replacen("      operationId: device_op\n", &block, 1);
    let e = err_both(&doc);
    assert!(e.contains("nesting") || e.contains("recursion"), "{e}");
    // Inside a path item nobody reads: skipped without building it.
    let doc = MINI.replacen(
        "      operationId: decoy_neighbour\n",
        &block.replace("device_op", "decoy_neighbour"),
        1,
    );
    assert!(spec::derive(&doc, &action_adjustments(), Mode::Auto).is_ok());
}

#[test]
fn ref_cycles() {
    // A pure $ref cycle is an error naming the cycle.
    let doc = MINI.replace(
        "    microsoft.graph.ODataErrors.InnerError:\n      type: object\n      additionalProperties:\n        type: object\n      description: The structure of this object is service-specific\n",
        "    microsoft.graph.ODataErrors.InnerError:\n      $ref: '#/components/schemas/loop'\n    loop:\n      $ref: '#/components/schemas/microsoft.graph.ODataErrors.InnerError'\n",
    );
    assert_ne!(doc, MINI);
    let e = err_both(&doc);
    assert!(e.contains("$ref cycle"), "{e}");
    // A structural recursion terminates and is kept.
    let doc = MINI.replace(
        "      description: The structure of this object is service-specific\n",
        "      properties:\n        inner:\n          $ref: '#/components/schemas/microsoft.graph.ODataErrors.InnerError'\n      description: The structure of this object is service-specific\n",
    );
    let adj = action_adjustments();
    let g = spec::derive(&doc, &adj, Mode::Auto).unwrap();
    assert_eq!(
        g.adjusted["components"]["schemas"]["InnerError"]["properties"]["inner"]["$ref"],
        "#/components/schemas/InnerError"
    );
}

#[test]
fn dangling_ref() {
    let doc = MINI.replace(
        "'#/components/schemas/microsoft.graph.ODataErrors.ErrorDetails'",
        "'#/components/schemas/microsoft.graph.ODataErrors.Gone'",
    );
    let e = err_both(&doc);
    assert!(e.contains("dangling $ref") && e.contains("Gone"), "{e}");
    let doc = MINI.replace(
        "'#/components/schemas/microsoft.graph.ODataErrors.ErrorDetails'",
        "'other.yaml#/x'",
    );
    assert!(err_both(&doc).contains("external $ref"));
}

#[test]
fn openapi_31_and_swagger_20() {
    let e = err_both(&MINI.replacen("openapi: 3.0.1", "openapi: 3.1.0", 1));
    assert!(e.starts_with("OpenAPI 3.1.0 document"), "{e}");
    let e = err_both(&MINI.replacen("openapi: 3.0.1", "swagger: '2.0'", 1));
    assert!(e.starts_with("Swagger 2.0 document"), "{e}");
    let e = err_both(&MINI.replacen("openapi: 3.0.1\n", "", 1));
    assert!(e.contains("no top-level `openapi`"), "{e}");
}

#[test]
fn document_without_the_action() {
    let doc = MINI.replace(
        "microsoft.graph.assignResourceAccountToDevice'",
        "microsoft.graph.somethingElse'",
    );
    let e = err_both(&doc);
    assert!(e.contains("the action is not in the document"), "{e}");
    // One of the two gone: named.
    let doc = MINI.replacen("assignedDevices/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice'", "assignedDevices/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.renamed'", 1);
    let e = err_both(&doc);
    assert!(
        e.contains("windowsAutopilotDeploymentProfiles")
            && e.contains("not in the document any more"),
        "{e}"
    );
}

#[test]
fn both_spellings_is_ambiguous() {
    let extra = "  '/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/assignResourceAccountToDevice':\n    post:\n      operationId: x\n";
    let doc = MINI.replacen("components:\n", &format!("{extra}components:\n"), 1);
    assert!(err_both(&doc).contains("ambiguous"));
}

#[test]
fn duplicate_keys() {
    // A duplicated path item.
    let dup = "  '/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice':\n    post:\n      operationId: dup\n";
    let doc = MINI.replacen("components:\n", &format!("{dup}components:\n"), 1);
    assert!(err_both(&doc).contains("duplicate key"));
    // A duplicated key inside an operation.
    let doc = MINI.replacen(
        "      operationId: device_op\n",
        "      operationId: device_op\n      operationId: again\n",
        1,
    );
    assert!(err_both(&doc).contains("duplicate key 'operationId'"));
    // A duplicated component.
    let doc = MINI.replacen("    microsoft.graph.unrelated:\n", "    microsoft.graph.ODataErrors.ErrorDetails:\n      type: object\n    microsoft.graph.unrelated:\n", 1);
    assert!(err_both(&doc).contains("duplicate key"));
}

#[test]
fn other_layouts_fall_back_and_agree() {
    let adj = action_adjustments();
    let reference = spec::derive(MINI, &adj, Mode::Full).unwrap();
    let json = serde_json::to_string(&xtask::yaml::parse(MINI, 1, None).unwrap()).unwrap();
    let tabs = MINI.replacen("servers:\n  - url", "servers:\n  -\turl", 1);
    let flow = MINI.replacen(
        "    microsoft.graph.unrelated:\n      type: object\n",
        "    microsoft.graph.unrelated: {type: object}\n",
        1,
    );
    let anchors = MINI.replace(
        "      summary: Invoke action assignResourceAccountToDevice\n",
        "      summary: &s Invoke action assignResourceAccountToDevice\n",
    );
    // JSON and a flow-style entry break the layout the scan relies on (fallback); a tab after
    // `-` and an anchor inside an entry do not (each entry still parses alone: fast path).
    for (what, text, falls_back) in [
        ("json", json, true),
        ("flow", flow, true),
        ("tabs", tabs, false),
        ("anchors", anchors, false),
    ] {
        let g = spec::derive(&text, &adj, Mode::Auto).unwrap();
        assert_eq!(g.adjusted, reference.adjusted, "{what}");
        assert_eq!(g.fallback.is_some(), falls_back, "{what}: {:?}", g.fallback);
    }
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn cli_errors_are_one_line_with_exit_1() {
    let t = TempDir::new("cli");
    let spec = action_scratch_spec("cli-spec");
    let sd = spec.path().join("spec");
    let empty = t.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let v31 = t.path().join("v31.yaml");
    std::fs::write(&v31, MINI.replacen("openapi: 3.0.1", "openapi: 3.1.0", 1)).unwrap();
    for (from, needle) in [
        (empty.to_str().unwrap(), "is empty"),
        (v31.to_str().unwrap(), "OpenAPI 3.1.0"),
        ("/nonexistent/file.yaml", "cannot read"),
        ("ftp://example.invalid/x", "unsupported URL"),
        ("http://example.invalid/x", "refusing plain http"),
    ] {
        let (code, stderr) = run(&[
            "spec",
            "update",
            "--from",
            from,
            "--spec-dir",
            sd.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{from}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(needle),
            "{stderr}"
        );
    }
    // Nothing was written.
    assert!(!sd.join("openapi.json").exists());
}

#[test]
fn truncated_download() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let body = &MINI.as_bytes()[..500];
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            MINI.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        // Dropping the stream closes the connection mid-body.
    });
    let spec = action_scratch_spec("dl-spec");
    let sd = spec.path().join("spec");
    let url = format!("http://127.0.0.1:{port}/openapi.yaml");
    let (code, stderr) = run(&[
        "spec",
        "update",
        "--from",
        &url,
        "--spec-dir",
        sd.to_str().unwrap(),
    ]);
    server.join().unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(!sd.join("openapi.json").exists());
}
