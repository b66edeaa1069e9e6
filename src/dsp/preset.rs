//! EQ presets in the Equalizer APO / AutoEQ text format, and the one-line `--eq` form.
//!
//! ```text
//! # comment
//! Preamp: -6.2 dB
//! Filter 1: ON PK Fc 105 Hz Gain -2.3 dB Q 0.70
//! Filter 2: OFF LSC Fc 32 Hz Gain 4.0 dB Q 0.71
//! Filter 3: ON HP Fc 20 Hz
//! ```
//! OFF bands are kept (disabled). Lines that are not understood are returned as warnings with
//! their line number — never silently dropped — and the rest of the file still loads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::biquad::{BandParams, FilterKind};
use super::eq_params::{EqParams, MAX_BANDS};

/// A problem on one line of a preset.
#[derive(Debug, Clone, PartialEq)]
pub struct LineIssue {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

impl std::fmt::Display for LineIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {} ({:?})", self.line, self.reason, self.text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("{path}: cannot read preset: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write preset: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no EQ settings found{}", first_issue(.issues))]
    Empty {
        path: PathBuf,
        issues: Vec<LineIssue>,
    },
    #[error(
        "invalid EQ spec {spec:?}: {reason} (expected TYPE Fc GainDB Q, e.g. \"PK 1000 6 1.0\")"
    )]
    Spec { spec: String, reason: String },
}

fn first_issue(issues: &[LineIssue]) -> String {
    issues
        .first()
        .map(|i| format!(" ({i})"))
        .unwrap_or_default()
}

/// A parsed preset and the lines that could not be used.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub eq: EqParams,
    pub warnings: Vec<LineIssue>,
}

/// Parse preset text. `source` names it in errors.
pub fn parse(text: &str, source: &Path) -> Result<Parsed, PresetError> {
    let mut eq = EqParams::default();
    let mut warnings = Vec::new();
    let mut found = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches('\u{feff}');
        let issue = |reason: &str| LineIssue {
            line: i + 1,
            text: raw.to_string(),
            reason: reason.to_string(),
        };
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            warnings.push(issue("not a \"Key: value\" line"));
            continue;
        };
        let key = key.trim();
        let lower = key.to_ascii_lowercase();
        if lower == "preamp" {
            match parse_preamp(rest) {
                Some(db) => {
                    eq.set_preamp_db(db);
                    found = true;
                }
                None => warnings.push(issue(
                    "preamp needs a number in dB, e.g. \"Preamp: -6.2 dB\"",
                )),
            }
        } else if lower == "filter"
            || (lower.starts_with("filter") && lower[6..].trim().parse::<u32>().is_ok())
        {
            match parse_filter(rest) {
                Ok(band) => {
                    if eq.push(band).is_err() {
                        warnings.push(issue(&format!(
                            "more than {MAX_BANDS} filters; this one is not loaded"
                        )));
                    } else {
                        found = true;
                    }
                }
                Err(reason) => warnings.push(issue(&reason)),
            }
        } else {
            warnings.push(issue(&format!("unsupported setting {key:?}")));
        }
    }
    if !found {
        return Err(PresetError::Empty {
            path: source.into(),
            issues: warnings,
        });
    }
    Ok(Parsed { eq, warnings })
}

/// Read and parse a preset file.
pub fn load(path: &Path) -> Result<Parsed, PresetError> {
    let bytes = std::fs::read(path).map_err(|source| PresetError::Read {
        path: path.into(),
        source,
    })?;
    parse(&String::from_utf8_lossy(&bytes), path)
}

fn parse_preamp(rest: &str) -> Option<f64> {
    let mut it = rest.split_whitespace();
    let v: f64 = it.next()?.parse().ok()?;
    match it.next() {
        None => Some(v),
        Some(u) if u.eq_ignore_ascii_case("db") => Some(v),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

fn kind_from_token(t: &str) -> Option<(FilterKind, f64)> {
    // (kind, default Q when the line gives none)
    let k = match t.to_ascii_uppercase().as_str() {
        "PK" | "PEQ" => (FilterKind::Peak, 1.0),
        "LSC" | "LS" | "LSQ" => (FilterKind::LowShelf, std::f64::consts::FRAC_1_SQRT_2),
        "HSC" | "HS" | "HSQ" => (FilterKind::HighShelf, std::f64::consts::FRAC_1_SQRT_2),
        "LP" | "LPQ" => (FilterKind::LowPass, std::f64::consts::FRAC_1_SQRT_2),
        "HP" | "HPQ" => (FilterKind::HighPass, std::f64::consts::FRAC_1_SQRT_2),
        "NO" => (FilterKind::Notch, 30.0),
        "BP" => (FilterKind::BandPass, 1.0),
        "AP" => (FilterKind::AllPass, std::f64::consts::FRAC_1_SQRT_2),
        _ => return None,
    };
    Some(k)
}

/// `ON PK Fc 105 Hz Gain -2.3 dB Q 0.70`
fn parse_filter(rest: &str) -> Result<BandParams, String> {
    let toks: Vec<&str> = rest.split_whitespace().collect();
    let mut i = 0;
    let enabled = match toks.first().map(|t| t.to_ascii_uppercase()) {
        Some(t) if t == "ON" => true,
        Some(t) if t == "OFF" => false,
        _ => return Err("filter must start with ON or OFF".into()),
    };
    i += 1;
    let Some(kind_tok) = toks.get(i) else {
        return Err("missing filter type".into());
    };
    let Some((kind, default_q)) = kind_from_token(kind_tok) else {
        return Err(format!(
            "unsupported filter type {kind_tok:?} (PK, LSC, HSC, LP, HP, NO, BP, AP are)"
        ));
    };
    i += 1;
    let (mut fc, mut gain, mut q) = (None, None, None);
    while i < toks.len() {
        let key = toks[i].to_ascii_lowercase();
        let num = |j: usize| -> Result<f64, String> {
            toks.get(j)
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{} needs a number", toks[i]))
        };
        match key.as_str() {
            "fc" => {
                fc = Some(num(i + 1)?);
                i += 2;
                if toks.get(i).is_some_and(|u| u.eq_ignore_ascii_case("hz")) {
                    i += 1;
                }
            }
            "gain" => {
                gain = Some(num(i + 1)?);
                i += 2;
                if toks.get(i).is_some_and(|u| u.eq_ignore_ascii_case("db")) {
                    i += 1;
                }
            }
            "q" => {
                q = Some(num(i + 1)?);
                i += 2;
            }
            "bw" => return Err("bandwidth (BW Oct) is not supported; use Q".into()),
            _ => return Err(format!("unexpected {:?}", toks[i])),
        }
    }
    let fc = fc.ok_or("missing Fc")?;
    if !(1.0..=100_000.0).contains(&fc) {
        return Err(format!("Fc {fc} Hz out of range"));
    }
    if kind.uses_gain() && gain.is_none() {
        return Err("missing Gain".into());
    }
    let q = q.unwrap_or(default_q);
    if q <= 0.0 {
        return Err(format!("Q {q} must be positive"));
    }
    Ok(BandParams {
        kind,
        freq: fc,
        gain_db: gain.unwrap_or(0.0),
        q,
        enabled,
    }
    .validated())
}

/// The one-line form `TYPE Fc GainDB Q` (gain and Q may be left out: `HP 30`).
pub fn parse_spec(spec: &str) -> Result<BandParams, PresetError> {
    let err = |reason: &str| PresetError::Spec {
        spec: spec.into(),
        reason: reason.into(),
    };
    let toks: Vec<&str> = spec.split_whitespace().collect();
    let (kind, default_q) = toks
        .first()
        .and_then(|t| kind_from_token(t))
        .ok_or_else(|| err("unknown or missing TYPE"))?;
    let nums: Vec<f64> = toks[1..]
        .iter()
        .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| err("Fc, GainDB and Q must be numbers"))?;
    if nums.is_empty() || nums.len() > 3 {
        return Err(err("expected 1 to 3 numbers after TYPE"));
    }
    if !(1.0..=100_000.0).contains(&nums[0]) {
        return Err(err("Fc out of range"));
    }
    let q = nums.get(2).copied().unwrap_or(default_q);
    if q <= 0.0 {
        return Err(err("Q must be positive"));
    }
    Ok(BandParams {
        kind,
        freq: nums[0],
        gain_db: nums.get(1).copied().unwrap_or(0.0),
        q,
        enabled: true,
    }
    .validated())
}

/// Preset text for `eq` (shortest round-trip number formatting: import(export(x)) == x).
#[must_use]
pub fn to_text(eq: &EqParams, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {title}");
    let _ = writeln!(s, "# Equalizer APO / AutoEQ format, written by Rusty Audio");
    let _ = writeln!(s, "Preamp: {} dB", eq.preamp_db);
    for (i, b) in eq.bands().iter().enumerate() {
        let on = if b.enabled { "ON" } else { "OFF" };
        let k = b.kind.apo_name();
        if b.kind.uses_gain() {
            let _ = writeln!(
                s,
                "Filter {}: {on} {k} Fc {} Hz Gain {} dB Q {}",
                i + 1,
                b.freq,
                b.gain_db,
                b.q
            );
        } else {
            let _ = writeln!(s, "Filter {}: {on} {k} Fc {} Hz Q {}", i + 1, b.freq, b.q);
        }
    }
    s
}

/// Write a preset atomically (temp file + rename): a failed write never leaves half a file.
pub fn save(eq: &EqParams, path: &Path, title: &str) -> Result<(), PresetError> {
    crate::util::atomic_write(path, to_text(eq, title).as_bytes()).map_err(|source| {
        PresetError::Write {
            path: path.into(),
            source,
        }
    })
}

/// Presets shipped in assets/presets (compiled in, so they exist wherever the binary runs).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("Flat", include_str!("../../assets/presets/flat.txt")),
    (
        "Bass boost",
        include_str!("../../assets/presets/bass_boost.txt"),
    ),
    (
        "Treble boost",
        include_str!("../../assets/presets/treble_boost.txt"),
    ),
    (
        "Vocal presence",
        include_str!("../../assets/presets/vocal_presence.txt"),
    ),
    (
        "Loudness",
        include_str!("../../assets/presets/loudness.txt"),
    ),
    (
        "Rumble filter",
        include_str!("../../assets/presets/rumble_filter.txt"),
    ),
];

/// A built-in preset by name (case-insensitive).
#[must_use]
pub fn built_in(name: &str) -> Option<EqParams> {
    BUILT_IN
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(n, text)| parse(text, Path::new(n)).ok())
        .map(|p| p.eq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_autoeq_output_with_off_bands_comments_and_unknown_lines() {
        let text = "\u{feff}# AutoEQ\nPreamp: -6.2 dB\nFilter 1: ON PK Fc 105 Hz Gain -2.3 dB Q 0.70\n\
                    Filter 2: OFF LSC Fc 32 Hz Gain 4 dB Q 0.71\nFilter: ON HP Fc 20 Hz\nFilter 4: ON NO Fc 50 Hz Q 8\n\
                    Device: Speakers\nFilter 5: ON LS 6dB Fc 100 Hz Gain 3 dB\nFilter 6: ON XYZ Fc 1 Hz\n\
                    Filter 7: ON BP Fc 2000 Hz Q 2\nFilter 8: ON HSC Fc 8000 Hz Gain 2.5 dB Q 0.7\n";
        let p = parse(text, Path::new("x.txt")).unwrap();
        assert_eq!(p.eq.preamp_db, -6.2);
        let b = p.eq.bands();
        assert_eq!(b.len(), 6);
        assert_eq!(
            b[0],
            BandParams {
                kind: FilterKind::Peak,
                freq: 105.0,
                gain_db: -2.3,
                q: 0.7,
                enabled: true
            }
        );
        assert!(!b[1].enabled);
        assert_eq!(b[1].kind, FilterKind::LowShelf);
        assert_eq!(b[2].kind, FilterKind::HighPass);
        assert!((b[2].q - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
        assert_eq!((b[3].kind, b[3].q), (FilterKind::Notch, 8.0));
        assert_eq!(b[5].kind, FilterKind::HighShelf);
        let lines: Vec<usize> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![7, 8, 9]);
        assert!(p.warnings[2].reason.contains("XYZ"));
    }

    #[test]
    fn export_import_round_trips_exactly() {
        let mut eq = EqParams::default();
        for (i, k) in FilterKind::ALL.iter().enumerate() {
            let mut b = BandParams::new(
                *k,
                31.3 * (i + 1) as f64,
                if k.uses_gain() { -3.17 + i as f64 } else { 0.0 },
                0.33 + i as f64 * 0.1,
            );
            b.enabled = i % 3 != 0;
            eq.push(b).unwrap();
        }
        eq.set_preamp_db(-4.25);
        let back = parse(&to_text(&eq, "t"), Path::new("t")).unwrap();
        assert!(back.warnings.is_empty());
        assert_eq!(back.eq, eq);
    }

    #[test]
    fn nothing_usable_is_an_error_naming_the_file_and_line() {
        let e = parse("hello\nworld", Path::new("/p/junk.txt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/p/junk.txt") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn one_line_spec() {
        assert_eq!(
            parse_spec("PK 1000 6 1.0").unwrap(),
            BandParams::new(FilterKind::Peak, 1000.0, 6.0, 1.0)
        );
        assert_eq!(parse_spec("hp 30").unwrap().kind, FilterKind::HighPass);
        assert!(parse_spec("PK abc").is_err());
        assert!(parse_spec("ZZ 100 1 1").is_err());
        assert!(parse_spec("PK 1000 6 -1").is_err());
    }

    #[test]
    fn built_ins_all_parse_cleanly() {
        for (name, text) in BUILT_IN {
            let p = parse(text, Path::new(name)).unwrap();
            assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
            // Presets that boost take the boost back with the preamp.
            assert!(
                p.eq.max_boost_db(48_000.0) <= 0.05,
                "{name} can clip: {}",
                p.eq.max_boost_db(48_000.0)
            );
        }
        assert!(built_in("bass BOOST").is_some());
    }
}
