//! `rusty-audio devices`: every output device of every available host with its configurations,
//! then the host's inputs (capture devices and monitors: what `listen --input` and the app's
//! analyzer source take).

use cpal::traits::{DeviceTrait, HostTrait};

pub fn run() -> i32 {
    // libasound's diagnostics (a screen of `ALSA lib confmisc.c…` on a machine without a sound
    // card) and plugin libraries' chatter (libjack) are captured, not printed; one line of them
    // is shown if there were any.
    let (code, said) = crate::engine::output::quiet_enumeration(list);
    if let Some(said) = said {
        eprintln!("rusty-audio: ALSA said: {said}");
    }
    code
}

fn list() -> i32 {
    let default_host = crate::engine::output::host().id();
    for id in cpal::available_hosts() {
        let Ok(host) = cpal::host_from_id(id) else {
            continue;
        };
        println!(
            "host {}{}",
            id.name(),
            if id == default_host { " (default)" } else { "" }
        );
        let default_name = host.default_output_device().map(|d| d.to_string());
        let devices = match host.output_devices() {
            Ok(d) => d,
            Err(e) => {
                println!("  cannot list devices: {e}");
                continue;
            }
        };
        for d in devices {
            let name = d
                .description()
                .map(|x| x.name().to_string())
                .unwrap_or_else(|_| d.to_string());
            let mark = if default_name.as_deref() == Some(&d.to_string()) {
                " (default)"
            } else {
                ""
            };
            println!("  {name}{mark}");
            match d.default_output_config() {
                Ok(c) => println!(
                    "    default: {} Hz, {} ch, {}, buffer {:?}",
                    c.sample_rate(),
                    c.channels(),
                    c.sample_format(),
                    c.buffer_size()
                ),
                Err(e) => println!("    default: unavailable ({e})"),
            }
            if let Ok(ranges) = d.supported_output_configs() {
                let ranges: Vec<_> = ranges.collect();
                let mut formats: Vec<String> = Vec::new();
                for r in &ranges {
                    let f = r.sample_format().to_string();
                    if !formats.contains(&f) {
                        formats.push(f);
                    }
                }
                if let (Some(ch_min), Some(ch_max)) = (
                    ranges.iter().map(|r| r.channels()).min(),
                    ranges.iter().map(|r| r.channels()).max(),
                ) {
                    let rmin = ranges
                        .iter()
                        .map(|r| r.min_sample_rate())
                        .min()
                        .unwrap_or(0);
                    let rmax = ranges
                        .iter()
                        .map(|r| r.max_sample_rate())
                        .max()
                        .unwrap_or(0);
                    println!(
                        "    supports: {rmin}–{rmax} Hz, {ch_min}–{ch_max} ch, formats {}",
                        formats.join(" ")
                    );
                }
            }
        }
        match crate::engine::input::input_devices(&host) {
            Ok(inputs) if inputs.is_empty() => println!("  inputs: none"),
            Ok(inputs) => {
                println!("  inputs:");
                for d in &inputs {
                    println!(
                        "    {}{}  [{}]",
                        d.name,
                        crate::engine::input::marks(d),
                        d.id
                    );
                }
            }
            Err(e) => println!("  inputs: cannot list them ({e})"),
        }
    }
    0
}
