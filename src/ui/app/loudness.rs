//! Loudness normalization in the app: the settings (one `AppCommand` path, saved with the rest)
//! and the gain each playlist entry plays with. The engine's decoder applies the gain; the app
//! only shows it.

use crate::library::replaygain::{self, AlbumKey, AppliedGain, GainMode, GainSettings};

use super::RustyApp;

impl RustyApp {
    /// New normalization settings: the engine applies them to the track being decoded at once
    /// (ramped) and to every track it opens; they are saved with the other settings.
    pub fn set_normalization(&mut self, settings: GainSettings) {
        if settings != self.normalization {
            self.normalization = settings;
            self.engine.set_gain_settings(settings);
            // What the decoder reported was under the old settings; it reports the playing
            // track's new gain (`EngineEvent::GainChanged`), the rest show what their tags give.
            for e in &mut self.playlist {
                e.gain = None;
            }
        }
    }

    /// The gain entry `i` plays (or will play) with: what the decoder reported for the track it
    /// opened last, else what its tags give under the current settings (None while
    /// normalization is off or its tags are not read yet). The same rules as the decoder's
    /// (`replaygain::gain_for`, `album_run` over the neighbours), so the two agree.
    #[must_use]
    pub fn planned_gain(&self, i: usize) -> Option<AppliedGain> {
        if self.normalization.mode == GainMode::Off {
            return None;
        }
        let e = self.playlist.get(i)?;
        if self.current_track() == Some(i) {
            if let Some(g) = e.gain {
                return Some(g);
            }
        }
        if !e.tags_read {
            return None; // not scanned yet
        }
        // A neighbour not read yet (or unreadable) is no album, as in the decoder.
        let key = |j: usize| {
            self.playlist
                .get(j)
                .filter(|e| e.tags_read)
                .map(|e| AlbumKey::of_tags(&e.path, &e.tags))
        };
        let keys = [i.checked_sub(1).and_then(key), key(i), key(i + 1)];
        let run = replaygain::album_run(&keys, 1);
        Some(replaygain::gain_for(
            &e.gain_tags(),
            run,
            &self.normalization,
        ))
    }
}
