//! A renderer with its PCM ring fed directly from memory: the real callback path (EQ, volume,
//! limiter, meters, FFT tap, conversion) without a decoder thread, for `rusty-audio bench` and the
//! criterion benches.

use std::sync::Arc;

use ringbuf::traits::Split;
use ringbuf::HeapRb;

use super::commands::Command;
use super::dsp_link::{link, DspControl};
use super::render::{Renderer, MAX_BLOCK_FRAMES};
use super::ring::{pcm_ring, MarkerKind, PcmProducer};
use super::telemetry::Telemetry;
use crate::dsp::chain::DspSettings;

pub struct ChainRig {
    pub renderer: Renderer,
    pub control: DspControl,
    producer: PcmProducer,
    signal: Vec<f32>,
    pos: usize,
    channels: usize,
    _commands: ringbuf::HeapProd<Command>,
}

impl ChainRig {
    /// `signal`: interleaved audio looped forever (use something music-like: noise + tones).
    #[must_use]
    pub fn new(settings: &DspSettings, fs: u32, channels: usize, signal: Vec<f32>) -> Self {
        let telemetry = Arc::new(Telemetry::default());
        let (mut producer, consumer) = pcm_ring(channels, 4 * MAX_BLOCK_FRAMES);
        let (cmd_p, cmd_c) = HeapRb::<Command>::new(16).split();
        let (control, tap) = link(settings, fs, channels, MAX_BLOCK_FRAMES, true);
        let _ = producer.push_marker(MarkerKind::TrackStart {
            track: 0,
            source_frame: 0,
            source_rate: fs,
            flush: false,
        });
        let renderer = Renderer::new(consumer, cmd_c, telemetry, channels, fs, tap);
        let mut rig = ChainRig {
            renderer,
            control,
            producer,
            signal,
            pos: 0,
            channels,
            _commands: cmd_p,
        };
        rig.top_up();
        rig
    }

    /// Refill the ring from the looped signal (outside the timed callback).
    pub fn top_up(&mut self) {
        while self.producer.vacant_frames() > 0 {
            let ch = self.channels;
            let end = (self.pos + self.producer.vacant_frames() * ch).min(self.signal.len());
            let n = self.producer.push(&self.signal[self.pos..end]);
            self.pos = (self.pos + n * ch) % self.signal.len();
            if n == 0 {
                break;
            }
        }
    }

    /// One callback of `out.len() / channels` frames.
    pub fn callback(&mut self, out: &mut [f32]) {
        self.renderer.process(out);
    }
}

/// Deterministic test material: pink-ish noise plus a few tones at musical levels (−18 dBFS RMS).
#[must_use]
pub fn music_like(fs: u32, channels: usize, seconds: f64) -> Vec<f32> {
    let n = (f64::from(fs) * seconds) as usize;
    let mut x = 0x9e37_79b9u32;
    let mut lp = [0.0f32; 8];
    let mut out = Vec::with_capacity(n * channels);
    for i in 0..n {
        let t = i as f32 / fs as f32;
        let tones = 0.1 * (2.0 * std::f32::consts::PI * 110.0 * t).sin()
            + 0.05 * (2.0 * std::f32::consts::PI * 1760.0 * t).sin();
        for (c, l) in lp.iter_mut().enumerate().take(channels) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let white = (x as f32 / u32::MAX as f32) * 2.0 - 1.0;
            *l = 0.97 * *l + 0.03 * white;
            out.push(tones * if c % 2 == 0 { 1.0 } else { 0.8 } + 0.5 * *l + 0.02 * white);
        }
    }
    out
}
