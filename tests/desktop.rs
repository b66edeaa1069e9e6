//! The app as a desktop citizen, all real parts: a session bus from `dbus-run-session`, the real
//! binary in a real window under Xvfb playing into the test server's null sink (recorded back),
//! driven by `playerctl` (MPRIS) and by a second `rusty-audio FILE --play` (single instance).

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pieces a test needs: a display, a session bus and the environment pointing at both.
struct Desk {
    display: String,
    bus: String,
    dir: PathBuf,
    _xvfb: Killer,
    _session: Killer,
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.end_session();
        // Let dbus-run-session stop its bus daemon and exit before `_session` is dropped: killing
        // it mid-way (as the drop would) left one dbus-daemon behind per run now and then.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self._session.0.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Desk {
    fn start(tag: &str) -> Self {
        let dir = scratch(tag);
        let (xvfb, display) = start_xvfb();
        // A session bus of its own, from dbus-run-session, alive while its child sleeps.
        let addr_file = dir.join("bus-address");
        let pid_file = dir.join("bus-child.pid");
        let _ = std::fs::remove_file(&addr_file);
        let session = Killer(
            Command::new("dbus-run-session")
                .args(["--", "sh", "-c"])
                .arg(format!(
                    "echo $$ > '{}'; echo \"$DBUS_SESSION_BUS_ADDRESS\" > '{}'; exec sleep 600",
                    pid_file.display(),
                    addr_file.display()
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut bus = String::new();
        wait_for("the session bus", 20, || {
            bus = std::fs::read_to_string(&addr_file)
                .unwrap_or_default()
                .trim()
                .to_string();
            !bus.is_empty()
        });
        Self {
            display,
            bus,
            dir,
            _xvfb: xvfb,
            _session: session,
        }
    }

    /// End the session bus the way dbus-run-session expects: its child exits, and it stops the
    /// bus daemon (killing dbus-run-session itself would leave the daemon behind).
    fn end_session(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("bus-child.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }

    /// A command with this desk's display, bus, private settings, cache and instance socket.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("RUSTY_AUDIO_CONFIG_DIR", self.dir.join("config"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            // In a directory of its own: the app insists on a private (0700) one.
            .env("RUSTY_AUDIO_INSTANCE_SOCKET", self.dir.join("run/instance"));
        c
    }

    /// Call a method of `org.mpris.MediaPlayer2` on the app (what playerctl has no verb for);
    /// whether the call was answered.
    fn mpris_call(&self, method: &str) -> bool {
        self.cmd("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.mpris.MediaPlayer2.rusty_audio",
                "/org/mpris/MediaPlayer2",
            ])
            .arg(format!("org.mpris.MediaPlayer2.{method}"))
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    fn playerctl(&self, args: &[&str]) -> String {
        self.try_playerctl(args)
            .unwrap_or_else(|e| panic!("playerctl {args:?}: {e}"))
    }

    /// playerctl's answer, or its complaint (a metadata key not there yet fails).
    fn try_playerctl(&self, args: &[&str]) -> Result<String, String> {
        let o = self
            .cmd("playerctl")
            .args(["-p", "rusty_audio"])
            .args(args)
            .output()
            .unwrap();
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
        }
    }

    fn windows(&self) -> usize {
        let o = self
            .cmd("xdotool")
            .args(["search", "--onlyvisible", "--name", "^Rusty Audio$"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).lines().count()
    }
}

/// `dir/name`: a FLAC of `first` Hz for 20 s then `second` Hz for 20 s (−14 dBFS), tagged, with a
/// cover picture.
fn tagged_flac(dir: &Path, name: &str, title: &str, first: f64, second: f64) -> PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    let mut s = sine(48_000, 2, first, 0.2, 20.0);
    s.extend(sine(48_000, 2, second, 0.2, 20.0));
    write_wav_i16(&wav, 48_000, 2, &s);
    let flac = dir.join(format!("{name}.flac"));
    let ok = Command::new("flac")
        .args(["-s", "-f", "-o"])
        .arg(&flac)
        .arg(&wav)
        .status()
        .unwrap()
        .success();
    assert!(ok, "flac encodes");
    let cover = dir.join("cover.png");
    if !cover.exists() {
        assert!(Command::new("convert")
            .args(["-size", "32x32", "xc:orange"])
            .arg(&cover)
            .status()
            .unwrap()
            .success());
    }
    let ok = Command::new("metaflac")
        .arg(format!("--set-tag=TITLE={title}"))
        .arg("--set-tag=ARTIST=The Testers")
        .arg("--set-tag=ALBUM=Real Parts")
        .arg(format!("--import-picture-from={}", cover.display()))
        .arg(&flac)
        .status()
        .unwrap()
        .success();
    assert!(ok, "metaflac tags");
    flac
}

/// The tone's frequency from the median period between upward zero crossings of the left
/// channel. The median, not a count over the whole stretch: a dropout of the loaded VM's sound
/// server (silence or a jump) spoils only the few periods it touches, so which tone plays is
/// still read right; gaps are e2e_pulse's subject, not this test's.
fn frequency(stereo: &[f32]) -> f64 {
    let left: Vec<f32> = stereo.iter().step_by(2).copied().collect();
    let ups: Vec<f64> = left
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        // The crossing, interpolated between the two samples.
        .map(|(i, w)| i as f64 + f64::from(-w[0]) / f64::from(w[1] - w[0]))
        .collect();
    let mut periods: Vec<f64> = ups.windows(2).map(|w| w[1] - w[0]).collect();
    if periods.is_empty() {
        return 0.0;
    }
    periods.sort_by(f64::total_cmp);
    48_000.0 / periods[periods.len() / 2]
}

/// The level in dB from the median of 10 ms blocks' mean square, for the same reason: a dropout
/// spoils a few blocks, not the reading.
fn rms_db(stereo: &[f32]) -> f64 {
    let mut blocks: Vec<f64> = stereo
        .chunks(960)
        .map(|b| b.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / b.len() as f64)
        .collect();
    if blocks.is_empty() {
        return -200.0;
    }
    blocks.sort_by(f64::total_cmp);
    10.0 * blocks[blocks.len() / 2].max(1e-20).log10()
}

/// The next `seconds` of the sink, from the moment this is called (the recording runs all along;
/// we wait for its file to grow, not for a clock).
fn next_audio(raw: &Path, seconds: f64) -> Vec<f32> {
    let from = read_f32_raw(raw).len();
    let want = (seconds * 48_000.0) as usize * 2;
    wait_for("the sink to record", 30, || {
        read_f32_raw(raw).len() >= from + want
    });
    read_f32_raw(raw)[from..from + want].to_vec()
}

/// One app at a time plays into the shared sink (the media-keys test listens to it).
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn media_keys_and_a_second_instance_drive_the_running_app() {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tools = [
        "Xvfb",
        "xdotool",
        "dbus-run-session",
        "dbus-send",
        "dbus-monitor",
        "playerctl",
        "flac",
        "metaflac",
        "convert",
    ];
    if skip_unless(
        "media_keys_and_a_second_instance_drive_the_running_app",
        tools.iter().all(|t| have(t)) && pulse_running(),
        "Xvfb, xdotool, dbus-run-session, playerctl, flac/metaflac, ImageMagick and the test sound server",
    ) {
        return;
    }
    let desk = Desk::start("desktop_mpris");
    let a = tagged_flac(&desk.dir, "a", "Song A", 440.0, 880.0);
    let b = tagged_flac(&desk.dir, "b", "Song B", 660.0, 660.0);
    let raw = desk.dir.join("sink.raw");
    let _rec = Killer(start_recording(&raw));
    let _ = std::fs::remove_dir_all(desk.dir.join("config"));
    let mut app = Killer(
        desk.cmd(bin())
            .arg(&a)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("rusty_audio on the bus", 30, || {
        let o = desk.cmd("playerctl").arg("-l").output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == "rusty_audio")
    });
    wait_for("playing", 30, || {
        desk.try_playerctl(&["status"])
            .is_ok_and(|s| s == "Playing")
    });

    // Metadata: tags, the exact length, a cover that exists.
    wait_for("the cover in the metadata", 30, || {
        desk.try_playerctl(&["metadata", "mpris:artUrl"])
            .is_ok_and(|a| !a.is_empty())
    });
    assert_eq!(desk.playerctl(&["metadata", "title"]), "Song A");
    assert_eq!(desk.playerctl(&["metadata", "artist"]), "The Testers");
    assert_eq!(desk.playerctl(&["metadata", "album"]), "Real Parts");
    let length_us: i64 = desk
        .playerctl(&["metadata", "mpris:length"])
        .parse()
        .unwrap();
    assert!(
        (length_us - 40_000_000).abs() <= 1_000,
        "length {length_us} µs"
    );
    let art = desk.playerctl(&["metadata", "mpris:artUrl"]);
    let art_path = art.strip_prefix("file://").expect("a file:// URL");
    assert!(Path::new(art_path).is_file(), "{art} exists");
    assert_eq!(
        desk.playerctl(&["metadata", "xesam:url"]),
        format!("file://{}", a.display())
    );

    // Pause silences the sink, play resumes it.
    desk.playerctl(&["pause"]);
    wait_for("paused", 10, || desk.playerctl(&["status"]) == "Paused");
    let _ = next_audio(&raw, 0.2); // what the device still held
    let quiet = next_audio(&raw, 0.5);
    assert!(quiet.iter().all(|s| s.abs() < 1e-4), "silent when paused");
    desk.playerctl(&["play"]);
    wait_for("playing again", 10, || {
        desk.playerctl(&["status"]) == "Playing"
    });
    let _ = next_audio(&raw, 0.2);
    let heard = next_audio(&raw, 0.5);
    assert!(
        (frequency(&heard) - 440.0).abs() < 10.0,
        "{} Hz",
        frequency(&heard)
    );

    // Position 30 s reads back and is heard (the second half is 880 Hz), and the player says
    // `Seeked` with the new position (watched on the bus with dbus-monitor).
    let signals = desk.dir.join("signals.txt");
    let _monitor = Killer(
        desk.cmd("dbus-monitor")
            .args([
                "--session",
                "type='signal',interface='org.mpris.MediaPlayer2.Player',member='Seeked'",
            ])
            .stdout(std::fs::File::create(&signals).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // dbus-monitor prints its own NameAcquired signal first: it is listening from then on.
    wait_for("dbus-monitor listening", 10, || {
        std::fs::read_to_string(&signals).is_ok_and(|t| t.contains("NameAcquired"))
    });
    desk.playerctl(&["position", "30"]);
    wait_for("the seek", 10, || {
        let p: f64 = desk.playerctl(&["position"]).parse().unwrap_or(0.0);
        (30.0..30.5 + 2.0).contains(&p)
    });
    wait_for("a Seeked signal at 30 s", 10, || {
        let text = std::fs::read_to_string(&signals).unwrap_or_default();
        // `int64 30000000` (µs) or a little later, as the seek lands.
        text.contains("member=Seeked")
            && text
                .split("int64 ")
                .skip(1)
                .filter_map(|t| t.split_whitespace().next()?.parse::<i64>().ok())
                .any(|us| (30_000_000..30_600_000).contains(&us))
    });
    let _ = next_audio(&raw, 0.2);
    let after = next_audio(&raw, 0.5);
    let p: f64 = desk.playerctl(&["position"]).parse().unwrap();
    assert!((30.0..33.0).contains(&p), "position {p}");
    // Which half plays (880 Hz, not 440).
    assert!(
        (frequency(&after) - 880.0).abs() < 10.0,
        "{} Hz after the seek",
        frequency(&after)
    );

    // Volume 0.5 is −6.02 dB by the app's law, heard at the sink.
    let before_db = rms_db(&after);
    desk.playerctl(&["volume", "0.5"]);
    wait_for("the volume", 10, || {
        desk.playerctl(&["volume"])
            .parse::<f64>()
            .is_ok_and(|v| (v - 0.5).abs() < 1e-3)
    });
    let _ = next_audio(&raw, 0.3);
    let softer = next_audio(&raw, 0.5);
    let drop_db = before_db - rms_db(&softer);
    assert!(
        (drop_db - 6.02).abs() < 0.3,
        "the sink dropped {drop_db:.2} dB"
    );

    // Repeat and shuffle through MPRIS (LoopStatus, Shuffle): read back, and kept (below).
    desk.playerctl(&["loop", "Playlist"]);
    wait_for("loop status", 10, || {
        desk.playerctl(&["loop"]) == "Playlist"
    });
    desk.playerctl(&["shuffle", "On"]);
    wait_for("shuffle", 10, || desk.playerctl(&["shuffle"]) == "On");

    // A second instance hands its file over and is gone within a second; no second window.
    assert_eq!(desk.windows(), 1);
    let t0 = Instant::now();
    let second = desk.cmd(bin()).arg(&b).arg("--play").output().unwrap();
    let took = t0.elapsed();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        took < Duration::from_secs(1),
        "the second instance took {took:?}"
    );
    wait_for("Song B playing", 10, || {
        desk.playerctl(&["metadata", "title"]) == "Song B"
    });
    assert_eq!(desk.windows(), 1, "no second window");

    // Previous and next change the title.
    desk.playerctl(&["previous"]);
    wait_for("back to Song A", 10, || {
        desk.playerctl(&["metadata", "title"]) == "Song A"
    });
    desk.playerctl(&["next"]);
    wait_for("Song B again", 10, || {
        desk.playerctl(&["metadata", "title"]) == "Song B"
    });

    // OpenUri (`playerctl open`) queues a file and plays it.
    let c = tagged_flac(&desk.dir, "c", "Song C", 550.0, 550.0);
    desk.playerctl(&["open", &format!("file://{}", c.display())]);
    wait_for("Song C playing after OpenUri", 10, || {
        desk.playerctl(&["metadata", "title"]) == "Song C"
            && desk.playerctl(&["status"]) == "Playing"
    });

    // A window opened with --new-window serves MPRIS under its own name; the first keeps
    // `rusty_audio` (zbus would otherwise let the newcomer replace it).
    let other = Killer(
        desk.cmd(bin())
            .args(["--new-window", "--no-autoplay"])
            .env("RUSTY_AUDIO_CONFIG_DIR", desk.dir.join("config-other"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let theirs = format!("rusty_audio.instance{}", other.0.id());
    wait_for("the second window's own MPRIS name", 30, || {
        let o = desk.cmd("playerctl").arg("-l").output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == theirs)
    });
    assert_eq!(
        desk.playerctl(&["metadata", "title"]),
        "Song C",
        "the first keeps its name"
    );
    drop(other);

    // Quit through MPRIS: a clean exit, the playlist saved with both files.
    assert!(desk.mpris_call("Quit"), "MPRIS Quit");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = app.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the app did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit {status:?}");
    let settings = std::fs::read_to_string(desk.dir.join("config/settings.json")).unwrap();
    assert!(
        settings.contains("a.flac") && settings.contains("b.flac") && settings.contains("c.flac"),
        "playlist saved: {settings}"
    );
    let saved: serde_json::Value = serde_json::from_str(&settings).unwrap();
    assert_eq!(saved["repeat"], "all", "repeat set through MPRIS, kept");
    assert_eq!(
        saved["shuffle"], "tracks",
        "shuffle set through MPRIS, kept"
    );
}

/// Without a session bus the app runs as before and says so in one line.
#[test]
fn without_a_session_bus_the_app_says_so_and_plays() {
    let _sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if skip_unless(
        "without_a_session_bus_the_app_says_so_and_plays",
        have("Xvfb") && have("xdotool") && pulse_running(),
        "Xvfb, xdotool and the test sound server",
    ) {
        return;
    }
    let desk = Desk::start("desktop_nobus");
    let tone = desk.dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 440.0, 0.01, 30.0));
    let mut app = Killer(
        desk.cmd(bin())
            .arg(&tone)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_RUNTIME_DIR", desk.dir.join("no-runtime"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("the window", 30, || desk.windows() == 1);
    let wid = {
        let o = desk
            .cmd("xdotool")
            .args(["search", "--onlyvisible", "--name", "^Rusty Audio$"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let out = {
        // Ctrl+Q, again every 2 s until it is gone (a key sent while the window settles its
        // focus can be lost).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut next_key = Instant::now();
        loop {
            if app.0.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "the app did not close");
            if Instant::now() >= next_key {
                let _ = desk
                    .cmd("xdotool")
                    .args(["windowfocus", "--sync", &wid, "key", "ctrl+q"])
                    .stderr(Stdio::null())
                    .status();
                next_key = Instant::now() + Duration::from_secs(2);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut err = String::new();
        use std::io::Read;
        let _ = app.0.stderr.take().unwrap().read_to_string(&mut err);
        err
    };
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("MPRIS")).collect();
    assert_eq!(lines.len(), 1, "one line about it: {out}");
    assert!(lines[0].contains("no session bus"), "{out}");
}

/// Under a window manager (openbox, as a desktop has one): minimized, the window is not drawn but
/// media keys still work (eframe runs only `App::logic`, which serves the desktop side); MPRIS
/// `Raise` brings it back and gives it the focus.
#[test]
fn raise_restores_a_minimized_window_and_media_keys_work_while_it_is_hidden() {
    let tools = [
        "Xvfb",
        "xdotool",
        "dbus-run-session",
        "dbus-send",
        "playerctl",
        "openbox",
    ];
    if skip_unless(
        "raise_restores_a_minimized_window_and_media_keys_work_while_it_is_hidden",
        tools.iter().all(|t| have(t)),
        "Xvfb, xdotool, dbus-run-session, playerctl, openbox",
    ) {
        return;
    }
    let desk = Desk::start("desktop_raise");
    let _wm = Killer(
        desk.cmd("openbox")
            .arg("--sm-disable")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let tone = tone_file(&desk.dir, "tone.wav", 440.0, 0.1, 60.0);
    let _ = std::fs::remove_dir_all(desk.dir.join("config"));
    // The null output: this test is about the window, not the sink.
    let mut app = Killer(
        desk.cmd(bin())
            .args(["--output", "null", "--no-autoplay"])
            .arg(&tone)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("rusty_audio on the bus", 30, || {
        desk.try_playerctl(&["status"]).is_ok()
    });
    let mut wid = String::new();
    wait_for("the window, managed and active", 30, || {
        let o = desk
            .cmd("xdotool")
            .args(["search", "--onlyvisible", "--name", "^Rusty Audio$"])
            .output()
            .unwrap();
        let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        // One window, the app's, and the window manager made it the active one.
        wid = ids.first().cloned().unwrap_or_default();
        ids.len() == 1 && active_window(&desk) == wid
    });
    let ok = desk
        .cmd("xdotool")
        .args(["windowminimize", "--sync", &wid])
        .status()
        .unwrap()
        .success();
    assert!(ok, "minimized");
    assert_eq!(desk.windows(), 0, "not visible while minimized");

    // Hidden: play and pause through MPRIS; the position moves while it plays.
    desk.playerctl(&["play"]);
    wait_for("playing while minimized", 10, || {
        desk.playerctl(&["status"]) == "Playing"
    });
    let position = || -> Option<f64> { desk.playerctl(&["position"]).parse().ok() };
    let p0 = position().expect("playerctl reads the position");
    wait_for("the position moving while minimized", 10, || {
        position().is_some_and(|p| p > p0 + 0.5)
    });
    assert_eq!(desk.windows(), 0, "still minimized");

    assert!(desk.mpris_call("Raise"), "MPRIS Raise");
    wait_for("the window back and focused", 10, || {
        desk.windows() == 1 && active_window(&desk) == wid
    });
    assert_eq!(
        desk.playerctl(&["status"]),
        "Playing",
        "raising keeps playing"
    );
    assert!(desk.mpris_call("Quit"), "MPRIS Quit");
    wait_for("the app to quit", 20, || {
        app.0.try_wait().unwrap().is_some()
    });
}

/// The window the window manager says is active (empty: none).
fn active_window(desk: &Desk) -> String {
    let o = desk
        .cmd("xdotool")
        .arg("getactivewindow")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
