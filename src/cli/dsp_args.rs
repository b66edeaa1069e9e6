//! EQ/limiter options shared by `play` and `render`: `--preset FILE`, `--eq "TYPE Fc GainDB Q"`
//! (repeatable, appended after the preset's bands), `--preamp DB` (replaces the preset's).

use std::path::PathBuf;

use crate::dsp::chain::DspSettings;
use crate::dsp::eq_params::EqParams;
use crate::dsp::preset;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DspArgs {
    /// An EQ band, "TYPE Fc GainDB Q" (e.g. "PK 1000 6 1.0"; types PK LSC HSC LP HP NO BP AP).
    /// Repeat for more bands.
    #[arg(long = "eq", value_name = "SPEC", allow_hyphen_values = true)]
    pub eq: Vec<String>,
    /// An Equalizer APO / AutoEQ preset file, or the name of a built-in preset.
    #[arg(long, value_name = "FILE")]
    pub preset: Option<String>,
    /// EQ preamp in dB (replaces the preset's).
    #[arg(long, value_name = "DB", allow_negative_numbers = true)]
    pub preamp: Option<f64>,
}

impl DspArgs {
    /// Build the settings, printing preset warnings (line numbers) to stderr.
    pub fn settings(&self) -> Result<DspSettings, String> {
        let mut eq = EqParams::default();
        if let Some(p) = &self.preset {
            let path = PathBuf::from(p);
            if !path.exists() {
                if let Some(b) = preset::built_in(p) {
                    eq = b;
                } else {
                    let names: Vec<&str> = preset::BUILT_IN.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "{p}: no such preset file or built-in preset (built-ins: {})",
                        names.join(", ")
                    ));
                }
            } else {
                let parsed = preset::load(&path).map_err(|e| e.to_string())?;
                for w in &parsed.warnings {
                    eprintln!("rusty-audio: {}: {w}; ignored", path.display());
                }
                eq = parsed.eq;
            }
        }
        for spec in &self.eq {
            let band = preset::parse_spec(spec).map_err(|e| e.to_string())?;
            eq.push(band).map_err(|e| format!("--eq {spec:?}: {e}"))?;
        }
        if let Some(db) = self.preamp {
            eq.set_preamp_db(db);
        }
        Ok(DspSettings {
            eq,
            ..DspSettings::default()
        })
    }
}
