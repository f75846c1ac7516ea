//! Interop with real ffmpeg and ffprobe: ffmpeg as a source (PUT and legacy SOURCE) for MP3,
//! AAC and Ogg Opus; ffmpeg as a listener whose stream decodes with zero errors; titles set
//! through `/admin/metadata` seen by ffprobe.
//!
//! These tests need ffmpeg and ffprobe on PATH (CI installs them); without them they fail.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Listens with ffmpeg for `secs` seconds of audio decoded to 8 kHz mono PCM. Returns the
/// samples and whatever ffmpeg printed at `-v error`.
fn ffmpeg_listen(url: &str, secs: u32) -> (Vec<i16>, String) {
    let out = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-i",
            url,
            "-t",
            &secs.to_string(),
        ])
        .args(["-f", "s16le", "-ac", "1", "-ar", "8000", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    let samples = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (samples, String::from_utf8_lossy(&out.stderr).to_string())
}

/// Dominant frequency by zero crossings: good enough to tell a 440 Hz tone from noise.
fn tone_hz(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
}

fn check_listen(floe: &Floe, mount: &str) {
    let (samples, errors) = ffmpeg_listen(&floe.url(mount), 3);
    assert!(
        errors.trim().is_empty(),
        "ffmpeg reported decode errors on {mount}:\n{errors}"
    );
    assert!(
        samples.len() >= 8000 * 3 * 9 / 10,
        "only {} samples decoded from {mount}",
        samples.len()
    );
    // Skip the decoder's start; the rest must be the tone, not silence or garbage.
    let body = &samples[2000..];
    let peak = body.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        peak > 3000,
        "{mount}: decoded audio is silent (peak {peak})"
    );
    let hz = tone_hz(body, 8000);
    assert!(
        (hz - 440.0).abs() < 15.0,
        "{mount}: tone is {hz:.1} Hz, not 440"
    );
}

/// How an ffmpeg source is set up in a test.
struct Case {
    mount: &'static str,
    codec: &'static str,
    bitrate: &'static str,
    content_type: &'static str,
    muxer: &'static str,
    /// SOURCE (`-legacy_icecast 1`) instead of PUT.
    legacy: bool,
    /// Listen this long after the mount goes live (for Ogg: well after the header pages).
    join_after: Duration,
}

impl Case {
    fn args(&self) -> [&'static str; 8] {
        [
            "-c:a",
            self.codec,
            "-b:a",
            self.bitrate,
            "-content_type",
            self.content_type,
            "-f",
            self.muxer,
        ]
    }

    /// Starts Floe and an ffmpeg source, then checks that an ffmpeg listener decodes the tone.
    fn run(&self) -> Floe {
        require_ffmpeg();
        let floe = Floe::start();
        let enc = ffmpeg_tone_source(&floe, self.mount, &self.args(), self.legacy);
        wait_live(&floe, self.mount);
        std::thread::sleep(self.join_after);
        check_listen(&floe, self.mount);
        drop(enc);
        floe
    }
}

const MP3: Case = Case {
    mount: "/live.mp3",
    codec: "libmp3lame",
    bitrate: "128k",
    content_type: "audio/mpeg",
    muxer: "mp3",
    legacy: false,
    join_after: Duration::ZERO,
};

#[test]
fn ffmpeg_put_mp3_is_heard_by_an_ffmpeg_listener() {
    require_ffmpeg();
    let floe = Floe::start();
    let _enc = ffmpeg_tone_source(&floe, MP3.mount, &MP3.args(), false);
    wait_live(&floe, MP3.mount);
    check_listen(&floe, MP3.mount);
    let head = floe.request("HEAD", MP3.mount, &[]);
    assert_eq!(head.header("icy-name"), Some("Interop Radio"));
    assert_eq!(head.header("content-type"), Some("audio/mpeg"));
}

#[test]
fn ffmpeg_legacy_source_mp3() {
    Case {
        mount: "/legacy.mp3",
        bitrate: "96k",
        legacy: true,
        ..MP3
    }
    .run();
}

#[test]
fn ffmpeg_put_aac_adts() {
    Case {
        mount: "/live.aac",
        codec: "aac",
        bitrate: "96k",
        content_type: "audio/aac",
        muxer: "adts",
        ..MP3
    }
    .run();
}

#[test]
fn ffmpeg_put_ogg_opus_replays_headers_to_late_listeners() {
    Case {
        mount: "/live.opus",
        codec: "libopus",
        bitrate: "64k",
        content_type: "audio/ogg",
        muxer: "ogg",
        join_after: Duration::from_secs(2),
        ..MP3
    }
    .run();
}

#[test]
fn ffmpeg_legacy_source_ogg_vorbis() {
    Case {
        mount: "/live.ogg",
        codec: "libvorbis",
        bitrate: "96k",
        content_type: "application/ogg",
        muxer: "ogg",
        legacy: true,
        join_after: Duration::from_secs(1),
    }
    .run();
}

#[test]
fn ffmpeg_put_webm_opus_replays_its_header_to_late_listeners() {
    Case {
        mount: "/live.webm",
        codec: "libopus",
        bitrate: "64k",
        content_type: "audio/webm",
        muxer: "webm",
        join_after: Duration::from_secs(2),
        ..MP3
    }
    .run();
}

#[test]
fn title_set_through_admin_is_seen_by_ffprobe() {
    require_ffmpeg();
    let floe = Floe::start_with("[mount_defaults]\nmetaint = 8192\n");
    let _enc = ffmpeg_tone_source(&floe, MP3.mount, &MP3.args(), false);
    wait_live(&floe, MP3.mount);
    let r =
        floe.admin("/admin/metadata?mode=updinfo&mount=/live.mp3&song=Floe%20Test%20-%20Caf%C3%A9");
    assert_eq!(r.status, 200, "{}", r.text());
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-icy",
            "1",
            "-show_entries",
            "format_tags",
            "-of",
            "default=nw=1",
        ])
        .arg(floe.url("/live.mp3"))
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("StreamTitle=Floe Test - Café"),
        "ffprobe did not show the title:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("icy-name=Interop Radio"), "{text}");
}
