#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xtask::adjust::Adjustments;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The real upstream texts vendored in the repository (see its README.md for provenance).
pub fn upstream_texts() -> PathBuf {
    root().join("xtask/upstream-texts")
}

pub const S1: &str = "S1-DeviceManagement.Enrollment.yml";
pub const M2023: &str = "2023-01-04-DeviceManagement.Actions.yml";

pub fn spec_dir() -> PathBuf {
    root().join("spec")
}

/// The types of the account check (issue 24): in the user and SKU modules, not in S1.
const ACCOUNT_SCHEMAS: [&str; 5] = [
    "User",
    "AssignedLicense",
    "SubscribedSku",
    "SubscribedSkuCollectionResponse",
    "LicenseUnitsDetail",
];

/// The committed adjustments cut down to what S1 holds, as YAML: the Autopilot operations (the
/// account check's user and SKU reads come from other module texts; see tests/modules_2025.rs).
pub fn s1_adjustments_yaml() -> String {
    let text = std::fs::read_to_string(spec_dir().join("adjustments.yaml")).unwrap();
    let mut v = xtask::yaml::parse(&text, 1, None).unwrap();
    v["operations"].as_array_mut().unwrap().retain(|o| {
        o["path"]
            .as_str()
            .unwrap()
            .starts_with("/deviceManagement/")
    });
    let m = v.as_object_mut().unwrap();
    for key in [
        "schema_renames",
        "keep_properties",
        "flatten_all_of",
        "open_enums",
        "plain_date_times",
        "plain_uuids",
    ] {
        let empty = match m.get_mut(key) {
            Some(serde_json::Value::Object(o)) => {
                o.retain(|k, _| !ACCOUNT_SCHEMAS.contains(&k.as_str()));
                o.is_empty()
            }
            Some(serde_json::Value::Array(a)) => {
                a.retain(|x| !ACCOUNT_SCHEMAS.contains(&x.as_str().unwrap()));
                a.is_empty()
            }
            _ => false,
        };
        if empty {
            m.shift_remove(key);
        }
    }
    xtask::yaml::emit(&v)
}

/// [`s1_adjustments_yaml`], parsed: what the tests on S1 and its variants use.
pub fn adjustments() -> Adjustments {
    Adjustments::parse(&s1_adjustments_yaml()).unwrap()
}

/// The committed adjustments cut down to the action's operations, as YAML: for texts that hold
/// only the action (the 2023 `DeviceManagement.Actions.yml`, MINI): the onboarding operations
/// and the device type they use are in S1 only.
pub fn action_adjustments_yaml() -> String {
    let mut v = xtask::yaml::parse(&s1_adjustments_yaml(), 1, None).unwrap();
    v["operations"].as_array_mut().unwrap().retain(|o| {
        o["path"]
            .as_str()
            .unwrap()
            .ends_with("/assignResourceAccountToDevice")
    });
    v["schema_renames"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| !name.starts_with("AutopilotDevice"));
    let m = v.as_object_mut().unwrap();
    for shaper in [
        "flatten_all_of",
        "keep_properties",
        "open_enums",
        "plain_date_times",
    ] {
        m.shift_remove(shaper);
    }
    xtask::yaml::emit(&v)
}

/// [`action_adjustments_yaml`], parsed.
pub fn action_adjustments() -> Adjustments {
    Adjustments::parse(&action_adjustments_yaml()).unwrap()
}

pub fn s1() -> String {
    std::fs::read_to_string(upstream_texts().join(S1)).unwrap()
}

pub fn text_2023() -> String {
    std::fs::read_to_string(upstream_texts().join(M2023)).unwrap()
}

/// A fresh temporary directory under the target dir (removed on drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let base =
            std::env::var_os("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let p = base.join(format!("xtask-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spec dir holding the committed spec/ (every owned file), or else only the adjustments S1
/// takes ([`s1_adjustments_yaml`]).
pub fn scratch_spec(tag: &str, with_committed: bool) -> TempDir {
    let t = TempDir::new(tag);
    let spec = t.path().join("spec");
    std::fs::create_dir_all(&spec).unwrap();
    let files: &[&str] = if with_committed {
        &[
            "adjustments.yaml",
            "provenance.json",
            "openapi.json",
            "upstream-slice.yaml",
        ]
    } else {
        &["adjustments.yaml"]
    };
    for f in files {
        std::fs::copy(spec_dir().join(f), spec.join(f)).unwrap();
    }
    if !with_committed {
        std::fs::write(spec.join("adjustments.yaml"), s1_adjustments_yaml()).unwrap();
    }
    t
}

/// Where S1 came from, as its row in upstream-texts/README.md records it (the sha256 pins it).
pub fn s1_source() -> xtask::provenance::SourceInfo {
    xtask::provenance::SourceInfo {
        repository: Some("microsoftgraph/msgraph-sdk-powershell".into()),
        path: Some("openApiDocs/beta/DeviceManagement.Enrollment.yml".into()),
        commit: Some("042c9483f5eccc46c0f5b0623414a643001a13a5".into()),
        date: None,
        sha256: Some("1785ae1b99f2a4a7293e0e57aaf3eb2fc72411fb7631253b588f1a383bcfb589".into()),
    }
}

/// A spec dir that is S1's output: the committed adjustments, then `spec update` from S1.
///
/// Tests that need "a spec/ made from a known text" start here, not from the committed spec/:
/// the weekly job regenerates spec/ from whatever Microsoft publishes, so the committed files
/// need not be S1's.
pub fn s1_spec(tag: &str) -> TempDir {
    let t = scratch_spec(tag, false);
    let r = xtask::spec::update(
        upstream_texts().join(S1).to_str().unwrap(),
        &t.path().join("spec"),
        xtask::slice::Mode::Auto,
        s1_source(),
    )
    .unwrap();
    assert!(r.fallback.is_none(), "S1 takes the fast path");
    t
}

/// S1 cut with the committed adjustments' wanted paths (full parse: the reference).
pub fn s1_slice() -> serde_json::Value {
    xtask::slice::slice(
        &s1(),
        &adjustments().wanted_paths(),
        xtask::slice::Mode::Full,
    )
    .unwrap()
    .slice
}

/// What the committed adjustments make of S1 (the openapi.json of [`s1_spec`]).
pub fn s1_openapi() -> serde_json::Value {
    xtask::spec::derive(&s1(), &adjustments(), xtask::slice::Mode::Auto)
        .unwrap()
        .adjusted
}

/// A small document in the converter's layout with both operations of the action (qualified,
/// as in the module slices), decoys, and the error components.
pub const MINI: &str = r#"openapi: 3.0.1
info:
  title: mini
  version: v1.0-beta
servers:
  - url: https://graph.microsoft.com/beta/
paths:
  '/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignUserToDevice':
    post:
      operationId: decoy_neighbour
      responses:
        2XX:
          description: Success
  '/deviceManagement/windowsAutopilotDeploymentProfiles/{windowsAutopilotDeploymentProfile-id}/assignedDevices/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice':
    post:
      tags:
        - deviceManagement.windowsAutopilotDeploymentProfile
      summary: Invoke action assignResourceAccountToDevice
      operationId: profile_op
      parameters:
        - name: windowsAutopilotDeploymentProfile-id
          in: path
          required: true
          schema:
            type: string
        - name: windowsAutopilotDeviceIdentity-id
          in: path
          required: true
          schema:
            type: string
      requestBody:
        description: Action parameters
        content:
          application/json:
            schema:
              type: object
              properties:
                userPrincipalName:
                  type: string
                  nullable: true
                addressableUserName:
                  type: string
                  nullable: true
                resourceAccountName:
                  type: string
                  nullable: true
              additionalProperties:
                type: object
        required: true
      responses:
        2XX:
          description: Success
        default:
          $ref: '#/components/responses/error'
  '/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice':
    post:
      tags:
        - deviceManagement.windowsAutopilotDeviceIdentity
      summary: Invoke action assignResourceAccountToDevice
      operationId: device_op
      parameters:
        - name: windowsAutopilotDeviceIdentity-id
          in: path
          required: true
          schema:
            type: string
      requestBody:
        description: Action parameters
        content:
          application/json:
            schema:
              type: object
              properties:
                userPrincipalName:
                  type: string
                  nullable: true
                addressableUserName:
                  type: string
                  nullable: true
                resourceAccountName:
                  type: string
                  nullable: true
              additionalProperties:
                type: object
        required: true
      responses:
        2XX:
          description: Success
        default:
          $ref: '#/components/responses/error'
  '/replica1/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDevice':
    post:
      operationId: decoy_prefixed
  '/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}/microsoft.graph.assignResourceAccountToDeviceV2':
    post:
      operationId: decoy_suffixed
components:
  schemas:
    microsoft.graph.ODataErrors.ODataError:
      required:
        - error
      type: object
      properties:
        error:
          $ref: '#/components/schemas/microsoft.graph.ODataErrors.MainError'
      additionalProperties:
        type: object
    microsoft.graph.unrelated:
      type: object
    microsoft.graph.ODataErrors.MainError:
      required:
        - code
        - message
      type: object
      properties:
        code:
          type: string
        message:
          type: string
        target:
          type: string
          nullable: true
        details:
          type: array
          items:
            $ref: '#/components/schemas/microsoft.graph.ODataErrors.ErrorDetails'
        innerError:
          $ref: '#/components/schemas/microsoft.graph.ODataErrors.InnerError'
      additionalProperties:
        type: object
    microsoft.graph.ODataErrors.ErrorDetails:
      required:
        - code
        - message
      type: object
      properties:
        code:
          type: string
        message:
          type: string
        target:
          type: string
          nullable: true
      additionalProperties:
        type: object
    microsoft.graph.ODataErrors.InnerError:
      type: object
      additionalProperties:
        type: object
      description: The structure of this object is service-specific
  responses:
    error:
      description: error
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/microsoft.graph.ODataErrors.ODataError'
"#;

/// [`copy_of_spec`] with [`action_adjustments_yaml`] as its adjustments.
pub fn action_copy_of_spec(tag: &str) -> TempDir {
    let t = copy_of_spec(tag);
    std::fs::write(
        t.path().join("spec/adjustments.yaml"),
        action_adjustments_yaml(),
    )
    .unwrap();
    t
}

/// [`scratch_spec`] (adjustments only) with [`action_adjustments_yaml`].
pub fn action_scratch_spec(tag: &str) -> TempDir {
    let t = scratch_spec(tag, false);
    std::fs::write(
        t.path().join("spec/adjustments.yaml"),
        action_adjustments_yaml(),
    )
    .unwrap();
    t
}

/// A copy of the repository's spec/ (every file).
pub fn copy_of_spec(tag: &str) -> TempDir {
    let t = TempDir::new(tag);
    let sd = t.path().join("spec");
    std::fs::create_dir(&sd).unwrap();
    for e in std::fs::read_dir(spec_dir()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), sd.join(e.file_name())).unwrap();
    }
    t
}

/// Every entry under `dir` (recursively, symlinks not followed) with its kind and bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut work = vec![dir.to_path_buf()];
    while let Some(d) = work.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let ft = std::fs::symlink_metadata(&p).unwrap().file_type();
            let v = if ft.is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                work.push(p.clone());
                "dir".into()
            } else {
                format!(
                    "file {}",
                    xtask::fetch::sha256_hex(&std::fs::read(&p).unwrap())
                )
            };
            out.insert(rel, v);
        }
    }
    out
}

/// S1 with one more optional property (`deviceName`) in the action's request bodies: the
/// "future" text of issue 9, the addition that must not break the crate.
pub fn future_text() -> String {
    with_device_name(&s1())
}

/// The four module texts spec/ is cut from (tests/modules_2025.rs), the action's module with
/// [`with_device_name`]: the future text of issue 9 for the whole committed spec.
pub fn future_modules() -> Vec<(&'static str, String)> {
    [
        "2025-01-27-DeviceManagement.Enrollment.yml",
        "2025-01-27-DeviceManagement.Actions.yml",
        "2025-01-27-Users.yml",
        "2025-01-27-Identity.DirectoryManagement.yml",
    ]
    .into_iter()
    .map(|m| {
        let text = std::fs::read_to_string(upstream_texts().join(m)).unwrap();
        let text = if m.ends_with("Actions.yml") {
            with_device_name(&text)
        } else {
            text
        };
        (m, text)
    })
    .collect()
}

/// `text` with one more optional property (`deviceName`) in the action's two request bodies.
pub fn with_device_name(s1: &str) -> String {
    let anchor = "                resourceAccountName:\n                  type: string\n                  nullable: true\n";
    assert_eq!(s1.matches(anchor).count(), 2, "both bodies of the action");
    s1.replace(
        anchor,
        &format!("{anchor}                deviceName:\n                  type: string\n                  nullable: true\n"),
    )
}

/// [`copy_of_spec`] plus a copy of the crate's `tests/snapshots/` beside it, which `spec update`
/// rewrites with spec/ (it finds them as `<spec dir>/../tests/snapshots`).
pub fn copy_of_spec_and_snapshots(tag: &str) -> TempDir {
    let t = copy_of_spec(tag);
    // Updated from S1 variants by the tests: the adjustments S1 takes.
    std::fs::write(
        t.path().join("spec/adjustments.yaml"),
        s1_adjustments_yaml(),
    )
    .unwrap();
    let to = t.path().join("tests/snapshots");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(root().join("tests/snapshots")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    t
}
