//! Floe's music library: the scanner, tags and cover art, the SQLite catalog, search and
//! playlists.
//!
//! # How to use this crate
//! ```no_run
//! # fn main() -> Result<(), floe_library::LibraryError> {
//! use floe_library::{Library, PageRequest};
//! let library = Library::open(std::path::Path::new("/var/lib/floe/library.db"))?;
//! let summary = library.scan(std::path::Path::new("/srv/music"), &Default::default())?;
//! println!("{summary}"); // added, changed, removed, unchanged, failed (with reasons), files/s
//! let found = library.search("beat rev", PageRequest { offset: 0, limit: 20 })?;
//! println!("{} tracks match", found.tracks.total);
//! let first = library.tracks(PageRequest { offset: 0, limit: 50 })?;
//! if let Some(track) = first.items.first() {
//!     let again = library.track(track.id)?;
//!     assert_eq!(again.as_ref(), Some(track));
//! }
//! # Ok(()) }
//! ```
//! - [`Library`] is `Clone + Send + Sync` and cheap to clone (an `Arc`). **Every method is a
//!   blocking call** into SQLite. Lookups by id and pages of lists take well under a
//!   millisecond to a few milliseconds; from async code, call them inside
//!   `tokio::task::spawn_blocking` (the REST API does) or, for a single lookup by id, directly
//!   if you accept a short block. [`Library::scan`] can take minutes: always on a thread of its
//!   own.
//! - Reads run on a small pool of read-only connections and never wait for a scan (the database
//!   is in WAL mode); writes go through one connection, a scan commits in batches.
//! - Other layers with tables of their own use [`Library::read`] and [`Library::write`] to run
//!   their SQL on the same database (users, plays and stars are in the schema; users' logic
//!   lives in `users.rs`).
//!
//! Layout:
//! - `error`: [`LibraryError`].
//! - [`schema`]: migrations, a numbered list, `PRAGMA user_version`.
//! - [`model`]: [`Track`], [`Artist`], [`Album`], [`Playlist`], [`Page`], [`Cover`].
//! - `catalog`: browsing queries (artists, albums, tracks, covers).
//! - [`search`]: full-text search (FTS5, prefix indexes) and search-as-you-type suggestions.
//! - [`scan`]: the incremental scanner; [`tags`]: reading one file with lofty;
//!   [`LibraryWatcher`]: a first scan, then rescans on file-system changes (notify, debounced).
//! - [`playlists`]: playlist editing and import matching; [`playlist_file`]: reading
//!   `.m3u`/`.pls`/`.xspf`.
//! - [`users`], [`subsonic_queries`]: accounts and the Subsonic API's queries (the Subsonic
//!   layer's own files); they reuse the catalog's and playlists' column lists, row readers
//!   and entry writers rather than repeating them.
//! - A track's id is stable while its file stays at its path (also when its tags change);
//!   [`Track::cover_id`] / [`Album::cover_id`] are ids for [`Library::cover`].

mod catalog;
pub mod error;
pub mod model;
pub mod playlist_file;
pub mod playlists;
pub mod scan;
pub mod schema;
pub mod search;
pub mod subsonic_queries;
pub mod tags;
pub mod users;
mod watch;

pub use error::{LibraryError, Result};
pub use model::{Album, Artist, Cover, CoverData, Page, PageRequest, Playlist, Track};
pub use playlists::{PlaylistEdit, PlaylistEntryMatch};
pub use scan::{ScanFailure, ScanOptions, ScanProgress, ScanSummary};
pub use search::{SearchResults, Suggestion};
pub use watch::{LibraryWatcher, WatchOptions};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

/// Read connections kept open for reuse; more are opened under load and closed after.
const POOLED_READERS: usize = 4;

/// A handle on the catalog database. See the crate documentation for threading.
#[derive(Clone)]
pub struct Library {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Held for the whole of a scan, so two scans of one database never interleave.
    scan_lock: Mutex<()>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Library {
    /// Opens the database at `db_path`, creating it (and its folder) if needed and bringing
    /// its schema up to date. The database is put in WAL mode.
    pub fn open(db_path: &Path) -> Result<Library> {
        let open_err = |source| LibraryError::Open {
            path: db_path.to_path_buf(),
            source,
        };
        if let Some(parent) = db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                open_err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot create {}: {e}", parent.display())),
                ))
            })?;
        }
        let mut writer = Connection::open(db_path).map_err(open_err)?;
        writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(open_err)?;
        configure(&writer).map_err(open_err)?;
        schema::migrate(&mut writer)?;
        Ok(Library {
            inner: Arc::new(Inner {
                path: db_path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                scan_lock: Mutex::new(()),
            }),
        })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a read-only connection (blocking; never waits for writers).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match lock(&self.inner.readers).pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.inner.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|source| LibraryError::Open {
                    path: self.inner.path.clone(),
                    source,
                })?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut pool = lock(&self.inner.readers);
        if pool.len() < POOLED_READERS {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` inside one write transaction (blocking; waits for other writers, including a
    /// scan's current batch). The transaction commits when `f` returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.inner.writer);
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.inner.writer)
    }

    pub(crate) fn scan_lock(&self) -> MutexGuard<'_, ()> {
        lock(&self.inner.scan_lock)
    }
}

/// Connection settings every connection gets.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Locks a mutex; a panic in another holder does not make the data unusable (SQLite keeps
/// its own consistency), so a poisoned lock is taken over.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
