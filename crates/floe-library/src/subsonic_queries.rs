//! Queries the Subsonic API needs beyond the catalog's browsing: albums with their creation
//! time and play counts, album lists by kind (newest, frequent, by year, starred…), random
//! songs, paged search over the full-text tables, playlists with their owners, and plays.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::catalog::{
    self, rows, track_from_row, u64_at, ALBUM_COLUMNS, ALBUM_FROM, TRACK_COLUMNS,
};
use crate::error::{LibraryError, Result};
use crate::model::{Album, Artist, PageRequest, Playlist, Track};
use crate::playlists::{self, PLAYLIST_COLUMNS};
use crate::Library;

/// An album as Subsonic lists it: the catalog's [`Album`] with when it came and its plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumEntry {
    /// The album as the catalog lists it.
    pub album: Album,
    /// When its first track entered the catalog (seconds since the Unix epoch).
    pub created: i64,
    /// Plays recorded for its tracks.
    pub play_count: u64,
}

/// The columns [`album_from_row`] reads after [`ALBUM_COLUMNS`].
const ENTRY_COLUMNS: &str = "\
    (SELECT COALESCE(MIN(t.added), 0) FROM tracks t WHERE t.album_id = al.id), \
    (SELECT COUNT(*) FROM plays p JOIN tracks t ON t.id = p.track_id WHERE t.album_id = al.id)";

fn album_from_row(r: &Row<'_>) -> rusqlite::Result<AlbumEntry> {
    Ok(AlbumEntry {
        album: catalog::album_from_row(r)?,
        created: r.get(9)?,
        play_count: u64_at(r, 10)?,
    })
}

fn albums_where(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<AlbumEntry>> {
    let sql = format!("SELECT {ALBUM_COLUMNS}, {ENTRY_COLUMNS} {ALBUM_FROM} {tail}");
    rows(conn, &sql, params, album_from_row)
}

fn tracks_where(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Track>> {
    let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t {tail}");
    rows(conn, &sql, params, track_from_row)
}

/// The album with this id.
pub fn album(lib: &Library, id: i64) -> Result<Option<AlbumEntry>> {
    lib.read(|conn| {
        Ok(albums_where(conn, "WHERE al.id = ?1", [id])?
            .into_iter()
            .next())
    })
}

/// An album artist's albums, by year then name.
pub fn artist_albums(lib: &Library, artist_id: i64) -> Result<Vec<AlbumEntry>> {
    lib.read(|conn| {
        albums_where(
            conn,
            "WHERE al.artist_id = ?1 ORDER BY \
             (SELECT MIN(t.year) FROM tracks t WHERE t.album_id = al.id), al.sort_name, al.id",
            [artist_id],
        )
    })
}

/// Artists with at least one album (album artists), by sort name.
pub fn album_artists(lib: &Library) -> Result<Vec<Artist>> {
    let all = lib.artists(PageRequest {
        offset: 0,
        limit: u64::MAX,
    })?;
    Ok(all
        .items
        .into_iter()
        .filter(|a| a.album_count > 0)
        .collect())
}

/// What `find` finds for each of `ids`, in order (ids it finds nothing for are left out).
fn found<T>(ids: &[i64], mut find: impl FnMut(i64) -> Result<Option<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.extend(find(id)?);
    }
    Ok(out)
}

fn artists_by_ids(lib: &Library, ids: &[i64]) -> Result<Vec<Artist>> {
    found(ids, |id| lib.artist(id))
}

fn albums_by_ids(lib: &Library, ids: &[i64]) -> Result<Vec<AlbumEntry>> {
    found(ids, |id| album(lib, id))
}

/// The latest time a track entered or changed in the catalog (seconds since the Unix epoch).
pub fn last_modified(lib: &Library) -> Result<i64> {
    lib.read(|conn| {
        Ok(conn.query_row(
            "SELECT COALESCE(MAX(MAX(added), MAX(mtime)), 0) FROM tracks",
            [],
            |r| r.get(0),
        )?)
    })
}

/// The kinds of `getAlbumList2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbumListKind {
    /// In random order.
    Random,
    /// Most recently added first.
    Newest,
    /// By album name.
    ByName,
    /// By album artist, then album name.
    ByArtist,
    /// Most played first (played albums only).
    Frequent,
    /// Most recently played first (played albums only).
    Recent,
    /// Starred by the user, most recent star first.
    Starred,
    /// Released in `from..=to` (or `to..=from` in reverse order when `from > to`).
    ByYear {
        /// First year.
        from: u32,
        /// Last year.
        to: u32,
    },
    /// With at least one track of this genre (case-insensitive).
    ByGenre(String),
}

/// A page of albums of the given kind; `user_id` is whose stars count.
pub fn album_list(
    lib: &Library,
    kind: &AlbumListKind,
    user_id: i64,
    size: u32,
    offset: u32,
) -> Result<Vec<AlbumEntry>> {
    const YEAR: &str = "(SELECT MIN(t.year) FROM tracks t WHERE t.album_id = al.id)";
    const PLAYS: &str =
        "(SELECT COUNT(*) FROM plays p JOIN tracks t ON t.id = p.track_id WHERE t.album_id = al.id)";
    const LAST_PLAY: &str =
        "(SELECT MAX(p.at) FROM plays p JOIN tracks t ON t.id = p.track_id WHERE t.album_id = al.id)";
    lib.read(|conn| {
        let page = params![size, offset];
        match kind {
            AlbumListKind::Random => {
                albums_where(conn, "ORDER BY random() LIMIT ?1 OFFSET ?2", page)
            }
            AlbumListKind::Newest => albums_where(
                conn,
                "ORDER BY (SELECT MIN(t.added) FROM tracks t WHERE t.album_id = al.id) DESC, \
                 al.id DESC LIMIT ?1 OFFSET ?2",
                page,
            ),
            AlbumListKind::ByName => albums_where(
                conn,
                "ORDER BY al.sort_name, al.id LIMIT ?1 OFFSET ?2",
                page,
            ),
            AlbumListKind::ByArtist => albums_where(
                conn,
                "ORDER BY ar.sort_name, al.sort_name, al.id LIMIT ?1 OFFSET ?2",
                page,
            ),
            AlbumListKind::Frequent => albums_where(
                conn,
                &format!("WHERE {PLAYS} > 0 ORDER BY {PLAYS} DESC, al.id LIMIT ?1 OFFSET ?2"),
                page,
            ),
            AlbumListKind::Recent => albums_where(
                conn,
                &format!(
                    "WHERE {LAST_PLAY} IS NOT NULL ORDER BY {LAST_PLAY} DESC, al.id \
                     LIMIT ?1 OFFSET ?2"
                ),
                page,
            ),
            AlbumListKind::Starred => albums_where(
                conn,
                "JOIN stars s ON s.item_kind = 'album' AND s.item_id = al.id AND s.user_id = ?3 \
                 ORDER BY s.at DESC, al.id LIMIT ?1 OFFSET ?2",
                params![size, offset, user_id],
            ),
            AlbumListKind::ByYear { from, to } => {
                let (low, high, order) = if from <= to {
                    (from, to, "ASC")
                } else {
                    (to, from, "DESC")
                };
                albums_where(
                    conn,
                    &format!(
                        "WHERE {YEAR} BETWEEN ?3 AND ?4 ORDER BY {YEAR} {order}, al.sort_name, \
                         al.id LIMIT ?1 OFFSET ?2"
                    ),
                    params![size, offset, low, high],
                )
            }
            AlbumListKind::ByGenre(genre) => albums_where(
                conn,
                "WHERE EXISTS (SELECT 1 FROM tracks t WHERE t.album_id = al.id \
                 AND t.genre = ?3 COLLATE NOCASE) ORDER BY al.sort_name, al.id LIMIT ?1 OFFSET ?2",
                params![size, offset, genre],
            ),
        }
    })
}

/// What `getRandomSongs` filters by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RandomFilter {
    /// How many songs at most.
    pub size: u32,
    /// Only this genre (case-insensitive).
    pub genre: Option<String>,
    /// Only from this year on.
    pub from_year: Option<u32>,
    /// Only up to this year.
    pub to_year: Option<u32>,
}

/// Random tracks matching the filter.
pub fn random_songs(lib: &Library, filter: &RandomFilter) -> Result<Vec<Track>> {
    lib.read(|conn| {
        tracks_where(
            conn,
            "WHERE (?2 IS NULL OR t.genre = ?2 COLLATE NOCASE) \
             AND (?3 IS NULL OR t.year >= ?3) AND (?4 IS NULL OR t.year <= ?4) \
             ORDER BY random() LIMIT ?1",
            params![filter.size, filter.genre, filter.from_year, filter.to_year],
        )
    })
}

/// A genre with its numbers of tracks and albums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenreEntry {
    /// The genre as tagged.
    pub name: String,
    /// Tracks of this genre.
    pub song_count: u64,
    /// Albums with at least one track of this genre.
    pub album_count: u64,
}

/// Every genre, by name (case-insensitive).
pub fn genres(lib: &Library) -> Result<Vec<GenreEntry>> {
    lib.read(|conn| {
        rows(
            conn,
            "SELECT genre, COUNT(*), COUNT(DISTINCT album_id) FROM tracks \
             WHERE genre IS NOT NULL AND genre <> '' GROUP BY genre \
             ORDER BY genre COLLATE NOCASE",
            [],
            |r| {
                Ok(GenreEntry {
                    name: r.get(0)?,
                    song_count: u64_at(r, 1)?,
                    album_count: u64_at(r, 2)?,
                })
            },
        )
    })
}

/// A page of the tracks of a genre (case-insensitive), by album and track number.
pub fn songs_by_genre(lib: &Library, genre: &str, count: u32, offset: u32) -> Result<Vec<Track>> {
    lib.read(|conn| {
        tracks_where(
            conn,
            "JOIN albums al ON al.id = t.album_id WHERE t.genre = ?1 COLLATE NOCASE \
             ORDER BY al.sort_name, al.id, t.disc_no, t.track_no, t.id LIMIT ?2 OFFSET ?3",
            params![genre, count, offset],
        )
    })
}

/// An artist's most played tracks (by the artist's name as tagged, case-insensitive), most
/// plays first, then by album and track number; tracks never played come last.
pub fn top_songs(lib: &Library, artist: &str, count: u32) -> Result<Vec<Track>> {
    lib.read(|conn| {
        tracks_where(
            conn,
            "JOIN artists ar ON ar.id = t.artist_id JOIN albums al ON al.id = t.album_id \
             WHERE ar.name = ?1 COLLATE NOCASE \
             ORDER BY (SELECT COUNT(*) FROM plays p WHERE p.track_id = t.id) DESC, \
             al.sort_name, t.disc_no, t.track_no, t.id LIMIT ?2",
            params![artist, count],
        )
    })
}

/// Counts and offsets of each part of a search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchPage {
    /// Artists at most.
    pub artist_count: u32,
    /// Artists skipped.
    pub artist_offset: u32,
    /// Albums at most.
    pub album_count: u32,
    /// Albums skipped.
    pub album_offset: u32,
    /// Songs at most.
    pub song_count: u32,
    /// Songs skipped.
    pub song_offset: u32,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchResult {
    /// Matching artists.
    pub artists: Vec<Artist>,
    /// Matching albums.
    pub albums: Vec<AlbumEntry>,
    /// Matching tracks.
    pub songs: Vec<Track>,
}

/// Searches artists, albums and tracks: every word of `text` as a prefix of a word of the
/// name (or, for albums and tracks, of the artist's and album's names too); an empty `text`
/// lists everything by name.
pub fn search(lib: &Library, text: &str, page: &SearchPage) -> Result<SearchResult> {
    let fts = crate::search::fts_query(text);
    let (artist_ids, album_ids, track_ids) = lib.read(|conn| {
        let ids = |sql: &str, count: u32, offset: u32| -> Result<Vec<i64>> {
            match &fts {
                Some(q) => rows(conn, sql, params![q, count, offset], |r| r.get(0)),
                None => rows(conn, sql, params![count, offset], |r| r.get(0)),
            }
        };
        let [artists_sql, albums_sql, tracks_sql] = match &fts {
            Some(_) => [
                "SELECT f.rowid FROM artists_fts f JOIN artists a ON a.id = f.rowid \
                 WHERE artists_fts MATCH ?1 AND EXISTS \
                 (SELECT 1 FROM albums al WHERE al.artist_id = a.id) \
                 ORDER BY rank, a.sort_name LIMIT ?2 OFFSET ?3",
                "SELECT rowid FROM albums_fts WHERE albums_fts MATCH ?1 \
                 ORDER BY rank, rowid LIMIT ?2 OFFSET ?3",
                "SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?1 \
                 ORDER BY rank, rowid LIMIT ?2 OFFSET ?3",
            ],
            None => [
                "SELECT a.id FROM artists a WHERE EXISTS \
                 (SELECT 1 FROM albums al WHERE al.artist_id = a.id) \
                 ORDER BY a.sort_name, a.id LIMIT ?1 OFFSET ?2",
                "SELECT id FROM albums ORDER BY sort_name, id LIMIT ?1 OFFSET ?2",
                "SELECT id FROM tracks ORDER BY title, id LIMIT ?1 OFFSET ?2",
            ],
        };
        Ok((
            ids(artists_sql, page.artist_count, page.artist_offset)?,
            ids(albums_sql, page.album_count, page.album_offset)?,
            ids(tracks_sql, page.song_count, page.song_offset)?,
        ))
    })?;
    Ok(SearchResult {
        artists: artists_by_ids(lib, &artist_ids)?,
        albums: albums_by_ids(lib, &album_ids)?,
        songs: lib.tracks_by_ids(&track_ids)?,
    })
}

/// A playlist with its owner's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistEntry {
    /// The playlist as the catalog lists it.
    pub playlist: Playlist,
    /// Owner's name (empty without an owner).
    pub owner: String,
}

fn playlist_from_row(r: &Row<'_>) -> rusqlite::Result<PlaylistEntry> {
    Ok(PlaylistEntry {
        playlist: playlists::playlist_from_row(r)?,
        owner: r.get(9)?,
    })
}

fn playlists_where(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<PlaylistEntry>> {
    rows(
        conn,
        &format!(
            "SELECT {PLAYLIST_COLUMNS}, COALESCE(u.name, '') FROM playlists p \
             LEFT JOIN users u ON u.id = p.owner_user_id {tail}"
        ),
        params,
        playlist_from_row,
    )
}

/// The user's own playlists, everyone's public ones and the server's (no owner), by name.
pub fn playlists_visible_to(lib: &Library, user_id: i64) -> Result<Vec<PlaylistEntry>> {
    lib.read(|conn| {
        playlists_where(
            conn,
            "WHERE p.owner_user_id = ?1 OR p.public = 1 OR p.owner_user_id IS NULL \
             ORDER BY p.name, p.id",
            [user_id],
        )
    })
}

/// The playlists a named user owns, by name.
pub fn playlists_owned_by(lib: &Library, user_name: &str) -> Result<Vec<PlaylistEntry>> {
    lib.read(|conn| playlists_where(conn, "WHERE u.name = ?1 ORDER BY p.name, p.id", [user_name]))
}

/// A playlist and its tracks in order.
pub fn playlist(lib: &Library, id: i64) -> Result<Option<(PlaylistEntry, Vec<Track>)>> {
    lib.read(|conn| {
        let Some(p) = playlists_where(conn, "WHERE p.id = ?1", [id])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        Ok(Some((p, playlists::playlist_tracks(conn, id)?)))
    })
}

fn check_tracks(conn: &Connection, ids: &[i64]) -> Result<()> {
    match playlists::missing_track(conn, ids)? {
        Some(id) => Err(LibraryError::NotFound { kind: "track", id }),
        None => Ok(()),
    }
}

/// Creates a private playlist owned by `owner` holding `tracks`; its id. An unknown track
/// is [`LibraryError::NotFound`] and nothing is created.
pub fn create_playlist(
    lib: &Library,
    owner: i64,
    name: &str,
    tracks: &[i64],
    now: i64,
) -> Result<i64> {
    lib.write(|tx| {
        check_tracks(tx, tracks)?;
        playlists::insert_playlist(tx, name, Some(owner), "", false, tracks, now)
    })
}

/// A change to a playlist; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaylistChange {
    /// New name.
    pub name: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
    /// Entries to remove, by their index in the playlist before the change (out-of-range
    /// indexes are an error).
    pub remove_indexes: Vec<usize>,
    /// Tracks to append (after the removals).
    pub add: Vec<i64>,
    /// All entries replaced by these (before removals and additions).
    pub replace_with: Option<Vec<i64>>,
}

/// Applies a change in one transaction.
pub fn update_playlist(lib: &Library, id: i64, change: &PlaylistChange, now: i64) -> Result<()> {
    lib.write(|tx| {
        let exists = tx
            .query_row("SELECT 1 FROM playlists WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Err(LibraryError::NotFound {
                kind: "playlist",
                id,
            });
        }
        let mut entries: Vec<i64> = match &change.replace_with {
            Some(list) => {
                check_tracks(tx, list)?;
                list.clone()
            }
            None => playlists::entries(tx, id)?,
        };
        let remove: Vec<u64> = change.remove_indexes.iter().map(|&i| i as u64).collect();
        playlists::apply_edits(&mut entries, &remove, &[], &change.add).map_err(|e| match e {
            LibraryError::Invalid {
                field: "remove",
                reason,
            } => LibraryError::Invalid {
                field: "songIndexToRemove",
                reason,
            },
            other => other,
        })?;
        check_tracks(tx, &change.add)?;
        playlists::set_entries(tx, id, &entries)?;
        playlists::set_details(
            tx,
            id,
            change.name.as_deref(),
            change.comment.as_deref(),
            change.public,
            now,
        )
    })
}

/// Deletes a playlist (its entries go with it).
pub fn delete_playlist(lib: &Library, id: i64) -> Result<()> {
    if lib.delete_playlist(id)? {
        Ok(())
    } else {
        Err(LibraryError::NotFound {
            kind: "playlist",
            id,
        })
    }
}

/// Records that `user_id` played `track_id` at `at` (seconds since the Unix epoch).
pub fn record_play(lib: &Library, user_id: i64, track_id: i64, at: i64) -> Result<()> {
    lib.write(|tx| {
        check_tracks(tx, &[track_id])?;
        tx.execute(
            "INSERT INTO plays (track_id, user_id, at) VALUES (?1, ?2, ?3)",
            params![track_id, user_id, at],
        )?;
        Ok(())
    })
}

/// What a star is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StarKind {
    /// A track.
    Track,
    /// An album.
    Album,
    /// An artist.
    Artist,
}

impl StarKind {
    fn name(self) -> &'static str {
        match self {
            StarKind::Track => "track",
            StarKind::Album => "album",
            StarKind::Artist => "artist",
        }
    }

    fn table(self) -> &'static str {
        match self {
            StarKind::Track => "tracks",
            StarKind::Album => "albums",
            StarKind::Artist => "artists",
        }
    }
}

/// Stars (or, with `on = false`, unstars) items for a user, all or none: an unknown item is
/// [`LibraryError::NotFound`]. Starring twice keeps the first time.
pub fn set_stars(
    lib: &Library,
    user_id: i64,
    items: &[(StarKind, i64)],
    on: bool,
    now: i64,
) -> Result<()> {
    lib.write(|tx| {
        for &(kind, id) in items {
            let sql = format!("SELECT 1 FROM {} WHERE id = ?1", kind.table());
            if tx.query_row(&sql, [id], |_| Ok(())).optional()?.is_none() {
                return Err(LibraryError::NotFound { kind: kind.name(), id });
            }
            if on {
                tx.execute(
                    "INSERT OR IGNORE INTO stars (user_id, item_kind, item_id, at) VALUES (?1, ?2, ?3, ?4)",
                    params![user_id, kind.name(), id, now],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM stars WHERE user_id = ?1 AND item_kind = ?2 AND item_id = ?3",
                    params![user_id, kind.name(), id],
                )?;
            }
        }
        Ok(())
    })
}

/// When a user starred each item: (kind, id) → seconds since the Unix epoch.
pub fn star_times(
    lib: &Library,
    user_id: i64,
) -> Result<std::collections::HashMap<(StarKind, i64), i64>> {
    lib.read(|conn| {
        let mut stmt =
            conn.prepare_cached("SELECT item_kind, item_id, at FROM stars WHERE user_id = ?1")?;
        let rows = stmt.query_map([user_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (kind, id, at) = row?;
            let kind = match kind.as_str() {
                "track" => StarKind::Track,
                "album" => StarKind::Album,
                "artist" => StarKind::Artist,
                _ => continue,
            };
            out.insert((kind, id), at);
        }
        Ok(out)
    })
}

/// What a user starred, most recent first: artists, albums, tracks.
pub fn starred(lib: &Library, user_id: i64) -> Result<(Vec<Artist>, Vec<AlbumEntry>, Vec<Track>)> {
    let ids = |kind: StarKind| -> Result<Vec<i64>> {
        lib.read(|conn| {
            rows(
                conn,
                "SELECT item_id FROM stars WHERE user_id = ?1 AND item_kind = ?2 \
                 ORDER BY at DESC, item_id",
                params![user_id, kind.name()],
                |r| r.get(0),
            )
        })
    };
    let artists = artists_by_ids(lib, &ids(StarKind::Artist)?)?;
    let albums = albums_by_ids(lib, &ids(StarKind::Album)?)?;
    let tracks = lib.tracks_by_ids(&ids(StarKind::Track)?)?;
    Ok((artists, albums, tracks))
}

/// Plays recorded for a track.
pub fn play_count(lib: &Library, track_id: i64) -> Result<u64> {
    lib.read(|conn| {
        Ok(conn
            .query_row(
                "SELECT COUNT(*) FROM plays WHERE track_id = ?1",
                [track_id],
                |r| r.get::<_, i64>(0),
            )?
            .max(0) as u64)
    })
}

#[cfg(test)]
mod db_tests {
    use super::*;

    /// A library with two albums by two artists (years 2001 and 2010, genres Rock and Jazz),
    /// two tracks each, the search tables filled, and one user.
    fn library(name: &str) -> (Library, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("floe-subsonic-q-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lib = Library::open(&dir.join("library.db")).unwrap();
        lib.write(|tx| {
            tx.execute_batch(
                "INSERT INTO artists (id, name, sort_name) VALUES (1, 'Alpha', 'alpha'), (2, 'The Beta', 'beta');
                 INSERT INTO albums (id, name, artist_id, sort_name) VALUES (1, 'First', 1, 'first'), (2, 'Second', 2, 'second');
                 INSERT INTO artists_fts (rowid, name) VALUES (1, 'Alpha'), (2, 'The Beta');
                 INSERT INTO albums_fts (rowid, name, artist) VALUES (1, 'First', 'Alpha'), (2, 'Second', 'The Beta');
                 INSERT INTO users (id, name, created) VALUES (1, 'u', 0);",
            )?;
            for (id, title, artist, album, year, genre, added) in [
                (1, "Morning", 1, 1, 2001, "Rock", 100),
                (2, "Noon", 1, 1, 2001, "Rock", 100),
                (3, "Evening", 2, 2, 2010, "Jazz", 200),
                (4, "Night", 2, 2, 2010, "Jazz", 200),
            ] {
                tx.execute(
                    "INSERT INTO tracks (id, path, size, mtime, mtime_ns, title, artist, album, album_artist, \
                     artist_id, album_id, track_no, year, genre, duration_ms, suffix, content_type, added) \
                     VALUES (?1, ?2, 1000, 0, 0, ?3, '', '', '', ?4, ?5, ?1, ?6, ?7, 3000, 'mp3', 'audio/mpeg', ?8)",
                    params![id, format!("/m/{id}.mp3"), title, artist, album, year, genre, added],
                )?;
                tx.execute(
                    "INSERT INTO tracks_fts (rowid, title, artist, album) VALUES (?1, ?2, '', '')",
                    params![id, title],
                )?;
            }
            Ok(())
        })
        .unwrap();
        (lib, dir)
    }

    fn names(albums: &[AlbumEntry]) -> Vec<&str> {
        albums.iter().map(|a| a.album.name.as_str()).collect()
    }

    #[test]
    fn album_lists_by_kind() {
        let (lib, dir) = library("lists");
        let list = |kind: AlbumListKind| album_list(&lib, &kind, 1, 10, 0).unwrap();
        assert_eq!(names(&list(AlbumListKind::ByName)), ["First", "Second"]);
        assert_eq!(names(&list(AlbumListKind::Newest)), ["Second", "First"]);
        assert_eq!(
            names(&list(AlbumListKind::ByYear {
                from: 2015,
                to: 2000
            })),
            ["Second", "First"]
        );
        assert_eq!(
            names(&list(AlbumListKind::ByYear {
                from: 2000,
                to: 2005
            })),
            ["First"]
        );
        assert_eq!(
            names(&list(AlbumListKind::ByGenre("rock".into()))),
            ["First"]
        );
        assert!(list(AlbumListKind::Frequent).is_empty());
        record_play(&lib, 1, 3, 500).unwrap();
        record_play(&lib, 1, 1, 400).unwrap();
        record_play(&lib, 1, 2, 300).unwrap();
        assert_eq!(names(&list(AlbumListKind::Frequent)), ["First", "Second"]);
        record_play(&lib, 1, 2, 350).unwrap();
        let top: Vec<i64> = top_songs(&lib, "alpha", 10)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(top, [2, 1]);
        assert!(top_songs(&lib, "nobody", 10).unwrap().is_empty());
        assert_eq!(names(&list(AlbumListKind::Recent)), ["Second", "First"]);
        assert_eq!(album(&lib, 1).unwrap().unwrap().play_count, 3);
        assert!(matches!(
            record_play(&lib, 1, 99, 0),
            Err(LibraryError::NotFound {
                kind: "track",
                id: 99
            })
        ));
        set_stars(
            &lib,
            1,
            &[(StarKind::Album, 2), (StarKind::Track, 1)],
            true,
            10,
        )
        .unwrap();
        assert_eq!(names(&list(AlbumListKind::Starred)), ["Second"]);
        assert!(set_stars(&lib, 1, &[(StarKind::Artist, 9)], true, 11).is_err());
        let (_, albums, tracks) = starred(&lib, 1).unwrap();
        assert_eq!((albums.len(), tracks.len()), (1, 1));
        let times = star_times(&lib, 1).unwrap();
        assert_eq!(times.get(&(StarKind::Album, 2)), Some(&10));
        assert_eq!(times.len(), 2);
        let album_page = album_list(&lib, &AlbumListKind::ByName, 1, 1, 1).unwrap();
        assert_eq!(names(&album_page), ["Second"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn playlists_edit_in_order_and_refuse_bad_indexes() {
        let (lib, dir) = library("playlists");
        let id = create_playlist(&lib, 1, "Mix", &[1, 2, 3], 5).unwrap();
        assert!(matches!(
            create_playlist(&lib, 1, "Bad", &[1, 77], 5),
            Err(LibraryError::NotFound { id: 77, .. })
        ));
        let change = PlaylistChange {
            remove_indexes: vec![0, 2],
            add: vec![4, 1],
            public: Some(true),
            ..PlaylistChange::default()
        };
        update_playlist(&lib, id, &change, 9).unwrap();
        let (p, tracks) = playlist(&lib, id).unwrap().unwrap();
        assert_eq!(tracks.iter().map(|t| t.id).collect::<Vec<_>>(), [2, 4, 1]);
        assert!(p.playlist.public);
        assert_eq!(
            (
                p.playlist.track_count,
                p.playlist.duration_ms,
                p.playlist.changed,
                p.owner.as_str()
            ),
            (3, 9000, 9, "u")
        );
        let bad = PlaylistChange {
            remove_indexes: vec![3],
            ..PlaylistChange::default()
        };
        assert!(matches!(
            update_playlist(&lib, id, &bad, 10),
            Err(LibraryError::Invalid {
                field: "songIndexToRemove",
                ..
            })
        ));
        assert_eq!(
            playlist(&lib, id).unwrap().unwrap().1.len(),
            3,
            "a refused change changes nothing"
        );
        assert_eq!(playlists_visible_to(&lib, 2).unwrap().len(), 1, "public");
        lib.write(|tx| {
            tx.execute(
                "INSERT INTO playlists (name, owner_user_id, created, changed) VALUES ('Server', NULL, 0, 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let names: Vec<String> = playlists_visible_to(&lib, 2)
            .unwrap()
            .into_iter()
            .map(|p| p.playlist.name)
            .collect();
        assert_eq!(
            names,
            ["Mix", "Server"],
            "the server's playlists are everyone's"
        );
        assert_eq!(playlists_owned_by(&lib, "u").unwrap().len(), 1);
        delete_playlist(&lib, id).unwrap();
        assert!(matches!(
            delete_playlist(&lib, id),
            Err(LibraryError::NotFound { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn search_random_and_artists() {
        let (lib, dir) = library("search");
        let page = SearchPage {
            artist_count: 10,
            album_count: 10,
            song_count: 10,
            ..SearchPage::default()
        };
        let found = search(&lib, "mor", &page).unwrap();
        assert_eq!(
            found
                .songs
                .iter()
                .map(|t| t.title.as_str())
                .collect::<Vec<_>>(),
            ["Morning"]
        );
        let found = search(&lib, "beta", &page).unwrap();
        assert_eq!(found.artists.len(), 1);
        assert_eq!(names(&found.albums), ["Second"]);
        let all = search(
            &lib,
            "",
            &SearchPage {
                song_count: 2,
                song_offset: 1,
                ..page
            },
        )
        .unwrap();
        assert_eq!(
            all.songs
                .iter()
                .map(|t| t.title.as_str())
                .collect::<Vec<_>>(),
            ["Morning", "Night"]
        );
        let filter = RandomFilter {
            size: 10,
            genre: Some("JAZZ".into()),
            ..RandomFilter::default()
        };
        assert_eq!(random_songs(&lib, &filter).unwrap().len(), 2);
        let filter = RandomFilter {
            size: 10,
            to_year: Some(2005),
            ..RandomFilter::default()
        };
        assert!(random_songs(&lib, &filter)
            .unwrap()
            .iter()
            .all(|t| t.year == Some(2001)));
        assert_eq!(album_artists(&lib).unwrap().len(), 2);
        let g = genres(&lib).unwrap();
        assert_eq!(
            g.iter()
                .map(|g| (g.name.as_str(), g.song_count, g.album_count))
                .collect::<Vec<_>>(),
            [("Jazz", 2, 1), ("Rock", 2, 1)]
        );
        let rock = songs_by_genre(&lib, "rock", 10, 1).unwrap();
        assert_eq!(
            rock.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
            ["Noon"]
        );
        assert_eq!(last_modified(&lib).unwrap(), 200);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
