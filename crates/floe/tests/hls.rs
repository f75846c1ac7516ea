//! HLS, LL-HLS and DASH against real clients: ffmpeg as the live source and as the player,
//! ffprobe for timestamps, nginx as a caching proxy in front of Floe.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Waits until the mount's CMAF playlist lists at least `segments` complete segments; returns it.
fn wait_segments(floe: &Floe, mount: &str, segments: usize) -> String {
    let mut last = String::new();
    let ok = eventually(Duration::from_secs(40), || {
        let r = floe.get(&format!("/hls{mount}/index.m3u8"), &[]);
        last = r.text();
        r.status == 200 && last.matches("#EXTINF").count() >= segments
    });
    assert!(
        ok,
        "never {segments} segments on {mount}; last playlist:\n{last}\nlog:\n{}",
        floe.log_text()
    );
    last
}

/// Waits until the mount's CMAF playlist has a discontinuity followed by two complete segments;
/// returns it.
fn wait_discontinuity(floe: &Floe, mount: &str) -> String {
    let mut last = String::new();
    let ok = eventually(Duration::from_secs(30), || {
        last = floe.get(&format!("/hls{mount}/index.m3u8"), &[]).text();
        last.split("#EXT-X-DISCONTINUITY\n")
            .nth(1)
            .is_some_and(|rest| rest.matches("#EXTINF").count() >= 2)
    });
    assert!(
        ok,
        "no discontinuity followed by new segments on {mount}:\n{last}"
    );
    last
}

/// The media sequence number of the first listed segment and the segment URIs.
fn segment_uris(playlist: &str, ext: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.starts_with('#') && l.ends_with(ext))
        .map(str::to_string)
        .collect()
}

/// Downloads init + the listed segments into one file and checks with ffprobe that packet
/// timestamps run on without a gap or overlap, and that ffmpeg decodes it cleanly.
fn check_cmaf_continuity(floe: &Floe, mount: &str, playlist: &str) {
    let init = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("EXT-X-MAP");
    let mut file = floe.get(&format!("/hls{mount}/{init}"), &[]).body;
    let segments = segment_uris(playlist, ".m4s");
    assert!(segments.len() >= 3, "{playlist}");
    for s in &segments {
        let r = floe.get(&format!("/hls{mount}/{s}"), &[]);
        assert_eq!(r.status, 200, "{s}");
        file.extend_from_slice(&r.body);
    }
    let dir = scratch_dir("hls-cmaf");
    let path = dir.join("joined.mp4");
    std::fs::write(&path, &file).expect("write");
    let text = ffprobe_csv(&path, "packet=pts,duration");
    // pts and duration; ffprobe leaves Opus durations out (N/A): ffmpeg's sources send
    // constant-duration frames, so then every step must equal the first.
    let packets: Vec<(i64, Option<i64>)> = text
        .lines()
        .filter_map(|l| {
            let (p, d) = l.split_once(',')?;
            Some((p.trim().parse().ok()?, d.trim().parse().ok()))
        })
        .collect();
    assert!(packets.len() > 30, "few packets: {text}");
    let step = packets[1].0 - packets[0].0;
    assert!(step > 0, "{text}");
    for w in packets.windows(2) {
        let expected = w[0].1.unwrap_or(step);
        assert_eq!(
            w[1].0,
            w[0].0 + expected,
            "timestamps jump between packets {w:?}"
        );
    }
    assert_ffmpeg_decodes(path.to_str().expect("path"), 3600);
}

#[test]
fn aac_hls_ts_and_dash_play_in_ffmpeg_with_continuous_timestamps() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let _enc = live_tone_source(&floe, "/live.aac", AAC);
    let playlist = wait_segments(&floe, "/live.aac", 4);
    assert!(
        playlist.contains("#EXT-X-PROGRAM-DATE-TIME:20"),
        "{playlist}"
    );
    assert!(playlist.contains("#EXT-X-PART:DURATION="), "{playlist}");
    assert!(
        playlist.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI="),
        "{playlist}"
    );
    assert!(
        playlist.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"),
        "{playlist}"
    );
    check_cmaf_continuity(&floe, "/live.aac", &playlist);
    for url in ["index.m3u8", "ts.m3u8", "manifest.mpd"] {
        assert_ffmpeg_decodes(&floe.url(&format!("/hls/live.aac/{url}")), 10);
    }
    // The master playlist names the codec and a measured bandwidth.
    let master = floe.get("/hls/live.aac/master.m3u8", &[]).text();
    assert!(master.contains("CODECS=\"mp4a.40.2\""), "{master}");
    let mpd = floe.get("/hls/live.aac/manifest.mpd", &[]).text();
    assert!(
        mpd.contains("<UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\""),
        "{mpd}"
    );
    let time = floe.get("/api/v1/time", &[]).text();
    assert!(time.starts_with("20") && time.ends_with('Z'), "{time}");
    // Discoverable from the API.
    let mounts = floe.get("/api/v1/mounts", &[]).json();
    let entry = mounts
        .as_array()
        .and_then(|a| a.iter().find(|m| m["path"] == "/live.aac"))
        .expect("mount listed")
        .clone();
    assert_eq!(
        entry["hls_url"],
        serde_json::json!(floe.url("/hls/live.aac/index.m3u8"))
    );
    assert_eq!(
        entry["dash_url"],
        serde_json::json!(floe.url("/hls/live.aac/manifest.mpd"))
    );
}

#[test]
fn opus_and_mp3_hls_decode_cleanly() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let _opus = ffmpeg_tone_source(&floe, "/live.opus", OPUS, false);
    let _mp3 = ffmpeg_tone_source(&floe, "/live.mp3", MP3, false);
    wait_live(&floe, "/live.opus");
    wait_live(&floe, "/live.mp3");
    let opus = wait_segments(&floe, "/live.opus", 3);
    let mp3 = wait_segments(&floe, "/live.mp3", 3);
    check_cmaf_continuity(&floe, "/live.opus", &opus);
    check_cmaf_continuity(&floe, "/live.mp3", &mp3);
    for url in [
        "/hls/live.opus/index.m3u8",
        "/hls/live.mp3/index.m3u8",
        "/hls/live.mp3/ts.m3u8",
    ] {
        assert_ffmpeg_decodes(&floe.url(url), 8);
    }
    // Opus has no TS form.
    assert_eq!(floe.get("/hls/live.opus/ts.m3u8", &[]).status, 404);
    // Players are given what browsers play: CMAF and DASH for Opus, TS and no DASH for MP3.
    let mounts = floe.get("/api/v1/mounts", &[]).json();
    let entry = |path: &str| {
        mounts
            .as_array()
            .and_then(|a| a.iter().find(|m| m["path"] == path))
            .expect("mount listed")
            .clone()
    };
    assert_eq!(
        entry("/live.mp3")["hls_url"],
        serde_json::json!(floe.url("/hls/live.mp3/ts.m3u8"))
    );
    assert!(entry("/live.mp3")["dash_url"].is_null());
    assert_eq!(
        entry("/live.opus")["dash_url"],
        serde_json::json!(floe.url("/hls/live.opus/manifest.mpd"))
    );
}

/// The `(msn, part)` of the playlist's preload hint.
fn preload_hint(playlist: &str) -> (u64, u32) {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p"))
        .and_then(|l| l.strip_suffix(".m4s\""))
        .unwrap_or_else(|| panic!("no preload hint:\n{playlist}"));
    let (msn, part) = uri.split_once('.').expect("msn.part");
    (msn.parse().expect("msn"), part.parse().expect("part"))
}

#[test]
fn blocking_reload_and_preload_hints_wait_for_the_part() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let _enc = live_tone_source(&floe, "/live.aac", AAC);
    let before = wait_segments(&floe, "/live.aac", 1);
    let (msn, part) = preload_hint(&before);
    let uri = format!("URI=\"p{msn}.{part}.m4s\"");
    assert!(
        !before.contains(&format!("{uri},INDEPENDENT")),
        "the hinted part is not listed yet:\n{before}"
    );
    // Blocking reload: the answer lists the part the request waited for.
    let r = floe.get(
        &format!("/hls/live.aac/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"),
        &[],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains(&format!("{uri},INDEPENDENT=YES")),
        "{}",
        r.text()
    );
    let (next_msn, next_part) = preload_hint(&r.text());
    assert!((next_msn, next_part) > (msn, part));
    // The hinted part: the request is answered once it is complete, with a CMAF fragment.
    let hinted = floe.get(&format!("/hls/live.aac/p{next_msn}.{next_part}.m4s"), &[]);
    assert_eq!(hinted.status, 200);
    assert_eq!(&hinted.body[4..8], b"styp");
    assert!(find(&hinted.body, b"mdat").is_some());
    assert_eq!(
        hinted.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // Too far ahead: refused at once.
    let far = floe.get(
        &format!("/hls/live.aac/index.m3u8?_HLS_msn={}", next_msn + 10),
        &[],
    );
    assert_eq!(far.status, 400);
    let bad = floe.get("/hls/live.aac/index.m3u8?_HLS_part=1", &[]);
    assert_eq!(bad.status, 400);
    let bad = floe.get("/hls/live.aac/index.m3u8?_HLS_skip=maybe", &[]);
    assert_eq!(bad.status, 400);
}

#[test]
fn delta_updates_skip_old_segments_and_titles_are_timed_metadata() {
    require_ffmpeg();
    let floe = Floe::start_with("[hls]\nsegment_duration = 1.0\npart_duration = 0.25\n");
    let _enc = live_tone_source(&floe, "/live.aac", AAC);
    set_title(&floe, "/live.aac", "Artist - First Song");
    // CAN-SKIP-UNTIL is 6 target durations (6 s): wait for more than that.
    let full = wait_segments(&floe, "/live.aac", 9);
    assert!(full.contains("CAN-SKIP-UNTIL=6,"), "{full}");
    assert!(!full.contains("#EXT-X-SKIP"));
    let delta = floe
        .get("/hls/live.aac/index.m3u8?_HLS_skip=YES", &[])
        .text();
    assert!(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="), "{delta}");
    assert!(delta.matches("#EXTINF").count() < full.matches("#EXTINF").count());
    assert!(
        full.contains("CLASS=\"com.floe.title\"")
            && full.contains("X-TITLE=\"Artist - First Song\""),
        "{full}"
    );
    // The delta update keeps the title set before its skipped segments (Floe does not offer
    // CAN-SKIP-DATERANGES).
    assert!(delta.contains("X-TITLE=\"Artist - First Song\""), "{delta}");
}

#[test]
fn hls_sessions_count_as_listeners_and_the_segmenter_does_not() {
    require_ffmpeg();
    let floe = Floe::start_with("[hls]\nsession_timeout_segments = 30\n");
    let _enc = live_tone_source(&floe, "/live.aac", AAC);
    let playlist = wait_segments(&floe, "/live.aac", 1);
    let listeners = |floe: &Floe| {
        let v = floe.get("/api/v1/mounts/live.aac", &[]).json();
        v["listeners"].as_u64().expect("listeners")
    };
    // The playlist requests above are one session (this test's address, no user agent); the
    // segmenter's own listener session is not counted.
    assert!(
        eventually(Duration::from_secs(5), || listeners(&floe) == 1),
        "one HLS session, no segmenter: {}",
        listeners(&floe)
    );
    let clients = floe.admin("/admin/listclients?mount=/live.aac").text();
    assert!(
        clients.contains("<Listeners>0</Listeners>") && !clients.contains("Floe segmenter"),
        "the segmenter is not listed: {clients}"
    );
    let seg = segment_uris(&playlist, ".m4s");
    for ua in ["PlayerOne/1.0", "PlayerTwo/2.0"] {
        let r = floe.get(&format!("/hls/live.aac/{}", seg[0]), &[("User-Agent", ua)]);
        assert_eq!(r.status, 200);
    }
    assert!(
        eventually(Duration::from_secs(5), || listeners(&floe) == 3),
        "three HLS sessions: {}",
        listeners(&floe)
    );
    let status = floe.get("/status-json.xsl", &[]).json();
    let source = &status["icestats"]["source"];
    let source = if source.is_array() {
        &source[0]
    } else {
        source
    };
    assert_eq!(source["listeners"], 3, "{status}");
}

#[test]
fn a_station_master_playlist_lists_its_renditions() {
    require_ffmpeg();
    let floe = Floe::start_with("[demo]\nenabled = true\n");
    wait_live(&floe, "/demo.mp3");
    wait_segments(&floe, "/demo.mp3", 2);
    wait_segments(&floe, "/demo.opus", 2);
    let master = floe.get("/hls/stations/demo.m3u8", &[]);
    assert_eq!(master.status, 200, "{}", master.text());
    let text = master.text();
    // MP3 as MPEG-TS (browsers' MSE has no MP3 in MP4), Opus as CMAF.
    assert!(
        text.contains("CODECS=\"mp4a.40.34\"\n/hls/demo.mp3/ts.m3u8\n")
            && text.contains("CODECS=\"opus\"\n/hls/demo.opus/index.m3u8\n"),
        "{text}"
    );
    // Measured: the 128 kbit/s CBR MP3 with its CMAF overhead; Opus is VBR (silence at first).
    let bandwidth: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split("BANDWIDTH=").nth(1))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    assert_eq!(bandwidth.len(), 2, "{text}");
    assert!((128_000..150_000).contains(&bandwidth[0]), "{text}");
    assert!(bandwidth[1] > 0, "{text}");
    // Each rendition reports the others.
    let media = floe.get("/hls/demo.mp3/index.m3u8", &[]).text();
    assert!(
        media.contains("#EXT-X-RENDITION-REPORT:URI=\"../demo.opus/index.m3u8\""),
        "{media}"
    );
    assert_ffmpeg_decodes(&floe.url("/hls/stations/demo.m3u8"), 6);
}

/// nginx as a caching reverse proxy on `port`, in front of `upstream`; killed on drop.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<&'static str> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

fn start_nginx(upstream: std::net::SocketAddr) -> Nginx {
    let bin = nginx_binary().expect("nginx is needed for this test (apt-get install nginx)");
    let dir = scratch_dir("nginx");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let conf = format!(
        "daemon off;
worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  proxy_cache_path {dir}/cache levels=1:2 keys_zone=hls:10m max_size=100m;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://{upstream};
      proxy_http_version 1.1;
      proxy_cache hls;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }}
  }}
}}
",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nginx");
    let nginx = Nginx { child, port };
    assert!(
        eventually(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nginx did not start: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
    nginx
}

/// A GET through nginx: status, `X-Cache-Status`, body.
fn via(nginx: &Nginx, path: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", nginx.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let r = Response::parse(&raw);
    (
        r.status,
        r.header("x-cache-status").unwrap_or("").to_string(),
        r.body.clone(),
    )
}

#[test]
fn segments_are_served_from_an_nginx_cache_and_play_through_it() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let nginx = start_nginx(floe.addr);
    let _enc = live_tone_source(&floe, "/live.aac", AAC);
    let playlist = wait_segments(&floe, "/live.aac", 2);
    let segments = segment_uris(&playlist, ".m4s");
    for s in &segments[..2] {
        let path = format!("/hls/live.aac/{s}");
        let (status, cache, first) = via(&nginx, &path);
        assert_eq!((status, cache.as_str()), (200, "MISS"), "{path}");
        let (status, cache, second) = via(&nginx, &path);
        assert_eq!((status, cache.as_str()), (200, "HIT"), "{path}");
        assert_eq!(first, second);
        assert_eq!(first, floe.get(&path, &[]).body);
    }
    // The playlist is cached for its max-age (1 s; nginx's clock counts whole seconds, so up
    // to 2 s), then fetched again.
    let (_, first, _) = via(&nginx, "/hls/live.aac/index.m3u8");
    assert_eq!(first, "MISS");
    std::thread::sleep(Duration::from_millis(2500));
    let (_, later, _) = via(&nginx, "/hls/live.aac/index.m3u8");
    assert!(
        later == "EXPIRED" || later == "MISS",
        "playlist served stale: {later}"
    );
    let url = format!("http://127.0.0.1:{}/hls/live.aac/index.m3u8", nginx.port);
    assert_ffmpeg_decodes(&url, 8);
}

#[test]
fn ogg_flac_hls_decodes_cleanly() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let _enc = live_tone_source(&floe, "/live.flac.ogg", OGG_FLAC);
    let playlist = wait_segments(&floe, "/live.flac.ogg", 3);
    let master = floe.get("/hls/live.flac.ogg/master.m3u8", &[]).text();
    assert!(master.contains("CODECS=\"fLaC\""), "{master}");
    check_cmaf_continuity(&floe, "/live.flac.ogg", &playlist);
}

#[test]
fn a_returning_source_continues_the_playlist_after_a_discontinuity() {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let first = ffmpeg_sine_source(&floe, "/live.aac", AAC, false, 440, 5);
    wait_live(&floe, "/live.aac");
    let before = wait_segments(&floe, "/live.aac", 1);
    assert!(!before.contains("#EXT-X-DISCONTINUITY\n"), "{before}");
    drop(first);
    assert!(
        eventually(Duration::from_secs(15), || floe
            .request("HEAD", "/live.aac", &[])
            .status
            != 200),
        "the source never left"
    );
    // With no source, a blocking reload for the next part cannot be satisfied: after three
    // target durations it is answered 503, uncacheable.
    // (Once the segmenter has published what the source left: the playlist stops changing.)
    let mut idle = String::new();
    assert!(eventually(Duration::from_secs(10), || {
        let before = floe.get("/hls/live.aac/index.m3u8", &[]).text();
        std::thread::sleep(Duration::from_millis(300));
        idle = floe.get("/hls/live.aac/index.m3u8", &[]).text();
        idle == before
    }));
    let (msn, part) = preload_hint(&idle);
    let blocked = floe.get(
        &format!("/hls/live.aac/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"),
        &[],
    );
    assert_eq!(blocked.status, 503, "{}", blocked.text());
    assert_eq!(blocked.header("cache-control"), Some("no-cache"));
    let _second = ffmpeg_sine_source(&floe, "/live.aac", AAC, false, 880, 60);
    wait_live(&floe, "/live.aac");
    let after = wait_discontinuity(&floe, "/live.aac");
    // The sequence goes on: the playlist still starts at segment 0 and the new run follows.
    assert!(after.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{after}");
    assert_ffmpeg_decodes(&floe.url("/hls/live.aac/index.m3u8"), 6);
}

#[test]
fn a_library_track_is_offered_as_on_demand_hls_and_seeks() {
    require_ffmpeg();
    let dir = scratch_dir("hls-vod");
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("music dir");
    let file = music.join("long.mp3");
    let made = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:sample_rate=44100:duration=40")
        .args([
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-metadata",
            "title=Long",
        ])
        .arg(&file)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let floe = Floe::start_with(&format!(
        "[library]\npath = {:?}\ndatabase = {:?}\n[hls]\nvod_segment_duration = 4.0\n",
        music.display().to_string(),
        dir.join("lib.db").display().to_string()
    ));
    let mut id = None;
    assert!(
        eventually(Duration::from_secs(30), || {
            let r = floe.get("/api/v1/tracks", &[]);
            id = (r.status == 200)
                .then(|| r.json()["items"][0]["id"].as_i64())
                .flatten();
            id.is_some()
        }),
        "the library scan did not finish"
    );
    let id = id.expect("track id");
    let playlist = floe.get(&format!("/api/v1/tracks/{id}/hls/index.m3u8"), &[]);
    assert_eq!(playlist.status, 200);
    let text = playlist.text();
    assert!(
        text.contains("#EXT-X-PLAYLIST-TYPE:VOD") && text.ends_with("#EXT-X-ENDLIST\n"),
        "{text}"
    );
    // 40 s in segments of about 4 s.
    assert_eq!(text.matches("#EXTINF").count(), 10, "{text}");
    let url = floe.url(&format!("/api/v1/tracks/{id}/hls/index.m3u8"));
    assert_ffmpeg_decodes(&url, 3600);
    // Seeking: a player that jumps to 30 s needs only the init segment and the segment the
    // EXTINF durations place there; that segment decodes on its own, starting at its place.
    // (ffmpeg 5.1's HLS demuxer cannot seek fMP4 playlists at all, ffmpeg's own included.)
    let durations: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|l| l.trim_end_matches(',').parse().ok())
        .collect();
    let (mut n, mut start) = (0, 0.0);
    while start + durations[n] <= 30.0 {
        start += durations[n];
        n += 1;
    }
    let mut joined = floe
        .get(&format!("/api/v1/tracks/{id}/hls/init.mp4"), &[])
        .body;
    joined.extend(
        floe.get(&format!("/api/v1/tracks/{id}/hls/s{n}.m4s"), &[])
            .body,
    );
    let path = dir.join("seek.mp4");
    std::fs::write(&path, &joined).expect("write");
    let first: f64 = ffprobe_csv(&path, "packet=pts_time")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("a packet");
    assert!(
        (first - start).abs() < 0.001,
        "segment {n} starts at {first}, the playlist says {start}"
    );
    assert_ffmpeg_decodes(path.to_str().expect("path"), 3600);
    // Segments are cacheable and conditional.
    let seg = floe.get(&format!("/api/v1/tracks/{id}/hls/s3.m4s"), &[]);
    assert_eq!(seg.status, 200);
    let etag = seg.header("etag").expect("etag").to_string();
    let again = floe.get(
        &format!("/api/v1/tracks/{id}/hls/s3.m4s"),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert_eq!(
        floe.get(&format!("/api/v1/tracks/{id}/hls/s99.m4s"), &[])
            .status,
        404
    );
}

#[test]
fn when_the_source_leaves_for_a_fallback_the_playlist_goes_on_after_a_discontinuity() {
    require_ffmpeg();
    let floe = Floe::start_with(
        "[mounts.\"/live.aac\"]\nfallback = \"/backup.aac\"\n\n[mounts.\"/backup.aac\"]\n",
    );
    let _backup = ffmpeg_sine_source(&floe, "/backup.aac", AAC, false, 880, 60);
    let live = ffmpeg_sine_source(&floe, "/live.aac", AAC, false, 440, 60);
    wait_live(&floe, "/backup.aac");
    wait_live(&floe, "/live.aac");
    wait_segments(&floe, "/live.aac", 2);
    drop(live);
    wait_discontinuity(&floe, "/live.aac");
    // Neither mount counts the segmenters (two now read /backup.aac) as listeners.
    let v = floe.get("/api/v1/mounts/backup.aac", &[]).json();
    assert_eq!(v["listeners"], 0, "no listener of its own: {v}");
    assert_ffmpeg_decodes(&floe.url("/hls/live.aac/index.m3u8"), 6);
}

#[test]
fn a_mount_can_opt_out_of_hls() {
    require_ffmpeg();
    let floe = Floe::start_with("[mounts.\"/quiet.aac\"]\nhls = false\n");
    let _enc = live_tone_source(&floe, "/quiet.aac", AAC);
    // Give a segmenter time to have started, were there one.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(floe.get("/hls/quiet.aac/index.m3u8", &[]).status, 404);
    assert_eq!(floe.get("/hls/quiet.aac/manifest.mpd", &[]).status, 404);
    let v = floe.get("/api/v1/mounts/quiet.aac", &[]).json();
    assert!(v["hls_url"].is_null() && v["dash_url"].is_null(), "{v}");
}
