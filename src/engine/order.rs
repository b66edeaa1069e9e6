//! The order a queue plays in: repeat (off, the track, the whole queue) and a shuffled order of
//! its entries. The control side owns it (`Engine::set_play_order`) and the decoder follows the
//! same rules, so a skip and a track's natural end agree on what comes next.
//!
//! Entries are named by their stable queue keys, so reordering or adding entries never loses the
//! shuffle: keys not in the shuffled order (added since) play after it, in playlist order.

/// What happens at the end of a track, and of the queue.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Repeat {
    /// The queue plays once.
    #[default]
    Off,
    /// The track plays again (gaplessly) until skipped.
    One,
    /// The queue starts over after its last entry.
    All,
}

/// Repeat and the shuffled order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlayOrder {
    pub repeat: Repeat,
    /// Queue keys in play order; empty: the playlist's own order.
    pub shuffled: Vec<u32>,
}

impl PlayOrder {
    /// Queue indices in play order, for a queue with these `keys`.
    fn indices(&self, keys: &[u32]) -> Vec<usize> {
        if self.shuffled.is_empty() {
            return (0..keys.len()).collect();
        }
        let index: std::collections::HashMap<u32, usize> =
            keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
        let mut seen = vec![false; keys.len()];
        let mut out = Vec::with_capacity(keys.len());
        for k in &self.shuffled {
            if let Some(&i) = index.get(k) {
                if !seen[i] {
                    seen[i] = true;
                    out.push(i);
                }
            }
        }
        out.extend((0..keys.len()).filter(|&i| !seen[i]));
        out
    }

    /// The entry after `track` in play order; past the last, the first when `wrap`.
    #[must_use]
    pub fn following(&self, track: usize, keys: &[u32], wrap: bool) -> Option<usize> {
        // Playlist order needs no list (the app asks this every frame for the desktop's
        // "can go next", with 10 000 entries).
        if self.shuffled.is_empty() {
            return if track + 1 < keys.len() {
                Some(track + 1)
            } else if track < keys.len() && wrap {
                Some(0)
            } else {
                None
            };
        }
        let order = self.indices(keys);
        let at = order.iter().position(|&i| i == track)?;
        order
            .get(at + 1)
            .copied()
            .or_else(|| wrap.then(|| order.first().copied()).flatten())
    }

    /// The entry before `track` in play order; before the first, the last when `wrap`.
    #[must_use]
    pub fn preceding(&self, track: usize, keys: &[u32], wrap: bool) -> Option<usize> {
        if self.shuffled.is_empty() {
            return if track >= keys.len() {
                None
            } else if track > 0 {
                Some(track - 1)
            } else {
                wrap.then(|| keys.len() - 1)
            };
        }
        let order = self.indices(keys);
        let at = order.iter().position(|&i| i == track)?;
        match at.checked_sub(1) {
            Some(p) => Some(order[p]),
            None => wrap.then(|| order.last().copied()).flatten(),
        }
    }

    /// What plays when `track` ends by itself: itself again (repeat one), else the next, the
    /// queue starting over after its last entry with repeat all.
    #[must_use]
    pub fn after_end(&self, track: usize, keys: &[u32]) -> Option<usize> {
        match self.repeat {
            Repeat::One => (track < keys.len()).then_some(track),
            Repeat::All => self.following(track, keys, true),
            Repeat::Off => self.following(track, keys, false),
        }
    }

    /// The entry a skip forward goes to (repeat one does not hold a skip).
    #[must_use]
    pub fn skip_next(&self, track: usize, keys: &[u32]) -> Option<usize> {
        self.following(track, keys, self.repeat == Repeat::All)
    }

    /// The entry a skip back goes to.
    #[must_use]
    pub fn skip_previous(&self, track: usize, keys: &[u32]) -> Option<usize> {
        self.preceding(track, keys, self.repeat == Repeat::All)
    }
}

/// How the queue is shuffled.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Shuffle {
    /// Playlist order.
    #[default]
    Off,
    /// Every entry in a random order.
    Tracks,
    /// Albums (runs of consecutive entries of one album) in a random order, each album's
    /// tracks in their own order, so gapless albums stay gapless.
    Albums,
}

/// A play order for entries `(key, album)` in playlist order: `first` (the playing entry, or
/// its album) goes first, the rest in random order (see `Shuffle`). Empty for `Shuffle::Off`.
#[must_use]
pub fn shuffled<A: PartialEq>(entries: &[(u32, A)], mode: Shuffle, first: Option<u32>) -> Vec<u32> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    match mode {
        Shuffle::Off => return Vec::new(),
        Shuffle::Tracks => groups.extend(entries.iter().map(|(k, _)| vec![*k])),
        Shuffle::Albums => {
            for (i, (k, album)) in entries.iter().enumerate() {
                match groups.last_mut() {
                    Some(g) if i > 0 && entries[i - 1].1 == *album => g.push(*k),
                    _ => groups.push(vec![*k]),
                }
            }
        }
    }
    fastrand::shuffle(&mut groups);
    if let Some(f) = first {
        if let Some(i) = groups.iter().position(|g| g.contains(&f)) {
            let g = groups.remove(i);
            groups.insert(0, g);
        }
    }
    groups.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_and_skips_follow_the_order() {
        let keys = [10, 20, 30];
        let plain = PlayOrder::default();
        assert_eq!(plain.after_end(0, &keys), Some(1));
        assert_eq!(plain.after_end(2, &keys), None);
        assert_eq!(plain.skip_previous(0, &keys), None);
        let one = PlayOrder {
            repeat: Repeat::One,
            shuffled: vec![],
        };
        assert_eq!(one.after_end(1, &keys), Some(1));
        assert_eq!(one.skip_next(1, &keys), Some(2), "a skip leaves the track");
        assert_eq!(one.skip_next(2, &keys), None);
        let all = PlayOrder {
            repeat: Repeat::All,
            shuffled: vec![30, 10],
        };
        // 30, 10, then 20 (not in the shuffle: added since), then round again.
        assert_eq!(all.after_end(2, &keys), Some(0));
        assert_eq!(all.after_end(0, &keys), Some(1));
        assert_eq!(all.after_end(1, &keys), Some(2));
        assert_eq!(all.skip_previous(2, &keys), Some(1));
        // A key no longer in the queue is skipped over.
        assert_eq!(all.after_end(0, &[10, 20]), Some(1));
    }

    #[test]
    fn album_shuffle_keeps_albums_whole_and_in_order() {
        let entries: Vec<(u32, &str)> =
            vec![(1, "a"), (2, "a"), (3, "a"), (4, "b"), (5, "b"), (6, "c")];
        for _ in 0..50 {
            let s = shuffled(&entries, Shuffle::Albums, Some(5));
            assert_eq!(s.len(), 6);
            assert_eq!(&s[..2], &[4, 5], "the playing album first");
            let pos = |k: u32| s.iter().position(|&x| x == k).unwrap();
            assert!(pos(1) + 1 == pos(2) && pos(2) + 1 == pos(3), "{s:?}");
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = shuffled(&entries, Shuffle::Tracks, None);
            let mut sorted = s.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![1, 2, 3, 4, 5, 6]);
            seen.insert(s);
        }
        assert!(seen.len() > 20, "track shuffles differ");
        assert!(shuffled(&entries, Shuffle::Off, None).is_empty());
    }
}
