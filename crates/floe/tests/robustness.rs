//! Bad input loses nothing: a source that sends garbage between frames, or stops mid-frame,
//! never reaches listeners as broken frames, and never takes the server down.

mod common;

use common::*;
use std::time::Duration;

/// Parses `data` as back-to-back 417-byte frames of `mp3_frames`; returns their fill bytes, or
/// panics at the first byte that is not a frame start.
fn frames_in(data: &[u8]) -> Vec<u8> {
    let mut fills = Vec::new();
    let mut i = 0;
    while i + MP3_FRAME_LEN <= data.len() {
        assert_eq!(
            &data[i..i + 4],
            &[0xFF, 0xFB, 0x90, 0x00],
            "byte {i} of the listener's stream is not a frame start"
        );
        fills.push(data[i + 4]);
        i += MP3_FRAME_LEN;
    }
    fills
}

#[test]
fn garbage_between_frames_is_skipped_and_logged() {
    let floe = Floe::start_with("[mount_defaults]\nburst_bytes = 0\n");
    let mut source = Source::put(&floe, "/live.mp3", &[]);
    source.send(&mp3_frames(4, 1));
    assert!(eventually(Duration::from_secs(5), || {
        floe.request("HEAD", "/live.mp3", &[]).status == 200
    }));
    let mut listener = Listener::connect(&floe, "/live.mp3", false);
    assert_eq!(listener.head.status, 200);
    // Garbage, including bytes that look like a frame sync, then good frames.
    let mut garbage = vec![0x00, 0xFF, 0xFB, 0x12, 0x34, 0xFF, 0xE0];
    garbage.extend((0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    source.send(&garbage);
    source.send(&mp3_frames(20, 2));
    let got = listener.read_bytes(20 * MP3_FRAME_LEN, Duration::from_secs(10));
    let fills = frames_in(&got);
    assert!(
        fills.iter().filter(|f| **f == 2).count() >= 19,
        "the frames after the garbage did not all arrive: {fills:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || floe
            .log_text()
            .contains("skipped")),
        "no log line about the skipped bytes:\n{}",
        floe.log_text()
    );
}

#[test]
fn a_source_that_stops_mid_frame_leaves_no_broken_frame_and_the_server_serves_on() {
    let floe = Floe::start_with("[mount_defaults]\nburst_bytes = 0\n");
    let mut source = Source::put(&floe, "/live.mp3", &[]);
    source.send(&mp3_frames(2, 1));
    assert!(eventually(Duration::from_secs(5), || {
        floe.request("HEAD", "/live.mp3", &[]).status == 200
    }));
    let mut listener = Listener::connect(&floe, "/live.mp3", false);
    let mut data = mp3_frames(10, 3);
    data.truncate(data.len() - 200);
    source.send(&data);
    drop(source);
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !listener.closed_within(Duration::from_millis(50)) && std::time::Instant::now() < deadline
    {
        got.extend(listener.read_bytes(1 << 20, Duration::from_millis(200)));
    }
    assert_eq!(
        got.len() % MP3_FRAME_LEN,
        0,
        "a partial frame reached the listener"
    );
    frames_in(&got);
    // The server is fine: a new source and listener work.
    let mut again = Source::put(&floe, "/live.mp3", &[]);
    again.send(&mp3_frames(3, 4));
    assert!(eventually(Duration::from_secs(5), || {
        floe.request("HEAD", "/live.mp3", &[]).status == 200
    }));
}

#[test]
fn random_bytes_as_requests_get_errors_not_crashes() {
    let floe = Floe::start();
    for seed in 0..20u32 {
        let mut s = floe.connect();
        let junk: Vec<u8> = (0..600u32)
            .map(|i| ((i ^ seed).wrapping_mul(2654435761) >> 7) as u8)
            .chain(*b"\r\n\r\n")
            .collect();
        use std::io::Write;
        let _ = s.write_all(&junk);
    }
    // Still serving.
    assert_eq!(floe.get("/status-json.xsl", &[]).status, 200);
}

#[test]
fn a_silent_source_is_dropped_after_the_source_timeout() {
    let floe = Floe::start_with("[limits]\nsource_timeout = 1\n");
    let mut source = Source::put(&floe, "/live.mp3", &[]);
    source.send(&mp3_frames(4, 1));
    assert!(eventually(Duration::from_secs(5), || {
        floe.request("HEAD", "/live.mp3", &[]).status == 200
    }));
    // Now silence: the server must hang up on the source and free the mount.
    source
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    let mut buf = [0u8; 64];
    let started = std::time::Instant::now();
    let closed = matches!(
        std::io::Read::read(&mut source.stream, &mut buf),
        Ok(0) | Err(_)
    );
    assert!(
        closed && started.elapsed() < Duration::from_secs(8),
        "source not dropped"
    );
    assert!(eventually(Duration::from_secs(5), || {
        floe.request("HEAD", "/live.mp3", &[]).status == 404
    }));
    assert!(
        floe.log_text().contains("source timeout"),
        "{}",
        floe.log_text()
    );
    // The mount is free again.
    let mut again = Source::put(&floe, "/live.mp3", &[]);
    again.send(&mp3_frames(2, 2));
}
