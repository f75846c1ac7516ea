//! Where tracks come from and in which order: a folder (scanned recursively for audio files) or
//! an `.m3u`/`.m3u8`/`.pls` playlist, played sequentially, shuffled (no repeat until every track
//! has played) or at random.
//!
//! The list is read again before every pick, so files added to or removed from the folder (or
//! the playlist) take effect at the next track. A scan is one directory walk, cheap next to the
//! minutes a track plays; it is capped at [`MAX_TRACKS`] files and [`MAX_DEPTH`] levels.
//!
//! The ordering itself ([`Picker`]) is pure: it takes the current list and returns the next
//! entry, so it is unit-tested with fixed lists and a seeded RNG.

use crate::config::Order;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Most tracks a folder or playlist may hold; the rest is ignored (with a warning).
pub const MAX_TRACKS: usize = 200_000;
/// Deepest folder nesting scanned.
pub const MAX_DEPTH: usize = 16;
/// Largest playlist file read, in bytes.
pub const MAX_PLAYLIST_BYTES: u64 = 16 * 1024 * 1024;

/// File extensions (lowercase) taken as audio when scanning a folder.
pub const AUDIO_EXTENSIONS: [&str; 14] = [
    "mp3", "flac", "ogg", "oga", "opus", "wav", "m4a", "aac", "mp4", "aif", "aiff", "caf", "mka",
    "wv",
];

/// True when `path` has one of [`AUDIO_EXTENSIONS`] (any case).
pub fn is_audio_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every audio file under `dir`, sorted by path. Unreadable folders are skipped.
pub fn scan_folder(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            tracing::debug!(dir = %d.display(), "cannot read folder");
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            // Follow symlinks to files and folders alike (metadata() resolves them).
            let is_dir = ft.is_dir() || (ft.is_symlink() && path.is_dir());
            if is_dir {
                if depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if is_audio_file(&path) && out.len() < MAX_TRACKS {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The entries of an M3U/M3U8 playlist: every line that is not blank and not a `#` comment or
/// directive, resolved against `base` (the playlist's folder) when relative. URLs are skipped.
pub fn parse_m3u(text: &str, base: &Path) -> Vec<PathBuf> {
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| resolve(l, base))
        .take(MAX_TRACKS)
        .collect()
}

/// The entries of a PLS playlist (`FileN=path`), in `N` order, resolved against `base`.
pub fn parse_pls(text: &str, base: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<(u64, PathBuf)> = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            let k = k.trim();
            let n = k
                .get(..4)
                .filter(|p| p.eq_ignore_ascii_case("file"))
                .and_then(|_| k[4..].parse::<u64>().ok())?;
            Some((n, resolve(v.trim(), base)?))
        })
        .collect();
    entries.sort_by_key(|(n, _)| *n);
    entries
        .into_iter()
        .map(|(_, p)| p)
        .take(MAX_TRACKS)
        .collect()
}

fn resolve(entry: &str, base: &Path) -> Option<PathBuf> {
    if entry.contains("://") && !entry.starts_with("file://") {
        return None;
    }
    let entry = entry.strip_prefix("file://").unwrap_or(entry);
    let p = PathBuf::from(entry.replace('\\', "/"));
    Some(if p.is_absolute() { p } else { base.join(p) })
}

/// True for a path that names a playlist file rather than a folder of music.
pub fn is_playlist_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "m3u" | "m3u8" | "pls"))
}

/// Reads the track list behind `origin` as it is now: a folder's audio files, or a playlist's
/// entries that exist.
pub fn read_tracks(origin: &Path) -> Vec<PathBuf> {
    if origin.is_dir() {
        return scan_folder(origin);
    }
    if !is_playlist_file(origin) {
        // A single file plays on repeat.
        return if origin.is_file() {
            vec![origin.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let too_big = std::fs::metadata(origin).map_or(true, |m| m.len() > MAX_PLAYLIST_BYTES);
    if too_big {
        tracing::warn!(playlist = %origin.display(), "playlist missing or larger than {MAX_PLAYLIST_BYTES} bytes");
        return Vec::new();
    }
    let Ok(bytes) = std::fs::read(origin) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let base = origin.parent().unwrap_or(Path::new("."));
    let is_pls = origin
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pls"));
    let entries = if is_pls {
        parse_pls(&text, base)
    } else {
        parse_m3u(&text, base)
    };
    entries.into_iter().filter(|p| p.is_file()).collect()
}

/// The ordering: given the list as it is now, which entry plays next.
#[derive(Debug)]
pub struct Picker {
    order: Order,
    rng: StdRng,
    /// Shuffle: entries already played in this round.
    played: HashSet<PathBuf>,
    /// The last entry picked.
    last: Option<PathBuf>,
}

impl Picker {
    /// A picker; `seed` fixes the random sequence (tests), `None` seeds from the OS.
    pub fn new(order: Order, seed: Option<u64>) -> Self {
        Picker {
            order,
            rng: seed.map_or_else(StdRng::from_entropy, StdRng::seed_from_u64),
            played: HashSet::new(),
            last: None,
        }
    }

    /// The next entry of `tracks` (the list as it is now, sorted or in playlist order), or
    /// `None` when it is empty.
    ///
    /// - sequential: the entry after the last one picked in list order (by position in a
    ///   playlist, by path in a folder, so it survives additions and removals), then the top;
    /// - shuffle: a random entry not yet played in this round; a round ends when every entry
    ///   now in the list has played (removed entries are forgotten, added ones join the round),
    ///   and the next round does not start with the entry that ended the last one;
    /// - random: any entry, not the last one when there are two or more.
    pub fn pick(&mut self, tracks: &[PathBuf]) -> Option<PathBuf> {
        if tracks.is_empty() {
            return None;
        }
        let chosen = match self.order {
            Order::Sequential => {
                let i = match &self.last {
                    Some(last) => match tracks.iter().position(|t| t == last) {
                        Some(i) => (i + 1) % tracks.len(),
                        // The last one is gone: the first that sorts after it.
                        None => tracks.iter().position(|t| t > last).unwrap_or(0),
                    },
                    None => 0,
                };
                tracks[i].clone()
            }
            Order::Shuffle => {
                self.played.retain(|p| tracks.contains(p));
                let mut left: Vec<&PathBuf> = tracks
                    .iter()
                    .filter(|t| !self.played.contains(*t))
                    .collect();
                if left.is_empty() {
                    self.played.clear();
                    left = tracks
                        .iter()
                        .filter(|t| tracks.len() < 2 || Some(*t) != self.last.as_ref())
                        .collect();
                }
                let t = left[self.rng.gen_range(0..left.len())].clone();
                self.played.insert(t.clone());
                t
            }
            Order::Random => {
                let choices: Vec<&PathBuf> = tracks
                    .iter()
                    .filter(|t| tracks.len() < 2 || Some(*t) != self.last.as_ref())
                    .collect();
                choices[self.rng.gen_range(0..choices.len())].clone()
            }
        };
        self.last = Some(chosen.clone());
        Some(chosen)
    }
}

/// A folder or playlist and its [`Picker`]: the list is read again at every pick.
#[derive(Debug)]
pub struct Playlist {
    origin: PathBuf,
    picker: Picker,
    last_count: Option<usize>,
}

impl Playlist {
    /// Tracks from `origin` (a folder, a playlist file or a single file) in `order`.
    pub fn new(origin: impl Into<PathBuf>, order: Order, seed: Option<u64>) -> Self {
        Playlist {
            origin: origin.into(),
            picker: Picker::new(order, seed),
            last_count: None,
        }
    }

    /// Where the tracks come from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Reads the list again and picks the next track; `None` when there is none.
    pub fn next_track(&mut self) -> Option<PathBuf> {
        let tracks = read_tracks(&self.origin);
        if self.last_count != Some(tracks.len()) {
            tracing::info!(
                origin = %self.origin.display(),
                tracks = tracks.len(),
                "track list read"
            );
            self.last_count = Some(tracks.len());
        }
        self.picker.pick(&tracks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| PathBuf::from(format!("/m/{i:02}.mp3")))
            .collect()
    }

    #[test]
    fn sequential_follows_the_list_across_changes() {
        let mut p = Picker::new(Order::Sequential, Some(1));
        let l = list(3);
        let got: Vec<PathBuf> = (0..4).filter_map(|_| p.pick(&l)).collect();
        assert_eq!(
            got,
            vec![l[0].clone(), l[1].clone(), l[2].clone(), l[0].clone()]
        );
        // 00 was last; it is removed: the next is the first that sorts after it.
        let shorter = vec![l[1].clone(), l[2].clone()];
        assert_eq!(p.pick(&shorter), Some(l[1].clone()));
    }

    #[test]
    fn shuffle_never_repeats_within_a_round() {
        for seed in 0..20 {
            let mut p = Picker::new(Order::Shuffle, Some(seed));
            let l = list(7);
            let mut previous_last = None;
            for _round in 0..5 {
                let round: Vec<PathBuf> = (0..7).filter_map(|_| p.pick(&l)).collect();
                let unique: HashSet<&PathBuf> = round.iter().collect();
                assert_eq!(unique.len(), 7, "seed {seed}: {round:?}");
                assert_ne!(Some(&round[0]), previous_last.as_ref(), "seed {seed}");
                previous_last = round.last().cloned();
            }
        }
    }

    #[test]
    fn shuffle_takes_in_added_tracks_and_forgets_removed_ones() {
        let mut p = Picker::new(Order::Shuffle, Some(7));
        let mut l = list(4);
        let first = p.pick(&l).expect("pick");
        l.retain(|t| *t != first);
        l.push(PathBuf::from("/m/new.mp3"));
        let rest: Vec<PathBuf> = (0..4).filter_map(|_| p.pick(&l)).collect();
        let unique: HashSet<&PathBuf> = rest.iter().collect();
        assert_eq!(unique.len(), 4);
        assert!(rest.contains(&PathBuf::from("/m/new.mp3")));
    }

    #[test]
    fn random_is_seeded_and_avoids_immediate_repeats() {
        let l = list(5);
        let run = |seed| {
            let mut p = Picker::new(Order::Random, Some(seed));
            (0..50).filter_map(|_| p.pick(&l)).collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        assert!(a.windows(2).all(|w| w[0] != w[1]));
        let one = list(1);
        let mut p = Picker::new(Order::Random, Some(1));
        assert_eq!(p.pick(&one), Some(one[0].clone()));
        assert_eq!(p.pick(&one), Some(one[0].clone()));
        assert_eq!(p.pick(&[]), None);
    }

    #[test]
    fn m3u_and_pls_parse() {
        let base = Path::new("/music");
        let m3u = "\u{feff}#EXTM3U\n#EXTINF:123,Artist - Title\na/one.mp3\n\n/abs/two.flac\r\nhttp://example.com/stream\nfile:///x/three.ogg\nsub\\four.wav\n";
        assert_eq!(
            parse_m3u(m3u, base),
            vec![
                PathBuf::from("/music/a/one.mp3"),
                PathBuf::from("/abs/two.flac"),
                PathBuf::from("/x/three.ogg"),
                PathBuf::from("/music/sub/four.wav"),
            ]
        );
        let pls = "[playlist]\nNumberOfEntries=3\nFile2=b.mp3\nTitle2=B\nfile1 = a.mp3\nFile3=http://radio/x\nLength1=-1\nVersion=2\n";
        assert_eq!(
            parse_pls(pls, base),
            vec![PathBuf::from("/music/a.mp3"), PathBuf::from("/music/b.mp3")]
        );
    }

    #[test]
    fn folder_rescan_sees_added_and_removed_files() {
        let dir = std::env::temp_dir().join(format!("floe-playlist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/.hidden")).expect("mkdir");
        for f in ["a.mp3", "sub/b.FLAC", "notes.txt", "sub/.hidden/c.mp3"] {
            std::fs::write(dir.join(f), b"x").expect("write");
        }
        let mut pl = Playlist::new(&dir, Order::Sequential, None);
        assert_eq!(pl.next_track(), Some(dir.join("a.mp3")));
        assert_eq!(pl.next_track(), Some(dir.join("sub/b.FLAC")));
        std::fs::write(dir.join("c.ogg"), b"x").expect("write");
        std::fs::remove_file(dir.join("a.mp3")).expect("rm");
        // After sub/b.FLAC comes the top of the new list: c.ogg.
        assert_eq!(pl.next_track(), Some(dir.join("c.ogg")));
        assert_eq!(pl.next_track(), Some(dir.join("sub/b.FLAC")));
        std::fs::write(dir.join("list.m3u"), "c.ogg\nmissing.mp3\nsub/b.FLAC\n").expect("write");
        assert_eq!(
            read_tracks(&dir.join("list.m3u")),
            vec![dir.join("c.ogg"), dir.join("sub/b.FLAC")]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
