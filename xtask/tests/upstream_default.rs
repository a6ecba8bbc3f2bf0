//! `cargo xtask spec update` without `--from` reads Microsoft's published beta description.

use std::process::Command;

#[test]
fn update_without_from_downloads_the_published_beta_description() {
    let t = std::env::temp_dir().join(format!("xtask-upstream-default-{}", std::process::id()));
    std::fs::create_dir_all(&t).unwrap();
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    for e in std::fs::read_dir(&spec).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), t.join(e.file_name())).unwrap();
    }
    // A proxy that refuses at once: the test never reaches the internet, and says where it went.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec", "update", "--spec-dir"])
        .arg(&t)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&t);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("download of {} failed", xtask::UPSTREAM_BETA_URL)),
        "{stderr}"
    );
}
