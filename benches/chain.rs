//! criterion: the whole audio callback (ring → 10-band EQ → volume → limiter → meter copy → FFT
//! tap), and the performance monitor's own cost per callback.
//! `cargo bench --bench chain`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};

use rusty_audio::cli::bench::ten_band_eq;
use rusty_audio::dsp::chain::DspSettings;
use rusty_audio::engine::bench_rig::{music_like, ChainRig};
use rusty_audio::perf::PerfMonitor;

fn chain(c: &mut Criterion) {
    let settings = DspSettings {
        eq: ten_band_eq(),
        ..DspSettings::default()
    };
    let mut rig = ChainRig::new(&settings, 48_000, 2, music_like(48_000, 2, 4.0));
    // Only the callback is timed. Refilling the ring (`top_up`, the decoder thread's job in the
    // app) happens before each callback, outside the clock: `iter_batched` cannot be used because
    // its setup and routine closures would both need `&mut rig`, so `iter_custom` times each
    // callback itself. The two clock reads add a few tens of ns to a callback of several µs.
    let mut out = vec![0.0f32; 1024];
    c.bench_function("render_callback_512_stereo", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rig.top_up();
                let start = Instant::now();
                rig.callback(black_box(&mut out));
                total += start.elapsed();
            }
            total
        })
    });
    let mut out16 = vec![0i16; 1024];
    c.bench_function("render_callback_512_stereo_i16", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rig.top_up();
                let start = Instant::now();
                rig.renderer.process(black_box(&mut out16));
                total += start.elapsed();
            }
            total
        })
    });
}

fn monitor(c: &mut Criterion) {
    let m = PerfMonitor::new();
    let mut t = 1_000u64;
    c.bench_function("perf_monitor_record", |b| {
        b.iter(|| {
            t += 10_667;
            m.record(black_box(t), black_box(3_000), 512);
        })
    });
}

criterion_group!(benches, chain, monitor);
criterion_main!(benches);
