//! Real-time scheduling for whichever thread runs the render function (the ALSA host's stream
//! thread, the null output's thread), and what the world is told about it.
//!
//! Why here and not in cpal: cpal's `realtime` feature promotes the ALSA worker only for PCM types
//! it trusts, and the `default` device of a desktop (the PulseAudio or PipeWire ALSA plugin, an
//! I/O plugin) is not one of them, so it would never promote. We promote the thread ourselves on
//! its first callback: a few syscalls, once, no allocation. The result (thread id, policy,
//! priority, or why it was refused) goes into atomics that `play --json`, the performance panel
//! and the tests read; the tests check it independently in `/proc/PID/task/TID/stat`.

use std::sync::atomic::{
    AtomicI32, AtomicU32, AtomicU8,
    Ordering::{Acquire, Relaxed},
};

/// SCHED_FIFO priority asked for. PipeWire asks rtkit for 20 for its data threads, PulseAudio for
/// 5; the render callback is a client of either, so it asks for as much as PipeWire and no more
/// (rtkit's and most distributions' limits allow it). Clamped to RLIMIT_RTPRIO when not root.
pub const RT_PRIORITY: i32 = 20;

/// Scheduling policy of the audio thread, as `sched_getscheduler` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    /// No callback has run yet (or not Linux).
    Unknown = 0,
    Other = 1,
    Fifo = 2,
    RoundRobin = 3,
    Batch = 4,
    Idle = 5,
}

impl Policy {
    /// The name `chrt` and the Linux headers use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Other => "SCHED_OTHER",
            Self::Fifo => "SCHED_FIFO",
            Self::RoundRobin => "SCHED_RR",
            Self::Batch => "SCHED_BATCH",
            Self::Idle => "SCHED_IDLE",
        }
    }

    #[must_use]
    pub fn is_realtime(self) -> bool {
        matches!(self, Self::Fifo | Self::RoundRobin)
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Other,
            2 => Self::Fifo,
            3 => Self::RoundRobin,
            4 => Self::Batch,
            5 => Self::Idle,
            _ => Self::Unknown,
        }
    }
}

/// Written by the audio thread on its first callback (and when an error streak demotes it and the
/// next callback promotes it again), read by anyone.
///
/// Ordering: a writer stores every field, then bumps `generation` with Release; `get` loads
/// `generation` with Acquire first, so a reader that sees a generation sees at least that
/// generation's fields (a newer write may also show: the next `get` has its generation).
#[derive(Default)]
pub struct AudioThreadStatus {
    tid: AtomicU32,
    policy: AtomicU8,
    priority: AtomicU8,
    /// errno of the refused promotion (0: granted, or not ours to promote).
    refused: AtomicI32,
    /// Whether rtkit granted real-time scheduling after the thread's own request was refused.
    by_rtkit: std::sync::atomic::AtomicBool,
    /// How many times the fields were written by the audio thread (0: never).
    generation: AtomicU32,
}

/// A snapshot of `AudioThreadStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioThreadInfo {
    /// Kernel thread id (0 before the first callback).
    pub tid: u32,
    pub policy: Policy,
    pub priority: u8,
    /// Why real-time scheduling was refused (errno), if it was.
    pub refused_errno: Option<i32>,
    /// Granted by rtkit (`engine::rtkit`) after the thread's own request was refused.
    pub by_rtkit: bool,
    /// Which write this is (see `AudioThreadStatus`); the control side judges each once.
    pub generation: u32,
}

impl AudioThreadInfo {
    /// Who made the thread real-time, as `play --json` and `listen --json` say it: `rtkit`;
    /// `self` (its own request: root or RLIMIT_RTPRIO); `host` (a thread of `host`'s that is
    /// not ours to promote, PulseAudio's shared client thread, found real-time); None when it
    /// runs without real-time priority.
    #[must_use]
    pub fn granted_by(&self, host: &str) -> Option<&'static str> {
        if self.by_rtkit {
            Some("rtkit")
        } else if !self.policy.is_realtime() {
            None
        } else if host == "PulseAudio" {
            Some("host")
        } else {
            Some("self")
        }
    }

    /// One line for a notice, when the promotion was refused; `thread` names the thread ("the
    /// audio thread", "the input thread").
    #[must_use]
    pub fn refusal(&self, thread: &str) -> Option<String> {
        self.refused_errno.map(|e| {
            format!(
                "{thread} runs without real-time priority ({}: {}); run rtkit-daemon \
                 or allow SCHED_FIFO (RLIMIT_RTPRIO, e.g. membership of the `audio` or \
                 `pipewire` group) to keep other load from interrupting the audio",
                self.policy.name(),
                std::io::Error::from_raw_os_error(e)
            )
        })
    }
}

impl AudioThreadStatus {
    #[must_use]
    pub fn get(&self) -> AudioThreadInfo {
        let generation = self.generation.load(Acquire);
        let refused = self.refused.load(Relaxed);
        AudioThreadInfo {
            generation,
            tid: self.tid.load(Relaxed),
            policy: Policy::from_u8(self.policy.load(Relaxed)),
            priority: self.priority.load(Relaxed),
            refused_errno: (refused != 0).then_some(refused),
            by_rtkit: self.by_rtkit.load(Relaxed),
        }
    }

    /// rtkit answered that it made the thread of `info` real-time (called on the control side,
    /// see `engine::rtkit`): read its scheduling back from the kernel and, when it is real-time,
    /// record the grant. False when the thread is not real-time after all, or when the audio
    /// thread has written a newer generation since `info` (it judges itself again then).
    pub fn granted_by_rtkit(&self, info: &AudioThreadInfo) -> bool {
        if self.generation.load(Acquire) != info.generation {
            return false;
        }
        #[cfg(target_os = "linux")]
        if linux::record_thread(self, info.tid)
            && Policy::from_u8(self.policy.load(Relaxed)).is_realtime()
        {
            self.refused.store(0, Relaxed);
            self.by_rtkit.store(true, Relaxed);
            return true;
        }
        false
    }

    /// Put the calling thread back to SCHED_OTHER (its stream is failing; see
    /// `output::on_stream_error`) and record it. One syscall, no allocation.
    pub fn demote_current_thread(&self) {
        #[cfg(target_os = "linux")]
        linux::demote(self);
    }

    /// Record the calling thread's id and scheduling without changing it (hosts whose callback
    /// thread is not ours).
    pub fn record_current_thread(&self) {
        #[cfg(target_os = "linux")]
        linux::record(self);
    }

    /// Promote the calling thread to SCHED_FIFO and record the outcome. Called once, on the first
    /// callback of an output: a handful of syscalls (gettid, getrlimit, sched_setscheduler,
    /// sched_getscheduler, sched_getparam), no allocation, no lock, no I/O.
    pub fn promote_current_thread(&self) {
        #[cfg(target_os = "linux")]
        linux::promote(self);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{AudioThreadStatus, Policy, RT_PRIORITY};
    use std::sync::atomic::Ordering::Relaxed;

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn set_fifo(priority: i32) -> Result<(), i32> {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: pid 0 is the calling thread; `param` is a valid, initialised sched_param that
        // outlives the call. The call only changes this thread's scheduling.
        let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    pub(super) fn demote(status: &AudioThreadStatus) {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` is a valid, initialised sched_param that
        // outlives the call. Lowering one's own priority needs no privilege.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
        record(status);
    }

    pub(super) fn promote(status: &AudioThreadStatus) {
        let mut result = set_fifo(RT_PRIORITY);
        if result == Err(libc::EPERM) {
            // Not privileged: RLIMIT_RTPRIO may still allow a lower priority.
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid rlimit for the kernel to fill in.
            let ok = unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut lim) } == 0;
            if ok && lim.rlim_cur > 0 {
                result = set_fifo(lim.rlim_cur.min(RT_PRIORITY as libc::rlim_t) as i32);
            }
        }
        publish(status, result.err().unwrap_or(0));
    }

    /// Read back what the kernel says about the calling thread (not a refusal: nothing was
    /// asked).
    pub(super) fn record(status: &AudioThreadStatus) {
        publish(status, 0);
    }

    /// Write a new generation: the calling thread's id and scheduling, and `refused` (errno).
    pub(super) fn publish(status: &AudioThreadStatus, refused: i32) {
        // SAFETY: gettid has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        status.tid.store(tid as u32, Relaxed);
        status.refused.store(refused, Relaxed);
        status.by_rtkit.store(false, Relaxed);
        store(status, 0);
        status
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Read back what the kernel says about thread `tid` of this process (from another thread);
    /// false if the thread is gone.
    pub(super) fn record_thread(status: &AudioThreadStatus, tid: u32) -> bool {
        let Ok(tid) = libc::pid_t::try_from(tid) else {
            return false;
        };
        // SAFETY: no pointers are involved; an unknown tid fails with ESRCH.
        if unsafe { libc::sched_getscheduler(tid) } < 0 {
            return false;
        }
        store(status, tid);
        true
    }

    /// Store the policy and priority of `tid` (0: the calling thread).
    fn store(status: &AudioThreadStatus, tid: libc::pid_t) {
        // SAFETY: no pointers are involved; a failure returns -1 (recorded as Unknown). rtkit's
        // grant carries SCHED_RESET_ON_FORK, which the kernel reports in the same word.
        let policy = unsafe { libc::sched_getscheduler(tid) } & !libc::SCHED_RESET_ON_FORK;
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param for the kernel to fill in.
        let prio = if unsafe { libc::sched_getparam(tid, &mut param) } == 0 {
            param.sched_priority.clamp(0, 99) as u8
        } else {
            0
        };
        let policy = match policy {
            libc::SCHED_OTHER => Policy::Other,
            libc::SCHED_FIFO => Policy::Fifo,
            libc::SCHED_RR => Policy::RoundRobin,
            libc::SCHED_BATCH => Policy::Batch,
            libc::SCHED_IDLE => Policy::Idle,
            _ => Policy::Unknown,
        };
        status.priority.store(prio, Relaxed);
        status.policy.store(policy as u8, Relaxed);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The promotion reports what the kernel says about the thread (as root here it is granted;
    /// unprivileged it is refused with EPERM and the thread stays SCHED_OTHER). Either way the
    /// recorded policy must match /proc.
    #[test]
    fn promotion_is_recorded_as_the_kernel_sees_it() {
        let status = AudioThreadStatus::default();
        std::thread::spawn(move || {
            status.promote_current_thread();
            let info = status.get();
            let stat = std::fs::read_to_string(format!("/proc/self/task/{}/stat", info.tid))
                .expect("the thread's stat");
            let policy: u32 = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .nth(38)
                .unwrap()
                .parse()
                .unwrap();
            let expect = match info.policy {
                Policy::Other => 0,
                Policy::Fifo => 1,
                Policy::RoundRobin => 2,
                other => panic!("unexpected policy {other:?}"),
            };
            assert_eq!(policy, expect, "/proc policy vs recorded {info:?}");
            match info.refused_errno {
                None => {
                    assert_eq!(info.policy, Policy::Fifo);
                    assert!(info.priority > 0);
                }
                Some(e) => {
                    assert_eq!(e, libc::EPERM);
                    assert!(info
                        .refusal("the audio thread")
                        .unwrap()
                        .contains("real-time"));
                }
            }
        })
        .join()
        .unwrap();
    }

    /// rtkit's grant is read back from the kernel for the audio thread, from another thread:
    /// nothing is claimed while the thread is still SCHED_OTHER, nor for a generation the audio
    /// thread has replaced; once something has made it SCHED_RR with SCHED_RESET_ON_FORK (as
    /// rtkit does; here the test itself, as root) the status says so.
    #[test]
    fn a_grant_is_read_back_from_the_kernel() {
        let status = std::sync::Arc::new(AudioThreadStatus::default());
        let (tx, rx) = std::sync::mpsc::channel();
        // What the worker (the "audio thread") writes next: a refusal of its own request, a
        // plain record (as an error streak's demotion does), or nothing more.
        enum Write {
            Refusal,
            Record,
            Done,
        }
        let (go_tx, go_rx) = std::sync::mpsc::channel::<Write>();
        let s2 = status.clone();
        let worker = std::thread::spawn(move || loop {
            match go_rx.recv().unwrap() {
                Write::Refusal => linux::publish(&s2, libc::EPERM),
                Write::Record => s2.record_current_thread(),
                Write::Done => return,
            }
            tx.send(s2.get()).unwrap();
        });
        go_tx.send(Write::Refusal).unwrap();
        let first = rx.recv().unwrap();
        assert_eq!(first.refused_errno, Some(libc::EPERM));
        assert!(!status.granted_by_rtkit(&first), "still SCHED_OTHER");
        assert!(!status.get().by_rtkit);
        let param = libc::sched_param { sched_priority: 5 };
        // SAFETY: `first.tid` is a live thread of this process (it waits on `go_rx`); `param` is
        // a valid sched_param that outlives the call.
        let made = unsafe {
            libc::sched_setscheduler(
                first.tid as i32,
                libc::SCHED_RR | libc::SCHED_RESET_ON_FORK,
                &param,
            )
        } == 0;
        if made {
            go_tx.send(Write::Record).unwrap();
            let newer = rx.recv().unwrap();
            assert!(!status.granted_by_rtkit(&first), "a replaced generation");
            assert_eq!(newer.policy, Policy::RoundRobin, "{newer:?}");
            go_tx.send(Write::Refusal).unwrap();
            let info = rx.recv().unwrap();
            assert!(status.granted_by_rtkit(&info));
            let info = status.get();
            assert!(info.by_rtkit, "{info:?}");
            assert_eq!(info.policy, Policy::RoundRobin);
            assert_eq!(info.priority, 5);
            assert_eq!(info.refused_errno, None);
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root: SCHED_RR must be allowed"
            );
            eprintln!(
                "*** a_grant_is_read_back_from_the_kernel: not root, grant half untested ***"
            );
        }
        go_tx.send(Write::Done).unwrap();
        worker.join().unwrap();
    }
}
