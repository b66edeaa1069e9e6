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
    let mut kernels = vec![Kernel::Scalar];
    #[cfg(target_arch = "x86_64")]
    kernels.push(Kernel::Sse2);
    #[cfg(target_arch = "x86_64")]
    if Kernel::detect() == Kernel::AvxPairs {
        kernels.push(Kernel::Fma);
        kernels.push(Kernel::AvxPairs);
    }
    for k in kernels {
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
    let mut levels = vec![Level::Scalar, Level::Baseline];
    if simd::level() == Level::Avx2 {
        levels.push(Level::Avx2);
    }
    let mut g = c.benchmark_group("simd_8192_samples");
    for l in levels {
        let mut p = [0.0f32; 2];
        g.bench_function(format!("peak/{l:?}"), |b| {
            b.iter(|| simd::peak_at(l, black_box(x), &mut p))
        });
        let mut s = [0.0f64; 2];
        g.bench_function(format!("sum_squares/{l:?}"), |b| {
            b.iter(|| simd::sum_squares_at(l, black_box(x), &mut s))
        });
        let mut y = x.to_vec();
        g.bench_function(format!("gain/{l:?}"), |b| {
            b.iter(|| simd::gain_at(l, black_box(&mut y), 0.9999))
        });
        g.bench_function(format!("cross_stereo/{l:?}"), |b| {
            b.iter(|| simd::cross_stereo_at(l, black_box(x)))
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
