//! The lock-free link between the control side and the audio thread's DSP and analysis:
//!
//! - `DspSettings` (EQ, limiter, monitor mode) control → audio through a triple buffer: a dragged
//!   EQ handle writes many values per second, the callback only ever wants the newest, and a
//!   triple buffer never fills up or blocks (a command ring would need overflow handling and
//!   could deliver stale intermediate values).
//! - Meter snapshots and spectrum frames audio → control through triple buffers (latest wins).
//! - A new spectrum analyzer (size/window change allocates an FFT plan) goes to the audio thread on
//!   an SPSC ring and the old one comes back on another, so the audio thread never allocates or
//!   frees (kira's pattern).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use triple_buffer::{triple_buffer, Input, Output};

use crate::analysis::meters::{MeterSnapshot, Meters};
use crate::analysis::spectrum::{SpectrumAnalyzer, SpectrumConfig, SpectrumFrame};
use crate::dsp::chain::{Chain, DspSettings};

/// What the meters publish, plus the chain's own indicators.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeterReading {
    pub meters: MeterSnapshot,
    /// Lowest limiter gain in the last callback (1.0 = not limiting).
    pub limiter_gain: f32,
}

/// Control-side half.
pub struct DspControl {
    settings: Input<DspSettings>,
    current: DspSettings,
    meters: Output<MeterReading>,
    spectrum: Output<SpectrumFrame>,
    new_analyzers: HeapProd<Box<SpectrumAnalyzer>>,
    old_analyzers: HeapCons<Box<SpectrumAnalyzer>>,
    spectrum_cfg: SpectrumConfig,
    fs: u32,
    spectrum_on: Arc<AtomicBool>,
    reset_meters: Arc<AtomicBool>,
}

/// Audio-side half: the chain, the meters and the spectrum tap.
pub struct DspTap {
    pub chain: Chain,
    settings: Output<DspSettings>,
    meters: Meters,
    meters_out: Input<MeterReading>,
    analyzer: Box<SpectrumAnalyzer>,
    spectrum_out: Input<SpectrumFrame>,
    new_analyzers: HeapCons<Box<SpectrumAnalyzer>>,
    old_analyzers: HeapProd<Box<SpectrumAnalyzer>>,
    spectrum_on: Arc<AtomicBool>,
    reset_meters: Arc<AtomicBool>,
    channels: usize,
}

/// Build both halves. `with_limiter`: see `Chain::new`.
#[must_use]
pub fn link(
    settings: &DspSettings,
    fs: u32,
    channels: usize,
    max_block: usize,
    with_limiter: bool,
) -> (DspControl, DspTap) {
    let (s_in, s_out) = triple_buffer(settings);
    let (m_in, m_out) = triple_buffer(&MeterReading::default());
    let cfg = SpectrumConfig::default();
    let analyzer = Box::new(SpectrumAnalyzer::new(cfg, fs));
    let (f_in, f_out) = triple_buffer(analyzer.frame());
    let (new_p, new_c) = HeapRb::new(2).split();
    let (old_p, old_c) = HeapRb::new(4).split();
    let spectrum_on = Arc::new(AtomicBool::new(true));
    let reset_meters = Arc::new(AtomicBool::new(false));
    (
        DspControl {
            settings: s_in,
            current: *settings,
            meters: m_out,
            spectrum: f_out,
            new_analyzers: new_p,
            old_analyzers: old_c,
            spectrum_cfg: cfg,
            fs,
            spectrum_on: spectrum_on.clone(),
            reset_meters: reset_meters.clone(),
        },
        DspTap {
            chain: Chain::new(settings, fs, channels, max_block, with_limiter),
            settings: s_out,
            meters: Meters::new(channels, fs),
            meters_out: m_in,
            analyzer,
            spectrum_out: f_in,
            new_analyzers: new_c,
            old_analyzers: old_p,
            spectrum_on,
            reset_meters,
            channels,
        },
    )
}

impl DspControl {
    /// Send new settings; heard from the next callback on (smoothed).
    pub fn set(&mut self, s: &DspSettings) {
        self.current = *s;
        self.settings.write(*s);
    }

    #[must_use]
    pub fn settings(&self) -> &DspSettings {
        &self.current
    }

    /// Latest meter reading.
    pub fn meters(&mut self) -> MeterReading {
        *self.meters.read()
    }

    /// Latest spectrum frame.
    pub fn spectrum(&mut self) -> &SpectrumFrame {
        self.spectrum.read()
    }

    #[must_use]
    pub fn spectrum_config(&self) -> &SpectrumConfig {
        &self.spectrum_cfg
    }

    /// Change FFT size/window/…: plans a new analyzer here and hands it to the audio thread.
    pub fn set_spectrum_config(&mut self, cfg: SpectrumConfig) {
        self.collect_garbage();
        let cfg = cfg.validated();
        if cfg == self.spectrum_cfg {
            return;
        }
        if self
            .new_analyzers
            .try_push(Box::new(SpectrumAnalyzer::new(cfg, self.fs)))
            .is_ok()
        {
            self.spectrum_cfg = cfg;
        }
    }

    /// Compute spectra only while someone looks at them.
    pub fn set_spectrum_enabled(&mut self, on: bool) {
        self.spectrum_on.store(on, Relaxed);
    }

    /// Restart integrated loudness, maxima and the clip count.
    pub fn reset_meters(&mut self) {
        self.reset_meters.store(true, Relaxed);
    }

    /// Drop analyzers the audio thread has handed back.
    pub fn collect_garbage(&mut self) {
        while self.old_analyzers.try_pop().is_some() {}
    }
}

impl DspTap {
    /// Pick up new settings and analyzers; call at the start of each callback.
    #[inline]
    pub fn update(&mut self) {
        if self.settings.update() {
            let s = *self.settings.output_buffer();
            self.chain.set(&s);
        }
        if let Some(new) = self.new_analyzers.try_pop() {
            let old = std::mem::replace(&mut self.analyzer, new);
            // The return ring has room for more than can be in flight; if it were full the old
            // analyzer is simply kept alive in the ring slot's place rather than freed here.
            if let Err(old) = self.old_analyzers.try_push(old) {
                std::mem::forget(old);
            }
        }
        if self.reset_meters.swap(false, Relaxed) {
            self.meters.reset();
        }
    }

    /// Measure what is about to be heard and publish it.
    #[inline]
    pub fn measure(&mut self, buf: &[f32]) {
        self.meters.process(buf);
        let limiter_gain = self.chain.take_limiter_gain();
        self.meters_out.write(MeterReading {
            meters: *self.meters.snapshot(),
            limiter_gain,
        });
        if self.spectrum_on.load(Relaxed) && self.analyzer.push(buf, self.channels) {
            self.spectrum_out.write(*self.analyzer.frame());
        }
    }
}
