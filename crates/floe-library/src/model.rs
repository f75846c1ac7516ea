//! The catalog's types, as the API and the Subsonic layer hand them out.

use std::path::PathBuf;

use serde::Serialize;

/// One audio file of the library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Track {
    /// Stable id (kept while the file stays at its path, also when its tags change).
    pub id: i64,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// File size in bytes at the last scan.
    pub size: u64,
    /// Modification time at the last scan, seconds since the Unix epoch.
    pub mtime: i64,
    /// Title (the file name without extension when untagged).
    pub title: String,
    /// Track artist ("Unknown Artist" when untagged).
    pub artist: String,
    /// Album ("Unknown Album" when untagged).
    pub album: String,
    /// Album artist (the track artist when untagged).
    pub album_artist: String,
    /// Id of [`Track::artist`] in the artists table.
    pub artist_id: i64,
    /// Id of the album (named [`Track::album`], by [`Track::album_artist`]).
    pub album_id: i64,
    /// Track number.
    pub track_no: Option<u32>,
    /// Disc number.
    pub disc_no: Option<u32>,
    /// Year.
    pub year: Option<u32>,
    /// Genre.
    pub genre: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Average bitrate of the audio.
    pub bitrate_kbps: Option<u32>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// File extension, lower case: "mp3", "flac", "m4a", "ogg", "opus", "wav".
    pub suffix: String,
    /// MIME type for serving the file, e.g. "audio/mpeg".
    pub content_type: String,
    /// Whether a picture is known for the track (embedded or from its folder).
    pub has_cover: bool,
    /// The picture's id for [`crate::Library::cover`].
    pub cover_id: Option<i64>,
}

/// An artist: a name that appears as track artist or album artist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Artist {
    /// Stable id while the name exists in the library.
    pub id: i64,
    /// Name as tagged.
    pub name: String,
    /// Albums whose album artist this is.
    pub album_count: u64,
    /// Tracks whose track artist this is.
    pub track_count: u64,
    /// A picture from one of its albums.
    pub cover_id: Option<i64>,
}

/// An album: an album name under one album artist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Album {
    /// Stable id while the album exists in the library.
    pub id: i64,
    /// Name as tagged.
    pub name: String,
    /// Album artist's id.
    pub artist_id: i64,
    /// Album artist's name.
    pub artist: String,
    /// The earliest year among its tracks.
    pub year: Option<u32>,
    /// A genre among its tracks.
    pub genre: Option<String>,
    /// Number of tracks.
    pub track_count: u64,
    /// Sum of the tracks' durations.
    pub duration_ms: u64,
    /// A picture of the album (folder art preferred, else the first embedded picture).
    pub cover_id: Option<i64>,
}

/// A user's (or the server's) list of tracks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Playlist {
    /// Id.
    pub id: i64,
    /// Name (not unique: two users may both have "Favourites").
    pub name: String,
    /// Owner, or `None` for playlists made through the REST API without a user.
    pub owner_user_id: Option<i64>,
    /// Free text.
    pub comment: String,
    /// Visible to other users.
    pub public: bool,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last change, Unix seconds.
    pub changed: i64,
    /// Number of entries.
    pub track_count: u64,
    /// Sum of the entries' durations.
    pub duration_ms: u64,
}

/// One page of a longer list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// How many items the whole list has.
    pub total: u64,
    /// The requested slice.
    pub items: Vec<T>,
}

/// Which slice of a list to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to skip.
    pub offset: u64,
    /// Items to return at most.
    pub limit: u64,
}

/// A picture to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cover {
    /// MIME type, e.g. "image/jpeg".
    pub mime: String,
    /// Where the image is.
    pub data: CoverData,
}

/// Where a picture's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoverData {
    /// Embedded in an audio file; copied into the database at scan time.
    Bytes(bytes::Bytes),
    /// A picture file in the music folder (cover.jpg, folder.png, ...); read it to serve it.
    File(PathBuf),
}
