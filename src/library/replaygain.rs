//! Loudness normalization (ReplayGain 2.0 / EBU R128): what a file's tags say, which gain a mode
//! picks for a track, and the cap that keeps its peak below full scale.
//!
//! Pure functions over parsed values: the decoder thread calls them when it opens a track (the
//! gain is applied to the decoded samples there, before the EQ; the audio thread never sees a tag),
//! `play` and `render` through the engine, the app for what it shows.
//!
//! Reference: ReplayGain 2.0 normalizes to −18 LUFS. Opus files carry `R128_*_GAIN` relative to
//! −23 LUFS (EBU R128) as a Q7.8 integer; those are converted to the −18 LUFS reference (+5 dB) so
//! every format plays at the same loudness.

use serde::{Deserialize, Serialize};

/// ReplayGain 2.0 reference loudness (LUFS).
pub const REFERENCE_LUFS: f64 = -18.0;
/// EBU R128 reference loudness, what Opus `R128_*_GAIN` tags are relative to (LUFS).
pub const R128_REFERENCE_LUFS: f64 = -23.0;
/// Gains outside this range are taken as a broken tag, not a gain (±51 dB: beyond what any
/// scanner writes for real audio).
const GAIN_LIMIT_DB: f64 = 51.0;

/// The four ReplayGain values a file may carry. Gains in dB (relative to −18 LUFS), peaks linear
/// (1.0 = full scale). `None`: absent or unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GainTags {
    pub track_gain_db: Option<f64>,
    pub track_peak: Option<f64>,
    pub album_gain_db: Option<f64>,
    pub album_peak: Option<f64>,
}

impl GainTags {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.track_gain_db.is_none() && self.album_gain_db.is_none()
    }

    /// Take one tag by its key (case-insensitive; the Vorbis/APE/TXXX/MP4 freeform names and
    /// Opus's R128 ones) and value. Unknown keys and unreadable values are ignored.
    pub fn take(&mut self, key: &str, value: &str) {
        let key = key.trim().to_ascii_lowercase();
        // MP4 freeform atoms arrive as "----:com.apple.iTunes:replaygain_track_gain" or similar.
        let key = key.rsplit(':').next().unwrap_or(&key);
        // An unreadable value never erases a readable one read before it (a file may carry the
        // same tag twice, e.g. in ID3v2 and APE).
        match key {
            "replaygain_track_gain" => {
                self.track_gain_db = parse_gain_db(value).or(self.track_gain_db);
            }
            "replaygain_track_peak" => self.track_peak = parse_peak(value).or(self.track_peak),
            "replaygain_album_gain" => {
                self.album_gain_db = parse_gain_db(value).or(self.album_gain_db);
            }
            "replaygain_album_peak" => self.album_peak = parse_peak(value).or(self.album_peak),
            // An R128 tag only fills in what no ReplayGain tag gave (a file with both was most
            // likely tagged by one tool that wrote both from the same measurement).
            "r128_track_gain" => {
                self.track_gain_db = self.track_gain_db.or(parse_r128_q78(value));
            }
            "r128_album_gain" => {
                self.album_gain_db = self.album_gain_db.or(parse_r128_q78(value));
            }
            _ => {}
        }
    }
}

/// "-6.54 dB", "+1.20 dB", "-6.54dB", "-6.54" → dB. Anything else (or beyond ±51 dB) → None.
#[must_use]
pub fn parse_gain_db(value: &str) -> Option<f64> {
    let v = value.trim().trim_end_matches('\0').trim();
    let lower = v.to_ascii_lowercase();
    let number = lower.strip_suffix("db").unwrap_or(&lower).trim();
    let db: f64 = number.parse().ok()?;
    (db.is_finite() && db.abs() <= GAIN_LIMIT_DB).then_some(db)
}

/// "0.988553" → linear peak (must be finite and > 0; 0 or negative is a broken tag).
#[must_use]
pub fn parse_peak(value: &str) -> Option<f64> {
    let p: f64 = value.trim().trim_end_matches('\0').trim().parse().ok()?;
    (p.is_finite() && p > 0.0 && p < 1.0e3).then_some(p)
}

/// An Opus `R128_{TRACK,ALBUM}_GAIN` value (a signed Q7.8 integer, dB/256 relative to −23 LUFS)
/// → dB relative to the ReplayGain 2.0 reference (−18 LUFS).
#[must_use]
pub fn parse_r128_q78(value: &str) -> Option<f64> {
    let q: i32 = value.trim().trim_end_matches('\0').trim().parse().ok()?;
    let q = i16::try_from(q).ok()?;
    Some(f64::from(q) / 256.0 + (REFERENCE_LUFS - R128_REFERENCE_LUFS))
}

/// Which gain normalization uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GainMode {
    /// No normalization: files play as they are.
    #[default]
    Off,
    /// Every track at the reference loudness.
    Track,
    /// Every album at the reference loudness (the loudness steps inside an album are kept).
    Album,
    /// Album gain while consecutive tracks of one album play in order, track gain otherwise.
    Auto,
}

/// Normalization settings (the app's and `--replaygain`/`--rg-preamp`/`--rg-fallback`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GainSettings {
    pub mode: GainMode,
    /// Added to every tagged gain (dB).
    pub preamp_db: f64,
    /// Used for files without a gain tag (dB, no pre-amp added): a file nobody measured should
    /// not be much louder than its normalized neighbours.
    pub fallback_db: f64,
    /// Cap the gain so the tagged peak stays ≤ 0 dBFS (the limiter is the last resort).
    pub prevent_clipping: bool,
}

/// Range of the pre-amp and fallback gain (dB), in the app, on the command line and in a settings
/// file edited by hand.
pub const SETTING_LIMIT_DB: f64 = 24.0;

impl GainSettings {
    /// The settings with pre-amp and fallback clamped to ±`SETTING_LIMIT_DB` (non-finite: 0).
    #[must_use]
    pub fn validated(mut self) -> Self {
        let clamp = |v: f64| {
            if v.is_finite() {
                v.clamp(-SETTING_LIMIT_DB, SETTING_LIMIT_DB)
            } else {
                0.0
            }
        };
        self.preamp_db = clamp(self.preamp_db);
        self.fallback_db = clamp(self.fallback_db);
        self
    }
}

impl Default for GainSettings {
    fn default() -> Self {
        Self {
            mode: GainMode::Off,
            preamp_db: 0.0,
            fallback_db: 0.0,
            prevent_clipping: true,
        }
    }
}

/// Where an applied gain came from (shown in the playlist and the now-playing line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GainSource {
    /// Normalization is off.
    Off,
    Track,
    Album,
    /// No tag: the fallback gain.
    Fallback,
    /// No tag: the file's loudness as measured in the background (`library::gain_cache`).
    Measured,
}

/// The gain a track plays with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AppliedGain {
    /// Total gain in dB (tag + pre-amp, after the clipping cap).
    pub db: f64,
    pub source: GainSource,
    /// The clipping cap lowered the gain.
    pub capped: bool,
}

impl AppliedGain {
    /// "ReplayGain album +3.50 dB" as the app and `play` show it (None while normalization is
    /// off).
    #[must_use]
    pub fn describe(&self) -> Option<String> {
        let what = match self.source {
            GainSource::Off => return None,
            GainSource::Track => "track",
            GainSource::Album => "album",
            GainSource::Fallback => "untagged",
            GainSource::Measured => "measured",
        };
        Some(format!(
            "ReplayGain {what} {:+.2} dB{}",
            self.db,
            if self.capped {
                " (capped at the peak)"
            } else {
                ""
            }
        ))
    }

    /// The same gain, from a measurement rather than tags (when it came from a track or album
    /// value at all, not the fallback).
    #[must_use]
    pub fn measured(mut self) -> Self {
        if matches!(self.source, GainSource::Track | GainSource::Album) {
            self.source = GainSource::Measured;
        }
        self
    }

    pub const UNITY: AppliedGain = AppliedGain {
        db: 0.0,
        source: GainSource::Off,
        capped: false,
    };

    /// The linear factor the samples are multiplied by (unity for a non-finite gain: settings
    /// are validated, but a gain must never turn the audio into NaN or infinity).
    #[must_use]
    pub fn linear(&self) -> f32 {
        let g = 10f64.powf(self.db / 20.0) as f32;
        if g.is_finite() {
            g
        } else {
            1.0
        }
    }
}

/// The gain for one track. `in_album_run`: the track is played next to another track of its
/// album, in order (what `GainMode::Auto` asks; see `album_run`).
#[must_use]
pub fn gain_for(tags: &GainTags, in_album_run: bool, settings: &GainSettings) -> AppliedGain {
    let album = match settings.mode {
        GainMode::Off => return AppliedGain::UNITY,
        GainMode::Track => false,
        GainMode::Album => true,
        GainMode::Auto => in_album_run,
    };
    // The cap uses the chosen gain's peak, else the other one (an album gain tagged without an
    // album peak is still capped by the track's own peak, which is what this track can reach).
    let track = tags
        .track_gain_db
        .map(|g| (g, tags.track_peak.or(tags.album_peak), GainSource::Track));
    let albums = tags
        .album_gain_db
        .map(|g| (g, tags.album_peak.or(tags.track_peak), GainSource::Album));
    // The asked-for gain, else the other one (a file tagged with track gain only still plays
    // normalized in album mode), else the fallback.
    let chosen = if album {
        albums.or(track)
    } else {
        track.or(albums)
    };
    let Some((gain, peak, source)) = chosen else {
        let db = if settings.fallback_db.is_finite() {
            settings.fallback_db
        } else {
            0.0
        };
        return AppliedGain {
            db,
            source: GainSource::Fallback,
            capped: false,
        };
    };
    let preamp = if settings.preamp_db.is_finite() {
        settings.preamp_db
    } else {
        0.0
    };
    let mut db = gain + preamp;
    let mut capped = false;
    if settings.prevent_clipping {
        if let Some(p) = peak {
            // The gain at which the peak would reach full scale.
            let max_db = -20.0 * p.log10();
            if db > max_db {
                db = max_db;
                capped = true;
            }
        }
    }
    AppliedGain { db, source, capped }
}

/// Which album a track belongs to, for grouping (`scan`) and `GainMode::Auto`: its album and
/// album-artist tags (artist when there is no album artist), compared without case; a track
/// without an album tag belongs to its folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlbumKey {
    Tagged { album: String, artist: String },
    Folder(std::path::PathBuf),
}

impl AlbumKey {
    /// The album of a file with these tags.
    #[must_use]
    pub fn of_tags(path: &std::path::Path, t: &crate::decode::TrackTags) -> AlbumKey {
        AlbumKey::of(
            path,
            t.album.as_deref(),
            t.album_artist.as_deref(),
            t.artist.as_deref(),
        )
    }

    #[must_use]
    pub fn of(
        path: &std::path::Path,
        album: Option<&str>,
        album_artist: Option<&str>,
        artist: Option<&str>,
    ) -> AlbumKey {
        match album.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => AlbumKey::Tagged {
                album: a.to_lowercase(),
                artist: album_artist
                    .or(artist)
                    .map(|s| s.trim().to_lowercase())
                    .unwrap_or_default(),
            },
            None => AlbumKey::Folder(
                path.parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Whether the track at `i` plays next to another track of its album: the entry before or after
/// it in the queue has the same album key. (`keys[j]` None: not known, e.g. unreadable.)
#[must_use]
pub fn album_run(keys: &[Option<AlbumKey>], i: usize) -> bool {
    let Some(Some(me)) = keys.get(i) else {
        return false;
    };
    let same = |j: usize| keys.get(j).and_then(Option::as_ref) == Some(me);
    (i > 0 && same(i - 1)) || same(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn gain_and_peak_values_parse_as_taggers_write_them() {
        assert_eq!(parse_gain_db("-6.54 dB"), Some(-6.54));
        assert_eq!(parse_gain_db("+1.20 dB"), Some(1.2));
        assert_eq!(parse_gain_db(" -3.5dB\0"), Some(-3.5));
        assert_eq!(parse_gain_db("-3.5 DB"), Some(-3.5));
        assert_eq!(parse_gain_db("2"), Some(2.0));
        for bad in ["", "dB", "loud", "NaN dB", "inf", "-80 dB", "1,5 dB"] {
            assert_eq!(parse_gain_db(bad), None, "{bad:?}");
        }
        assert_eq!(parse_peak("0.988553"), Some(0.988553));
        assert_eq!(parse_peak("1.2"), Some(1.2));
        for bad in ["0", "-0.5", "x", "", "inf"] {
            assert_eq!(parse_peak(bad), None, "{bad:?}");
        }
    }

    /// Q7.8 relative to −23 LUFS → dB relative to −18 LUFS: 0 (a file already at −23 LUFS)
    /// needs +5 dB to reach −18; −2560 (−10 dB to reach −23) needs −5 dB.
    #[test]
    fn r128_gains_are_moved_to_the_replaygain_reference() {
        assert!(close(parse_r128_q78("0").unwrap(), 5.0));
        assert!(close(parse_r128_q78("-2560").unwrap(), -5.0));
        assert!(close(parse_r128_q78("384").unwrap(), 6.5));
        assert_eq!(parse_r128_q78("40000"), None, "outside i16");
        assert_eq!(parse_r128_q78("-1.5"), None, "not an integer");
    }

    #[test]
    fn tags_are_taken_by_every_known_name_and_r128_only_fills_gaps() {
        let mut t = GainTags::default();
        t.take("REPLAYGAIN_TRACK_GAIN", "-7.00 dB");
        t.take("----:com.apple.iTunes:replaygain_album_gain", "-8.00 dB");
        t.take("replaygain_track_peak", "0.5");
        t.take("REPLAYGAIN_ALBUM_PEAK", "0.9");
        t.take("R128_TRACK_GAIN", "0");
        t.take("COMMENT", "-3 dB");
        assert_eq!(
            t,
            GainTags {
                track_gain_db: Some(-7.0),
                track_peak: Some(0.5),
                album_gain_db: Some(-8.0),
                album_peak: Some(0.9),
            }
        );
        // A broken duplicate keeps the good value.
        t.take("REPLAYGAIN_TRACK_GAIN", "garbage");
        t.take("REPLAYGAIN_TRACK_PEAK", "0");
        assert_eq!((t.track_gain_db, t.track_peak), (Some(-7.0), Some(0.5)));
        let mut r = GainTags::default();
        r.take("R128_ALBUM_GAIN", "-256");
        assert!(close(r.album_gain_db.unwrap(), 4.0));
        assert!(r.track_gain_db.is_none() && !r.is_empty());
    }

    fn tags() -> GainTags {
        GainTags {
            track_gain_db: Some(-6.0),
            track_peak: Some(0.5),
            album_gain_db: Some(-8.0),
            album_peak: Some(0.9),
        }
    }

    #[test]
    fn each_mode_picks_its_gain() {
        let s = |mode| GainSettings {
            mode,
            ..GainSettings::default()
        };
        assert_eq!(
            gain_for(&tags(), true, &s(GainMode::Off)),
            AppliedGain::UNITY
        );
        let t = gain_for(&tags(), true, &s(GainMode::Track));
        assert_eq!((t.db, t.source, t.capped), (-6.0, GainSource::Track, false));
        let a = gain_for(&tags(), false, &s(GainMode::Album));
        assert_eq!((a.db, a.source), (-8.0, GainSource::Album));
        assert_eq!(
            gain_for(&tags(), true, &s(GainMode::Auto)).source,
            GainSource::Album
        );
        assert_eq!(
            gain_for(&tags(), false, &s(GainMode::Auto)).source,
            GainSource::Track
        );
        // Album asked, only a track gain there: the track gain.
        let only_track = GainTags {
            album_gain_db: None,
            ..tags()
        };
        assert_eq!(
            gain_for(&only_track, true, &s(GainMode::Album)).source,
            GainSource::Track
        );
        assert!(close(
            gain_for(&tags(), true, &s(GainMode::Off)).linear().into(),
            1.0
        ));
    }

    #[test]
    fn preamp_adds_and_the_peak_caps() {
        let s = GainSettings {
            mode: GainMode::Track,
            preamp_db: 4.0,
            ..GainSettings::default()
        };
        // −6 + 4 = −2 dB; peak 0.5 allows up to +6.02 dB: not capped.
        let g = gain_for(&tags(), false, &s);
        assert!(close(g.db, -2.0) && !g.capped);
        // +14 dB pre-amp → +8 dB asked, more than the +6.02 dB that peak 0.5 allows: capped to
        // the gain that puts the peak at full scale.
        let g = gain_for(
            &tags(),
            false,
            &GainSettings {
                preamp_db: 14.0,
                ..s
            },
        );
        assert!(g.capped && close(g.db, -20.0 * 0.5f64.log10()), "{g:?}");
        assert!(((0.5 * f64::from(g.linear())) - 1.0).abs() < 1e-6);
        // Without the cap the pre-amp is applied as asked.
        let g = gain_for(
            &tags(),
            false,
            &GainSettings {
                preamp_db: 14.0,
                prevent_clipping: false,
                ..s
            },
        );
        assert!(close(g.db, 8.0) && !g.capped);
        // Album gain without an album peak: capped by the track's peak.
        let no_album_peak = GainTags {
            album_peak: None,
            ..tags()
        };
        let g = gain_for(
            &no_album_peak,
            true,
            &GainSettings {
                mode: GainMode::Album,
                preamp_db: 20.0,
                ..s
            },
        );
        assert!(g.capped && close(g.db, -20.0 * 0.5f64.log10()), "{g:?}");
        // Non-finite or absurd settings: clamped, and a gain never goes non-finite.
        let v = GainSettings {
            preamp_db: 1000.0,
            fallback_db: f64::NAN,
            ..s
        }
        .validated();
        assert_eq!((v.preamp_db, v.fallback_db), (SETTING_LIMIT_DB, 0.0));
        let wild = AppliedGain {
            db: 1e6,
            ..AppliedGain::UNITY
        };
        assert_eq!(wild.linear(), 1.0);
    }

    #[test]
    fn untagged_files_get_the_fallback_without_preamp() {
        let s = GainSettings {
            mode: GainMode::Auto,
            preamp_db: 3.0,
            fallback_db: -7.0,
            prevent_clipping: true,
        };
        let g = gain_for(&GainTags::default(), true, &s);
        assert_eq!((g.db, g.source), (-7.0, GainSource::Fallback));
    }

    #[test]
    fn album_runs_are_neighbours_with_the_same_album() {
        use std::path::Path;
        let a = Some(AlbumKey::of(
            Path::new("/m/x/1.flac"),
            Some("Blue"),
            None,
            Some("Joni"),
        ));
        let a2 = Some(AlbumKey::of(
            Path::new("/m/y/2.flac"),
            Some("blue "),
            None,
            Some("JONI"),
        ));
        let b = Some(AlbumKey::of(
            Path::new("/m/z/3.flac"),
            Some("Court"),
            Some("Joni"),
            None,
        ));
        let untagged = Some(AlbumKey::of(Path::new("/m/z/4.flac"), None, None, None));
        assert_eq!(a, a2, "case and spaces do not split an album");
        let keys = [a.clone(), a2, b, untagged, None];
        assert!(album_run(&keys, 0) && album_run(&keys, 1));
        assert!(!album_run(&keys, 2) && !album_run(&keys, 3) && !album_run(&keys, 4));
        assert!(!album_run(&keys, 9), "out of range");
        // Untagged files in one folder are one album.
        let f = |p: &str| Some(AlbumKey::of(Path::new(p), None, None, None));
        assert!(album_run(&[f("/d/1.wav"), f("/d/2.wav")], 1));
        assert!(!album_run(&[f("/d/1.wav"), f("/e/2.wav")], 1));
    }
}
