//! The desktop app loses its PulseAudio server mid-play and gets it back: the real app
//! (egui_kittest) on a real cpal stream (PulseAudio host) into a private PulseAudio server that
//! the test kills and restarts. Its own test binary because it points this process's
//! XDG_RUNTIME_DIR/PULSE_SERVER at the private server (tests/ui_device_loss_pipewire.rs: the
//! same on PipeWire).

mod common;
use common::*;

#[test]
fn losing_the_device_notifies_and_playback_goes_on() {
    if skip_without_pulse("losing_the_device_notifies_and_playback_goes_on") {
        return;
    }
    common::app::lose_and_regain_the_server(ServerKind::PulseAudio);
}
