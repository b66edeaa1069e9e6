//! What the app remembers between runs: volume, EQ/limiter/monitor, playlist and position,
//! layout, analyzer settings, output device. One JSON file in the XDG config directory, written
//! atomically (temp file + rename) so a crash never leaves half a file; user presets are plain
//! Equalizer APO text files beside it (`presets/*.txt`), so AutoEQ files can be dropped in.
//!
//! A settings file that cannot be read is moved aside (never overwritten) and the user is told
//! where it went.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::spectrum::SpectrumConfig;
use crate::dsp::chain::DspSettings;
use crate::ui::spectrogram_view::SpectrogramSettings;

pub const FILE_NAME: &str = "settings.json";

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Layout {
    pub show_spectrum: bool,
    pub show_spectrogram: bool,
    pub show_eq: bool,
    pub eq_overlay: bool,
    pub show_perf: bool,
    pub show_playlist: bool,
    pub show_meters: bool,
    /// Integrated loudness, range, true peak and clips restart with each track.
    pub meters_per_track: bool,
    /// Inner window size in points.
    pub window: Option<[f32; 2]>,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            show_spectrum: true,
            show_spectrogram: true,
            show_eq: true,
            eq_overlay: true,
            show_perf: false,
            show_playlist: true,
            show_meters: true,
            meters_per_track: true,
            window: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub volume_db: f32,
    pub dsp: DspSettings,
    pub playlist: Vec<SavedEntry>,
    /// Playlist index and position (seconds) of the track that was playing.
    pub current: Option<usize>,
    pub position_s: f64,
    /// The track was paused: it comes back paused at `position_s`, not playing.
    pub paused: bool,
    pub layout: Layout,
    pub spectrum: SpectrumConfig,
    pub spectrogram: SpectrogramSettings,
    /// Output device name (`None`: the system default).
    pub output_device: Option<String>,
    pub buffer_frames: Option<u32>,
    /// Decoded lengths of playlist files whose header said otherwise or nothing, so the list
    /// shows them from the start next time (see `KnownLength`).
    pub known_lengths: Vec<KnownLength>,
    /// Loudness normalization (ReplayGain).
    pub normalization: crate::library::replaygain::GainSettings,
    /// Crossfade between tracks.
    pub crossfade: crate::engine::crossfade::Crossfade,
    pub repeat: crate::engine::order::Repeat,
    pub shuffle: crate::engine::order::Shuffle,
    /// What the analyzer views follow: `None`, the player; else an input as `listen --input`
    /// names it (`default`, `monitor` for what this computer plays, or a device). Kept while
    /// the device is away (unplugged): it is opened again at the next start.
    pub analyze: Option<String>,
}

/// A playlist entry as saved: a file (a plain path, as older settings have it), or a cue
/// sheet's track by its number (restored from the sheet as it is then).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SavedEntry {
    File(Arc<Path>),
    Cue { sheet: PathBuf, track: u32 },
}

/// A file's decoded length, valid while the file is unchanged (same size and modification time).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnownLength {
    pub path: Arc<Path>,
    pub bytes: u64,
    /// Modification time, seconds since the epoch.
    pub modified_s: u64,
    pub seconds: f64,
}

impl KnownLength {
    /// The file's identity now (size, modification time), if it can be read.
    #[must_use]
    pub fn stamp(path: &Path) -> Option<(u64, u64)> {
        crate::library::files::stamp(path)
    }

    /// The stored length if the file is still the one measured.
    #[must_use]
    pub fn for_file(known: &[KnownLength], path: &Path) -> Option<f64> {
        let (bytes, modified_s) = Self::stamp(path)?;
        known
            .iter()
            .find(|k| *k.path == *path && k.bytes == bytes && k.modified_s == modified_s)
            .map(|k| k.seconds)
            .filter(|s| s.is_finite() && *s >= 0.0)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            volume_db: 0.0,
            dsp: DspSettings::default(),
            playlist: Vec::new(),
            current: None,
            position_s: 0.0,
            paused: false,
            layout: Layout::default(),
            spectrum: SpectrumConfig::default(),
            spectrogram: SpectrogramSettings::default(),
            output_device: None,
            buffer_frames: None,
            known_lengths: Vec::new(),
            normalization: crate::library::replaygain::GainSettings::default(),
            crossfade: crate::engine::crossfade::Crossfade::default(),
            repeat: crate::engine::order::Repeat::default(),
            shuffle: crate::engine::order::Shuffle::default(),
            analyze: None,
        }
    }
}

/// The output a saved device name means (`None`: the system default, `"null"`: no device).
#[must_use]
pub fn output_choice(saved: Option<&str>) -> crate::engine::OutputChoice {
    saved
        .unwrap_or("default")
        .parse()
        .unwrap_or(crate::engine::OutputChoice::Default)
}

/// The device name to save for `choice` (inverse of `output_choice`).
#[must_use]
pub fn saved_output(choice: &crate::engine::OutputChoice) -> Option<String> {
    use crate::engine::OutputChoice;
    match choice {
        OutputChoice::Default => None,
        OutputChoice::Null => Some("null".into()),
        other => Some(other.to_string()),
    }
}

/// The volume's ceiling: full scale. Louder than the file is what ReplayGain/normalization and the
/// EQ preamp are for; a volume that can go above 0 dB turns a key storm into a blast.
pub const MAX_VOLUME_DB: f32 = 0.0;
/// The volume's floor, which is mute.
pub const MIN_VOLUME_DB: f32 = -60.0;
const _: () = assert!(
    MIN_VOLUME_DB == crate::desktop::mpris::MIN_DB
        && MAX_VOLUME_DB == crate::desktop::mpris::MAX_DB
);

/// Linear gain of the volume slider's dB value; its bottom (−60 dB) is mute.
#[must_use]
pub fn volume_gain(db: f32) -> f32 {
    if db <= MIN_VOLUME_DB {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

impl Settings {
    /// Everything in range, whatever the file said.
    #[must_use]
    pub fn validated(mut self) -> Self {
        self.volume_db = if self.volume_db.is_finite() {
            self.volume_db.clamp(MIN_VOLUME_DB, MAX_VOLUME_DB)
        } else {
            0.0
        };
        self.dsp = self.dsp.validated();
        self.spectrum = self.spectrum.validated();
        self.normalization = self.normalization.validated();
        self.crossfade = self.crossfade.validated();
        if !self.position_s.is_finite() || self.position_s < 0.0 {
            self.position_s = 0.0;
        }
        self.current = self.current.filter(|&c| c < self.playlist.len());
        self.buffer_frames = self.buffer_frames.map(|b| b.clamp(16, 16_384));
        let s = &mut self.spectrogram;
        if !(s.floor_db.is_finite() && s.ceiling_db.is_finite()) || s.ceiling_db < s.floor_db + 10.0
        {
            *s = SpectrogramSettings::default();
        }
        self
    }
}

/// Where settings live; `None` keeps everything in memory (tests, `--no-settings`).
#[derive(Clone, Debug)]
pub struct Store {
    pub dir: Option<PathBuf>,
    /// Set by `load` when a settings file exists but could neither be read nor moved aside:
    /// then `save` leaves it alone for the whole session (the user was told at start-up).
    protected: bool,
}

/// `$RUSTY_AUDIO_CONFIG_DIR`, else `$XDG_CONFIG_HOME/rusty-audio`, else `~/.config/rusty-audio`.
#[must_use]
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("RUSTY_AUDIO_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("rusty-audio"))
}

impl Store {
    #[must_use]
    pub fn in_memory() -> Self {
        Self {
            dir: None,
            protected: false,
        }
    }

    #[must_use]
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            protected: false,
        }
    }

    #[must_use]
    pub fn file(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(FILE_NAME))
    }

    #[must_use]
    pub fn presets_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("presets"))
    }

    /// The saved settings, or the defaults. The second value is a message for the user when the
    /// file existed but could not be used (it has been renamed, not lost).
    #[must_use]
    pub fn load(&mut self) -> (Settings, Option<String>) {
        let Some(path) = self.file() else {
            return (Settings::default(), None);
        };
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Settings::default(), None)
            }
            Err(e) => {
                self.protected = true;
                return (
                    Settings::default(),
                    Some(format!(
                        "{}: cannot read settings ({e}); using defaults, and it will not be \
                         overwritten this session",
                        path.display()
                    )),
                );
            }
        };
        match serde_json::from_slice::<Settings>(&text) {
            Ok(s) => (s.validated(), None),
            Err(e) => {
                let aside = set_aside(&path);
                self.protected = aside.is_err();
                let where_ = aside.map_or_else(
                    |e| {
                        format!(
                            "could not move it aside: {e}; it will not be overwritten this session"
                        )
                    },
                    |p| format!("kept as {}", p.display()),
                );
                (
                    Settings::default(),
                    Some(format!(
                        "{}: unreadable settings ({e}); using defaults, {where_}",
                        path.display()
                    )),
                )
            }
        }
    }

    /// Write atomically (nothing, in memory or when `protected`). Returns the error text for a
    /// notification.
    pub fn save(&self, s: &Settings) -> Result<(), String> {
        let Some(path) = self.file().filter(|_| !self.protected) else {
            return Ok(());
        };
        let json = serde_json::to_vec_pretty(s).map_err(|e| e.to_string())?;
        crate::util::atomic_write(&path, &json)
            .map_err(|e| format!("{}: cannot save settings: {e}", path.display()))
    }

    /// User presets (name, path), sorted by name.
    #[must_use]
    pub fn user_presets(&self) -> Vec<(String, PathBuf)> {
        let Some(dir) = self.presets_dir() else {
            return Vec::new();
        };
        let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("txt")))
            .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
            .collect();
        v.sort_by(|a, b| a.0.to_lowercase().cmp(&b.0.to_lowercase()));
        v
    }

    /// Path for a user preset called `name` (file-name-safe).
    #[must_use]
    pub fn preset_path(&self, name: &str) -> Option<PathBuf> {
        let safe: String = name
            .trim()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || " -_.()".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe.trim_matches('.').trim();
        if safe.is_empty() {
            return None;
        }
        Some(self.presets_dir()?.join(format!("{safe}.txt")))
    }
}

/// Rename an unreadable file to `NAME.corrupt-N` (first free N).
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    for n in 1..1000 {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".corrupt-{n}"));
        let aside = path.with_file_name(name);
        if !aside.exists() {
            std::fs::rename(path, &aside)?;
            return Ok(aside);
        }
    }
    Err(std::io::Error::other("too many corrupt settings files"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ra-settings-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn round_trip_and_defaults_for_missing_fields() {
        let dir = tmp("rt");
        let mut store = Store::at(&dir);
        assert_eq!(store.load(), (Settings::default(), None));
        let mut s = Settings::default();
        s.volume_db = -7.5;
        s.playlist = vec![
            SavedEntry::File(Path::new("/a.flac").into()),
            SavedEntry::Cue {
                sheet: PathBuf::from("/c/album.cue"),
                track: 3,
            },
        ];
        s.current = Some(1);
        s.position_s = 12.25;
        s.layout.show_eq = false;
        store.save(&s).unwrap();
        assert_eq!(store.load(), (s, None));
        // An older file with fewer fields still loads; the rest are defaults.
        std::fs::write(store.file().unwrap(), br#"{"volume_db": -3.0}"#).unwrap();
        let (l, w) = store.load();
        assert!(w.is_none());
        assert_eq!(l.volume_db, -3.0);
        assert_eq!(l.layout, Layout::default());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_file_is_moved_aside_not_lost() {
        let dir = tmp("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::at(&dir);
        let f = store.file().unwrap();
        std::fs::write(&f, b"{ not json").unwrap();
        let (s, warning) = store.load();
        assert_eq!(s, Settings::default());
        let w = warning.unwrap();
        assert!(
            w.contains("settings.json") && w.contains("corrupt-1"),
            "{w}"
        );
        assert_eq!(
            std::fs::read(f.with_file_name("settings.json.corrupt-1")).unwrap(),
            b"{ not json"
        );
        assert!(!f.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_cannot_be_read_is_never_overwritten() {
        let dir = tmp("unreadable");
        let mut store = Store::at(&dir);
        let f = store.file().unwrap();
        // A directory where the file should be: reading fails, and so would moving it aside.
        std::fs::create_dir_all(f.join("keep")).unwrap();
        let (s, warning) = store.load();
        assert_eq!(s, Settings::default());
        let w = warning.unwrap();
        assert!(
            w.contains("settings.json") && w.contains("not be overwritten"),
            "{w}"
        );
        let changed = Settings {
            volume_db: -20.0,
            ..Settings::default()
        };
        assert_eq!(store.save(&changed), Ok(()));
        assert!(f.join("keep").is_dir(), "left exactly as it was");
        // A store that loaded fine writes as usual.
        let mut fresh = Store::at(tmp("unreadable-ok"));
        let _ = fresh.load();
        fresh.save(&changed).unwrap();
        assert_eq!(fresh.load().0.volume_db, -20.0);
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(fresh.dir.unwrap()).unwrap();
    }

    #[test]
    fn absurd_values_are_brought_into_range() {
        let json = br#"{"volume_db": 1e30, "current": 5, "playlist": ["/x.wav"], "position_s": -4,
                        "buffer_frames": 1, "spectrogram": {"floor_db": 0, "ceiling_db": -50, "map": "Gray"}}"#;
        let s: Settings = serde_json::from_slice(json).unwrap();
        let v = s.validated();
        assert_eq!(v.volume_db, MAX_VOLUME_DB);
        assert_eq!(v.current, None);
        assert_eq!(v.position_s, 0.0);
        assert_eq!(v.buffer_frames, Some(16));
        assert_eq!(v.spectrogram, SpectrogramSettings::default());
    }

    #[test]
    fn output_names_round_trip() {
        use crate::engine::OutputChoice;
        for c in [
            OutputChoice::Default,
            OutputChoice::Null,
            OutputChoice::Named("USB DAC".into()),
            OutputChoice::Named("hw:CARD=PCH,DEV=0".into()),
            OutputChoice::OnHost {
                host: "pulseaudio".into(),
                device: None,
            },
            OutputChoice::OnHost {
                host: "alsa".into(),
                device: Some("hw:CARD=PCH,DEV=0".into()),
            },
        ] {
            assert_eq!(output_choice(saved_output(&c).as_deref()), c);
        }
        assert_eq!(
            output_choice(Some("pulse:nullsink")),
            OutputChoice::OnHost {
                host: "pulseaudio".into(),
                device: Some("nullsink".into())
            }
        );
        assert_eq!(volume_gain(-60.0), 0.0);
        assert!((volume_gain(-6.0) - 0.501).abs() < 1e-3);
    }

    #[test]
    fn preset_names_are_file_safe() {
        let store = Store::at("/cfg");
        assert_eq!(
            store.preset_path("My/../EQ: v2").unwrap(),
            PathBuf::from("/cfg/presets/My_.._EQ_ v2.txt")
        );
        assert!(store.preset_path("  ..  ").is_none());
    }
}
