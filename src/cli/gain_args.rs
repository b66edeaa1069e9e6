//! Loudness normalization options shared by `play` and `render`: `--replaygain MODE`,
//! `--rg-preamp DB`, `--rg-fallback DB`, `--rg-allow-clipping`.

use crate::library::replaygain::{GainMode, GainSettings, SETTING_LIMIT_DB};

#[derive(clap::Args, Clone, Debug)]
pub struct GainArgs {
    /// Loudness normalization (ReplayGain 2.0, −18 LUFS): off, track, album, or auto (album
    /// gain while consecutive tracks of one album play in order, track gain otherwise).
    #[arg(long = "replaygain", value_enum, default_value_t = GainMode::Off, value_name = "MODE")]
    pub mode: GainMode,
    /// Added to every tagged gain, in dB.
    #[arg(
        long = "rg-preamp",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_name = "DB"
    )]
    pub preamp_db: f64,
    /// Gain for files without ReplayGain tags, in dB.
    #[arg(
        long = "rg-fallback",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_name = "DB"
    )]
    pub fallback_db: f64,
    /// Do not cap the gain at the tagged peak (in `play` the limiter then catches what goes over;
    /// in `render` only with `--limit`).
    #[arg(long = "rg-allow-clipping")]
    pub allow_clipping: bool,
}

impl GainArgs {
    pub fn settings(&self) -> Result<GainSettings, String> {
        for (name, v) in [
            ("--rg-preamp", self.preamp_db),
            ("--rg-fallback", self.fallback_db),
        ] {
            if !v.is_finite() || v.abs() > SETTING_LIMIT_DB {
                return Err(format!("{name} {v}: use -24 to +24 dB"));
            }
        }
        Ok(GainSettings {
            mode: self.mode,
            preamp_db: self.preamp_db,
            fallback_db: self.fallback_db,
            prevent_clipping: !self.allow_clipping,
        })
    }
}
