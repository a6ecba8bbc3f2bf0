//! The journal: one JSON line per outcome, so that `apply --resume` after a crash, a Ctrl-C or
//! a partial failure skips exactly the rows already done, and nothing else.
//!
//! Every entry names what it is evidence of: the endpoint (base URL) and tenant the run talked
//! to, and the fingerprint of the row (its target and assignment, see
//! [`Row::fingerprint`](crate::rows::Row::fingerprint)). Reading:
//! - a complete line from another endpoint, or from another tenant when both are known, refuses
//!   the whole journal ([`LoadError::OtherEndpoint`]): its successes say nothing about this run;
//! - the last entry for a row wins (a later failure undoes an earlier success);
//! - only a final line without its newline that starts as every entry does (a torn write: a
//!   crash, a full disk) is ignored, wherever it was cut, even inside a multi-byte character;
//!   any other unreadable line refuses the journal rather than guess.
//!
//! Writing appends one line per entry with a single `write` and `fsync`s it (`sync_data`)
//! before the next row is reported, so at most the line being written can be lost or torn.
//! Loading cuts a torn tail, so the next entry starts on a line of its own, but only after the
//! whole file was found to be a journal of this endpoint and tenant: a file that is not (the
//! CSV file given as `--journal`, say) is refused unchanged, and so are symbolic links, files
//! that are not regular and files over 64 MiB (see `safe_file`). A new journal is created `0600`.
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

mod safe_file;

/// Journal entries carry this format version.
const VERSION: u32 = 1;
/// Larger files are refused unread: the CSV reader's bound (rows.rs), far above what runs over a
/// fleet write (a few hundred bytes per row and run). A 600 MB file was read whole before.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The endpoint and tenant a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The base URL, e.g. `https://graph.microsoft.com/beta`.
    pub endpoint: String,
    /// The tenant id, when the token says (`tid`).
    pub tenant: Option<String>,
}

/// What became of a row, as the journal records it (not the library's bulk `Outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowResult {
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
    pub outcome: RowResult,
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
    pub fn new(binding: &Binding, row: String, line: u64, outcome: RowResult) -> Self {
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
    if !torn_entry(&bytes[complete..]) {
        return Err(LoadError::Unreadable(format!(
            "the journal {shown} is not a journal of this version of autopilot-ra (its last line \
             is not an entry); it was left as it is: pass --journal <new file> to start another"
        )));
    }
    let mut last = HashMap::new();
    for (index, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = index + 1;
        let entry: Entry = serde_json::from_slice(line).map_err(|_| {
            LoadError::Unreadable(format!(
                "the journal {shown} is not a journal of this version of autopilot-ra (line \
                 {number} is not an entry); it was left as it is: pass --journal <new file> to \
                 start another"
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
                crate::characters::escape(&was)
            )));
        }
        last.insert(entry.row.clone(), entry);
    }
    Ok(last)
}

/// Whether `tail`, the end of a file after its last newline, is empty or the start of an entry
/// cut by a crash (every entry begins `{"v":1,`). Only such a tail may be cut: the last line
/// of a CSV file or of anything else given as `--journal` never is.
fn torn_entry(tail: &[u8]) -> bool {
    let head = format!("{{\"v\":{VERSION},");
    tail.starts_with(head.as_bytes()) || head.as_bytes().starts_with(tail)
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
    /// Set by [`Journal::load`] once the whole file is known to be a journal of the run's
    /// binding: nothing in the file is changed before.
    checked: bool,
}

impl Journal {
    /// Opens (or creates, mode 0600) the journal at `path` and locks it for as long as the
    /// `Journal` lives (the run). A journal another run holds is refused, and so is anything that
    /// cannot be one: a symbolic link, a file that is not a regular one, a file over
    /// [`MAX_BYTES`]. Nothing is read or changed yet: [`Journal::load`] does that.
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = crate::characters::escape(&path.display().to_string());
        let file = safe_file::open(path, &shown, MAX_BYTES)?;
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
        Ok(Self {
            file,
            path: path.to_owned(),
            checked: false,
        })
    }

    /// The last entry of each row, from this journal written for `binding`. Only once every
    /// line is found to be an entry for `binding` is a torn last line cut, so the next entry
    /// starts on a line of its own.
    pub fn load(&mut self, binding: &Binding) -> Result<HashMap<String, Entry>, LoadError> {
        let shown = crate::characters::escape(&self.path.display().to_string());
        let bytes = read_bounded(&mut self.file, MAX_BYTES)
            .map_err(|e| LoadError::Unreadable(format!("cannot read the journal {shown}: {e}")))?
            .ok_or_else(|| LoadError::Unreadable(too_large(&shown)))?;
        let last = parse(&bytes, &shown, binding)?;
        let complete = complete_len(&bytes);
        if complete < bytes.len() {
            self.file
                .set_len(complete as u64)
                .and_then(|()| self.file.sync_data())
                .map_err(|e| {
                    LoadError::Unreadable(format!(
                        "cannot repair the torn end of the journal {shown}: {e}"
                    ))
                })?;
        }
        self.checked = true;
        Ok(last)
    }

    /// Appends `entry` as one line and syncs it to disk. Refused before [`Journal::load`] has
    /// found the file to be this run's journal.
    pub fn record(&mut self, entry: &Entry) -> Result<(), String> {
        let shown = || crate::characters::escape(&self.path.display().to_string());
        if !self.checked {
            return Err(format!(
                "the journal {} was not read before writing (a bug): nothing written",
                shown()
            ));
        }
        let mut line = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("cannot write the journal {}: {e}", shown()))
    }
}

fn too_large(shown: &str) -> String {
    format!(
        "the journal {shown} is larger than {} MiB: not a journal of this tool? (left as it is; \
         pass --journal <new file>)",
        MAX_BYTES >> 20
    )
}

/// The whole file through `file` (appends still go to the end, whatever was read), or `None`
/// when it is longer than `limit`.
fn read_bounded(file: &mut std::fs::File, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    file.seek(SeekFrom::Start(0))?;
    read_at_most(file, limit)
}

/// All of `reader`, or `None` when it has more than `limit` bytes: at most one byte past the
/// limit is read, whatever the file is (it may have grown since its size was checked).
fn read_at_most(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
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
        assert!(first.load(&b).unwrap().is_empty());
        let err = Journal::open(&path).unwrap_err();
        assert!(err.contains("another run holds it"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        // The holder reads and writes through its own handle.
        first
            .record(&Entry::new(&b, "r1".into(), 2, RowResult::Verified))
            .unwrap();
        assert_eq!(first.load(&b).unwrap()["r1"].outcome, RowResult::Verified);
        drop(first);
        let mut second = Journal::open(&path).unwrap();
        assert_eq!(second.load(&b).unwrap().len(), 1);
    }

    fn write(path: &Path, binding: &Binding, entries: &[(&str, RowResult)]) {
        let mut journal = Journal::open(path).unwrap();
        journal.load(binding).unwrap();
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
                ("r1", RowResult::Verified),
                ("r2", RowResult::Failed),
                ("r1", RowResult::Failed),
                ("r2", RowResult::Verified),
            ],
        );
        let last = load(&path, &b).unwrap();
        assert_eq!(last["r1"].outcome, RowResult::Failed);
        assert_eq!(last["r2"].outcome, RowResult::Verified);
    }

    #[test]
    fn another_endpoint_or_tenant_is_refused() {
        let path = temp("other.jsonl");
        let written = binding("http://127.0.0.1:9/beta", Some("t1"));
        write(&path, &written, &[("r1", RowResult::Verified)]);
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
        write(&path, &b, &[("r1", RowResult::Verified)]);
        let whole = serde_json::to_string(&Entry {
            detail: Some("Salle de réunion — 4ᵉ étage".into()),
            ..Entry::new(&b, "r2".into(), 3, RowResult::Verified)
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
        write(&path, &b, &[("r3", RowResult::Failed)]);
        let last = load(&path, &b).unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(last["r3"].outcome, RowResult::Failed);
    }

    #[test]
    fn a_damaged_middle_line_is_refused() {
        let b = binding("https://graph.microsoft.com/beta", None);
        let path = temp("middle.jsonl");
        write(&path, &b, &[("r1", RowResult::Verified)]);
        let good = std::fs::read(&path).unwrap();
        let bytes = [good.as_slice(), b"{\"v\":1,\"endp\n", good.as_slice()].concat();
        std::fs::write(&path, bytes).unwrap();
        let err = load(&path, &b).unwrap_err();
        assert!(err.to_string().contains("line 2 is not an entry"), "{err}");
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        // An endless reader: reading it whole would never end.
        assert_eq!(read_at_most(std::io::repeat(b'x'), 1000).unwrap(), None);
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap().unwrap(), b"abc");
        assert_eq!(read_at_most(&b"abcd"[..], 3).unwrap(), None);
    }

    #[test]
    fn nothing_is_written_before_the_journal_was_read() {
        // Kills `delete !` in `if !self.checked` (record before load would append to any file).
        let b = binding("https://graph.microsoft.com/beta", None);
        let path = temp("unchecked.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        let err = journal
            .record(&Entry::new(&b, "r1".into(), 2, RowResult::Verified))
            .unwrap_err();
        assert!(err.contains("not read before writing"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn a_last_line_that_is_no_entry_is_refused_and_kept() {
        let b = binding("https://graph.microsoft.com/beta", None);
        for text in ["room-1,Room 1", "{\"v\":2,", "\n  ", "{\"x\":1}"] {
            let path = temp("tail.jsonl");
            std::fs::write(&path, text).unwrap();
            let err = Journal::open(&path).unwrap().load(&b).unwrap_err();
            assert!(err.to_string().contains("not a journal"), "{text:?}: {err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        // Each cut of an entry is torn, down to its first byte.
        for tail in ["{", "{\"v\":1", "{\"v\":1,\"endpoint\":\"ht"] {
            assert!(torn_entry(tail.as_bytes()), "{tail}");
        }
    }
}
