//! Smoke test of the floe-load binary against a tiny in-test streaming server: counts only,
//! never timings (those belong to bench/fanout.sh, not to cargo test).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const METAINT: usize = 1000;

/// Serves 16,000 audio bytes per second (128 kbps) to each client, with ICY metadata when
/// asked, the title changing every second. Stops writing after 20 s or when the client leaves.
fn fake_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            thread::spawn(move || serve(conn));
        }
    });
    port
}

fn serve(mut c: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let icy = String::from_utf8_lossy(&head)
        .to_ascii_lowercase()
        .contains("icy-metadata: 1");
    let mut reply = String::from("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br:128\r\n");
    if icy {
        reply.push_str(&format!("icy-metaint:{METAINT}\r\n"));
    }
    reply.push_str("\r\n");
    if c.write_all(reply.as_bytes()).is_err() {
        return;
    }
    let start = Instant::now();
    let mut sent_audio = 0usize;
    let mut until_meta = METAINT;
    let mut last_title = usize::MAX;
    while start.elapsed() < Duration::from_secs(20) {
        // 1,000 audio bytes every 62.5 ms.
        let mut out = Vec::with_capacity(1100);
        let mut audio = 1000;
        while audio > 0 {
            let take = audio.min(until_meta);
            out.extend(std::iter::repeat_n(0x55u8, take));
            audio -= take;
            until_meta -= take;
            if until_meta == 0 {
                until_meta = METAINT;
                if icy {
                    let title = start.elapsed().as_secs() as usize;
                    if title == last_title {
                        out.push(0);
                    } else {
                        last_title = title;
                        let text = format!("StreamTitle='Artist - Song {title}';");
                        let l = text.len().div_ceil(16);
                        out.push(l as u8);
                        out.extend_from_slice(text.as_bytes());
                        out.resize(out.len() + l * 16 - text.len(), 0);
                    }
                }
            }
        }
        if c.write_all(&out).is_err() {
            return;
        }
        sent_audio += 1000;
        let due = Duration::from_micros((sent_audio as u64) * 1_000_000 / 16_000);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
    }
}

fn run_load(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_floe-load"))
        .args(args)
        .output()
        .expect("run floe-load");
    assert!(
        out.status.success(),
        "floe-load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let human = String::from_utf8_lossy(&out.stderr);
    assert!(human.contains("connections established"), "{human}");
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn ramp_with_icy_counts_every_listener() {
    let port = fake_server();
    let url = format!("http://127.0.0.1:{port}/live.mp3");
    let r = run_load(&[
        "run",
        &url,
        "-n",
        "200",
        "--rate",
        "1000",
        "--settle",
        "0.5",
        "--hold",
        "2",
        "--icy",
        "--json",
        "--progress",
        "0",
        "--label",
        "fake",
        "--scenario",
        "smoke",
    ]);
    assert_eq!(r["established"], 200, "{r:#}");
    assert_eq!(r["got_audio"], 200, "{r:#}");
    assert_eq!(r["streaming_at_end"], 200, "{r:#}");
    assert_eq!(r["http_status"]["200"], 200);
    assert_eq!(r["bitrate_from"], "icy-br");
    assert!(r["kept_up"].is_u64(), "{r:#}");
    assert_eq!(r["icy"]["listeners_with_metaint"], 200);
    assert_eq!(r["icy"]["metaint"][0], METAINT);
    assert_eq!(r["icy"]["bad_blocks"], 0, "{r:#}");
    assert!(
        r["icy"]["blocks_total"].as_u64().unwrap_or(0) >= 200,
        "{r:#}"
    );
    assert!(
        r["icy"]["titles_seen_per_listener"]["min"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    assert!(r["rate_kbps"]["p50"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(r["label"], "fake");
}

#[test]
fn storm_and_server_figures() {
    let port = fake_server();
    let url = format!("http://127.0.0.1:{port}/live.mp3");
    let me = std::process::id().to_string();
    let r = run_load(&[
        "run",
        &url,
        "--storm",
        "100",
        "--hold",
        "2",
        "--json",
        "--progress",
        "0",
        "--server-pid",
        &me,
    ]);
    assert_eq!(r["mode"], "storm");
    assert_eq!(r["storm"]["got_audio_by_end"], 100, "{r:#}");
    assert!(r["server"]["cpu_pct"].is_f64(), "{r:#}");
    assert!(r["server"]["rss_end_kib"].as_u64().unwrap_or(0) > 0);
    assert!(r["server"]["threads_total"].as_u64().unwrap_or(0) >= 100);
    assert!(r["machine"]["busy_pct"].is_f64());
}

#[test]
fn refused_connections_are_reported_and_the_tool_stops() {
    // A port nobody listens on: bind, learn it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/x.mp3");
    let r = run_load(&[
        "run",
        &url,
        "-n",
        "20",
        "--rate",
        "1000",
        "--settle",
        "0",
        "--hold",
        "0.5",
        "--json",
        "--progress",
        "0",
    ]);
    assert_eq!(r["established"], 0);
    assert_eq!(r["connect_failures"]["refused"], 20, "{r:#}");
}
