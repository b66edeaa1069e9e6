//! Capture devices (issue 16: the analyzers on a live input). This part lists them as a user
//! picks among them: each host's inputs, which one is the default, and which one is "what this
//! computer plays" — the monitor of the default output, the source people want when they watch
//! what a browser or another player sends to the speakers.
//!
//! How the hosts show a monitor (cpal 0.18):
//! - **PulseAudio**: every sink has a source named `<sink>.monitor` ("Monitor of …"); the one of
//!   the default sink is what this computer plays.
//! - **PipeWire**: a sink is a duplex device, and an input stream on it records its monitor; the
//!   synthetic `sink_default` device follows the default sink, so it is what this computer plays.
//! - **ALSA**: no monitors (a loopback card is an ordinary input).

use cpal::traits::{DeviceTrait, HostTrait};

/// Which input to open: the host's default, what this computer plays (the default output's
/// monitor), or a device by the name or id `devices` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputChoice {
    Default,
    Plays,
    Named(String),
}

impl std::str::FromStr for InputChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "" | "default" => Self::Default,
            "monitor" | "plays" => Self::Plays,
            other => Self::Named(other.to_string()),
        })
    }
}

impl std::fmt::Display for InputChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Plays => f.write_str("monitor"),
            Self::Named(n) => f.write_str(n),
        }
    }
}

/// One capture device as the picker and `devices` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDevice {
    /// What the user reads: the host's description, or for a PipeWire sink "Monitor of …".
    pub name: String,
    /// The host's id for it (a PulseAudio source name, a PipeWire node name, an ALSA PCM).
    pub id: String,
    /// The host's default input.
    pub is_default: bool,
    /// The monitor of the default output: "what this computer plays".
    pub plays: bool,
    /// The monitor of some output (not a microphone or line-in).
    pub monitor: bool,
}

/// How the monitor of the default output is called wherever it is offered.
pub const PLAYS: &str = "What this computer plays";

/// The PipeWire host's synthetic device that follows the default sink (cpal's node name).
const PIPEWIRE_DEFAULT_SINK: &str = "sink_default";
/// The PipeWire host's synthetic device that follows the default source.
const PIPEWIRE_DEFAULT_SOURCE: &str = "input_default";

/// `host`'s capture devices, the default first, then in the host's order. Errors say why the
/// host could not list them.
pub fn input_devices(host: &cpal::Host) -> Result<Vec<InputDevice>, String> {
    Ok(listed(host)?.into_iter().map(|(d, _)| d).collect())
}

/// `input_devices` with each entry's `cpal::Device`, so opening one lists the host once.
pub(super) fn listed(host: &cpal::Host) -> Result<Vec<(InputDevice, cpal::Device)>, String> {
    let kind = host.id().name();
    let id_of = |d: &cpal::Device| d.id().map(|i| i.id().to_string()).ok();
    let default_id = host.default_input_device().as_ref().and_then(id_of);
    let default_sink = host.default_output_device().as_ref().and_then(id_of);
    let devices = host.input_devices().map_err(|e| e.to_string())?;
    let mut out: Vec<(InputDevice, cpal::Device)> = Vec::new();
    for d in devices {
        let Some(id) = id_of(&d) else { continue };
        let desc = d
            .description()
            .map(|x| x.name().to_string())
            .unwrap_or_else(|_| d.to_string());
        let duplex = d.supports_output();
        let entry = match kind {
            "PipeWire" if id == PIPEWIRE_DEFAULT_SINK => InputDevice {
                name: format!("{PLAYS} (the default output's monitor)"),
                id,
                is_default: false,
                plays: true,
                monitor: true,
            },
            // Follows the system's default source, whichever it is.
            "PipeWire" if id == PIPEWIRE_DEFAULT_SOURCE => InputDevice {
                name: "Default input".into(),
                id,
                is_default: true,
                plays: false,
                monitor: false,
            },
            // A sink (an input stream on it records its monitor). cpal's public API shows a
            // rare `Audio/Duplex` node the same way; it is labelled as a monitor too.
            "PipeWire" if duplex => InputDevice {
                name: format!("Monitor of {desc}"),
                id,
                is_default: false,
                plays: false,
                monitor: true,
            },
            "PulseAudio" => InputDevice {
                plays: default_sink
                    .as_ref()
                    .is_some_and(|s| id == format!("{s}.monitor")),
                monitor: id.ends_with(".monitor"),
                is_default: default_id.as_deref() == Some(id.as_str()),
                name: desc,
                id,
            },
            _ => InputDevice {
                is_default: default_id.as_deref() == Some(id.as_str()),
                name: desc,
                id,
                plays: false,
                monitor: false,
            },
        };
        if !out.iter().any(|(e, _)| e.id == entry.id) {
            out.push((entry, d));
        }
    }
    // What this computer plays and the default input first (a stable sort: else the host's
    // order).
    out.sort_by_key(|(e, _)| (!e.plays, !e.is_default));
    Ok(out)
}

/// The marks `devices` prints after a device's name.
#[must_use]
pub fn marks(d: &InputDevice) -> String {
    let mut m = String::new();
    if d.is_default {
        m.push_str(" (default)");
    }
    if d.plays {
        if !d.name.starts_with(PLAYS) {
            m.push_str(" (what this computer plays)");
        }
    } else if d.monitor {
        m.push_str(" (monitor)");
    }
    m
}
