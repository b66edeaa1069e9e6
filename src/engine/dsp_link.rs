//! The lock-free link between the control side and the audio thread's DSP and analysis:
//!
//! - `DspSettings` (EQ, limiter, monitor mode) control → audio through a triple buffer: a dragged
//!   EQ handle writes many values per second, the callback only ever wants the newest, and a
//!   triple buffer never fills up or blocks (a command ring would need overflow handling and
//!   could deliver stale intermediate values).
//! - Spectrum frames audio → control through a triple buffer (latest wins). The FFT tap runs in
//!   the callback at a fixed hop.
//! - Meters: the callback copies what it plays into an SPSC sample ring (a memcpy); a meter thread
//!   runs peak/RMS, true peak (4× oversampling FIR) and BS.1770 loudness on it and publishes
//!   snapshots through a triple buffer. Loudness and true peak cost ~5 µs per 512-frame block;
//!   off the audio thread they cannot contribute to an underrun, and a meter 20 ms late is
//!   invisible. If the meter thread ever falls behind, the callback drops samples for the meters
//!   only (counted), never waits.
//! - A new spectrum analyzer (size/window change allocates an FFT plan) goes to the audio thread on
//!   an SPSC ring and the old one comes back on another, so the audio thread never allocates or
//!   frees (kira's pattern).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use triple_buffer::{triple_buffer, Input, Output};

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::Observer;

use crate::analysis::meters::{MeterSnapshot, Meters};
use crate::analysis::spectrum::{SpectrumAnalyzer, SpectrumConfig, SpectrumFrame};
use crate::dsp::chain::{Chain, DspSettings};

/// What the meters publish, plus the chain's own indicators.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeterReading {
    pub meters: MeterSnapshot,
    /// Lowest limiter gain in the last callback (1.0 = not limiting).
    pub limiter_gain: f32,
    /// Samples the meters missed because their thread fell behind (0 in normal operation).
    pub dropped_samples: u64,
}

impl MeterReading {
    /// What the meters read when nothing is heard (the renderer dormant, or the app's views at
    /// rest after playback stopped): the windowed readings — peak, true peak, RMS, momentary and
    /// short-term loudness, correlation, limiter gain — show silence; the integrating ones
    /// (integrated loudness, range, maxima, clips) keep what they measured.
    #[must_use]
    pub fn at_rest(mut self) -> Self {
        let m = &mut self.meters;
        m.peak = [0.0; crate::analysis::meters::MAX_CHANNELS];
        m.true_peak = [0.0; crate::analysis::meters::MAX_CHANNELS];
        m.rms = [0.0; crate::analysis::meters::MAX_CHANNELS];
        m.momentary = f32::NEG_INFINITY;
        m.short_term = f32::NEG_INFINITY;
        m.correlation = 0.0;
        self.limiter_gain = 1.0;
        self
    }
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
    shared: Arc<MeterShared>,
    meter_thread: Option<JoinHandle<()>>,
    /// An analyzer not yet handed over because the audio thread had not taken the previous ones
    /// (e.g. while the stream is corked): handed over by `collect_garbage`, newest wins.
    pending_analyzer: Option<Box<SpectrumAnalyzer>>,
    /// Why the meter thread's loop panicked, each time it did (it restarts with fresh meters).
    meter_failures: crossbeam_channel::Receiver<String>,
}

/// Panics of the meter loop after which the meters stop (see `link`).
const MAX_METER_RESTARTS: u32 = 3;

/// State shared by the callback, the meter thread and the control side (atomics only).
#[derive(Default)]
struct MeterShared {
    reset: AtomicBool,
    stop: AtomicBool,
    /// Lowest limiter gain of the latest callback, as f32 bits.
    limiter_gain: AtomicU32,
    /// Samples the meter ring had no room for.
    dropped: AtomicU64,
    /// The meter thread is gone for good without being asked to stop (its restarts used up, or
    /// it could not be started): nothing reads the meter ring any more, so the tap stops
    /// feeding it rather than count every block as dropped.
    meters_gone: AtomicBool,
    /// Tests: panics the meter loop is to raise (one per block read) — a bug in the meters,
    /// made to order.
    #[cfg(test)]
    panics_to_inject: std::sync::atomic::AtomicU32,
}

/// Audio-side half: the chain, the meters and the spectrum tap.
pub struct DspTap {
    pub chain: Chain,
    settings: Output<DspSettings>,
    to_meters: HeapProd<f32>,
    analyzer: Box<SpectrumAnalyzer>,
    spectrum_out: Input<SpectrumFrame>,
    new_analyzers: HeapCons<Box<SpectrumAnalyzer>>,
    old_analyzers: HeapProd<Box<SpectrumAnalyzer>>,
    spectrum_on: Arc<AtomicBool>,
    shared: Arc<MeterShared>,
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
    let shared = Arc::new(MeterShared {
        limiter_gain: AtomicU32::new(1f32.to_bits()),
        ..MeterShared::default()
    });
    // Half a second of audio: the meter thread wakes every 10 ms.
    let (to_meters, from_tap) =
        HeapRb::<f32>::new((fs as usize / 2).max(8192) * channels.max(1)).split();
    let (fail_tx, meter_failures) = crossbeam_channel::unbounded();
    let not_started = fail_tx.clone();
    let meter_thread = {
        let shared = shared.clone();
        let mut meters = Meters::new(channels, fs);
        let mut out = m_in;
        let ch = channels.max(1);
        std::thread::Builder::new()
            .name("rusty-audio-meters".into())
            .spawn(move || {
                // A panic in the meters (a bug) is contained: reported, then the loop goes on
                // with fresh meters; after `MAX_METER_RESTARTS` the meters stop (a panic on every
                // block would otherwise flood the user with notices). The ring and the
                // published reading survive it.
                let mut rx = from_tap;
                for restart in 0..=MAX_METER_RESTARTS {
                    match super::contain(|| meter_loop(&mut rx, &mut meters, &mut out, &shared, ch))
                    {
                        Ok(()) => return,
                        Err(why) => {
                            let last = restart == MAX_METER_RESTARTS;
                            let _ = fail_tx.send(if last {
                                format!("{why}; meters stopped")
                            } else {
                                why
                            });
                            meters = Meters::new(ch, fs);
                        }
                    }
                }
                // Release: the failures sent above are there for whoever sees the flag.
                shared
                    .meters_gone
                    .store(true, std::sync::atomic::Ordering::Release);
            })
    };
    let meter_thread = match meter_thread {
        Ok(h) => Some(h),
        Err(e) => {
            // Said like a failure of the meters (the views' meters stay at rest).
            let _ = not_started.send(format!(
                "the meter thread could not start ({e}); meters stopped"
            ));
            shared
                .meters_gone
                .store(true, std::sync::atomic::Ordering::Release);
            None
        }
    };
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
            shared: shared.clone(),
            meter_thread,
            pending_analyzer: None,
            meter_failures,
        },
        DspTap {
            chain: Chain::new(settings, fs, channels, max_block, with_limiter),
            settings: s_out,
            to_meters,
            analyzer,
            spectrum_out: f_in,
            new_analyzers: new_c,
            old_analyzers: old_p,
            spectrum_on,
            shared,
            channels,
        },
    )
}

impl DspControl {
    /// Send new settings; heard from the next callback on (smoothed).
    pub fn set(&mut self, s: &DspSettings) {
        let s = s.validated();
        self.current = s;
        self.settings.write(s);
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

    /// Change FFT size/window/…: plans a new analyzer here and hands it to the audio thread. If
    /// the hand-over ring is full (the audio thread has not run since the last changes, e.g. the
    /// stream is corked) the newest analyzer waits here and `collect_garbage` hands it over later:
    /// the change is never dropped.
    pub fn set_spectrum_config(&mut self, cfg: SpectrumConfig) {
        self.collect_garbage();
        let cfg = cfg.validated();
        if cfg == self.spectrum_cfg {
            return;
        }
        self.spectrum_cfg = cfg;
        self.pending_analyzer = Some(Box::new(SpectrumAnalyzer::new(cfg, self.fs)));
        self.hand_over_analyzer();
    }

    fn hand_over_analyzer(&mut self) {
        if let Some(a) = self.pending_analyzer.take() {
            if let Err(a) = self.new_analyzers.try_push(a) {
                self.pending_analyzer = Some(a);
            }
        }
    }

    /// Why the meter thread failed since the last call (each failure once).
    pub fn meter_failures(&mut self) -> Vec<String> {
        self.meter_failures.try_iter().collect()
    }

    /// Compute spectra only while someone looks at them.
    pub fn set_spectrum_enabled(&mut self, on: bool) {
        self.spectrum_on.store(on, Relaxed);
    }

    /// Restart integrated loudness, maxima and the clip count.
    pub fn reset_meters(&mut self) {
        self.shared.reset.store(true, Relaxed);
    }

    /// Drop analyzers the audio thread has handed back, and hand over one that is waiting.
    pub fn collect_garbage(&mut self) {
        while self.old_analyzers.try_pop().is_some() {}
        self.hand_over_analyzer();
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
    }

    /// Hand what is about to be heard to the meters and the spectrum tap. Returns how many of
    /// `buf`'s samples the meter ring had no room for (the meter thread fell behind): dropped,
    /// never waited for, and counted in `MeterReading::dropped_samples`; an input counts them
    /// as its overruns too.
    #[inline]
    pub fn measure(&mut self, buf: &[f32]) -> usize {
        // Whole frames only: the meter thread reads whole frames, and a part of one would shift
        // its channels for good. (The ring's capacity, every push and every read are whole
        // frames already, so its room is too; this keeps it so if a caller ever passes a block
        // that is not.)
        let ch = self.channels.max(1);
        let room = self.to_meters.vacant_len();
        let fits = buf.len().min(room - room % ch);
        let dropped = if self.shared.meters_gone.load(Relaxed) {
            0
        } else {
            buf.len() - self.to_meters.push_slice(&buf[..fits])
        };
        if dropped > 0 {
            self.shared.dropped.fetch_add(dropped as u64, Relaxed);
        }
        self.shared
            .limiter_gain
            .store(self.chain.take_limiter_gain().to_bits(), Relaxed);
        if self.spectrum_on.load(Relaxed) && self.analyzer.push(buf, self.channels) {
            self.spectrum_out.write(*self.analyzer.frame());
        }
        dropped
    }
}

impl Drop for DspControl {
    fn drop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        if let Some(h) = self.meter_thread.take() {
            // Ordering: `stop` is stored before `unpark`, and `unpark` happens-before the
            // meter thread's `park_timeout` returns (or, when it is not parked yet, leaves a
            // token that makes its next `park_timeout` return at once); the loop checks `stop`
            // after every nap. So it sees `stop` at once: closing an input or an output does not
            // wait out a 100 ms idle nap on the UI thread.
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// The meter thread: drain the sample ring in whole frames, measure, publish; nap when idle.
fn meter_loop(
    rx: &mut HeapCons<f32>,
    meters: &mut Meters,
    out: &mut Input<MeterReading>,
    shared: &MeterShared,
    ch: usize,
) {
    let mut buf = vec![0.0f32; 4096 * ch];
    let mut idle_naps = 0u32;
    while !shared.stop.load(Relaxed) {
        if shared.reset.swap(false, Relaxed) {
            meters.reset();
        }
        let avail = rx.occupied_len() / ch * ch;
        if avail == 0 {
            // 10 ms naps while audio flows; after half a second without any (paused, the
            // renderer dormant) 100 ms ones — the ring holds half a second, so nothing is lost
            // and the first meter update after a resume is at most 100 ms late.
            idle_naps = idle_naps.saturating_add(1);
            // Parked, not slept: `DspControl::drop` unparks it to stop. (A spurious or stale
            // unpark only shortens one nap.)
            std::thread::park_timeout(Duration::from_millis(if idle_naps > 50 { 100 } else { 10 }));
            continue;
        }
        idle_naps = 0;
        let take = avail.min(buf.len());
        let n = rx.pop_slice(&mut buf[..take]);
        #[cfg(test)]
        if shared
            .panics_to_inject
            .fetch_update(Relaxed, Relaxed, |p| p.checked_sub(1))
            .is_ok()
        {
            panic!("injected meter panic");
        }
        meters.process(&buf[..n]);
        out.write(MeterReading {
            meters: *meters.snapshot(),
            limiter_gain: f32::from_bits(shared.limiter_gain.load(Relaxed)),
            dropped_samples: shared.dropped.load(Relaxed),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three changes while the audio thread does not run (a corked stream): the last one must
    /// reach it once it runs again, not be dropped because the hand-over ring was full.
    #[test]
    fn spectrum_changes_are_not_dropped_while_the_audio_thread_sleeps() {
        let (mut control, mut tap) = link(&DspSettings::default(), 48_000, 2, 512, true);
        let mut last = *control.spectrum_config();
        for size in [1024, 2048, 8192] {
            last = SpectrumConfig {
                size,
                hop: size / 2,
                ..last
            };
            control.set_spectrum_config(last);
        }
        assert_eq!(control.spectrum_config().size, 8192);
        for _ in 0..4 {
            tap.update();
            control.collect_garbage();
        }
        assert_eq!(tap.analyzer.config().size, 8192);
    }

    /// Meters that panic on every block stop after `MAX_METER_RESTARTS` restarts, said once as
    /// stopped; from then on nothing reads the meter ring, and the tap stops feeding it rather
    /// than report every later block as dropped (an input would show them as overruns).
    #[test]
    fn meters_gone_for_good_are_not_fed_nor_counted_as_drops() {
        let (mut control, mut tap) = link(&DspSettings::default(), 48_000, 2, 512, false);
        tap.shared
            .panics_to_inject
            .store(MAX_METER_RESTARTS + 1, Relaxed);
        let block = vec![0.1f32; 2 * 512];
        let mut said = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !tap
            .shared
            .meters_gone
            .load(std::sync::atomic::Ordering::Acquire)
        {
            assert!(std::time::Instant::now() < deadline, "said: {said:?}");
            tap.measure(&block);
            said.extend(control.meter_failures());
            std::thread::yield_now();
        }
        said.extend(control.meter_failures());
        assert_eq!(said.len() as u32, MAX_METER_RESTARTS + 1, "{said:?}");
        assert!(said.last().unwrap().ends_with("meters stopped"), "{said:?}");
        // Far more than the ring holds (half a second): nothing dropped, nothing counted.
        let before = tap.shared.dropped.load(Relaxed);
        for _ in 0..200 {
            assert_eq!(tap.measure(&block), 0);
        }
        assert_eq!(tap.shared.dropped.load(Relaxed), before);
    }
}
