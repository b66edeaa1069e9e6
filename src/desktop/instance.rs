//! One instance per user: the first app listens on a Unix socket in the user's runtime directory;
//! `rusty-audio FILE…` while it runs hands the files over (appended; with `--play` the first of
//! them starts), the running window comes to the front, and the second process exits 0 without a
//! window of its own. `--new-window` opts out.
//!
//! Why a socket and not D-Bus: it works without a session bus (a bare X session, a remote
//! desktop), answers within milliseconds, and its file says which instance is live. Protocol: the
//! second instance connects, writes one JSON line `{"files": [...absolute paths], "play": bool}`,
//! and waits (at most `ANSWER_WITHIN`) for the line `ok`. A socket file nobody answers on is left
//! by a crashed instance: it is replaced.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Outbox, Request};

/// How long a second instance waits for the running one to answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// Longest request line accepted (a few thousand paths).
const MAX_REQUEST: u64 = 1 << 20;

#[derive(serde::Serialize, serde::Deserialize)]
struct Handover {
    files: Vec<PathBuf>,
    play: bool,
}

/// The socket of this user's instance: `RUSTY_AUDIO_INSTANCE_SOCKET` when set (tests, or two
/// independent profiles), else `$XDG_RUNTIME_DIR/rusty-audio/instance`, else
/// `/tmp/rusty-audio-UID/instance` (the directory made private to the user).
#[must_use]
pub fn socket_path() -> PathBuf {
    if let Some(p) = std::env::var_os("RUSTY_AUDIO_INSTANCE_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("rusty-audio"))
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            PathBuf::from(format!("/tmp/rusty-audio-{uid}"))
        });
    dir.join("instance")
}

/// Hand `files` (made absolute against this process's directory) to the running instance at
/// `socket`. `Ok(true)`: it took them; `Ok(false)`: no instance runs there (start one);
/// `Err`: one runs but did not answer as it should (the message says why).
pub fn hand_over(socket: &Path, files: &[PathBuf], play: bool) -> Result<bool, String> {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(_) => return Ok(false),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let files = files
        .iter()
        .map(|f| {
            if f.is_absolute() {
                f.clone()
            } else {
                cwd.join(f)
            }
        })
        .collect();
    let mut line = serde_json::to_vec(&Handover { files, play }).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let talk = |stream: &mut UnixStream| -> std::io::Result<String> {
        stream.set_write_timeout(Some(ANSWER_WITHIN))?;
        stream.set_read_timeout(Some(ANSWER_WITHIN))?;
        stream.write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(stream.take(64)).read_line(&mut answer)?;
        Ok(answer)
    };
    match talk(&mut stream) {
        Ok(a) if a.trim() == "ok" => Ok(true),
        Ok(a) => Err(format!(
            "the running instance ({}) answered {:?}",
            socket.display(),
            a.trim()
        )),
        Err(e) => Err(format!(
            "the running instance ({}) did not answer: {e}",
            socket.display()
        )),
    }
}

/// The running instance's end: accepts hand-overs on its own thread (each connection served on a
/// short thread of its own, so a client that never writes holds up nobody) and posts them as
/// requests. Dropping it stops the thread and removes the socket file, if it is still ours.
pub struct Listener {
    path: PathBuf,
    /// (device, inode) of the socket file we bound: what Drop may remove.
    bound: (u64, u64),
    /// The listening socket (the thread accepts on a duplicate of it): Drop shuts it down to
    /// end the thread's blocking `accept`.
    socket: UnixListener,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Make `dir` (this user's, mode 0700) or check an existing one is: another user's directory, or
/// one others may write, could receive the hand-over instead of us.
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        return Err(format!("cannot make {}: {e}", dir.display()));
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a private directory of this user; not listening there",
            dir.display()
        ));
    }
    Ok(())
}

impl Listener {
    /// Listen at `socket`, replacing a stale socket file (one nobody answers on). Fails when
    /// another instance is live there (the caller hands over to it instead), when something that
    /// is not a socket is in the way (left alone), or the directory is not private.
    pub fn start(socket: &Path, outbox: Outbox) -> Result<Self, String> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        if let Some(dir) = socket.parent() {
            private_dir(dir)?;
        }
        let listener = match UnixListener::bind(socket) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let is_socket =
                    std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket());
                match UnixStream::connect(socket) {
                    Ok(_) => {
                        return Err(format!("another instance listens at {}", socket.display()))
                    }
                    // Left by an instance that crashed: a socket nobody answers on.
                    Err(e) if is_socket && e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        std::fs::remove_file(socket)
                            .map_err(|e| format!("cannot replace {}: {e}", socket.display()))?;
                    }
                    Err(e) => {
                        return Err(format!(
                            "{} is in the way and not a stale socket ({e}); left alone",
                            socket.display()
                        ))
                    }
                }
                UnixListener::bind(socket)
                    .map_err(|e| format!("cannot listen at {}: {e}", socket.display()))?
            }
            Err(e) => return Err(format!("cannot listen at {}: {e}", socket.display())),
        };
        let bound = std::fs::symlink_metadata(socket)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        let accepting = listener
            .try_clone()
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rusty-audio-instance".into())
            .spawn(move || {
                for conn in accepting.incoming() {
                    if stop2.load(Ordering::Acquire) {
                        return;
                    }
                    match conn {
                        Ok(conn) => {
                            let outbox = outbox.clone();
                            let _ = std::thread::Builder::new()
                                .name("rusty-audio-handover".into())
                                .spawn(move || serve(conn, &outbox));
                        }
                        // Shut down (Drop), or the socket is gone: stop.
                        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return,
                        Err(_) => {}
                    }
                }
            })
            .map_err(|e| format!("no thread for the instance listener: {e}"))?;
        Ok(Self {
            path: socket.to_path_buf(),
            bound,
            socket: listener,
            stop,
            thread: Some(thread),
        })
    }
}

/// One hand-over: read its line, post its files and a raise, answer `ok` (or why not).
fn serve(mut conn: UnixStream, outbox: &Outbox) {
    let _ = conn.set_read_timeout(Some(ANSWER_WITHIN));
    let _ = conn.set_write_timeout(Some(ANSWER_WITHIN));
    let mut line = String::new();
    let read = match conn.try_clone() {
        Ok(c) => BufReader::new(c.take(MAX_REQUEST)).read_line(&mut line),
        Err(e) => Err(e),
    };
    let answer = match read.map_err(|e| e.to_string()).and_then(|_| {
        serde_json::from_str::<Handover>(&line).map_err(|e| format!("bad request: {e}"))
    }) {
        Ok(h) => {
            if !h.files.is_empty() {
                outbox.post(Request::Open {
                    files: h.files,
                    play: h.play,
                });
            }
            outbox.post(Request::Raise);
            "ok\n".to_string()
        }
        Err(why) => format!("error: {why}\n"),
    };
    let _ = conn.write_all(answer.as_bytes());
}

impl Drop for Listener {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        self.stop.store(true, Ordering::Release);
        // End the blocking accept: shutting the listening socket down (both descriptors share
        // it) makes the thread's accept fail at once.
        // SAFETY: `self.socket` is owned by this struct, so its descriptor is open for the whole
        // call; shutdown changes the socket's state and touches no memory of ours.
        unsafe { libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Only the socket we bound: after a stale-socket replacement by another instance (or a
        // cleaner), the path may be someone else's now.
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.bound) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_socket(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rusty-audio-inst-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("instance")
    }

    /// A hand-over reaches the listener's inbox in order (files, then raise), relative paths
    /// made absolute; without a listener the caller is told to start one; a stale socket file
    /// (nobody answering) is replaced; a second listener on a live socket is refused.
    #[test]
    fn hand_over_reaches_the_running_instance() {
        let socket = temp_socket("handover");
        assert_eq!(
            hand_over(&socket, &[PathBuf::from("a.flac")], true),
            Ok(false)
        );
        let (outbox, inbox) = super::super::channel(Arc::new(|| {}));
        let listener = Listener::start(&socket, outbox.clone()).unwrap();
        assert!(
            Listener::start(&socket, outbox.clone()).is_err(),
            "one live instance"
        );
        assert_eq!(
            hand_over(&socket, &[PathBuf::from("a.flac")], true),
            Ok(true)
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            inbox.drain(),
            [
                Request::Open {
                    files: vec![cwd.join("a.flac")],
                    play: true
                },
                Request::Raise
            ]
        );
        assert_eq!(hand_over(&socket, &[], false), Ok(true));
        assert_eq!(inbox.drain(), [Request::Raise]);
        drop(listener);
        assert!(!socket.exists(), "removed on drop");
        // A crashed instance's socket file: bound but nobody listening.
        let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        drop(stale);
        assert!(socket.exists());
        assert_eq!(hand_over(&socket, &[], false), Ok(false));
        let again = Listener::start(&socket, outbox).unwrap();
        assert_eq!(hand_over(&socket, &[], true), Ok(true));
        drop(again);
    }

    /// Garbage on the socket is answered with an error line and posts nothing.
    #[test]
    fn a_bad_request_is_refused_and_posts_nothing() {
        let socket = temp_socket("bad");
        let (outbox, inbox) = super::super::channel(Arc::new(|| {}));
        let _listener = Listener::start(&socket, outbox).unwrap();
        let mut s = UnixStream::connect(&socket).unwrap();
        s.write_all(b"not json\n").unwrap();
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).unwrap();
        assert!(answer.starts_with("error: bad request"), "{answer}");
        assert!(inbox.drain().is_empty());
    }

    /// A client that connects and never writes does not hold up the next hand-over; a file
    /// that is not a socket where the socket should be is left alone (not deleted).
    #[test]
    fn a_silent_client_blocks_nobody_and_a_file_in_the_way_is_kept() {
        let socket = temp_socket("silent");
        let (outbox, inbox) = super::super::channel(Arc::new(|| {}));
        let listener = Listener::start(&socket, outbox.clone()).unwrap();
        let _silent = UnixStream::connect(&socket).unwrap();
        assert_eq!(hand_over(&socket, &[], true), Ok(true));
        assert_eq!(inbox.drain(), [Request::Raise]);
        drop(listener);
        std::fs::write(&socket, "a user's file").unwrap();
        assert!(Listener::start(&socket, outbox).is_err());
        assert_eq!(std::fs::read_to_string(&socket).unwrap(), "a user's file");
    }
}
