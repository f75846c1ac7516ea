//! Query strings as admin tools send them (`mode=updinfo&mount=%2flive%2emp3&song=A+-+B`).

/// The text encoding named by a `charset` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8 (Floe's default, unlike Icecast's Latin-1).
    #[default]
    Utf8,
    /// ISO-8859-1.
    Latin1,
}

impl Charset {
    /// Parses a charset label (`UTF-8`, `utf8`, `ISO-8859-1`, `latin1`, ...); `None` if unknown.
    /// Case, `-`, `_`, spaces and `:` are ignored (`iso_8859-1:1987` is Latin-1). `US-ASCII` is
    /// treated as UTF-8 (a subset).
    pub fn from_label(label: &str) -> Option<Charset> {
        let norm: String = label
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' ' | ':'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match norm.as_str() {
            "utf8" | "unicode11utf8" | "usascii" | "ascii" => Some(Charset::Utf8),
            "iso88591" | "iso885911987" | "latin1" | "l1" | "isolatin1" | "isoir100" | "cp819"
            | "ibm819" | "88591" => Some(Charset::Latin1),
            _ => None,
        }
    }
}

/// A parsed query string: raw (percent-decoded) bytes per parameter, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Parameters in order; names decoded as UTF-8 (lossy), values as raw bytes.
    pub pairs: Vec<(String, Vec<u8>)>,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one component: `+` is a space, `%XX` an octet, a malformed escape literal.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = s.get(i + 1).copied().and_then(hex_val);
                let lo = s.get(i + 2).copied().and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

impl Query {
    /// Parses `a=1&b=%20x+y`: `+` is a space, `%XX` an octet; a malformed escape is kept literally.
    /// A leading `?` is ignored, empty pieces (`a=1&&b=2`) are skipped, and a name without `=`
    /// has an empty value.
    pub fn parse(query: &str) -> Query {
        let query = query.strip_prefix('?').unwrap_or(query);
        let pairs = query
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                let name = String::from_utf8_lossy(&percent_decode(name.as_bytes())).into_owned();
                (name, percent_decode(value.as_bytes()))
            })
            .collect();
        Query { pairs }
    }

    fn raw(&self, name: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The charset the query names in its own `charset` parameter (UTF-8 when absent or unknown).
    pub fn charset(&self) -> Charset {
        self.raw("charset")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(Charset::from_label)
            .unwrap_or_default()
    }

    /// The first value of `name`, decoded with the query's own `charset` parameter
    /// (UTF-8 when absent; bytes that are not valid UTF-8 fall back to Latin-1).
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_with(name, self.charset())
    }

    /// The first value of `name` decoded with the given charset.
    pub fn get_with(&self, name: &str, charset: Charset) -> Option<String> {
        self.raw(name).map(|v| decode_text(v, charset))
    }
}

/// Decodes bytes in the given charset (invalid UTF-8 falls back to Latin-1).
pub fn decode_text(bytes: &[u8], charset: Charset) -> String {
    match charset {
        Charset::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => latin1(bytes),
        },
        Charset::Latin1 => latin1(bytes),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Percent-encodes a string for use in a URL path or query component: every byte except the
/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) becomes `%XX` (upper-case hex).
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libshout_metadata_query() {
        let q = Query::parse(
            "mode=updinfo&mount=%2flive%2emp3&charset=UTF%2d8&artist=A&title=T&song=A+-+B",
        );
        assert_eq!(q.get("mode").as_deref(), Some("updinfo"));
        assert_eq!(q.get("mount").as_deref(), Some("/live.mp3"));
        assert_eq!(q.charset(), Charset::Utf8);
        assert_eq!(q.get("song").as_deref(), Some("A - B"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(q.pairs.len(), 6);
    }

    #[test]
    fn malformed_escapes_and_empty_pieces() {
        let q = Query::parse("?a=%&b=%4&c=%zz&&d&e=%41%42=");
        assert_eq!(q.get("a").as_deref(), Some("%"));
        assert_eq!(q.get("b").as_deref(), Some("%4"));
        assert_eq!(q.get("c").as_deref(), Some("%zz"));
        assert_eq!(q.get("d").as_deref(), Some(""));
        assert_eq!(q.get("e").as_deref(), Some("AB="));
        assert_eq!(Query::parse(""), Query::default());
        // Names are decoded too; first value wins.
        let q = Query::parse("a%20b=1&a%20b=2");
        assert_eq!(q.get("a b").as_deref(), Some("1"));
    }

    #[test]
    fn charsets() {
        // é in Latin-1 is 0xE9.
        let q = Query::parse("song=caf%E9&charset=ISO-8859-1");
        assert_eq!(q.get("song").as_deref(), Some("café"));
        // UTF-8 é is C3 A9; with a Latin-1 charset it would be mojibake, as Icecast does.
        let q = Query::parse("song=caf%C3%A9&charset=latin1");
        assert_eq!(q.get("song").as_deref(), Some("cafÃ©"));
        assert_eq!(q.get_with("song", Charset::Utf8).as_deref(), Some("café"));
        // Default UTF-8; invalid UTF-8 falls back to Latin-1.
        let q = Query::parse("song=caf%C3%A9");
        assert_eq!(q.get("song").as_deref(), Some("café"));
        let q = Query::parse("song=caf%E9");
        assert_eq!(q.get("song").as_deref(), Some("café"));
        // Unknown charset label: UTF-8.
        let q = Query::parse("song=caf%C3%A9&charset=klingon");
        assert_eq!(q.get("song").as_deref(), Some("café"));
    }

    #[test]
    fn labels() {
        for l in ["UTF-8", "utf8", "Utf_8", " utf-8 "] {
            assert_eq!(Charset::from_label(l), Some(Charset::Utf8), "{l}");
        }
        for l in [
            "ISO-8859-1",
            "iso8859-1",
            "latin1",
            "LATIN-1",
            "iso_8859-1:1987",
            "l1",
        ] {
            assert_eq!(Charset::from_label(l), Some(Charset::Latin1), "{l}");
        }
        assert_eq!(Charset::from_label("koi8-r"), None);
        assert_eq!(Charset::from_label(""), None);
    }

    #[test]
    fn encode() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode("/live.mp3"), "%2Flive.mp3");
        assert_eq!(percent_encode("a b+é"), "a%20b%2B%C3%A9");
        let s = "x=1&y=é ü/?#";
        assert_eq!(
            Query::parse(&format!("v={}", percent_encode(s)))
                .get("v")
                .as_deref(),
            Some(s)
        );
    }
}
