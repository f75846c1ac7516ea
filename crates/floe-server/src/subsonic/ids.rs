//! Subsonic ids: one namespace for every kind, so each id says what it names:
//! `ar-N` an artist, `al-N` an album, `tr-N` a track, `pl-N` a playlist, `co-N` a picture
//! (N the catalog's row id). getCoverArt also takes an artist's, album's or track's id.

use super::error::SubsonicError;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    /// An artist.
    Artist(i64),
    /// An album.
    Album(i64),
    /// A track.
    Track(i64),
    /// A playlist.
    Playlist(i64),
    /// A picture.
    Cover(i64),
}

impl Id {
    /// Parses `ar-1`, `al-2`, `tr-3`, `pl-4`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Id> {
        let (prefix, number) = text.split_once('-')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: i64 = number.parse().ok()?;
        match prefix {
            "ar" => Some(Id::Artist(n)),
            "al" => Some(Id::Album(n)),
            "tr" => Some(Id::Track(n)),
            "pl" => Some(Id::Playlist(n)),
            "co" => Some(Id::Cover(n)),
            _ => None,
        }
    }

    /// The id as text.
    pub fn text(self) -> String {
        match self {
            Id::Artist(n) => format!("ar-{n}"),
            Id::Album(n) => format!("al-{n}"),
            Id::Track(n) => format!("tr-{n}"),
            Id::Playlist(n) => format!("pl-{n}"),
            Id::Cover(n) => format!("co-{n}"),
        }
    }
}

fn not_found(what: &str, text: &str) -> SubsonicError {
    SubsonicError::NotFound(format!("{what} {text}"))
}

/// The artist row id in `text`, or error 70.
pub fn artist(text: &str) -> Result<i64, SubsonicError> {
    match Id::parse(text) {
        Some(Id::Artist(n)) => Ok(n),
        _ => Err(not_found("artist", text)),
    }
}

/// The album row id in `text`, or error 70.
pub fn album(text: &str) -> Result<i64, SubsonicError> {
    match Id::parse(text) {
        Some(Id::Album(n)) => Ok(n),
        _ => Err(not_found("album", text)),
    }
}

/// The track row id in `text`, or error 70.
pub fn track(text: &str) -> Result<i64, SubsonicError> {
    match Id::parse(text) {
        Some(Id::Track(n)) => Ok(n),
        _ => Err(not_found("song", text)),
    }
}

/// The playlist row id in `text`, or error 70.
pub fn playlist(text: &str) -> Result<i64, SubsonicError> {
    match Id::parse(text) {
        Some(Id::Playlist(n)) => Ok(n),
        _ => Err(not_found("playlist", text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        for id in [
            Id::Artist(1),
            Id::Album(22),
            Id::Track(333),
            Id::Playlist(0),
        ] {
            assert_eq!(Id::parse(&id.text()), Some(id));
        }
        for bad in [
            "",
            "1",
            "ar-",
            "ar-x",
            "xx-1",
            "tr--1",
            "tr-+1",
            "tr-1 ",
            "tr-99999999999999999999",
        ] {
            assert_eq!(Id::parse(bad), None, "{bad}");
        }
        assert_eq!(track("tr-5"), Ok(5));
        assert_eq!(track("al-5").unwrap_err().code(), 70);
        assert_eq!(album("al-5"), Ok(5));
        assert_eq!(artist("ar-7"), Ok(7));
        assert_eq!(playlist("pl-9"), Ok(9));
    }
}
