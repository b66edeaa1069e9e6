//! Real-time scheduling through RealtimeKit (rtkit), for desktops where the audio thread may not
//! promote itself.
//!
//! Why: an ordinary desktop user has RLIMIT_RTPRIO 0 (membership of the `audio` or `pipewire`
//! group is rare), so the audio thread's own `sched_setscheduler` is refused. Desktops grant
//! real-time scheduling through rtkit instead, over the system bus: PipeWire and PulseAudio get
//! theirs that way. The request is a D-Bus call, so it never runs on the audio thread: the engine
//! makes it from a short-lived worker thread when the thread's own promotion was refused
//! (`Engine::poll`), and reads the outcome from the kernel afterwards.
//!
//! rtkit's rules: the process must have RLIMIT_RTTIME set no higher than `RTTimeUSecMax` (a
//! real-time thread that then spins that long without sleeping is signalled, rtkit's guard against
//! a runaway thread; the audio thread sleeps every callback), and the priority may not exceed
//! `MaxRealtimePriority`. rtkit grants SCHED_RR (with SCHED_RESET_ON_FORK), not SCHED_FIFO.

use std::sync::mpsc::{channel, Receiver};

use super::audio_thread::{AudioThreadStatus, RT_PRIORITY};

const SERVICE: &str = "org.freedesktop.RealtimeKit1";
const PATH: &str = "/org/freedesktop/RealtimeKit1";

/// A request under way on its worker thread; `outcome` answers once.
pub struct Request {
    pub tid: u32,
    outcome: Receiver<Result<i32, String>>,
    started: std::time::Instant,
}

/// How long a request may take in all (a connection and three calls, each bounded by `TIMEOUT`):
/// past it, `outcome` says rtkit did not answer (the worker has given up by then too, unless
/// the connection itself hangs; that thread then ends on its own).
pub const ANSWER_WITHIN: std::time::Duration = TIMEOUT.saturating_mul(4);

impl Request {
    /// Ask rtkit, on a worker thread, to make thread `tid` of this process SCHED_RR at up to
    /// `priority`. `address`: the system bus's, or another bus (tests); None: the system bus.
    #[must_use]
    pub fn start(tid: u32, priority: i32, address: Option<String>) -> Self {
        let (tx, outcome) = channel();
        let spawned = std::thread::Builder::new()
            .name("rtkit-request".into())
            .spawn(move || {
                let _ = tx.send(async_io::block_on(ask(tid, priority, address.as_deref())));
            });
        let outcome = match spawned {
            Ok(_) => outcome,
            Err(e) => {
                let (tx, rx) = channel();
                let _ = tx.send(Err(format!("no thread for the request: {e}")));
                rx
            }
        };
        Self {
            tid,
            outcome,
            started: std::time::Instant::now(),
        }
    }

    /// The priority granted, or why not; None while the request is still under way (at most
    /// `ANSWER_WITHIN`).
    pub fn outcome(&self) -> Option<Result<i32, String>> {
        match self.outcome.try_recv() {
            Ok(r) => Some(r),
            Err(std::sync::mpsc::TryRecvError::Empty) if self.started.elapsed() > ANSWER_WITHIN => {
                Some(Err(format!(
                    "no answer within {} s",
                    ANSWER_WITHIN.as_secs()
                )))
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Some(Err("the request's thread ended without an answer".into()))
            }
        }
    }
}

/// Where the judgement of one audio thread's scheduling stands (control side only): the output's
/// (`Engine::poll`) or an input's (`listen`'s loop, the app's `poll_input`). Both threads follow
/// the same rule, so both are watched by this one type. One watcher follows the streams that
/// replace each other (`follow_new_stream`), so a refusal is said once and rtkit, once it
/// refused, is not asked again for each input the user picks.
#[derive(Default)]
pub struct RtWatch {
    /// The `AudioThreadInfo::generation` last judged (0: none yet).
    settled: u32,
    /// rtkit is being asked for this generation.
    request: Option<(u32, Request)>,
    /// rtkit refused (or is absent): not asked again by this watcher.
    rtkit_failed: bool,
    /// The refusal has been said (once per watcher, not per stream it follows).
    said: bool,
}

impl RtWatch {
    /// Judge each new write of `status` once (its generation): when the thread's own promotion
    /// was refused, ask rtkit (on a worker thread) and return, once per watcher, the notice to
    /// say when that failed too. `thread` names the thread in that notice ("the audio thread",
    /// "the input thread"). A re-promotion after an error streak is a new generation, so a
    /// thread rtkit made real-time before is asked for again. Call it regularly (a UI frame, a
    /// CLI loop): it never waits for rtkit.
    pub fn watch(&mut self, status: &AudioThreadStatus, thread_name: &str) -> Option<String> {
        let thread = status.get();
        if thread.generation == self.settled {
            return None;
        }
        if thread.refused_errno.is_none() {
            self.settled = thread.generation;
            self.request = None;
            return None;
        }
        if self.rtkit_failed {
            self.settled = thread.generation;
            return None;
        }
        let request = match self.request.take() {
            Some((generation, r)) if generation == thread.generation => r,
            _ => Request::start(
                thread.tid,
                RT_PRIORITY,
                std::env::var("RUSTY_AUDIO_RTKIT_BUS").ok(),
            ),
        };
        let why = match request.outcome() {
            None => {
                self.request = Some((thread.generation, request));
                return None;
            }
            Some(Ok(_)) if status.granted_by_rtkit(&thread) => None,
            // A newer generation replaced this one while rtkit answered: judge that one.
            Some(Ok(_)) if status.get().generation != thread.generation => return None,
            Some(Ok(_)) => Some("it answered, yet the thread is not real-time".to_string()),
            Some(Err(why)) => Some(why),
        };
        self.settled = thread.generation;
        let why = why?;
        self.rtkit_failed = true;
        if self.said {
            return None;
        }
        self.said = true;
        thread
            .refusal(thread_name)
            .map(|refusal| format!("{refusal} (rtkit: {why})"))
    }

    /// The status watched from now on belongs to a new stream (its generations count from 0
    /// again): forget what was judged of the old one, keep whether rtkit refused and whether
    /// that was said.
    pub fn follow_new_stream(&mut self) {
        self.settled = 0;
        self.request = None;
    }

    /// Every write of `status` so far has been judged (no rtkit request under way for it).
    #[must_use]
    pub fn settled(&self, status: &AudioThreadStatus) -> bool {
        status.get().generation == self.settled
    }
}

/// How long rtkit may take to answer (it answers in milliseconds; a hung bus must not leave the
/// request's thread waiting for D-Bus's default 25 s).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn ask(tid: u32, priority: i32, address: Option<&str>) -> Result<i32, String> {
    let builder = match address {
        None => zbus::connection::Builder::system(),
        Some(a) => zbus::connection::Builder::address(a),
    }
    .map_err(|e| format!("no system bus ({e})"))?;
    let conn = builder
        .method_timeout(TIMEOUT)
        .build()
        .await
        .map_err(|e| format!("no system bus ({e})"))?;
    // No property cache: it would fetch them with GetAll, which rtkit 0.13 (what distributions
    // ship) does not implement; each property is read with Get.
    let proxy = zbus::proxy::Builder::<zbus::Proxy<'_>>::new(&conn)
        .destination(SERVICE)
        .and_then(|b| b.path(PATH))
        .and_then(|b| b.interface(SERVICE))
        .map_err(|e| format!("rtkit: {e}"))?
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .map_err(|e| format!("rtkit: {e}"))?;
    let max_priority: i32 = proxy
        .get_property("MaxRealtimePriority")
        .await
        .map_err(|e| format!("rtkit is not available ({e})"))?;
    let rttime_max: i64 = proxy
        .get_property("RTTimeUSecMax")
        .await
        .map_err(|e| format!("rtkit: {e}"))?;
    limit_rttime(rttime_max)?;
    let granted = priority.min(max_priority).max(1);
    proxy
        .call::<_, _, ()>(
            "MakeThreadRealtimeWithPID",
            &(
                u64::from(std::process::id()),
                u64::from(tid),
                granted as u32,
            ),
        )
        .await
        .map_err(|e| format!("rtkit refused ({e})"))?;
    Ok(granted)
}

/// Set RLIMIT_RTTIME's hard limit to at most `max_us` (rtkit's condition), and the soft limit a
/// tenth below it, keeping lower limits if set already: a real-time thread that spins past the
/// soft limit gets SIGXCPU (and is killed only at the hard one).
fn limit_rttime(max_us: i64) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid rlimit for the kernel to fill in.
        if unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut lim) } != 0 {
            return Err(format!(
                "RLIMIT_RTTIME: {}",
                std::io::Error::last_os_error()
            ));
        }
        let want = libc::rlim_t::try_from(max_us.max(10)).unwrap_or(libc::RLIM_INFINITY);
        let hard = lim.rlim_max.min(want);
        let new = libc::rlimit {
            rlim_cur: lim.rlim_cur.min(hard - hard / 10),
            rlim_max: hard,
        };
        // SAFETY: `new` is a valid, initialised rlimit that outlives the call; lowering a limit
        // of our own process needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &new) } != 0 {
            return Err(format!(
                "RLIMIT_RTTIME: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = max_us;
        Err("rtkit is Linux only".into())
    }
}
