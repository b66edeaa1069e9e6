//! `rusty-audio bench [--json]`: in-process benchmarks of the real code paths on this machine —
//! the full callback chain, the EQ, the spectrum frame, limiter, meters, SIMD kernels against
//! their scalar references, the performance monitor's own cost, and decoding speed.
//!
//! Percentiles come from timing every iteration separately (after a warm-up), so p99 shows the
//! occasional slow block (the spectrum frame lands on every second 512-frame callback at hop
//! 1024). criterion benches in `benches/` give the statistically careful medians; this command is
//! what `run_performance_analysis` records and what users can run on their own machine.

use std::hint::black_box;
use std::time::Instant;

use serde_json::{json, Value};

use crate::analysis::meters::Meters;
use crate::analysis::spectrum::{SpectrumAnalyzer, SpectrumConfig};
use crate::dsp::biquad::{BandParams, FilterKind};
use crate::dsp::cascade::Kernel;
use crate::dsp::chain::DspSettings;
use crate::dsp::eq::Equalizer;
use crate::dsp::eq_params::EqParams;
use crate::dsp::limiter::{Limiter, LimiterParams};
use crate::dsp::simd;
use crate::engine::bench_rig::{music_like, ChainRig};

const FS: u32 = 48_000;
const BLOCK: usize = 512;

/// A 10-band EQ of the kind people actually use (shelves, bells, a high pass).
#[must_use]
pub fn ten_band_eq() -> EqParams {
    let bands = [
        (FilterKind::HighPass, 20.0, 0.0, 0.707),
        (FilterKind::LowShelf, 105.0, 4.0, 0.7),
        (FilterKind::Peak, 200.0, -2.0, 1.2),
        (FilterKind::Peak, 500.0, 1.5, 1.0),
        (FilterKind::Peak, 1000.0, -1.0, 1.4),
        (FilterKind::Peak, 2000.0, 2.0, 2.0),
        (FilterKind::Peak, 3500.0, -3.0, 3.0),
        (FilterKind::Peak, 6000.0, 1.0, 1.0),
        (FilterKind::Peak, 9000.0, -2.5, 2.0),
        (FilterKind::HighShelf, 12_000.0, 3.0, 0.7),
    ];
    let b: Vec<BandParams> = bands
        .iter()
        .map(|&(k, f, g, q)| BandParams::new(k, f, g, q))
        .collect();
    EqParams::from_bands(&b, -4.0).expect("10 bands")
}

#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    fn json(&self) -> Value {
        json!({"p50": self.p50.round(), "p99": self.p99.round(), "max": self.max.round(), "mean": self.mean.round()})
    }
}

/// Time `f` per call: `warm` untimed calls, then `n` timed ones.
pub fn time_each(warm: usize, n: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..warm {
        f();
    }
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        f();
        t.push(s.elapsed().as_nanos() as f64);
    }
    t.sort_by(f64::total_cmp);
    let q = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize];
    Stats {
        p50: q(0.5),
        p99: q(0.99),
        max: t[t.len() - 1],
        mean: t.iter().sum::<f64>() / t.len() as f64,
    }
}

/// Mean ns per call over `n` calls in one timed loop (for operations shorter than the clock).
pub fn time_mean(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    s.elapsed().as_nanos() as f64 / n as f64
}

pub fn run(as_json: bool, quick: bool) -> i32 {
    let report = measure(quick);
    if as_json {
        println!("{report}");
    } else {
        print_table(&report);
    }
    0
}

#[must_use]
pub fn measure(quick: bool) -> Value {
    let n = if quick { 300 } else { 20_000 };
    let signal = music_like(FS, 2, 4.0);
    let block = &signal[..BLOCK * 2];

    // Full callback chain: 10-band EQ, volume, limiter, meters, spectrum tap (4096, hop 1024).
    let settings = DspSettings {
        eq: ten_band_eq(),
        ..DspSettings::default()
    };
    let mut rig = ChainRig::new(&settings, FS, 2, signal.clone());
    // As in the app, the meter thread measures the played audio on the other core meanwhile.
    let mut out = vec![0.0f32; BLOCK * 2];
    let mut times = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        rig.top_up();
        let s = Instant::now();
        rig.callback(&mut out);
        if i >= n / 10 {
            times.push(s.elapsed().as_nanos() as f64);
        }
    }
    drop(rig);
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let render = Stats {
        p50: q(0.5),
        p99: q(0.99),
        max: times[times.len() - 1],
        mean: times.iter().sum::<f64>() / times.len() as f64,
    };

    // EQ alone, best kernel and scalar reference.
    let eq_params = ten_band_eq();
    let mut eq = Equalizer::new(&eq_params, FS, 2, BLOCK);
    let mut buf = block.to_vec();
    let eq10 = time_each(n / 10, n, || {
        buf.copy_from_slice(block);
        eq.process(black_box(&mut buf));
    });
    let mut eq_scalar = Equalizer::new(&eq_params, FS, 2, BLOCK);
    eq_scalar.set_kernel(Kernel::SCALAR);
    let eq10_scalar = time_each(n / 10, n, || {
        buf.copy_from_slice(block);
        eq_scalar.process(black_box(&mut buf));
    });

    // Spectrum frame: window + FFT + power + log bins + dB + peak hold.
    let mut sa = SpectrumAnalyzer::new(SpectrumConfig::default(), FS);
    sa.push(&signal[..8192 * 2], 2);
    let spectrum = time_each(n / 10, n, || sa.compute());

    let mut lim = Limiter::new(
        LimiterParams {
            enabled: true,
            // Far below the material's peaks: the per-frame gain path runs all the time.
            ceiling_dbfs: -24.0,
        },
        FS,
        2,
    );
    let limiter_busy = time_each(n / 10, n, || {
        buf.copy_from_slice(block);
        lim.process(black_box(&mut buf));
    });
    let mut lim_idle = Limiter::new(LimiterParams::default(), FS, 2);
    let limiter_idle = time_each(n / 10, n, || {
        buf.copy_from_slice(block);
        lim_idle.process(black_box(&mut buf));
    });
    let mut meters = Meters::new(2, FS);
    let meters_t = time_each(n / 10, n, || meters.process(black_box(block)));

    // SIMD kernels vs scalar on a 4096-sample stereo block.
    let big = &signal[..4096 * 2];
    let kernels = {
        let reps = if quick { 200 } else { 20_000 };
        let mut p = [0.0f32; 2];
        let mut s2 = [0.0f64; 2];
        let mut g = big.to_vec();
        let lvl = simd::level();
        json!({
            "level": format!("{lvl:?}"),
            "peak_ns": {"scalar": time_mean(reps, || simd::peak_at(simd::Level::SCALAR, black_box(big), &mut p)).round(),
                        "simd": time_mean(reps, || simd::peak_at(lvl, black_box(big), &mut p)).round()},
            "sum_squares_ns": {"scalar": time_mean(reps, || simd::sum_squares_at(simd::Level::SCALAR, black_box(big), &mut s2)).round(),
                               "simd": time_mean(reps, || simd::sum_squares_at(lvl, black_box(big), &mut s2)).round()},
            "gain_ns": {"scalar": time_mean(reps, || simd::gain_at(simd::Level::SCALAR, black_box(&mut g), 0.999)).round(),
                        "simd": time_mean(reps, || simd::gain_at(lvl, black_box(&mut g), 0.999)).round()},
            "samples": big.len(),
        })
    };

    // The monitor's own cost per callback.
    let monitor = crate::perf::PerfMonitor::new();
    let mut t0 = 1_000u64;
    let monitor_ns = time_mean(if quick { 10_000 } else { 2_000_000 }, || {
        t0 += 10_667;
        monitor.record(black_box(t0), black_box(4_000), 512);
    });

    // Decoding speed on the bundled demo (FLAC), whole file.
    let decode = crate::library::files::demo_track().and_then(|p| {
        let s = Instant::now();
        let mut src = crate::decode::AudioSource::open(&p).ok()?;
        let rate = src.info().sample_rate;
        let mut b = Vec::new();
        let mut frames = 0usize;
        loop {
            b.clear();
            let k = src.read(&mut b).ok()?;
            if k == 0 {
                break;
            }
            frames += k;
        }
        Some(frames as f64 / f64::from(rate) / s.elapsed().as_secs_f64())
    });

    json!({
        "machine": machine(),
        "block_frames": BLOCK,
        "sample_rate": FS,
        "render_block_ns": render.json(),
        "render_block_load_pct_p99": (render.p99 / (BLOCK as f64 / f64::from(FS) * 1e9) * 100.0 * 1000.0).round() / 1000.0,
        "eq10_block_ns": eq10.json(),
        "eq10_scalar_block_ns": eq10_scalar.json(),
        "eq_kernel": format!("{:?}", Kernel::detect()),
        "spectrum_frame_ns": spectrum.json(),
        "spectrum_size": 4096,
        "limiter_block_ns": {"idle": limiter_idle.json(), "limiting": limiter_busy.json()},
        "meters_block_ns": meters_t.json(),
        "simd": kernels,
        "monitor_record_ns": (monitor_ns * 10.0).round() / 10.0,
        "decode_x_realtime": decode.map(|x| x.round()),
        "iterations": n,
    })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.into());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "debug_build": cfg!(debug_assertions),
    })
}

fn print_table(r: &Value) {
    let us = |v: &Value| {
        v.as_f64()
            .map_or("-".into(), |x| format!("{:.2} µs", x / 1000.0))
    };
    println!(
        "machine: {} ({} cores){}",
        r["machine"]["cpu"],
        r["machine"]["cores"],
        if r["machine"]["debug_build"] == true {
            " — DEBUG BUILD, numbers are not representative"
        } else {
            ""
        }
    );
    let row = |name: &str, v: &Value| {
        println!(
            "{name:<38} p50 {:>10}  p99 {:>10}  max {:>10}",
            us(&v["p50"]),
            us(&v["p99"]),
            us(&v["max"])
        )
    };
    row(
        "render chain, 512 frames (10-band EQ…)",
        &r["render_block_ns"],
    );
    row("EQ 10 bands, 512 stereo frames", &r["eq10_block_ns"]);
    row("EQ 10 bands, scalar kernel", &r["eq10_scalar_block_ns"]);
    row("spectrum frame, 4096 points", &r["spectrum_frame_ns"]);
    row("limiter, idle", &r["limiter_block_ns"]["idle"]);
    row("limiter, limiting", &r["limiter_block_ns"]["limiting"]);
    row("meters (peak, RMS, TP, LUFS, corr.)", &r["meters_block_ns"]);
    for k in ["peak_ns", "sum_squares_ns", "gain_ns"] {
        println!(
            "{:<38} scalar {:>8} ns  {} {:>8} ns",
            format!("{k} (8192 samples)"),
            r["simd"][k]["scalar"],
            r["simd"]["level"],
            r["simd"][k]["simd"]
        );
    }
    println!(
        "{:<38} {} ns",
        "perf monitor record", r["monitor_record_ns"]
    );
    println!(
        "{:<38} {}×",
        "decode demo FLAC (× real time)", r["decode_x_realtime"]
    );
}
