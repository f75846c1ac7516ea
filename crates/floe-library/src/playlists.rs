//! Playlists: create, edit (rename, add, remove, reorder, replace), delete, and matching the
//! entries of an imported playlist file to catalog tracks.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::catalog::{limit_offset, rows, track_from_row, u64_at, TRACK_COLUMNS};
use crate::error::{LibraryError, Result};
use crate::model::{Page, PageRequest, Playlist, Track};
use crate::playlist_file::{percent_decode, FileEntry};
use crate::{unix_now, Library};

/// Longest playlist name accepted.
pub const MAX_NAME_CHARS: usize = 200;

/// Changes to a playlist, applied in this order: name, comment, public, `tracks` (replaces
/// all entries), `remove` (positions, counted before any removal), `add` (appended), `moves`
/// (each `(from, to)` on the list as it is after the previous step, so a track just added can
/// be moved).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaylistEdit {
    /// New name.
    pub name: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
    /// New entries, replacing all.
    pub tracks: Option<Vec<i64>>,
    /// Positions (from 0) to remove.
    pub remove: Vec<u64>,
    /// Entries to move: from position, to position.
    pub moves: Vec<(u64, u64)>,
    /// Tracks to append.
    pub add: Vec<i64>,
}

/// What identifies an entry of an imported playlist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaylistEntryMatch {
    /// Path, relative path or URL.
    pub location: String,
    /// "Artist - Title" or a title.
    pub title: Option<String>,
    /// Artist, when given apart from the title.
    pub artist: Option<String>,
}

impl From<FileEntry> for PlaylistEntryMatch {
    fn from(e: FileEntry) -> Self {
        PlaylistEntryMatch {
            location: e.location,
            title: e.title,
            artist: e.artist,
        }
    }
}

/// A playlist's columns (of `playlists p`) as [`playlist_from_row`] reads them (first).
pub(crate) const PLAYLIST_COLUMNS: &str = "p.id, p.name, p.owner_user_id, p.comment, p.public, \
    p.created, p.changed, \
    (SELECT COUNT(*) FROM playlist_tracks pt WHERE pt.playlist_id = p.id), \
    (SELECT COALESCE(SUM(t.duration_ms), 0) FROM playlist_tracks pt JOIN tracks t \
        ON t.id = pt.track_id WHERE pt.playlist_id = p.id)";

pub(crate) fn playlist_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Playlist> {
    Ok(Playlist {
        id: r.get(0)?,
        name: r.get(1)?,
        owner_user_id: r.get(2)?,
        comment: r.get(3)?,
        public: r.get(4)?,
        created: r.get(5)?,
        changed: r.get(6)?,
        track_count: u64_at(r, 7)?,
        duration_ms: u64_at(r, 8)?,
    })
}

/// A playlist's tracks in order.
pub(crate) fn playlist_tracks(conn: &Connection, id: i64) -> Result<Vec<Track>> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM playlist_tracks pt JOIN tracks t \
         ON t.id = pt.track_id WHERE pt.playlist_id = ?1 ORDER BY pt.position"
    );
    rows(conn, &sql, [id], track_from_row)
}

fn get_playlist(conn: &Connection, id: i64) -> Result<Option<Playlist>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.id = ?1"),
            [id],
            playlist_from_row,
        )
        .optional()?)
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(LibraryError::Invalid {
            field: "name",
            reason: "must not be empty".into(),
        });
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(LibraryError::Invalid {
            field: "name",
            reason: format!("longer than {MAX_NAME_CHARS} characters"),
        });
    }
    Ok(name.to_string())
}

fn check_name_free(
    tx: &Transaction<'_>,
    name: &str,
    owner: Option<i64>,
    except: i64,
) -> Result<()> {
    let taken: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM playlists WHERE name = ?1 AND owner_user_id IS ?2 AND id != ?3)",
        params![name, owner, except],
        |r| r.get(0),
    )?;
    if taken {
        return Err(LibraryError::Conflict {
            kind: "playlist",
            name: name.to_string(),
        });
    }
    Ok(())
}

/// The first of `ids` that is no track, if any.
pub(crate) fn missing_track(conn: &Connection, ids: &[i64]) -> Result<Option<i64>> {
    let mut stmt = conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM tracks WHERE id = ?1)")?;
    for &id in ids {
        if !stmt.query_row([id], |r| r.get::<_, bool>(0))? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn check_tracks(tx: &Transaction<'_>, ids: &[i64], field: &'static str) -> Result<()> {
    match missing_track(tx, ids)? {
        Some(id) => Err(LibraryError::Invalid {
            field,
            reason: format!("track {id} does not exist"),
        }),
        None => Ok(()),
    }
}

/// A playlist's entries (track ids) in order.
pub(crate) fn entries(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    rows(
        conn,
        "SELECT track_id FROM playlist_tracks WHERE playlist_id = ?1 ORDER BY position",
        [id],
        |r| r.get(0),
    )
}

/// Replaces a playlist's entries.
pub(crate) fn set_entries(conn: &Connection, id: i64, tracks: &[i64]) -> Result<()> {
    conn.execute("DELETE FROM playlist_tracks WHERE playlist_id = ?1", [id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO playlist_tracks (playlist_id, position, track_id) VALUES (?1, ?2, ?3)",
    )?;
    for (position, track) in tracks.iter().enumerate() {
        stmt.execute(params![id, position as i64, track])?;
    }
    Ok(())
}

/// Inserts a playlist holding `tracks` (checked by the caller); its id.
pub(crate) fn insert_playlist(
    conn: &Connection,
    name: &str,
    owner: Option<i64>,
    comment: &str,
    public: bool,
    tracks: &[i64],
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO playlists (name, owner_user_id, comment, public, created, changed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, owner, comment, public, now],
    )?;
    let id = conn.last_insert_rowid();
    set_entries(conn, id, tracks)?;
    Ok(id)
}

/// Sets a playlist's name, comment and visibility where given (`None` keeps the value) and
/// its change time.
pub(crate) fn set_details(
    conn: &Connection,
    id: i64,
    name: Option<&str>,
    comment: Option<&str>,
    public: Option<bool>,
    changed: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE playlists SET name = COALESCE(?2, name), comment = COALESCE(?3, comment), \
         public = COALESCE(?4, public), changed = ?5 WHERE id = ?1",
        params![id, name, comment, public, changed],
    )?;
    Ok(())
}

/// Applies removals, additions and moves, in that order, to a list of entries (pure;
/// positions from 0).
pub fn apply_edits(
    entries: &mut Vec<i64>,
    remove: &[u64],
    moves: &[(u64, u64)],
    add: &[i64],
) -> Result<()> {
    let len = entries.len() as u64;
    if let Some(bad) = remove.iter().find(|p| **p >= len) {
        return Err(LibraryError::Invalid {
            field: "remove",
            reason: format!("position {bad} is beyond the playlist's {len} entries"),
        });
    }
    let mut remove = remove.to_vec();
    remove.sort_unstable();
    remove.dedup();
    for p in remove.iter().rev() {
        entries.remove(*p as usize);
    }
    entries.extend_from_slice(add);
    for (from, to) in moves {
        let len = entries.len() as u64;
        if *from >= len || *to >= len {
            return Err(LibraryError::Invalid {
                field: "move",
                reason: format!("move {from} -> {to} is outside the playlist's {len} entries"),
            });
        }
        let item = entries.remove(*from as usize);
        entries.insert(*to as usize, item);
    }
    Ok(())
}

impl Library {
    /// Playlists by name. With `user`, those the user owns plus public ones and those without
    /// an owner; without, all.
    pub fn playlists(&self, user: Option<i64>, page: PageRequest) -> Result<Page<Playlist>> {
        let (limit, offset) = limit_offset(page);
        self.read(|conn| {
            let filter =
                "(?1 IS NULL OR p.owner_user_id IS NULL OR p.owner_user_id = ?1 OR p.public)";
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM playlists p WHERE {filter}"),
                [user],
                |r| r.get(0),
            )?;
            let items = rows(
                conn,
                &format!(
                    "SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE {filter} \
                     ORDER BY p.name, p.id LIMIT ?2 OFFSET ?3"
                ),
                params![user, limit, offset],
                playlist_from_row,
            )?;
            Ok(Page {
                total: total.max(0) as u64,
                items,
            })
        })
    }

    /// A playlist.
    pub fn playlist(&self, id: i64) -> Result<Option<Playlist>> {
        self.read(|conn| get_playlist(conn, id))
    }

    /// A playlist's tracks in order (an entry can appear more than once).
    pub fn playlist_tracks(&self, id: i64) -> Result<Vec<Track>> {
        self.read(|conn| playlist_tracks(conn, id))
    }

    /// Creates a playlist. Fails with `Conflict` when the owner already has one of that name,
    /// `Invalid` for an empty or long name or an unknown track.
    pub fn create_playlist(
        &self,
        name: &str,
        owner: Option<i64>,
        comment: &str,
        public: bool,
        tracks: &[i64],
    ) -> Result<Playlist> {
        let name = valid_name(name)?;
        let id = self.write(|tx| {
            check_name_free(tx, &name, owner, 0)?;
            check_tracks(tx, tracks, "tracks")?;
            insert_playlist(tx, &name, owner, comment, public, tracks, unix_now())
        })?;
        self.playlist(id)?.ok_or(LibraryError::NotFound {
            kind: "playlist",
            id,
        })
    }

    /// Edits a playlist (see [`PlaylistEdit`] for the order). All or nothing.
    pub fn edit_playlist(&self, id: i64, edit: &PlaylistEdit) -> Result<Playlist> {
        self.write(|tx| {
            let (owner, current_name): (Option<i64>, String) = tx
                .query_row(
                    "SELECT owner_user_id, name FROM playlists WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(LibraryError::NotFound {
                    kind: "playlist",
                    id,
                })?;
            let name = match &edit.name {
                Some(name) => {
                    let name = valid_name(name)?;
                    if name != current_name {
                        check_name_free(tx, &name, owner, id)?;
                    }
                    Some(name)
                }
                None => None,
            };
            let touches_entries = edit.tracks.is_some()
                || !edit.remove.is_empty()
                || !edit.moves.is_empty()
                || !edit.add.is_empty();
            if touches_entries {
                let mut list = match &edit.tracks {
                    Some(tracks) => {
                        check_tracks(tx, tracks, "tracks")?;
                        tracks.clone()
                    }
                    None => entries(tx, id)?,
                };
                check_tracks(tx, &edit.add, "add")?;
                apply_edits(&mut list, &edit.remove, &edit.moves, &edit.add)?;
                set_entries(tx, id, &list)?;
            }
            set_details(
                tx,
                id,
                name.as_deref(),
                edit.comment.as_deref(),
                edit.public,
                unix_now(),
            )
        })?;
        self.playlist(id)?.ok_or(LibraryError::NotFound {
            kind: "playlist",
            id,
        })
    }

    /// Deletes a playlist; `false` if there was none.
    pub fn delete_playlist(&self, id: i64) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM playlists WHERE id = ?1", [id])? > 0))
    }

    /// Finds the catalog track an imported entry means, trying in order: a Floe stream URL
    /// (`.../tracks/{id}/stream`), the absolute path (or `file://` URL), the path relative to
    /// the music folder (the longest path suffix that matches; a bare file name only when one
    /// track has it), then artist and title
    /// (case-insensitive; from `artist` + `title`, or a title of the form "Artist - Title").
    pub fn match_entry(&self, entry: &PlaylistEntryMatch) -> Result<Option<i64>> {
        self.read(|conn| match_entry(conn, entry))
    }

    /// Creates a playlist from a parsed playlist file; returns it with the locations of the
    /// entries that matched no track (those are left out).
    pub fn import_playlist(
        &self,
        name: &str,
        owner: Option<i64>,
        entries: Vec<PlaylistEntryMatch>,
    ) -> Result<(Playlist, Vec<String>)> {
        let mut tracks = Vec::with_capacity(entries.len());
        let mut unmatched = Vec::new();
        self.read(|conn| {
            for entry in &entries {
                match match_entry(conn, entry)? {
                    Some(id) => tracks.push(id),
                    None => unmatched.push(entry.location.clone()),
                }
            }
            Ok(())
        })?;
        let playlist = self.create_playlist(name, owner, "", false, &tracks)?;
        Ok((playlist, unmatched))
    }
}

fn match_entry(conn: &Connection, entry: &PlaylistEntryMatch) -> Result<Option<i64>> {
    let exists = |id: i64| -> rusqlite::Result<Option<i64>> {
        conn.query_row("SELECT id FROM tracks WHERE id = ?1", [id], |r| r.get(0))
            .optional()
    };
    let location = entry.location.trim();
    // 1. Our own stream URL.
    if let Some(id) = stream_url_id(location) {
        if let Some(id) = exists(id)? {
            return Ok(Some(id));
        }
    }
    // 2. Absolute path or file:// URL.
    let path = match location.strip_prefix("file://") {
        Some(rest) => percent_decode(rest.strip_prefix("localhost").unwrap_or(rest)),
        None => location.replace('\\', "/"),
    };
    if !path.is_empty() && !path.contains("://") {
        let by_path = |p: &str| -> rusqlite::Result<Option<i64>> {
            conn.query_row("SELECT id FROM tracks WHERE path = ?1", [p], |r| r.get(0))
                .optional()
        };
        if path.starts_with('/') {
            if let Some(id) = by_path(&path)? {
                return Ok(Some(id));
            }
        }
        // 3. Relative path: the track whose path ends with it (most of it first).
        let rel: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect();
        for start in 0..rel.len() {
            let suffix = format!("/{}", rel[start..].join("/"));
            // Two matches at most: a bare file name must be unique in the catalog to count
            // (an album folder's "01.mp3" is not); a longer path takes the first match.
            let found: Vec<i64> = conn
                .prepare_cached(
                    "SELECT id FROM tracks WHERE substr(path, -length(?1)) = ?1 ORDER BY id LIMIT 2",
                )?
                .query_map([&suffix], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let bare_name = start + 1 == rel.len();
            match found.as_slice() {
                [id] => return Ok(Some(*id)),
                [id, _] if !bare_name => return Ok(Some(*id)),
                _ => {}
            }
        }
    }
    // 4. Artist and title.
    let candidates: Vec<(String, String)> = match (&entry.artist, &entry.title) {
        (Some(artist), Some(title)) => vec![(artist.clone(), title.clone())],
        (None, Some(title)) => title
            .match_indices(" - ")
            .map(|(i, _)| (title[..i].to_string(), title[i + 3..].to_string()))
            .collect(),
        _ => Vec::new(),
    };
    for (artist, title) in candidates {
        let found: Option<i64> = conn
            .query_row(
                "SELECT id FROM tracks WHERE lower(title) = lower(?2) AND \
                 (lower(artist) = lower(?1) OR lower(album_artist) = lower(?1)) ORDER BY id LIMIT 1",
                params![artist.trim(), title.trim()],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The id in a Floe stream URL or path: `.../tracks/{id}/stream`.
fn stream_url_id(location: &str) -> Option<i64> {
    let path = location.split(['?', '#']).next().unwrap_or(location);
    let rest = path.strip_suffix("/stream")?;
    let (before, id) = rest.rsplit_once('/')?;
    if !before.ends_with("/tracks") {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order() {
        let mut list = vec![10, 11, 12, 13];
        apply_edits(&mut list, &[1, 1], &[(0, 2), (3, 0)], &[99]).expect("edit");
        // removed 11 -> [10, 12, 13]; add 99 -> [10, 12, 13, 99];
        // move 10 to 2 -> [12, 13, 10, 99]; move 99 to the front.
        assert_eq!(list, vec![99, 12, 13, 10]);
        assert!(matches!(
            apply_edits(&mut list, &[4], &[], &[]),
            Err(LibraryError::Invalid {
                field: "remove",
                ..
            })
        ));
        assert!(matches!(
            apply_edits(&mut list, &[], &[(0, 4)], &[]),
            Err(LibraryError::Invalid { field: "move", .. })
        ));
    }

    #[test]
    fn stream_urls_give_their_id() {
        assert_eq!(
            stream_url_id("http://h:8000/api/v1/tracks/42/stream"),
            Some(42)
        );
        assert_eq!(
            stream_url_id("/api/v1/tracks/7/stream?format=opus"),
            Some(7)
        );
        assert_eq!(stream_url_id("/api/v1/albums/7/stream"), None);
        assert_eq!(stream_url_id("/music/a.mp3"), None);
    }
}
