//! Schema migrations: a numbered list applied in order, each in one transaction, the version
//! kept in `PRAGMA user_version`.
//!
//! Append new migrations at the end; never edit one that has shipped.

use rusqlite::Connection;

use crate::error::{LibraryError, Result};

/// The migrations; index 0 takes the database to version 1.
pub const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build creates.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest_version`]. Each step runs in its own transaction
/// together with its `user_version` update, so a failed step leaves the previous version.
pub fn migrate(conn: &mut Connection) -> Result<i64> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = latest_version();
    if found > known {
        return Err(LibraryError::SchemaTooNew { found, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| LibraryError::Migration { version, source })?;
    }
    Ok(known)
}

const V1: &str = r#"
CREATE TABLE covers (
    id INTEGER PRIMARY KEY,
    -- 'embedded:<md5 of the image>' or 'file:<absolute path>'
    key TEXT NOT NULL UNIQUE,
    mime TEXT NOT NULL,
    -- the image for embedded art; NULL for folder art (read from `path`)
    data BLOB,
    path TEXT
);

CREATE TABLE artists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sort_name TEXT NOT NULL
);
CREATE INDEX artists_sort ON artists(sort_name);

CREATE TABLE albums (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    artist_id INTEGER NOT NULL REFERENCES artists(id),
    sort_name TEXT NOT NULL,
    UNIQUE(artist_id, name)
);
CREATE INDEX albums_sort ON albums(sort_name);

CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT NOT NULL,
    artist TEXT NOT NULL,
    album TEXT NOT NULL,
    album_artist TEXT NOT NULL,
    artist_id INTEGER NOT NULL REFERENCES artists(id),
    album_id INTEGER NOT NULL REFERENCES albums(id),
    track_no INTEGER,
    disc_no INTEGER,
    year INTEGER,
    genre TEXT,
    duration_ms INTEGER NOT NULL,
    bitrate_kbps INTEGER,
    sample_rate INTEGER,
    channels INTEGER,
    suffix TEXT NOT NULL,
    content_type TEXT NOT NULL,
    cover_id INTEGER REFERENCES covers(id),
    -- 1 when cover_id is the file's own picture, 0 when it is folder art (or none)
    cover_embedded INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL
);
CREATE INDEX tracks_album ON tracks(album_id, disc_no, track_no);
CREATE INDEX tracks_artist ON tracks(artist_id);
CREATE INDEX tracks_cover ON tracks(cover_id);

-- Files that could not be read, remembered so an unchanged one is not read again.
CREATE TABLE scan_failures (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);

-- Full-text search; rowid = the entity's id. Prefix indexes make "abc*" fast.
CREATE VIRTUAL TABLE tracks_fts USING fts5(title, artist, album,
    prefix = '1 2 3', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE artists_fts USING fts5(name,
    prefix = '1 2 3', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE albums_fts USING fts5(name, artist,
    prefix = '1 2 3', tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_enc BLOB,
    api_key_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);

CREATE TABLE playlists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner_user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    comment TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    changed INTEGER NOT NULL
);
CREATE TABLE playlist_tracks (
    playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, position)
);
CREATE INDEX playlist_tracks_track ON playlist_tracks(track_id);

CREATE TABLE plays (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    at INTEGER NOT NULL
);
CREATE INDEX plays_track ON plays(track_id);

CREATE TABLE stars (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'track', 'album' or 'artist'
    item_kind TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (user_id, item_kind, item_id)
);
"#;

/// v2: an indexed sort key for listing all tracks (album artist, album, disc, track number,
/// title; case-folded), so a page deep into 100k tracks does not sort the whole table.
const V2: &str = r#"
ALTER TABLE tracks ADD COLUMN sort_key TEXT GENERATED ALWAYS AS (
    lower(album_artist) || char(31) || lower(album) || char(31) ||
    printf('%04d', coalesce(disc_no, 0)) || char(31) ||
    printf('%06d', coalesce(track_no, 0)) || char(31) || lower(title)
) VIRTUAL;
CREATE INDEX tracks_sort ON tracks(sort_key, id);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_to_the_latest_version_once() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        assert_eq!(migrate(&mut conn).expect("migrate"), latest_version());
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, latest_version());
        // A second run applies nothing (creating the tables again would fail).
        assert_eq!(migrate(&mut conn).expect("again"), latest_version());
    }

    #[test]
    fn upgrades_a_version_1_database_keeping_its_rows() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(MIGRATIONS[0]).expect("v1");
        conn.pragma_update(None, "user_version", 1).expect("set");
        conn.execute_batch(
            "INSERT INTO artists (id, name, sort_name) VALUES (1, 'A', 'a');
             INSERT INTO albums (id, name, artist_id, sort_name) VALUES (1, 'Al', 1, 'al');
             INSERT INTO tracks (path, size, mtime, mtime_ns, title, artist, album, album_artist,
                 artist_id, album_id, track_no, duration_ms, suffix, content_type, added)
             VALUES ('/x.mp3', 1, 0, 0, 'Tt', 'A', 'Al', 'A', 1, 1, 3, 0, 'mp3', 'audio/mpeg', 0);",
        )
        .expect("rows");
        migrate(&mut conn).expect("migrate");
        let key: String = conn
            .query_row("SELECT sort_key FROM tracks", [], |r| r.get(0))
            .expect("key");
        assert_eq!(key, "a\u{1f}al\u{1f}0000\u{1f}000003\u{1f}tt");
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.pragma_update(None, "user_version", 99).expect("set");
        match migrate(&mut conn) {
            Err(LibraryError::SchemaTooNew { found: 99, known }) => {
                assert_eq!(known, latest_version())
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
}
