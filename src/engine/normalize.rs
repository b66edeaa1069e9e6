//! Loudness normalization on the control side: the settings go to the decoder thread, which
//! applies the gain to what it decodes (see `decoder::DecoderThread::set_gain_settings`).

use super::{DecoderCommand, Engine};
use crate::library::replaygain::GainSettings;

impl Engine {
    /// Change the normalization mode, pre-amp, fallback or clipping cap. The track being decoded
    /// takes its new gain at once, ramped over 10 ms; what is already buffered (up to the ring's
    /// length, half a second) plays at the old one.
    pub fn set_gain_settings(&mut self, settings: GainSettings) {
        self.send(DecoderCommand::SetGain(settings));
    }
}
