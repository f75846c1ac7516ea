//! Titles in Ogg streams: `/admin/metadata` on a live Ogg Opus or Ogg Vorbis mount continues
//! the stream as a new chained logical stream whose comment header carries the title. A new
//! listener's ffprobe shows it; a listener connected across the update decodes the whole
//! capture with ffmpeg without a single error and sees the chain's new title.
//!
//! These tests need ffmpeg and ffprobe on PATH.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Writes `data` to a scratch file and returns its path.
fn save(name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = scratch_dir("ogg-meta").join(name);
    std::fs::write(&path, data).expect("write capture");
    path
}

/// ffprobe's tags (format and stream) of a file, one `key=value` per line.
fn ffprobe_tags(path: &std::path::Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format_tags:stream_tags",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Decodes a whole file with ffmpeg at `-v error`; returns what it printed.
fn decode_errors(path: &std::path::Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Every `TITLE=` comment in an Ogg capture, in stream order (a scan of the raw bytes: the
/// comment headers are not compressed).
fn titles_in(path: &std::path::Path) -> Vec<String> {
    let data = std::fs::read(path).expect("read capture");
    let mut titles = Vec::new();
    let mut at = 0;
    while let Some(i) = find(&data[at..], b"TITLE=") {
        let start = at + i + 6;
        let end = data[start..]
            .iter()
            .position(|&b| b < 0x20)
            .map_or(data.len(), |n| start + n);
        titles.push(String::from_utf8_lossy(&data[start..end]).to_string());
        at = start;
    }
    titles
}

fn run(mount: &str, codec: &str, bitrate: &str) {
    require_ffmpeg();
    let floe = Floe::start();
    let _enc = ffmpeg_tone_source(
        &floe,
        mount,
        &[
            "-c:a",
            codec,
            "-b:a",
            bitrate,
            "-content_type",
            "audio/ogg",
            "-f",
            "ogg",
        ],
        false,
    );
    wait_live(&floe, mount);
    std::thread::sleep(Duration::from_secs(1));

    // A listener connected before the update, capturing across it.
    let mut early = Listener::connect(&floe, mount, false);
    assert_eq!(early.head.status, 200);
    let before = early.read_bytes(1 << 22, Duration::from_secs(2));
    assert!(!before.is_empty(), "no audio before the update");

    let r = floe.admin(&format!(
        "/admin/metadata?mode=updinfo&mount={mount}&artist=Floe%20Artist&title=Chained%20Caf%C3%A9"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let after = early.read_bytes(1 << 22, Duration::from_secs(3));

    // A new listener: its first bytes are the new chain's headers.
    let mut late = Listener::connect(&floe, mount, false);
    assert_eq!(late.head.status, 200);
    let late_bytes = late.read_bytes(1 << 22, Duration::from_secs(2));
    let late_file = save("late.ogg", &late_bytes);
    let tags = ffprobe_tags(&late_file);
    eprintln!("ffprobe of a new listener ({mount}):\n{tags}");
    assert!(
        tags.contains("TITLE=Chained Café"),
        "a new listener's ffprobe does not show the title:\n{tags}"
    );
    assert!(tags.contains("ARTIST=Floe Artist"), "{tags}");
    let errors = decode_errors(&late_file);
    assert!(errors.trim().is_empty(), "new listener's stream: {errors}");

    // The early listener's capture decodes whole, with the new chain in it.
    let mut capture = before;
    capture.extend_from_slice(&after);
    let file = save("early.ogg", &capture);
    let errors = decode_errors(&file);
    assert!(
        errors.trim().is_empty(),
        "ffmpeg reported errors decoding across the title update:\n{errors}"
    );
    let titles = titles_in(&file);
    assert_eq!(titles, ["Chained Café"], "titles in the capture");
    // ffmpeg sees the chain's tags: the last value of TITLE in a full dump of the metadata
    // updates it reports while reading the capture.
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet_side_data:format_tags:stream_tags",
            "-of",
            "default=nw=1",
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    let dump = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "ffprobe of the early listener's capture ({mount}), tag lines:\n{}",
        dump.lines()
            .filter(|l| l.to_ascii_uppercase().contains("TITLE")
                || l.to_ascii_uppercase().contains("ARTIST"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        dump.contains("Chained Café"),
        "ffprobe of the capture across the update does not show the new title"
    );
}

#[test]
fn ogg_opus_title_update_starts_a_new_chain() {
    run("/live.opus", "libopus", "64k");
}

#[test]
fn ogg_vorbis_title_update_starts_a_new_chain() {
    run("/live.ogg", "libvorbis", "96k");
}
