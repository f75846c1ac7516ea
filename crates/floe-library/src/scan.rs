//! The incremental scanner.
//!
//! A scan walks the music folder (stat only), compares each audio file's size and
//! modification time with the catalog, reads tags and audio properties only of new and
//! changed files (on several threads), deletes what is gone, and points unchanged tracks
//! without embedded art at their folder's current art. A rescan of an unchanged library
//! therefore opens no audio file. Files that cannot be read are remembered with their size
//! and time, so they are reported again without being read again until they change.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::catalog::u64_at;
use crate::error::{LibraryError, Result};
use crate::tags::{self, FileInfo};
use crate::Library;

/// How many read files are written per transaction.
const WRITE_BATCH: usize = 200;

/// What a scan reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanProgress {
    /// Walking the folder: files found so far.
    Walking {
        /// Audio files found.
        found: u64,
    },
    /// Reading new and changed files.
    Reading {
        /// Files read so far.
        done: u64,
        /// Files to read in all.
        total: u64,
    },
}

/// Callback for progress reports; called from the scanning thread.
pub type ProgressFn = Arc<dyn Fn(ScanProgress) + Send + Sync>;

/// How to scan.
#[derive(Clone)]
pub struct ScanOptions {
    /// Threads that read files (default: the machine's cores).
    pub threads: usize,
    /// Called with progress (at most every few files).
    pub progress: Option<ProgressFn>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            progress: None,
        }
    }
}

impl fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanOptions")
            .field("threads", &self.threads)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A file that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanFailure {
    /// The file.
    pub path: PathBuf,
    /// Why it was not added.
    pub reason: String,
}

/// What a scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// The folder scanned (canonical).
    pub root: PathBuf,
    /// Audio files found in the folder.
    pub files: u64,
    /// New tracks.
    pub added: u64,
    /// Tracks whose file changed and was read again.
    pub changed: u64,
    /// Tracks whose file is gone.
    pub removed: u64,
    /// Tracks whose file moved (same name, size and time at a new path): id kept, not read.
    pub moved: u64,
    /// Files not read because their size and modification time are as at the last scan.
    pub unchanged: u64,
    /// Files opened and read in this scan.
    pub read: u64,
    /// Files that cannot be read (read now, or remembered from an earlier scan and unchanged).
    pub failed: Vec<ScanFailure>,
    /// Wall-clock time of the scan.
    pub elapsed: Duration,
}

impl ScanSummary {
    /// Files found per second of scan time.
    pub fn files_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.files as f64 / secs
        } else {
            0.0
        }
    }

    /// Files read per second of scan time (0 when none were read).
    pub fn reads_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.read as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for ScanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "scanned {} files in {}: {} added, {} changed, {} removed, {} moved, {} unchanged, {} failed",
            self.files,
            self.root.display(),
            self.added,
            self.changed,
            self.removed,
            self.moved,
            self.unchanged,
            self.failed.len()
        )?;
        write!(
            f,
            "{} files read in {:.2} s ({:.0} files/s; {:.0} files read/s)",
            self.read,
            self.elapsed.as_secs_f64(),
            self.files_per_second(),
            self.reads_per_second()
        )?;
        for failure in &self.failed {
            write!(
                f,
                "\nfailed: {}: {}",
                failure.path.display(),
                failure.reason
            )?;
        }
        Ok(())
    }
}

/// An audio file found by the walk.
struct Found {
    path: PathBuf,
    size: u64,
    mtime: i64,
    mtime_ns: i64,
}

/// A track as the catalog has it, for comparison.
struct Known {
    id: i64,
    size: u64,
    mtime_ns: i64,
    cover_embedded: bool,
    cover_id: Option<i64>,
}

impl Library {
    /// Scans `root` (blocking; run it on a thread of its own). Only tracks under `root` are
    /// added, changed or removed; a second scan of the same database waits for the first.
    pub fn scan(&self, root: &Path, options: &ScanOptions) -> Result<ScanSummary> {
        let _scan = self.scan_lock();
        let started = Instant::now();
        let root = std::fs::canonicalize(root).map_err(|e| LibraryError::Root {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !root.is_dir() {
            return Err(LibraryError::Root {
                path: root,
                reason: "not a folder".into(),
            });
        }
        let progress = |p: ScanProgress| {
            if let Some(cb) = &options.progress {
                cb(p)
            }
        };
        let mut summary = ScanSummary {
            root: root.clone(),
            ..ScanSummary::default()
        };

        // 1. Walk (stat only).
        let mut found = Vec::new();
        let mut folder_art: HashMap<PathBuf, PathBuf> = HashMap::new();
        walk(
            &root,
            self.db_path(),
            &mut found,
            &mut folder_art,
            &progress,
        );
        summary.files = found.len() as u64;

        // 2. Compare with the catalog.
        let prefix = format!("{}{}", root.display(), std::path::MAIN_SEPARATOR);
        let (known, known_failures) = self.read(|conn| {
            let mut known = HashMap::new();
            let mut stmt = conn.prepare(
                "SELECT id, path, size, mtime_ns, cover_embedded, cover_id FROM tracks \
                 WHERE substr(path, 1, length(?1)) = ?1",
            )?;
            let rows = stmt.query_map([&prefix], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    Known {
                        id: r.get(0)?,
                        size: u64_at(r, 2)?,
                        mtime_ns: r.get(3)?,
                        cover_embedded: r.get(4)?,
                        cover_id: r.get(5)?,
                    },
                ))
            })?;
            for row in rows {
                let (path, k) = row?;
                known.insert(PathBuf::from(path), k);
            }
            let mut failures = HashMap::new();
            let mut stmt = conn.prepare(
                "SELECT path, size, mtime_ns, reason FROM scan_failures \
                 WHERE substr(path, 1, length(?1)) = ?1",
            )?;
            let rows = stmt.query_map([&prefix], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (u64_at(r, 1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?),
                ))
            })?;
            for row in rows {
                let (path, f) = row?;
                failures.insert(PathBuf::from(path), f);
            }
            Ok((known, failures))
        })?;

        let mut to_read = Vec::new();
        let mut unchanged_art = Vec::new();
        let mut seen = HashSet::with_capacity(found.len());
        for file in found {
            seen.insert(file.path.clone());
            if let Some(k) = known.get(&file.path) {
                if k.size == file.size && k.mtime_ns == file.mtime_ns {
                    summary.unchanged += 1;
                    if !k.cover_embedded {
                        let art = art_for(&folder_art, &root, &file.path).cloned();
                        unchanged_art.push((k.id, k.cover_id, art));
                    }
                    continue;
                }
            } else if let Some((size, mtime_ns, reason)) = known_failures.get(&file.path) {
                if *size == file.size && *mtime_ns == file.mtime_ns {
                    summary.failed.push(ScanFailure {
                        path: file.path,
                        reason: reason.clone(),
                    });
                    continue;
                }
            }
            to_read.push(file);
        }
        // Moves: a new path with the file name, size and modification time of a vanished
        // track is that track moved (renames keep times); it keeps its id and is not read.
        let file_name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let mut vanished: HashMap<(std::ffi::OsString, u64, i64), Vec<(i64, bool)>> =
            HashMap::new();
        for (path, k) in known.iter().filter(|(p, _)| !seen.contains(*p)) {
            vanished
                .entry((file_name(path), k.size, k.mtime_ns))
                .or_default()
                .push((k.id, k.cover_embedded));
        }
        let mut moves = Vec::new();
        to_read.retain(|file| {
            if known.contains_key(&file.path) {
                return true;
            }
            let key = (file_name(&file.path), file.size, file.mtime_ns);
            match vanished.get_mut(&key).and_then(|ids| ids.pop()) {
                Some((id, embedded)) => {
                    let art = art_for(&folder_art, &root, &file.path).cloned();
                    moves.push((id, file.path.clone(), embedded, art));
                    false
                }
                None => true,
            }
        });
        let moved: HashSet<i64> = moves.iter().map(|(id, ..)| *id).collect();
        let removed: Vec<i64> = known
            .iter()
            .filter(|(p, _)| !seen.contains(*p))
            .map(|(_, k)| k.id)
            .filter(|id| !moved.contains(id))
            .collect();
        let gone_failures: Vec<&PathBuf> = known_failures
            .keys()
            .filter(|p| !seen.contains(*p))
            .collect();

        // 3. Removals and folder art of unchanged tracks (no file is read).
        {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            for id in &removed {
                delete_track(&tx, *id)?;
            }
            for (id, path, embedded, art) in &moves {
                tx.execute(
                    "UPDATE tracks SET path = ?2 WHERE id = ?1",
                    params![id, path_str(path)],
                )?;
                if !embedded {
                    let cover = match art {
                        Some(art) => Some(folder_cover_id(&tx, art)?),
                        None => None,
                    };
                    tx.execute(
                        "UPDATE tracks SET cover_id = ?2 WHERE id = ?1",
                        params![id, cover],
                    )?;
                }
            }
            for path in gone_failures {
                tx.execute(
                    "DELETE FROM scan_failures WHERE path = ?1",
                    [path_str(path)],
                )?;
            }
            for (id, current, art) in &unchanged_art {
                let wanted = match art {
                    Some(art) => Some(folder_cover_id(&tx, art)?),
                    None => None,
                };
                if wanted != *current {
                    tx.execute(
                        "UPDATE tracks SET cover_id = ?2 WHERE id = ?1",
                        params![id, wanted],
                    )?;
                }
            }
            tx.commit()?;
        }
        summary.removed = removed.len() as u64;
        summary.moved = moves.len() as u64;

        // 4. Read new and changed files on worker threads, write them in batches.
        let total = to_read.len() as u64;
        progress(ScanProgress::Reading { done: 0, total });
        let to_read = Arc::new(to_read);
        let next = Arc::new(AtomicUsize::new(0));
        let (tx_results, rx_results) =
            mpsc::sync_channel::<(usize, std::result::Result<FileInfo, String>)>(64);
        let threads = options.threads.clamp(1, 64).min(to_read.len().max(1));
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (files, next, tx) = (Arc::clone(&to_read), Arc::clone(&next), tx_results.clone());
            workers.push(std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let info = std::panic::catch_unwind(|| tags::read_file(&file.path))
                    .unwrap_or_else(|_| Err("the tag reader failed on this file".to_string()));
                if tx.send((i, info)).is_err() {
                    break;
                }
            }));
        }
        drop(tx_results);
        let mut done = 0u64;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let mut write_result = Ok(());
        for result in rx_results.iter() {
            done += 1;
            summary.read += 1;
            batch.push(result);
            if batch.len() >= WRITE_BATCH {
                write_result =
                    self.write_batch(&to_read, &known, &folder_art, &mut batch, &mut summary);
                if write_result.is_err() {
                    break;
                }
                progress(ScanProgress::Reading { done, total });
            }
        }
        drop(rx_results);
        for worker in workers {
            worker.join().ok();
        }
        write_result?;
        self.write_batch(&to_read, &known, &folder_art, &mut batch, &mut summary)?;
        progress(ScanProgress::Reading { done, total });

        // 5. Drop albums, artists and pictures nothing refers to any more.
        self.write(|tx| {
            remove_orphans(tx)?;
            Ok(())
        })?;
        summary.failed.sort_by(|a, b| a.path.cmp(&b.path));
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// Adds or updates catalog entries for files described by the caller instead of read by
    /// a scan (benchmarks, tests, imports), in one transaction; returns their ids. A later
    /// scan of a folder holding these paths treats them like scanned files.
    pub fn insert_files(&self, files: &[(PathBuf, u64, SystemTime, FileInfo)]) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(files.len());
        self.write(|tx| {
            for (path, size, modified, info) in files {
                let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
                let found = Found {
                    path: path.clone(),
                    size: *size,
                    mtime: since.as_secs() as i64,
                    mtime_ns: since.as_nanos().min(i64::MAX as u128) as i64,
                };
                let previous: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM tracks WHERE path = ?1",
                        [path_str(path)],
                        |r| r.get(0),
                    )
                    .optional()?;
                ids.push(write_track(tx, &found, info, previous, None)?);
            }
            Ok(())
        })?;
        Ok(ids)
    }

    fn write_batch(
        &self,
        files: &[Found],
        known: &HashMap<PathBuf, Known>,
        folder_art: &HashMap<PathBuf, PathBuf>,
        batch: &mut Vec<(usize, std::result::Result<FileInfo, String>)>,
        summary: &mut ScanSummary,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        for (index, result) in batch.drain(..) {
            let file = &files[index];
            let previous = known.get(&file.path).map(|k| k.id);
            match result {
                Ok(info) => {
                    let art = art_for(folder_art, &summary.root, &file.path);
                    write_track(&tx, file, &info, previous, art.map(|p| p.as_path()))?;
                    tx.execute(
                        "DELETE FROM scan_failures WHERE path = ?1",
                        [path_str(&file.path)],
                    )?;
                    if previous.is_some() {
                        summary.changed += 1;
                    } else {
                        summary.added += 1;
                    }
                }
                Err(reason) => {
                    if let Some(id) = previous {
                        delete_track(&tx, id)?;
                        summary.removed += 1;
                    }
                    tx.execute(
                        "INSERT INTO scan_failures (path, size, mtime_ns, reason) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT(path) DO UPDATE SET \
                         size = excluded.size, mtime_ns = excluded.mtime_ns, reason = excluded.reason",
                        params![path_str(&file.path), file.size as i64, file.mtime_ns, reason],
                    )?;
                    summary.failed.push(ScanFailure {
                        path: file.path.clone(),
                        reason,
                    });
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The folder art for an audio file: its folder's, else its parent folder's (an album with
/// `CD1`/`CD2` folders and the cover beside them), never above the scanned root.
fn art_for<'a>(
    folder_art: &'a HashMap<PathBuf, PathBuf>,
    root: &Path,
    file: &Path,
) -> Option<&'a PathBuf> {
    let dir = file.parent()?;
    folder_art.get(dir).or_else(|| {
        let parent = dir.parent().filter(|p| p.starts_with(root))?;
        folder_art.get(parent)
    })
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Walks `dir` depth first, skipping hidden entries, symbolic links to folders and the
/// database's own files.
fn walk(
    root: &Path,
    db_path: &Path,
    found: &mut Vec<Found>,
    folder_art: &mut HashMap<PathBuf, PathBuf>,
    progress: &dyn Fn(ScanProgress),
) {
    let db_name = db_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            tracing::warn!(folder = %dir.display(), "cannot list folder; skipped");
            continue;
        };
        let mut best_art: Option<(usize, PathBuf)> = None;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if db_name.as_deref().is_some_and(|db| name.starts_with(db)) {
                continue;
            }
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if let Some(rank) = tags::folder_art_rank(&name) {
                if best_art.as_ref().is_none_or(|(r, _)| rank < *r) {
                    best_art = Some((rank, path));
                }
                continue;
            }
            let is_audio = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| tags::audio_content_type(e).is_some());
            if !is_audio {
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok());
            let (mtime, mtime_ns) = modified
                .map(|d| {
                    (
                        d.as_secs() as i64,
                        d.as_nanos().min(i64::MAX as u128) as i64,
                    )
                })
                .unwrap_or((0, 0));
            found.push(Found {
                path,
                size: meta.len(),
                mtime,
                mtime_ns,
            });
            if found.len().is_multiple_of(500) {
                progress(ScanProgress::Walking {
                    found: found.len() as u64,
                });
            }
        }
        if let Some((_, art)) = best_art {
            folder_art.insert(dir, art);
        }
    }
    progress(ScanProgress::Walking {
        found: found.len() as u64,
    });
}

/// The sort key of a name: lower case, a leading "the " dropped.
pub(crate) fn sort_name(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    match lower.strip_prefix("the ") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => lower,
    }
}

fn artist_id(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<i64> {
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM artists WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO artists (name, sort_name) VALUES (?1, ?2)")?
        .execute(params![name, sort_name(name)])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO artists_fts (rowid, name) VALUES (?1, ?2)")?
        .execute(params![id, name])?;
    Ok(id)
}

fn album_id(
    tx: &Transaction<'_>,
    name: &str,
    artist: &str,
    artist_id: i64,
) -> rusqlite::Result<i64> {
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM albums WHERE artist_id = ?1 AND name = ?2")?
        .query_row(params![artist_id, name], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO albums (name, artist_id, sort_name) VALUES (?1, ?2, ?3)")?
        .execute(params![name, artist_id, sort_name(name)])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO albums_fts (rowid, name, artist) VALUES (?1, ?2, ?3)")?
        .execute(params![id, name, artist])?;
    Ok(id)
}

fn cover_row(
    tx: &Transaction<'_>,
    key: &str,
    mime: &str,
    data: Option<&[u8]>,
    path: Option<&str>,
) -> rusqlite::Result<i64> {
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM covers WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO covers (key, mime, data, path) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![key, mime, data, path])?;
    Ok(tx.last_insert_rowid())
}

fn folder_cover_id(tx: &Transaction<'_>, art: &Path) -> rusqlite::Result<i64> {
    let path = path_str(art);
    let name = art
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mime = tags::image_content_type(&name).unwrap_or("image/jpeg");
    cover_row(tx, &format!("file:{path}"), mime, None, Some(&path))
}

fn write_track(
    tx: &Transaction<'_>,
    file: &Found,
    info: &FileInfo,
    previous: Option<i64>,
    folder_art: Option<&Path>,
) -> rusqlite::Result<i64> {
    let artist = artist_id(tx, &info.artist)?;
    let album_artist = artist_id(tx, &info.album_artist)?;
    let album = album_id(tx, &info.album, &info.album_artist, album_artist)?;
    let (cover_id, embedded) = match (&info.picture, folder_art) {
        (Some(pic), _) => {
            let digest = Md5::digest(&pic.data);
            let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (
                Some(cover_row(
                    tx,
                    &format!("embedded:{key}"),
                    &pic.mime,
                    Some(&pic.data),
                    None,
                )?),
                true,
            )
        }
        (None, Some(art)) => (Some(folder_cover_id(tx, art)?), false),
        (None, None) => (None, false),
    };
    // `previous` keeps the id of a changed file (playlists, plays and stars refer to it).
    tx.prepare_cached(
        "INSERT INTO tracks (path, size, mtime, mtime_ns, title, artist, album, album_artist, \
         artist_id, album_id, track_no, disc_no, year, genre, duration_ms, bitrate_kbps, \
         sample_rate, channels, suffix, content_type, cover_id, cover_embedded, added, id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22, ?23, ?24) \
         ON CONFLICT(id) DO UPDATE SET path = excluded.path, size = excluded.size, \
         mtime = excluded.mtime, mtime_ns = excluded.mtime_ns, title = excluded.title, \
         artist = excluded.artist, album = excluded.album, album_artist = excluded.album_artist, \
         artist_id = excluded.artist_id, album_id = excluded.album_id, \
         track_no = excluded.track_no, disc_no = excluded.disc_no, year = excluded.year, \
         genre = excluded.genre, duration_ms = excluded.duration_ms, \
         bitrate_kbps = excluded.bitrate_kbps, sample_rate = excluded.sample_rate, \
         channels = excluded.channels, suffix = excluded.suffix, \
         content_type = excluded.content_type, cover_id = excluded.cover_id, \
         cover_embedded = excluded.cover_embedded",
    )?
    .execute(params![
        path_str(&file.path),
        file.size as i64,
        file.mtime,
        file.mtime_ns,
        info.title,
        info.artist,
        info.album,
        info.album_artist,
        artist,
        album,
        info.track_no,
        info.disc_no,
        info.year,
        info.genre,
        info.duration_ms as i64,
        info.bitrate_kbps,
        info.sample_rate,
        info.channels,
        info.suffix,
        info.content_type,
        cover_id,
        embedded,
        crate::unix_now(),
        previous,
    ])?;
    let id = match previous {
        Some(id) => {
            tx.prepare_cached("DELETE FROM tracks_fts WHERE rowid = ?1")?
                .execute([id])?;
            id
        }
        None => tx.last_insert_rowid(),
    };
    tx.prepare_cached(
        "INSERT INTO tracks_fts (rowid, title, artist, album) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, info.title, info.artist, info.album])?;
    Ok(id)
}

pub(crate) fn delete_track(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM tracks_fts WHERE rowid = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM tracks WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Deletes albums without tracks, artists without tracks or albums, and unused pictures.
pub(crate) fn remove_orphans(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM albums_fts WHERE rowid IN (SELECT id FROM albums al WHERE NOT EXISTS \
             (SELECT 1 FROM tracks t WHERE t.album_id = al.id));
         DELETE FROM albums WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.album_id = albums.id);
         DELETE FROM artists_fts WHERE rowid IN (SELECT id FROM artists a WHERE \
             NOT EXISTS (SELECT 1 FROM tracks t WHERE t.artist_id = a.id) AND \
             NOT EXISTS (SELECT 1 FROM albums al WHERE al.artist_id = a.id));
         DELETE FROM artists WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.artist_id = artists.id) \
             AND NOT EXISTS (SELECT 1 FROM albums al WHERE al.artist_id = artists.id);
         DELETE FROM covers WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.cover_id = covers.id);",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_names_drop_a_leading_article() {
        assert_eq!(sort_name("The Beatles"), "beatles");
        assert_eq!(sort_name("Them"), "them");
        assert_eq!(sort_name("The "), "the");
    }
}
