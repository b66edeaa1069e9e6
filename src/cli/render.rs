//! `rusty-audio render IN... OUT.wav`: the playback chain, offline. It runs the real engine
//! (decoder thread, resampler, PCM ring, the render function) pulled without a clock, so what it
//! writes is exactly what playback sends to the device — bit-identical for any block size. Several
//! inputs (files, folders) are a queue, joined gaplessly and normalized as playback does; the
//! output has the first input's rate (unless `--rate`) and channel count, later inputs are
//! converted to it like playback converts to a device.
//!
//! Output: WAV, float32 by default, 16/24-bit with TPDF dither (the device conversion code). The
//! limiter's lookahead delay is compensated: output sample n is input sample n. The file is
//! written next to OUT and renamed into place, so a failed render never leaves half a file, and
//! OUT may not be IN.

use std::path::{Path, PathBuf};

use super::dsp_args::DspArgs;
use crate::decode::AudioSource;
use crate::engine::{Engine, EngineConfig, QueueItem};

pub struct RenderOptions {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    pub dsp: DspArgs,
    pub normalization: crate::library::replaygain::GainSettings,
    pub crossfade: crate::engine::crossfade::Crossfade,
    pub gain_db: f64,
    pub limit_dbfs: Option<f64>,
    pub rate: Option<u32>,
    pub bits: u16,
    pub block: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct RenderSummary {
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: usize,
}

pub fn run(opts: &RenderOptions) -> i32 {
    match render(opts) {
        Ok(s) => {
            eprintln!(
                "rusty-audio: wrote {} ({} frames, {:.3} s, {} Hz, {} ch, {})",
                opts.output.display(),
                s.frames,
                s.frames as f64 / f64::from(s.sample_rate),
                s.sample_rate,
                s.channels,
                if opts.bits == 32 {
                    "float32".to_string()
                } else {
                    format!("{}-bit", opts.bits)
                }
            );
            0
        }
        Err(e) => {
            eprintln!("rusty-audio: {e}");
            1
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Measure the loudness of untagged inputs now (into the user's cache), so the render is what
/// playback plays once they are measured, not the fallback it plays meanwhile.
fn measure_untagged(inputs: &[crate::library::entries::Listed]) {
    let m = crate::library::gain_cache::Measurer::shared();
    for l in inputs.iter().filter(|l| l.cue.is_none()) {
        let untagged = AudioSource::open(&l.path)
            .map(|mut s| s.tags(false).0.gain.is_empty())
            .unwrap_or(false);
        if untagged {
            m.request(&l.path);
        }
    }
    m.wait_idle();
}

pub fn render(opts: &RenderOptions) -> Result<RenderSummary, String> {
    if !matches!(opts.bits, 16 | 24 | 32) {
        return Err(format!("--bits {}: use 16, 24 or 32 (float)", opts.bits));
    }
    if let Some(r) = opts.rate {
        if !(8_000..=384_000).contains(&r) {
            return Err(format!("--rate {r}: use 8000–384000 Hz"));
        }
    }
    let (inputs, mut errors) = crate::library::entries::list(
        &crate::library::files::expand(&opts.inputs),
        crate::library::files::AUDIO_EXTENSIONS,
    );
    let (inputs, embedded_errors) = crate::library::entries::split_embedded(inputs);
    errors.extend(embedded_errors);
    // A broken sheet is an error here: a render must be what was asked for, or nothing.
    if let Some(e) = errors.first() {
        return Err(e.clone());
    }
    let Some(first) = inputs.first().map(|l| l.path.clone()) else {
        return Err("nothing to render (no audio files in the inputs)".into());
    };
    if inputs.iter().any(|i| same_file(&i.path, &opts.output)) {
        return Err(format!(
            "{}: refusing to overwrite the input file",
            opts.output.display()
        ));
    }
    let info = AudioSource::open(&first)
        .map_err(|e| e.to_string())?
        .info()
        .clone();
    let mut dsp = opts.dsp.settings()?;
    if let Some(c) = opts.limit_dbfs {
        if !c.is_finite() || c > 0.0 {
            return Err(format!("--limit {c}: the ceiling is in dBFS, ≤ 0"));
        }
        dsp.limiter.enabled = true;
        dsp.limiter.ceiling_dbfs = c;
    }
    if !opts.gain_db.is_finite() {
        return Err("--gain must be a number of dB".into());
    }
    let rate = opts.rate.unwrap_or(info.sample_rate);
    let channels = info.channels;
    let cfg = EngineConfig {
        dsp,
        limiter: opts.limit_dbfs.is_some(),
        volume: 10f64.powf(opts.gain_db / 20.0) as f32,
        ring_seconds: 1.0,
        gain: opts.normalization,
        crossfade: opts.crossfade,
        ..EngineConfig::default()
    };
    if opts.normalization.mode != crate::library::replaygain::GainMode::Off {
        measure_untagged(&inputs);
    }
    let mut engine = Engine::offline(rate, channels, &cfg);
    engine.set_queue_items(inputs.iter().map(QueueItem::from).collect());
    engine.play_track(0);

    let spec = hound::WavSpec {
        channels: channels as u16,
        sample_rate: rate,
        bits_per_sample: opts.bits,
        sample_format: if opts.bits == 32 {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let dir = opts
        .output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = opts
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out.wav".into());
    let tmp = dir.join(format!(".{name}.rendering-{}", std::process::id()));
    let result = write(&mut engine, &tmp, spec, opts.block.clamp(1, 1 << 16));
    let frames = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("{}: {e}", opts.output.display()));
        }
    };
    for ev in engine.poll() {
        if let crate::engine::EngineEvent::TrackFailed { error, .. } = ev {
            let _ = std::fs::remove_file(&tmp);
            return Err(error);
        }
    }
    std::fs::rename(&tmp, &opts.output).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: cannot write: {e}", opts.output.display())
    })?;
    Ok(RenderSummary {
        frames,
        sample_rate: rate,
        channels,
    })
}

/// Pull the engine block by block and write what is audible, minus the chain's latency.
fn write(
    engine: &mut Engine,
    tmp: &Path,
    spec: hound::WavSpec,
    block: usize,
) -> Result<u64, String> {
    let ch = usize::from(spec.channels);
    let latency = engine.chain_latency() as u64;
    let file = std::fs::File::create(tmp).map_err(|e| format!("cannot create: {e}"))?;
    let mut w =
        hound::WavWriter::new(std::io::BufWriter::new(file), spec).map_err(|e| e.to_string())?;
    let mut f32_buf = vec![0.0f32; block * ch];
    let mut i16_buf = vec![0i16; block * ch];
    let mut i24_buf = vec![cpal::I24::new_unchecked(0); block * ch];
    let mut produced = 0u64;
    let mut written = 0u64;
    loop {
        let more = match spec.bits_per_sample {
            16 => engine.render_offline(&mut i16_buf),
            24 => engine.render_offline(&mut i24_buf),
            _ => engine.render_offline(&mut f32_buf),
        };
        let played = engine
            .telemetry()
            .frames_played
            .load(std::sync::atomic::Ordering::Relaxed);
        let end = played + latency;
        for i in 0..block as u64 {
            let idx = produced + i;
            if idx < latency || idx >= end {
                continue;
            }
            let frame = (i as usize) * ch..(i as usize + 1) * ch;
            let r = match spec.bits_per_sample {
                16 => i16_buf[frame].iter().try_for_each(|&s| w.write_sample(s)),
                24 => i24_buf[frame]
                    .iter()
                    .try_for_each(|&s| w.write_sample(s.inner())),
                _ => f32_buf[frame].iter().try_for_each(|&s| w.write_sample(s)),
            };
            r.map_err(|e| e.to_string())?;
            written += 1;
        }
        produced += block as u64;
        if !more && produced >= end {
            break;
        }
    }
    w.finalize().map_err(|e| e.to_string())?;
    Ok(written)
}
