//! The on-disk transcode cache: one file per (track, source size and modification time,
//! format, bitrate), written to a temporary file and renamed into place when complete, and
//! kept under `cache_max_bytes` by evicting the least recently used files.
//!
//! A cached file is served like any file (ranges, conditionals). An entry that changes source
//! (size or mtime) simply gets a new key; the old one ages out. The index lives in memory and
//! is rebuilt from the directory at start-up (files' modification times give the initial
//! order; leftover temporary files are deleted).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use floe_media::transcode::OutputFormat;

/// What a cached transcode is the transcode of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The track's id.
    pub track: String,
    /// The source file's size.
    pub size: u64,
    /// The source file's modification time, nanoseconds since the epoch.
    pub mtime_nanos: u128,
    /// The output format.
    pub format: OutputFormat,
    /// The output bitrate in kbit/s (0 for lossless).
    pub bitrate_kbps: u32,
}

impl CacheKey {
    /// The cache file's name: readable, and safe whatever the track id holds.
    pub fn file_name(&self) -> String {
        let id: String = self
            .track
            .chars()
            .take(64)
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!(
            "{id}-{:x}-{:x}-{}k.{}",
            self.size,
            self.mtime_nanos,
            self.bitrate_kbps,
            self.format.name()
        )
    }
}

const TEMP_SUFFIX: &str = ".part";

#[derive(Debug, Default)]
struct Index {
    /// File name → (size, last use).
    entries: HashMap<String, (u64, u64)>,
    total: u64,
    clock: u64,
    /// Names being written now.
    writing: HashSet<String>,
}

/// The cache.
#[derive(Debug)]
pub struct TranscodeCache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
}

impl TranscodeCache {
    /// Opens (creating) the directory and indexes what it holds, evicting down to `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Arc<TranscodeCache>> {
        fs::create_dir_all(dir)?;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            if !meta.is_file() {
                continue;
            }
            if name.ends_with(TEMP_SUFFIX) {
                // An interrupted write.
                let _ = fs::remove_file(entry.path());
                continue;
            }
            let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            found.push((mtime, name, meta.len()));
        }
        found.sort();
        let mut index = Index::default();
        for (_, name, size) in found {
            index.clock += 1;
            index.total += size;
            index.entries.insert(name, (size, index.clock));
        }
        let cache = TranscodeCache {
            dir: dir.to_path_buf(),
            max_bytes,
            index: Mutex::new(index),
        };
        {
            let mut index = cache.lock();
            cache.evict(&mut index, None);
        }
        Ok(Arc::new(cache))
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bytes the cache holds now.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// The cached file for `key`, marked as just used, if it is there.
    pub fn lookup(&self, key: &CacheKey) -> Option<PathBuf> {
        let name = key.file_name();
        let mut index = self.lock();
        index.clock += 1;
        let now = index.clock;
        let entry = index.entries.get_mut(&name)?;
        entry.1 = now;
        Some(self.dir.join(name))
    }

    /// Starts writing `key`, unless it is cached or being written already.
    pub fn begin(self: &Arc<Self>, key: &CacheKey) -> std::io::Result<Option<CacheWriter>> {
        let name = key.file_name();
        {
            let mut index = self.lock();
            if index.entries.contains_key(&name) || !index.writing.insert(name.clone()) {
                return Ok(None);
            }
        }
        let temp = self
            .dir
            .join(format!("{name}.{}{TEMP_SUFFIX}", std::process::id()));
        match File::create(&temp) {
            Ok(file) => Ok(Some(CacheWriter {
                cache: Arc::clone(self),
                name,
                temp,
                file: Some(BufWriter::with_capacity(64 * 1024, file)),
                written: 0,
            })),
            Err(e) => {
                self.lock().writing.remove(&name);
                Err(e)
            }
        }
    }

    /// Drops least recently used entries until the total fits (never `keep`).
    fn evict(&self, index: &mut Index, keep: Option<&str>) {
        while index.total > self.max_bytes {
            let victim = index
                .entries
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != keep)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(name, _)| name.clone());
            let Some(victim) = victim else { break };
            if let Some((size, _)) = index.entries.remove(&victim) {
                index.total -= size;
            }
            // A file being served stays readable through its open descriptor.
            if let Err(e) = fs::remove_file(self.dir.join(&victim)) {
                tracing::warn!("transcode cache: cannot remove {victim}: {e}");
            }
        }
    }
}

/// A cache file being written. Dropped without [`CacheWriter::commit`], it is deleted.
#[derive(Debug)]
pub struct CacheWriter {
    cache: Arc<TranscodeCache>,
    name: String,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
    written: u64,
}

impl CacheWriter {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(f) = &mut self.file {
            f.write_all(bytes)?;
            self.written += bytes.len() as u64;
        }
        Ok(())
    }

    /// Renames the complete file into place, indexes it and evicts older entries. A result
    /// bigger than the whole cache is not kept.
    pub fn commit(mut self) -> std::io::Result<PathBuf> {
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("committed twice"))?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        drop(file);
        let path = self.cache.dir.join(&self.name);
        let cache = Arc::clone(&self.cache);
        if self.written > cache.max_bytes {
            return Err(std::io::Error::other(format!(
                "{} bytes do not fit a cache of {} bytes",
                self.written, cache.max_bytes
            )));
        }
        fs::rename(&self.temp, &path)?;
        let mut index = cache.lock();
        index.writing.remove(&self.name);
        index.clock += 1;
        let now = index.clock;
        if let Some((old, _)) = index.entries.insert(self.name.clone(), (self.written, now)) {
            index.total -= old;
        }
        index.total += self.written;
        cache.evict(&mut index, Some(&self.name));
        self.name.clear();
        Ok(path)
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        self.file.take();
        let _ = fs::remove_file(&self.temp);
        self.cache.lock().writing.remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(track: &str, bitrate: u32) -> CacheKey {
        CacheKey {
            track: track.into(),
            size: 1000,
            mtime_nanos: 77,
            format: OutputFormat::Mp3,
            bitrate_kbps: bitrate,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("floe-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn put(cache: &Arc<TranscodeCache>, k: &CacheKey, len: usize) -> PathBuf {
        let mut w = cache.begin(k).expect("io").expect("not cached yet");
        w.write(&vec![7u8; len]).expect("writes");
        w.commit().expect("commits")
    }

    #[test]
    fn names_are_safe_and_distinct() {
        assert_eq!(key("a/../b", 128).file_name(), "a____b-3e8-4d-128k.mp3");
        assert_ne!(key("x", 128).file_name(), key("x", 96).file_name());
    }

    #[test]
    fn writes_are_atomic_and_looked_up() {
        let dir = temp_dir("atomic");
        let cache = TranscodeCache::open(&dir, 10_000).expect("opens");
        let k = key("1", 128);
        let mut w = cache.begin(&k).expect("io").expect("new");
        // A second writer for the same key is refused while the first writes.
        assert!(cache.begin(&k).expect("io").is_none());
        w.write(b"abc").expect("writes");
        assert_eq!(cache.lookup(&k), None, "not visible before commit");
        let path = w.commit().expect("commits");
        assert_eq!(fs::read(&path).expect("reads"), b"abc");
        assert_eq!(cache.lookup(&k), Some(path));
        // An abandoned write leaves nothing behind.
        let k2 = key("2", 128);
        let mut w = cache.begin(&k2).expect("io").expect("new");
        w.write(b"partial").expect("writes");
        drop(w);
        assert_eq!(cache.lookup(&k2), None);
        assert_eq!(fs::read_dir(&dir).expect("lists").count(), 1);
        assert!(cache.begin(&k2).expect("io").is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn least_recently_used_files_are_evicted() {
        let dir = temp_dir("lru");
        let cache = TranscodeCache::open(&dir, 2500).expect("opens");
        let (a, b, c) = (key("a", 128), key("b", 128), key("c", 128));
        let pa = put(&cache, &a, 1000);
        put(&cache, &b, 1000);
        assert!(cache.lookup(&a).is_some()); // a is now more recent than b
        put(&cache, &c, 1000);
        assert!(cache.lookup(&b).is_none(), "b was least recently used");
        assert!(cache.lookup(&a).is_some() && cache.lookup(&c).is_some());
        assert_eq!(cache.total_bytes(), 2000);
        assert!(pa.exists());
        // Re-opened, the index is rebuilt from the directory.
        drop(cache);
        let cache = TranscodeCache::open(&dir, 2500).expect("re-opens");
        assert_eq!(cache.total_bytes(), 2000);
        assert!(cache.lookup(&a).is_some());
        // Too big for the whole cache: not kept.
        let mut w = cache.begin(&key("huge", 1)).expect("io").expect("new");
        w.write(&[0u8; 3000]).expect("writes");
        assert!(w.commit().is_err());
        assert_eq!(cache.total_bytes(), 2000);
        let _ = fs::remove_dir_all(&dir);
    }
}
