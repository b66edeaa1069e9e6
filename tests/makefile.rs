//! `make run` must reach the user's own desktop: the sound server, Wayland socket and session bus
//! all live in the caller's `XDG_RUNTIME_DIR`, so the Makefile must pass the caller's environment
//! through unchanged, while the test targets get the private test sound server. Runs the real
//! Makefile with a stub `CARGO` that records the environment it was given.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn stub_env(target: &str, dir: &Path) -> HashMap<String, String> {
    let stub = dir.join("cargo-stub");
    let out = dir.join("env.txt");
    std::fs::write(
        &stub,
        "#!/bin/sh\nenv > \"$STUB_OUT\"\necho \"ARGS=$*\" >> \"$STUB_OUT\"\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&stub).status().unwrap();
    let status = Command::new("make")
        // `-o deps`: the package check (apt) is not what this test is about.
        .args(["-s", "-o", "deps", "-C", env!("CARGO_MANIFEST_DIR"), target])
        .arg(format!("CARGO={}", stub.display()))
        .arg("FILES=song.flac")
        .env("STUB_OUT", &out)
        .env("XDG_RUNTIME_DIR", "/run/user/4242")
        .env("WAYLAND_DISPLAY", "wayland-7")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/4242/bus")
        .env_remove("PULSE_SERVER")
        .env_remove("PIPEWIRE_RUNTIME_DIR")
        .env_remove("PIPEWIRE_REMOTE")
        .env_remove("RUSTY_AUDIO_MEDIA")
        .status()
        .expect("make runs");
    assert!(status.success(), "make {target} with a stub cargo");
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn make_run_passes_the_callers_environment_through() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-scratch/makefile");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let env = stub_env("run", &dir);
    assert_eq!(env["ARGS"], "run --locked -- song.flac");
    assert_eq!(env["XDG_RUNTIME_DIR"], "/run/user/4242");
    assert_eq!(env["WAYLAND_DISPLAY"], "wayland-7");
    assert_eq!(
        env["DBUS_SESSION_BUS_ADDRESS"],
        "unix:path=/run/user/4242/bus"
    );
    assert!(
        !env.contains_key("PULSE_SERVER"),
        "make run must not point the app at the test sound server: {:?}",
        env.get("PULSE_SERVER")
    );
    for var in [
        "PIPEWIRE_RUNTIME_DIR",
        "PIPEWIRE_REMOTE",
        "RUSTY_AUDIO_MEDIA",
    ] {
        assert!(
            !env.contains_key(var),
            "{var} leaked into make run: {:?}",
            env.get(var)
        );
    }
}
