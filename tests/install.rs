//! `make install` / `make uninstall` into a temporary prefix: the binary, a desktop entry and
//! AppStream metainfo that the freedesktop validators accept, the icon in every hicolor size; the
//! uninstall removes exactly those files and leaves what else is in the prefix.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn make(target: &str, prefix: &Path) {
    let o = Command::new("make")
        .args(["-s", "-C", env!("CARGO_MANIFEST_DIR"), target])
        .arg(format!("PREFIX={}", prefix.display()))
        // The test build's binary: the install itself is what is tested, not a release build.
        .arg(format!("BIN={}", bin()))
        .output()
        .expect("make runs");
    assert!(
        o.status.success(),
        "make {target}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn install_validates_and_uninstall_removes_exactly_it() {
    if skip_unless(
        "install_validates_and_uninstall_removes_exactly_it",
        have("desktop-file-validate") && have("appstreamcli") && have("make"),
        "desktop-file-validate (desktop-file-utils), appstreamcli (appstream) and make",
    ) {
        return;
    }
    let prefix = scratch("install_prefix");
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(prefix.join("share/applications")).unwrap();
    let other = prefix.join("share/applications/someone-else.desktop");
    std::fs::write(&other, "not ours").unwrap();

    make("install", &prefix);
    let id = "io.github.rustyaudio.RustyAudio";
    let binary = prefix.join("bin/rusty-audio");
    let desktop = prefix.join(format!("share/applications/{id}.desktop"));
    let metainfo = prefix.join(format!("share/metainfo/{id}.metainfo.xml"));
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert!(out.status.success(), "the installed binary runs");
    let v = Command::new("desktop-file-validate")
        .arg(&desktop)
        .output()
        .unwrap();
    assert!(
        v.status.success() && v.stdout.is_empty(),
        "desktop-file-validate: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    let entry = std::fs::read_to_string(&desktop).unwrap();
    assert!(entry.contains("Exec=rusty-audio %F"), "{entry}");
    for mime in [
        "audio/flac",
        "audio/mpeg",
        "audio/ogg",
        "audio/x-wav",
        "audio/mp4",
    ] {
        assert!(entry.contains(mime), "MimeType lists {mime}");
    }
    let v = Command::new("appstreamcli")
        .args(["validate", "--no-net"])
        .arg(&metainfo)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "appstreamcli validate: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(prefix
        .join(format!("share/icons/hicolor/scalable/apps/{id}.svg"))
        .is_file());
    for size in [16, 24, 32, 48, 64, 128, 256] {
        let png = prefix.join(format!("share/icons/hicolor/{size}x{size}/apps/{id}.png"));
        let o = Command::new("identify")
            .args(["-format", "%w %h"])
            .arg(&png)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("{size} {size}"),
            "{}",
            png.display()
        );
    }

    make("uninstall", &prefix);
    assert!(other.is_file(), "someone else's file stays");
    let left: Vec<PathBuf> = files_under(&prefix)
        .into_iter()
        .filter(|p| p != &other)
        .collect();
    // Only the desktop's shared caches may remain (refreshed, no longer naming us).
    for f in &left {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            name == "mimeinfo.cache" || name == "icon-theme.cache",
            "left behind: {}",
            f.display()
        );
        if name == "mimeinfo.cache" {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(!text.contains(id), "the cache still names us: {text}");
        }
    }
}
