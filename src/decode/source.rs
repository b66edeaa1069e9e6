//! One opened audio file: probe, pick the audio track, decode packets to interleaved f32, seek
//! accurately. Used on the decoder thread and by offline commands — never on the audio thread.

use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::{Error as SymError, SeekErrorKind};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Timestamp;

use super::codec_names::codec_name;
use super::error::DecodeError;
use crate::dsp::channel_map::{default_layout, Speaker};

/// Consecutive undecodable packets after which a stream is declared broken rather than noisy.
const MAX_CONSECUTIVE_DECODE_ERRORS: u32 = 64;

/// What a file is, as far as the header says.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub layout: Vec<Speaker>,
    /// The file's own channel positions, as WAVE channel-mask bit numbers (0 front left, 3 LFE,
    /// 9 side left, 15 top rear left, …; symphonia numbers them the same), in channel order;
    /// None when the file gives only a count. Loudness weighs channels by these.
    pub position_bits: Option<Vec<u32>>,
    /// Frame count the container declares, if any (the decoded count is authoritative).
    pub declared_frames: Option<u64>,
    pub bits_per_sample: Option<u32>,
}

impl SourceInfo {
    /// Duration the container declares, in seconds.
    #[must_use]
    pub fn duration_s(&self) -> Option<f64> {
        self.declared_frames
            .map(|f| f as f64 / f64::from(self.sample_rate.max(1)))
    }
}

pub struct AudioSource {
    info: SourceInfo,
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// (numer, denom) of the track's time base; defaults to 1/sample_rate.
    time_base: (u64, u64),
    /// Encoder priming frames still to drop at the start of the stream.
    skip_frames: u64,
    /// After a seek: the stream frame (container timeline) the next output must start at. Packets
    /// are aligned by their own timestamps rather than by counting frames from the seek point,
    /// because some decoders emit nothing for the first packet after a reset (Vorbis overlap).
    seek_to: Option<i64>,
    /// Where frame 0 stands on the packets' timeline, in frames: the encoder priming the
    /// timestamps count (an MP4 edit list, Ogg Opus' pre-skip; 0 for Matroska Opus, whose
    /// timestamps have it taken off), plus where the packets' timeline starts (`timeline_start`).
    /// Seeks aim at `frame + priming`.
    priming: u64,
    /// Where the packets' timeline starts, in frames: 0 but for an Ogg stream cut from a longer
    /// one (a broadcast recording), whose granule positions go on from where the cut was. Seeks
    /// never aim before it (the reader calls that out of range).
    timeline_start: u64,
    /// Frames before a seek target that decoding must start at for the output to be right there
    /// (Opus: 320 ms, see `opus::SEEK_PREROLL`); the lead-in is decoded and dropped.
    preroll: u64,
    /// Seeks into the first `preroll` frames reopen the file and count frames from its start.
    /// For Matroska Opus: its timestamps are whole milliseconds (not frames), and symphonia's
    /// Matroska seek lands on the first block at or after the time asked, which near the start
    /// passes over the first block (its timestamp is negative once the pre-skip is taken off).
    reopen_for_early_seeks: bool,
    /// Index of the next frame `read` returns.
    position: u64,
    scratch: Vec<f32>,
    ended: bool,
    /// Packets skipped because they could not be decoded (corruption inside an otherwise good file).
    pub skipped_packets: u64,
}

/// Count a corrupt packet; true when there have been too many in a row to keep going.
fn skip_corrupt(skipped: &mut u64, consecutive: &mut u32) -> bool {
    *skipped += 1;
    *consecutive += 1;
    *consecutive > MAX_CONSECUTIVE_DECODE_ERRORS
}

fn map_probe_error(path: &Path, e: SymError) -> DecodeError {
    let path = path.to_path_buf();
    match e {
        SymError::Unsupported(what) => DecodeError::UnknownFormat {
            path,
            reason: what.to_string(),
        },
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::BadHeader {
                path,
                reason: "file ends inside its header".into(),
            }
        }
        SymError::IoError(io) => DecodeError::Decode {
            path,
            reason: io.to_string(),
        },
        SymError::DecodeError(msg) | SymError::LimitError(msg) => DecodeError::BadHeader {
            path,
            reason: format!("malformed header: {msg}"),
        },
        other => DecodeError::Decode {
            path,
            reason: other.to_string(),
        },
    }
}

fn layout_of(channels: Option<&Channels>) -> Vec<Speaker> {
    match channels {
        Some(Channels::Positioned(pos)) => {
            let bits = pos.bits();
            let order = [
                Speaker::FrontLeft,
                Speaker::FrontRight,
                Speaker::FrontCenter,
                Speaker::Lfe,
                Speaker::BackLeft,
                Speaker::BackRight,
                Speaker::FrontLeftCenter,
                Speaker::FrontRightCenter,
                Speaker::BackCenter,
                Speaker::SideLeft,
                Speaker::SideRight,
            ];
            let mut v = Vec::new();
            for bit in 0..32 {
                if bits & (1 << bit) != 0 {
                    v.push(order.get(bit).copied().unwrap_or(Speaker::Other));
                }
            }
            v
        }
        Some(other) => default_layout(other.count()),
        None => Vec::new(),
    }
}

impl AudioSource {
    /// Open a file, streaming it from disk.
    pub fn open(path: &Path) -> Result<Self, DecodeError> {
        let file = File::open(path).map_err(|source| DecodeError::Open {
            path: path.into(),
            source,
        })?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(1);
        if len == 0 {
            return Err(DecodeError::Empty { path: path.into() });
        }
        Self::from_media(path, Box::new(file))
    }

    /// Open a file whose bytes are already in memory (from the file cache).
    pub fn open_bytes(path: &Path, bytes: Arc<[u8]>) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty { path: path.into() });
        }
        Self::from_media(path, Box::new(Cursor::new(bytes)))
    }

    fn from_media(path: &Path, media: Box<dyn MediaSource>) -> Result<Self, DecodeError> {
        super::guard::contained(path, || Self::from_media_inner(path, media))
    }

    fn from_media_inner(path: &Path, mut media: Box<dyn MediaSource>) -> Result<Self, DecodeError> {
        // Read before symphonia takes the stream; converted to frames once the rate is known.
        let edit_list = super::mp4_priming::mp4_priming(&mut media);
        // A WAV whose sizes overrun the file (crashed or streaming recorders) reads as what it holds.
        let len = media.byte_len();
        let repairs = len.map_or_else(Vec::new, |len| super::size_repair::patches(&mut media, len));
        if !repairs.is_empty() {
            media = Box::new(super::size_repair::Patched::new(media, repairs));
        }
        let mss = MediaSourceStream::new(media, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let reader = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| map_probe_error(path, e))?;
        let container = reader.format_info().short_name.to_string();
        let track = reader
            .default_track(TrackType::Audio)
            .or_else(|| reader.first_track(TrackType::Audio))
            .ok_or_else(|| DecodeError::NoAudioTrack { path: path.into() })?;
        let mut params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| DecodeError::NoAudioTrack { path: path.into() })?
            .clone();
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let (start_ts, reader_delay) = (track.start_ts.get(), track.delay.map(i128::from));
        let declared_duration = track.duration.map(|d| d.get());
        // The track's delay is the frames before the first one to play (Opus' pre-skip; the
        // Ogg timestamps count them). Other codecs trim their priming themselves.
        let is_opus = params.codec == CODEC_ID_OPUS;
        if is_opus && container == "isomp4" {
            if let Some(dops) = params.extra_data.as_deref() {
                params.extra_data = Some(super::opus::head_from_dops(dops).into_boxed_slice());
            }
        }
        // Ogg gives the pre-skip as the track's delay; Matroska and MP4 only in the header.
        let delay = if is_opus {
            track.delay.map(u64::from).or_else(|| {
                let head = super::opus::Head::parse(params.extra_data.as_deref()?).ok()?;
                Some(u64::from(head.pre_skip))
            })
        } else {
            None
        };
        let time_base = track
            .time_base
            .map(|tb| (u64::from(tb.numer.get()), u64::from(tb.denom.get())));

        let decoder = super::opus::codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => DecodeError::UnsupportedCodec {
                    path: path.into(),
                    codec: codec_name(params.codec),
                },
                other => map_probe_error(path, other),
            })?;
        let codec = decoder.codec_info().short_name.to_string();
        let sample_rate = params.sample_rate.ok_or_else(|| DecodeError::BadHeader {
            path: path.into(),
            reason: "no sample rate in header".into(),
        })?;
        if !(1_000..=768_000).contains(&sample_rate) {
            return Err(DecodeError::BadHeader {
                path: path.into(),
                reason: format!("implausible sample rate {sample_rate} Hz"),
            });
        }
        let priming = edit_list.and_then(|p| p.frames_at(sample_rate)).or(delay);
        // Where the first frame to play stands on the packets' timeline. Ogg's granules and an
        // MP4 edit list count the priming; symphonia's Matroska reader takes the track's
        // CodecDelay (the pre-skip, as muxers write it) off every timestamp already, so there
        // the pre-skip is dropped at the start but offsets nothing.
        let matroska_opus = is_opus && container == "matroska";
        let time_base = time_base.unwrap_or((1, u64::from(sample_rate)));
        // An Ogg stream's packets are timed by granule position. symphonia starts the track at
        // the first page's granule less what that page decodes to, and calls what the codec
        // drops there its delay (Opus: the pre-skip; Vorbis: the first packet's overlap, from a
        // start at −overlap). Frame 0 stands at start + delay: the delay for a file encoded as
        // one, further on for a stream cut from a longer one (a broadcast recording), whose
        // granules go on from where the cut was.
        let (timeline_start, ogg_frame0) = if container == "ogg" {
            let (numer, denom) = time_base;
            let frames = |ts: i128| {
                (ts * i128::from(numer) * i128::from(sample_rate) / i128::from(denom.max(1)))
                    .clamp(0, i128::from(i64::MAX)) as u64
            };
            let start = i128::from(start_ts);
            (
                frames(start),
                Some(frames(start + reader_delay.unwrap_or(0))),
            )
        } else {
            (0, None)
        };
        let timeline_priming = if matroska_opus {
            0
        } else {
            ogg_frame0.unwrap_or_else(|| priming.unwrap_or(0))
        };
        // symphonia describes a WAVE file without a channel mask (or with mask 0) as its first n
        // positions (FL FR FC LFE BL …): a count, not a layout. From 4 channels on that guess
        // differs from the conventional layout (a quad file would get a centre and an LFE), so
        // such a mask is read as "count only".
        let channels_given = match params.channels.as_ref() {
            Some(Channels::Positioned(pos)) => {
                let bits = pos.bits();
                let n = bits.count_ones();
                let first_n = 1u64.checked_shl(n).map_or(u64::MAX, |v| v - 1);
                if n >= 4 && u64::from(bits) == first_n {
                    Some(Channels::Discrete(n as u16))
                } else {
                    params.channels.clone()
                }
            }
            other => other.cloned(),
        };
        let mut layout = layout_of(channels_given.as_ref());
        let position_bits = match channels_given.as_ref() {
            Some(Channels::Positioned(pos)) => {
                let bits = pos.bits();
                Some(
                    (0..64)
                        .filter(|b| bits & (1 << b) != 0)
                        .collect::<Vec<u32>>(),
                )
            }
            _ => None,
        };
        let channels = layout.len();
        if channels == 0 {
            return Err(DecodeError::BadHeader {
                path: path.into(),
                reason: "no channels in header".into(),
            });
        }
        // The EQ and the meters keep per-channel state for at most `MAX_CHANNELS` channels:
        // refuse a wider file here, with a clear message, rather than mis-process it later.
        if channels > crate::dsp::MAX_CHANNELS {
            return Err(DecodeError::BadHeader {
                path: path.into(),
                reason: crate::dsp::too_many_channels(channels),
            });
        }
        if layout.iter().all(|&s| s == Speaker::Other) {
            layout = default_layout(channels);
        }
        // symphonia gives a frame count only when the media timescale is the sample rate (MP4);
        // otherwise the duration, in time-base units, says the same.
        let declared_frames = declared_frames
            .or_else(|| {
                let (numer, denom) = time_base;
                declared_duration.map(|d| {
                    (u128::from(d) * u128::from(numer) * u128::from(sample_rate)
                        / u128::from(denom.max(1))) as u64
                })
            })
            // Ogg's count is the last granule position: it counts from the timeline's start, not
            // from frame 0.
            .map(|n| {
                if let Some(frame0) = ogg_frame0 {
                    n.saturating_sub(frame0)
                } else {
                    n
                }
            });
        // An uncompressed file states its length exactly (overrunning sizes were corrected
        // above): zero is a file with nothing to play, said as such rather than played as a
        // track of no length.
        if matches!(container.as_str(), "wave" | "aiff") && declared_frames == Some(0) {
            return Err(DecodeError::NoAudio { path: path.into() });
        }
        Ok(Self {
            info: SourceInfo {
                path: path.into(),
                container,
                codec,
                sample_rate,
                channels,
                layout,
                position_bits,
                declared_frames,
                bits_per_sample: params.bits_per_sample,
            },
            reader,
            decoder,
            track_id,
            time_base,
            skip_frames: priming.unwrap_or(0),
            seek_to: None,
            priming: timeline_priming,
            timeline_start,
            preroll: if is_opus {
                super::opus::SEEK_PREROLL
            } else {
                0
            },
            reopen_for_early_seeks: matroska_opus,
            position: 0,
            scratch: Vec::new(),
            ended: false,
            skipped_packets: 0,
        })
    }

    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Tags and (optionally) the cover picture the container carries.
    pub fn tags(
        &mut self,
        want_cover: bool,
    ) -> (super::tags::TrackTags, Option<super::tags::CoverArt>) {
        let (mut tags, cover) = super::tags::collect(self.reader.as_mut(), want_cover);
        if tags.embedded_cue.is_none() {
            tags.embedded_cue =
                super::tags::cue_points(self.reader.as_ref(), self.info.sample_rate)
                    .map(super::tags::EmbeddedCue::Points);
        }
        if tags.gain.is_empty() {
            tags.gain = super::tags::riff_id3_gain(&self.info.path);
        }
        (tags, cover)
    }

    /// Index of the next frame `read` will return.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// A timestamp of this track's time base as a frame index.
    fn ts_to_frames(&self, ts: i64) -> i64 {
        let (numer, denom) = self.time_base;
        (i128::from(ts) * i128::from(numer) * i128::from(self.info.sample_rate) / i128::from(denom))
            as i64
    }

    fn decode_error(&self, reason: impl ToString) -> DecodeError {
        DecodeError::Decode {
            path: self.info.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Decode the next packet and append its frames (interleaved, `info().channels` wide) to `out`.
    /// Returns the number of frames appended; 0 means the end of the stream. A truncated file ends
    /// where its data ends; isolated corrupt packets are skipped and counted.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<usize, DecodeError> {
        let r = super::guard::contained_in(self, |s| s.info.path.clone(), |s| s.read_inner(out));
        if r.is_err() {
            // After an error (a contained panic among them) nothing more is read from it.
            self.ended = true;
        }
        r
    }

    fn read_inner(&mut self, out: &mut Vec<f32>) -> Result<usize, DecodeError> {
        let ch = self.info.channels;
        let mut consecutive_errors = 0u32;
        while !self.ended {
            let packet = match self.reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.ended = true;
                    break;
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    break;
                }
                Err(SymError::DecodeError(_)) => {
                    if skip_corrupt(&mut self.skipped_packets, &mut consecutive_errors) {
                        // A demuxer that keeps failing after audio came out has run past the end
                        // of a cut file (an MP4 whose index lists samples that are not there says
                        // "no atom pending read" forever): the file ends where its data ends.
                        if self.position > 0 {
                            self.ended = true;
                            break;
                        }
                        return Err(self.decode_error("too many corrupt packets in a row"));
                    }
                    continue;
                }
                Err(SymError::ResetRequired) => {
                    return Err(
                        self.decode_error("stream parameters change mid-file (not supported)")
                    )
                }
                Err(e) => return Err(self.decode_error(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = match self.decoder.decode(&packet) {
                Ok(buf) => buf,
                Err(SymError::DecodeError(_)) => {
                    if skip_corrupt(&mut self.skipped_packets, &mut consecutive_errors) {
                        return Err(self.decode_error("too many corrupt packets in a row"));
                    }
                    continue;
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    break;
                }
                Err(e) => return Err(self.decode_error(e)),
            };
            consecutive_errors = 0;
            if buf.spec().channels().count() != ch {
                return Err(self.decode_error("channel count changes mid-file (not supported)"));
            }
            let total = buf.frames();
            self.scratch.resize(total * ch, 0.0);
            buf.copy_to_slice_interleaved(&mut self.scratch[..]);
            // Decoders that do not apply the container's priming/padding trim (AAC, ALAC) output
            // dur + trim frames; trim here so every codec yields the exact frame count.
            let (ts, te) = (
                packet.trim_start.get() as usize,
                packet.trim_end.get() as usize,
            );
            // A packet with no trim fields but fewer valid frames than decoded (an MP4 track's
            // last packet) carries end padding.
            // `dur` is in the track's time base (an MP4 media timescale need not be the rate).
            let dur = self
                .ts_to_frames(i64::try_from(packet.dur.get()).unwrap_or(i64::MAX))
                .max(0) as usize;
            let (mut start, end) = if ts + te > 0 && total == dur + ts + te {
                (ts, total - te)
            } else if ts + te == 0 && dur > 0 && dur < total {
                (0, dur)
            } else {
                (0, total)
            };
            if let Some(target) = self.seek_to {
                // Valid output ends at pts + dur; frames a decoder withheld are missing at the start.
                let valid = (end - start) as i64;
                let first = self.ts_to_frames(packet.pts.get()) + (dur as i64 - valid).max(0);
                if first + valid <= target {
                    continue;
                }
                start += (target - first).clamp(0, valid) as usize;
                self.seek_to = None;
            } else if self.skip_frames > 0 {
                let skip = self.skip_frames.min((end - start) as u64) as usize;
                self.skip_frames -= skip as u64;
                start += skip;
            }
            if end > start {
                out.extend_from_slice(&self.scratch[start * ch..end * ch]);
                self.position += (end - start) as u64;
                return Ok(end - start);
            }
        }
        Ok(0)
    }

    /// Seek so that the next `read` starts exactly at `frame` (symphonia lands on a packet boundary
    /// at or before it; decoded packets are then aligned by timestamp and the lead-in discarded). Seeking past the end ends the
    /// stream.
    pub fn seek(&mut self, frame: u64) -> Result<(), DecodeError> {
        let r = super::guard::contained_in(self, |s| s.info.path.clone(), |s| s.seek_inner(frame));
        if matches!(r, Err(DecodeError::Decode { .. })) {
            // A panic was contained (seek_inner itself fails only with `Seek`): where the
            // reader stands is unknown, so nothing more is read from it.
            self.ended = true;
        }
        r
    }

    /// Start again from the file's beginning and drop the frames before `frame`, as playback from
    /// the start does (exact whatever the container's timestamps say).
    fn reopen_at(&mut self, frame: u64) -> Result<(), DecodeError> {
        let mut fresh = Self::open(&self.info.path).map_err(|e| DecodeError::Seek {
            path: self.info.path.clone(),
            reason: e.to_string(),
        })?;
        fresh.skip_frames += frame;
        fresh.position = frame;
        *self = fresh;
        Ok(())
    }

    fn seek_inner(&mut self, frame: u64) -> Result<(), DecodeError> {
        let rate = u64::from(self.info.sample_rate);
        let (numer, denom) = self.time_base;
        let target = frame.saturating_add(self.priming);
        let from = target.saturating_sub(self.preroll).max(self.timeline_start);
        if self.reopen_for_early_seeks && from == self.timeline_start {
            return self.reopen_at(frame);
        }
        let ts =
            (u128::from(from) * u128::from(denom) / (u128::from(rate) * u128::from(numer))) as i64;
        match self.reader.seek(
            SeekMode::Accurate,
            SeekTo::Timestamp {
                ts: Timestamp::new(ts),
                track_id: self.track_id,
            },
        ) {
            Ok(_) => {
                self.decoder.reset();
                self.skip_frames = 0;
                self.seek_to = Some(target as i64);
                self.position = frame;
                self.ended = false;
                Ok(())
            }
            Err(SymError::SeekError(SeekErrorKind::OutOfRange)) => {
                self.ended = true;
                self.position = frame;
                Ok(())
            }
            Err(e) => Err(DecodeError::Seek {
                path: self.info.path.clone(),
                reason: e.to_string(),
            }),
        }
    }
}
