//! Full-text search and search-as-you-type suggestions.
//!
//! Titles, artist names and album names are indexed with SQLite FTS5 (unicode61 tokenizer,
//! diacritics folded, prefix indexes of 1 to 3 characters). Every word of a query matches as a
//! word prefix, all words must match, and results are ranked by bm25: "beat rev" finds
//! "The Beatles – Revolver". Beyond [`RANKED_MATCHES_MAX`] matches of a kind, that kind is
//! listed in catalog order instead.

use rusqlite::{params, Connection, Row};
use serde::Serialize;

use crate::catalog::{
    album_from_row, artist_from_row, limit_offset, rows, track_from_row, ALBUM_COLUMNS, ALBUM_FROM,
    ARTIST_SELECT, TRACK_COLUMNS,
};
use crate::error::Result;
use crate::model::{Album, Artist, Page, PageRequest, Track};
use crate::Library;

/// The most words of a query that are used (later words are ignored).
pub const MAX_QUERY_WORDS: usize = 16;

/// Above this many matches of one kind, results are listed in catalog order instead of by
/// relevance: ranking scores every match (bm25), which for a one-letter query on 100k tracks
/// costs tens of milliseconds, and such a query has no meaningful best match anyway.
pub const RANKED_MATCHES_MAX: u64 = 5000;

/// Search results, each kind paged separately with the same offset and limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchResults {
    /// Matching artists.
    pub artists: Page<Artist>,
    /// Matching albums (by album name or album artist).
    pub albums: Page<Album>,
    /// Matching tracks (by title, artist or album).
    pub tracks: Page<Track>,
}

/// One search-as-you-type suggestion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// "artist", "album" or "track".
    pub kind: &'static str,
    /// The item's id.
    pub id: i64,
    /// Text to show and complete to: the artist's name, the album's or the track's title.
    pub text: String,
    /// The artist of an album or track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
}

/// Turns what a user typed into an FTS5 query (for the REST API and Subsonic alike): each word
/// quoted and made a prefix, all required, at most [`MAX_QUERY_WORDS`] of them. `None` when
/// there is no word in it.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_WORDS)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

fn empty<T>() -> Page<T> {
    Page {
        total: 0,
        items: Vec::new(),
    }
}

impl Library {
    /// Searches artists, albums and tracks. A query without any word finds nothing.
    pub fn search(&self, query: &str, page: PageRequest) -> Result<SearchResults> {
        let Some(q) = fts_query(query) else {
            return Ok(SearchResults {
                artists: empty(),
                albums: empty(),
                tracks: empty(),
            });
        };
        let (limit, offset) = limit_offset(page);
        self.read(|conn| {
            let page = Matches {
                conn,
                q: &q,
                limit,
                offset,
            };
            Ok(SearchResults {
                artists: page.of("artists_fts", artist_from_row, |m| {
                    format!("{ARTIST_SELECT} JOIN {m} ON m.rid = a.id ORDER BY m.r")
                })?,
                albums: page.of("albums_fts", album_from_row, |m| {
                    format!("SELECT {ALBUM_COLUMNS} {ALBUM_FROM} JOIN {m} ON m.rid = al.id ORDER BY m.r")
                })?,
                tracks: page.of("tracks_fts", track_from_row, |m| {
                    format!("SELECT {TRACK_COLUMNS} FROM {m} JOIN tracks t ON t.id = m.rid ORDER BY m.r")
                })?,
            })
        })
    }

    /// Up to `limit` suggestions for a partly typed query: artists first, then albums, then
    /// tracks, each kind best match first.
    pub fn suggest(&self, query: &str, limit: u64) -> Result<Vec<Suggestion>> {
        let Some(q) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let limit = limit.min(i64::MAX as u64) as i64;
        // Each kind's best matches as (id, text, artist).
        const KINDS: [(&str, &str); 3] = [
            (
                "artist",
                "SELECT a.id, a.name, NULL FROM (SELECT rowid AS rid, rank AS r FROM artists_fts \
                 WHERE artists_fts MATCH ?1 ORDER BY rank LIMIT ?2) m \
                 JOIN artists a ON a.id = m.rid ORDER BY m.r",
            ),
            (
                "album",
                "SELECT al.id, al.name, ar.name FROM (SELECT rowid AS rid, rank AS r FROM \
                 albums_fts WHERE albums_fts MATCH ?1 ORDER BY rank LIMIT ?2) m \
                 JOIN albums al ON al.id = m.rid JOIN artists ar ON ar.id = al.artist_id \
                 ORDER BY m.r",
            ),
            (
                "track",
                "SELECT t.id, t.title, t.artist FROM (SELECT rowid AS rid, rank AS r FROM \
                 tracks_fts WHERE tracks_fts MATCH ?1 ORDER BY rank LIMIT ?2) m \
                 JOIN tracks t ON t.id = m.rid ORDER BY m.r",
            ),
        ];
        self.read(|conn| {
            let mut out: Vec<Suggestion> = Vec::new();
            for (kind, sql) in KINDS {
                let left = limit - out.len() as i64;
                if left <= 0 {
                    break;
                }
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map(params![q, left], |r| {
                    Ok(Suggestion {
                        kind,
                        id: r.get(0)?,
                        text: r.get(1)?,
                        artist: r.get(2)?,
                    })
                })?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }
}

/// One search's pages of matches, kind by kind.
struct Matches<'a> {
    conn: &'a Connection,
    q: &'a str,
    limit: i64,
    offset: i64,
}

impl Matches<'_> {
    /// The page of matches in the FTS table `table`: `select` is given the subquery `m` of
    /// the page's row ids (`m.rid`, ranked by `m.r`) and joins it to the rows `from_row` reads.
    fn of<T>(
        &self,
        table: &str,
        from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
        select: impl FnOnce(&str) -> String,
    ) -> Result<Page<T>> {
        let total = self
            .conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {table} MATCH ?1"
            ))?
            .query_row([self.q], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)?;
        let order = if total > RANKED_MATCHES_MAX {
            "rowid"
        } else {
            "rank"
        };
        let matches = format!(
            "(SELECT rowid AS rid, {order} AS r FROM {table} WHERE {table} MATCH ?1 \
             ORDER BY {order} LIMIT ?2 OFFSET ?3) m"
        );
        let items = rows(
            self.conn,
            &select(&matches),
            params![self.q, self.limit, self.offset],
            from_row,
        )?;
        Ok(Page { total, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_quoted_prefixes_and_lose_operators() {
        assert_eq!(fts_query("beat rev").as_deref(), Some("\"beat\"* \"rev\"*"));
        assert_eq!(fts_query("  AC/DC ").as_deref(), Some("\"AC\"* \"DC\"*"));
        // FTS5 syntax in the input is only word separators, never operators.
        assert_eq!(
            fts_query("a\" OR b*").as_deref(),
            Some("\"a\"* \"OR\"* \"b\"*")
        );
        assert_eq!(fts_query("Björk").as_deref(), Some("\"Björk\"*"));
        assert_eq!(fts_query(" -*\"() "), None);
        let many = "w ".repeat(40);
        assert_eq!(
            fts_query(&many).map(|q| q.matches('*').count()),
            Some(MAX_QUERY_WORDS)
        );
    }
}
