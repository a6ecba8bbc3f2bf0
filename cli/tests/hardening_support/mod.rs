//! What the hardening tests (journal_safety.rs, token.rs, escaping.rs) share: the binary run
//! with a clean environment, and temporary directories.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");

/// Runs the binary with `args`, no inherited token, proxy or Azure variables, and `env` set.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in [
        "GRAPH_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn both(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// A fresh directory of its own for the test `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autopilot-ra-h-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `rooms.csv` in `dir`: one row per device `dev-{i}`.
pub fn rooms_csv(dir: &Path, ids: impl IntoIterator<Item = usize>) -> PathBuf {
    let mut text =
        String::from("device_id,user_principal_name,addressable_user_name,resource_account_name\n");
    for i in ids {
        text.push_str(&format!("dev-{i},room-{i}@contoso.com,Room {i},room-{i}\n"));
    }
    let path = dir.join("rooms.csv");
    std::fs::write(&path, text).unwrap();
    path
}
