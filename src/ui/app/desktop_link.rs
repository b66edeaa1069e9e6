//! The app's end of `crate::desktop`: requests from media keys, sound menus, `playerctl` and a
//! second instance become `AppCommand`s, applied in order with the app's own (one command path);
//! the state the desktop shows (MPRIS properties) is published after each frame.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::desktop::{self, instance, mpris, Inbox, Outbox, Request};
use crate::ui::command::AppCommand;
use crate::ui::settings::{MAX_VOLUME_DB, MIN_VOLUME_DB};

use super::RustyApp;

/// What the app holds of the desktop side.
pub struct DesktopLink {
    inbox: Inbox,
    mpris: Option<mpris::Mpris>,
    /// Kept for its life: dropping it stops listening and removes the socket.
    _instance: Option<instance::Listener>,
}

/// The desktop side of one app, made before the window (so a second instance started right after
/// the first already finds it): the outbox/inbox pair, woken through `ctx` once the window has
/// one.
pub struct Desktop {
    pub outbox: Outbox,
    inbox: Inbox,
    ctx: Arc<OnceLock<egui::Context>>,
    instance: Option<instance::Listener>,
}

impl Desktop {
    #[must_use]
    pub fn new() -> Self {
        let ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let waker = ctx.clone();
        let (outbox, inbox) = desktop::channel(Arc::new(move || {
            if let Some(c) = waker.get() {
                c.request_repaint();
            }
        }));
        Self {
            outbox,
            inbox,
            ctx,
            instance: None,
        }
    }

    /// Be this user's instance: listen at `socket` for hand-overs. Errors say why not (another
    /// instance is live there, or the directory cannot be made).
    pub fn listen(&mut self, socket: &std::path::Path) -> Result<(), String> {
        self.instance = Some(instance::Listener::start(socket, self.outbox.clone())?);
        Ok(())
    }

    /// Connect to the app once its window exists: wake-ups go to `ctx`; with `mpris`, serve
    /// MPRIS on the session bus.
    pub fn attach(self, app: &mut RustyApp, ctx: &egui::Context, mpris: bool) {
        let _ = self.ctx.set(ctx.clone());
        app.desktop = Some(DesktopLink {
            inbox: self.inbox,
            mpris: mpris.then(|| mpris::Mpris::start(self.outbox.clone(), self.instance.is_some())),
            _instance: self.instance,
        });
        ctx.request_repaint();
    }
}

impl Default for Desktop {
    fn default() -> Self {
        Self::new()
    }
}

impl RustyApp {
    /// The desktop's part of a frame (from `eframe::App::logic`, which runs also while the window
    /// is hidden): carry out its requests, publish the state they left, close when asked.
    pub(super) fn desktop_tick(&mut self, ctx: &egui::Context) {
        if self.desktop.is_none() {
            return;
        }
        self.handle_events();
        self.desktop_requests(ctx);
        self.publish_desktop();
        self.close_if_asked(ctx);
    }

    /// Carry out what the desktop asked since the last frame, in order.
    fn desktop_requests(&mut self, ctx: &egui::Context) {
        let Some(link) = &self.desktop else {
            return;
        };
        let requests = link.inbox.drain();
        if let Some(m) = &link.mpris {
            match m.status() {
                Some(Err(why)) => {
                    eprintln!("rusty-audio: media keys and sound menus are off (MPRIS: {why})")
                }
                Some(Ok(name)) => {
                    if std::env::var_os("RUSTY_AUDIO_DEBUG").is_some() {
                        eprintln!("rusty-audio: MPRIS as {name}");
                    }
                }
                None => {}
            }
        }
        for r in requests {
            match r {
                Request::Raise => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                }
                other => {
                    if let Some(cmd) = self.command_for(other) {
                        self.apply(cmd);
                    }
                }
            }
        }
    }

    /// The app command a desktop request means (None: nothing to do, e.g. a `SetPosition` for a
    /// track that is no longer the current one).
    fn command_for(&self, r: Request) -> Option<AppCommand> {
        Some(match r {
            Request::Play => AppCommand::Resume,
            Request::Pause => AppCommand::Pause,
            Request::PlayPause => AppCommand::TogglePause,
            Request::Stop => AppCommand::Stop,
            Request::Next => AppCommand::Next,
            Request::Previous => AppCommand::Previous,
            Request::SeekBy(s) => AppCommand::SeekBy(s),
            Request::SetPosition { track_id, seconds } => {
                let (i, _) = self.engine.target_position()?;
                let key = self.playlist.get(i)?.key;
                if mpris::track_id_of(key) != track_id || seconds < 0.0 {
                    return None;
                }
                AppCommand::SeekTo(seconds)
            }
            Request::SetVolume(v) => {
                AppCommand::SetVolume(desktop::volume_from_linear(v, MIN_VOLUME_DB, MAX_VOLUME_DB))
            }
            Request::Open { files, play } => AppCommand::Open { files, play },
            Request::Quit => AppCommand::Quit,
            Request::SetRepeat(r) => AppCommand::SetRepeat(r),
            // MPRIS has shuffle on or off: on keeps an album shuffle, else shuffles tracks.
            Request::SetShuffle(on) => {
                use crate::engine::order::Shuffle;
                AppCommand::SetShuffle(match (on, self.shuffle) {
                    (false, _) => Shuffle::Off,
                    (true, Shuffle::Off) => Shuffle::Tracks,
                    (true, kept) => kept,
                })
            }
            Request::Raise => return None,
        })
    }

    /// Publish the state the desktop shows (after the frame's commands were applied).
    pub(super) fn publish_desktop(&mut self) {
        let seeked = self.seeked_to.take();
        let snap = self.desktop_snapshot();
        let Some(m) = self.desktop.as_mut().and_then(|d| d.mpris.as_mut()) else {
            return;
        };
        m.publish(snap);
        if let Some(t) = seeked {
            m.seeked(t);
        }
    }

    fn desktop_snapshot(&self) -> mpris::Snapshot {
        use mpris::Status;
        let target = self.engine.target_position();
        let status = match target {
            None => Status::Stopped,
            Some(_) if self.engine.is_paused() => Status::Paused,
            Some(_) => Status::Playing,
        };
        let index = target.map(|t| t.0);
        let entry = index.and_then(|i| self.playlist.get(i));
        let track = entry.map(|e| mpris::Track {
            key: e.key,
            path: absolute(&e.path),
            title: e.title(),
            artists: e.artist().into_iter().cloned().collect(),
            album: e.album().cloned(),
            length_s: e.duration_s,
            art: self
                .cover_file
                .as_ref()
                .filter(|(k, _)| *k == e.key)
                .map(|(_, f)| f.clone()),
        });
        // Where playback is going (a seek's target until it is heard; the audible position
        // otherwise), so `Position` after `Seeked` reads the new place at once.
        let position_s = target.map_or(0.0, |t| t.1);
        mpris::Snapshot {
            status,
            position_s,
            volume: desktop::volume_to_linear(self.volume_db, MIN_VOLUME_DB),
            can_go_next: index
                .and_then(|i| self.engine.play_order().skip_next(i, self.engine.keys()))
                .is_some(),
            can_go_previous: index.is_some(),
            can_play: !self.playlist.is_empty(),
            can_pause: status != Status::Stopped,
            can_seek: track.as_ref().is_some_and(|t| t.length_s.is_some()),
            track,
            repeat: self.repeat,
            shuffle: self.shuffle != crate::engine::order::Shuffle::Off,
        }
    }

    /// A seek was commanded (any source): the desktop is told `Seeked` after the frame.
    pub(super) fn note_seek(&mut self, seconds: f64) {
        self.seeked_to = Some(seconds);
    }
}

fn absolute(p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    }
}
