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

    /// Frames that will actually be heard: what is buffered after the last pending flush.
    #[must_use]
    pub fn ready_frames(&self) -> usize {
        let avail = self.available_frames();
        match self.last_flush() {
            Some(at) => avail.saturating_sub(at.saturating_sub(self.read) as usize),
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

    #[test]
    fn push_takes_whole_frames_only() {
        let (mut p, c) = pcm_ring(2, 3);
        assert_eq!(p.push(&[0.5; 7]), 3);
        assert_eq!(p.push(&[0.5; 2]), 0);
        assert_eq!(c.available_frames(), 3);
    }
}
