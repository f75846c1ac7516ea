//! Catalog benchmark: fills a library with synthetic tracks (100,000 by default), then times
//! search, search-as-you-type suggestions and paging; with `--scan N`, also times a real scan
//! of N small audio files (made with ffmpeg) and the rescan of the unchanged folder.
//!
//! ```text
//! cargo run --release -p floe-library --example library_bench -- [--tracks 100000] [--scan 2000]
//! ```
//! Prints one line per measurement: median and 95th percentile over repeated runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use floe_library::tags::FileInfo;
use floe_library::{Library, PageRequest, ScanOptions};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "be", "tu", "son", "ver", "dan", "el", "mo", "ri", "sa", "no", "ga",
    "lu", "ve", "ta", "do", "fi", "ne", "po", "zu", "che", "lin", "mar", "bo", "sti", "qua", "ren",
];

fn word(rng: &mut Rng) -> String {
    let n = 2 + rng.below(2);
    let mut w: String = (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
        .collect();
    if let Some(first) = w.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    w
}

fn words(rng: &mut Rng, n: u64) -> String {
    (0..n).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

fn fill(library: &Library, tracks: usize) -> Duration {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let artists: Vec<String> = (0..tracks / 20).map(|_| words(&mut rng, 2)).collect();
    let albums: Vec<(String, usize)> = (0..tracks / 10)
        .map(|i| (words(&mut rng, 1 + (i as u64 % 3)), i % artists.len()))
        .collect();
    let started = Instant::now();
    let now = SystemTime::now();
    let mut batch = Vec::with_capacity(5000);
    for i in 0..tracks {
        let (album, artist) = &albums[i / 10 % albums.len()];
        let artist = &artists[*artist];
        let title_words = 1 + rng.below(4);
        let info = FileInfo {
            title: words(&mut rng, title_words),
            artist: artist.clone(),
            album: album.clone(),
            album_artist: artist.clone(),
            track_no: Some((i % 10) as u32 + 1),
            disc_no: None,
            year: Some(1960 + rng.below(65) as u32),
            genre: Some(["Rock", "Jazz", "Pop", "Folk"][rng.below(4) as usize].to_string()),
            duration_ms: 120_000 + rng.below(240_000),
            bitrate_kbps: Some(320),
            sample_rate: Some(44100),
            channels: Some(2),
            suffix: "mp3".into(),
            content_type: "audio/mpeg".into(),
            picture: None,
        };
        batch.push((
            PathBuf::from(format!("/synthetic/{artist}/{album}/{i:06}.mp3")),
            5_000_000,
            now,
            info,
        ));
        if batch.len() == batch.capacity() {
            library.insert_files(&batch).expect("insert");
            batch.clear();
        }
    }
    library.insert_files(&batch).expect("insert");
    started.elapsed()
}

fn time<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(f(i));
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[(runs * 95 / 100).min(runs - 1)])
}

fn report(name: &str, (median, p95): (Duration, Duration)) {
    println!(
        "{name:<48} median {:>8.3} ms   p95 {:>8.3} ms",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}

fn scan_bench(dir: &Path, files: usize) {
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("music dir");
    let seeds = [
        ("mp3", "libmp3lame"),
        ("flac", "flac"),
        ("m4a", "aac"),
        ("ogg", "libvorbis"),
    ];
    let mut sources = Vec::new();
    for (ext, codec) in seeds {
        let path = dir.join(format!("seed.{ext}"));
        let ok = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-nostdin",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=duration=5",
                "-c:a",
                codec,
            ])
            .args([
                "-metadata",
                "title=Seed",
                "-metadata",
                "artist=Bench",
                "-metadata",
                "album=Scan",
            ])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("scan benchmark skipped: ffmpeg could not make {ext}");
            return;
        }
        sources.push((ext, path));
    }
    for i in 0..files {
        let (ext, source) = &sources[i % sources.len()];
        let folder = music.join(format!("artist{:03}/album{:02}", i / 100, i / 10 % 10));
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::copy(source, folder.join(format!("{i:06}.{ext}"))).expect("copy");
    }
    let library = Library::open(&dir.join("scan.db")).expect("open");
    let full = library.scan(&music, &ScanOptions::default()).expect("scan");
    println!(
        "scan of {} files (mp3/flac/m4a/ogg, {} threads): {} added, {} failed, {:.2} s, {:.0} files/s",
        full.files,
        ScanOptions::default().threads,
        full.added,
        full.failed.len(),
        full.elapsed.as_secs_f64(),
        full.files_per_second()
    );
    let again = library
        .scan(&music, &ScanOptions::default())
        .expect("rescan");
    println!(
        "rescan, unchanged: {:.3} s, {:.0} files/s, {} files read",
        again.elapsed.as_secs_f64(),
        again.files_per_second(),
        again.read
    );
}

fn main() {
    let mut tracks = 100_000usize;
    let mut scan_files = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (arg.as_str(), value) {
            ("--tracks", Some(n)) => tracks = n,
            ("--scan", Some(n)) => scan_files = n,
            _ => {
                eprintln!("usage: library_bench [--tracks N] [--scan N]");
                std::process::exit(2);
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("floe-library-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let library = Library::open(&dir.join("bench.db")).expect("open");
    let took = fill(&library, tracks);
    let (t, al, ar) = library.counts().expect("counts");
    println!(
        "filled {t} tracks, {al} albums, {ar} artists in {:.1} s ({:.0} tracks/s)",
        took.as_secs_f64(),
        t as f64 / took.as_secs_f64()
    );
    let page = PageRequest {
        offset: 0,
        limit: 50,
    };
    for q in ["k", "ka", "kalo", "Kalo Mi", "ver dan", "zzzz"] {
        let found = library.search(q, page).expect("search");
        let stat = time(50, |_| library.search(q, page).expect("search"));
        report(
            &format!(
                "search {q:?} ({} tracks, {} albums, {} artists)",
                found.tracks.total, found.albums.total, found.artists.total
            ),
            stat,
        );
    }
    for q in ["b", "be", "bes", "beso", "beson", "beson r"] {
        let n = library.suggest(q, 10).expect("suggest").len();
        report(
            &format!("suggest {q:?} ({n} suggestions)"),
            time(100, |_| library.suggest(q, 10).expect("suggest")),
        );
    }
    report(
        "tracks page 1 (50)",
        time(50, |_| library.tracks(page).expect("tracks")),
    );
    let deep = PageRequest {
        offset: (tracks as u64) / 2,
        limit: 50,
    };
    report(
        "tracks page at offset n/2 (50)",
        time(20, |_| library.tracks(deep).expect("tracks")),
    );
    report(
        "artists page 1 (50)",
        time(50, |_| library.artists(page).expect("artists")),
    );
    report(
        "albums page 1 (50)",
        time(50, |_| library.albums(None, page).expect("albums")),
    );
    report(
        "track by id",
        time(1000, |i| {
            library
                .track(1 + (i as i64 * 97) % t as i64)
                .expect("track")
        }),
    );
    if scan_files > 0 {
        scan_bench(&dir, scan_files);
    }
    std::fs::remove_dir_all(&dir).ok();
}
