//! Live EQ through the real engine (decoder thread, ring, render function): a change is heard in
//! the next callback, and dragging a band makes no click or zipper noise.

mod common;
use common::*;

use rusty_audio::dsp::biquad::{BandParams, FilterKind};
use rusty_audio::dsp::chain::DspSettings;
use rusty_audio::dsp::eq_params::EqParams;
use rusty_audio::engine::{Engine, EngineConfig};

const FS: u32 = 48_000;
const BLOCK: usize = 512;

fn engine_on_tone(name: &str, freq: f64, amp: f64, secs: f64) -> Engine {
    let path = scratch(name).join("tone.wav");
    write_wav_f32(&path, FS, 2, &sine(FS, 2, freq, amp, secs));
    let mut e = Engine::offline(
        FS,
        2,
        &EngineConfig {
            limiter: false,
            ..EngineConfig::default()
        },
    );
    e.set_queue(vec![path]);
    e.play_track(0);
    e
}

fn rms_db(x: &[f32]) -> f64 {
    10.0 * (x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len() as f64).log10()
}

fn settings(gain_db: f64, freq: f64) -> DspSettings {
    DspSettings {
        eq: EqParams::from_bands(
            &[BandParams::new(FilterKind::Peak, freq, gain_db, 1.0)],
            0.0,
        )
        .unwrap(),
        ..DspSettings::default()
    }
}

#[test]
fn a_change_is_heard_in_the_next_callback() {
    // 750 Hz: exactly 8 periods per 512-frame block, so block RMS is exact.
    let mut e = engine_on_tone("eq_next_callback", 750.0, 0.1, 2.0);
    let mut buf = vec![0.0f32; BLOCK * 2];
    for _ in 0..20 {
        e.render_offline(&mut buf);
    }
    let before = rms_db(&buf);
    e.set_dsp(&settings(12.0, 750.0));
    e.render_offline(&mut buf);
    let next = rms_db(&buf);
    // The 20 ms glide is half done after one 10.7 ms callback: several dB up already.
    assert!(
        next > before + 3.0,
        "before {before:.2} dB, next callback {next:.2} dB"
    );
    for _ in 0..10 {
        e.render_offline(&mut buf);
    }
    let settled = rms_db(&buf);
    assert!(
        (settled - before - 12.0).abs() < 0.05,
        "settles at +12 dB: {before:.3} → {settled:.3}"
    );
}

/// Largest |second difference| of one channel: a click or a zipper step shows up as a spike far
/// above what a smooth sine (A·ω² per sample) can produce.
fn max_second_difference(x: &[f32]) -> f64 {
    let l: Vec<f64> = x.iter().step_by(2).map(|&s| f64::from(s)).collect();
    l.windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .fold(0.0, f64::max)
}

#[test]
fn dragging_a_band_is_smooth() {
    let amp = 0.1;
    let f = 1000.0;
    let mut e = engine_on_tone("eq_drag", f, amp, 4.0);
    e.set_dsp(&settings(-12.0, 200.0));
    let mut buf = vec![0.0f32; BLOCK * 2];
    let mut out = Vec::new();
    for _ in 0..10 {
        e.render_offline(&mut buf);
    }
    // One UI update per callback for 2 s: gain −12 → +12 dB while the centre moves 200 Hz → 5 kHz
    // across the tone — faster than any hand drags a handle.
    let steps = 2 * FS as usize / BLOCK;
    for i in 0..steps {
        let t = i as f64 / steps as f64;
        e.set_dsp(&settings(-12.0 + 24.0 * t, 200.0 * 25f64.powf(t)));
        e.render_offline(&mut buf);
        out.extend_from_slice(&buf);
    }
    // Threshold: a sine of the highest amplitude reached (+12 dB over the tone, ×4) has a second
    // difference of A·ω²; allow 1.5× for the amplitude changing under the glide. A hard
    // coefficient switch at a block boundary makes spikes of the order of the signal itself.
    let w = 2.0 * std::f64::consts::PI * f / f64::from(FS);
    let limit = 1.5 * amp * 10f64.powf(12.0 / 20.0) * w * w;
    let worst = max_second_difference(&out);
    assert!(
        worst < limit,
        "largest second difference {worst:.2e} > {limit:.2e}: a click"
    );
    // It did change the sound: the level at the end is the +12 dB band's effect at 5 kHz on 1 kHz.
    let p = settings(12.0, 5000.0).eq;
    let want = 20.0 * amp.log10() - 3.0103 + p.response_db(f, f64::from(FS));
    let end = rms_db(&out[out.len() - BLOCK * 2..]);
    assert!((end - want).abs() < 0.3, "end level {end:.2} vs {want:.2}");
}

#[test]
fn bypass_and_type_changes_are_click_free() {
    let amp = 0.2;
    let f = 440.0;
    let mut e = engine_on_tone("eq_bypass", f, amp, 3.0);
    e.set_dsp(&settings(9.0, 440.0));
    let mut buf = vec![0.0f32; BLOCK * 2];
    for _ in 0..10 {
        e.render_offline(&mut buf);
    }
    let mut out = Vec::new();
    let mut s = settings(9.0, 440.0);
    for i in 0..60 {
        match i {
            5 => s.eq.bypass = true,
            20 => s.eq.bypass = false,
            35 => {
                s.eq.set(0, BandParams::new(FilterKind::LowShelf, 1000.0, -6.0, 0.7))
            }
            50 => {
                let mut b = s.eq.bands()[0];
                b.enabled = false;
                s.eq.set(0, b);
            }
            _ => {}
        }
        e.set_dsp(&s);
        e.render_offline(&mut buf);
        out.extend_from_slice(&buf);
    }
    let w = 2.0 * std::f64::consts::PI * f / f64::from(FS);
    let limit = 1.5 * amp * 10f64.powf(9.0 / 20.0) * w * w;
    let worst = max_second_difference(&out);
    assert!(
        worst < limit,
        "largest second difference {worst:.2e} > {limit:.2e}"
    );
}
