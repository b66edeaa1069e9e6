//! How the queue plays in the app: crossfade (one `AppCommand` path, saved with the rest). The
//! engine's decoder mixes the fades; the app only holds the setting.

use crate::engine::crossfade::Crossfade;

use super::RustyApp;

impl RustyApp {
    /// New crossfade settings: the engine plans the playing track's fade-out by them (a fade
    /// under way finishes as it began); they are saved with the other settings.
    pub fn set_crossfade(&mut self, c: Crossfade) {
        let c = c.validated();
        if c != self.crossfade {
            self.crossfade = c;
            self.engine.set_crossfade(c);
        }
    }
}
