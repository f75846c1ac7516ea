//! Playlists for a mount, with URLs built from the request's `Host` and scheme.

use crate::xml::escape;

/// A mount as a playlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Absolute stream URL (`http://host:8000/live.mp3`).
    pub url: &'a str,
    /// Stream name, if any.
    pub title: Option<&'a str>,
}

/// `s` with CR and LF replaced by spaces, for line-based formats.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// `audio/x-mpegurl`: `#EXTM3U`, `#EXTINF:-1,title`, then the URL, CRLF line ends not required (LF).
///
/// The `#EXTINF` line is written only for entries with a title.
pub fn m3u(entries: &[Entry<'_>]) -> String {
    let mut out = String::from("#EXTM3U\n");
    for e in entries {
        if let Some(t) = e.title {
            out.push_str("#EXTINF:-1,");
            out.push_str(&one_line(t));
            out.push('\n');
        }
        out.push_str(&one_line(e.url));
        out.push('\n');
    }
    out
}

/// `audio/x-scpls`: `[playlist]`, `File1=`, `Title1=`, `Length1=-1`, `NumberOfEntries=`, `Version=2`.
///
/// `TitleN=` is written only for entries with a title.
pub fn pls(entries: &[Entry<'_>]) -> String {
    let mut out = String::from("[playlist]\n");
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        out.push_str(&format!("File{n}={}\n", one_line(e.url)));
        if let Some(t) = e.title {
            out.push_str(&format!("Title{n}={}\n", one_line(t)));
        }
        out.push_str(&format!("Length{n}=-1\n"));
    }
    out.push_str(&format!("NumberOfEntries={}\nVersion=2\n", entries.len()));
    out
}

/// `application/xspf+xml`, as Icecast writes it (`<playlist version="1" xmlns="http://xspf.org/ns/0/">`).
pub fn xspf(entries: &[Entry<'_>]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <playlist version=\"1\" xmlns=\"http://xspf.org/ns/0/\">\n  <trackList>\n",
    );
    for e in entries {
        out.push_str("    <track>\n      <location>");
        out.push_str(&escape(e.url));
        out.push_str("</location>\n");
        if let Some(t) = e.title {
            out.push_str("      <title>");
            out.push_str(&escape(t));
            out.push_str("</title>\n");
        }
        out.push_str("    </track>\n");
    }
    out.push_str("  </trackList>\n</playlist>\n");
    out
}

/// `audio/x-vclt`: `STREAMURL=url`, `TITLE=title`, `SERVER=Floe`... one block per entry, each
/// ended by a `==` line.
///
/// The URL key is `STREAMURL`, as in Icecast's own `.vclt` output (not `STREAMURI`).
pub fn vclt(entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!("STREAMURL={}\n", one_line(e.url)));
        if let Some(t) = e.title {
            out.push_str(&format!("TITLE={}\n", one_line(t)));
        }
        out.push_str("SERVER=Floe\n==\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRIES: &[Entry<'static>] = &[
        Entry {
            url: "http://h:8000/live.mp3",
            title: Some("Test <Radio>"),
        },
        Entry {
            url: "http://h:8000/b.ogg",
            title: None,
        },
    ];

    #[test]
    fn m3u_bytes() {
        assert_eq!(
            m3u(ENTRIES),
            "#EXTM3U\n#EXTINF:-1,Test <Radio>\nhttp://h:8000/live.mp3\nhttp://h:8000/b.ogg\n"
        );
        assert_eq!(m3u(&[]), "#EXTM3U\n");
        let evil = [Entry {
            url: "http://x/\nfile:///etc/passwd",
            title: Some("a\nb"),
        }];
        assert_eq!(
            m3u(&evil),
            "#EXTM3U\n#EXTINF:-1,a b\nhttp://x/ file:///etc/passwd\n"
        );
    }

    #[test]
    fn pls_bytes() {
        assert_eq!(
            pls(ENTRIES),
            "[playlist]\nFile1=http://h:8000/live.mp3\nTitle1=Test <Radio>\nLength1=-1\n\
             File2=http://h:8000/b.ogg\nLength2=-1\nNumberOfEntries=2\nVersion=2\n"
        );
    }

    #[test]
    fn xspf_bytes() {
        assert_eq!(
            xspf(&ENTRIES[..1]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <playlist version=\"1\" xmlns=\"http://xspf.org/ns/0/\">\n  <trackList>\n    <track>\n      \
             <location>http://h:8000/live.mp3</location>\n      <title>Test &lt;Radio&gt;</title>\n    \
             </track>\n  </trackList>\n</playlist>\n"
        );
    }

    #[test]
    fn vclt_bytes() {
        assert_eq!(
            vclt(ENTRIES),
            "STREAMURL=http://h:8000/live.mp3\nTITLE=Test <Radio>\nSERVER=Floe\n==\n\
             STREAMURL=http://h:8000/b.ogg\nSERVER=Floe\n==\n"
        );
    }
}
