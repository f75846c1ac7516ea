//! The music library: `floe scan` over a generated library of every format (tags, durations,
//! art, failures), incremental rescans, and the REST API of a running server (pagination,
//! search, suggestions, covers, playlists with import and export, errors, watching).

mod common;

use common::library::{make_library, send, LibraryFixture, CORRUPT, TRACKS};
use common::{eventually, require_ffmpeg, scratch_dir, Floe, Response};
use floe_library::{CoverData, Library};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Runs `floe scan DIR --database DB`; returns its standard output.
fn scan(root: &Path, db: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_floe"))
        .arg("scan")
        .arg(root)
        .arg("--database")
        .arg(db)
        .arg("--quiet")
        .output()
        .expect("run floe scan");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "floe scan failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The counts of a summary's first line, e.g. "scanned 8 files in /x: 7 added, 0 changed, …".
fn counts(summary: &str) -> (u64, u64, u64, u64, u64, u64) {
    let first = summary.lines().next().unwrap_or("");
    let n = |word: &str| -> u64 {
        let before = first.split(&format!(" {word}")).next().unwrap_or("");
        before
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("no count for {word} in {first:?}"))
    };
    let read_line = summary.lines().nth(1).unwrap_or("");
    let read: u64 = read_line
        .split(' ')
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no read count in {read_line:?}"));
    (
        n("added"),
        n("changed"),
        n("removed"),
        n("unchanged"),
        n("failed"),
        read,
    )
}

fn fixture(name: &str) -> (std::path::PathBuf, LibraryFixture) {
    require_ffmpeg();
    let dir = scratch_dir(name);
    let lib = make_library(&dir);
    (dir, lib)
}

#[test]
fn scan_reads_every_format_with_tags_durations_and_art() {
    let (dir, fx) = fixture("lib-scan");
    let db = dir.join("library.db");
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (7, 0, 0, 0, 1, 8), "{out}");
    assert!(out.contains("files/s"), "{out}");
    let failure = out
        .lines()
        .find(|l| l.starts_with("failed: "))
        .expect("a failure line");
    assert!(
        failure.contains(&fx.path(CORRUPT).display().to_string()),
        "{failure}"
    );

    let library = Library::open(&db).expect("open");
    let all = library
        .tracks(floe_library::PageRequest {
            offset: 0,
            limit: 100,
        })
        .expect("tracks");
    assert_eq!(all.total, 7);
    for expected in TRACKS {
        let path = std::fs::canonicalize(fx.path(expected.rel)).expect("path");
        let t = all
            .items
            .iter()
            .find(|t| t.path == path)
            .unwrap_or_else(|| panic!("{} not in the catalog", expected.rel));
        assert_eq!(t.title, expected.title, "{}", expected.rel);
        assert_eq!(t.artist, expected.artist, "{}", expected.rel);
        assert_eq!(t.album, expected.album, "{}", expected.rel);
        assert_eq!(t.album_artist, expected.artist, "{}", expected.rel);
        assert_eq!(t.track_no, expected.track_no, "{}", expected.rel);
        assert_eq!(t.year, expected.year, "{}", expected.rel);
        assert_eq!(t.genre.as_deref(), expected.genre, "{}", expected.rel);
        assert_eq!(t.suffix, expected.suffix);
        assert_eq!(t.content_type, expected.content_type);
        assert_eq!(
            t.sample_rate,
            Some(expected.sample_rate),
            "{}",
            expected.rel
        );
        assert_eq!(t.channels, Some(1), "{}", expected.rel);
        assert_eq!(t.size, std::fs::metadata(&path).expect("meta").len());
        let want_ms = u64::from(expected.seconds) * 1000;
        assert!(
            t.duration_ms.abs_diff(want_ms) <= 120,
            "{}: duration {} ms, expected {want_ms}",
            expected.rel,
            t.duration_ms
        );
        assert!(t.bitrate_kbps.is_some_and(|b| b > 0), "{}", expected.rel);
        assert_eq!(
            t.has_cover,
            expected.embedded_art || expected.folder_art,
            "{}",
            expected.rel
        );
        if let Some(cover) = t.cover_id {
            let cover = library.cover(cover).expect("cover").expect("cover row");
            if expected.embedded_art {
                assert_eq!(cover.mime, "image/png");
                assert_eq!(cover.data, CoverData::Bytes(fx.embedded_png.clone().into()));
            } else {
                assert_eq!(cover.mime, "image/jpeg");
                assert_eq!(
                    cover.data,
                    CoverData::File(
                        std::fs::canonicalize(fx.path("Alpha Band/One/cover.jpg")).expect("p")
                    )
                );
            }
        }
        let album = library
            .album(t.album_id)
            .expect("album")
            .expect("album row");
        assert_eq!(album.name, expected.album);
        let artist = library
            .artist(t.artist_id)
            .expect("artist")
            .expect("artist row");
        assert_eq!(artist.name, expected.artist);
    }
    let (tracks, albums, artists) = library.counts().expect("counts");
    assert_eq!((tracks, albums, artists), (7, 3, 3));

    // A folder that is not there is an error of the command, naming it; the catalog stays.
    let missing = dir.join("no-such-folder");
    let out = Command::new(env!("CARGO_BIN_EXE_floe"))
        .arg("scan")
        .arg(&missing)
        .arg("--database")
        .arg(&db)
        .output()
        .expect("run floe scan");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert_eq!(library.counts().expect("counts").0, 7);
}

/// Sets a file's modification time (to put back the time a rewrite changed).
fn set_mtime(path: &Path, time: SystemTime) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.set_modified(time).expect("set mtime");
}

#[test]
fn rescans_read_only_new_and_changed_files() {
    let (dir, fx) = fixture("lib-rescan");
    let db = dir.join("library.db");
    assert_eq!(counts(&scan(&fx.root, &db)).0, 7);

    // Unchanged: nothing is read. Prove it: replace one file's content with garbage of the
    // same size and put its modification time back; the rescan must not notice.
    let mp3 = fx.path(TRACKS[0].rel);
    let meta = std::fs::metadata(&mp3).expect("meta");
    let original = std::fs::read(&mp3).expect("read");
    std::fs::write(&mp3, vec![0u8; original.len()]).expect("overwrite");
    set_mtime(&mp3, meta.modified().expect("mtime"));
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (0, 0, 0, 7, 1, 0), "{out}");
    let library = Library::open(&db).expect("open");
    let canonical = std::fs::canonicalize(&mp3).expect("canon");
    let find = |library: &Library, path: &Path| {
        library
            .tracks(floe_library::PageRequest {
                offset: 0,
                limit: 100,
            })
            .expect("tracks")
            .items
            .into_iter()
            .find(|t| t.path == path)
    };
    let before = find(&library, &canonical).expect("mp3 still catalogued");
    assert_eq!(before.title, "First Song");

    // Now its time changes too: it is read, fails, and leaves the catalog (a failure).
    set_mtime(
        &mp3,
        meta.modified().expect("mtime") + Duration::from_secs(10),
    );
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (0, 0, 1, 6, 2, 1), "{out}");
    assert!(find(&library, &canonical).is_none());

    // Put it back with new tags: read again, added under the same path.
    std::fs::remove_file(&mp3).expect("rm");
    let mut retitled = TRACKS[0].clone();
    retitled.title = "First Song Remastered";
    common::library::encode(&retitled, &mp3, None, 500);
    // A changed file (new tags) keeps its id.
    let flac = fx.path(TRACKS[1].rel);
    let flac_id = find(&library, &std::fs::canonicalize(&flac).expect("c"))
        .expect("flac")
        .id;
    let mut flac_track = TRACKS[1].clone();
    flac_track.title = "Second Song (Live)";
    std::fs::remove_file(&flac).expect("rm");
    common::library::encode(&flac_track, &flac, None, 600);
    set_mtime(&flac, SystemTime::now() + Duration::from_secs(5));
    // A removed file.
    std::fs::remove_file(fx.path(TRACKS[6].rel)).expect("rm wav");
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (1, 1, 1, 4, 1, 2), "{out}");
    assert_eq!(
        find(&library, &canonical).expect("mp3 back").title,
        "First Song Remastered"
    );
    let flac_now = find(&library, &std::fs::canonicalize(&flac).expect("c")).expect("flac");
    assert_eq!(
        (flac_now.id, flac_now.title.as_str()),
        (flac_id, "Second Song (Live)")
    );
    // The re-encoded mp3 has no picture of its own: it takes the folder's.
    let mp3_now = find(&library, &canonical).expect("mp3");
    let cover = library
        .cover(mp3_now.cover_id.expect("folder art"))
        .expect("c")
        .expect("row");
    assert_eq!(cover.mime, "image/jpeg");

    // Folder art added to a folder of unchanged files applies without reading them.
    let various_cover = fx.path("Various/folder.png");
    std::fs::copy(dir.join("art.png"), &various_cover).expect("copy art");
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (0, 0, 0, 6, 1, 0), "{out}");
    let ogg = find(
        &library,
        &std::fs::canonicalize(fx.path(TRACKS[4].rel)).expect("c"),
    )
    .expect("ogg");
    assert!(ogg.has_cover);
    let (tracks, albums, artists) = library.counts().expect("counts");
    assert_eq!((tracks, albums, artists), (6, 3, 3));

    // A moved file (rename: same name, size and time) keeps its id and is not read.
    let m4a = fx.path(TRACKS[3].rel);
    let m4a_id = find(&library, &std::fs::canonicalize(&m4a).expect("c"))
        .expect("m4a")
        .id;
    // Its new folder is a disc folder whose parent has the cover: that is its art.
    let deluxe = fx.path("Beta/Two (Deluxe)/CD1");
    std::fs::create_dir_all(&deluxe).expect("mkdir");
    std::fs::copy(
        fx.path("Alpha Band/One/cover.jpg"),
        fx.path("Beta/Two (Deluxe)/cover.jpg"),
    )
    .expect("cover");
    let moved_to = deluxe.join("02 Fourth Song.m4a");
    std::fs::rename(&m4a, &moved_to).expect("move");
    let out = scan(&fx.root, &db);
    assert_eq!(counts(&out), (0, 0, 0, 5, 1, 0), "{out}");
    assert!(out.contains(" 1 moved,"), "{out}");
    let moved = find(&library, &std::fs::canonicalize(&moved_to).expect("c")).expect("moved");
    assert_eq!((moved.id, moved.title.as_str()), (m4a_id, "Fourth Song"));
    let cover = library
        .cover(moved.cover_id.expect("parent folder art"))
        .expect("c")
        .expect("row");
    assert_eq!(
        cover.data,
        CoverData::File(std::fs::canonicalize(fx.path("Beta/Two (Deluxe)/cover.jpg")).expect("c"))
    );
    assert_eq!(library.counts().expect("counts").0, 6);
}

fn get_json(floe: &Floe, path: &str) -> Value {
    let r = floe.get(path, &[]);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    r.json()
}

fn error_of(r: &Response, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    assert_eq!(body["error"]["status"], status);
    body["error"]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

fn start_with_library(dir: &Path, root: &Path, extra: &str) -> Floe {
    let db = dir.join("served.db");
    let floe = Floe::start_with(&format!(
        "[library]\npath = {:?}\ndatabase = {:?}\nwatch_debounce_ms = 200\n{extra}",
        root.display().to_string(),
        db.display().to_string()
    ));
    assert!(
        eventually(Duration::from_secs(30), || {
            let r = floe.get("/api/v1/tracks", &[]);
            r.status == 200 && r.json()["total"] == 7
        }),
        "the start-up scan did not finish: {}",
        floe.get("/api/v1/tracks", &[]).text()
    );
    floe
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

#[test]
fn api_browses_pages_and_searches() {
    let (dir, fx) = fixture("lib-api");
    let floe = start_with_library(&dir, &fx.root, "max_page_size = 5\ndefault_page_size = 4\n");
    let base = format!("http://{}", floe.addr);

    // Pages: default size, explicit limit/offset, totals, every track once.
    let first = get_json(&floe, "/api/v1/tracks");
    assert_eq!(
        (first["total"].as_u64(), first["limit"].as_u64()),
        (Some(7), Some(4))
    );
    assert_eq!(first["items"].as_array().map(Vec::len), Some(4));
    let rest = get_json(&floe, "/api/v1/tracks?limit=5&offset=4");
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(3));
    let mut all = ids(&first["items"]);
    all.extend(ids(&rest["items"]));
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7);
    let past = get_json(&floe, "/api/v1/tracks?offset=100");
    assert_eq!(
        (
            past["total"].as_u64(),
            past["items"].as_array().map(Vec::len)
        ),
        (Some(7), Some(0))
    );
    for t in first["items"]
        .as_array()
        .expect("items")
        .iter()
        .chain(rest["items"].as_array().expect("i"))
    {
        let id = t["id"].as_i64().expect("id");
        assert_eq!(t["stream_url"], format!("{base}/api/v1/tracks/{id}/stream"));
        assert_eq!(t["url"], format!("{base}/api/v1/tracks/{id}"));
        assert!(
            t.get("path").is_none(),
            "the server's file path is not shown"
        );
        assert_eq!(t["cover_url"].is_string(), t["has_cover"] == true);
    }

    // Errors name the parameter.
    assert!(error_of(&floe.get("/api/v1/tracks?limit=6", &[]), 400).contains("limit"));
    assert!(error_of(&floe.get("/api/v1/tracks?limit=0", &[]), 400).contains("limit"));
    assert!(error_of(&floe.get("/api/v1/albums?offset=x", &[]), 400).contains("offset"));
    assert!(error_of(&floe.get("/api/v1/tracks/abc", &[]), 400).contains("id"));
    assert!(error_of(&floe.get("/api/v1/tracks/999999", &[]), 404).contains("999999"));
    assert_eq!(floe.get("/api/v1/albums/999999", &[]).status, 404);
    assert_eq!(floe.get("/api/v1/artists/999999", &[]).status, 404);
    assert_eq!(floe.get("/api/v1/covers/999999", &[]).status, 404);
    assert!(error_of(&floe.get("/api/v1/search", &[]), 400).contains('q'));
    assert!(error_of(&floe.get("/api/v1/search?q=%22*", &[]), 400).contains('q'));

    // Artists, an artist with its albums, an album with its tracks in order.
    let artists = get_json(&floe, "/api/v1/artists");
    assert_eq!(artists["total"], 3);
    let names: Vec<&str> = artists["items"]
        .as_array()
        .expect("a")
        .iter()
        .map(|a| a["name"].as_str().expect("n"))
        .collect();
    assert_eq!(names, ["Alpha Band", "Beta", "Gamma Ray Trio"]);
    let alpha = &artists["items"][0];
    let alpha = get_json(&floe, &format!("/api/v1/artists/{}", alpha["id"]));
    assert_eq!(alpha["albums"].as_array().map(Vec::len), Some(1));
    assert_eq!(alpha["albums"][0]["name"], "One");
    let album = get_json(
        &floe,
        &format!("/api/v1/albums/{}", alpha["albums"][0]["id"]),
    );
    assert_eq!(
        (album["year"].as_u64(), album["track_count"].as_u64()),
        (Some(2001), Some(2))
    );
    let titles: Vec<&str> = album["tracks"]
        .as_array()
        .expect("t")
        .iter()
        .map(|t| t["title"].as_str().expect("t"))
        .collect();
    assert_eq!(titles, ["First Song", "Second Song"]);
    assert_eq!(album["duration_ms"].as_u64().map(|d| d / 1000), Some(5));
    let albums = get_json(&floe, &format!("/api/v1/albums?artist_id={}", alpha["id"]));
    assert_eq!(albums["total"], 1);
    let track = get_json(
        &floe,
        &format!("/api/v1/tracks/{}", album["tracks"][1]["id"]),
    );
    assert_eq!(
        (track["title"].as_str(), track["suffix"].as_str()),
        (Some("Second Song"), Some("flac"))
    );

    // Covers: folder art is served from the file, embedded art from the catalog.
    let folder = floe.get(
        &track["cover_url"].as_str().expect("url")[base.len()..],
        &[],
    );
    assert_eq!(
        (folder.status, folder.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(folder.body, fx.cover_jpg);
    let embedded_url = album["tracks"][0]["cover_url"]
        .as_str()
        .expect("cover url")
        .to_string();
    let embedded = floe.get(&embedded_url[base.len()..], &[]);
    assert_eq!(
        (embedded.status, embedded.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(embedded.body, fx.embedded_png);
    let etag = embedded.header("etag").expect("etag").to_string();
    let again = floe.get(&embedded_url[base.len()..], &[("If-None-Match", &etag)]);
    assert_eq!((again.status, again.body.len()), (304, 0));
    let folder_etag = folder.header("etag").expect("etag").to_string();
    assert_ne!(folder_etag, etag);
    let cover_path = &track["cover_url"].as_str().expect("url")[base.len()..];
    assert_eq!(
        floe.get(cover_path, &[("If-None-Match", &folder_etag)])
            .status,
        304
    );
    assert_eq!(
        floe.get(cover_path, &[("If-None-Match", "\"other\"")])
            .status,
        200
    );

    // Search: word prefixes, all words required, across title, artist and album.
    let found = get_json(&floe, "/api/v1/search?q=alp");
    assert_eq!(found["artists"]["total"], 1);
    assert_eq!(found["artists"]["items"][0]["name"], "Alpha Band");
    assert_eq!(
        found["tracks"]["total"], 2,
        "alp matches both Alpha Band tracks"
    );
    let songs = get_json(&floe, "/api/v1/search?q=song");
    assert_eq!(songs["tracks"]["total"], 4);
    let two = get_json(&floe, "/api/v1/search?q=song&limit=2&offset=2");
    assert_eq!(two["tracks"]["items"].as_array().map(Vec::len), Some(2));
    let sec = get_json(&floe, "/api/v1/search?q=SEC%20so");
    assert_eq!(sec["tracks"]["total"], 1);
    assert_eq!(sec["tracks"]["items"][0]["title"], "Second Song");
    let word = get_json(&floe, "/api/v1/search?q=ray%20trio%20tune");
    assert_eq!(word["tracks"]["total"], 3);
    assert_eq!(word["artists"]["total"], 0, "no artist name has \"tune\"");
    assert_eq!(
        get_json(&floe, "/api/v1/search?q=ray%20trio")["artists"]["total"],
        1
    );
    let mix = get_json(&floe, "/api/v1/search?q=mixt");
    assert_eq!(mix["albums"]["total"], 1);
    assert_eq!(mix["albums"]["items"][0]["name"], "Mixtape");
    let none = get_json(&floe, "/api/v1/search?q=zzzz");
    assert_eq!(
        (
            none["artists"]["total"].as_u64(),
            none["tracks"]["total"].as_u64()
        ),
        (Some(0), Some(0))
    );

    // Suggestions: artists, then albums, then tracks.
    let s = get_json(&floe, "/api/v1/search/suggest?q=b");
    let first = &s["suggestions"][0];
    assert_eq!(
        (first["kind"].as_str(), first["text"].as_str()),
        (Some("artist"), Some("Beta"))
    );
    let s = get_json(&floe, "/api/v1/search/suggest?q=fourth%20s&limit=3");
    assert_eq!(s["suggestions"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["suggestions"][0]["kind"], "track");
    assert_eq!(s["suggestions"][0]["text"], "Fourth Song");
    assert_eq!(s["suggestions"][0]["artist"], "Beta");
    assert!(
        error_of(&floe.get("/api/v1/search/suggest?q=a&limit=1000", &[]), 400).contains("limit")
    );
}

/// Sends `body` as JSON.
fn send_json(floe: &Floe, method: &str, path: &str, body: &str) -> Response {
    send(floe, method, path, "application/json", body.as_bytes())
}

fn json_body(r: &Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    r.json()
}

#[test]
fn api_playlists_create_edit_import_export() {
    let (dir, fx) = fixture("lib-playlists");
    let floe = start_with_library(&dir, &fx.root, "max_body_bytes = 2048\n");
    let base = format!("http://{}", floe.addr);
    let tracks = get_json(&floe, "/api/v1/tracks?limit=50");
    let by_title = |title: &str| -> i64 {
        tracks["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|t| t["title"] == title)
            .and_then(|t| t["id"].as_i64())
            .unwrap_or_else(|| panic!("no track {title}"))
    };
    let (first, second, third, fourth) = (
        by_title("First Song"),
        by_title("Second Song"),
        by_title("Third Song"),
        by_title("Fourth Song"),
    );

    // Create.
    let body = format!(r#"{{"name": "Road trip", "comment": "c", "tracks": [{first}, {second}]}}"#);
    let r = send_json(&floe, "POST", "/api/v1/playlists", &body);
    let created = json_body(&r, 201);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(
        r.header("location"),
        Some(format!("{base}/api/v1/playlists/{id}").as_str())
    );
    assert_eq!(
        (created["name"].as_str(), created["track_count"].as_u64()),
        (Some("Road trip"), Some(2))
    );
    // The same name again: 409. Bad bodies: 400 naming the problem.
    let again = send_json(&floe, "POST", "/api/v1/playlists", &body);
    assert!(error_of(&again, 409).contains("Road trip"));
    let r = send_json(
        &floe,
        "POST",
        "/api/v1/playlists",
        r#"{"name": "x", "tracks": [999999]}"#,
    );
    assert!(error_of(&r, 400).contains("999999"));
    let r = send_json(&floe, "POST", "/api/v1/playlists", r#"{"name": ""}"#);
    assert!(error_of(&r, 400).contains("name"));
    let r = send_json(&floe, "POST", "/api/v1/playlists", "{not json");
    assert!(error_of(&r, 400).contains("body"));
    let r = send_json(
        &floe,
        "POST",
        "/api/v1/playlists",
        r#"{"name": "x", "colour": 1}"#,
    );
    assert!(error_of(&r, 400).contains("colour"));
    let big = format!(r#"{{"name": "big", "comment": "{}"}}"#, "x".repeat(4000));
    assert_eq!(
        send_json(&floe, "POST", "/api/v1/playlists", &big).status,
        413
    );

    // Edit: add, move, remove, rename.
    let path = format!("/api/v1/playlists/{id}");
    let patch = format!(
        r#"{{"add": [{third}, {fourth}], "move": [{{"from": 2, "to": 0}}], "remove": [1]}}"#
    );
    let r = send_json(&floe, "PATCH", &path, &patch);
    assert_eq!(json_body(&r, 200)["track_count"], 3);
    // [first, second]: remove position 1 -> [first]; add -> [first, third, fourth];
    // move 2 to 0 -> [fourth, first, third].
    assert_eq!(
        ids(&get_json(&floe, &path)["tracks"]),
        vec![fourth, first, third]
    );
    let r = send_json(&floe, "PATCH", &path, r#"{"move": [{"from": 9, "to": 0}]}"#);
    assert!(error_of(&r, 400).contains("move"));
    let r = send_json(&floe, "PATCH", &path, r#"{"name": "Road trip 2"}"#);
    assert_eq!(json_body(&r, 200)["name"], "Road trip 2");
    let put = format!(r#"{{"name": "Road trip", "tracks": [{fourth}, {first}, {fourth}]}}"#);
    let r = send_json(&floe, "PUT", &path, &put);
    assert_eq!(json_body(&r, 200)["track_count"], 3);
    assert_eq!(
        ids(&get_json(&floe, &path)["tracks"]),
        vec![fourth, first, fourth]
    );
    let r = send_json(
        &floe,
        "PATCH",
        &path,
        r#"{"move": [{"from": 1, "to": 0}], "remove": [0]}"#,
    );
    assert_eq!(json_body(&r, 200)["track_count"], 2);
    // Remove position 0 -> [first, fourth]; move 1 to 0 -> [fourth, first].
    assert_eq!(ids(&get_json(&floe, &path)["tracks"]), vec![fourth, first]);
    // A failed edit changes nothing.
    let r = send_json(&floe, "PATCH", &path, r#"{"remove": [0], "add": [999999]}"#);
    assert!(error_of(&r, 400).contains("999999"));
    assert_eq!(ids(&get_json(&floe, &path)["tracks"]), vec![fourth, first]);
    assert_eq!(get_json(&floe, "/api/v1/playlists")["total"], 1);

    // Export in three formats, each listing the stream URLs.
    for (suffix, content_type) in [
        ("m3u", "audio/x-mpegurl"),
        ("pls", "audio/x-scpls"),
        ("xspf", "application/xspf+xml"),
    ] {
        let r = floe.get(&format!("{path}.{suffix}"), &[]);
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some(content_type)),
            "{suffix}"
        );
        let text = r.text();
        let a = text
            .find(&format!("{base}/api/v1/tracks/{fourth}/stream"))
            .expect("fourth");
        let b = text
            .find(&format!("{base}/api/v1/tracks/{first}/stream"))
            .expect("first");
        assert!(a < b, "{text}");
        assert!(text.contains("Beta - Fourth Song"), "{text}");
        // Import the export back: the same tracks in the same order.
        let r = send(
            &floe,
            "POST",
            &format!("/api/v1/playlists/import?name=back-{suffix}"),
            content_type,
            text.as_bytes(),
        );
        let imported = json_body(&r, 201);
        assert_eq!(
            imported["unmatched"].as_array().map(Vec::len),
            Some(0),
            "{suffix}"
        );
        let back = get_json(&floe, &format!("/api/v1/playlists/{}", imported["id"]));
        assert_eq!(ids(&back["tracks"]), vec![fourth, first], "{suffix}");
    }

    // Import from another player's M3U: absolute path, relative path, artist and title.
    let abs = std::fs::canonicalize(fx.path(TRACKS[2].rel)).expect("abs");
    let m3u = format!(
        "#EXTM3U\n{}\n../music/{}\n#EXTINF:4,Beta - Fourth Song\nD:\\old\\music\\unknown.mp3\nnothing/here.mp3\n",
        abs.display(),
        TRACKS[1].rel,
    );
    let r = send(
        &floe,
        "POST",
        "/api/v1/playlists?name=From%20elsewhere",
        "audio/x-mpegurl",
        m3u.as_bytes(),
    );
    let imported = json_body(&r, 201);
    assert_eq!(imported["name"], "From elsewhere");
    assert_eq!(
        imported["unmatched"],
        serde_json::json!(["nothing/here.mp3"])
    );
    let got = get_json(&floe, &format!("/api/v1/playlists/{}", imported["id"]));
    assert_eq!(ids(&got["tracks"]), vec![third, second, fourth]);
    let r = send(
        &floe,
        "POST",
        "/api/v1/playlists/import",
        "application/xspf+xml",
        b"<playlist><title>x</title></playlist>",
    );
    assert!(error_of(&r, 400).contains("body"));

    // Delete.
    let r = floe.request("DELETE", &path, &[]);
    assert_eq!(r.status, 204);
    assert_eq!(floe.get(&path, &[]).status, 404);
    assert_eq!(floe.request("DELETE", &path, &[]).status, 404);
    assert_eq!(floe.get(&format!("{path}.m3u"), &[]).status, 404);
}

#[test]
fn api_without_a_library_is_unavailable() {
    let floe = Floe::start();
    for path in [
        "/api/v1/tracks",
        "/api/v1/artists",
        "/api/v1/search?q=a",
        "/api/v1/playlists",
    ] {
        let message = error_of(&floe.get(path, &[]), 503);
        assert!(message.contains("library"), "{path}: {message}");
    }
}

#[test]
fn a_served_library_follows_the_folder() {
    let (dir, fx) = fixture("lib-watch");
    let floe = start_with_library(&dir, &fx.root, "");
    let total = |floe: &Floe| floe.get("/api/v1/tracks", &[]).json()["total"].as_u64();
    // A new file appears in the catalog without a restart.
    let mut extra = TRACKS[0].clone();
    extra.title = "Brand New";
    let path = fx.path("Alpha Band/One/03 Brand New.mp3");
    common::library::encode(&extra, &path, None, 700);
    assert!(
        eventually(Duration::from_secs(30), || total(&floe) == Some(8)),
        "{:?}",
        total(&floe)
    );
    let found = get_json(&floe, "/api/v1/search?q=brand");
    assert_eq!(found["tracks"]["total"], 1);
    // And leaves it when deleted.
    std::fs::remove_file(&path).expect("rm");
    assert!(
        eventually(Duration::from_secs(30), || total(&floe) == Some(7)),
        "{:?}",
        total(&floe)
    );
    assert_eq!(
        get_json(&floe, "/api/v1/search?q=brand")["tracks"]["total"],
        0
    );
}
