//! The web player in a real browser: headless Chromium (Debian's `chromium`, driven by
//! Playwright from `web-tests/`) plays live mounts over every transport Floe offers: HLS
//! (hls.js over MSE), DASH (dash.js), the plain stream, endless WAV, WebSocket and Server-Sent
//! Events (PCM, and Opus decoded by WebCodecs), and "auto" (hls.js for all three tones). For
//! each it checks that `currentTime` advances every second for 10 s with no error and that the
//! page's analyser hears the source's tone. Screenshots of the player go to
//! `target/test-artifacts/player-<transport>.png`.
//!
//! Needs ffmpeg, chromium, node and `npm ci` in `web-tests/` (`.ci/run` installs them all).

mod common;

use common::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every transport of the player, all played at once (one page each) in one browser.
const TRANSPORTS: &str = "auto,hls,dash,plain,wav,ws,sse,ws-opus,sse-opus";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser run ends by this time, whatever happens.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn web_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web-tests")
}

/// `target/test-artifacts`.
fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("test-artifacts")
}

/// Panics with an install hint unless node, Chromium and the test's npm packages are there.
fn require_browser_tools() {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        node,
        "node is needed for the browser tests (apt-get install nodejs npm)"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is needed for the browser tests (apt-get install chromium)"
    );
    assert!(
        web_tests_dir()
            .join("node_modules/playwright-core")
            .exists(),
        "web-tests/node_modules is missing (cd web-tests && npm ci)"
    );
}

/// Runs `web-tests/player.mjs` against `floe`: every transport plays `mounts`, except those
/// given their own list in `mounts_for`. Returns whether it passed and what it printed.
fn run_player(
    floe: &Floe,
    transports: &str,
    mounts: &[&str],
    mounts_for: &[(&str, &[&str])],
    tones: &[(&str, u32)],
) -> (bool, String) {
    let tones: Vec<String> = tones.iter().map(|(m, hz)| format!("{m}={hz}")).collect();
    let mut cmd = Command::new("node");
    cmd.current_dir(web_tests_dir())
        .arg("player.mjs")
        .args(["--base", &floe.url("")])
        .args(["--transports", transports])
        .args(["--mounts", &mounts.join(",")])
        .args(["--tones", &tones.join(",")])
        .args(["--seconds", "10"])
        .args(["--chromium", CHROMIUM])
        .arg("--artifacts")
        .arg(artifacts_dir());
    for (transport, list) in mounts_for {
        cmd.arg(format!("--mounts-{transport}")).arg(list.join(","));
    }
    // "auto" takes hls.js where Chromium's MSE plays the segments' codec (MP3 over MPEG-TS).
    cmd.args([
        "--auto-expect",
        "/tone.aac=hls,/tone.opus=hls,/tone.mp3=hls",
    ]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait node") {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (status.is_some_and(|s| s.success()), text)
}

/// Live tones, one per codec family the player meets: MP3, AAC (ADTS) and Ogg Opus.
const TONES: [(&str, u32); 3] = [("/tone.mp3", 440), ("/tone.aac", 660), ("/tone.opus", 550)];

#[test]
fn the_web_player_plays_every_transport_in_chromium() {
    require_ffmpeg();
    require_browser_tools();
    let floe = Floe::start_with("");
    let codecs = [MP3, AAC, OPUS];
    let _sources: Vec<Encoder> = TONES
        .iter()
        .zip(codecs)
        .map(|((mount, hz), args)| ffmpeg_sine_source(&floe, mount, args, false, *hz, 600))
        .collect();
    for (mount, _) in TONES {
        wait_live(&floe, mount);
    }
    // FLOE_BROWSER_TRANSPORTS=ws,sse narrows a run by hand; CI runs them all.
    let transports =
        std::env::var("FLOE_BROWSER_TRANSPORTS").unwrap_or_else(|_| TRANSPORTS.to_string());
    let all: Vec<&str> = TONES.iter().map(|(m, _)| *m).collect();
    // DASH is CMAF only: AAC and Opus (MP3 mounts have HLS over MPEG-TS and no DASH).
    let cmaf: &[&str] = &["/tone.aac", "/tone.opus"];
    let (ok, output) = run_player(&floe, &transports, &all, &[("dash", cmaf)], &TONES);
    println!("{output}");
    assert!(
        ok,
        "the player failed in Chromium:\n{output}\nfloe log:\n{}",
        floe.log_text()
    );
    for t in transports.split(',') {
        let shot = artifacts_dir().join(format!("player-{t}.png"));
        assert!(shot.exists(), "no screenshot {}", shot.display());
    }
}
