//! criterion: the DSP kernels on the hot path, each against its scalar reference.
//! `cargo bench --bench dsp`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

use rusty_audio::cli::bench::ten_band_eq;
use rusty_audio::dsp::biquad::{BandParams, FilterKind};
use rusty_audio::dsp::cascade::Kernel;
use rusty_audio::dsp::eq::Equalizer;
use rusty_audio::dsp::eq_params::EqParams;
use rusty_audio::dsp::limiter::{Limiter, LimiterParams};
use rusty_audio::dsp::simd::{self, Level};
use rusty_audio::engine::bench_rig::music_like;

fn eq(c: &mut Criterion) {
    let sig = music_like(48_000, 2, 1.0);
    let block = &sig[..1024];
    let mut g = c.benchmark_group("eq10_512_stereo");
    // Every kernel this CPU runs (only detected ones can be obtained).
    for k in Kernel::available() {
        let mut e = Equalizer::new(&ten_band_eq(), 48_000, 2, 512);
        e.set_kernel(k);
        let mut buf = block.to_vec();
        g.bench_function(format!("{k:?}"), |b| {
            b.iter(|| {
                buf.copy_from_slice(block);
                e.process(black_box(&mut buf));
            })
        });
    }
    g.finish();
    // Per filter family: one band, 512 stereo frames.
    let mut g = c.benchmark_group("biquad_family_512_stereo");
    for kind in FilterKind::ALL {
        let p = EqParams::from_bands(&[BandParams::new(kind, 1000.0, 3.0, 1.0)], 0.0).unwrap();
        let mut e = Equalizer::new(&p, 48_000, 2, 512);
        let mut buf = block.to_vec();
        g.bench_function(BenchmarkId::from_parameter(kind.apo_name()), |b| {
            b.iter(|| {
                buf.copy_from_slice(block);
                e.process(black_box(&mut buf));
            })
        });
    }
    g.finish();
}

fn kernels(c: &mut Criterion) {
    let sig = music_like(48_000, 2, 1.0);
    let x = &sig[..8192];
    // Scalar, Baseline and, where detected, Avx2.
    let levels = Level::available();
    let mut g = c.benchmark_group("simd_8192_samples");
    // Every input goes through `black_box` (level, samples, the output slice, so its channel count
    // is not a compile-time constant as it never is in the app) and every result comes out through
    // it: otherwise the compiler may fold the dispatch or drop a reduction nobody reads.
    for l in levels {
        g.bench_function(format!("peak/{l:?}"), |b| {
            b.iter(|| {
                let mut p = [0.0f32; 2];
                simd::peak_at(black_box(l), black_box(x), black_box(&mut p[..]));
                black_box(p)
            })
        });
        g.bench_function(format!("sum_squares/{l:?}"), |b| {
            b.iter(|| {
                let mut s = [0.0f64; 2];
                simd::sum_squares_at(black_box(l), black_box(x), black_box(&mut s[..]));
                black_box(s)
            })
        });
        // `gain` works in place. Multiplying the same buffer by 0.9999 over and over (what this
        // bench used to do) decays the samples into denormals in under a million iterations —
        // within the warm-up — and then into exact zeros: without FTZ/DAZ (the bench thread does
        // not set them) denormal multiplies are ~100× slower on Intel, so the figure timed
        // denormals or zeros, not audio. Refilling the buffer outside the clock (`iter_batched`)
        // would keep the values normal but, with the batch of 32 KiB inputs prepared up front,
        // time a buffer coming from L2/L3 instead of L1 like the other kernels here. So the gain
        // alternates between 0.5 and 2.0: exact powers of two, so the buffer returns bit-exactly
        // to the original samples every second iteration and never leaves the normal range, and a
        // multiply by 0.5 costs what a multiply by 0.9999 costs.
        let mut y = x.to_vec();
        let mut halve = true;
        g.bench_function(format!("gain/{l:?}"), |b| {
            b.iter(|| {
                let gain = if halve { 0.5 } else { 2.0 };
                halve = !halve;
                simd::gain_at(black_box(l), black_box(&mut y), black_box(gain));
            })
        });
        g.bench_function(format!("cross_stereo/{l:?}"), |b| {
            b.iter(|| black_box(simd::cross_stereo_at(black_box(l), black_box(x))))
        });
    }
    g.finish();
}

fn limiter(c: &mut Criterion) {
    let sig = music_like(48_000, 2, 1.0);
    let block = &sig[..1024];
    let mut g = c.benchmark_group("limiter_512_stereo");
    for (name, ceiling) in [("idle", -0.3), ("limiting", -24.0)] {
        let mut l = Limiter::new(
            LimiterParams {
                enabled: true,
                ceiling_dbfs: ceiling,
            },
            48_000,
            2,
        );
        let mut buf = block.to_vec();
        g.bench_function(name, |b| {
            b.iter(|| {
                buf.copy_from_slice(block);
                l.process(black_box(&mut buf));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, eq, kernels, limiter);
criterion_main!(benches);
