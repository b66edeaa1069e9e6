//! criterion: spectrum frame, meters, loudness (ours vs the ebur128 crate), true peak.
//! `cargo bench --bench analysis`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use rusty_audio::analysis::loudness::LoudnessMeter;
use rusty_audio::analysis::meters::Meters;
use rusty_audio::analysis::spectrum::{SpectrumAnalyzer, SpectrumConfig};
use rusty_audio::analysis::true_peak::TruePeak;
use rusty_audio::engine::bench_rig::music_like;

fn spectrum(c: &mut Criterion) {
    let sig = music_like(48_000, 2, 1.0);
    let mut g = c.benchmark_group("spectrum_frame");
    for size in [1024, 4096, 16_384] {
        let mut a = SpectrumAnalyzer::new(
            SpectrumConfig {
                size,
                ..SpectrumConfig::default()
            },
            48_000,
        );
        a.push(&sig[..2 * 16_384], 2);
        // The frame is the result: pass it through `black_box` so the work cannot be dropped.
        g.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                a.compute();
                black_box(a.frame());
            })
        });
    }
    g.finish();
}

fn meters(c: &mut Criterion) {
    let sig = music_like(48_000, 2, 1.0);
    let block = &sig[..1024];
    let mut m = Meters::new(2, 48_000);
    // Both fold their results into their own state: read it through `black_box` every iteration.
    c.bench_function("meters_512_stereo", |b| {
        b.iter(|| {
            m.process(black_box(block));
            black_box(m.snapshot());
        })
    });
    let mut tp = TruePeak::new(2, 48_000);
    c.bench_function("true_peak_512_stereo", |b| {
        b.iter(|| {
            tp.add(black_box(block));
            black_box(tp.peaks());
        })
    });
}

fn loudness(c: &mut Criterion) {
    // 10 s of stereo: ours (K-weighting + gating + true peak) vs the ebur128 crate (I, LRA, TP).
    let sig = music_like(48_000, 2, 10.0);
    let mut g = c.benchmark_group("loudness_10s_stereo");
    g.sample_size(10);
    g.bench_function("ours", |b| {
        b.iter(|| {
            let mut l = LoudnessMeter::offline(2, 48_000);
            let mut tp = TruePeak::new(2, 48_000);
            for chunk in black_box(&sig).chunks(16_384) {
                l.add(chunk);
                tp.add(chunk);
            }
            black_box((l.integrated(), l.loudness_range(), tp.peak()))
        })
    });
    g.bench_function("ebur128_crate", |b| {
        b.iter(|| {
            use ebur128::{EbuR128, Mode};
            let mut e = EbuR128::new(2, 48_000, Mode::I | Mode::LRA | Mode::TRUE_PEAK).unwrap();
            for chunk in black_box(&sig).chunks(16_384) {
                e.add_frames_f32(chunk).unwrap();
            }
            black_box((
                e.loudness_global().ok(),
                e.loudness_range().ok(),
                e.true_peak(0).ok(),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, spectrum, meters, loudness);
criterion_main!(benches);
