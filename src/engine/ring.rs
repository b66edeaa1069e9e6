//! The decoder → callback PCM path: one SPSC ring of interleaved f32 samples plus a small SPSC ring
//! of markers that say *where in the sample stream* something happens (a track starts, a seek
//! discards what was buffered, the queue ends).
//!
//! Why markers instead of flags: the decoder runs up to a second ahead of what is audible, so a
//! track change or a seek must take effect at a precise frame of the stream, not when the decoder
//! happens to reach it. Positions are counted in frames since the ring was made (`u64`, never wraps
//! in practice). Data is always pushed before the marker that refers to its end, so a consumer
//! that sees a marker also sees all samples before it.

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    /// Playlist entry with key `track` (see `DecoderCommand::SetQueue`) starts here at its frame
    /// `source_frame` (nonzero after a seek).
    /// `flush`: everything buffered before this marker is stale and is dropped at once.
    TrackStart {
        track: u32,
        source_frame: u64,
        source_rate: u32,
        flush: bool,
    },
    /// Nothing follows: the queue ended (`flush: false`) or playback was stopped (`flush: true`).
    End { flush: bool },
}

impl MarkerKind {
    #[must_use]
    pub fn flush(&self) -> bool {
        match *self {
            Self::TrackStart { flush, .. } | Self::End { flush } => flush,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Stream frame at which the marker applies.
    pub at: u64,
    pub kind: MarkerKind,
}

const MARKER_CAPACITY: usize = 64;

#[must_use]
pub fn pcm_ring(channels: usize, capacity_frames: usize) -> (PcmProducer, PcmConsumer) {
    let (sp, sc) = HeapRb::<f32>::new(channels * capacity_frames.max(1)).split();
    let (mp, mc) = HeapRb::<Marker>::new(MARKER_CAPACITY).split();
    (
        PcmProducer {
            samples: sp,
            markers: mp,
            written: 0,
            channels,
        },
        PcmConsumer {
            samples: sc,
            markers: mc,
            read: 0,
            channels,
        },
    )
}

pub struct PcmProducer {
    samples: HeapProd<f32>,
    markers: HeapProd<Marker>,
    written: u64,
    channels: usize,
}

impl PcmProducer {
    #[must_use]
    pub fn vacant_frames(&self) -> usize {
        self.samples.vacant_len() / self.channels
    }

    #[must_use]
    pub fn capacity_frames(&self) -> usize {
        self.samples.capacity().get() / self.channels
    }

    /// Push as many whole frames of `interleaved` as fit; returns frames pushed.
    pub fn push(&mut self, interleaved: &[f32]) -> usize {
        let frames = (interleaved.len() / self.channels).min(self.vacant_frames());
        let n = self
            .samples
            .push_slice(&interleaved[..frames * self.channels]);
        debug_assert_eq!(n, frames * self.channels);
        self.written += frames as u64;
        frames
    }

    /// Mark the current end of the stream with `kind`. Fails (returning it) if the marker ring is full.
    pub fn push_marker(&mut self, kind: MarkerKind) -> Result<(), MarkerKind> {
        self.markers
            .try_push(Marker {
                at: self.written,
                kind,
            })
            .map_err(|m| m.kind)
    }

    #[must_use]
    pub fn written_frames(&self) -> u64 {
        self.written
    }
}

/// The audio thread's end. Every method is allocation- and lock-free.
pub struct PcmConsumer {
    samples: HeapCons<f32>,
    markers: HeapCons<Marker>,
    read: u64,
    channels: usize,
}

impl PcmConsumer {
    /// Frames in the ring (including any that a pending flush will discard).
    #[must_use]
    pub fn available_frames(&self) -> usize {
        self.samples.occupied_len() / self.channels
    }

    /// Frames read so far (stream position of the next frame).
    #[must_use]
    pub fn read_pos(&self) -> u64 {
        self.read
    }

    #[must_use]
    pub fn peek_marker(&self) -> Option<Marker> {
        self.markers.try_peek().copied()
    }

    pub fn pop_marker(&mut self) -> Option<Marker> {
        self.markers.try_pop()
    }

    /// The stream position of the last pending flush marker, if any.
    #[must_use]
    pub fn last_flush(&self) -> Option<u64> {
        self.markers
            .iter()
            .filter(|m| m.kind.flush())
            .map(|m| m.at)
            .last()
    }

    /// Frames of old audio that can still be played before the first pending flush; `None`
    /// without one. The producer pushes samples before the marker that ends them, so all of them
    /// are in the ring once the marker is seen.
    #[must_use]
    pub fn before_first_flush(&self) -> Option<usize> {
        self.markers
            .iter()
            .find(|m| m.kind.flush())
            .map(|m| (m.at.saturating_sub(self.read) as usize).min(self.available_frames()))
    }

    /// Frames that will actually be heard: what is buffered after the last pending flush.
    #[must_use]
    pub fn ready_frames(&self) -> usize {
        let avail = self.available_frames();
        match self.last_flush() {
            Some(at) => avail.saturating_sub(at.saturating_sub(self.read) as usize),
            None => avail,
        }
    }

    /// Frames that may be read now without passing the next marker.
    ///
    /// Ordering: the occupied count is loaded *before* the marker ring is peeked. The producer
    /// pushes samples before the marker that refers to their end, so any marker pushed after that
    /// load sits at or beyond `read + occupied`, and any marker pushed before it is seen by the
    /// peek. Reading at most this many frames therefore never reads past a marker. Peeking first
    /// (the old order) lets samples, a flush marker and new samples arrive in between: the new
    /// samples would be read as part of the old stream and the marker applied a block late.
    #[must_use]
    pub fn readable_before_marker(&self) -> usize {
        self.readable_before_marker_with(|| {})
    }

    /// `readable_before_marker` with `between` run between the two loads (tests use it to push
    /// in the race window).
    #[inline]
    pub(crate) fn readable_before_marker_with(&self, between: impl FnOnce()) -> usize {
        let avail = self.available_frames();
        between();
        match self.peek_marker() {
            Some(m) => avail.min(m.at.saturating_sub(self.read) as usize),
            None => avail,
        }
    }

    /// Read whole frames into `out`; returns frames read.
    pub fn read_into(&mut self, out: &mut [f32]) -> usize {
        let n = self.samples.pop_slice(out) / self.channels;
        self.read += n as u64;
        n
    }

    /// Drop buffered frames up to stream position `at` (O(1) for f32).
    pub fn discard_until(&mut self, at: u64) {
        if at > self.read {
            let want = (at - self.read) as usize * self.channels;
            let n = self.samples.skip(want) / self.channels;
            self.read += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_locate_positions_and_flush_discards_stale_audio() {
        let (mut p, mut c) = pcm_ring(2, 16);
        assert_eq!(p.push(&[1.0; 8]), 4);
        p.push_marker(MarkerKind::TrackStart {
            track: 3,
            source_frame: 100,
            source_rate: 48_000,
            flush: true,
        })
        .unwrap();
        assert_eq!(p.push(&[2.0; 6]), 3);
        assert_eq!(c.available_frames(), 7);
        assert_eq!(c.ready_frames(), 3);
        let m = c.pop_marker().unwrap();
        assert_eq!(m.at, 4);
        c.discard_until(m.at);
        let mut out = [0.0; 6];
        assert_eq!(c.read_into(&mut out), 3);
        assert_eq!(out, [2.0; 6]);
        assert_eq!(c.read_pos(), 7);
    }

    /// The race of the marker protocol, made deterministic: samples, a flush marker and more
    /// samples arrive between the consumer's two loads. It must not read past the marker.
    #[test]
    fn a_marker_pushed_in_the_race_window_is_not_read_past() {
        let (mut p, mut c) = pcm_ring(1, 64);
        assert_eq!(p.push(&[1.0; 4]), 4);
        let p = std::cell::RefCell::new(p);
        let readable = c.readable_before_marker_with(|| {
            let mut p = p.borrow_mut();
            p.push(&[2.0; 4]);
            p.push_marker(MarkerKind::End { flush: true }).unwrap();
            p.push(&[3.0; 4]);
        });
        assert_eq!(readable, 4, "only what was there before the window");
        let mut out = [0.0; 12];
        let n = c.read_into(&mut out[..readable]);
        assert_eq!(&out[..n], &[1.0; 4]);
        // Next round: the marker is visible now and bounds the read at its position.
        assert_eq!(c.readable_before_marker(), 4);
        assert_eq!(c.peek_marker().unwrap().at, 8);
    }

    /// The same race between real threads: the producer writes frames numbered by their stream
    /// position and a marker every 97 frames; the consumer reads as the renderer does and checks
    /// it never reads a frame at or past a marker it has not yet taken.
    #[test]
    fn concurrent_reads_never_pass_a_marker() {
        const FRAMES: u64 = 200_000;
        let (mut p, mut c) = pcm_ring(1, 256);
        let producer = std::thread::spawn(move || {
            let (mut next, mut marked) = (0u64, None);
            while next < FRAMES {
                if next % 97 == 0 && marked != Some(next) {
                    if p.push_marker(MarkerKind::End { flush: false }).is_err() {
                        std::hint::spin_loop();
                        continue;
                    }
                    marked = Some(next);
                }
                let upto = ((next / 97 + 1) * 97).min(FRAMES);
                let chunk: Vec<f32> = (next..upto).map(|f| f as f32).collect();
                let n = p.push(&chunk);
                if n == 0 {
                    std::hint::spin_loop();
                }
                next += n as u64;
            }
        });
        let mut buf = [0.0f32; 64];
        let mut markers_seen = 0u64;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while c.read_pos() < FRAMES {
            assert!(
                std::time::Instant::now() < deadline,
                "no progress: the producer stopped early"
            );
            while let Some(m) = c.peek_marker() {
                if m.at > c.read_pos() {
                    break;
                }
                c.pop_marker();
                markers_seen += 1;
            }
            let want = c.readable_before_marker().min(buf.len());
            let n = c.read_into(&mut buf[..want]);
            for (i, &v) in buf[..n].iter().enumerate() {
                let pos = c.read_pos() - n as u64 + i as u64;
                assert_eq!(v as u64, pos, "frames in order");
                assert!(
                    pos < markers_seen * 97,
                    "frame {pos} read before the marker at {} was taken",
                    markers_seen * 97
                );
            }
        }
        producer.join().unwrap();
    }

    #[test]
    fn push_takes_whole_frames_only() {
        let (mut p, c) = pcm_ring(2, 3);
        assert_eq!(p.push(&[0.5; 7]), 3);
        assert_eq!(p.push(&[0.5; 2]), 0);
        assert_eq!(c.available_frames(), 3);
    }
}
