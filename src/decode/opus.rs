//! Opus through libopus, as a symphonia audio decoder.
//!
//! symphonia reads Ogg Opus (the pages, the `OpusHead`, the granule timing and the end trim) but
//! has no Opus decoder. This is the glue to libopus (through `opusic-sys`, linked to the system
//! library). It is ours rather than `symphonia-adapter-libopus` because that adapter decodes mono
//! and stereo only, ignores the header's output gain, and trims the pre-skip itself on the first
//! packet it sees, which is wrong after a seek back to the start. Here:
//! - channel mapping families 0 and 1 (1–8 channels, through the multistream decoder), with the
//!   Vorbis channel order put into symphonia's (mask) order;
//! - the header's output gain is applied (RFC 7845 §5.1: it must be);
//! - the decoder trims nothing: the pre-skip is the track's delay, which [`super::AudioSource`]
//!   drops like any codec's priming (at the start and through seeks, which also pre-roll 320 ms:
//!   see `SEEK_PREROLL`), and the end trim comes with the last page's packets.
//!
//! It runs on the decoding threads only, never in the audio callback.

use std::ffi::c_int;
use std::ptr::NonNull;

use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::errors::{decode_error, unsupported_error, Result};
use symphonia::core::packet::PacketRef;

/// Opus always decodes at 48 kHz here (the rate the Ogg mapping declares).
const RATE: u32 = 48_000;
/// The longest packet Opus can carry: 120 ms.
const MAX_FRAMES: usize = RATE as usize * 120 / 1000;
/// How far before a seek target decoding starts; [`super::AudioSource`] decodes and drops the
/// lead-in. RFC 7845 §4.6 asks for at least 80 ms, enough for the output to have converged to the
/// ear; measured on the test programme, 80 ms leaves the first frames at the target only 28 dB
/// from a straight decode (about 6 dB more per further 20 ms), 320 ms 75–115 dB by content. 320 ms of Opus decode costs well under a millisecond.
pub const SEEK_PREROLL: u64 = 4 * 3840;

/// The Vorbis channel order (what Opus mapping family 1 decodes to) as WAVE channel-mask bit
/// numbers, for 1–8 channels (RFC 7845 §5.1.1.2). symphonia orders a buffer's planes by bit.
const VORBIS_ORDER: [&[u32]; 8] = [
    &[0],                       // mono
    &[0, 1],                    // L R
    &[0, 2, 1],                 // L C R
    &[0, 1, 4, 5],              // L R RL RR
    &[0, 2, 1, 4, 5],           // L C R RL RR
    &[0, 2, 1, 4, 5, 3],        // L C R RL RR LFE
    &[0, 2, 1, 9, 10, 8, 3],    // L C R SL SR RC LFE
    &[0, 2, 1, 9, 10, 4, 5, 3], // L C R SL SR RL RR LFE
];

/// An MP4 `dOps` box as symphonia hands it on: the box's bytes after an `OpusHead` magic.
/// The box has the header's fields but big-endian (ISO/IEC 14496-12 style; "Encapsulation of
/// Opus in ISOBMFF" §4.3.2), where the Ogg header is little-endian: read as-is, a pre-skip of 312
/// would be 14 337 and an output gain of −6 dB +100 dB. This puts the three multi-byte fields
/// (pre-skip, input rate, output gain) in the Ogg order; the mapping table is bytes in both.
#[must_use]
pub fn head_from_dops(extra: &[u8]) -> Vec<u8> {
    let mut b = extra.to_vec();
    if b.len() >= 19 && &b[..8] == b"OpusHead" {
        b[10..12].reverse();
        b[12..16].reverse();
        b[16..18].reverse();
    }
    b
}

/// What the decoder needs from the `OpusHead` (RFC 7845 §5.1); symphonia keeps the whole header
/// as the codec's extra data.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub channels: usize,
    pub pre_skip: u16,
    /// Q7.8 dB, to be applied to the output.
    pub output_gain: i16,
    /// 0 (mono/stereo, one stream) or 1 (Vorbis order, multistream).
    pub family: u8,
    pub streams: u8,
    pub coupled: u8,
    /// Decoder output channel → stream channel (255: silent).
    pub mapping: Vec<u8>,
}

impl Head {
    /// Parse and check the header. Errors say what is wrong, for the one-line message.
    pub fn parse(b: &[u8]) -> std::result::Result<Self, &'static str> {
        if b.len() < 19 || &b[..8] != b"OpusHead" {
            return Err("no OpusHead");
        }
        if b[8] >> 4 != 0 {
            return Err("unsupported OpusHead version");
        }
        let channels = usize::from(b[9]);
        let pre_skip = u16::from_le_bytes([b[10], b[11]]);
        let output_gain = i16::from_le_bytes([b[16], b[17]]);
        let family = b[18];
        let (streams, coupled, mapping) = match family {
            0 => {
                if !(1..=2).contains(&channels) {
                    return Err("mapping family 0 with other than 1 or 2 channels");
                }
                let coupled = u8::from(channels == 2);
                (1, coupled, (0..channels as u8).collect())
            }
            1 => {
                if !(1..=8).contains(&channels) {
                    return Err("mapping family 1 with other than 1 to 8 channels");
                }
                let Some(table) = b.get(19..21 + channels) else {
                    return Err("truncated channel mapping table");
                };
                let (streams, coupled) = (table[0], table[1]);
                if streams == 0 || coupled > streams {
                    return Err("bad stream counts in the channel mapping table");
                }
                let used = usize::from(streams) + usize::from(coupled);
                let mapping = table[2..].to_vec();
                if mapping.iter().any(|&m| m != 255 && usize::from(m) >= used) {
                    return Err("channel mapping names a stream that does not exist");
                }
                (streams, coupled, mapping)
            }
            _ => return Err("unsupported channel mapping family"),
        };
        Ok(Self {
            channels,
            pre_skip,
            output_gain,
            family,
            streams,
            coupled,
            mapping,
        })
    }

    /// The output gain as a linear factor: 10^(gain / (20 · 256)).
    #[must_use]
    pub fn gain_factor(&self) -> f32 {
        10f64.powf(f64::from(self.output_gain) / 5120.0) as f32
    }

    /// For each decoded (Vorbis-order) channel, its plane in a symphonia buffer (ordered by
    /// channel-mask bit).
    fn planes(&self) -> Vec<usize> {
        let bits = VORBIS_ORDER[self.channels - 1];
        bits.iter()
            .map(|b| bits.iter().filter(|o| *o < b).count())
            .collect()
    }
}

/// One libopus decoder, single- or multistream. Owned, never shared between threads at once.
#[derive(Debug)]
enum Handle {
    Single(NonNull<opusic_sys::OpusDecoder>),
    Multi(NonNull<opusic_sys::OpusMSDecoder>),
}

// SAFETY: a libopus decoder state is plain memory with no thread affinity; `Handle` owns it
// (no aliases exist) and every use goes through `&mut self`, so moving it to another thread is
// sound.
unsafe impl Send for Handle {}
// SAFETY: `&Handle` exposes nothing (every method that touches the state takes `&mut self`).
unsafe impl Sync for Handle {}

impl Handle {
    fn new(head: &Head) -> Result<Self> {
        let mut err: c_int = 0;
        let ch = head.channels as c_int;
        if head.family == 0 {
            // SAFETY: valid rate and channel count (checked by `Head::parse`); `err` is a valid
            // out-pointer for the call's duration.
            let p = unsafe { opusic_sys::opus_decoder_create(RATE as i32, ch, &raw mut err) };
            match NonNull::new(p) {
                Some(p) if err == opusic_sys::OPUS_OK => Ok(Self::Single(p)),
                _ => decode_error("opus: libopus refused the stream's parameters"),
            }
        } else {
            // SAFETY: `mapping` holds `channels` bytes, as libopus reads; stream counts and
            // mapping entries were range-checked by `Head::parse` (libopus checks them again);
            // `err` is a valid out-pointer.
            let p = unsafe {
                opusic_sys::opus_multistream_decoder_create(
                    RATE as i32,
                    ch,
                    c_int::from(head.streams),
                    c_int::from(head.coupled),
                    head.mapping.as_ptr(),
                    &raw mut err,
                )
            };
            match NonNull::new(p) {
                Some(p) if err == opusic_sys::OPUS_OK => Ok(Self::Multi(p)),
                _ => decode_error("opus: libopus refused the stream's channel mapping"),
            }
        }
    }

    /// Decode one packet into `pcm` (interleaved, `channels` wide, room for `MAX_FRAMES`).
    /// Returns the frame count, or libopus' (negative) error code.
    fn decode(&mut self, data: &[u8], pcm: &mut [f32], channels: usize) -> c_int {
        debug_assert!(pcm.len() >= MAX_FRAMES * channels);
        let Ok(len) = i32::try_from(data.len()) else {
            return opusic_sys::OPUS_INVALID_PACKET;
        };
        let frames = (pcm.len() / channels).min(MAX_FRAMES) as c_int;
        match *self {
            // SAFETY: the state is ours and live (freed only in Drop); `data` is valid for `len`
            // bytes; `pcm` has room for `frames` × channels samples, the most libopus writes.
            Self::Single(p) => unsafe {
                opusic_sys::opus_decode_float(
                    p.as_ptr(),
                    data.as_ptr(),
                    len,
                    pcm.as_mut_ptr(),
                    frames,
                    0,
                )
            },
            // SAFETY: as above, for the multistream state.
            Self::Multi(p) => unsafe {
                opusic_sys::opus_multistream_decode_float(
                    p.as_ptr(),
                    data.as_ptr(),
                    len,
                    pcm.as_mut_ptr(),
                    frames,
                    0,
                )
            },
        }
    }

    fn reset(&mut self) {
        match *self {
            // SAFETY: a live state of ours; OPUS_RESET_STATE takes no further argument.
            Self::Single(p) => unsafe {
                opusic_sys::opus_decoder_ctl(p.as_ptr(), opusic_sys::OPUS_RESET_STATE);
            },
            // SAFETY: as above.
            Self::Multi(p) => unsafe {
                opusic_sys::opus_multistream_decoder_ctl(p.as_ptr(), opusic_sys::OPUS_RESET_STATE);
            },
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        match *self {
            // SAFETY: created by the matching create call, destroyed once, never used after.
            Self::Single(p) => unsafe { opusic_sys::opus_decoder_destroy(p.as_ptr()) },
            // SAFETY: as above.
            Self::Multi(p) => unsafe { opusic_sys::opus_multistream_decoder_destroy(p.as_ptr()) },
        }
    }
}

/// The symphonia decoder: libopus output, gain applied, channels put in symphonia's order.
pub struct OpusDecoder {
    params: AudioCodecParameters,
    handle: Handle,
    channels: usize,
    gain: f32,
    /// Decoded channel i goes to plane `planes[i]`.
    planes: Vec<usize>,
    pcm: Vec<f32>,
    buf: AudioBuffer<f32>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("handle", &self.handle)
            .field("channels", &self.channels)
            .field("gain", &self.gain)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<Self> {
        let Some(extra) = params.extra_data.as_deref() else {
            return unsupported_error("opus: no OpusHead");
        };
        let head = match Head::parse(extra) {
            Ok(h) => h,
            Err(reason) => return unsupported_error(reason),
        };
        let Some(channels) = params.channels.clone() else {
            return unsupported_error("opus: no channel layout");
        };
        if channels.count() != head.channels {
            return decode_error("opus: the header's channel count and layout disagree");
        }
        let handle = Handle::new(&head)?;
        Ok(Self {
            params: params.clone(),
            handle,
            channels: head.channels,
            gain: head.gain_factor(),
            planes: head.planes(),
            pcm: vec![0.0; MAX_FRAMES * head.channels],
            buf: AudioBuffer::new(AudioSpec::new(RATE, channels), MAX_FRAMES),
        })
    }
}

impl AudioDecoder for OpusDecoder {
    fn reset(&mut self) {
        self.handle.reset();
    }

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        self.buf.clear();
        if packet.data.is_empty() {
            // A zero-byte packet would ask libopus for loss concealment; in a file it is damage.
            return decode_error("opus: empty packet");
        }
        let n = self
            .handle
            .decode(packet.data, &mut self.pcm, self.channels);
        let Ok(frames) = usize::try_from(n) else {
            return decode_error("opus: corrupt packet");
        };
        let frames = frames.min(MAX_FRAMES);
        self.buf.render_uninit(Some(frames));
        let ch = self.channels;
        for (c, &plane) in self.planes.iter().enumerate() {
            if let Some(out) = self.buf.plane_mut(plane) {
                for (o, frame) in out.iter_mut().zip(self.pcm.chunks_exact(ch)) {
                    *o = frame[c] * self.gain;
                }
            }
        }
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for OpusDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(Self::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const SUPPORTED: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_OPUS,
            info: CodecInfo {
                short_name: "opus",
                long_name: "Opus (libopus)",
                profiles: &[],
            },
        }];
        &SUPPORTED
    }
}

/// symphonia's codecs plus Opus: the registry every [`super::AudioSource`] decodes with.
pub fn codecs() -> &'static symphonia::core::codecs::registry::CodecRegistry {
    static CODECS: std::sync::OnceLock<symphonia::core::codecs::registry::CodecRegistry> =
        std::sync::OnceLock::new();
    CODECS.get_or_init(|| {
        let mut r = symphonia::core::codecs::registry::CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_audio_decoder::<OpusDecoder>();
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8, table: &[u8]) -> Vec<u8> {
        let mut b = b"OpusHead".to_vec();
        b.extend([1, channels]);
        b.extend(312u16.to_le_bytes());
        b.extend(44_100u32.to_le_bytes());
        b.extend((-256i16).to_le_bytes());
        b.push(family);
        b.extend(table);
        b
    }

    #[test]
    fn a_dops_box_reads_as_the_same_header() {
        let ogg = head(2, 0, &[]);
        let mut dops = ogg.clone();
        dops[10..12].copy_from_slice(&312u16.to_be_bytes());
        dops[12..16].copy_from_slice(&44_100u32.to_be_bytes());
        dops[16..18].copy_from_slice(&(-256i16).to_be_bytes());
        let h = Head::parse(&head_from_dops(&dops)).unwrap();
        assert_eq!((h.pre_skip, h.output_gain), (312, -256));
        assert_eq!(
            u32::from_le_bytes(head_from_dops(&dops)[12..16].try_into().unwrap()),
            44_100
        );
    }

    #[test]
    fn parses_family_0_and_1_and_refuses_the_rest() {
        let h = Head::parse(&head(2, 0, &[])).unwrap();
        assert_eq!((h.channels, h.pre_skip, h.output_gain), (2, 312, -256));
        assert_eq!(
            (h.streams, h.coupled, h.mapping.clone()),
            (1, 1, vec![0, 1])
        );
        assert!((h.gain_factor() - 10f32.powf(-1.0 / 20.0)).abs() < 1e-6);
        let h = Head::parse(&head(6, 1, &[4, 2, 0, 4, 1, 2, 3, 5])).unwrap();
        assert_eq!((h.streams, h.coupled), (4, 2));
        // L C R RL RR LFE → planes in mask order FL FR FC LFE RL RR.
        assert_eq!(h.planes(), vec![0, 2, 1, 4, 5, 3]);
        assert!(Head::parse(&head(3, 0, &[])).is_err());
        assert!(
            Head::parse(&head(6, 1, &[4, 2, 0, 4])).is_err(),
            "truncated table"
        );
        assert!(
            Head::parse(&head(2, 1, &[1, 1, 0, 7])).is_err(),
            "stream 7 of 2"
        );
        assert!(
            Head::parse(&head(2, 1, &[0, 0, 0, 0])).is_err(),
            "no streams"
        );
        assert!(Head::parse(&head(4, 2, &[])).is_err(), "ambisonics");
        assert!(Head::parse(b"OpusHea").is_err());
    }

    #[test]
    fn every_vorbis_order_is_a_permutation() {
        for n in 1..=8usize {
            let h = Head {
                channels: n,
                pre_skip: 0,
                output_gain: 0,
                family: 1,
                streams: 1,
                coupled: 0,
                mapping: vec![0; n],
            };
            let mut p = h.planes();
            p.sort_unstable();
            assert_eq!(p, (0..n).collect::<Vec<_>>());
        }
    }
}
