//! Replace a set of files (spec/ and the crate's snapshots) as one change: all of them, or none.
//!
//! What a reader can rely on (documented in xtask/README.md, tested in `tests/swap.rs` and
//! `tests/all_or_nothing.rs`):
//! - Every target is checked first: it must be a regular file (not a folder, not a symlink,
//!   which a rename would replace without following) or absent, in an existing folder.
//! - Each new content is written to a temporary file beside its target (`.NAME.tmp-PID`),
//!   flushed to disk; if any check or write fails, the temporary files are removed and nothing
//!   is renamed: every target keeps its bytes.
//! - Then the temporary files are renamed over their targets in the order given, so at every
//!   instant each name holds its complete old or its complete new content, never a part. If a
//!   rename fails part-way, the targets already replaced get their old bytes back the same way.
//! - Directories themselves are never moved, removed or recreated; nothing else is touched.

use std::path::{Path, PathBuf};

/// One file to replace: where, and its new content.
pub struct Target {
    pub path: PathBuf,
    pub text: String,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> String {
    format!("cannot {what} {}: {e}", p.display())
}

fn tmp_of(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_tmp(target: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
    use std::io::Write;
    let t = tmp_of(target);
    // create_new: a leftover temp of a killed run with our pid (or a planted symlink) is
    // refused rather than written through.
    let _ = std::fs::remove_file(&t);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&t)
        .map_err(|e| io("write", &t, e))?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        let _ = std::fs::remove_file(&t);
        return Err(io("write", &t, e));
    }
    Ok(t)
}

/// Refuse a target that is not ours to replace, before anything is written.
fn check(target: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) => Err(format!(
            "cannot replace {}: it is a {}, not a regular file; nothing written",
            target.display(),
            if m.is_dir() {
                "folder"
            } else {
                "symlink or special file"
            }
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match target.parent().map(std::fs::metadata) {
                Some(Ok(p)) if p.is_dir() => Ok(()),
                _ => Err(format!(
                    "cannot write {}: its folder does not exist; nothing written",
                    target.display()
                )),
            }
        }
        Err(e) => Err(io("inspect", target, e)),
    }
}

/// Replace every target, or none (see the module docs).
pub fn all_or_nothing(targets: &[Target]) -> Result<(), String> {
    if targets.is_empty() {
        return Ok(());
    }
    for t in targets {
        check(&t.path)?;
    }
    // Old contents, to put back if a rename fails part-way.
    let old: Vec<Option<Vec<u8>>> = targets
        .iter()
        .map(|t| std::fs::read(&t.path).ok())
        .collect();
    let mut tmps = Vec::with_capacity(targets.len());
    for t in targets {
        match write_tmp(&t.path, t.text.as_bytes()) {
            Ok(p) => tmps.push(p),
            Err(e) => {
                for p in &tmps {
                    let _ = std::fs::remove_file(p);
                }
                return Err(e);
            }
        }
    }
    for (i, (t, tmp)) in targets.iter().zip(&tmps).enumerate() {
        if let Err(e) = std::fs::rename(tmp, &t.path) {
            for p in &tmps[i..] {
                let _ = std::fs::remove_file(p);
            }
            // Undo, newest first: each replaced file gets its old bytes back (or goes, if it
            // did not exist before).
            for (done, before) in targets[..i].iter().zip(&old[..i]).rev() {
                match before {
                    Some(bytes) => {
                        if let Ok(p) = write_tmp(&done.path, bytes) {
                            let _ = std::fs::rename(&p, &done.path);
                        }
                    }
                    None => {
                        let _ = std::fs::remove_file(&done.path);
                    }
                }
            }
            return Err(io("replace", &t.path, e));
        }
    }
    // The renames themselves reach the disk with their folders.
    #[cfg(unix)]
    {
        let mut dirs: Vec<&Path> = targets.iter().filter_map(|t| t.path.parent()).collect();
        dirs.dedup();
        for d in dirs {
            if let Ok(f) = std::fs::File::open(d) {
                let _ = f.sync_all();
            }
        }
    }
    Ok(())
}
