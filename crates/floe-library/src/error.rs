//! The library's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the catalog, the scanner or playlist handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LibraryError {
    /// The database could not be opened or created.
    #[error("cannot open the library database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Floe (its schema version is beyond ours).
    #[error("the library database has schema version {found}, this Floe knows up to {known}")]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A migration failed (the database is left at the previous version).
    #[error("library schema migration to version {version} failed: {source}")]
    Migration {
        /// The version being applied.
        version: i64,
        /// Why.
        source: rusqlite::Error,
    },
    /// Any other SQLite error.
    #[error("library database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A music folder to scan does not exist or is not a folder.
    #[error("music folder {path}: {reason}")]
    Root {
        /// The folder.
        path: PathBuf,
        /// Why it cannot be scanned.
        reason: String,
    },
    /// A file-system watcher could not be set up.
    #[error("cannot watch {path} for changes: {reason}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A referenced item does not exist.
    #[error("{kind} {id} does not exist")]
    NotFound {
        /// "track", "playlist", ...
        kind: &'static str,
        /// Its id.
        id: i64,
    },
    /// A request is invalid (a bad value for a named field).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field or parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A name that must be unique is taken.
    #[error("{kind} {name:?} already exists")]
    Conflict {
        /// "playlist", "user", ...
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A playlist file could not be parsed.
    #[error("playlist file: {0}")]
    PlaylistFile(String),
    /// The blocking worker running a call went away (a panic or a shut-down runtime).
    #[error("library worker failed: {0}")]
    Worker(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
