//! The audio thread of an unprivileged user: its own SCHED_FIFO request is refused (RLIMIT_RTPRIO
//! 0), so the engine asks rtkit over D-Bus, from a worker thread, and says once what came of it.
//! Runs `play` as `nobody` (setpriv) on the null output (our own audio thread), with a real
//! dbus-daemon standing in for the system bus.

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A dbus-daemon run as `nobody` on a socket in `dir`; killed on drop.
struct Bus {
    child: std::process::Child,
    address: String,
}

impl Bus {
    fn start(dir: &std::path::Path) -> Self {
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let child = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "dbus-daemon",
            ])
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the bus never came up"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Self { child, address }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Without rtkit on the bus the request fails: the thread stays SCHED_OTHER, `play --json` says
/// so, and the one notice names both refusals (the thread's own and rtkit's).
#[test]
fn a_refused_promotion_asks_rtkit_and_says_what_came_of_it() {
    if skip_unless(
        "a_refused_promotion_asks_rtkit_and_says_what_came_of_it",
        is_root() && have("setpriv") && have("dbus-daemon") && have("prlimit"),
        "root (to run the player as nobody), setpriv, prlimit and dbus-daemon",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rusty-audio-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.1, 1.0));
    std::fs::set_permissions(&tone, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bus = Bus::start(&dir);

    let o = Command::new("prlimit")
        .args(["--rtprio=0:0", "--"])
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(bin())
        .args(["play", "--json", "--output", "null"])
        .arg(&tone)
        .env("HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir)
        .env("XDG_CACHE_HOME", &dir)
        .env("RUSTY_AUDIO_RTKIT_BUS", &bus.address)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("the JSON summary");
    let thread = &j["audio_thread"];
    assert_eq!(thread["policy"], "SCHED_OTHER", "{j}");
    assert!(thread["refused"].is_string(), "{j}");
    assert!(thread["granted_by"].is_null(), "{j}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("without real-time priority"))
        .collect();
    assert_eq!(notices.len(), 1, "said once: {stderr}");
    assert!(
        notices[0].contains("rtkit: rtkit is not available"),
        "rtkit was asked on the given bus: {stderr}"
    );
    drop(bus);
    let _ = std::fs::remove_dir_all(&dir);
}
