//! Small helpers shared by the CLI and the app.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// A crash or a full disk leaves the old file intact, never half a new one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp_files() {
        let dir = std::env::temp_dir().join(format!("ra-atomic-{}", std::process::id()));
        let p = dir.join("s.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // A directory in the way: the write fails and the target is untouched.
        let blocked = dir.join("sub");
        std::fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(atomic_write(&blocked, b"no").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Give the calling thread a lower CPU priority (nice +10): for background work the user is not
/// waiting on — the playlist scanner reading 10 000 files' tags, loudness measurement — so that
/// on a machine with few cores it yields to the UI thread and the renderer rather than making
/// frames late. Best effort: where the system refuses, the thread runs at normal priority.
pub fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority on our own thread id changes only
        // that thread's nice value (Linux applies PRIO_PROCESS with a tid per thread).
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
        }
    }
}
