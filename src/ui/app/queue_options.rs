//! How the queue plays in the app: crossfade, repeat and shuffle (each one `AppCommand`, saved
//! with the rest). The engine's decoder mixes the fades and follows the play order; the app
//! holds the settings and makes the shuffled order (it knows the entries' albums).

use crate::engine::crossfade::Crossfade;
use crate::engine::order::{self, PlayOrder, Repeat, Shuffle};
use crate::library::replaygain::AlbumKey;

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

    pub fn set_repeat(&mut self, r: Repeat) {
        self.repeat = r;
        self.sync_order(false);
    }

    /// A shuffle mode, with a fresh random order (the playing entry, or its album, first).
    pub fn set_shuffle(&mut self, s: Shuffle) {
        self.shuffle = s;
        self.sync_order(true);
    }

    /// Give the engine the play order. `reshuffle`: a new random order; otherwise the current
    /// one is kept (entries added since play after it, in playlist order; see `PlayOrder`).
    pub(super) fn sync_order(&mut self, reshuffle: bool) {
        let mut shuffled = self.engine.play_order().shuffled.clone();
        if self.shuffle == Shuffle::Off {
            shuffled.clear();
        } else if reshuffle || shuffled.is_empty() {
            let entries: Vec<(u32, AlbumKey)> = self
                .playlist
                .iter()
                .map(|e| {
                    let album = AlbumKey::of(
                        &e.path,
                        e.album().map(String::as_str),
                        e.tags.album_artist.as_deref(),
                        e.artist().map(String::as_str),
                    );
                    (e.key, album)
                })
                .collect();
            let playing = self
                .engine
                .target_position()
                .and_then(|(i, _)| self.playlist.get(i))
                .map(|e| e.key);
            shuffled = order::shuffled(&entries, self.shuffle, playing);
        }
        let order = PlayOrder {
            repeat: self.repeat,
            shuffled,
        };
        if &order != self.engine.play_order() {
            self.engine.set_play_order(order);
        }
    }
}

/// An A–B loop in the app: A set (B not yet), or both (looping). Tied to the entry it was set
/// on: playing another entry ends it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AbLoop {
    pub key: Option<u32>,
    pub a: Option<f64>,
    pub b: Option<f64>,
}

impl AbLoop {
    #[must_use]
    pub fn looping(&self) -> bool {
        self.a.is_some() && self.b.is_some()
    }
}

impl RustyApp {
    /// `[` / Loop A: set A where playback is (replacing an A not yet looped); with a loop on,
    /// the third press: clear it.
    pub fn loop_a(&mut self) {
        if self.ab.looping() {
            self.clear_loop();
            return;
        }
        let Some((i, s)) = self.engine.target_position() else {
            return;
        };
        self.ab = AbLoop {
            key: self.playlist.get(i).map(|e| e.key),
            a: Some(s),
            b: None,
        };
    }

    /// `]` / Loop B: set B where playback is and loop from A (jumping back to A now); with a
    /// loop on, the third press: clear it. Without A (or before it) it says what to do.
    pub fn loop_b(&mut self) {
        if self.ab.looping() {
            self.clear_loop();
            return;
        }
        let here = self
            .engine
            .target_position()
            .and_then(|(i, s)| Some((self.playlist.get(i)?.key, s)));
        match (self.ab.a, here) {
            (Some(a), Some((key, b)))
                if Some(key) == self.ab.key && b > a + crate::engine::MIN_LOOP_S =>
            {
                self.ab.b = Some(b);
                self.engine.set_ab_loop(Some((a, b)));
                self.kick();
            }
            _ => self.notify(format!(
                "A–B repeat: set A first ([), then B (]) at least {} s later in the track",
                crate::engine::MIN_LOOP_S
            )),
        }
    }

    pub fn clear_loop(&mut self) {
        if self.ab.looping() {
            self.engine.set_ab_loop(None);
        }
        self.ab = AbLoop::default();
    }

    /// Another entry plays: a loop (or an A) set on the previous one ends.
    pub(super) fn end_loop_on_track_change(&mut self) {
        let Some(key) = self.ab.key else { return };
        let now = self
            .engine
            .target_position()
            .and_then(|(i, _)| self.playlist.get(i))
            .map(|e| e.key);
        if now.is_some_and(|k| k != key) {
            self.clear_loop();
        }
    }
}
