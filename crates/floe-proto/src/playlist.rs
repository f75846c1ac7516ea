//! Playlists for a mount, with URLs built from the request's `Host` and scheme.

/// A mount as a playlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Absolute stream URL (`http://host:8000/live.mp3`).
    pub url: &'a str,
    /// Stream name, if any.
    pub title: Option<&'a str>,
}

/// `audio/x-mpegurl`: `#EXTM3U`, `#EXTINF:-1,title`, then the URL, CRLF line ends not required (LF).
pub fn m3u(entries: &[Entry<'_>]) -> String {
    let _ = entries;
    todo!()
}

/// `audio/x-scpls`: `[playlist]`, `File1=`, `Title1=`, `Length1=-1`, `NumberOfEntries=`, `Version=2`.
pub fn pls(entries: &[Entry<'_>]) -> String {
    let _ = entries;
    todo!()
}

/// `application/xspf+xml`, as Icecast writes it (`<playlist version="1" xmlns="http://xspf.org/ns/0/">`).
pub fn xspf(entries: &[Entry<'_>]) -> String {
    let _ = entries;
    todo!()
}

/// `audio/x-vclt`: `STREAMURI=url`, `TITLE=title`, `SERVER=Floe`... one block per entry.
pub fn vclt(entries: &[Entry<'_>]) -> String {
    let _ = entries;
    todo!()
}
