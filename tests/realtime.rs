//! The audio thread of an unprivileged user: its own SCHED_FIFO request is refused (RLIMIT_RTPRIO
//! 0), so the engine asks rtkit over D-Bus, from a worker thread, and says once what came of it.
//! Runs `play` on the null output (our own audio thread) without the privilege (as `nobody`, or as
//! root without CAP_SYS_NICE), against real daemons on a private bus standing in for the system
//! bus: none (rtkit absent), or Debian's rtkit-daemon with polkitd.

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::process::{Command, Stdio};

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
        wait_for("the bus", 10, || socket.exists());
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

/// A private bus configured like the system bus (any user may connect), with polkitd and
/// rtkit-daemon on it, as a desktop has them. Everything is killed on drop.
struct SystemBus {
    children: Vec<std::process::Child>,
    address: String,
    dir: std::path::PathBuf,
}

impl SystemBus {
    /// The bus with polkitd, and rtkit-daemon when `rtkit`.
    fn start(rtkit: bool) -> Self {
        // One per bus: the tests of this binary run at once.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rusty-audio-sysbus-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let address = format!("unix:path={}", socket.display());
        let spawn = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{program}: {e}"))
        };
        let mut bus = Self {
            children: vec![spawn(
                "dbus-daemon",
                &[
                    &format!("--config-file={}", config.display()),
                    "--nofork",
                    "--nopidfile",
                ],
            )],
            address: address.clone(),
            dir,
        };
        wait_for("the bus", 10, || socket.exists());
        bus.children
            .push(spawn("/usr/lib/polkit-1/polkitd", &["--no-debug"]));
        // As root, without its sandbox (chroot, privilege drop, canary, rlimits: none of them
        // matter for a daemon that lives as long as this test).
        if rtkit {
            bus.children.push(spawn(
                "/usr/libexec/rtkit-daemon",
                &[
                    "--no-canary",
                    "--no-chroot",
                    "--no-drop-privileges",
                    "--no-limit-resources",
                ],
            ));
        }
        wait_for("rtkit and polkit on the bus", 10, || {
            let o = Command::new("dbus-send")
                .args([
                    "--system",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/",
                ])
                .arg("org.freedesktop.DBus.ListNames")
                .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
                .output()
                .unwrap();
            let names = String::from_utf8_lossy(&o.stdout);
            (names.contains("org.freedesktop.RealtimeKit1") || !rtkit)
                && names.contains("org.freedesktop.PolicyKit1")
        });
        bus
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The player as a process that may not promote its threads itself: root without CAP_SYS_NICE,
/// RLIMIT_RTPRIO 0; `bus` stands in for the system bus (where it looks for rtkit).
fn unprivileged(bus: &SystemBus) -> Command {
    let mut c = Command::new("prlimit");
    c.args(["--rtprio=0:0", "--"])
        .args([
            "setpriv",
            "--inh-caps=-sys_nice",
            "--bounding-set=-sys_nice",
            "--",
        ])
        .arg(bin())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env_remove("RUSTY_AUDIO_RTKIT_BUS");
    c
}

/// With rtkit on the bus (Debian's rtkit-daemon, authorised by polkitd), a process that may not
/// promote its audio thread itself (root without CAP_SYS_NICE, RLIMIT_RTPRIO 0) gets it made
/// real-time by rtkit: SCHED_RR at our priority, as the kernel reports it, and no refusal said.
#[test]
fn rtkit_makes_the_audio_thread_real_time_when_the_thread_may_not() {
    let tools = ["setpriv", "prlimit", "dbus-daemon", "dbus-send"]
        .iter()
        .all(|t| have(t))
        && std::path::Path::new("/usr/libexec/rtkit-daemon").exists()
        && std::path::Path::new("/usr/lib/polkit-1/polkitd").exists();
    if skip_unless(
        "rtkit_makes_the_audio_thread_real_time_when_the_thread_may_not",
        is_root() && tools,
        "root, setpriv, prlimit, dbus-daemon, rtkit and polkitd",
    ) {
        return;
    }
    let bus = SystemBus::start(true);
    let dir = scratch("realtime_rtkit");
    let tone = dir.join("tone.wav");
    // Long enough for rtkit's answer (milliseconds) to come back while it plays.
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.1, 2.0));
    let o = unprivileged(&bus)
        .args(["play", "--json", "--output", "null"])
        .arg(&tone)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("the JSON summary");
    let thread = &j["audio_thread"];
    assert_eq!(thread["granted_by"], "rtkit", "{j}\n{stderr}");
    assert_eq!(thread["policy"], "SCHED_RR", "{j}");
    assert_eq!(thread["priority"], 20, "{j}");
    assert!(thread["refused"].is_null(), "{j}");
    assert!(
        !stderr.contains("without real-time priority"),
        "nothing to complain about: {stderr}"
    );
}

/// The input thread follows the output's rule (issue 16). `listen` through cpal's PipeWire host
/// (its capture callback runs on a thread of ours) in a process that may not promote it (root
/// without CAP_SYS_NICE, RLIMIT_RTPRIO 0): with rtkit on the bus the thread is made real-time by
/// rtkit, as the kernel reports it; without rtkit the refusal is said once, naming the input
/// thread and both reasons, and the summary says the thread runs without real-time priority.
#[test]
fn rtkit_makes_the_input_thread_real_time_too() {
    let tools = ["setpriv", "prlimit", "dbus-daemon", "dbus-send"]
        .iter()
        .all(|t| have(t))
        && std::path::Path::new("/usr/libexec/rtkit-daemon").exists()
        && std::path::Path::new("/usr/lib/polkit-1/polkitd").exists();
    if skip_without_pulse("rtkit_makes_the_input_thread_real_time_too")
        || skip_unless(
            "rtkit_makes_the_input_thread_real_time_too",
            is_root() && tools,
            "root, setpriv, prlimit, dbus-daemon, rtkit and polkitd",
        )
    {
        return;
    }
    let listen = |bus: &SystemBus| -> (Output, serde_json::Value) {
        let o = unprivileged(bus)
            .args(["--host", "pipewire", "listen", "--input", "monitor"])
            .args(["--seconds", "1", "--json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{stderr}");
        let j = serde_json::from_slice(&o.stdout).expect("the JSON summary");
        (o, j)
    };
    let refusals = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.contains("without real-time priority"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };

    let bus = SystemBus::start(true);
    let (o, j) = listen(&bus);
    let thread = &j["input_thread"];
    assert_eq!(thread["granted_by"], "rtkit", "{j}");
    assert_eq!(thread["policy"], "SCHED_RR", "{j}");
    assert_eq!(thread["priority"], 20, "{j}");
    assert!(thread["refused"].is_null(), "{j}");
    assert_eq!(
        refusals(&o),
        Vec::<String>::new(),
        "nothing to complain about"
    );
    drop(bus);

    let bus = SystemBus::start(false);
    let (o, j) = listen(&bus);
    let thread = &j["input_thread"];
    assert!(thread["granted_by"].is_null(), "{j}");
    assert_eq!(thread["policy"], "SCHED_OTHER", "{j}");
    assert!(thread["refused"].is_string(), "{j}");
    let said = refusals(&o);
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(
        said[0].contains("the input thread") && said[0].contains("rtkit:"),
        "{said:?}"
    );
}
