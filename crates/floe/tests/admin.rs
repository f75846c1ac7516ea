//! Black-box tests of the admin and status endpoints (Icecast's and SHOUTcast's shapes, see
//! /work/shared/ICECAST.md), playlists, the JSON API and Server-Sent Events, and the `floe`
//! command line.

mod common;

use common::*;
use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECS: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A source on `mount` that has sent a few frames (the mount is live once `wait_live` says so).
fn live_source(floe: &Floe, mount: &str, extra: &[(&str, &str)]) -> Source {
    let mut s = Source::put(floe, mount, extra);
    s.send(&mp3_frames(20, 0x11));
    wait_live(floe, mount);
    s
}

fn wait_live(floe: &Floe, mount: &str) {
    assert!(
        eventually(SECS, || floe.request("HEAD", mount, &[]).status == 200),
        "{mount} never went live; log:\n{}",
        floe.log_text()
    );
}

/// A listener that joined (status 200).
fn listener(floe: &Floe, mount: &str) -> Listener {
    let l = Listener::connect(floe, mount, false);
    assert_eq!(l.head.status, 200, "{:?}", l.head);
    l
}

/// A GET with our own Host header.
fn get_with_host(floe: &Floe, path: &str, host: &str) -> Response {
    let mut s = floe.connect();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: floe-test\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    Response::parse(&raw)
}

/// The text between `<tag>` and `</tag>`, first occurrence.
fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// Every JSON object (at any depth) that has some string value equal to `needle`.
fn objects_with<'a>(v: &'a serde_json::Value, needle: &str, out: &mut Vec<&'a serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.values().any(|x| x.as_str() == Some(needle)) {
                out.push(v);
            }
            for x in m.values() {
                objects_with(x, needle, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                objects_with(x, needle, out);
            }
        }
        _ => {}
    }
}

fn assert_xml(r: &Response) {
    assert_eq!(r.status, 200, "{r:?}");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.contains("xml"), "content type {ct:?}");
    assert!(r.text().starts_with("<?xml"), "{}", r.text());
}

/// Asserts a 200 with a JSON content type; returns the parsed body.
fn assert_json(r: &Response) -> serde_json::Value {
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .contains("json"),
        "{r:?}"
    );
    r.json()
}

// ---------------------------------------------------------------------------------------------
// Icecast admin
// ---------------------------------------------------------------------------------------------

#[test]
fn metadata_update_replies_like_icecast() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/live.mp3", &[]);
    let r = floe.admin("/admin/metadata?mode=updinfo&mount=/live.mp3&song=Hello");
    assert_xml(&r);
    assert_eq!(
        r.text().trim_end(),
        "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message><return>1</return></iceresponse>"
    );
    let r = floe.admin("/admin/metadata?mode=updinfo&mount=/nothing.mp3&song=Hello");
    assert!(r.status >= 400, "a missing mount is an error: {r:?}");
}

#[test]
fn listclients_in_xml_and_json() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/live.mp3", &[]);
    let _l = listener(&floe, "/live.mp3");
    let r = floe.admin("/admin/listclients?mount=/live.mp3");
    assert_xml(&r);
    let x = r.text();
    assert!(
        x.contains("<icestats>") && x.contains("<source mount=\"/live.mp3\">"),
        "{x}"
    );
    assert_eq!(xml_value(&x, "Listeners"), Some("1"), "{x}");
    assert_eq!(xml_value(&x, "IP"), Some("127.0.0.1"), "{x}");
    assert_eq!(xml_value(&x, "UserAgent"), Some("floe-test"), "{x}");
    assert!(
        xml_value(&x, "Connected").is_some_and(|v| v.parse::<u64>().is_ok()),
        "{x}"
    );
    let id: u64 = xml_value(&x, "ID")
        .and_then(|v| v.parse().ok())
        .expect("ID");

    let r = floe.admin("/admin/listclients?mount=/live.mp3&format=json");
    let v = assert_json(&r);
    let mut found = Vec::new();
    objects_with(&v, "127.0.0.1", &mut found);
    assert_eq!(found.len(), 1, "one listener object: {v}");
    let o = found[0].as_object().expect("object");
    assert!(o.values().any(|x| x.as_str() == Some("floe-test")), "{v}");
    assert!(
        o.values().any(|x| x.as_u64() == Some(id)),
        "the same ID as in XML: {v}"
    );
}

#[test]
fn listmounts_stats_and_streamlist() {
    let floe = Floe::start();
    let _a = live_source(&floe, "/a.mp3", &[]);
    let _b = live_source(&floe, "/b.mp3", &[("User-Agent", "encoder-b")]);
    let _l = listener(&floe, "/a.mp3");

    let r = floe.admin("/admin/listmounts");
    assert_xml(&r);
    let x = r.text();
    assert!(x.contains("<source mount=\"/a.mp3\">"), "{x}");
    assert!(x.contains("<source mount=\"/b.mp3\">"), "{x}");
    let a = x.split("<source mount=\"/a.mp3\">").nth(1).expect("a");
    assert_eq!(xml_value(a, "listeners"), Some("1"), "{x}");

    let r = floe.admin("/admin/stats");
    assert_xml(&r);
    let x = r.text();
    assert!(x.contains("<icestats>"), "{x}");
    assert!(x.contains("<source mount=\"/a.mp3\">"), "{x}");
    let b = x.split("<source mount=\"/b.mp3\">").nth(1).expect("b");
    assert_eq!(xml_value(b, "user_agent"), Some("encoder-b"), "{x}");
    assert_eq!(xml_value(b, "server_name"), Some("Test Radio"), "{x}");
    assert_eq!(xml_value(&x, "sources"), Some("2"), "{x}");

    let r = floe.admin("/admin/streamlist.txt");
    assert_eq!(r.status, 200, "{r:?}");
    let text = r.text();
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    assert_eq!(lines, ["/a.mp3", "/b.mp3"]);
}

#[test]
fn status_json_has_icecasts_shape() {
    let floe = Floe::start();
    let _a = live_source(&floe, "/a.mp3", &[]);
    let _l = listener(&floe, "/a.mp3");
    set_title(&floe, "/a.mp3", "Artist - Title");
    let r = floe.get("/status-json.xsl", &[]);
    let v = assert_json(&r);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "widgets fetch it cross-origin"
    );
    let ice = &v["icestats"];
    for key in [
        "admin",
        "host",
        "location",
        "server_id",
        "server_start",
        "server_start_iso8601",
    ] {
        assert!(ice.get(key).is_some(), "icestats.{key} missing: {v}");
    }
    let src = &ice["source"];
    assert!(src.is_object(), "one source is an object: {v}");
    assert_eq!(
        src["listenurl"],
        format!("http://{}/a.mp3", floe.addr),
        "{v}"
    );
    assert_eq!(src["listeners"], 1, "{v}");
    assert_eq!(src["server_name"], "Test Radio", "{v}");
    assert_eq!(src["server_description"], "desc", "{v}");
    assert_eq!(src["genre"], "test", "{v}");
    assert_eq!(src["server_url"], "http://example.org", "{v}");
    assert_eq!(src["server_type"], "audio/mpeg", "{v}");
    assert_eq!(src["title"], "Artist - Title", "{v}");
    for key in [
        "listener_peak",
        "audio_info",
        "bitrate",
        "stream_start",
        "stream_start_iso8601",
    ] {
        assert!(src.get(key).is_some(), "source.{key} missing: {v}");
    }

    let _b = live_source(&floe, "/b.mp3", &[]);
    let v = floe.get("/status-json.xsl", &[]).json();
    let list = v["icestats"]["source"]
        .as_array()
        .expect("two sources are an array");
    assert_eq!(list.len(), 2, "{v}");
    let urls: Vec<&str> = list
        .iter()
        .filter_map(|s| s["listenurl"].as_str())
        .collect();
    assert!(
        urls.iter().any(|u| u.ends_with("/a.mp3")) && urls.iter().any(|u| u.ends_with("/b.mp3"))
    );
}

#[test]
fn hidden_mounts_stay_out_of_public_listings() {
    let floe = Floe::start_with("[mounts.\"/secret.mp3\"]\nhidden = true\n");
    let _a = live_source(&floe, "/public.mp3", &[]);
    let _b = live_source(&floe, "/secret.mp3", &[]);
    let status = floe.get("/status-json.xsl", &[]).text();
    assert!(
        status.contains("/public.mp3") && !status.contains("/secret.mp3"),
        "{status}"
    );
    let api = floe.get("/api/v1/mounts", &[]).text();
    assert!(
        api.contains("/public.mp3") && !api.contains("/secret.mp3"),
        "{api}"
    );
    // Admins still see it.
    assert!(floe
        .admin("/admin/listmounts")
        .text()
        .contains("/secret.mp3"));
}

// ---------------------------------------------------------------------------------------------
// SHOUTcast-compatible pages
// ---------------------------------------------------------------------------------------------

#[test]
fn shoutcast_7_html() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/stream", &[]);
    let _l = listener(&floe, "/stream");
    set_title(&floe, "/stream", "Artist - Title");
    let r = floe.get("/7.html", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    let inner = t
        .trim()
        .strip_prefix("<html><body>")
        .and_then(|t| t.strip_suffix("</body></html>"))
        .unwrap_or_else(|| panic!("{t}"));
    let f: Vec<&str> = inner.splitn(7, ',').collect();
    assert_eq!(f.len(), 7, "{inner}");
    assert_eq!(f[0], "1", "current listeners: {inner}");
    assert_eq!(f[1], "1", "status (source connected): {inner}");
    assert!(f[2].parse::<u64>().is_ok_and(|p| p >= 1), "peak: {inner}");
    assert!(f[3].parse::<u64>().is_ok(), "max: {inner}");
    assert!(f[4].parse::<u64>().is_ok(), "unique: {inner}");
    assert_eq!(f[5], "128", "bitrate: {inner}");
    assert_eq!(f[6], "Artist - Title", "{inner}");
}

#[test]
fn shoutcast_stats_xml_and_json() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/stream", &[]);
    let _l = listener(&floe, "/stream");
    set_title(&floe, "/stream", "Artist - Title");
    let r = floe.get("/stats?sid=1", &[]);
    assert_xml(&r);
    let x = r.text();
    assert!(x.contains("<SHOUTCASTSERVER>"), "{x}");
    assert_eq!(xml_value(&x, "CURRENTLISTENERS"), Some("1"), "{x}");
    assert_eq!(xml_value(&x, "STREAMSTATUS"), Some("1"), "{x}");
    assert_eq!(xml_value(&x, "SONGTITLE"), Some("Artist - Title"), "{x}");
    assert_eq!(xml_value(&x, "SERVERTITLE"), Some("Test Radio"), "{x}");
    assert_eq!(xml_value(&x, "BITRATE"), Some("128"), "{x}");

    let r = floe.get("/stats?sid=1&json=1", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["currentlisteners"], 1, "{v}");
    assert_eq!(v["streamstatus"], 1, "{v}");
    assert_eq!(v["songtitle"], "Artist - Title", "{v}");
    assert_eq!(v["servertitle"], "Test Radio", "{v}");
}

#[test]
fn shoutcast_admin_cgi_updates_the_title() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/stream", &[]);
    let r = floe.get(
        &format!("/admin.cgi?pass={SOURCE_PASSWORD}&mode=updinfo&song=Cgi%20Song"),
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let v = floe.get("/status-json.xsl", &[]).json();
    assert_eq!(v["icestats"]["source"]["title"], "Cgi Song", "{v}");
    let r = floe.get("/admin.cgi?pass=wrong&mode=updinfo&song=Nope", &[]);
    assert!(r.status == 401 || r.status == 403, "{r:?}");
    let v = floe.get("/status-json.xsl", &[]).json();
    assert_eq!(v["icestats"]["source"]["title"], "Cgi Song", "{v}");
}

// ---------------------------------------------------------------------------------------------
// Playlists, API, events
// ---------------------------------------------------------------------------------------------

#[test]
fn playlists_use_the_host_header() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/live.mp3", &[]);
    let url = "http://radio.example:8000/live.mp3";
    let cases = [
        (".m3u", "audio/x-mpegurl", url.to_string()),
        (".pls", "audio/x-scpls", format!("File1={url}")),
        (
            ".xspf",
            "application/xspf+xml",
            format!("<location>{url}</location>"),
        ),
        (".vclt", "audio/x-vclt", url.to_string()),
    ];
    for (ext, ct, needle) in cases {
        let r = get_with_host(&floe, &format!("/live.mp3{ext}"), "radio.example:8000");
        assert_eq!(r.status, 200, "{ext}: {r:?}");
        assert_eq!(
            r.header("content-type")
                .map(|c| c.split(';').next().unwrap_or("").trim()),
            Some(ct),
            "{ext}"
        );
        assert!(
            r.text().contains(&needle),
            "{ext} lacks {needle}:\n{}",
            r.text()
        );
    }
    let pls = get_with_host(&floe, "/live.mp3.pls", "radio.example:8000").text();
    assert!(pls.starts_with("[playlist]"), "{pls}");
    assert!(pls.contains("NumberOfEntries=1"), "{pls}");
}

#[test]
fn api_mounts_lists_stream_urls() {
    let floe = Floe::start();
    let _a = live_source(&floe, "/a.mp3", &[]);
    let _b = live_source(&floe, "/b.mp3", &[]);
    let r = floe.get("/api/v1/mounts", &[]);
    let v = assert_json(&r);
    let list = v
        .as_array()
        .or_else(|| v["mounts"].as_array())
        .unwrap_or_else(|| panic!("a list of mounts: {v}"));
    assert_eq!(list.len(), 2, "{v}");
    let mut urls: Vec<String> = list
        .iter()
        .map(|m| {
            m["stream_url"]
                .as_str()
                .unwrap_or_else(|| panic!("stream_url: {m}"))
                .to_string()
        })
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            format!("http://{}/a.mp3", floe.addr),
            format!("http://{}/b.mp3", floe.addr)
        ]
    );
}

#[test]
fn events_stream_pushes_now_playing() {
    let floe = Floe::start();
    let _s = live_source(&floe, "/live.mp3", &[]);
    let mut s = floe.connect();
    write!(
        s,
        "GET /api/v1/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        floe.addr
    )
    .expect("send");
    let head = read_head(&mut s);
    let r = Response::parse(&head);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/event-stream"),
        "{r:?}"
    );
    // Give the subscription a moment to exist, then change the title until it is seen.
    let mut raw = head.clone();
    let deadline = Instant::now() + SECS;
    let mut buf = [0u8; 4096];
    let mut n = 0;
    let seen = loop {
        if Instant::now() > deadline {
            break false;
        }
        n += 1;
        set_title(&floe, "/live.mp3", &format!("SSE Song {n}"));
        s.set_read_timeout(Some(Duration::from_millis(500))).ok();
        if let Ok(k) = s.read(&mut buf) {
            if k == 0 {
                break false;
            }
            raw.extend_from_slice(&buf[..k]);
        }
        let text = Response::parse(&raw).text();
        if text.contains("event: now_playing") && text.contains("SSE Song") {
            break true;
        }
    };
    let text = Response::parse(&raw).text();
    assert!(seen, "no now_playing event; got:\n{text}");
    // The event's data line carries the title and the mount.
    let block = text
        .split("\n\n")
        .find(|b| b.contains("event: now_playing"))
        .expect("event");
    let data: String = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim_start)
        .collect();
    assert!(
        data.contains("SSE Song") && data.contains("/live.mp3"),
        "{block}"
    );
}

// ---------------------------------------------------------------------------------------------
// Admin authentication
// ---------------------------------------------------------------------------------------------

#[test]
fn admin_requires_credentials() {
    let floe = Floe::start();
    let r = floe.get("/admin/stats", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic realm=")),
        "{r:?}"
    );
    let r = floe.get(
        "/admin/stats",
        &[("Authorization", &basic("admin", "wrong"))],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let r = floe.get(
        "/admin/stats",
        &[("Authorization", &basic("nobody", ADMIN_PASSWORD))],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let r = floe.get("/admin/metadata?mode=updinfo&mount=/live.mp3&song=x", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(floe.admin("/admin/stats").status, 200);
}

#[test]
fn source_credentials_manage_their_own_mount_only() {
    let floe = Floe::start_with(
        "[mounts.\"/a.mp3\"]\nsource_password = \"a-pw\"\n\n[mounts.\"/b.mp3\"]\nsource_password = \"b-pw\"\n",
    );
    let a = basic("source", "a-pw");
    let meta = |mount: &str| format!("/admin/metadata?mode=updinfo&mount={mount}&song=x");
    let r = floe.get(&meta("/a.mp3"), &[("Authorization", &a)]);
    assert_eq!(r.status, 200, "own mount: {r:?}");
    let r = floe.get(&meta("/b.mp3"), &[("Authorization", &a)]);
    assert!(r.status == 401 || r.status == 403, "another mount: {r:?}");
    let r = floe.get("/admin/stats", &[("Authorization", &a)]);
    assert!(
        r.status == 401 || r.status == 403,
        "server-wide page: {r:?}"
    );
    let r = floe.get("/admin/killsource?mount=/b.mp3", &[("Authorization", &a)]);
    assert!(r.status == 401 || r.status == 403, "another mount: {r:?}");
    assert_eq!(floe.admin(&meta("/b.mp3")).status, 200, "the admin may");

    // Without per-mount credentials, the global source credentials manage any mount's title.
    let floe = Floe::start();
    let _s = live_source(&floe, "/live.mp3", &[]);
    let r = floe.get(
        "/admin/metadata?mode=updinfo&mount=/live.mp3&song=x",
        &[("Authorization", &source_auth())],
    );
    assert_eq!(r.status, 200, "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn floe_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_floe"));
    c.env_remove("FLOE_CONFIG")
        .env_remove("FLOE_LISTEN")
        .env_remove("FLOE_SOURCE_PASSWORD")
        .env_remove("FLOE_ADMIN_PASSWORD")
        .env_remove("FLOE_LOG")
        .stdin(Stdio::null());
    c
}

/// `floe check-config FILE`, run to the end.
fn check_config(file: &std::path::Path) -> std::process::Output {
    floe_cmd()
        .arg("check-config")
        .arg(file)
        .output()
        .expect("run")
}

#[test]
fn cli_help_lists_the_commands() {
    let out = floe_cmd().arg("--help").output().expect("run floe");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("serve") && text.contains("check-config"),
        "{text}"
    );
}

#[test]
fn cli_check_config_reports_every_error_with_key_and_line() {
    let dir = scratch_dir("check-config");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nlisten = \"nowhere\"\n\n[limits]\nmax_listeners = 0\n\n[mounts.\"/a\"]\nmetaint = 0\nfallback = \"bad path\"\n",
    )
    .expect("write");
    let out = check_config(&bad);
    assert!(!out.status.success(), "a bad file must fail");
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    for want in [
        "line 2: server.listen",
        "line 5: limits.max_listeners",
        "line 8: mounts.\"/a\".metaint",
        "line 9: mounts.\"/a\".fallback",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }

    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "[limits]\nmax_sources = 4\nmax_listner = 3\n").expect("write");
    let out = check_config(&typo);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("max_listner"),
        "{err}"
    );

    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../floe.example.toml");
    let out = check_config(&example);
    assert!(
        out.status.success(),
        "the example config must pass: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cli_serve_without_passwords_generates_and_prints_them_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = scratch_dir("serve-nopw");
    let mut child = floe_cmd()
        .arg("serve")
        .env("FLOE_LISTEN", &addr)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
            t.push_str(&line);
            t.push('\n');
        }
    });
    let printed = eventually(SECS, || {
        let t = text.lock().unwrap_or_else(|e| e.into_inner());
        t.contains("admin:") && t.contains("Listen:")
    });
    let passwords = |t: &str, who: &str| -> Vec<String> {
        t.lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{who}:")))
            .filter_map(|rest| rest.split_once(" / ").map(|(_, pw)| pw.trim().to_string()))
            .collect()
    };
    let snapshot = text.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let source_pw = passwords(&snapshot, "source");
    let admin_pw = passwords(&snapshot, "admin");
    // The printed source password works.
    let accepted = printed
        && source_pw.len() == 1
        && std::net::TcpStream::connect(&addr).is_ok_and(|mut s| {
            s.set_read_timeout(Some(SECS)).ok();
            let req = format!(
                "PUT /live.mp3 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: audio/mpeg\r\n\r\n",
                basic("source", &source_pw[0])
            );
            s.write_all(req.as_bytes()).is_ok()
                && Response::parse(&read_head(&mut s)).status == 200
        });
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let all = text.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(printed, "no generated passwords printed:\n{all}");
    assert_eq!(source_pw.len(), 1, "source password printed once:\n{all}");
    assert_eq!(admin_pw.len(), 1, "admin password printed once:\n{all}");
    for pw in source_pw.iter().chain(&admin_pw) {
        assert!(
            pw.len() >= 12 && pw.chars().all(|c| c.is_ascii_alphanumeric()),
            "{pw:?}"
        );
    }
    assert_ne!(source_pw[0], admin_pw[0]);
    assert!(accepted, "the printed source password was refused:\n{all}");
}
