//! Loudness per ITU-R BS.1770-4 / EBU R128: K-weighting, momentary (400 ms), short-term (3 s),
//! gated integrated loudness and loudness range (EBU Tech 3342).
//!
//! Own implementation rather than the ebur128 crate: the same measurement (tests check it
//! against ffmpeg and the crate within 0.01 LU), but f64 K-weighting over whole blocks instead
//! of per frame is several times faster (`benches/loudness.rs`), and the gating store can be a
//! fixed-size histogram, so the same meter runs allocation-free in the audio callback.

use crate::dsp::biquad::{Coeffs, Df2t};

/// Absolute gate.
const ABS_GATE_LUFS: f64 = -70.0;
/// Histogram range and resolution for the real-time store.
const HIST_MIN: f64 = -70.0;
const HIST_MAX: f64 = 10.0;
const HIST_STEP: f64 = 0.01;
const HIST_BINS: usize = ((HIST_MAX - HIST_MIN) / HIST_STEP) as usize;

/// K-weighting at `fs`: the BS.1770 pre-filter (high shelf) and RLB high pass, derived from their
/// analog prototypes so every sample rate gets the 48 kHz reference response.
#[must_use]
pub fn k_weighting(fs: f64) -> [Coeffs; 2] {
    let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (std::f64::consts::PI * f0 / fs).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let pre = Coeffs {
        b0: (vh + vb * k / q + k * k) / a0,
        b1: 2.0 * (k * k - vh) / a0,
        b2: (vh - vb * k / q + k * k) / a0,
        a1: 2.0 * (k * k - 1.0) / a0,
        a2: (1.0 - k / q + k * k) / a0,
    };
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (std::f64::consts::PI * f0 / fs).tan();
    let a0 = 1.0 + k / q + k * k;
    let rlb = Coeffs {
        b0: 1.0,
        b1: -2.0,
        b2: 1.0,
        a1: 2.0 * (k * k - 1.0) / a0,
        a2: (1.0 - k / q + k * k) / a0,
    };
    [pre, rlb]
}

/// BS.1770 channel weight of channel `ch` of a `channels`-channel stream in WAVE channel order
/// (L R C LFE, then the surrounds, then the rest), chosen by the channel count. For streams whose
/// positions are unknown (the device output the live meters see, files without a channel mask);
/// a file with a mask is weighed by `position_weight`.
///
/// - 1–3 channels (mono, stereo, L R C): 1.0 each;
/// - 4 (quad: L R Ls Rs) and 5 (L R C Ls Rs): 1.0 for the fronts, 1.41 for the surrounds;
/// - 6–8 (5.1, 6.1, 7.1: L R C LFE + surrounds): the LFE (channel 3) is excluded (0.0), the
///   fronts weigh 1.0 and channels 4 and up, the surrounds, 1.41;
/// - 9 and more (a 7.1 bed plus heights, e.g. 7.1.2 or 7.1.4, or discrete channels): the 7.1
///   bed as above — LFE at channel 3 excluded, channels 4–7 surrounds at 1.41 — and every
///   channel beyond it 1.0. BS.1770-4 (Table 3) gives 1.41 only to channels below 30° of
///   elevation between 60° and 120° of azimuth; the channels a WAVE layout adds after 7.1 are
///   height (top) channels, which it weighs 1.0, and a discrete channel with no known position
///   gets the default 1.0 too.
#[must_use]
pub fn channel_weight(channels: usize, ch: usize) -> f64 {
    match (channels, ch) {
        (1..=3, _) => 1.0,
        // quad: L R Ls Rs
        (4, c) => {
            if c < 2 {
                1.0
            } else {
                1.41
            }
        }
        // L R C Ls Rs
        (5, c) => {
            if c < 3 {
                1.0
            } else {
                1.41
            }
        }
        // LFE of 5.1 / 6.1 / 7.1 and of every wider layout built on them
        (_, 3) => 0.0,
        // surrounds of the 5.1 / 7.1 bed
        (_, 4..=7) => 1.41,
        // fronts, and every channel beyond the 7.1 bed
        _ => 1.0,
    }
}

/// BS.1770 weight of a channel at WAVE channel-mask position `bit` (0 front left, 3 LFE, 4/5 rear
/// left/right, 8 rear centre, 9/10 side left/right, 15–17 top rear, 18 LFE 2, …), as ffmpeg's
/// ebur128 filter weighs them: the LFEs excluded, the side, rear and top-rear channels 1.41
/// (surrounds), everything else (fronts, front centres, top front/centre, wides) 1.0. Why not
/// `channel_weight`: a file's mask can put any position at any index (a 4.0 file's third channel
/// is its centre, not a surround), and by index such a file reads 0.2 LU off.
#[must_use]
pub fn position_weight(bit: u32) -> f64 {
    match bit {
        3 | 18 => 0.0,
        4 | 5 | 8 | 9 | 10 | 15 | 16 | 17 => 1.41,
        _ => 1.0,
    }
}

#[must_use]
pub fn energy_to_lufs(e: f64) -> f64 {
    -0.691 + 10.0 * e.log10()
}

#[must_use]
pub fn lufs_to_energy(l: f64) -> f64 {
    10f64.powf((l + 0.691) / 10.0)
}

/// Stereo K-weighting in direct form I, f64. Why not the EQ's cascade kernel: with only two
/// bands it is latency-bound (DF2T's state recursion is three dependent operations per sample).
/// In DF1 the feed-forward part and the y[n−2] term are computed off the critical path, leaving
/// one fused multiply-add per sample in the recursion: ~2.5× faster here (`benches/analysis.rs`).
#[derive(Clone, Debug)]
struct KWeightStereo {
    c: [[f64; 5]; 2],
    /// Per band and channel: x[n−1], x[n−2], y[n−1], y[n−2].
    z: [[[f64; 4]; 2]; 2],
}

impl KWeightStereo {
    fn new(fs: u32) -> Self {
        let [a, b] = k_weighting(f64::from(fs.max(1)));
        let f = |c: Coeffs| [c.b0, c.b1, c.b2, c.a1, c.a2];
        KWeightStereo {
            c: [f(a), f(b)],
            z: [[[0.0; 4]; 2]; 2],
        }
    }

    fn reset(&mut self) {
        self.z = [[[0.0; 4]; 2]; 2];
    }

    /// K-weight interleaved stereo `x` into `out` (f32; only its energy is used).
    fn run(&mut self, x: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if crate::dsp::simd::level().is_avx2() {
            // SAFETY: `run_fma` is `#[target_feature(enable = "avx2,fma")]` (plain indexed Rust, no
            // raw pointers); its only precondition is a CPU with AVX2 and FMA. `simd::Level` is
            // unforgeable and `is_avx2()` is true only for a level detected on such a CPU.
            unsafe { self.run_fma(x, out) };
            return;
        }
        self.run_body::<false>(x, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_fma(&mut self, x: &[f32], out: &mut [f32]) {
        self.run_body::<true>(x, out);
    }

    #[inline(always)]
    fn run_body<const FMA: bool>(&mut self, x: &[f32], out: &mut [f32]) {
        let fma = |a: f64, b: f64, c: f64| if FMA { a.mul_add(b, c) } else { a * b + c };
        let [p, r] = self.c;
        let mut z = self.z;
        for (i, o) in x.chunks_exact(2).zip(out.chunks_exact_mut(2)) {
            for ch in 0..2 {
                let v = f64::from(i[ch]);
                let zp = &mut z[0][ch];
                let t = fma(p[2], zp[1], fma(p[1], zp[0], p[0] * v)) - p[4] * zp[3];
                let y = fma(-p[3], zp[2], t);
                *zp = [v, zp[0], y, zp[2]];
                let zr = &mut z[1][ch];
                let t = fma(r[2], zr[1], fma(r[1], zr[0], r[0] * y)) - r[4] * zr[3];
                let w = fma(-r[3], zr[2], t);
                *zr = [y, zr[0], w, zr[2]];
                o[ch] = w as f32;
            }
        }
        self.z = z;
    }
}

/// Where gated blocks are kept.
enum Store {
    /// Every value (offline analysis: exact).
    Exact(Vec<f64>),
    /// Count and energy sum per 0.01 LU bin in Fenwick trees (real time: fixed memory, and
    /// gating/percentile queries in O(log bins), cheap enough to run 10× a second in the callback).
    Histogram {
        counts: Box<[u64]>,
        sums: Box<[f64]>,
        total: u64,
        total_sum: f64,
    },
}

fn bin_of(lufs: f64) -> usize {
    (((lufs - HIST_MIN) / HIST_STEP).max(0.0) as usize).min(HIST_BINS - 1)
}

/// First bin whose blocks pass a gate at `gate` LUFS.
fn first_bin(gate: f64) -> usize {
    (((gate - HIST_MIN) / HIST_STEP).round().max(0.0) as usize).min(HIST_BINS)
}

impl Store {
    fn exact() -> Self {
        Store::Exact(Vec::with_capacity(4096))
    }

    fn histogram() -> Self {
        Store::Histogram {
            counts: vec![0; HIST_BINS + 1].into_boxed_slice(),
            sums: vec![0.0; HIST_BINS + 1].into_boxed_slice(),
            total: 0,
            total_sum: 0.0,
        }
    }

    fn add(&mut self, energy: f64) {
        if energy <= 0.0 || energy_to_lufs(energy) < ABS_GATE_LUFS {
            return;
        }
        match self {
            Store::Exact(v) => v.push(energy),
            Store::Histogram {
                counts,
                sums,
                total,
                total_sum,
            } => {
                let mut i = bin_of(energy_to_lufs(energy)) + 1;
                while i <= HIST_BINS {
                    counts[i] += 1;
                    sums[i] += energy;
                    i += i & i.wrapping_neg();
                }
                *total += 1;
                *total_sum += energy;
            }
        }
    }

    fn clear(&mut self) {
        match self {
            Store::Exact(v) => v.clear(),
            Store::Histogram {
                counts,
                sums,
                total,
                total_sum,
            } => {
                counts.fill(0);
                sums.fill(0.0);
                *total = 0;
                *total_sum = 0.0;
            }
        }
    }

    /// (count, energy sum) of stored blocks with loudness ≥ `gate` LUFS.
    fn gated(&self, gate: f64) -> (u64, f64) {
        match self {
            Store::Exact(v) => {
                let e = lufs_to_energy(gate);
                v.iter()
                    .filter(|&&x| x >= e)
                    .fold((0, 0.0), |(n, s), &x| (n + 1, s + x))
            }
            Store::Histogram {
                counts,
                sums,
                total,
                total_sum,
            } => {
                // total − prefix(bins below the gate)
                let (mut n, mut s) = (0u64, 0.0f64);
                let mut i = first_bin(gate);
                while i > 0 {
                    n += counts[i];
                    s += sums[i];
                    i &= i - 1;
                }
                (total - n, (total_sum - s).max(0.0))
            }
        }
    }

    /// Loudness values ≥ gate, as percentiles (for LRA): value at fraction `p` (0..1).
    fn percentile(&self, gate: f64, p: f64) -> Option<f64> {
        match self {
            Store::Exact(v) => {
                let e = lufs_to_energy(gate);
                let mut vals: Vec<f64> = v.iter().copied().filter(|&x| x >= e).collect();
                if vals.is_empty() {
                    return None;
                }
                vals.sort_by(f64::total_cmp);
                let i = ((vals.len() - 1) as f64 * p + 0.5) as usize;
                Some(energy_to_lufs(vals[i.min(vals.len() - 1)]))
            }
            Store::Histogram { counts, total, .. } => {
                let skip = total - self.gated(gate).0;
                let n = total - skip;
                if n == 0 {
                    return None;
                }
                // Find the bin holding rank `skip + target` (Fenwick descent).
                let mut want = skip + ((n - 1) as f64 * p + 0.5) as u64;
                let mut pos = 0usize;
                let mut step = (HIST_BINS + 1).next_power_of_two() / 2;
                while step > 0 {
                    let next = pos + step;
                    if next <= HIST_BINS && counts[next] <= want {
                        want -= counts[next];
                        pos = next;
                    }
                    step /= 2;
                }
                Some(HIST_MIN + (pos as f64 + 0.5) * HIST_STEP)
            }
        }
    }
}

/// BS.1770 gating (absolute −70 LUFS, then relative −10 LU) over a store of block energies.
fn integrated_over(blocks: &Store) -> Option<f64> {
    let (n, sum) = blocks.gated(ABS_GATE_LUFS);
    if n == 0 {
        return None;
    }
    let relative = energy_to_lufs(sum / n as f64) - 10.0;
    let (n, sum) = blocks.gated(relative.max(ABS_GATE_LUFS));
    (n > 0).then(|| energy_to_lufs(sum / n as f64))
}

/// Integrated loudness of block energies pooled from several streams (`block_energies`): an
/// album's, which ReplayGain 2.0 gates over all of its tracks' blocks together (not an average
/// of the tracks' loudness).
#[must_use]
pub fn integrated_of(blocks: &[f64]) -> Option<f64> {
    integrated_over(&Store::Exact(blocks.to_vec()))
}

/// A loudness meter for one stream. Any channel count: the per-channel weights and filter state
/// are allocated by the constructors (nothing is clamped, so every channel is measured with the
/// stream's own stride; weights per `channel_weight`).
pub struct LoudnessMeter {
    channels: usize,
    /// `channel_weight` of each channel (`channels` long).
    weights: Box<[f64]>,
    filters: [Coeffs; 2],
    /// K-weighting state (pre-filter, RLB) of each channel (`channels` long).
    state: Box<[[Df2t; 2]]>,
    /// Samples per 100 ms sub-block, and progress through the current one.
    sub_len: usize,
    sub_pos: usize,
    sub_sum: f64,
    /// The last 30 sub-block energies (3 s), circular.
    subs: [f64; 30],
    subs_pos: usize,
    subs_filled: usize,
    blocks: Store,
    short_terms: Store,
    momentary: f64,
    short_term: f64,
    max_momentary: f64,
    max_short_term: f64,
    /// Stereo fast path: the block is K-weighted in place in a copy by the SIMD cascade kernel.
    scratch: Box<[f32]>,
    kweight: KWeightStereo,
}

impl LoudnessMeter {
    /// Exact gating store (grows by 8 bytes per 100 ms): for offline analysis.
    #[must_use]
    pub fn offline(channels: usize, fs: u32) -> Self {
        Self::with_store(channels, fs, Store::exact(), Store::exact())
    }

    /// `offline` for a file whose channel positions are known (`SourceInfo::position_bits`):
    /// each channel weighed by its position (`position_weight`), not by its index. Positions
    /// that do not match the channel count fall back to `offline`.
    #[must_use]
    pub fn offline_positioned(positions: &[u32], channels: usize, fs: u32) -> Self {
        let mut m = Self::offline(channels, fs);
        if positions.len() == m.channels {
            m.weights = positions.iter().map(|&b| position_weight(b)).collect();
        }
        m
    }

    /// Fixed-memory histogram store (0.01 LU bins): for the audio callback.
    #[must_use]
    pub fn realtime(channels: usize, fs: u32) -> Self {
        Self::with_store(channels, fs, Store::histogram(), Store::histogram())
    }

    fn with_store(channels: usize, fs: u32, blocks: Store, short_terms: Store) -> Self {
        let channels = channels.max(1);
        let weights: Box<[f64]> = (0..channels).map(|c| channel_weight(channels, c)).collect();
        LoudnessMeter {
            channels,
            weights,
            filters: k_weighting(f64::from(fs.max(1))),
            state: vec![[Df2t::default(); 2]; channels].into_boxed_slice(),
            sub_len: ((fs as usize + 5) / 10).max(1),
            sub_pos: 0,
            sub_sum: 0.0,
            subs: [0.0; 30],
            subs_pos: 0,
            subs_filled: 0,
            blocks,
            short_terms,
            momentary: 0.0,
            short_term: 0.0,
            max_momentary: 0.0,
            max_short_term: 0.0,
            scratch: vec![0.0; if channels == 2 { 2 * 4096 } else { 0 }].into_boxed_slice(),
            kweight: KWeightStereo::new(fs),
        }
    }

    pub fn reset(&mut self) {
        self.state.fill([Df2t::default(); 2]);
        self.kweight.reset();
        self.sub_pos = 0;
        self.sub_sum = 0.0;
        self.subs = [0.0; 30];
        self.subs_pos = 0;
        self.subs_filled = 0;
        self.blocks.clear();
        self.short_terms.clear();
        self.momentary = 0.0;
        self.short_term = 0.0;
        self.max_momentary = 0.0;
        self.max_short_term = 0.0;
    }

    /// Feed interleaved samples (`channels` per frame).
    pub fn add(&mut self, buf: &[f32]) {
        let ch = self.channels;
        let mut rest = buf;
        while rest.len() >= ch {
            let frames = (rest.len() / ch).min(self.sub_len - self.sub_pos);
            let (run, tail) = rest.split_at(frames * ch);
            self.sub_sum += self.weighted_energy(run);
            self.sub_pos += frames;
            if self.sub_pos == self.sub_len {
                self.finish_sub_block();
            }
            rest = tail;
        }
    }

    /// K-weight one run and return Σ over channels of weight · Σ z².
    fn weighted_energy(&mut self, run: &[f32]) -> f64 {
        let ch = self.channels;
        if ch == 2 {
            // Both channels in one f64x2 vector through the two K-weighting biquads.
            let mut total = 0.0;
            for part in run.chunks(self.scratch.len()) {
                let tmp = &mut self.scratch[..part.len()];
                self.kweight.run(part, tmp);
                let mut sums = [0.0f64; 2];
                crate::dsp::simd::sum_squares(tmp, &mut sums);
                total += self.weights[0] * sums[0] + self.weights[1] * sums[1];
            }
            return total;
        }
        let [pre, rlb] = self.filters;
        let mut total = 0.0;
        for c in 0..ch {
            let w = self.weights[c];
            if w == 0.0 {
                continue;
            }
            let [mut s0, mut s1] = self.state[c];
            let mut acc = 0.0f64;
            for frame in run.chunks_exact(ch) {
                let z = s1.tick(&rlb, s0.tick(&pre, f64::from(frame[c])));
                acc += z * z;
            }
            self.state[c] = [s0, s1];
            total += w * acc;
        }
        total
    }

    fn finish_sub_block(&mut self) {
        let e = self.sub_sum / self.sub_len as f64;
        self.sub_sum = 0.0;
        self.sub_pos = 0;
        self.subs[self.subs_pos] = e;
        self.subs_pos = (self.subs_pos + 1) % 30;
        self.subs_filled += 1;
        if self.subs_filled >= 4 {
            let m = self.mean_of_last(4);
            self.momentary = m;
            self.max_momentary = self.max_momentary.max(m);
            self.blocks.add(m);
        }
        if self.subs_filled >= 30 {
            let s = self.mean_of_last(30);
            self.short_term = s;
            self.max_short_term = self.max_short_term.max(s);
            self.short_terms.add(s);
        }
    }

    fn mean_of_last(&self, n: usize) -> f64 {
        (1..=n)
            .map(|k| self.subs[(self.subs_pos + 30 - k) % 30])
            .sum::<f64>()
            / n as f64
    }

    /// Momentary loudness (last 400 ms); None until 400 ms were measured or for silence.
    #[must_use]
    pub fn momentary(&self) -> Option<f64> {
        (self.subs_filled >= 4 && self.momentary > 0.0).then(|| energy_to_lufs(self.momentary))
    }

    #[must_use]
    pub fn short_term(&self) -> Option<f64> {
        (self.subs_filled >= 30 && self.short_term > 0.0).then(|| energy_to_lufs(self.short_term))
    }

    #[must_use]
    pub fn max_momentary(&self) -> Option<f64> {
        (self.max_momentary > 0.0).then(|| energy_to_lufs(self.max_momentary))
    }

    #[must_use]
    pub fn max_short_term(&self) -> Option<f64> {
        (self.max_short_term > 0.0).then(|| energy_to_lufs(self.max_short_term))
    }

    /// Gated integrated loudness; None when no block passes the absolute gate.
    #[must_use]
    pub fn integrated(&self) -> Option<f64> {
        integrated_over(&self.blocks)
    }

    /// The 400 ms block energies that passed the absolute gate, for pooling several streams
    /// (`integrated_of`); None for a real-time meter, which keeps only a histogram.
    #[must_use]
    pub fn block_energies(&self) -> Option<&[f64]> {
        match &self.blocks {
            Store::Exact(v) => Some(v),
            Store::Histogram { .. } => None,
        }
    }

    /// Loudness range (EBU Tech 3342) in LU.
    #[must_use]
    pub fn loudness_range(&self) -> Option<f64> {
        let (n, sum) = self.short_terms.gated(ABS_GATE_LUFS);
        if n == 0 {
            return None;
        }
        let relative = (energy_to_lufs(sum / n as f64) - 20.0).max(ABS_GATE_LUFS);
        let lo = self.short_terms.percentile(relative, 0.10)?;
        let hi = self.short_terms.percentile(relative, 0.95)?;
        Some(hi - lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(fs: u32, f: f64, amp: f64, secs: f64, ch: usize) -> Vec<f32> {
        let n = (f64::from(fs) * secs) as usize;
        (0..n)
            .flat_map(|i| {
                std::iter::repeat_n(
                    (amp * (2.0 * std::f64::consts::PI * f * i as f64 / f64::from(fs)).sin())
                        as f32,
                    ch,
                )
            })
            .collect()
    }

    #[test]
    fn k_weighting_matches_the_published_48k_coefficients() {
        let [pre, rlb] = k_weighting(48_000.0);
        assert!((pre.b0 - 1.53512485958697).abs() < 1e-9);
        assert!((pre.a1 + 1.69065929318241).abs() < 1e-9);
        assert!((pre.a2 - 0.73248077421585).abs() < 1e-9);
        assert!((rlb.a1 + 1.99004745483398).abs() < 1e-9);
        assert!((rlb.a2 - 0.99007225036621).abs() < 1e-9);
    }

    #[test]
    fn bs1770_reference_tone_reads_minus_3_01_for_stereo_1k_at_0dbfs_sine() {
        // EBU Tech 3341: a 0 dBFS 1 kHz sine on both channels of stereo reads −3.01 LUFS... per
        // channel −3.01 + the K-weighting gain at 1 kHz (+0.69) − 0.691 → −3.01 for one channel,
        // +0.0 for two (energy doubles).
        for (store, fs) in [(true, 48_000), (false, 44_100)] {
            let mut m = if store {
                LoudnessMeter::offline(2, fs)
            } else {
                LoudnessMeter::realtime(2, fs)
            };
            m.add(&sine(fs, 1000.0, 1.0, 20.0, 2));
            let i = m.integrated().unwrap();
            assert!(i.abs() < 0.02, "{i}");
            assert!(m.momentary().unwrap().abs() < 0.02);
            assert!(m.short_term().unwrap().abs() < 0.02);
            assert!(m.loudness_range().unwrap() < 0.05);
        }
    }

    #[test]
    fn gating_ignores_silence_and_lra_sees_two_levels() {
        let fs = 48_000;
        let mut x = sine(fs, 1000.0, 0.5, 10.0, 2);
        x.extend(vec![0.0f32; 2 * 48_000 * 10]);
        x.extend(sine(fs, 1000.0, 0.05, 10.0, 2));
        for realtime in [false, true] {
            let mut m = if realtime {
                LoudnessMeter::realtime(2, fs)
            } else {
                LoudnessMeter::offline(2, fs)
            };
            // Odd block sizes must not matter.
            for c in x.chunks(2 * 1234) {
                m.add(c);
            }
            let i = m.integrated().unwrap();
            // −6.02 dB sine: the −26 dB part is > 10 LU below the mean → gated out; the few
            // blocks straddling the loud part's end pull the result down slightly.
            assert!((i - (-6.02)).abs() < 0.1, "{realtime}: {i}");
            let lra = m.loudness_range().unwrap();
            assert!((lra - 20.0).abs() < 0.5, "{realtime}: {lra}");
        }
        let mut m = LoudnessMeter::offline(2, fs);
        m.add(&vec![0.0; 2 * 48_000 * 5]);
        assert_eq!(m.integrated(), None);
    }

    #[test]
    fn channel_weights_exclude_lfe_and_weigh_channels_beyond_the_7_1_bed_one() {
        assert_eq!(channel_weight(1, 0), 1.0);
        assert_eq!(channel_weight(2, 1), 1.0);
        assert_eq!(channel_weight(4, 2), 1.41);
        assert_eq!(channel_weight(5, 2), 1.0);
        assert_eq!(channel_weight(5, 4), 1.41);
        assert_eq!(channel_weight(6, 3), 0.0);
        assert_eq!(channel_weight(6, 5), 1.41);
        assert_eq!(channel_weight(8, 7), 1.41);
        for channels in [9, 12, 16, 32] {
            assert_eq!(channel_weight(channels, 2), 1.0);
            assert_eq!(channel_weight(channels, 3), 0.0, "{channels}: LFE");
            assert_eq!(channel_weight(channels, 7), 1.41);
            for c in 8..channels {
                assert_eq!(channel_weight(channels, c), 1.0, "{channels}: channel {c}");
            }
        }
    }

    /// Issue 11: a 16-channel file (more than the old limit of 8) whose only signal is a
    /// −20 dBFS 997 Hz sine on channel 12 (beyond the 7.1 bed: weight 1.0) reads exactly what the
    /// same sine reads as a mono file, about −23.01 LUFS.
    #[test]
    fn sixteen_channels_with_one_live_channel_read_like_mono() {
        let fs = 48_000;
        let mono = sine(fs, 997.0, 0.1, 10.0, 1);
        let mut wide = vec![0.0f32; 16 * mono.len()];
        for (frame, &s) in wide.chunks_exact_mut(16).zip(&mono) {
            frame[12] = s;
        }
        for realtime in [false, true] {
            let meter = |ch: usize| {
                if realtime {
                    LoudnessMeter::realtime(ch, fs)
                } else {
                    LoudnessMeter::offline(ch, fs)
                }
            };
            let mut m1 = meter(1);
            let mut m16 = meter(16);
            for c in mono.chunks(1000) {
                m1.add(c);
            }
            for c in wide.chunks(16 * 1000) {
                m16.add(c);
            }
            let (one, sixteen) = (m1.integrated().unwrap(), m16.integrated().unwrap());
            assert!(
                (one - sixteen).abs() < 1e-6,
                "{realtime}: mono {one}, 16 channels {sixteen}"
            );
            assert!((sixteen + 23.01).abs() < 0.05, "{realtime}: {sixteen}");
            let (a, b) = (m1.max_momentary().unwrap(), m16.max_momentary().unwrap());
            assert!((a - b).abs() < 1e-6, "{realtime}: momentary {a} vs {b}");
        }
    }
}
