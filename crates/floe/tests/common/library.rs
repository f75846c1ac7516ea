//! A small real music library made with ffmpeg: one file of every format the scanner reads
//! (MP3, M4A with AAC, M4A with ALAC, FLAC, Ogg Vorbis, Opus, WAV), tagged, some with
//! embedded art, one folder with a `cover.jpg`, and a corrupt file.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One audio file of the fixture and what its tags say.
#[derive(Debug, Clone)]
pub struct FixtureTrack {
    /// Path under the library root.
    pub rel: &'static str,
    pub title: &'static str,
    pub artist: &'static str,
    pub album: &'static str,
    pub track_no: Option<u32>,
    pub year: Option<u32>,
    pub genre: Option<&'static str>,
    /// Length of the generated tone, seconds.
    pub seconds: u32,
    pub sample_rate: u32,
    pub suffix: &'static str,
    pub content_type: &'static str,
    /// The file carries a picture.
    pub embedded_art: bool,
    /// The file's folder has `cover.jpg`.
    pub folder_art: bool,
    /// ffmpeg's audio encoder arguments.
    codec: &'static [&'static str],
}

/// The fixture's tracks.
pub const TRACKS: &[FixtureTrack] = &[
    FixtureTrack {
        rel: "Alpha Band/One/01 First Song.mp3",
        title: "First Song",
        artist: "Alpha Band",
        album: "One",
        track_no: Some(1),
        year: Some(2001),
        genre: Some("Rock"),
        seconds: 2,
        sample_rate: 44100,
        suffix: "mp3",
        content_type: "audio/mpeg",
        embedded_art: true,
        folder_art: true,
        codec: &["-c:a", "libmp3lame", "-b:a", "128k", "-id3v2_version", "3"],
    },
    FixtureTrack {
        rel: "Alpha Band/One/02 Second Song.flac",
        title: "Second Song",
        artist: "Alpha Band",
        album: "One",
        track_no: Some(2),
        year: Some(2001),
        genre: Some("Rock"),
        seconds: 3,
        sample_rate: 44100,
        suffix: "flac",
        content_type: "audio/flac",
        embedded_art: false,
        folder_art: true,
        codec: &["-c:a", "flac"],
    },
    FixtureTrack {
        rel: "Beta/Two/01 Third Song.m4a",
        title: "Third Song",
        artist: "Beta",
        album: "Two",
        track_no: Some(1),
        year: Some(2010),
        genre: Some("Jazz"),
        seconds: 2,
        sample_rate: 44100,
        suffix: "m4a",
        content_type: "audio/mp4",
        embedded_art: true,
        folder_art: false,
        codec: &["-c:a", "aac", "-b:a", "96k"],
    },
    FixtureTrack {
        rel: "Beta/Two/02 Fourth Song.m4a",
        title: "Fourth Song",
        artist: "Beta",
        album: "Two",
        track_no: Some(2),
        year: Some(2010),
        genre: Some("Jazz"),
        seconds: 4,
        sample_rate: 44100,
        suffix: "m4a",
        content_type: "audio/mp4",
        embedded_art: false,
        folder_art: false,
        codec: &["-c:a", "alac"],
    },
    FixtureTrack {
        rel: "Various/Gamma - Fifth Tune.ogg",
        title: "Fifth Tune",
        artist: "Gamma Ray Trio",
        album: "Mixtape",
        track_no: Some(3),
        year: Some(1999),
        genre: Some("Pop"),
        seconds: 2,
        sample_rate: 44100,
        suffix: "ogg",
        content_type: "audio/ogg",
        embedded_art: false,
        folder_art: false,
        codec: &["-c:a", "libvorbis"],
    },
    FixtureTrack {
        rel: "Various/Gamma - Sixth Tune.opus",
        title: "Sixth Tune",
        artist: "Gamma Ray Trio",
        album: "Mixtape",
        track_no: Some(4),
        year: Some(1999),
        genre: Some("Pop"),
        seconds: 3,
        sample_rate: 48000,
        suffix: "opus",
        content_type: "audio/ogg",
        embedded_art: false,
        folder_art: false,
        codec: &["-c:a", "libopus", "-b:a", "64k"],
    },
    FixtureTrack {
        rel: "Various/Seventh Tune.wav",
        title: "Seventh Tune",
        artist: "Gamma Ray Trio",
        album: "Mixtape",
        track_no: None,
        year: None,
        genre: None,
        seconds: 1,
        sample_rate: 22050,
        suffix: "wav",
        content_type: "audio/wav",
        embedded_art: false,
        folder_art: false,
        codec: &["-c:a", "pcm_s16le"],
    },
];

/// The corrupt file (random bytes with an `.mp3` name).
pub const CORRUPT: &str = "Various/broken.mp3";

/// A generated library.
#[derive(Debug)]
pub struct LibraryFixture {
    pub root: PathBuf,
    /// The folder art's bytes (`Alpha Band/One/cover.jpg`).
    pub cover_jpg: Vec<u8>,
    /// The picture embedded in files (a PNG).
    pub embedded_png: Vec<u8>,
}

impl LibraryFixture {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// Runs ffmpeg with these arguments; panics with its error output on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Encodes one fixture track (a sine tone of its length) to `path`, with its tags.
pub fn encode(track: &FixtureTrack, path: &Path, art: Option<&Path>, frequency: u32) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let source = format!(
        "sine=frequency={frequency}:duration={}:sample_rate={}",
        track.seconds, track.sample_rate
    );
    let mut args: Vec<String> = vec!["-f".into(), "lavfi".into(), "-i".into(), source];
    if let Some(art) = art {
        args.extend(["-i".into(), art.display().to_string()]);
        args.extend(["-map".into(), "0:a".into(), "-map".into(), "1:v".into()]);
        args.extend([
            "-c:v".into(),
            "png".into(),
            "-disposition:v".into(),
            "attached_pic".into(),
        ]);
    }
    args.extend(track.codec.iter().map(|s| s.to_string()));
    let mut meta = vec![
        format!("title={}", track.title),
        format!("artist={}", track.artist),
        format!("album={}", track.album),
    ];
    if let Some(n) = track.track_no {
        meta.push(format!("track={n}"));
    }
    if let Some(y) = track.year {
        meta.push(format!("date={y}"));
    }
    if let Some(g) = track.genre {
        meta.push(format!("genre={g}"));
    }
    for m in meta {
        args.extend(["-metadata".into(), m]);
    }
    args.push(path.display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&refs);
}

/// Makes the library under `dir/music`.
pub fn make_library(dir: &Path) -> LibraryFixture {
    let root = dir.join("music");
    std::fs::create_dir_all(&root).expect("music dir");
    let art_png = dir.join("art.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=blue:s=32x32",
        "-frames:v",
        "1",
        &art_png.display().to_string(),
    ]);
    let cover = root.join("Alpha Band/One/cover.jpg");
    std::fs::create_dir_all(cover.parent().expect("parent")).expect("mkdir");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=red:s=48x48",
        "-frames:v",
        "1",
        &cover.display().to_string(),
    ]);
    for (i, track) in TRACKS.iter().enumerate() {
        let art = track.embedded_art.then_some(art_png.as_path());
        encode(track, &root.join(track.rel), art, 300 + 100 * i as u32);
    }
    let mut junk = Vec::with_capacity(6000);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..6000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk.push((x >> 24) as u8);
    }
    std::fs::write(root.join(CORRUPT), junk).expect("corrupt file");
    LibraryFixture {
        cover_jpg: std::fs::read(&cover).expect("cover"),
        embedded_png: std::fs::read(&art_png).expect("png"),
        root,
    }
}

/// Sends a request with a body (Connection: close) and reads the whole response.
pub fn send(
    floe: &super::Floe,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> super::Response {
    use std::io::{Read, Write};
    let mut s = floe.connect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        floe.addr,
        body.len()
    );
    s.write_all(head.as_bytes()).expect("send head");
    // A server may answer (413) before reading a large body: a failed write is not an error.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    super::Response::parse(&raw)
}
