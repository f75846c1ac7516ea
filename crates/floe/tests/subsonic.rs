//! The Subsonic / OpenSubsonic API of the real binary over HTTP: authentication (plain,
//! `enc:`, token + salt, API key, and each error code), the XML, JSON and JSONP envelopes,
//! browsing and playlists with their ownership rules, cover art, streaming; and a real client
//! library (py-sonic) driving it end to end.

mod common;

use common::library::{ffmpeg, send};
use common::{require_ffmpeg, scratch_dir, Floe, Response};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PASSWORD: &str = "sesame";

/// (artist, album, year, genre, tracks as (title, extension, tone frequency)).
type AlbumSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, f32)],
);

/// A small tagged library: two artists, two albums with folder cover art, four tracks in
/// MP3, FLAC and Ogg Vorbis.
fn make_library(root: &Path) {
    require_ffmpeg();
    let albums: [AlbumSpec; 2] = [
        (
            "Alpha Band",
            "First Light",
            "2001",
            "Rock",
            &[("Morning Song", "mp3", 440.0), ("Noon Tune", "mp3", 550.0)],
        ),
        (
            "The Beta",
            "Second Wind",
            "2010",
            "Jazz",
            &[("Evening Air", "flac", 330.0), ("Night Walk", "ogg", 660.0)],
        ),
    ];
    for (artist, album, year, genre, tracks) in albums {
        let dir = root.join(artist).join(album);
        std::fs::create_dir_all(&dir).expect("album dir");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240",
            "-frames:v",
            "1",
            dir.join("cover.jpg").to_str().expect("path"),
        ]);
        for (n, (title, ext, freq)) in tracks.iter().enumerate() {
            let file = dir.join(format!("{:02} {title}.{ext}", n + 1));
            let codec: &[&str] = match *ext {
                "mp3" => &["-c:a", "libmp3lame", "-b:a", "128k"],
                "flac" => &["-c:a", "flac"],
                _ => &["-c:a", "libvorbis", "-q:a", "3"],
            };
            let mut args: Vec<String> = vec![
                "-f".into(),
                "lavfi".into(),
                "-i".into(),
                format!("sine=frequency={freq}:duration=3"),
            ];
            args.extend(codec.iter().map(|s| s.to_string()));
            for (k, v) in [
                ("title", title.to_string()),
                ("artist", artist.to_string()),
                ("album_artist", artist.to_string()),
                ("album", album.to_string()),
                ("track", (n + 1).to_string()),
                ("date", year.to_string()),
                ("genre", genre.to_string()),
            ] {
                args.push("-metadata".into());
                args.push(format!("{k}={v}"));
            }
            args.push(file.to_str().expect("path").into());
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            ffmpeg(&refs);
        }
    }
}

/// Runs `floe ARGS` with `stdin`; (exit success, stdout, stderr).
fn floe_cli(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn floe");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait floe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A library folder, its config, two users (alice admin, bob not), alice's API key, and a
/// running Floe that scanned it.
struct Fixture {
    floe: Floe,
    db: PathBuf,
    api_key: String,
    /// This test's folder (database, key file, client output).
    dir: PathBuf,
    /// The music folder (shared by the tests of this binary, never written).
    music: PathBuf,
}

/// The music folder, made once for all tests of this binary.
fn shared_music() -> PathBuf {
    static MUSIC: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MUSIC
        .get_or_init(|| {
            let music = scratch_dir("subsonic-music").join("music");
            make_library(&music);
            music
        })
        .clone()
}

fn config_text(music: &Path, db: &Path) -> String {
    let access = db.with_file_name("access.log");
    format!(
        "[library]\npath = \"{}\"\ndatabase = \"{}\"\nwatch = false\n[logging]\naccess_log = \"{}\"\n",
        music.display(),
        db.display(),
        access.display()
    )
}

fn fixture() -> Fixture {
    let dir = scratch_dir("subsonic");
    let music = shared_music();
    let db = dir.join("library.db");
    let text = config_text(&music, &db);
    let db_arg = db.to_str().expect("path");
    let (ok, out, err) = floe_cli(
        &["scan", music.to_str().expect("path"), "--database", db_arg],
        "",
    );
    assert!(ok, "scan: {out}{err}");
    let (ok, out, err) = floe_cli(
        &[
            "user",
            "add",
            "alice",
            "--admin",
            "--password-stdin",
            "--database",
            db_arg,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "user add: {out}{err}");
    let (ok, out, err) = floe_cli(
        &[
            "user",
            "add",
            "bob",
            "--password-stdin",
            "--database",
            db_arg,
        ],
        "bobpw\n",
    );
    assert!(ok, "user add: {out}{err}");
    let (ok, out, err) = floe_cli(&["user", "apikey", "alice", "--database", db_arg], "");
    assert!(ok, "user apikey: {out}{err}");
    let api_key = out
        .split_whitespace()
        .find(|w| w.starts_with("floe_"))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_string();
    let floe = Floe::start_with(&text);
    Fixture {
        floe,
        db,
        api_key,
        dir,
        music,
    }
}

fn token(password: &str, salt: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.md5((sys.argv[1]+sys.argv[2]).encode()).hexdigest())",
            password,
            salt,
        ])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const BASE: &str = "v=1.16.1&c=floe-test";

fn alice() -> String {
    format!("{BASE}&u=alice&p={PASSWORD}")
}

fn json_call(f: &Fixture, method: &str, query: &str) -> serde_json::Value {
    let r = f.floe.get(&format!("/rest/{method}?f=json&{query}"), &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{r:?}"
    );
    r.json()["subsonic-response"].clone()
}

fn ok_call(f: &Fixture, method: &str, query: &str) -> serde_json::Value {
    let v = json_call(f, method, query);
    assert_eq!(v["status"], "ok", "{method}?{query}: {v}");
    v
}

fn error_code(f: &Fixture, method: &str, query: &str) -> i64 {
    let v = json_call(f, method, query);
    assert_eq!(v["status"], "failed", "{method}?{query}: {v}");
    v["error"]["code"].as_i64().expect("code")
}

fn post_form(floe: &Floe, path: &str, body: &str) -> Response {
    send(
        floe,
        "POST",
        path,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    )
}

#[test]
fn authentication_mechanisms_and_error_codes() {
    let f = fixture();
    // Plain, enc: (hex), token + salt, API key.
    ok_call(&f, "ping", &alice());
    ok_call(
        &f,
        "ping",
        &format!("{BASE}&u=alice&p=enc:{}", hex(PASSWORD)),
    );
    ok_call(
        &f,
        "ping",
        &format!("{BASE}&u=alice&t={}&s=c19b2d", token(PASSWORD, "c19b2d")),
    );
    ok_call(&f, "ping", &format!("{BASE}&apiKey={}", f.api_key));
    ok_call(&f, "ping.view", &format!("{BASE}&u=bob&p=bobpw"));
    // Wrong password, wrong token, unknown user: 40.
    assert_eq!(
        error_code(&f, "ping", &format!("{BASE}&u=alice&p=wrong")),
        40
    );
    assert_eq!(
        error_code(
            &f,
            "ping",
            &format!("{BASE}&u=alice&t={}&s=abc", token("wrong", "abc"))
        ),
        40
    );
    assert_eq!(
        error_code(&f, "ping", &format!("{BASE}&u=nobody&p={PASSWORD}")),
        40
    );
    // Missing parameters: 10.
    assert_eq!(error_code(&f, "ping", "v=1.16.1&c=x&p=sesame"), 10);
    assert_eq!(error_code(&f, "ping", "v=1.16.1&c=x&u=alice"), 10);
    assert_eq!(
        error_code(&f, "ping", &format!("c=x&u=alice&p={PASSWORD}")),
        10
    );
    assert_eq!(error_code(&f, "getSong", &alice()), 10);
    // API key errors: 43 with u, 44 unknown.
    assert_eq!(
        error_code(&f, "ping", &format!("{BASE}&u=alice&apiKey={}", f.api_key)),
        43
    );
    assert_eq!(
        error_code(&f, "ping", &format!("{BASE}&apiKey=floe_nope")),
        44
    );
    // Versions: 20 older major, 30 newer major.
    assert_eq!(
        error_code(&f, "ping", &format!("v=0.9.0&c=x&u=alice&p={PASSWORD}")),
        20
    );
    assert_eq!(
        error_code(&f, "ping", &format!("v=2.0.0&c=x&u=alice&p={PASSWORD}")),
        30
    );
    // Not found: 70 (missing song, unknown method).
    assert_eq!(
        error_code(&f, "getSong", &format!("{}&id=tr-99999", alice())),
        70
    );
    assert_eq!(error_code(&f, "getNothing", &alice()), 70);
    // The access log names the Subsonic user and never holds a password, token or key.
    let log_path = f.dir.join("access.log");
    assert!(
        common::eventually(std::time::Duration::from_secs(5), || {
            std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("/rest/ping.view?"))
        }),
        "no access log"
    );
    let log = std::fs::read_to_string(&log_path).expect("access log");
    assert!(log.contains(" - alice ["), "{log}");
    assert!(
        !log.contains(PASSWORD) && !log.contains(&f.api_key),
        "{log}"
    );
    assert!(!log.contains(&token(PASSWORD, "c19b2d")), "{log}");
    assert!(
        log.contains("p=*") && log.contains("t=*") && log.contains("apiKey=*"),
        "{log}"
    );
    // A form POST (OpenSubsonic formPost) authenticates from the body.
    let r = post_form(&f.floe, "/rest/ping.view", &format!("f=json&{}", alice()));
    assert_eq!(r.json()["subsonic-response"]["status"], "ok", "{r:?}");
    let r = post_form(
        &f.floe,
        "/rest/ping",
        &format!("f=json&{BASE}&u=alice&p=bad"),
    );
    assert_eq!(r.json()["subsonic-response"]["error"]["code"], 40, "{r:?}");
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn envelopes_in_xml_json_and_jsonp() {
    let f = fixture();
    let r = f.floe.get(&format!("/rest/ping?{}", alice()), &[]);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("text/xml")),
        "{r:?}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        r.text(),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<subsonic-response xmlns=\"http://subsonic.org/restapi\" status=\"ok\" version=\"1.16.1\" type=\"floe\" serverVersion=\"{version}\" openSubsonic=\"true\"/>")
    );
    let r = f
        .floe
        .get(&format!("/rest/ping.view?{BASE}&u=alice&p=bad"), &[]);
    assert_eq!(r.status, 200, "errors travel with HTTP 200");
    assert_eq!(
        r.text(),
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<subsonic-response xmlns=\"http://subsonic.org/restapi\" status=\"failed\" version=\"1.16.1\" type=\"floe\" serverVersion=\"{version}\" openSubsonic=\"true\"><error code=\"40\" message=\"Wrong username or password\"/></subsonic-response>")
    );
    let v = ok_call(&f, "ping", &alice());
    assert_eq!(v["version"], "1.16.1");
    assert_eq!(v["type"], "floe");
    assert_eq!(v["serverVersion"], version);
    assert_eq!(v["openSubsonic"], true);
    let r = f
        .floe
        .get(&format!("/rest/ping?f=jsonp&callback=cb&{}", alice()), &[]);
    let text = r.text();
    assert!(text.starts_with("cb({") && text.ends_with("});"), "{text}");
    let inner: serde_json::Value =
        serde_json::from_str(&text["cb(".len()..text.len() - 2]).expect("JSONP body");
    assert_eq!(inner["subsonic-response"]["status"], "ok");
    assert_eq!(inner["subsonic-response"]["openSubsonic"], true);
    let ext = ok_call(&f, "getOpenSubsonicExtensions", &alice());
    let names: Vec<&str> = ext["openSubsonicExtensions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["apiKeyAuthentication", "formPost", "transcodeOffset"]
    );
    // Answered without credentials (OpenSubsonic), unlike every other method.
    let open = json_call(&f, "getOpenSubsonicExtensions", "");
    assert_eq!(open["status"], "ok", "{open}");
    assert_eq!(
        open["openSubsonicExtensions"],
        ext["openSubsonicExtensions"]
    );
    assert_eq!(error_code(&f, "getLicense", ""), 10);
    let me = ok_call(&f, "getUser", &format!("{BASE}&u=bob&p=bobpw&username=bob"))["user"].clone();
    assert_eq!(
        (me["username"].as_str(), me["adminRole"].as_bool()),
        (Some("bob"), Some(false))
    );
    assert_eq!(me["streamRole"], true);
    assert_eq!(me["folder"], serde_json::json!([1]));
    assert_eq!(
        error_code(
            &f,
            "getUser",
            &format!("{BASE}&u=bob&p=bobpw&username=alice")
        ),
        50
    );
    let other = ok_call(&f, "getUser", &format!("{}&username=bob", alice()))["user"].clone();
    assert_eq!(other["username"], "bob");
    assert_eq!(
        error_code(&f, "getUser", &format!("{}&username=carol", alice())),
        70
    );
    let lic = ok_call(&f, "getLicense", &alice());
    assert_eq!(lic["license"]["valid"], true);
}

/// ffprobe's view of a file: (codec of the first stream, width, height, duration in seconds).
fn probe(path: &Path) -> (String, Option<u64>, Option<u64>, Option<f64>) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let stream = &v["streams"][0];
    (
        stream["codec_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        stream["width"].as_u64(),
        stream["height"].as_u64(),
        v["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok()),
    )
}

fn names(list: &serde_json::Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| {
            e[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key}: {e}"))
                .to_string()
        })
        .collect()
}

fn album_id(f: &Fixture, name: &str) -> String {
    let list = ok_call(
        f,
        "getAlbumList2",
        &format!("{}&type=alphabeticalByName", alice()),
    );
    list["albumList2"]["album"]
        .as_array()
        .expect("albums")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no album {name}: {list}"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn album_songs(f: &Fixture, name: &str) -> Vec<serde_json::Value> {
    let id = album_id(f, name);
    ok_call(f, "getAlbum", &format!("{}&id={id}", alice()))["album"]["song"]
        .as_array()
        .expect("songs")
        .clone()
}

#[test]
fn browsing_search_and_album_lists() {
    let f = fixture();
    let folders = ok_call(&f, "getMusicFolders", &alice());
    assert_eq!(folders["musicFolders"]["musicFolder"][0]["id"], 1);

    // Index letters skip ignored articles: "The Beta" is under B.
    let artists = ok_call(&f, "getArtists", &alice())["artists"].clone();
    assert_eq!(artists["ignoredArticles"], "The El La Los Las Le Les");
    assert_eq!(names(&artists["index"], "name"), ["A", "B"]);
    assert_eq!(
        names(&artists["index"][0]["artist"], "name"),
        ["Alpha Band"]
    );
    assert_eq!(names(&artists["index"][1]["artist"], "name"), ["The Beta"]);
    let indexes = ok_call(&f, "getIndexes", &alice())["indexes"].clone();
    assert_eq!(names(&indexes["index"], "name"), ["A", "B"]);
    // The folder view: artist → albums → songs.
    let beta = indexes["index"][1]["artist"][0]["id"].as_str().expect("id");
    let dir =
        ok_call(&f, "getMusicDirectory", &format!("{}&id={beta}", alice()))["directory"].clone();
    assert_eq!(dir["name"], "The Beta");
    assert_eq!(names(&dir["child"], "title"), ["Second Wind"]);
    assert_eq!(dir["child"][0]["isDir"], true);
    let album_dir = dir["child"][0]["id"].as_str().expect("id");
    let dir = ok_call(
        &f,
        "getMusicDirectory",
        &format!("{}&id={album_dir}", alice()),
    )["directory"]
        .clone();
    assert_eq!(dir["parent"], beta);
    assert_eq!(names(&dir["child"], "title"), ["Evening Air", "Night Walk"]);
    assert_eq!(dir["child"][0]["isDir"], false);
    assert_eq!(
        error_code(&f, "getMusicDirectory", &format!("{}&id=tr-1", alice())),
        70
    );
    let modified = indexes["lastModified"].as_i64().expect("lastModified");
    assert!(modified > 0);
    let current = ok_call(
        &f,
        "getIndexes",
        &format!("{}&ifModifiedSince={modified}", alice()),
    );
    assert!(current["indexes"]["index"]
        .as_array()
        .expect("index")
        .is_empty());
    let stale = ok_call(
        &f,
        "getIndexes",
        &format!("{}&ifModifiedSince={}", alice(), modified - 1),
    );
    assert_eq!(
        stale["indexes"]["index"].as_array().expect("index").len(),
        2
    );

    let alpha = &artists["index"][0]["artist"][0];
    assert_eq!(alpha["albumCount"], 1);
    let artist = ok_call(
        &f,
        "getArtist",
        &format!("{}&id={}", alice(), alpha["id"].as_str().expect("id")),
    )["artist"]
        .clone();
    assert_eq!(artist["name"], "Alpha Band");
    let album = &artist["album"][0];
    assert_eq!(album["name"], "First Light");
    assert_eq!(album["songCount"], 2);
    assert_eq!(album["year"], 2001);
    assert_eq!(album["genre"], "Rock");
    assert_eq!(album["artistId"], alpha["id"]);
    assert!(album["coverArt"].is_string(), "{album}");

    let got = ok_call(
        &f,
        "getAlbum",
        &format!("{}&id={}", alice(), album["id"].as_str().expect("id")),
    )["album"]
        .clone();
    assert_eq!(names(&got["song"], "title"), ["Morning Song", "Noon Tune"]);
    let song = &got["song"][0];
    let file = f.music.join("Alpha Band/First Light/01 Morning Song.mp3");
    assert_eq!(song["size"], std::fs::metadata(&file).expect("file").len());
    assert_eq!(song["track"], 1);
    assert_eq!(song["suffix"], "mp3");
    assert_eq!(song["contentType"], "audio/mpeg");
    assert_eq!(song["duration"], 3);
    assert_eq!(song["type"], "music");
    assert_eq!(song["isDir"], false);
    assert_eq!(song["path"], "Alpha Band/First Light/01 Morning Song.mp3");
    assert_eq!(song["albumId"], album["id"]);
    assert_eq!(song["parent"], album["id"]);
    assert_eq!(song["artistId"], alpha["id"]);
    let again = ok_call(
        &f,
        "getSong",
        &format!("{}&id={}", alice(), song["id"].as_str().expect("id")),
    )["song"]
        .clone();
    assert_eq!(&again, song);

    // The same album in XML: attributes, songs as child elements.
    let r = f.floe.get(
        &format!(
            "/rest/getAlbum.view?{}&id={}",
            alice(),
            album["id"].as_str().expect("id")
        ),
        &[],
    );
    let xml = r.text();
    assert!(xml.contains("<album id=\"al-"), "{xml}");
    assert_eq!(xml.matches("<song id=\"tr-").count(), 2, "{xml}");
    assert!(
        xml.contains(
            " title=\"Morning Song\" album=\"First Light\" artist=\"Alpha Band\" track=\"1\""
        ),
        "{xml}"
    );

    // search3: word prefixes; counts and offsets per kind.
    let found = ok_call(&f, "search3", &format!("{}&query=morn", alice()))["searchResult3"].clone();
    assert_eq!(names(&found["song"], "title"), ["Morning Song"]);
    let found = ok_call(&f, "search3", &format!("{}&query=beta", alice()))["searchResult3"].clone();
    assert_eq!(names(&found["artist"], "name"), ["The Beta"]);
    assert_eq!(names(&found["album"], "name"), ["Second Wind"]);
    assert_eq!(found["song"].as_array().expect("songs").len(), 2);
    let everything = |q: &str| {
        ok_call(&f, "search3", &format!("{}&query=&{q}", alice()))["searchResult3"].clone()
    };
    assert_eq!(
        everything("songCount=10")["song"]
            .as_array()
            .expect("songs")
            .len(),
        4
    );
    let page = everything("songCount=2&songOffset=3&albumCount=1&albumOffset=1&artistCount=0");
    assert_eq!(page["song"].as_array().expect("songs").len(), 1);
    assert_eq!(names(&page["album"], "name"), ["Second Wind"]);
    assert_eq!(page["artist"].as_array().expect("artists").len(), 0);

    // The folder-view twins: search2 and getAlbumList answer albums as directories.
    let found2 =
        ok_call(&f, "search2", &format!("{}&query=beta", alice()))["searchResult2"].clone();
    assert_eq!(names(&found2["artist"], "name"), ["The Beta"]);
    assert_eq!(names(&found2["album"], "title"), ["Second Wind"]);
    assert_eq!(found2["album"][0]["isDir"], true);
    assert_eq!(found2["song"].as_array().expect("songs").len(), 2);
    let list1 = ok_call(
        &f,
        "getAlbumList",
        &format!("{}&type=alphabeticalByName", alice()),
    );
    assert_eq!(
        names(&list1["albumList"]["album"], "title"),
        ["First Light", "Second Wind"]
    );
    assert_eq!(list1["albumList"]["album"][0]["parent"], alpha["id"]);

    // getAlbumList2 kinds.
    let list = |q: &str| {
        names(
            &ok_call(&f, "getAlbumList2", &format!("{}&{q}", alice()))["albumList2"]["album"],
            "name",
        )
    };
    assert_eq!(
        list("type=alphabeticalByName"),
        ["First Light", "Second Wind"]
    );
    assert_eq!(
        list("type=alphabeticalByArtist"),
        ["First Light", "Second Wind"]
    );
    assert_eq!(
        list("type=byYear&fromYear=2005&toYear=2015"),
        ["Second Wind"]
    );
    assert_eq!(
        list("type=byYear&fromYear=2015&toYear=2000"),
        ["Second Wind", "First Light"]
    );
    assert_eq!(list("type=byGenre&genre=jazz"), ["Second Wind"]);
    assert_eq!(list("type=newest").len(), 2);
    assert_eq!(list("type=random&size=1").len(), 1);
    assert_eq!(
        list("type=alphabeticalByName&size=1&offset=1"),
        ["Second Wind"]
    );
    assert!(list("type=frequent").is_empty());
    assert!(list("type=recent").is_empty());
    assert!(list("type=starred").is_empty());

    // Stars are per user: album, song and artist; getStarred2 and the starred album list.
    let second_id = album_id(&f, "Second Wind");
    let song_id = album_songs(&f, "First Light")[1]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let artist_id = alpha["id"].as_str().expect("id").to_string();
    ok_call(
        &f,
        "star",
        &format!(
            "{}&albumId={second_id}&id={song_id}&artistId={artist_id}",
            alice()
        ),
    );
    assert_eq!(list("type=starred"), ["Second Wind"]);
    let starred = ok_call(&f, "getStarred2", &alice())["starred2"].clone();
    assert_eq!(names(&starred["artist"], "name"), ["Alpha Band"]);
    assert_eq!(names(&starred["album"], "name"), ["Second Wind"]);
    assert_eq!(names(&starred["song"], "title"), ["Noon Tune"]);
    assert!(starred["album"][0]["starred"].is_string(), "{starred}");
    // Alice's songs carry her star; bob's view of the same album does not.
    let noon = |query: String| {
        ok_call(
            &f,
            "getAlbum",
            &format!("{query}&id={}", album_id(&f, "First Light")),
        )["album"]["song"][1]
            .clone()
    };
    assert!(noon(alice())["starred"].is_string());
    assert!(noon(format!("{BASE}&u=bob&p=bobpw"))["starred"].is_null());
    let bobs = ok_call(&f, "getStarred2", &format!("{BASE}&u=bob&p=bobpw"))["starred2"].clone();
    assert!(bobs["album"].as_array().expect("albums").is_empty());
    ok_call(&f, "unstar", &format!("{}&id={second_id}", alice()));
    assert!(list("type=starred").is_empty());
    assert_eq!(
        error_code(&f, "star", &format!("{}&id=al-987654", alice())),
        70
    );
    assert_eq!(error_code(&f, "star", &alice()), 10);
    assert_eq!(
        error_code(
            &f,
            "getAlbumList2",
            &format!("{}&type=byYear&toYear=1", alice())
        ),
        10
    );
    assert_eq!(
        error_code(&f, "getAlbumList2", &format!("{}&type=sideways", alice())),
        0
    );
    assert_eq!(error_code(&f, "getAlbumList2", &alice()), 10);

    // Scrobbles: a submission is a play (frequent, recent, playCount); now-playing is not.
    let second = album_songs(&f, "Second Wind");
    let sid = second[0]["id"].as_str().expect("id");
    ok_call(
        &f,
        "scrobble",
        &format!("{}&id={sid}&submission=false", alice()),
    );
    assert!(list("type=frequent").is_empty());
    let playing = ok_call(&f, "getNowPlaying", &format!("{BASE}&u=bob&p=bobpw"));
    let entry = &playing["nowPlaying"]["entry"][0];
    assert_eq!(entry["username"], "alice");
    assert_eq!(entry["id"], sid);
    assert_eq!(entry["minutesAgo"], 0);
    ok_call(
        &f,
        "scrobble",
        &format!("{}&id={sid}&submission=true", alice()),
    );
    ok_call(&f, "scrobble", &format!("{}&id={sid}", alice()));
    assert_eq!(list("type=frequent"), ["Second Wind"]);
    let top = ok_call(
        &f,
        "getTopSongs",
        &format!("{}&artist=the%20beta&count=1", alice()),
    );
    assert_eq!(names(&top["topSongs"]["song"], "id"), [sid]);
    assert_eq!(list("type=recent"), ["Second Wind"]);
    let album = ok_call(
        &f,
        "getAlbum",
        &format!("{}&id={}", alice(), album_id(&f, "Second Wind")),
    )["album"]
        .clone();
    assert_eq!(album["playCount"], 2);
    assert_eq!(
        error_code(&f, "scrobble", &format!("{}&id=tr-424242", alice())),
        70
    );

    // Genres with their counts (the name is the element's text, "value" in JSON).
    let genres = ok_call(&f, "getGenres", &alice())["genres"]["genre"].clone();
    assert_eq!(
        genres,
        serde_json::json!([
            {"value": "Jazz", "songCount": 2, "albumCount": 1},
            {"value": "Rock", "songCount": 2, "albumCount": 1}
        ])
    );
    let xml = f
        .floe
        .get(&format!("/rest/getGenres?{}", alice()), &[])
        .text();
    assert!(
        xml.contains("<genre songCount=\"2\" albumCount=\"1\">Jazz</genre>"),
        "{xml}"
    );
    let by_genre = ok_call(
        &f,
        "getSongsByGenre",
        &format!("{}&genre=rock&count=1&offset=1", alice()),
    );
    assert_eq!(
        names(&by_genre["songsByGenre"]["song"], "title"),
        ["Noon Tune"]
    );

    // getRandomSongs with filters.
    let random = |q: &str| {
        ok_call(&f, "getRandomSongs", &format!("{}&{q}", alice()))["randomSongs"]["song"].clone()
    };
    let jazz = random("size=10&genre=Jazz");
    let mut titles = names(&jazz, "title");
    titles.sort();
    assert_eq!(titles, ["Evening Air", "Night Walk"]);
    assert!(jazz
        .as_array()
        .expect("songs")
        .iter()
        .all(|s| s["genre"] == "Jazz"));
    assert_eq!(
        random("size=10&fromYear=2005")
            .as_array()
            .expect("songs")
            .len(),
        2
    );
    assert_eq!(
        random("size=10&toYear=2005")
            .as_array()
            .expect("songs")
            .len(),
        2
    );
    assert_eq!(random("size=3").as_array().expect("songs").len(), 3);
}

#[test]
fn playlists_follow_ownership_rules() {
    let f = fixture();
    let bob = format!("{BASE}&u=bob&p=bobpw");
    let songs = album_songs(&f, "First Light");
    let s0 = songs[0]["id"].as_str().expect("id");
    let s1 = songs[1]["id"].as_str().expect("id");
    let created = ok_call(
        &f,
        "createPlaylist",
        &format!("{}&name=Mine&songId={s0}&songId={s1}&songId={s0}", alice()),
    );
    let pl = &created["playlist"];
    assert_eq!(pl["owner"], "alice");
    assert_eq!(pl["songCount"], 3);
    assert_eq!(pl["public"], false);
    let pid = pl["id"].as_str().expect("id").to_string();

    // Private: bob neither sees, reads, changes nor deletes it.
    assert!(ok_call(&f, "getPlaylists", &bob)["playlists"]["playlist"]
        .as_array()
        .expect("list")
        .is_empty());
    assert_eq!(
        error_code(&f, "getPlaylist", &format!("{bob}&id={pid}")),
        50
    );
    assert_eq!(
        error_code(
            &f,
            "updatePlaylist",
            &format!("{bob}&playlistId={pid}&name=Ha")
        ),
        50
    );
    assert_eq!(
        error_code(&f, "deletePlaylist", &format!("{bob}&id={pid}")),
        50
    );
    assert_eq!(
        error_code(&f, "getPlaylists", &format!("{bob}&username=alice")),
        50
    );

    // Removals by index, then additions; name, comment and visibility.
    ok_call(&f, "updatePlaylist", &format!("{}&playlistId={pid}&songIndexToRemove=0&songIndexToRemove=2&songIdToAdd={s0}&name=Ours&comment=hi&public=true", alice()));
    let got = ok_call(&f, "getPlaylist", &format!("{bob}&id={pid}"))["playlist"].clone();
    assert_eq!(got["name"], "Ours");
    assert_eq!(got["comment"], "hi");
    assert_eq!(got["public"], true);
    let ids: Vec<String> = got["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids, [s1, s0]);
    assert_eq!(
        names(
            &ok_call(&f, "getPlaylists", &bob)["playlists"]["playlist"],
            "name"
        ),
        ["Ours"]
    );
    // Public is readable, still not bob's to change.
    assert_eq!(
        error_code(&f, "deletePlaylist", &format!("{bob}&id={pid}")),
        50
    );
    assert_eq!(
        error_code(
            &f,
            "updatePlaylist",
            &format!("{}&playlistId={pid}&songIndexToRemove=9", alice())
        ),
        0
    );
    assert_eq!(
        error_code(
            &f,
            "createPlaylist",
            &format!("{}&name=X&songId=tr-777777", alice())
        ),
        70
    );
    assert_eq!(error_code(&f, "createPlaylist", &alice()), 10);

    // createPlaylist with playlistId replaces the entries.
    let replaced = ok_call(
        &f,
        "createPlaylist",
        &format!("{}&playlistId={pid}&songId={s1}", alice()),
    );
    assert_eq!(replaced["playlist"]["songCount"], 1);

    // Bob's own playlist: the admin lists it by name and may delete it.
    let bobs = ok_call(
        &f,
        "createPlaylist",
        &format!("{bob}&name=Bobs&songId={s0}"),
    )["playlist"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        names(
            &ok_call(&f, "getPlaylists", &format!("{}&username=bob", alice()))["playlists"]
                ["playlist"],
            "name"
        ),
        ["Bobs"]
    );
    ok_call(&f, "deletePlaylist", &format!("{}&id={bobs}", alice()));
    assert_eq!(
        error_code(&f, "getPlaylist", &format!("{bob}&id={bobs}")),
        70
    );
    ok_call(&f, "deletePlaylist", &format!("{}&id={pid}", alice()));
    assert!(
        ok_call(&f, "getPlaylists", &alice())["playlists"]["playlist"]
            .as_array()
            .expect("list")
            .is_empty()
    );
}

#[test]
fn cover_art_stream_and_download() {
    let f = fixture();
    let songs = album_songs(&f, "First Light");
    let mp3 = &songs[0];
    let sid = mp3["id"].as_str().expect("id");
    let cover = mp3["coverArt"].as_str().expect("coverArt");
    let file = f.music.join("Alpha Band/First Light/01 Morning Song.mp3");
    let original = std::fs::read(&file).expect("mp3");

    // Cover art as stored, then scaled into 64x64 (aspect kept), also by album id.
    let folder_cover =
        std::fs::read(f.music.join("Alpha Band/First Light/cover.jpg")).expect("cover");
    let r = f
        .floe
        .get(&format!("/rest/getCoverArt?{}&id={cover}", alice()), &[]);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.body, folder_cover);
    for id in [cover.to_string(), album_id(&f, "First Light")] {
        let r = f.floe.get(
            &format!("/rest/getCoverArt?{}&id={id}&size=64", alice()),
            &[],
        );
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{r:?}");
        let path = f.dir.join("small.jpg");
        std::fs::write(&path, &r.body).expect("write");
        let (codec, w, h, _) = probe(&path);
        assert_eq!((codec.as_str(), w, h), ("mjpeg", Some(64), Some(48)));
    }
    assert_eq!(
        error_code(&f, "getCoverArt", &format!("{}&id=co-99999", alice())),
        70
    );

    // stream: the file itself, with ranges.
    let r = f
        .floe
        .get(&format!("/rest/stream?{}&id={sid}", alice()), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("audio/mpeg"));
    assert_eq!(r.body, original);
    let r = f.floe.get(
        &format!("/rest/stream.view?{}&id={sid}&format=raw", alice()),
        &[("Range", "bytes=100-199")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-199/{}", original.len()).as_str())
    );
    assert_eq!(r.body, original[100..200]);

    // A transcode of the FLAC track to MP3 at a capped bit rate, and one from an offset.
    let flac = album_songs(&f, "Second Wind")
        .into_iter()
        .find(|s| s["suffix"] == "flac")
        .expect("flac song");
    let fid = flac["id"].as_str().expect("id");
    let r = f.floe.get(
        &format!("/rest/stream?{}&id={fid}&format=mp3&maxBitRate=96", alice()),
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("audio/mpeg"), "{}", r.text());
    let path = f.dir.join("transcoded.mp3");
    std::fs::write(&path, &r.body).expect("write");
    let (codec, _, _, duration) = probe(&path);
    assert_eq!(codec, "mp3");
    let duration = duration.expect("duration");
    assert!((2.5..3.5).contains(&duration), "{duration}");
    let r = f.floe.get(
        &format!("/rest/stream?{}&id={fid}&format=mp3&timeOffset=2", alice()),
        &[],
    );
    std::fs::write(&path, &r.body).expect("write");
    let (_, _, _, duration) = probe(&path);
    let duration = duration.expect("duration");
    assert!((0.5..1.5).contains(&duration), "{duration}");
    // transcodeOffset: a lone timeOffset on a file served as it is still starts there.
    let r = f.floe.get(
        &format!("/rest/stream?{}&id={sid}&timeOffset=1", alice()),
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    std::fs::write(&path, &r.body).expect("write");
    let (codec, _, _, duration) = probe(&path);
    assert_eq!(codec, "mp3");
    let duration = duration.expect("duration");
    assert!((1.5..2.5).contains(&duration), "{duration}");
    assert_eq!(
        error_code(&f, "stream", &format!("{}&id=tr-999999", alice())),
        70
    );
    assert_eq!(
        error_code(&f, "stream", &format!("{}&id={fid}&format=nope", alice())),
        0
    );

    // download: the file as an attachment.
    let r = f
        .floe
        .get(&format!("/rest/download?{}&id={sid}", alice()), &[]);
    assert_eq!(r.body, original);
    assert!(
        r.header("content-disposition")
            .is_some_and(|v| v.starts_with("attachment")),
        "{r:?}"
    );
}

#[test]
fn users_are_managed_by_the_cli_and_stored_sealed() {
    let f = fixture();
    let db = f.db.to_str().expect("path");
    let (ok, out, _) = floe_cli(&["user", "list", "--database", db], "");
    assert!(ok);
    assert_eq!(out, "alice\tadmin\tapi key\nbob\tuser\t-\n");
    let (ok, _, err) = floe_cli(
        &["user", "add", "bob", "--password-stdin", "--database", db],
        "x\n",
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    // No password in clear anywhere in the database files; the key file is private.
    for name in ["library.db", "library.db-wal"] {
        if let Ok(bytes) = std::fs::read(f.dir.join(name)) {
            assert!(
                !bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes()),
                "{name}"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.dir.join("floe-secret.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A new password works at once, the old one no longer.
    let (ok, out, err) = floe_cli(
        &[
            "user",
            "password",
            "bob",
            "--password-stdin",
            "--database",
            db,
        ],
        "newpw\n",
    );
    assert!(ok, "{out}{err}");
    assert_eq!(error_code(&f, "ping", &format!("{BASE}&u=bob&p=bobpw")), 40);
    ok_call(&f, "ping", &format!("{BASE}&u=bob&p=newpw"));
    let (ok, _, err) = floe_cli(&["user", "password", "nobody", "--database", db], "");
    assert!(!ok && err.contains("no user `nobody`"), "{err}");
    // A removed user is refused at once; a new API key replaces the old.
    let (ok, _, _) = floe_cli(&["user", "remove", "bob", "--database", db], "");
    assert!(ok);
    assert_eq!(error_code(&f, "ping", &format!("{BASE}&u=bob&p=newpw")), 40);
    let (ok, out, _) = floe_cli(&["user", "apikey", "alice", "--database", db], "");
    assert!(ok);
    let new_key = out
        .split_whitespace()
        .find(|w| w.starts_with("floe_"))
        .expect("key");
    assert_eq!(
        error_code(&f, "ping", &format!("{BASE}&apiKey={}", f.api_key)),
        44
    );
    ok_call(&f, "ping", &format!("{BASE}&apiKey={new_key}"));
}

#[test]
fn py_sonic_client_browses_searches_and_streams() {
    let import = Command::new("python3")
        .args(["-c", "import libsonic"])
        .output();
    assert!(
        import.is_ok_and(|o| o.status.success()),
        "python3 with py-sonic is needed (pip install py-sonic; .ci/run installs it)"
    );
    let f = fixture();
    let out_dir = f.dir.join("client");
    std::fs::create_dir_all(&out_dir).expect("out dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/subsonic/client.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "127.0.0.1",
            &f.floe.addr.port().to_string(),
            "alice",
            PASSWORD,
            "morning",
        ])
        .arg(&out_dir)
        .output()
        .expect("run client.py");
    assert!(
        out.status.success(),
        "client.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary json");
    assert_eq!(
        summary["artists"],
        serde_json::json!(["Alpha Band", "The Beta"])
    );
    assert_eq!(summary["album"], "First Light");
    assert_eq!(
        summary["album_songs"],
        serde_json::json!(["Morning Song", "Noon Tune"])
    );
    assert_eq!(
        summary["search"]["songs"],
        serde_json::json!(["Morning Song"])
    );
    assert_eq!(
        summary["album_list_alpha"],
        serde_json::json!(["First Light", "Second Wind"])
    );
    assert_eq!(summary["missing_song_error"], 70);
    assert_eq!(summary["stream_type"], "audio/mpeg");
    assert_eq!(summary["cover_type"], "image/jpeg");
    // What the client received: a valid MP3 of the song's length, the whole file, a cover.
    let (codec, _, _, duration) = probe(&out_dir.join("stream.bin"));
    assert_eq!(codec, "mp3");
    assert!((2.5..3.5).contains(&duration.expect("duration")));
    let download = std::fs::read(out_dir.join("download.bin")).expect("download");
    assert_eq!(Some(download.len() as u64), summary["song_size"].as_u64());
    let (codec, w, h, _) = probe(&out_dir.join("cover.bin"));
    assert_eq!((codec.as_str(), w, h), ("mjpeg", Some(64), Some(48)));
    // The client's scrobble was recorded as a play.
    let frequent = ok_call(&f, "getAlbumList2", &format!("{}&type=frequent", alice()));
    assert_eq!(
        names(&frequent["albumList2"]["album"], "name"),
        ["First Light"]
    );
}
