//! Loudness normalization and crossfade on the control side: the settings go to the decoder
//! thread, which applies them to what it decodes (see `decoder::DecoderThread` and
//! `crossfade`).

use super::{DecoderCommand, Engine};
use crate::library::replaygain::GainSettings;

impl Engine {
    /// Change the normalization mode, pre-amp, fallback or clipping cap. The track being decoded
    /// takes its new gain at once, ramped over 10 ms; what is already buffered (up to the ring's
    /// length, half a second) plays at the old one.
    pub fn set_gain_settings(&mut self, settings: GainSettings) {
        self.send(DecoderCommand::SetGain(settings));
    }

    /// Change the crossfade. The track being decoded plans its fade-out by the new setting,
    /// unless a fade is already under way (it finishes as it began).
    pub fn set_crossfade(&mut self, c: super::crossfade::Crossfade) {
        self.send(DecoderCommand::SetCrossfade(c.validated()));
    }
}
