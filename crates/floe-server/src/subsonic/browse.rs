//! Browsing and lists: getMusicFolders, getIndexes, getArtists, getArtist, getAlbum, getSong,
//! search3, getAlbumList2, getRandomSongs; and the elements they share (`artist`, `album`,
//! `child`) with the field names of the Subsonic API.

use super::error::SubsonicError;
use super::ids::{self, Id};
use super::response::Element;
use super::Call;
use crate::http::dates::rfc3339;
use floe_library::subsonic_queries::{self as q, AlbumEntry, AlbumListKind, StarKind};
use floe_library::{Artist, Library, Track};
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

/// Articles ignored when sorting and indexing artists (`ignoredArticles`).
pub const IGNORED_ARTICLES: &str = "The El La Los Las Le Les";
/// The id of the one music folder.
pub const MUSIC_FOLDER_ID: i64 = 1;

/// Seconds since the Unix epoch as RFC 3339.
pub fn iso(secs: i64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Milliseconds as whole seconds, rounded (Subsonic's `duration`).
pub fn seconds(ms: u64) -> u64 {
    (ms + 500) / 1000
}

/// When the calling user starred what (the `starred` attribute of artists, albums, songs).
#[derive(Debug, Clone, Default)]
pub struct Stars(HashMap<(StarKind, i64), i64>);

impl Stars {
    /// The user's stars.
    pub fn of(lib: &Library, user_id: i64) -> Result<Stars, SubsonicError> {
        Ok(Stars(q::star_times(lib, user_id)?))
    }

    fn at(&self, kind: StarKind, id: i64) -> Option<String> {
        self.0.get(&(kind, id)).map(|&t| iso(t))
    }
}

/// Each item as `element` shows it.
pub fn each<T>(items: &[T], stars: &Stars, element: fn(&T, &Stars) -> Element) -> Vec<Element> {
    items.iter().map(|x| element(x, stars)).collect()
}

/// An `ArtistID3`.
pub fn artist_element(a: &Artist, stars: &Stars) -> Element {
    Element::new("artist")
        .attr("id", Id::Artist(a.id).text())
        .attr("name", &a.name)
        .attr_opt("coverArt", a.cover_id.map(|c| Id::Cover(c).text()))
        .attr("albumCount", a.album_count)
        .attr_opt("starred", stars.at(StarKind::Artist, a.id))
}

/// An `AlbumID3`.
pub fn album_element(entry: &AlbumEntry, stars: &Stars) -> Element {
    let a = &entry.album;
    Element::new("album")
        .attr("id", Id::Album(a.id).text())
        .attr("name", &a.name)
        .attr("title", &a.name)
        .attr("album", &a.name)
        .attr("artist", &a.artist)
        .attr("artistId", Id::Artist(a.artist_id).text())
        .attr("isDir", true)
        .attr_opt("coverArt", a.cover_id.map(|c| Id::Cover(c).text()))
        .attr("songCount", a.track_count)
        .attr("duration", seconds(a.duration_ms))
        .attr("playCount", entry.play_count)
        .attr("created", iso(entry.created))
        .attr_opt("year", a.year)
        .attr_opt("genre", a.genre.as_deref())
        .attr_opt("starred", stars.at(StarKind::Album, a.id))
}

/// An album as a `Child` directory (the folder view, `getAlbumList`, `search2`).
pub fn album_child(entry: &AlbumEntry, stars: &Stars) -> Element {
    let a = &entry.album;
    Element::new("child")
        .attr("id", Id::Album(a.id).text())
        .attr("parent", Id::Artist(a.artist_id).text())
        .attr("isDir", true)
        .attr("title", &a.name)
        .attr("album", &a.name)
        .attr("artist", &a.artist)
        .attr_opt("year", a.year)
        .attr_opt("genre", a.genre.as_deref())
        .attr_opt("coverArt", a.cover_id.map(|c| Id::Cover(c).text()))
        .attr("playCount", entry.play_count)
        .attr("created", iso(entry.created))
        .attr_opt("starred", stars.at(StarKind::Album, a.id))
}

/// The path a client is shown for a track: `Album Artist/Album/file name` (the server's own
/// folders stay private).
pub fn display_path(t: &Track) -> String {
    let file = t
        .path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    format!("{}/{}/{file}", t.album_artist, t.album)
}

/// A `Child` for a track.
pub fn song_element(t: &Track, stars: &Stars) -> Element {
    Element::new("song")
        .attr("id", Id::Track(t.id).text())
        .attr("parent", Id::Album(t.album_id).text())
        .attr("isDir", false)
        .attr("title", &t.title)
        .attr("album", &t.album)
        .attr("artist", &t.artist)
        .attr_opt("track", t.track_no)
        .attr_opt("discNumber", t.disc_no)
        .attr_opt("year", t.year)
        .attr_opt("genre", t.genre.as_deref())
        .attr_opt("coverArt", t.cover_id.map(|c| Id::Cover(c).text()))
        .attr("size", t.size)
        .attr("contentType", &t.content_type)
        .attr("suffix", &t.suffix)
        .attr("duration", seconds(t.duration_ms))
        .attr_opt("bitRate", t.bitrate_kbps)
        .attr_opt("samplingRate", t.sample_rate)
        .attr_opt("channelCount", t.channels)
        .attr("path", display_path(t))
        .attr("created", iso(t.mtime))
        .attr("albumId", Id::Album(t.album_id).text())
        .attr("artistId", Id::Artist(t.artist_id).text())
        .attr("type", "music")
        .attr("mediaType", "song")
        .attr("isVideo", false)
        .attr_opt("starred", stars.at(StarKind::Track, t.id))
}

/// The name without a leading ignored article (`The Beatles` → `Beatles`), for sorting and
/// indexing.
pub fn sort_name(name: &str) -> &str {
    for article in IGNORED_ARTICLES.split(' ') {
        if let Some(rest) = name.get(article.len()..) {
            if name[..article.len()].eq_ignore_ascii_case(article) && rest.starts_with(' ') {
                return rest.trim_start();
            }
        }
    }
    name
}

/// The index letter of an artist: the first letter of its sort name, upper-cased; `#` for
/// anything that is not a letter.
pub fn index_letter(name: &str) -> String {
    match sort_name(name).chars().next() {
        Some(c) if c.is_alphabetic() => c.to_uppercase().collect(),
        _ => "#".to_string(),
    }
}

/// Artists grouped under their index letters, letters in order, artists by sort name.
fn indexed(mut artists: Vec<Artist>, stars: &Stars) -> Vec<Element> {
    artists.sort_by_cached_key(|a| sort_name(&a.name).to_lowercase());
    let mut groups: Vec<(String, Vec<Element>)> = Vec::new();
    let mut keyed: Vec<(String, Artist)> = artists
        .into_iter()
        .map(|a| (index_letter(&a.name), a))
        .collect();
    keyed.sort_by(|(l1, _), (l2, _)| (l1 == "#").cmp(&(l2 == "#")).then(l1.cmp(l2)));
    for (letter, a) in keyed {
        match groups.last_mut() {
            Some((l, list)) if *l == letter => list.push(artist_element(&a, stars)),
            _ => groups.push((letter, vec![artist_element(&a, stars)])),
        }
    }
    groups
        .into_iter()
        .map(|(letter, list)| {
            Element::new("index")
                .attr("name", letter)
                .list("artist", list)
        })
        .collect()
}

/// `getMusicFolders`: the library is one folder.
pub fn get_music_folders(_call: &Call, _lib: &Library) -> Result<Element, SubsonicError> {
    Ok(Element::fragment().child(Element::new("musicFolders").list(
        "musicFolder",
        vec![Element::new("musicFolder")
            .attr("id", MUSIC_FOLDER_ID)
            .attr("name", "Music")],
    )))
}

/// `getIndexes`: artists by index letter (ids are artist ids); with `ifModifiedSince` (ms) at
/// or after the catalog's last change, no index (the client's copy is current).
pub fn get_indexes(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let modified_ms = q::last_modified(lib)?.saturating_mul(1000);
    let since: i64 = call.params.number("ifModifiedSince")?.unwrap_or(0);
    let artists = if since > 0 && since >= modified_ms {
        Vec::new()
    } else {
        q::album_artists(lib)?
    };
    Ok(Element::fragment().child(
        Element::new("indexes")
            .attr("lastModified", modified_ms)
            .attr("ignoredArticles", IGNORED_ARTICLES)
            .list("index", indexed(artists, &stars)),
    ))
}

/// `getMusicDirectory`: the folder view over the same catalog. An artist (`ar-N`, as
/// `getIndexes` lists them) holds its albums as sub-directories; an album (`al-N`) holds its
/// songs.
pub fn get_music_directory(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let text = call.params.require("id")?;
    let directory = match Id::parse(text) {
        Some(Id::Artist(id)) => {
            let artist = lib
                .artist(id)?
                .ok_or_else(|| SubsonicError::NotFound(format!("artist {text}")))?;
            let albums = q::artist_albums(lib, id)?;
            Element::new("directory")
                .attr("id", text)
                .attr("name", &artist.name)
                .list("child", each(&albums, &stars, album_child))
        }
        Some(Id::Album(id)) => {
            let album = lib
                .album(id)?
                .ok_or_else(|| SubsonicError::NotFound(format!("album {text}")))?;
            let songs = lib.album_tracks(id)?;
            Element::new("directory")
                .attr("id", text)
                .attr("parent", Id::Artist(album.artist_id).text())
                .attr("name", &album.name)
                .list("child", each(&songs, &stars, song_element))
        }
        _ => return Err(SubsonicError::NotFound(format!("directory {text}"))),
    };
    Ok(Element::fragment().child(directory))
}

/// `getArtists`: artists by index letter.
pub fn get_artists(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let artists = q::album_artists(lib)?;
    Ok(Element::fragment().child(
        Element::new("artists")
            .attr("ignoredArticles", IGNORED_ARTICLES)
            .list("index", indexed(artists, &stars)),
    ))
}

/// `getArtist`: the artist and their albums.
pub fn get_artist(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let id = ids::artist(call.params.require("id")?)?;
    let artist = lib
        .artist(id)?
        .ok_or_else(|| SubsonicError::NotFound(format!("artist ar-{id}")))?;
    let albums = q::artist_albums(lib, id)?;
    Ok(Element::fragment()
        .child(artist_element(&artist, &stars).list("album", each(&albums, &stars, album_element))))
}

/// `getAlbum`: the album and its tracks.
pub fn get_album(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let id = ids::album(call.params.require("id")?)?;
    let album =
        q::album(lib, id)?.ok_or_else(|| SubsonicError::NotFound(format!("album al-{id}")))?;
    let songs = lib.album_tracks(id)?;
    Ok(Element::fragment()
        .child(album_element(&album, &stars).list("song", each(&songs, &stars, song_element))))
}

/// `getSong`.
pub fn get_song(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let id = ids::track(call.params.require("id")?)?;
    let song = lib
        .track(id)?
        .ok_or_else(|| SubsonicError::NotFound(format!("song tr-{id}")))?;
    Ok(Element::fragment().child(song_element(&song, &stars)))
}

fn count(call: &Call, name: &'static str, default: u32) -> Result<u32, SubsonicError> {
    Ok(call
        .params
        .number::<u32>(name)?
        .unwrap_or(default)
        .min(call.limits.max_list_size))
}

fn offset(call: &Call, name: &'static str) -> Result<u32, SubsonicError> {
    Ok(call.params.number::<u32>(name)?.unwrap_or(0))
}

/// What `query` and the counts and offsets per kind find: every word as a prefix of a word of
/// the name; an empty query (`""`, as some clients send to list everything) matches all.
fn search_found(call: &Call, lib: &Library) -> Result<q::SearchResult, SubsonicError> {
    if !call.params.has("query") {
        return Err(SubsonicError::MissingParameter("query"));
    }
    let query = call.params.get("query").unwrap_or("").trim_matches('"');
    let page = q::SearchPage {
        artist_count: count(call, "artistCount", 20)?,
        artist_offset: offset(call, "artistOffset")?,
        album_count: count(call, "albumCount", 20)?,
        album_offset: offset(call, "albumOffset")?,
        song_count: count(call, "songCount", 20)?,
        song_offset: offset(call, "songOffset")?,
    };
    Ok(q::search(lib, query, &page)?)
}

/// `search3`: artists, albums and songs (ID3 forms).
pub fn search3(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let found = search_found(call, lib)?;
    let stars = Stars::of(lib, call.user.id)?;
    Ok(Element::fragment().child(
        Element::new("searchResult3")
            .list("artist", each(&found.artists, &stars, artist_element))
            .list("album", each(&found.albums, &stars, album_element))
            .list("song", each(&found.songs, &stars, song_element)),
    ))
}

/// `search2`: the same search, albums as directories (`Child`), artists as index entries.
pub fn search2(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let found = search_found(call, lib)?;
    let stars = Stars::of(lib, call.user.id)?;
    Ok(Element::fragment().child(
        Element::new("searchResult2")
            .list(
                "artist",
                found
                    .artists
                    .iter()
                    .map(|a| {
                        Element::new("artist")
                            .attr("id", Id::Artist(a.id).text())
                            .attr("name", &a.name)
                            .attr_opt("starred", stars.at(StarKind::Artist, a.id))
                    })
                    .collect(),
            )
            .list("album", each(&found.albums, &stars, album_child))
            .list("song", each(&found.songs, &stars, song_element)),
    ))
}

/// The page of albums `type`, `size`, `offset` (and `fromYear`/`toYear`, `genre`) ask for.
fn album_list_page(call: &Call, lib: &Library) -> Result<Vec<AlbumEntry>, SubsonicError> {
    let kind = call.params.require("type")?;
    let size = count(call, "size", 10)?;
    let offset = offset(call, "offset")?;
    let kind = match kind {
        "random" => AlbumListKind::Random,
        "newest" => AlbumListKind::Newest,
        "alphabeticalByName" => AlbumListKind::ByName,
        "alphabeticalByArtist" => AlbumListKind::ByArtist,
        "frequent" => AlbumListKind::Frequent,
        "recent" => AlbumListKind::Recent,
        "starred" => AlbumListKind::Starred,
        "byYear" => AlbumListKind::ByYear {
            from: call
                .params
                .number("fromYear")?
                .ok_or(SubsonicError::MissingParameter("fromYear"))?,
            to: call
                .params
                .number("toYear")?
                .ok_or(SubsonicError::MissingParameter("toYear"))?,
        },
        "byGenre" => AlbumListKind::ByGenre(call.params.require("genre")?.to_string()),
        other => {
            return Err(SubsonicError::InvalidParameter {
                name: "type",
                value: other.to_string(),
            })
        }
    };
    Ok(q::album_list(lib, &kind, call.user.id, size, offset)?)
}

/// `getAlbumList2`: albums as `AlbumID3`.
pub fn get_album_list2(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let albums = album_list_page(call, lib)?;
    let stars = Stars::of(lib, call.user.id)?;
    Ok(Element::fragment()
        .child(Element::new("albumList2").list("album", each(&albums, &stars, album_element))))
}

/// `getAlbumList`: the same albums as directories (`Child`), for clients of the folder view.
pub fn get_album_list(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let albums = album_list_page(call, lib)?;
    let stars = Stars::of(lib, call.user.id)?;
    Ok(Element::fragment()
        .child(Element::new("albumList").list("album", each(&albums, &stars, album_child))))
}

/// `getGenres`: every genre with its song and album counts.
pub fn get_genres(_call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let genres = q::genres(lib)?;
    Ok(Element::fragment().child(
        Element::new("genres").list(
            "genre",
            genres
                .iter()
                .map(|g| {
                    Element::new("genre")
                        .attr("songCount", g.song_count)
                        .attr("albumCount", g.album_count)
                        .text(&g.name)
                })
                .collect(),
        ),
    ))
}

/// `getSongsByGenre`: `genre`, `count` (default 10), `offset`.
pub fn get_songs_by_genre(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let genre = call.params.require("genre")?;
    let songs = q::songs_by_genre(
        lib,
        genre,
        count(call, "count", 10)?,
        offset(call, "offset")?,
    )?;
    Ok(Element::fragment()
        .child(Element::new("songsByGenre").list("song", each(&songs, &stars, song_element))))
}

/// `getTopSongs`: `artist` (a name), `count` (default 50): most played first.
pub fn get_top_songs(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let artist = call.params.require("artist")?;
    let songs = q::top_songs(lib, artist, count(call, "count", 50)?)?;
    Ok(Element::fragment()
        .child(Element::new("topSongs").list("song", each(&songs, &stars, song_element))))
}

/// `getRandomSongs`.
pub fn get_random_songs(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let filter = q::RandomFilter {
        size: count(call, "size", 10)?,
        genre: call.params.get("genre").map(str::to_string),
        from_year: call.params.number("fromYear")?,
        to_year: call.params.number("toYear")?,
    };
    let songs = q::random_songs(lib, &filter)?;
    Ok(Element::fragment()
        .child(Element::new("randomSongs").list("song", each(&songs, &stars, song_element))))
}

fn star_items(call: &Call) -> Result<Vec<(q::StarKind, i64)>, SubsonicError> {
    let mut items = Vec::new();
    for text in call.params.all("id") {
        items.push(match Id::parse(text) {
            Some(Id::Track(n)) => (StarKind::Track, n),
            Some(Id::Album(n)) => (StarKind::Album, n),
            Some(Id::Artist(n)) => (StarKind::Artist, n),
            _ => return Err(SubsonicError::NotFound(format!("item {text}"))),
        });
    }
    for text in call.params.all("albumId") {
        items.push((StarKind::Album, ids::album(text)?));
    }
    for text in call.params.all("artistId") {
        items.push((StarKind::Artist, ids::artist(text)?));
    }
    if items.is_empty() {
        return Err(SubsonicError::MissingParameter("id"));
    }
    Ok(items)
}

/// `star`: `id` (a song, album or artist id), `albumId`, `artistId`, each repeatable.
pub fn star(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    q::set_stars(lib, call.user.id, &star_items(call)?, true, call.now)?;
    Ok(Element::fragment())
}

/// `unstar`: as [`star`].
pub fn unstar(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    q::set_stars(lib, call.user.id, &star_items(call)?, false, call.now)?;
    Ok(Element::fragment())
}

/// `getStarred2`: the user's starred artists, albums and songs.
pub fn get_starred2(call: &Call, lib: &Library) -> Result<Element, SubsonicError> {
    let stars = Stars::of(lib, call.user.id)?;
    let (artists, albums, songs) = q::starred(lib, call.user.id)?;
    Ok(Element::fragment().child(
        Element::new("starred2")
            .list("artist", each(&artists, &stars, artist_element))
            .list("album", each(&albums, &stars, album_element))
            .list("song", each(&songs, &stars, song_element)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artist(id: i64, name: &str) -> Artist {
        Artist {
            id,
            name: name.into(),
            album_count: 1,
            track_count: 1,
            cover_id: None,
        }
    }

    #[test]
    fn articles_and_letters() {
        assert_eq!(sort_name("The Beatles"), "Beatles");
        assert_eq!(sort_name("Theatre"), "Theatre");
        assert_eq!(sort_name("los lobos"), "lobos");
        assert_eq!(index_letter("the beatles"), "B");
        assert_eq!(index_letter("élan"), "É");
        assert_eq!(index_letter("2Pac"), "#");
        assert_eq!(index_letter(""), "#");
    }

    #[test]
    fn index_groups_letters_in_order_with_hash_last() {
        let xml = super::super::response::ok(
            Element::fragment().list(
                "index",
                indexed(
                    vec![
                        artist(1, "Zed"),
                        artist(2, "The Band"),
                        artist(3, "abba"),
                        artist(4, "10cc"),
                        artist(5, "Blur"),
                    ],
                    &Stars::default(),
                ),
            ),
            &super::super::response::Format::Xml,
        );
        let body = xml.split_once("openSubsonic=\"true\">").unwrap().1;
        assert_eq!(
            body,
            "<index name=\"A\"><artist id=\"ar-3\" name=\"abba\" albumCount=\"1\"/></index><index name=\"B\"><artist id=\"ar-2\" name=\"The Band\" albumCount=\"1\"/><artist id=\"ar-5\" name=\"Blur\" albumCount=\"1\"/></index><index name=\"Z\"><artist id=\"ar-1\" name=\"Zed\" albumCount=\"1\"/></index><index name=\"#\"><artist id=\"ar-4\" name=\"10cc\" albumCount=\"1\"/></index></subsonic-response>"
        );
    }
}
