//! MPRIS 2 (`org.mpris.MediaPlayer2` and `.Player`) on the session bus, as
//! `org.mpris.MediaPlayer2.rusty_audio`: the keyboard's media keys, the desktop's sound menu and
//! `playerctl` control the app through it.
//!
//! Threads: the D-Bus side runs on a thread of its own (`rusty-audio-mpris`, an async-io executor,
//! plus zbus's own connection thread); method calls become `Request`s in the UI's inbox, property
//! reads answer from a snapshot the UI publishes (`Mpris::publish`, a short lock between those two
//! threads only), and changes are signalled from that thread. Neither the UI nor the audio thread
//! ever waits for D-Bus. Without a session bus `Mpris::start` still returns; `status` then says
//! why it is off, once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mpris_server::zbus::{self, fdo};
use mpris_server::{
    LoopStatus, Metadata, PlaybackRate, PlaybackStatus, PlayerInterface, Property, RootInterface,
    Server, Signal, Time, TrackId, Volume,
};

use super::{Outbox, Request};

/// The bus name suffix: `org.mpris.MediaPlayer2.rusty_audio` (a second instance started with
/// `--new-window` takes `rusty_audio.instance<pid>`, as the spec suggests).
pub const NAME: &str = "rusty_audio";
/// The app's volume range in dB (`ui::settings::MIN_VOLUME_DB`/`MAX_VOLUME_DB`; desktop/ does
/// not import ui/).
pub const MIN_DB: f32 = -60.0;
pub const MAX_DB: f32 = 0.0;
/// Object path prefix of track ids (`/org/rusty_audio/track/<playlist key>`).
const TRACK_PATH: &str = "/org/rusty_audio/track/";
/// File types the app plays (`SupportedMimeTypes`; the desktop file lists the same).
pub const MIME_TYPES: [&str; 16] = [
    "audio/flac",
    "audio/x-flac",
    "audio/mpeg",
    "audio/mp3",
    "audio/ogg",
    "audio/x-vorbis+ogg",
    "audio/x-opus+ogg",
    "audio/opus",
    "audio/wav",
    "audio/x-wav",
    "audio/vnd.wave",
    "audio/mp4",
    "audio/x-m4a",
    "audio/aac",
    "audio/x-aiff",
    "audio/basic",
];

/// Playing, paused or stopped, as the UI sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    Playing,
    Paused,
    #[default]
    Stopped,
}

/// The track now playing (or paused), for `Metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Track {
    /// Stable playlist key (the track id's last element).
    pub key: u32,
    pub path: PathBuf,
    pub title: String,
    pub artists: Vec<String>,
    pub album: Option<String>,
    pub length_s: Option<f64>,
    /// The cover, written to the cache (see `ui::scanner`).
    pub art: Option<PathBuf>,
}

/// What the UI publishes every frame; only changes are signalled.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    pub status: Status,
    pub track: Option<Track>,
    /// Position in the track, seconds, as of the moment `publish` was called.
    pub position_s: f64,
    /// Linear, 0.0–1.0 (see `super::volume_to_linear`).
    pub volume: f64,
    pub can_go_next: bool,
    pub can_go_previous: bool,
    pub can_play: bool,
    pub can_pause: bool,
    pub can_seek: bool,
    pub repeat: crate::engine::order::Repeat,
    pub shuffle: bool,
}

fn loop_status(r: crate::engine::order::Repeat) -> LoopStatus {
    use crate::engine::order::Repeat;
    match r {
        Repeat::Off => LoopStatus::None,
        Repeat::One => LoopStatus::Track,
        Repeat::All => LoopStatus::Playlist,
    }
}

struct Shared {
    snap: Snapshot,
    /// When `snap.position_s` was true (while playing, the position reads on from there).
    at: Instant,
}

enum Event {
    Changed(Vec<Property>),
    Seeked(Time),
}

/// The UI's handle. Dropping it ends the D-Bus thread and releases the name.
pub struct Mpris {
    shared: Arc<Mutex<Shared>>,
    events: async_channel::Sender<Event>,
    status: std::sync::mpsc::Receiver<Result<String, String>>,
    last: Snapshot,
}

impl Mpris {
    /// Start serving on the session bus. Returns at once; the outcome arrives through `status`.
    /// `primary`: this is the user's instance (it owns the single-instance socket) and takes
    /// `org.mpris.MediaPlayer2.rusty_audio`; any other (`--new-window`) takes
    /// `rusty_audio.instance<pid>`. Decided by role, not by trying: zbus requests names with
    /// ReplaceExisting, so a second window would otherwise take the name from the first.
    #[must_use]
    pub fn start(outbox: Outbox, primary: bool) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            snap: Snapshot::default(),
            at: Instant::now(),
        }));
        let (events, rx) = async_channel::unbounded();
        let (status_tx, status) = std::sync::mpsc::channel();
        let imp = Adapter {
            shared: shared.clone(),
            outbox,
        };
        let spawned = std::thread::Builder::new()
            .name("rusty-audio-mpris".into())
            .spawn(move || {
                async_io::block_on(serve(imp, rx, status_tx, primary));
            });
        if let Err(e) = spawned {
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = tx.send(Err(format!("no thread for it: {e}")));
            return Self {
                shared,
                events,
                status: rx,
                last: Snapshot::default(),
            };
        }
        Self {
            shared,
            events,
            status,
            last: Snapshot::default(),
        }
    }

    /// The bus name it serves under, or why it is off; None while starting and after the first
    /// answer (it is given once).
    pub fn status(&self) -> Option<Result<String, String>> {
        self.status.try_recv().ok()
    }

    /// Publish the app's state: stored for property reads, and what changed is signalled
    /// (`PropertiesChanged`). Cheap when nothing changed (a comparison).
    pub fn publish(&mut self, snap: Snapshot) {
        let now = Instant::now();
        {
            let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            s.snap = snap.clone();
            s.at = now;
        }
        let old = &self.last;
        let mut changed = Vec::new();
        if old.status != snap.status {
            changed.push(Property::PlaybackStatus(playback_status(snap.status)));
        }
        if old.track != snap.track {
            changed.push(Property::Metadata(metadata(snap.track.as_ref())));
        }
        if old.volume != snap.volume {
            changed.push(Property::Volume(snap.volume));
        }
        if old.can_go_next != snap.can_go_next {
            changed.push(Property::CanGoNext(snap.can_go_next));
        }
        if old.can_go_previous != snap.can_go_previous {
            changed.push(Property::CanGoPrevious(snap.can_go_previous));
        }
        if old.can_play != snap.can_play {
            changed.push(Property::CanPlay(snap.can_play));
        }
        if old.can_pause != snap.can_pause {
            changed.push(Property::CanPause(snap.can_pause));
        }
        if old.repeat != snap.repeat {
            changed.push(Property::LoopStatus(loop_status(snap.repeat)));
        }
        if old.shuffle != snap.shuffle {
            changed.push(Property::Shuffle(snap.shuffle));
        }
        if old.can_seek != snap.can_seek {
            changed.push(Property::CanSeek(snap.can_seek));
        }
        if !changed.is_empty() {
            let _ = self.events.try_send(Event::Changed(changed));
        }
        self.last = snap;
    }

    /// The position jumped (a seek landed): `Seeked`, so clients stop extrapolating.
    pub fn seeked(&self, seconds: f64) {
        let _ = self.events.try_send(Event::Seeked(time(seconds)));
    }
}

impl Drop for Mpris {
    fn drop(&mut self) {
        // The serving loop ends when the channel closes; the server (and the name) go with it.
        self.events.close();
    }
}

async fn serve(
    imp: Adapter,
    events: async_channel::Receiver<Event>,
    status: std::sync::mpsc::Sender<Result<String, String>>,
    primary: bool,
) {
    let server = match start_server(imp, primary).await {
        Ok(s) => s,
        Err(why) => {
            let _ = status.send(Err(why));
            return;
        }
    };
    let _ = status.send(Ok(server.bus_name().to_string()));
    while let Ok(event) = events.recv().await {
        // A failed signal (a bus gone away) is not worth more than skipping it.
        let _ = match event {
            Event::Changed(props) => server.properties_changed(props).await,
            Event::Seeked(position) => server.emit(Signal::Seeked { position }).await,
        };
    }
}

async fn start_server(imp: Adapter, primary: bool) -> Result<Server<Adapter>, String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && std::env::var_os("XDG_RUNTIME_DIR").is_none_or(|d| !Path::new(&d).join("bus").exists())
    {
        return Err("no session bus".into());
    }
    let name = if primary {
        NAME.to_string()
    } else {
        format!("{NAME}.instance{}", std::process::id())
    };
    Server::new(&name, imp).await.map_err(|e| e.to_string())
}

fn time(seconds: f64) -> Time {
    Time::from_micros((seconds.max(0.0) * 1e6).round() as i64)
}

fn playback_status(s: Status) -> PlaybackStatus {
    match s {
        Status::Playing => PlaybackStatus::Playing,
        Status::Paused => PlaybackStatus::Paused,
        Status::Stopped => PlaybackStatus::Stopped,
    }
}

fn track_id(key: u32) -> TrackId {
    TrackId::try_from(format!("{TRACK_PATH}{key}")).unwrap_or(TrackId::NO_TRACK)
}

/// `file://` URI of an absolute path, percent-encoding everything but unreserved characters and
/// `/` (a title with spaces or `#` must stay one valid URI).
#[must_use]
pub fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// The path of a `file://` URI (`OpenUri`), decoding percent escapes; None for other schemes.
#[must_use]
pub fn uri_path(uri: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path`: only the local host.
    let rest = if rest.starts_with('/') {
        rest
    } else {
        let (host, path) = rest.split_at(rest.find('/')?);
        if host != "localhost" {
            return None;
        }
        path
    };
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

fn metadata(track: Option<&Track>) -> Metadata {
    let Some(t) = track else {
        let mut m = Metadata::new();
        m.set_trackid(Some(TrackId::NO_TRACK));
        return m;
    };
    let mut b = Metadata::builder()
        .trackid(track_id(t.key))
        .title(t.title.clone())
        .url(file_uri(&t.path));
    if !t.artists.is_empty() {
        b = b.artist(t.artists.clone());
    }
    if let Some(album) = &t.album {
        b = b.album(album.clone());
    }
    if let Some(len) = t.length_s {
        b = b.length(time(len));
    }
    if let Some(art) = &t.art {
        b = b.art_url(file_uri(art));
    }
    b.build()
}

/// The D-Bus object: reads answer from the shared snapshot, calls become requests.
struct Adapter {
    shared: Arc<Mutex<Shared>>,
    outbox: Outbox,
}

impl Adapter {
    fn snap(&self) -> Snapshot {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snap
            .clone()
    }
}

impl RootInterface for Adapter {
    async fn raise(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Raise);
        Ok(())
    }
    async fn quit(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Quit);
        Ok(())
    }
    async fn can_quit(&self) -> fdo::Result<bool> {
        Ok(true)
    }
    async fn fullscreen(&self) -> fdo::Result<bool> {
        Ok(false)
    }
    async fn set_fullscreen(&self, _fullscreen: bool) -> zbus::Result<()> {
        Err(zbus::Error::Unsupported)
    }
    async fn can_set_fullscreen(&self) -> fdo::Result<bool> {
        Ok(false)
    }
    async fn can_raise(&self) -> fdo::Result<bool> {
        Ok(true)
    }
    async fn has_track_list(&self) -> fdo::Result<bool> {
        Ok(false)
    }
    async fn identity(&self) -> fdo::Result<String> {
        Ok("Rusty Audio".into())
    }
    async fn desktop_entry(&self) -> fdo::Result<String> {
        Ok(super::APP_ID.into())
    }
    async fn supported_uri_schemes(&self) -> fdo::Result<Vec<String>> {
        Ok(vec!["file".into()])
    }
    async fn supported_mime_types(&self) -> fdo::Result<Vec<String>> {
        Ok(MIME_TYPES.iter().map(|s| (*s).to_string()).collect())
    }
}

impl PlayerInterface for Adapter {
    async fn next(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Next);
        Ok(())
    }
    async fn previous(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Previous);
        Ok(())
    }
    async fn pause(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Pause);
        Ok(())
    }
    async fn play_pause(&self) -> fdo::Result<()> {
        self.outbox.post(Request::PlayPause);
        Ok(())
    }
    async fn stop(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Stop);
        Ok(())
    }
    async fn play(&self) -> fdo::Result<()> {
        self.outbox.post(Request::Play);
        Ok(())
    }
    async fn seek(&self, offset: Time) -> fdo::Result<()> {
        self.outbox
            .post(Request::SeekBy(offset.as_micros() as f64 / 1e6));
        Ok(())
    }
    async fn set_position(&self, track_id: TrackId, position: Time) -> fdo::Result<()> {
        self.outbox.post(Request::SetPosition {
            track_id: track_id.as_str().to_string(),
            seconds: position.as_micros() as f64 / 1e6,
        });
        Ok(())
    }
    async fn open_uri(&self, uri: String) -> fdo::Result<()> {
        let path = uri_path(&uri)
            .ok_or_else(|| fdo::Error::InvalidArgs(format!("not a local file URI: {uri}")))?;
        self.outbox.post(Request::Open {
            files: vec![path],
            play: true,
        });
        Ok(())
    }
    async fn playback_status(&self) -> fdo::Result<PlaybackStatus> {
        Ok(playback_status(self.snap().status))
    }
    async fn loop_status(&self) -> fdo::Result<LoopStatus> {
        Ok(loop_status(self.snap().repeat))
    }
    async fn set_loop_status(&self, loop_status: LoopStatus) -> zbus::Result<()> {
        use crate::engine::order::Repeat;
        let r = match loop_status {
            LoopStatus::None => Repeat::Off,
            LoopStatus::Track => Repeat::One,
            LoopStatus::Playlist => Repeat::All,
        };
        // Stored now, as for the volume: the property is signalled as soon as this returns.
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snap
            .repeat = r;
        self.outbox.post(Request::SetRepeat(r));
        Ok(())
    }
    async fn rate(&self) -> fdo::Result<PlaybackRate> {
        Ok(1.0)
    }
    async fn set_rate(&self, _rate: PlaybackRate) -> zbus::Result<()> {
        Ok(())
    }
    async fn shuffle(&self) -> fdo::Result<bool> {
        Ok(self.snap().shuffle)
    }
    async fn set_shuffle(&self, shuffle: bool) -> zbus::Result<()> {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snap
            .shuffle = shuffle;
        self.outbox.post(Request::SetShuffle(shuffle));
        Ok(())
    }
    async fn metadata(&self) -> fdo::Result<Metadata> {
        Ok(metadata(self.snap().track.as_ref()))
    }
    async fn volume(&self) -> fdo::Result<Volume> {
        Ok(self.snap().volume)
    }
    async fn set_volume(&self, volume: Volume) -> zbus::Result<()> {
        // zbus signals the property from the getter as soon as this returns: store the value the
        // app will take (its volume law: floor, ceiling) so that signal is already the new one.
        let db = super::volume_from_linear(volume, MIN_DB, MAX_DB);
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .snap
            .volume = super::volume_to_linear(db, MIN_DB);
        self.outbox.post(Request::SetVolume(volume));
        Ok(())
    }
    async fn position(&self) -> fdo::Result<Time> {
        let s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let mut at = s.snap.position_s;
        if s.snap.status == Status::Playing {
            at += s.at.elapsed().as_secs_f64();
            if let Some(len) = s.snap.track.as_ref().and_then(|t| t.length_s) {
                at = at.min(len);
            }
        }
        Ok(time(at))
    }
    async fn minimum_rate(&self) -> fdo::Result<PlaybackRate> {
        Ok(1.0)
    }
    async fn maximum_rate(&self) -> fdo::Result<PlaybackRate> {
        Ok(1.0)
    }
    async fn can_go_next(&self) -> fdo::Result<bool> {
        Ok(self.snap().can_go_next)
    }
    async fn can_go_previous(&self) -> fdo::Result<bool> {
        Ok(self.snap().can_go_previous)
    }
    async fn can_play(&self) -> fdo::Result<bool> {
        Ok(self.snap().can_play)
    }
    async fn can_pause(&self) -> fdo::Result<bool> {
        Ok(self.snap().can_pause)
    }
    async fn can_seek(&self) -> fdo::Result<bool> {
        Ok(self.snap().can_seek)
    }
    async fn can_control(&self) -> fdo::Result<bool> {
        Ok(true)
    }
}

/// The id the UI compares a `SetPosition` against.
#[must_use]
pub fn track_id_of(key: u32) -> String {
    format!("{TRACK_PATH}{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip_and_other_schemes_are_refused() {
        for p in ["/music/a b#1.flac", "/m/Ünïcode ♪.ogg", "/x/%41.wav"] {
            let uri = file_uri(Path::new(p));
            assert!(!uri.contains(' ') && !uri.contains('#'), "{uri}");
            assert_eq!(uri_path(&uri).as_deref(), Some(Path::new(p)));
        }
        assert_eq!(
            uri_path("file://localhost/a.flac").as_deref(),
            Some(Path::new("/a.flac"))
        );
        assert_eq!(uri_path("file://otherhost/a.flac"), None);
        assert_eq!(uri_path("https://example.com/a.flac"), None);
        assert_eq!(uri_path("file:///bad%2"), None);
    }
}
