//! `rusty-audio render`: the playback chain offline, checked as a user would use it.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn render(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("render")
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn read_f32(p: &Path) -> (Vec<f32>, hound::WavSpec) {
    let mut r = hound::WavReader::open(p).unwrap();
    let spec = r.spec();
    let v = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
    };
    (v, spec)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn output_is_bit_identical_for_any_block_size() {
    let dir = scratch("render_blocks");
    let preset = dir.join("preset.txt");
    std::fs::write(&preset, "Preamp: -3 dB\nFilter 1: ON LSC Fc 20 Hz Gain 6 dB Q 0.7\nFilter 2: ON PK Fc 2500 Hz Gain -4 dB Q 2\nFilter 3: OFF HSC Fc 9000 Hz Gain 3 dB Q 0.7\n").unwrap();
    for (bits, rate) in [("24", None), ("32", Some("48000"))] {
        let mut outs: Vec<Vec<u8>> = Vec::new();
        for block in ["64", "512", "4096"] {
            let out = dir.join(format!("b{block}_{bits}.wav"));
            let mut args = vec![s(&media_file("prog.flac")).to_string(), s(&out).to_string()];
            for a in [
                "--preset",
                s(&preset),
                "--eq",
                "PK 1000 6 1.0",
                "--gain",
                "4",
                "--limit",
                "-1",
                "--bits",
                bits,
                "--block",
                block,
            ] {
                args.push(a.to_string());
            }
            if let Some(r) = rate {
                args.extend(["--rate".to_string(), r.to_string()]);
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&render(&argv));
            outs.push(std::fs::read(&out).unwrap());
        }
        assert!(
            outs[0] == outs[1] && outs[1] == outs[2],
            "{bits}-bit renders differ between block sizes"
        );
    }
}

#[test]
fn plain_render_is_the_input_and_the_limiter_is_latency_compensated() {
    let dir = scratch("render_plain");
    let (src, ch, _) = our_decode(&media_file("prog_s16.wav"));
    let plain = dir.join("plain.wav");
    ok(&render(&[s(&media_file("prog_s16.wav")), s(&plain)]));
    let (out, spec) = read_f32(&plain);
    assert_eq!(usize::from(spec.channels), ch);
    assert_eq!(
        out, src,
        "no options: float output equals the decoded input exactly"
    );
    // A limiter that never acts (ceiling above the material's peak) changes nothing — not even
    // the timing, because its lookahead delay is compensated.
    let limited = dir.join("limited.wav");
    ok(&render(&[
        s(&media_file("prog_s16.wav")),
        s(&limited),
        "--limit",
        "-0.01",
    ]));
    assert_eq!(read_f32(&limited).0, src);
}

#[test]
fn limiter_holds_the_ceiling_under_heavy_gain() {
    let dir = scratch("render_limit");
    let out = dir.join("hot.wav");
    ok(&render(&[
        s(&media_file("prog.flac")),
        s(&out),
        "--gain",
        "12",
        "--limit",
        "-1",
    ]));
    let (v, _) = read_f32(&out);
    let ceiling = 10f32.powf(-1.0 / 20.0);
    let peak = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak <= ceiling, "peak {peak} over the ceiling {ceiling}");
    assert!(
        peak > 0.99 * ceiling,
        "the limiter is used up to the ceiling ({peak})"
    );
    // Without --limit the same gain clips (the limiter is off in render unless asked for).
    let raw = dir.join("raw.wav");
    ok(&render(&[
        s(&media_file("prog.flac")),
        s(&raw),
        "--gain",
        "12",
    ]));
    assert!(read_f32(&raw).0.iter().any(|x| x.abs() > 1.0));
}

#[test]
fn eq_band_changes_the_level_by_its_gain() {
    let dir = scratch("render_eq");
    let tone = dir.join("tone.wav");
    write_wav_f32(&tone, 48_000, 2, &sine(48_000, 2, 1000.0, 0.1, 2.0));
    let out = dir.join("eq.wav");
    ok(&render(&[
        s(&tone),
        s(&out),
        "--eq",
        "PK 1000 6 1.0",
        "--preamp",
        "-1",
    ]));
    let (v, _) = read_f32(&out);
    let rms =
        |x: &[f32]| (x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let db = 20.0 * (rms(&v[48_000..]) / rms(&sine(48_000, 2, 1000.0, 0.1, 2.0)[48_000..])).log10();
    assert!((db - 5.0).abs() < 0.01, "{db}");
}

#[test]
fn resampling_keeps_length_and_pitch_and_integer_output_is_dithered() {
    let dir = scratch("render_rate");
    let tone = dir.join("tone441.wav");
    write_wav_f32(&tone, 44_100, 1, &sine(44_100, 1, 997.0, 0.25, 3.0));
    let out = dir.join("tone48.wav");
    ok(&render(&[
        s(&tone),
        s(&out),
        "--rate",
        "48000",
        "--bits",
        "16",
    ]));
    let mut r = hound::WavReader::open(&out).unwrap();
    assert_eq!(
        (r.spec().sample_rate, r.spec().bits_per_sample),
        (48_000, 16)
    );
    let v: Vec<f32> = r
        .samples::<i16>()
        .map(|x| f32::from(x.unwrap()) / 32768.0)
        .collect();
    assert_eq!(v.len(), 144_000, "3 s at 48 kHz");
    // Pitch: zero crossings over the steady middle second.
    let mid = &v[48_000..96_000];
    let crossings = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    assert!(
        (crossings as i64 - 997).abs() <= 1,
        "{crossings} rising crossings in 1 s"
    );
    // Dither: a −120 dBFS input (far below 1 LSB) still produces a noisy, non-zero 16-bit signal.
    let quiet = dir.join("quiet.wav");
    write_wav_f32(&quiet, 48_000, 1, &vec![1e-6f32; 48_000]);
    let q16 = dir.join("quiet16.wav");
    ok(&render(&[s(&quiet), s(&q16), "--bits", "16"]));
    let qs: Vec<i16> = hound::WavReader::open(&q16)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    assert!(
        qs.iter().all(|&x| x.abs() <= 2),
        "TPDF dither stays within ±2 LSB"
    );
    assert!(qs.iter().any(|&x| x != 0), "dither is present");
}

#[test]
fn bad_arguments_fail_cleanly_and_never_touch_user_files() {
    let dir = scratch("render_bad");
    let input = dir.join("in.wav");
    write_wav_f32(&input, 48_000, 2, &sine(48_000, 2, 440.0, 0.1, 0.5));
    let before = std::fs::read(&input).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![s(&input).into(), s(&input).into()],
            "refusing to overwrite the input",
        ),
        (
            vec![
                s(&input).into(),
                s(&dir.join("o.wav")).into(),
                "--bits".into(),
                "20".into(),
            ],
            "--bits 20",
        ),
        (
            vec![
                s(&dir.join("missing.flac")).into(),
                s(&dir.join("o.wav")).into(),
            ],
            "missing.flac",
        ),
        (
            vec![
                s(&input).into(),
                s(&dir.join("o.wav")).into(),
                "--eq".into(),
                "ZZ 1 2 3".into(),
            ],
            "invalid EQ spec",
        ),
        (
            vec![
                s(&input).into(),
                s(&dir.join("o.wav")).into(),
                "--preset".into(),
                "no-such-preset".into(),
            ],
            "no-such-preset",
        ),
        (
            vec![
                s(&input).into(),
                s(&dir.join("o.wav")).into(),
                "--limit".into(),
                "3".into(),
            ],
            "--limit 3",
        ),
    ];
    for (args, want) in cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = render(&argv);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
    assert!(!dir.join("o.wav").exists(), "no partial output");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".rendering-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A preset with an unknown line: the line number is reported, the rest applies.
    let preset = dir.join("p.txt");
    std::fs::write(
        &preset,
        "Preamp: -2 dB\nFilter 1: ON PK Fc 1000 Hz Gain 3 dB Q 1\nBogus: yes\n",
    )
    .unwrap();
    let o = render(&[s(&input), s(&dir.join("ok.wav")), "--preset", s(&preset)]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 3"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
