//! Opening the journal file without harming anything that is not one: a symbolic link is never
//! followed (a link at the journal's path could aim its writes at any file the user can write),
//! only a regular file of bounded size is opened, and a new file is created `0600` (it names
//! the tenant and every device of the run) with `create_new`, so nothing that appeared in the
//! meantime is taken over.

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

/// Opens the file at `path` for reading and appending, creating it when there is none.
/// `shown` is its escaped name for messages; a file longer than `max_bytes` is refused unread.
pub(super) fn open(path: &Path, shown: &str, max_bytes: u64) -> Result<File, String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => check(&meta, shown, max_bytes)?,
        Err(e) if e.kind() == ErrorKind::NotFound => match options().create_new(true).open(path) {
            Ok(file) => {
                sync_parent(path);
                return Ok(file);
            }
            // Created since we looked: open it as an existing file, with the same checks.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create the journal {shown}: {e}")),
        },
        Err(e) => return Err(format!("cannot open the journal {shown}: {e}")),
    }
    let file = options().open(path).map_err(|e| {
        // O_NOFOLLOW refuses a link that replaced the file since we looked (ELOOP).
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => symlink(shown),
            _ => format!("cannot open the journal {shown}: {e}"),
        }
    })?;
    // Again on what was opened: the path may name another file than the one looked at.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot open the journal {shown}: {e}"))?;
    check(&meta, shown, max_bytes)?;
    Ok(file)
}

/// Read and append; on unix, new files `0600` and never through a symbolic link.
fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options
}

/// A symbolic link, anything but a regular file, or a file over `max_bytes` is refused.
fn check(meta: &Metadata, shown: &str, max_bytes: u64) -> Result<(), String> {
    if meta.file_type().is_symlink() {
        Err(symlink(shown))
    } else if !meta.is_file() {
        Err(format!(
            "the journal {shown} is not a regular file; pass --journal <new file>"
        ))
    } else if meta.len() > max_bytes {
        Err(super::too_large(shown))
    } else {
        Ok(())
    }
}

fn symlink(shown: &str) -> String {
    format!(
        "the journal {shown} is a symbolic link: refused, a journal is never written through \
         one (pass the file it points to, or --journal <new file>)"
    )
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
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::open;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("autopilot-ra-safe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    /// Kills `check -> Ok(())` and `>` replaced by `>=` or `==` in `check`: the limit itself is
    /// allowed, one byte more is refused at open, before any read.
    #[test]
    fn the_size_bound_is_checked_at_open() {
        let path = temp("bound.jsonl");
        std::fs::write(&path, "0123456789").unwrap();
        assert!(open(&path, "j", 10).is_ok());
        let err = open(&path, "j", 9).unwrap_err();
        assert!(err.contains("larger than"), "{err}");
        assert!(open(&path, "j", 8).is_err());
    }

    /// Kills the `NotFound` guard replaced by `true`: only a missing file is created.
    #[test]
    fn a_path_that_cannot_be_looked_at_is_not_created() {
        let file = temp("plain.txt");
        std::fs::write(&file, "x").unwrap();
        let err = open(&file.join("journal.jsonl"), "j", 10).unwrap_err();
        assert!(err.starts_with("cannot open the journal j: "), "{err}");
    }
}
