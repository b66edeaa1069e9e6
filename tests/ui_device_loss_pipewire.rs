//! The desktop app loses its PipeWire server mid-play and gets it back: the real app
//! (egui_kittest) on a real cpal stream (PipeWire host, the default) into a private PipeWire
//! server that the test kills and restarts. Its own test binary because it points this process's
//! XDG_RUNTIME_DIR at the private server.

mod common;
use common::*;

#[test]
fn losing_the_pipewire_server_notifies_and_playback_goes_on() {
    if skip_without_pulse("losing_the_pipewire_server_notifies_and_playback_goes_on") {
        return;
    }
    common::app::lose_and_regain_the_server(ServerKind::PipeWire);
}
