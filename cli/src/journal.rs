//! The journal: one JSON line per outcome, so that `apply --resume` after a crash, a Ctrl-C or
//! a partial failure skips exactly the rows already done, and nothing else.
//!
//! Every entry names what it is evidence of: the endpoint (base URL) and tenant the run talked
//! to, and the fingerprint of the row (its target and assignment, see
//! [`Row::fingerprint`](crate::rows::Row::fingerprint)). Reading:
//! - a complete line from another endpoint, or from another tenant when both are known, refuses
//!   the whole journal ([`LoadError::OtherEndpoint`]): its successes say nothing about this run;
//! - the last entry for a row wins (a later failure undoes an earlier success);
//! - only a final line without its newline (a torn write: a crash, a full disk) is ignored,
//!   wherever it was cut, even inside a multi-byte character; any other unreadable line refuses
//!   the journal rather than guess.
//!
//! Writing appends one line per entry with a single `write` and `fsync`s it (`sync_data`)
//! before the next row is reported, so at most the line being written can be lost or torn.
//! Opening for append first cuts a torn tail, so the next entry starts on a line of its own.
//!
//! A run holds an exclusive lock on its journal from before it reads it until it ends
//! ([`Journal::open`]): a second run on the same journal would read rows as not done that the
//! first is writing, and interleave its lines with the first's. It is refused instead. The
//! journal is read through the locked handle (on Windows the lock also bars other handles).

use std::collections::HashMap;
use std::fs::TryLockError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Journal entries carry this format version.
const VERSION: u32 = 1;

/// The endpoint and tenant a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The base URL, e.g. `https://graph.microsoft.com/beta`.
    pub endpoint: String,
    /// The tenant id, when the token says (`tid`).
    pub tenant: Option<String>,
}

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The device reports the assignment (written by this run, or already there).
    Verified,
    /// Graph accepted the write (`204`); nothing has read the device since.
    Assigned,
    /// Graph accepted the write; the device did not report it (yet) when the run ended.
    Unverified,
    /// The write or a check failed.
    Failed,
    /// The plan refused the row (not found, ambiguous, profile not assigned, …).
    Blocked,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub v: u32,
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// [`Row::fingerprint`](crate::rows::Row::fingerprint).
    pub row: String,
    /// CSV line, for people reading the journal.
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Seconds since the Unix epoch.
    pub at: u64,
}

impl Entry {
    /// An entry for `binding`, stamped now.
    pub fn new(binding: &Binding, row: String, line: u64, outcome: Outcome) -> Self {
        Self {
            v: VERSION,
            endpoint: binding.endpoint.clone(),
            tenant: binding.tenant.clone(),
            row,
            line,
            serial_number: None,
            device_id: None,
            outcome,
            detail: None,
            status: None,
            request_id: None,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// Why a journal cannot be used. All are one line; the run stops with exit status 2.
#[derive(Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Written against another endpoint or tenant.
    OtherEndpoint(String),
    /// Not a journal of this tool, or damaged before its last line.
    Unreadable(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::OtherEndpoint(m) | LoadError::Unreadable(m) => f.write_str(m),
        }
    }
}

/// The last entry of each row in `bytes`, a journal written for `binding` (`shown` is its name).
fn parse(
    bytes: &[u8],
    shown: &str,
    binding: &Binding,
) -> Result<HashMap<String, Entry>, LoadError> {
    let complete = complete_len(bytes);
    let mut last = HashMap::new();
    for (index, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = index + 1;
        let entry: Entry = serde_json::from_slice(line).map_err(|_| {
            LoadError::Unreadable(format!(
                "the journal {shown} has an unreadable line {number} (not written by this \
                 version of autopilot-ra?); pass --journal <new file> to start another"
            ))
        })?;
        if entry.v != VERSION {
            return Err(LoadError::Unreadable(format!(
                "the journal {shown} line {number} has format version {}; this tool writes {VERSION}",
                entry.v
            )));
        }
        let other_tenant = matches!((&entry.tenant, &binding.tenant), (Some(a), Some(b)) if a != b);
        if entry.endpoint != binding.endpoint || other_tenant {
            let was = match &entry.tenant {
                Some(tenant) => format!("{} (tenant {tenant})", entry.endpoint),
                None => entry.endpoint.clone(),
            };
            return Err(LoadError::OtherEndpoint(format!(
                "the journal {shown} records a run against {}, not this one; pass --journal \
                 <new file> to keep both",
                crate::output::escape(&was)
            )));
        }
        last.insert(entry.row.clone(), entry);
    }
    Ok(last)
}

/// Length of the part of `bytes` made of complete (newline-terminated) lines.
fn complete_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// An open journal, appending one synced line per entry.
#[derive(Debug)]
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and locks it for as long as the `Journal` lives
    /// (the run), then cuts a torn last line. A journal another run holds is refused.
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = crate::output::escape(&path.display().to_string());
        let existed = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| format!("cannot open the journal {shown}: {e}"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "the journal {shown} is in use: another run holds it (wait for it to end, \
                     or pass --journal <another file>)"
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock the journal {shown}: {e}"));
            }
        }
        let bytes =
            read_all(&mut file).map_err(|e| format!("cannot read the journal {shown}: {e}"))?;
        let complete = complete_len(&bytes);
        if complete < bytes.len() {
            file.set_len(complete as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| format!("cannot repair the torn end of the journal {shown}: {e}"))?;
        }
        if !existed {
            sync_parent(path);
        }
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    /// The last entry of each row, from this journal written for `binding`.
    pub fn load(&mut self, binding: &Binding) -> Result<HashMap<String, Entry>, LoadError> {
        let shown = crate::output::escape(&self.path.display().to_string());
        let bytes = read_all(&mut self.file)
            .map_err(|e| LoadError::Unreadable(format!("cannot read the journal {shown}: {e}")))?;
        parse(&bytes, &shown, binding)
    }

    /// Appends `entry` as one line and syncs it to disk.
    pub fn record(&mut self, entry: &Entry) -> Result<(), String> {
        let mut line = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| {
                format!(
                    "cannot write the journal {}: {e}",
                    crate::output::escape(&self.path.display().to_string())
                )
            })
    }
}

/// The whole file, through `file` (appends still go to the end, whatever was read).
fn read_all(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Makes a new journal's directory entry durable too (best effort; not possible everywhere).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(endpoint: &str, tenant: Option<&str>) -> Binding {
        Binding {
            endpoint: endpoint.into(),
            tenant: tenant.map(str::to_owned),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("autopilot-ra-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    fn load(path: &Path, binding: &Binding) -> Result<HashMap<String, Entry>, LoadError> {
        parse(&std::fs::read(path).unwrap(), "journal", binding)
    }

    #[test]
    fn a_journal_is_held_by_one_run_at_a_time() {
        let b = binding("https://graph.microsoft.com/beta", None);
        let path = temp("held.jsonl");
        let mut first = Journal::open(&path).unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(err.contains("another run holds it"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        // The holder reads and writes through its own handle.
        first
            .record(&Entry::new(&b, "r1".into(), 2, Outcome::Verified))
            .unwrap();
        assert_eq!(first.load(&b).unwrap()["r1"].outcome, Outcome::Verified);
        drop(first);
        let mut second = Journal::open(&path).unwrap();
        assert_eq!(second.load(&b).unwrap().len(), 1);
    }

    fn write(path: &Path, binding: &Binding, entries: &[(&str, Outcome)]) {
        let mut journal = Journal::open(path).unwrap();
        for (row, outcome) in entries {
            journal
                .record(&Entry::new(binding, (*row).into(), 2, *outcome))
                .unwrap();
        }
    }

    #[test]
    fn the_last_entry_of_a_row_wins() {
        let path = temp("last.jsonl");
        let b = binding("https://graph.microsoft.com/beta", Some("t1"));
        write(
            &path,
            &b,
            &[
                ("r1", Outcome::Verified),
                ("r2", Outcome::Failed),
                ("r1", Outcome::Failed),
                ("r2", Outcome::Verified),
            ],
        );
        let last = load(&path, &b).unwrap();
        assert_eq!(last["r1"].outcome, Outcome::Failed);
        assert_eq!(last["r2"].outcome, Outcome::Verified);
    }

    #[test]
    fn another_endpoint_or_tenant_is_refused() {
        let path = temp("other.jsonl");
        let written = binding("http://127.0.0.1:9/beta", Some("t1"));
        write(&path, &written, &[("r1", Outcome::Verified)]);
        let err = load(
            &path,
            &binding("https://graph.microsoft.com/beta", Some("t1")),
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::OtherEndpoint(_)), "{err}");
        assert!(err.to_string().contains("http://127.0.0.1:9/beta"), "{err}");
        let err = load(&path, &binding("http://127.0.0.1:9/beta", Some("t2"))).unwrap_err();
        assert!(err.to_string().contains("tenant t1"), "{err}");
        // A token without a tenant claim cannot contradict the journal.
        assert!(load(&path, &binding("http://127.0.0.1:9/beta", None)).is_ok());
    }

    #[test]
    fn a_journal_of_the_old_example_is_not_trusted() {
        let path = temp("old.jsonl");
        std::fs::write(
            &path,
            "{\"device_id\":\"d\",\"line\":2,\"outcome\":\"succeeded\",\"at\":1}\n",
        )
        .unwrap();
        let err = load(&path, &binding("https://graph.microsoft.com/beta", None)).unwrap_err();
        assert!(matches!(err, LoadError::Unreadable(_)), "{err}");
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let b = binding("https://graph.microsoft.com/beta", None);
        let path = temp("torn.jsonl");
        write(&path, &b, &[("r1", Outcome::Verified)]);
        let whole = serde_json::to_string(&Entry {
            detail: Some("Salle de réunion — 4ᵉ étage".into()),
            ..Entry::new(&b, "r2".into(), 3, Outcome::Verified)
        })
        .unwrap();
        let good = std::fs::read(&path).unwrap();
        // Cut everywhere, including inside each multi-byte character.
        for cut in 0..whole.len() {
            let mut bytes = good.clone();
            bytes.extend_from_slice(&whole.as_bytes()[..cut]);
            std::fs::write(&path, &bytes).unwrap();
            let last = load(&path, &b).unwrap();
            assert_eq!(last.len(), 1, "cut at {cut}");
            assert!(last.contains_key("r1"));
        }
        // Appending after a torn tail starts a fresh line.
        write(&path, &b, &[("r3", Outcome::Failed)]);
        let last = load(&path, &b).unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(last["r3"].outcome, Outcome::Failed);
    }

    #[test]
    fn a_damaged_middle_line_is_refused() {
        let b = binding("https://graph.microsoft.com/beta", None);
        let path = temp("middle.jsonl");
        write(&path, &b, &[("r1", Outcome::Verified)]);
        let good = std::fs::read(&path).unwrap();
        let bytes = [good.as_slice(), b"{\"v\":1,\"endp\n", good.as_slice()].concat();
        std::fs::write(&path, bytes).unwrap();
        let err = load(&path, &b).unwrap_err();
        assert!(err.to_string().contains("unreadable line 2"), "{err}");
    }
}
