//! The application state and its layout: transport on top, now-playing and playlist on the left,
//! meters on the right, spectrum, spectrogram and EQ editor in the middle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::overview::Overview;
use crate::decode::TrackTags;
use crate::dsp::chain::DspSettings;
use crate::engine::{Engine, PlayState, QueueItem};
use crate::library::entries::{CueRef, Listed};
use crate::perf::histogram::Histogram;

use super::scanner::Scanner;
use super::settings::{Settings, Store};
use super::spectrogram_view::Spectrogram;

mod actions;
pub mod analyze_source;
mod desktop_link;
pub use desktop_link::Desktop;
mod engine_link;
mod loudness;
pub mod pacing;
pub mod queue_options;
mod wheel;

/// Smallest height of an analyzer view (spectrum, spectrogram) before the middle scrolls.
const MIN_ANALYZER_H: f32 = 150.0;
/// Smallest height of the EQ editor (curve, toolbar, a few bands).
const MIN_EQ_H: f32 = 300.0;

/// How often unsaved changes are written (position is saved on exit, pause and stop).
const SAVE_EVERY: Duration = Duration::from_secs(3);

/// One playlist entry. `key` is its identity for the engine and the scanner; it never changes
/// when entries move.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: u32,
    pub path: Arc<Path>,
    /// The cue sheet track this entry is (a range of `path`), with what the sheet says of it.
    pub cue: Option<CueRef>,
    /// The file's own tags (for a cue track, the image's: its artist and album fill in what
    /// the sheet leaves out).
    pub tags: TrackTags,
    pub duration_s: Option<f64>,
    /// `duration_s` is the decoded length (from the waveform overview), not a header's claim: it
    /// is kept, whatever a later open of the file declares (a truncated file's header says more
    /// than there is; a length must not change under the user).
    pub duration_exact: bool,
    /// (size, modification time) of the file when `duration_s` was decoded (see
    /// `settings::KnownLength`).
    pub measured: Option<(u64, u64)>,
    /// "FLAC · 44100 Hz · 2 ch", once the decoder opened it.
    pub format: Option<String>,
    /// Why it cannot be played, once the scanner or the decoder said so.
    pub error: Option<String>,
    /// The normalization gain it plays with, once the decoder opened it.
    pub gain: Option<crate::library::replaygain::AppliedGain>,
    /// The scanner has read its tags (`tags` may still be empty: an untagged file).
    pub tags_read: bool,
}

impl Entry {
    fn new(key: u32, listed: Listed) -> Self {
        // A cue track's length is exact from its sheet, unless it is the file's last.
        let cue_length = listed.cue.as_ref().and_then(CueRef::length_s);
        Entry {
            key,
            path: Arc::from(listed.path),
            cue: listed.cue,
            tags: TrackTags::default(),
            duration_s: cue_length,
            duration_exact: cue_length.is_some(),
            measured: None,
            format: None,
            error: None,
            gain: None,
            tags_read: false,
        }
    }

    /// The title tag (the sheet's, for a cue track), else the file name (with the track
    /// number, for a cue track).
    #[must_use]
    pub fn title(&self) -> String {
        let file = || {
            self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        match &self.cue {
            Some(c) => c
                .title
                .clone()
                .unwrap_or_else(|| format!("{} · track {}", file(), c.track)),
            None => self.tags.title.clone().unwrap_or_else(file),
        }
    }

    /// The artist: a cue track's performer, else the file's tag.
    #[must_use]
    pub fn artist(&self) -> Option<&String> {
        self.cue
            .as_ref()
            .and_then(|c| c.performer.as_ref())
            .or(self.tags.artist.as_ref())
    }

    /// The album: a cue sheet's title, else the file's tag.
    #[must_use]
    pub fn album(&self) -> Option<&String> {
        self.cue
            .as_ref()
            .and_then(|c| c.album.as_ref())
            .or(self.tags.album.as_ref())
    }

    /// The ReplayGain values it plays with (a cue track's from its sheet; see `cue_gain`).
    #[must_use]
    pub fn gain_tags(&self) -> crate::library::replaygain::GainTags {
        match &self.cue {
            Some(c) => crate::library::entries::cue_gain(c.gain, &self.tags.gain),
            None => self.tags.gain,
        }
    }

    /// The entry's length, given its whole file's: a cue track without an end runs from its
    /// start to the file's end.
    #[must_use]
    pub fn length_from_file(&self, file_s: f64) -> f64 {
        self.listed().length_from_file(file_s)
    }

    fn listed(&self) -> Listed {
        Listed {
            path: self.path.to_path_buf(),
            cue: self.cue.clone(),
        }
    }

    /// What the engine plays for it.
    #[must_use]
    pub fn queue_item(&self) -> QueueItem {
        QueueItem::from(&self.listed())
    }

    /// "Artist · Album" (empty when neither is known).
    #[must_use]
    pub fn subtitle(&self) -> String {
        match (self.artist(), self.album()) {
            (Some(a), Some(b)) => format!("{a} · {b}"),
            (Some(a), None) | (None, Some(a)) => a.clone(),
            (None, None) => String::new(),
        }
    }
}

/// What the app starts with (besides the engine).
pub struct Startup {
    pub files: Vec<PathBuf>,
    pub autoplay: bool,
    pub store: Store,
    pub settings: Settings,
    /// A message about the settings file (unreadable, moved aside).
    pub warning: Option<String>,
}

/// The waveform overview of the playing entry, with its columns for the current seek-bar width.
pub struct OverviewCache {
    pub key: u32,
    pub overview: Overview,
    /// The seek bar's waveform (`ui::waveform`) and the size in pixels it was drawn for.
    pub texture: Option<([usize; 2], egui::TextureHandle)>,
}

pub struct RustyApp {
    pub engine: Engine,
    /// A live input the analyzer views follow (see `analyze_source`); None: the player.
    pub input: Option<crate::engine::capture::Capture>,
    pub analyze: analyze_source::AnalyzeSource,
    /// The source the user last picked, as saved (`Settings::analyze`): kept while that input
    /// is away, so an unplugged microphone is opened again at the next start.
    analyze_saved: Option<String>,
    /// Where the spectrum view's last drawn frame peaks (`stats_json`).
    pub drawn_spectrum_peak_hz: Option<f32>,
    /// The input threads' scheduling, judged as the output's (one watcher for the inputs picked
    /// one after another: a refusal is said once).
    input_rt: crate::engine::rtkit::RtWatch,
    /// The inputs offered while the "Analyze" picker is open (listed when it opens).
    input_list: Option<Vec<crate::engine::input::InputDevice>>,
    pub playlist: Vec<Entry>,
    next_key: u32,
    /// Entry key → playlist index, so the scanner's thousands of results for a big folder are
    /// placed in O(1) each rather than by a scan of the whole list (which made a 10 000-entry
    /// load cost ~10⁸ comparisons). Rebuilt when the playlist's order changed (see
    /// `index_of`).
    key_index: std::cell::RefCell<std::collections::HashMap<u32, usize>>,
    key_index_dirty: std::cell::Cell<bool>,
    /// Bumped whenever what the settings file keeps of the playlist (its entries, the known
    /// lengths) may have changed. The periodic save compares everything else field by field
    /// and copies the 10 000-entry lists only when this moved: copying and comparing them every
    /// few seconds was a 2–3 ms frame, the big-library p99.
    lists_gen: u64,
    saved_lists_gen: u64,
    /// The saver has been sent full lists at least once (so it can write with them).
    saver_has_lists: bool,
    pub volume_db: f32,
    pub selected: Option<usize>,
    pub show_eq: bool,
    pub show_spectrum: bool,
    pub show_spectrogram: bool,
    pub show_perf: bool,
    pub show_playlist: bool,
    pub show_meters: bool,
    pub eq_overlay: bool,
    pub selected_band: Option<usize>,
    pub spectrogram: Spectrogram,
    notices: super::notices::Notices,
    /// Set while the user drags the seek bar (seconds).
    pub seek_preview: Option<f64>,
    /// Keep repainting until then: a command was sent and its effect is not visible yet.
    busy_until: Instant,
    /// The EQ curve's points, kept between frames (`eq_view::ResponseCache`).
    pub(crate) eq_responses: super::eq_view::Responses,
    /// Playback stopped this recently: the views still move until then (`pacing::SETTLE`).
    settle_until: Option<Instant>,
    /// Whether audio played at the start of this frame (to see playback stop).
    was_playing: bool,
    /// This frame's clock (`pacing`).
    frame_now: Instant,
    pub scanner: Scanner,
    /// Key of the entry the scanner was last asked about as "now playing".
    now_key: Option<u32>,
    pub overview: Option<OverviewCache>,
    pub cover: Option<(u32, egui::TextureHandle)>,
    pending_cover: Option<(u32, Option<egui::ColorImage>)>,
    /// The playing entry's cover as a file in the cache (for the desktop's media controls).
    pub cover_file: Option<(u32, PathBuf)>,
    /// Media keys, sound menus and the single-instance hand-over (see `app/desktop_link.rs`).
    pub(crate) desktop: Option<desktop_link::DesktopLink>,
    /// A seek was commanded this frame (to its target, seconds): MPRIS says `Seeked`.
    seeked_to: Option<f64>,
    pub store: Store,
    saver: super::saver::Saver,
    last_saved: Option<Settings>,
    last_save_check: Instant,
    /// Output device names for the picker (filled when first shown / refreshed).
    pub devices: Option<Vec<String>>,
    /// The other audio hosts and their output devices (filled with `devices`).
    pub other_hosts: Vec<(String, Vec<String>)>,
    pub output_device: Option<String>,
    pub buffer_frames: Option<u32>,
    /// Name typed into "Save preset as".
    pub preset_name: String,
    /// Time spent in `show` per frame (ns), for the performance panel and the guide.
    pub ui_frame: Histogram,
    /// The frames drawn while playing (what the ≤ 2 ms p99 budget is about; `ui_frame` also holds
    /// the first frames, pauses and dialogs).
    pub ui_frame_playing: Histogram,
    /// The CPU time of the frames in `ui_frame_playing` (the UI thread's own work; the rest of a
    /// frame's wall time it waited for a core: see `perf::clock::thread_cpu_ns`).
    pub ui_frame_playing_cpu: Histogram,
    window_size: Option<[f32; 2]>,
    pub print_stats_on_exit: bool,
    pub perf: super::perf_view::PerfState,
    /// `RUSTY_AUDIO_DEBUG_REPAINT`: log why each frame was drawn (checking idle repaints).
    debug_repaint: bool,
    /// `RUSTY_AUDIO_FRAME_TRACE=MS`: frames slower than this print where their time went
    /// (stderr), to find what the frame-time percentiles' tail is made of.
    frame_trace_ns: Option<u64>,
    /// Wheel notches scroll in one frame, not glide (on a software renderer: see `wheel.rs`).
    pub instant_wheel: bool,
    /// Commands the views sent this frame (see `actions.rs`).
    queued: Vec<super::command::AppCommand>,
    /// Integrated loudness, range, true peak and clips restart with each track.
    pub meters_per_track: bool,
    /// Loudness normalization (ReplayGain), as the engine has it.
    pub normalization: crate::library::replaygain::GainSettings,
    /// Crossfade between tracks, as the engine has it.
    pub crossfade: crate::engine::crossfade::Crossfade,
    /// Repeat and shuffle (the engine has the order they make; see `queue_options`).
    pub repeat: crate::engine::order::Repeat,
    pub shuffle: crate::engine::order::Shuffle,
    /// The A–B loop being set or played (see `queue_options`).
    pub ab: queue_options::AbLoop,
    /// The playlist row a dragged row would land on (the drop marker shown there).
    pub drop_marker: Option<usize>,
    /// Queue key of the track the meters' integrating readings belong to.
    meters_track: Option<u32>,
    /// File dialogs in flight and the path field (see `dialogs.rs`).
    pub dialogs: super::dialogs::Dialogs,
    /// When the lost output was last tried again (see `engine_link::reconnect_if_due`).
    last_reconnect: Instant,
    /// Wait before the next try (backs off; see `engine_link::reconnect_if_due`).
    reconnect_wait: Duration,
    /// Quit was asked for (a key, later media keys): the window closes at the end of the frame.
    quit_requested: bool,
}

impl RustyApp {
    /// The app around a started engine with default settings that are not saved (tests);
    /// queues `files` (the demo track when empty).
    #[must_use]
    pub fn new(engine: Engine, files: Vec<PathBuf>, autoplay: bool) -> Self {
        Self::build(
            engine,
            Startup {
                files,
                autoplay,
                store: Store::in_memory(),
                settings: Settings::default(),
                warning: None,
            },
        )
    }

    #[must_use]
    pub fn build(engine: Engine, start: Startup) -> Self {
        let s = start.settings;
        let mut app = RustyApp {
            engine,
            playlist: Vec::new(),
            next_key: 0,
            key_index: std::cell::RefCell::default(),
            key_index_dirty: std::cell::Cell::new(true),
            lists_gen: 0,
            saved_lists_gen: 0,
            saver_has_lists: false,
            volume_db: s.volume_db,
            selected: None,
            show_eq: s.layout.show_eq,
            show_spectrum: s.layout.show_spectrum,
            show_spectrogram: s.layout.show_spectrogram,
            show_perf: s.layout.show_perf,
            show_playlist: s.layout.show_playlist,
            show_meters: s.layout.show_meters,
            eq_overlay: s.layout.eq_overlay,
            selected_band: None,
            spectrogram: Spectrogram::new(s.spectrogram),
            notices: super::notices::Notices::default(),
            seek_preview: None,
            busy_until: Instant::now(),
            eq_responses: super::eq_view::Responses::default(),
            settle_until: None,
            was_playing: false,
            frame_now: Instant::now(),
            scanner: Scanner::start(),
            now_key: None,
            overview: None,
            input: None,
            analyze: analyze_source::AnalyzeSource::Player,
            analyze_saved: None,
            drawn_spectrum_peak_hz: None,
            input_rt: crate::engine::rtkit::RtWatch::default(),
            input_list: None,
            cover: None,
            pending_cover: None,
            cover_file: None,
            desktop: None,
            seeked_to: None,
            saver: super::saver::Saver::new(start.store.clone()),
            store: start.store,
            last_saved: None,
            last_save_check: Instant::now(),
            devices: None,
            other_hosts: Vec::new(),
            output_device: s.output_device.clone(),
            buffer_frames: s.buffer_frames,
            preset_name: String::new(),
            ui_frame: Histogram::new(),
            ui_frame_playing: Histogram::new(),
            ui_frame_playing_cpu: Histogram::new(),
            window_size: s.layout.window,
            print_stats_on_exit: false,
            perf: super::perf_view::PerfState::default(),
            debug_repaint: std::env::var_os("RUSTY_AUDIO_DEBUG_REPAINT").is_some(),
            frame_trace_ns: std::env::var("RUSTY_AUDIO_FRAME_TRACE")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .map(|ms| (ms * 1e6) as u64),
            instant_wheel: false,
            queued: Vec::new(),
            quit_requested: false,
            last_reconnect: Instant::now(),
            reconnect_wait: engine_link::RECONNECT_FIRST,
            dialogs: super::dialogs::Dialogs::default(),
            meters_per_track: s.layout.meters_per_track,
            normalization: s.normalization,
            crossfade: s.crossfade,
            repeat: s.repeat,
            shuffle: s.shuffle,
            ab: queue_options::AbLoop::default(),
            meters_track: None,
            drop_marker: None,
        };
        if let Some(w) = start.warning {
            app.notify(w);
        }
        if let Some(why) = app.engine.output_info().fallback_reason.clone() {
            app.notify(format!(
                "No audio device: {why}. Playing to the null output; the analyzer still works."
            ));
        }
        app.engine.set_dsp(&s.dsp);
        app.set_volume_db(s.volume_db);
        app.engine.set_gain_settings(s.normalization);
        app.engine.set_crossfade(s.crossfade);
        app.set_repeat(s.repeat);
        app.engine.set_spectrum_config(s.spectrum);
        app.restore_analyze_source(s.analyze.clone());
        if start.files.is_empty() && !s.playlist.is_empty() {
            // Where the user left off.
            let current = app.restore(&s.playlist, s.current);
            for e in app.playlist.iter_mut().filter(|e| e.cue.is_none()) {
                if let Some(d) = super::settings::KnownLength::for_file(&s.known_lengths, &e.path) {
                    e.duration_s = Some(d);
                    e.duration_exact = true;
                    e.measured = super::settings::KnownLength::stamp(&e.path);
                }
            }
            if let Some(i) = current {
                app.selected = Some(i);
                if start.autoplay {
                    app.engine.play_at(i, s.position_s);
                    if s.paused {
                        // Paused when the app closed: back where it was, still paused.
                        app.engine.pause();
                    }
                    app.kick();
                }
            }
        } else {
            let files = if start.files.is_empty() {
                crate::library::files::demo_track().into_iter().collect()
            } else {
                app.expand(&start.files)
            };
            app.add_files(files);
            if start.autoplay && !app.playlist.is_empty() {
                app.play(0);
            }
        }
        // What is on disk now is what we loaded; only changes are written.
        app.last_saved = Some(app.snapshot(false));
        app.saved_lists_gen = app.lists_gen;
        if let Some(s) = &app.last_saved {
            app.saver.know(s.clone());
            app.saver_has_lists = true;
        }
        app
    }

    /// Add files and cue sheets (folders already expanded): a sheet, or a file with one beside
    /// it, adds its tracks. Only sheets are read here (small text files); the scanner opens the
    /// audio files in the background.
    pub fn add_files(&mut self, files: Vec<PathBuf>) {
        let (listed, errors) =
            crate::library::entries::list(&files, crate::library::files::AUDIO_EXTENSIONS);
        for e in errors {
            self.notify_unplayable(e);
        }
        self.add_listed(listed);
    }

    /// Put back a saved playlist, each entry as it was (a file stays whole even if a sheet has
    /// appeared beside it since; a cue track is read from its sheet as the sheet is now). A
    /// track that cannot be found is left out with a notice. Returns where `current` is now.
    fn restore(
        &mut self,
        saved: &[super::settings::SavedEntry],
        current: Option<usize>,
    ) -> Option<usize> {
        use super::settings::SavedEntry;
        let mut sheets: std::collections::HashMap<PathBuf, Result<Vec<Listed>, String>> =
            std::collections::HashMap::new();
        let mut listed = Vec::new();
        let mut now_current = None;
        for (i, s) in saved.iter().enumerate() {
            let l = match s {
                SavedEntry::File(p) => Some(Listed {
                    path: p.to_path_buf(),
                    cue: None,
                }),
                SavedEntry::Cue { sheet, track } => {
                    let tracks = sheets.entry(sheet.clone()).or_insert_with(|| {
                        crate::library::entries::tracks_of_sheet(
                            sheet,
                            crate::library::files::AUDIO_EXTENSIONS,
                        )
                    });
                    match tracks {
                        Ok(t) => {
                            let found = t
                                .iter()
                                .find(|l| l.cue.as_ref().is_some_and(|c| c.track == *track))
                                .cloned();
                            if found.is_none() {
                                self.notify_unplayable(format!(
                                    "{}: track {track} is no longer in the sheet",
                                    sheet.display()
                                ));
                            }
                            found
                        }
                        Err(e) => {
                            let e = e.clone();
                            self.notify_unplayable(e);
                            None
                        }
                    }
                }
            };
            if let Some(l) = l {
                if current == Some(i) {
                    now_current = Some(listed.len());
                }
                listed.push(l);
            }
        }
        self.add_listed(listed);
        now_current
    }

    /// Entry `key`, a whole file, turned out to carry a cue sheet: it becomes the sheet's
    /// tracks, in its place (the first keeps its key). If it was playing, playback moves to the
    /// track that holds the position (a seek to the same sound: the file was opened whole).
    pub(crate) fn split_entry(
        &mut self,
        key: u32,
        tags: &TrackTags,
        file_s: Option<f64>,
        tracks: Vec<Listed>,
    ) {
        let Some(i) = self.index_of(key) else { return };
        if self.playlist[i].cue.is_some() {
            return;
        }
        let playing = self.engine.target_position().filter(|p| p.0 == i);
        let selected = self.selected.map(|s| self.playlist[s].key);
        let mut replaced = Vec::with_capacity(tracks.len());
        for (n, l) in tracks.into_iter().enumerate() {
            let k = if n == 0 {
                key
            } else {
                self.next_key += 1;
                self.next_key
            };
            let mut e = Entry::new(k, l);
            e.tags = tags.clone();
            e.tags_read = true;
            if !e.duration_exact {
                e.duration_s = file_s.map(|d| e.length_from_file(d));
            }
            replaced.push(e);
        }
        let starts: Vec<f64> = replaced
            .iter()
            .map(|e| e.cue.as_ref().map_or(0.0, CueRef::start_s))
            .collect();
        let new_keys: Vec<u32> = replaced.iter().skip(1).map(|e| e.key).collect();
        self.playlist.splice(i..=i, replaced);
        self.playlist_changed();
        self.selected = selected.and_then(|k| self.index_of(k));
        self.sync_queue();
        // In a shuffle, the file's other tracks follow its first (an album stays whole).
        let mut order = self.engine.play_order().clone();
        if let Some(p) = order.shuffled.iter().position(|&k| k == key) {
            order.shuffled.splice(p + 1..p + 1, new_keys);
            self.engine.set_play_order(order);
        }
        if let Some((_, s)) = playing {
            let t = starts.iter().rposition(|&st| st <= s).unwrap_or(0);
            let paused = self.engine.is_paused();
            self.engine.play_at(i + t, (s - starts[t]).max(0.0));
            if paused {
                self.engine.pause();
            }
        }
    }

    fn add_listed(&mut self, listed: Vec<Listed>) {
        for l in listed {
            self.next_key += 1;
            self.scanner.tags(self.next_key, l.path.clone());
            self.playlist.push(Entry::new(self.next_key, l));
            self.playlist_changed();
        }
        self.sync_queue();
    }

    /// The playlist as the engine's keyed queue.
    fn queue_entries(&self) -> Vec<(u32, QueueItem)> {
        self.playlist
            .iter()
            .map(|e| (e.key, e.queue_item()))
            .collect()
    }

    fn sync_queue(&mut self) {
        let entries = self.queue_entries();
        self.engine.set_queue_keyed(entries);
        self.sync_order(false);
    }

    /// The playlist's order or membership changed: the key index is stale and the saved lists
    /// must be copied at the next save.
    fn playlist_changed(&mut self) {
        self.key_index_dirty.set(true);
        self.lists_gen += 1;
    }

    /// Where the entry with `key` is. Every insertion, removal and move marks the index dirty;
    /// a hit is also checked against the entry it names, and a length mismatch counts as dirty,
    /// so an index that went stale any other way is rebuilt, never believed.
    fn index_of(&self, key: u32) -> Option<usize> {
        let valid = |i: usize| self.playlist.get(i).is_some_and(|e| e.key == key);
        let mut map = self.key_index.borrow_mut();
        if !self.key_index_dirty.get() && map.len() == self.playlist.len() {
            match map.get(&key) {
                Some(&i) if valid(i) => return Some(i),
                None => return None,
                Some(_) => {}
            }
        }
        map.clear();
        map.extend(self.playlist.iter().enumerate().map(|(i, e)| (e.key, i)));
        self.key_index_dirty.set(false);
        map.get(&key).copied().filter(|&i| valid(i))
    }

    fn entry_mut(&mut self, key: u32) -> Option<&mut Entry> {
        let i = self.index_of(key)?;
        self.playlist.get_mut(i)
    }

    /// Remove entry `i`. Removing the playing entry goes on with the one that took its place;
    /// removing any other entry does not disturb playback at all.
    pub fn remove(&mut self, i: usize) {
        if i >= self.playlist.len() {
            return;
        }
        let current = self.current_track();
        self.playlist.remove(i);
        self.playlist_changed();
        self.sync_queue();
        if current == Some(i) {
            if i < self.playlist.len() {
                self.play(i);
            } else {
                self.engine.stop();
            }
        }
        self.selected = None;
    }

    /// Move entry `from` so that it ends up at index `to` (drag and drop, Alt+Up/Down). The
    /// playing track plays on seamlessly wherever it goes.
    pub fn move_entry(&mut self, from: usize, to: usize) {
        if from >= self.playlist.len() || to >= self.playlist.len() || from == to {
            return;
        }
        let sel = self.selected.map(|s| self.playlist[s].key);
        let e = self.playlist.remove(from);
        self.playlist.insert(to, e);
        self.playlist_changed();
        self.selected = sel.and_then(|k| self.index_of(k));
        self.sync_queue();
    }

    pub fn play(&mut self, i: usize) {
        self.engine.play_track(i);
        self.kick();
    }

    /// Repaint for a moment after a command, until its effect (a track opening, the state
    /// changing) shows; otherwise the UI only repaints while playing (see `pacing`).
    pub fn kick(&mut self) {
        self.busy_until = Instant::now() + pacing::KICK;
    }

    pub fn stop(&mut self) {
        self.save_now();
        self.engine.stop();
        self.kick();
    }

    #[must_use]
    pub fn is_playing(&self) -> bool {
        self.engine.telemetry().state() == PlayState::Playing && !self.engine.is_paused()
    }

    #[must_use]
    pub fn current_track(&self) -> Option<usize> {
        self.position().map(|p| p.0)
    }

    /// (playlist index, seconds) of what is audible.
    #[must_use]
    pub fn position(&self) -> Option<(usize, f64)> {
        self.engine.position()
    }

    pub fn set_dsp(&mut self, d: DspSettings) {
        self.engine.set_dsp(&d);
    }

    /// Set the volume, capped at `settings::MAX_VOLUME_DB` (a storm of Up presses can never
    /// take it above full scale) and floored at mute.
    pub fn set_volume_db(&mut self, db: f32) {
        if !db.is_finite() {
            return;
        }
        self.volume_db = db.clamp(
            super::settings::MIN_VOLUME_DB,
            super::settings::MAX_VOLUME_DB,
        );
        self.engine
            .set_volume(super::settings::volume_gain(self.volume_db));
    }

    /// Files and folders given to the app (command line, drop, dialog, another instance) → the
    /// files to add; a folder that cannot be read is a notice naming it and the reason.
    pub fn expand(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let (files, unreadable) = crate::library::files::expand_reporting(paths);
        for line in unreadable {
            self.notify(line);
        }
        files
    }

    pub fn notify(&mut self, text: String) {
        self.notices.push(super::notices::Kind::Other, text);
    }

    /// A playlist entry cannot be played (grouped with others arriving together).
    pub fn notify_unplayable(&mut self, text: String) {
        self.notices.push(super::notices::Kind::Unplayable, text);
    }

    /// Every line of the notices shown (grouped ones included).
    #[must_use]
    pub fn notices(&self) -> Vec<&str> {
        self.notices.lines()
    }

    /// The headline of each notice shown.
    #[must_use]
    pub fn notice_titles(&self) -> Vec<String> {
        self.notices.titles()
    }

    /// A new track is audible: restart the integrating meters if they are per track (here, not
    /// in the meters view: it must happen with the view hidden too, and never on showing it).
    fn reset_meters_per_track(&mut self) {
        let now = self
            .current_track()
            .and_then(|i| self.playlist.get(i))
            .map(|e| e.key);
        if now.is_some() && now != self.meters_track {
            if self.meters_track.is_some() && self.meters_per_track {
                self.engine.reset_meters();
            }
            self.meters_track = now;
        }
    }

    /// Carry out what dialogs (or the path field) returned.
    fn handle_dialogs(&mut self, ctx: &egui::Context) {
        use super::dialogs::{Outcome, Purpose};
        let mut picked = Vec::new();
        for o in self.dialogs.poll() {
            match o {
                Outcome::Picked(p, paths) => picked.push((p, paths)),
                Outcome::Cancelled => {}
                Outcome::Unavailable(_, why) => self.notify(format!(
                    "The file dialog cannot open ({why}): type the path instead."
                )),
            }
        }
        if let Some((p, path)) = self.dialogs.show_path_field(ctx) {
            picked.push((p, vec![path]));
        }
        for (purpose, paths) in picked {
            match purpose {
                Purpose::AddFiles | Purpose::AddFolder => {
                    self.apply(super::command::AppCommand::AddFiles(paths));
                }
                Purpose::ImportPreset => {
                    if let Some(p) = paths.first() {
                        super::eq_view::import_file(self, p);
                    }
                }
                Purpose::ExportPreset => {
                    if let Some(p) = paths.first() {
                        super::eq_view::export_file(self, p);
                    }
                }
            }
        }
    }

    /// What would be saved now. `with_position`: also the playing position (saved on exit,
    /// pause and stop; not every few seconds, which would rewrite the file constantly).
    #[must_use]
    pub fn snapshot(&self, with_position: bool) -> Settings {
        let mut s = self.snapshot_without_lists(with_position);
        s.playlist = self
            .playlist
            .iter()
            .map(|e| match &e.cue {
                Some(c) => super::settings::SavedEntry::Cue {
                    sheet: c.sheet.clone(),
                    track: c.track,
                },
                None => super::settings::SavedEntry::File(e.path.clone()),
            })
            .collect();
        s.known_lengths = self
            .playlist
            .iter()
            .filter(|e| e.duration_exact)
            .filter_map(|e| {
                let (bytes, modified_s) = e.measured?;
                Some(super::settings::KnownLength {
                    path: e.path.clone(),
                    bytes,
                    modified_s,
                    seconds: e.duration_s?,
                })
            })
            .collect();
        s
    }

    /// Everything the settings file keeps but the playlist and the known lengths (left empty).
    fn snapshot_without_lists(&self, with_position: bool) -> Settings {
        let pos = self.engine.target_position();
        let prev = self.last_saved.as_ref();
        Settings {
            volume_db: self.volume_db,
            dsp: *self.engine.dsp(),
            playlist: Vec::new(),
            current: pos
                .map(|p| p.0)
                .or(self.selected)
                .or(prev.and_then(|p| p.current)),
            position_s: if with_position {
                pos.map_or(0.0, |p| p.1)
            } else {
                prev.map_or(0.0, |p| p.position_s)
            },
            paused: if with_position {
                pos.is_some() && self.engine.is_paused()
            } else {
                prev.is_some_and(|p| p.paused)
            },
            layout: super::settings::Layout {
                show_spectrum: self.show_spectrum,
                show_spectrogram: self.show_spectrogram,
                show_eq: self.show_eq,
                eq_overlay: self.eq_overlay,
                show_perf: self.show_perf,
                show_playlist: self.show_playlist,
                show_meters: self.show_meters,
                meters_per_track: self.meters_per_track,
                window: self.window_size,
            },
            spectrum: *self.engine.spectrum_config(),
            spectrogram: self.spectrogram.settings,
            output_device: self.output_device.clone(),
            buffer_frames: self.buffer_frames,
            normalization: self.normalization,
            crossfade: self.crossfade,
            repeat: self.repeat,
            shuffle: self.shuffle,
            analyze: self.analyze_saved.clone(),
            known_lengths: Vec::new(),
        }
    }

    /// Frame time, callback time and memory, as the measurement script reads them; and the
    /// analyzed input, if any (`input_stats`).
    #[must_use]
    pub fn stats_json(&mut self) -> serde_json::Value {
        let q = |h: &crate::perf::HistogramSnapshot| {
            serde_json::json!({
                "count": h.count,
                "p50_us": h.quantile(0.5) as f64 / 1e3,
                "p95_us": h.quantile(0.95) as f64 / 1e3,
                "p99_us": h.quantile(0.99) as f64 / 1e3,
                "max_us": h.max as f64 / 1e3,
            })
        };
        let t = self.engine.telemetry();
        let p = crate::perf::process::sample();
        serde_json::json!({
            "ui_frame": q(&self.ui_frame.snapshot()),
            "ui_frame_playing": q(&self.ui_frame_playing.snapshot()),
            "ui_frame_playing_cpu": q(&self.ui_frame_playing_cpu.snapshot()),
            "callback": q(&t.perf.callback_snapshot()),
            "underruns": t.underruns.load(std::sync::atomic::Ordering::Relaxed),
            "rss_anon_kib": p.rss_anon_kib,
            "rss_kib": p.rss_kib,
            "input": self.input_stats(),
            "spectrum_drawn_peak_hz": self.drawn_spectrum_peak_hz,
        })
    }

    /// Write the settings now (with the position).
    pub fn save_now(&mut self) {
        let s = self.snapshot(true);
        self.saved_lists_gen = self.lists_gen;
        self.write(s);
    }

    fn write(&mut self, s: Settings) {
        if self.last_saved.as_ref() == Some(&s) {
            return;
        }
        // Written on the saver's thread; a failure comes back as a notice (once per change).
        self.saver.save(s.clone());
        self.saver_has_lists = true;
        self.last_saved = Some(s);
    }

    fn save_if_changed(&mut self) {
        for e in self.saver.errors() {
            self.notify(e);
        }
        if self.last_save_check.elapsed() < SAVE_EVERY {
            return;
        }
        self.last_save_check = Instant::now();
        if self.lists_gen == self.saved_lists_gen
            && self.saver_has_lists
            && self.last_saved.is_some()
        {
            let s = self.snapshot_without_lists(false);
            if let Some(last) = self.last_saved.as_mut() {
                // The lists are as saved: compare the rest without copying them.
                let playlist = std::mem::take(&mut last.playlist);
                let known = std::mem::take(&mut last.known_lengths);
                let same = *last == s;
                if !same {
                    // Saved with the lists the saver already has; `last` becomes `s` and keeps
                    // its lists, with no copy of either.
                    self.saver.save_keeping_lists(s.clone());
                    *last = s;
                }
                last.playlist = playlist;
                last.known_lengths = known;
                return;
            }
        }
        let s = self.snapshot(false);
        self.saved_lists_gen = self.lists_gen;
        self.write(s);
    }

    fn upload_cover(&mut self, ctx: &egui::Context) {
        if let Some((key, img)) = self.pending_cover.take() {
            self.cover = img.map(|img| {
                (
                    key,
                    ctx.load_texture("cover", img, egui::TextureOptions::LINEAR),
                )
            });
        }
    }

    /// The whole UI (also what the egui_kittest tests drive).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let cpu_started = crate::perf::clock::thread_cpu_ns();
        let playing_at_start = self.is_playing();
        let ctx = ui.ctx().clone();
        if self.debug_repaint {
            let focused = ctx.input(|i| i.viewport().focused);
            eprintln!("repaint: focused {focused:?} {:?}", ctx.repaint_causes());
        }
        let mut marks: [(&str, Instant); 10] = [("start", started); 10];
        let mut n = 1;
        let mut mark = |what: &'static str| {
            if n < marks.len() {
                marks[n] = (what, Instant::now());
                n += 1;
            }
        };
        self.handle_events();
        mark("events");
        self.reconnect_if_due();
        self.poll_input();
        self.reset_meters_per_track();
        self.end_loop_on_track_change();
        self.note_activity();
        self.upload_cover(&ctx);
        self.keyboard(&ctx);
        // Files dropped from the file manager.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.apply(super::command::AppCommand::AddFiles(dropped));
        }
        let (minimized, size) = ctx.input(|i| {
            (
                i.viewport().minimized.unwrap_or(false),
                i.viewport().inner_rect.map(|r| [r.width(), r.height()]),
            )
        });
        if size.is_some() {
            self.window_size = size;
        }
        self.set_spectrum_enabled((self.show_spectrum || self.show_spectrogram) && !minimized);

        self.perf.tick(&self.ui_frame, &self.engine);
        mark("before panels");
        egui::Panel::top("transport").show(ui, |ui| super::transport::show(self, ui));
        mark("transport");
        // Side panels start at a share of the window (a fixed 300 + 220 px left 280 px for the
        // analyzers at 800 px), stay resizable, and can be hidden from the view toolbar.
        let width = ctx.content_rect().width();
        if self.show_playlist {
            egui::Panel::left("playlist")
                .default_size((width * 0.26).clamp(170.0, 320.0))
                .min_size(150.0)
                .show(ui, |ui| {
                    super::now_playing::show(self, ui);
                    ui.separator();
                    super::playlist::show(self, ui);
                });
        }
        mark("playlist panel");
        if self.show_meters {
            egui::Panel::right("meters")
                .default_size((width * 0.2).clamp(170.0, 240.0))
                .min_size(160.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("meters_scroll")
                        .show(ui, |ui| super::meters_view::show(self, ui));
                });
        }
        mark("meters");
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.toggle_value(&mut self.show_playlist, "Playlist")
                    .on_hover_text("Show the playlist panel");
                ui.toggle_value(&mut self.show_meters, "Meters")
                    .on_hover_text("Show the meters panel");
                ui.separator();
                ui.checkbox(&mut self.show_spectrum, "Spectrum")
                    .on_hover_text("Show the spectrum analyzer");
                ui.checkbox(&mut self.show_spectrogram, "Spectrogram")
                    .on_hover_text("Show the scrolling spectrogram");
                ui.checkbox(&mut self.show_eq, "EQ editor")
                    .on_hover_text("Show the equalizer editor");
                ui.checkbox(&mut self.eq_overlay, "EQ curve on spectrum")
                    .on_hover_text("Draw the EQ response over the spectrum");
                ui.toggle_value(&mut self.show_perf, "Performance")
                    .on_hover_text(
                        "Audio callback timing, underruns, CPU, memory, UI frame time (F12)",
                    );
                ui.separator();
                self.analyze_picker(ui);
            });
            // The views share the height, each with a floor below which the middle scrolls
            // instead of cutting a view off (small windows, from 640×480 up).
            let h = ui.available_height();
            let views = [self.show_spectrum, self.show_spectrogram, self.show_eq];
            let n = views.iter().filter(|&&v| v).count().max(1) as f32;
            // The EQ editor needs its band list; the analyzers share the rest.
            let eq_h = if self.show_eq {
                (h * 0.5).max(h / n).max(MIN_EQ_H)
            } else {
                0.0
            };
            let analyzer_h =
                ((h - eq_h) / (n - f32::from(u8::from(self.show_eq))).max(1.0)).max(MIN_ANALYZER_H);
            egui::ScrollArea::vertical()
                .id_salt("views")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    if self.show_spectrum {
                        super::spectrum_view::show(self, ui, analyzer_h);
                    }
                    if self.show_spectrogram {
                        super::spectrogram_view::show(self, ui, analyzer_h);
                    }
                    if self.show_eq {
                        ui.allocate_ui(egui::vec2(ui.available_width(), eq_h), |ui| {
                            super::eq_view::show(self, ui);
                        });
                    }
                });
        });
        mark("views");
        if self.show_perf {
            super::perf_view::show(self, &ctx);
        }
        self.notices.show(&ctx);
        self.apply_queued();
        self.publish_desktop();
        self.handle_dialogs(&ctx);
        self.close_if_asked(&ctx);
        self.save_if_changed();
        self.schedule_frame(&ctx, minimized);
        mark("end");
        let took = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        let cpu = crate::perf::clock::thread_cpu_ns().saturating_sub(cpu_started);
        if self.frame_trace_ns.is_some_and(|t| took > t) {
            let parts: Vec<String> = marks[1..n]
                .iter()
                .zip(&marks[..n - 1])
                .map(|((what, t), (_, t0))| format!("{what} {:.2}", (*t - *t0).as_secs_f64() * 1e3))
                .collect();
            eprintln!(
                "frame {:.2} ms (CPU {:.2}): {}",
                took as f64 / 1e6,
                cpu as f64 / 1e6,
                parts.join(", ")
            );
        }
        self.ui_frame.record(took);
        if playing_at_start && self.is_playing() {
            self.ui_frame_playing.record(took);
            self.ui_frame_playing_cpu.record(cpu);
        }
    }
}

impl RustyApp {
    /// The "Analyze" picker: the player, or one of the inputs (listed when the picker opens).
    fn analyze_picker(&mut self, ui: &mut egui::Ui) {
        use analyze_source::AnalyzeSource;
        let mut chosen = None;
        let shown = egui::ComboBox::new("analyze_source", "Analyze")
            .selected_text(self.analyze_label())
            .width(220.0)
            .show_ui(ui, |ui| {
                let list = self.input_list.get_or_insert_with(Self::input_choices);
                if ui
                    .selectable_label(self.analyze == AnalyzeSource::Player, "Player")
                    .clicked()
                {
                    chosen = Some(AnalyzeSource::Player);
                }
                for d in list.iter() {
                    let choice = if d.plays {
                        crate::engine::input::InputChoice::Plays
                    } else {
                        crate::engine::input::InputChoice::Named(d.id.clone())
                    };
                    let on = self.analyze == AnalyzeSource::Input(choice.clone());
                    if ui.selectable_label(on, &d.name).clicked() {
                        chosen = Some(AnalyzeSource::Input(choice));
                    }
                }
            });
        shown.response.on_hover_text(
            "What the spectrum, spectrogram and meters show: the player, or a live input \
             (a microphone, a line-in, or what this computer plays)",
        );
        if shown.inner.is_none() {
            // Closed: listed afresh the next time it opens (devices come and go).
            self.input_list = None;
        }
        if let Some(source) = chosen {
            self.send(super::command::AppCommand::Analyze(source));
        }
    }

    /// A Quit (key, menu, MPRIS) closes the window; the settings are saved on the way out.
    fn close_if_asked(&mut self, ctx: &egui::Context) {
        if std::mem::take(&mut self.quit_requested) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

impl eframe::App for RustyApp {
    fn raw_input_hook(&mut self, ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.instant_wheel {
            let line = ctx.options(|o| o.input_options.line_scroll_speed);
            let page = raw_input.screen_rect.map_or(600.0, |r| r.height());
            wheel::instant_notches(&mut raw_input.events, line, page);
        }
    }

    /// The panels' colour: they are drawn without a fill (see `ui::paint_light`).
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        super::panel_colour(visuals.dark_mode).to_normalized_gamma_f32()
    }

    /// Runs every frame, also while the window is minimized or hidden (when eframe skips `ui`):
    /// media keys, `playerctl` and a second instance must work then too.
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.desktop_tick(ctx);
        self.schedule_hidden(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

impl Drop for RustyApp {
    fn drop(&mut self) {
        // Closing the window: remember where we were, on disk before we go.
        self.save_now();
        self.saver.finish();
        if self.print_stats_on_exit {
            println!("{}", self.stats_json());
        }
    }
}
