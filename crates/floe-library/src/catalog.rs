//! Browsing queries: tracks, artists, albums, covers.

use std::path::PathBuf;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::Result;
use crate::model::{Album, Artist, Cover, CoverData, Page, PageRequest, Track};
use crate::Library;

/// Columns read by [`track_from_row`], for `SELECT {TRACK_COLUMNS} FROM tracks t`.
pub(crate) const TRACK_COLUMNS: &str = "t.id, t.path, t.size, t.mtime, t.title, t.artist, \
    t.album, t.album_artist, t.artist_id, t.album_id, t.track_no, t.disc_no, t.year, t.genre, \
    t.duration_ms, t.bitrate_kbps, t.sample_rate, t.channels, t.suffix, t.content_type, t.cover_id";

/// Column `i` of a row, a count or size SQLite keeps as an integer, as a `u64` (a negative reads as 0).
pub(crate) fn u64_at(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

pub(crate) fn track_from_row(r: &Row<'_>) -> rusqlite::Result<Track> {
    let path: String = r.get(1)?;
    let cover_id: Option<i64> = r.get(20)?;
    Ok(Track {
        id: r.get(0)?,
        path: PathBuf::from(path),
        size: u64_at(r, 2)?,
        mtime: r.get(3)?,
        title: r.get(4)?,
        artist: r.get(5)?,
        album: r.get(6)?,
        album_artist: r.get(7)?,
        artist_id: r.get(8)?,
        album_id: r.get(9)?,
        track_no: r.get(10)?,
        disc_no: r.get(11)?,
        year: r.get(12)?,
        genre: r.get(13)?,
        duration_ms: u64_at(r, 14)?,
        bitrate_kbps: r.get(15)?,
        sample_rate: r.get(16)?,
        channels: r.get(17)?,
        suffix: r.get(18)?,
        content_type: r.get(19)?,
        has_cover: cover_id.is_some(),
        cover_id,
    })
}

pub(crate) const ARTIST_SELECT: &str = "SELECT a.id, a.name, \
    (SELECT COUNT(*) FROM albums al WHERE al.artist_id = a.id), \
    (SELECT COUNT(*) FROM tracks t WHERE t.artist_id = a.id), \
    COALESCE( \
      (SELECT t.cover_id FROM albums al JOIN tracks t ON t.album_id = al.id \
        WHERE al.artist_id = a.id AND t.cover_id IS NOT NULL LIMIT 1), \
      (SELECT t.cover_id FROM tracks t WHERE t.artist_id = a.id AND t.cover_id IS NOT NULL \
        LIMIT 1)) \
    FROM artists a";

pub(crate) fn artist_from_row(r: &Row<'_>) -> rusqlite::Result<Artist> {
    Ok(Artist {
        id: r.get(0)?,
        name: r.get(1)?,
        album_count: u64_at(r, 2)?,
        track_count: u64_at(r, 3)?,
        cover_id: r.get(4)?,
    })
}

/// An album's columns as [`album_from_row`] reads them (first), over [`ALBUM_FROM`].
pub(crate) const ALBUM_COLUMNS: &str = "al.id, al.name, al.artist_id, ar.name, \
    (SELECT MIN(t.year) FROM tracks t WHERE t.album_id = al.id), \
    (SELECT t.genre FROM tracks t WHERE t.album_id = al.id AND t.genre IS NOT NULL \
        GROUP BY t.genre ORDER BY COUNT(*) DESC, t.genre LIMIT 1), \
    (SELECT COUNT(*) FROM tracks t WHERE t.album_id = al.id), \
    (SELECT COALESCE(SUM(t.duration_ms), 0) FROM tracks t WHERE t.album_id = al.id), \
    (SELECT t.cover_id FROM tracks t WHERE t.album_id = al.id AND t.cover_id IS NOT NULL \
        ORDER BY t.cover_embedded, t.disc_no, t.track_no, t.id LIMIT 1)";

/// The tables [`ALBUM_COLUMNS`] reads from (`al`, `ar`).
pub(crate) const ALBUM_FROM: &str = "FROM albums al JOIN artists ar ON ar.id = al.artist_id";

pub(crate) fn album_from_row(r: &Row<'_>) -> rusqlite::Result<Album> {
    Ok(Album {
        id: r.get(0)?,
        name: r.get(1)?,
        artist_id: r.get(2)?,
        artist: r.get(3)?,
        year: r.get(4)?,
        genre: r.get(5)?,
        track_count: u64_at(r, 6)?,
        duration_ms: u64_at(r, 7)?,
        cover_id: r.get(8)?,
    })
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<u64> {
    Ok(conn.query_row(sql, params, |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Every row `sql` selects, each read by `from_row`.
pub(crate) fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    from_row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params, from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A page's limit and offset as SQLite integers.
pub(crate) fn limit_offset(page: PageRequest) -> (i64, i64) {
    (
        page.limit.min(i64::MAX as u64) as i64,
        page.offset.min(i64::MAX as u64) as i64,
    )
}

impl Library {
    /// The track with this id.
    pub fn track(&self, id: i64) -> Result<Option<Track>> {
        self.read(|conn| {
            let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id = ?1");
            Ok(conn.query_row(&sql, [id], track_from_row).optional()?)
        })
    }

    /// The tracks with these ids, in the order asked (unknown ids are left out).
    pub fn tracks_by_ids(&self, ids: &[i64]) -> Result<Vec<Track>> {
        self.read(|conn| {
            let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(t) = stmt.query_row([id], track_from_row).optional()? {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    /// All tracks, by album artist, album, disc, track number and title (case-folded; an
    /// index keeps deep pages cheap).
    pub fn tracks(&self, page: PageRequest) -> Result<Page<Track>> {
        self.read(|conn| {
            let total = count(conn, "SELECT COUNT(*) FROM tracks", [])?;
            let sql = format!(
                "SELECT {TRACK_COLUMNS} FROM tracks t ORDER BY t.sort_key, t.id \
                 LIMIT ?1 OFFSET ?2"
            );
            let (limit, offset) = limit_offset(page);
            let items = rows(conn, &sql, params![limit, offset], track_from_row)?;
            Ok(Page { total, items })
        })
    }

    /// An album's tracks, by disc and track number.
    pub fn album_tracks(&self, album_id: i64) -> Result<Vec<Track>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.album_id = ?1 \
                 ORDER BY t.disc_no, t.track_no, t.title, t.id"
            );
            rows(conn, &sql, [album_id], track_from_row)
        })
    }

    /// All artists (track artists and album artists), by name.
    pub fn artists(&self, page: PageRequest) -> Result<Page<Artist>> {
        self.read(|conn| {
            let total = count(conn, "SELECT COUNT(*) FROM artists", [])?;
            let sql = format!("{ARTIST_SELECT} ORDER BY a.sort_name, a.id LIMIT ?1 OFFSET ?2");
            let (limit, offset) = limit_offset(page);
            let items = rows(conn, &sql, params![limit, offset], artist_from_row)?;
            Ok(Page { total, items })
        })
    }

    /// The artist with this id.
    pub fn artist(&self, id: i64) -> Result<Option<Artist>> {
        self.read(|conn| {
            let sql = format!("{ARTIST_SELECT} WHERE a.id = ?1");
            Ok(conn.query_row(&sql, [id], artist_from_row).optional()?)
        })
    }

    /// Albums by name; with `artist_id`, only that album artist's, by year then name.
    pub fn albums(&self, artist_id: Option<i64>, page: PageRequest) -> Result<Page<Album>> {
        self.read(|conn| {
            let (limit, offset) = limit_offset(page);
            let (total, items) = match artist_id {
                Some(artist) => {
                    let total = count(
                        conn,
                        "SELECT COUNT(*) FROM albums WHERE artist_id = ?1",
                        [artist],
                    )?;
                    let sql = format!(
                        "SELECT {ALBUM_COLUMNS} {ALBUM_FROM} WHERE al.artist_id = ?3 \
                         ORDER BY (SELECT MIN(t.year) FROM tracks t WHERE t.album_id = al.id), \
                         al.sort_name, al.id LIMIT ?1 OFFSET ?2"
                    );
                    let items = rows(conn, &sql, params![limit, offset, artist], album_from_row)?;
                    (total, items)
                }
                None => {
                    let total = count(conn, "SELECT COUNT(*) FROM albums", [])?;
                    let sql =
                        format!("SELECT {ALBUM_COLUMNS} {ALBUM_FROM} ORDER BY al.sort_name, al.id LIMIT ?1 OFFSET ?2");
                    let items = rows(conn, &sql, params![limit, offset], album_from_row)?;
                    (total, items)
                }
            };
            Ok(Page { total, items })
        })
    }

    /// The album with this id.
    pub fn album(&self, id: i64) -> Result<Option<Album>> {
        self.read(|conn| {
            let sql = format!("SELECT {ALBUM_COLUMNS} {ALBUM_FROM} WHERE al.id = ?1");
            Ok(conn.query_row(&sql, [id], album_from_row).optional()?)
        })
    }

    /// A picture by id ([`Track::cover_id`], [`Album::cover_id`], [`Artist::cover_id`]).
    /// Folder art is returned as its path: the file may have gone since the last scan, so
    /// reading it can still fail.
    pub fn cover(&self, id: i64) -> Result<Option<Cover>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT mime, data, path FROM covers WHERE id = ?1",
                    [id],
                    |r| {
                        let mime: String = r.get(0)?;
                        let data: Option<Vec<u8>> = r.get(1)?;
                        let path: Option<String> = r.get(2)?;
                        Ok((mime, data, path))
                    },
                )
                .optional()?
                .and_then(|(mime, data, path)| match (data, path) {
                    (Some(bytes), _) => Some(Cover {
                        mime,
                        data: CoverData::Bytes(bytes::Bytes::from(bytes)),
                    }),
                    (None, Some(path)) => Some(Cover {
                        mime,
                        data: CoverData::File(PathBuf::from(path)),
                    }),
                    (None, None) => None,
                }))
        })
    }

    /// Numbers of tracks, albums and artists.
    pub fn counts(&self) -> Result<(u64, u64, u64)> {
        self.read(|conn| {
            Ok((
                count(conn, "SELECT COUNT(*) FROM tracks", [])?,
                count(conn, "SELECT COUNT(*) FROM albums", [])?,
                count(conn, "SELECT COUNT(*) FROM artists", [])?,
            ))
        })
    }
}
