//! Pure, allocation-free kernels (allocation happens only in constructors). A kernel knows
//! nothing of threads, devices or the UI.

pub mod biquad;
pub mod cascade;
pub mod chain;
pub mod channel_map;
pub mod convert;
pub mod denormals;
pub mod eq;
pub mod eq_params;
pub mod limiter;
pub mod monitor_mode;
pub mod preset;
pub mod simd;
pub mod smoothing;

/// Widest stream the DSP chain and the meters process: per-channel state is kept for this many
/// channels, so every channel of a 1–32-channel stream is filtered and measured on its own
/// (7.1.4, 9.1.6 and 16-channel discrete files included). Wider streams are not supported and are to be rejected where they
/// enter, with `too_many_channels` as the message: a file when it is opened (`decode::source`
/// does), an output device when the output is planned. The kernels themselves never mis-stride
/// or panic on a wider stream; each documents what it does with one (`eq::Equalizer::new`,
/// `analysis::meters::MeterSnapshot`; loudness and true peak have no limit).
pub const MAX_CHANNELS: usize = 32;

/// Whether a stream of `channels` channels can be processed (1 ..= `MAX_CHANNELS`).
#[must_use]
pub fn channels_supported(channels: usize) -> bool {
    (1..=MAX_CHANNELS).contains(&channels)
}

/// The one message for a stream wider than `MAX_CHANNELS`, wherever it is rejected.
#[must_use]
pub fn too_many_channels(channels: usize) -> String {
    format!("{channels} channels: more than {MAX_CHANNELS} are not supported")
}

/// Test signal for multichannel kernels: a different tone and level on every channel (48 kHz), so
/// a wrong stride or state shared between channels shows.
#[cfg(test)]
pub(crate) fn test_tone(c: usize, i: usize) -> f32 {
    let f = 200.0 + 450.0 * c as f64;
    let a = 0.3 + 0.02 * c as f64;
    (a * (2.0 * std::f64::consts::PI * f * i as f64 / 48_000.0).sin()) as f32
}
