//! Reading `.m3u`/`.m3u8`, `.pls` and `.xspf` playlist files (pure: bytes in, entries out).
//! Writing them is `floe_proto::playlist`'s job.

use crate::error::{LibraryError, Result};

/// One entry of a playlist file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileEntry {
    /// Path, relative path or URL, as written.
    pub location: String,
    /// Title, if the file gives one (for M3U and PLS, the whole "Artist - Title" text).
    pub title: Option<String>,
    /// Artist, if the file gives one separately (XSPF `creator`).
    pub artist: Option<String>,
}

/// Playlist file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// M3U / extended M3U.
    M3u,
    /// PLS (`[playlist]`, `FileN=`).
    Pls,
    /// XSPF (XML).
    Xspf,
}

/// Guesses the format from the content.
pub fn detect(text: &str) -> Format {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.len() >= 10 && start.as_bytes()[..10].eq_ignore_ascii_case(b"[playlist]") {
        Format::Pls
    } else if start.starts_with('<') {
        Format::Xspf
    } else {
        Format::M3u
    }
}

/// Parses a playlist file of any of the three formats (detected from the content).
/// Fails on text that is not UTF-8, or XML that has no `<trackList>`.
pub fn parse(bytes: &[u8]) -> Result<Vec<FileEntry>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| LibraryError::PlaylistFile(format!("not UTF-8 text ({e})")))?;
    let text = text.trim_start_matches('\u{feff}');
    Ok(match detect(text) {
        Format::M3u => parse_m3u(text),
        Format::Pls => parse_pls(text),
        Format::Xspf => parse_xspf(text)?,
    })
}

/// M3U: one location a line; `#EXTINF:seconds,title` before it gives the title.
pub fn parse_m3u(text: &str) -> Vec<FileEntry> {
    let mut out = Vec::new();
    let mut title = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(info) = line.strip_prefix("#EXTINF:") {
            title = info
                .split_once(',')
                .map(|(_, t)| t.trim().to_string())
                .filter(|t| !t.is_empty());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        out.push(FileEntry {
            location: line.to_string(),
            title: title.take(),
            artist: None,
        });
    }
    out
}

/// PLS: `FileN=` and `TitleN=` keys, in N order.
pub fn parse_pls(text: &str) -> Vec<FileEntry> {
    let mut entries: std::collections::BTreeMap<u64, FileEntry> = Default::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let (field, n) = if let Some(n) = key.strip_prefix("file") {
            ("file", n)
        } else if let Some(n) = key.strip_prefix("title") {
            ("title", n)
        } else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let entry = entries.entry(n).or_default();
        let value = value.trim().to_string();
        if field == "file" {
            entry.location = value;
        } else if !value.is_empty() {
            entry.title = Some(value);
        }
    }
    entries
        .into_values()
        .filter(|e| !e.location.is_empty())
        .collect()
}

/// XSPF: `<track>` elements with `<location>`, `<title>` and `<creator>`.
pub fn parse_xspf(text: &str) -> Result<Vec<FileEntry>> {
    if !text.contains("<trackList") {
        return Err(LibraryError::PlaylistFile(
            "XSPF without <trackList>".into(),
        ));
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_tag(rest, "track") {
        let body_start = &rest[start..];
        let Some(open_end) = body_start.find('>') else {
            break;
        };
        let after_open = &body_start[open_end + 1..];
        let Some(close) = after_open.find("</track>") else {
            return Err(LibraryError::PlaylistFile(
                "XSPF <track> without </track>".into(),
            ));
        };
        let body = &after_open[..close];
        let location = element_text(body, "location").unwrap_or_default();
        if !location.is_empty() {
            out.push(FileEntry {
                location,
                title: element_text(body, "title").filter(|t| !t.is_empty()),
                artist: element_text(body, "creator").filter(|t| !t.is_empty()),
            });
        }
        rest = &after_open[close + "</track>".len()..];
    }
    Ok(out)
}

/// Byte index of the next `<name>` or `<name ...>` start tag.
fn find_tag(text: &str, name: &str) -> Option<usize> {
    let pattern = format!("<{name}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&pattern) {
        let at = from + i;
        let next = text[at + pattern.len()..].chars().next();
        if matches!(
            next,
            Some('>') | Some(' ') | Some('\t') | Some('\n') | Some('\r')
        ) {
            return Some(at);
        }
        from = at + pattern.len();
    }
    None
}

/// The unescaped, trimmed text of the first `<name>` element in `body`.
fn element_text(body: &str, name: &str) -> Option<String> {
    let start = find_tag(body, name)?;
    let open_end = start + body[start..].find('>')?;
    let inner = &body[open_end + 1..];
    let end = inner.find(&format!("</{name}>"))?;
    Some(unescape(inner[..end].trim()))
}

/// Decodes the five XML entities and numeric character references; CDATA is kept as is.
pub fn unescape(s: &str) -> String {
    if let Some(cdata) = s
        .strip_prefix("<![CDATA[")
        .and_then(|c| c.strip_suffix("]]>"))
    {
        return cdata.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|i| *i <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `%XX` escapes of a URL path (invalid escapes are kept literally).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m3u_with_and_without_extinf() {
        let text = "#EXTM3U\r\n#EXTINF:123,Artist - Song\r\nmusic/a.mp3\r\n\r\n# comment\r\n/abs/b.flac\r\n";
        assert_eq!(
            parse(text.as_bytes()).expect("m3u"),
            vec![
                FileEntry {
                    location: "music/a.mp3".into(),
                    title: Some("Artist - Song".into()),
                    artist: None
                },
                FileEntry {
                    location: "/abs/b.flac".into(),
                    title: None,
                    artist: None
                },
            ]
        );
    }

    #[test]
    fn pls_in_number_order_with_titles() {
        let text = "[playlist]\nFile2=b.ogg\nTitle1=First\nFile1=a.mp3\nLength1=-1\nNumberOfEntries=2\nVersion=2\n";
        assert_eq!(detect(text), Format::Pls);
        assert_eq!(
            parse(text.as_bytes()).expect("pls"),
            vec![
                FileEntry {
                    location: "a.mp3".into(),
                    title: Some("First".into()),
                    artist: None
                },
                FileEntry {
                    location: "b.ogg".into(),
                    title: None,
                    artist: None
                },
            ]
        );
    }

    #[test]
    fn xspf_with_entities_and_creator() {
        let text = "<?xml version=\"1.0\"?>\n<playlist version=\"1\" xmlns=\"http://xspf.org/ns/0/\">\
            <trackList><track><location>file:///m/R%26B/a.mp3</location><title>Rock &amp; Roll</title>\
            <creator>Band &#233;</creator></track><track><title>no location</title></track>\
            <track ><location>b.mp3</location></track></trackList></playlist>";
        assert_eq!(
            parse(text.as_bytes()).expect("xspf"),
            vec![
                FileEntry {
                    location: "file:///m/R%26B/a.mp3".into(),
                    title: Some("Rock & Roll".into()),
                    artist: Some("Band é".into())
                },
                FileEntry {
                    location: "b.mp3".into(),
                    title: None,
                    artist: None
                },
            ]
        );
    }

    #[test]
    fn round_trips_floe_protos_writers() {
        let entries = [floe_proto::playlist::Entry {
            url: "http://h/api/v1/tracks/3/stream",
            title: Some("A & B"),
        }];
        for text in [
            floe_proto::playlist::m3u(&entries),
            floe_proto::playlist::pls(&entries),
            floe_proto::playlist::xspf(&entries),
        ] {
            let parsed = parse(text.as_bytes()).expect("parse");
            assert_eq!(parsed.len(), 1, "{text}");
            assert_eq!(parsed[0].location, "http://h/api/v1/tracks/3/stream");
            assert_eq!(parsed[0].title.as_deref(), Some("A & B"));
        }
    }

    /// A cheap stand-in for a fuzzer: thousands of mutations (byte flips, truncations,
    /// insertions of markup characters) of valid files of each format must never panic.
    #[test]
    fn mutated_files_never_panic() {
        let seeds: [&[u8]; 3] = [
            b"#EXTM3U\n#EXTINF:1,A - B\na.mp3\n",
            b"[playlist]\nFile1=a.mp3\nTitle1=T\nNumberOfEntries=1\n",
            b"<playlist><trackList><track><location>a&amp;b</location><title>&#233;</title></track></trackList></playlist>",
        ];
        let specials = b"<>&;#=[]\n\r\xff\xc3%";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for seed in seeds {
            for _ in 0..3000 {
                let mut data = seed.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % (data.len() as u64 + 1)) as usize;
                    match next() % 4 {
                        0 if at < data.len() => {
                            data[at] = specials[(next() % specials.len() as u64) as usize]
                        }
                        1 => data.truncate(at),
                        2 => data.insert(
                            at.min(data.len()),
                            specials[(next() % specials.len() as u64) as usize],
                        ),
                        _ if at < data.len() => data[at] = next() as u8,
                        _ => {}
                    }
                }
                let _ = parse(&data);
                if let Ok(text) = std::str::from_utf8(&data) {
                    let _ = unescape(text);
                    let _ = percent_decode(text);
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse(&[0xff, 0xfe, 0x00]).is_err());
        // A multi-byte character across the tenth byte (where "[playlist]" would end).
        assert_eq!(detect("[playlisté"), Format::M3u);
        assert_eq!(parse("[playlisté".as_bytes()).expect("m3u").len(), 1);
        assert!(parse(b"<playlist><track>").is_err());
        assert!(parse(b"<playlist><trackList><track><location>x").is_err());
        assert_eq!(
            unescape("a &unknown; &#xZZ; & b &#65;"),
            "a &unknown; &#xZZ; & b A"
        );
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%"), "%");
    }
}
