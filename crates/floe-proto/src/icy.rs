//! ICY metadata blocks, byte-exact as Icecast writes them.
//!
//! After every `metaint` bytes of audio comes one length byte `L`, then `L × 16` bytes of
//! `StreamTitle='…';` (optionally followed by `StreamUrl='…';`), NUL padded. A block with
//! `L = 0` (the single byte `0x00`) means "no change".

use bytes::Bytes;

/// Largest payload a block can carry (255 × 16).
pub const MAX_PAYLOAD: usize = 4080;

/// The single byte sent when a listener's title has not changed.
pub const EMPTY_BLOCK: &[u8] = &[0];

const TITLE_KEY: &[u8] = b"StreamTitle='";
const URL_KEY: &[u8] = b"StreamUrl='";
const END: &[u8] = b"';";

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
fn cut_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Encodes a full metadata block: length byte, `StreamTitle='title';`, then
/// `StreamUrl='url';` if given, NUL padded to a multiple of 16. A payload over
/// [`MAX_PAYLOAD`] is cut at a UTF-8 character boundary of the title so the block stays valid.
/// Example: `encode_block("Artist - Title é", None)` is 49 bytes starting `0x03`.
///
/// As Icecast does, the padded length is the payload length plus one (room for a terminating
/// NUL) rounded up to 16, so there is always at least one NUL. Quotes in the title are written
/// as they are (Icecast does not escape them either). A URL too long to fit even with an empty
/// title is dropped.
pub fn encode_block(title: &str, url: Option<&str>) -> Bytes {
    let url_len = url.map_or(0, |u| URL_KEY.len() + u.len() + END.len());
    let fixed = TITLE_KEY.len() + END.len();
    let (url, url_len) = if fixed + url_len < MAX_PAYLOAD {
        (url, url_len)
    } else {
        (None, 0)
    };
    let room = MAX_PAYLOAD - 1 - fixed - url_len;
    let title = cut_at_char_boundary(title, room);
    let payload_len = fixed + title.len() + url_len;
    let blocks = (payload_len + 1).div_ceil(16);
    let mut out = Vec::with_capacity(1 + blocks * 16);
    out.push(u8::try_from(blocks).unwrap_or(u8::MAX));
    out.extend_from_slice(TITLE_KEY);
    out.extend_from_slice(title.as_bytes());
    out.extend_from_slice(END);
    if let Some(u) = url {
        out.extend_from_slice(URL_KEY);
        out.extend_from_slice(u.as_bytes());
        out.extend_from_slice(END);
    }
    out.resize(1 + blocks * 16, 0);
    Bytes::from(out)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// True if `rest` (what follows a `';`) is the end of the payload or the start of another
/// `Key='` field, i.e. the `';` really closes the value.
fn closes_field(rest: &[u8]) -> bool {
    if rest.is_empty() {
        return true;
    }
    let key_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    key_len > 0 && rest.get(key_len..key_len + 2) == Some(b"='".as_slice())
}

/// The value of `key` (e.g. `StreamTitle='`) in `payload`.
fn field(payload: &[u8], key: &[u8]) -> Option<String> {
    let mut search = 0;
    let start = loop {
        let at = find(payload, key, search)?;
        // The key must start the payload or follow the `;` closing a previous field.
        if at == 0 || payload.get(at - 1) == Some(&b';') {
            break at + key.len();
        }
        search = at + 1;
    };
    let mut from = start;
    let end = loop {
        match find(payload, END, from) {
            Some(e) if closes_field(payload.get(e + END.len()..).unwrap_or(&[])) => break e,
            Some(e) => from = e + 1,
            // Unterminated: take the rest.
            None => break payload.len(),
        }
    };
    let value = payload.get(start..end)?;
    Some(crate::query::decode_text(
        value,
        crate::query::Charset::Utf8,
    ))
}

/// Parses a block's payload (without the length byte, NULs allowed at the end) into
/// `(StreamTitle, StreamUrl)`. Used by tests and the load tool.
///
/// A `';` inside a value is tolerated when it is not followed by another `Key='` field.
/// Values that are not UTF-8 are decoded as Latin-1.
pub fn parse_payload(payload: &[u8]) -> (Option<String>, Option<String>) {
    let len = payload.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let payload = payload.get(..len).unwrap_or(&[]);
    (field(payload, TITLE_KEY), field(payload, URL_KEY))
}

/// "Artist - Title" from its parts; the title alone when the artist is empty (and the artist
/// alone when the title is empty).
pub fn song_from_parts(artist: Option<&str>, title: Option<&str>) -> String {
    let artist = artist.map(str::trim).unwrap_or("");
    let title = title.map(str::trim).unwrap_or("");
    match (artist.is_empty(), title.is_empty()) {
        (false, false) => format!("{artist} - {title}"),
        (true, _) => title.to_owned(),
        (false, true) => artist.to_owned(),
    }
}

#[derive(Debug)]
enum DemuxState {
    /// This many audio bytes before the next length byte.
    Audio(usize),
    /// Expecting the length byte.
    Length,
    /// Reading a payload; `remaining` bytes to go.
    Meta { remaining: usize },
}

/// Splits an interleaved ICY stream back into audio and metadata payloads. For tests and the
/// load tool.
#[derive(Debug)]
pub struct IcyDemuxer {
    metaint: usize,
    state: DemuxState,
    meta: Vec<u8>,
}

impl IcyDemuxer {
    /// A demuxer for a stream with the given `icy-metaint`. A `metaint` of 0 means the stream
    /// carries no metadata: everything is audio.
    pub fn new(metaint: usize) -> Self {
        IcyDemuxer {
            metaint,
            state: DemuxState::Audio(metaint),
            meta: Vec::new(),
        }
    }

    /// Feeds bytes; audio goes to `audio`, each complete non-empty metadata payload is
    /// returned (without its length byte; NUL padding stripped).
    pub fn push(&mut self, mut data: &[u8], audio: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let mut payloads = Vec::new();
        if self.metaint == 0 {
            audio.extend_from_slice(data);
            return payloads;
        }
        while !data.is_empty() {
            match self.state {
                DemuxState::Audio(left) => {
                    let n = left.min(data.len());
                    let (a, rest) = data.split_at(n);
                    audio.extend_from_slice(a);
                    data = rest;
                    self.state = if left == n {
                        DemuxState::Length
                    } else {
                        DemuxState::Audio(left - n)
                    };
                }
                DemuxState::Length => {
                    let (&l, rest) = match data.split_first() {
                        Some(x) => x,
                        None => break,
                    };
                    data = rest;
                    self.state = if l == 0 {
                        DemuxState::Audio(self.metaint)
                    } else {
                        self.meta.clear();
                        DemuxState::Meta {
                            remaining: usize::from(l) * 16,
                        }
                    };
                }
                DemuxState::Meta { remaining } => {
                    let n = remaining.min(data.len());
                    let (m, rest) = data.split_at(n);
                    self.meta.extend_from_slice(m);
                    data = rest;
                    if remaining == n {
                        let len = self.meta.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                        self.meta.truncate(len);
                        if !self.meta.is_empty() {
                            payloads.push(std::mem::take(&mut self.meta));
                        }
                        self.state = DemuxState::Audio(self.metaint);
                    } else {
                        self.state = DemuxState::Meta {
                            remaining: remaining - n,
                        };
                    }
                }
            }
        }
        payloads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_icecast_block() {
        let b = encode_block("Artist - Title é", None);
        let mut want = vec![0x03];
        want.extend_from_slice(b"StreamTitle='Artist - Title \xc3\xa9';");
        want.extend_from_slice(&[0; 16]);
        assert_eq!(b.len(), 49);
        assert_eq!(&b[..], &want[..]);
    }

    #[test]
    fn padding_rule() {
        // 15-byte payload -> 16.
        let b = encode_block("", None);
        assert_eq!(&b[..], b"\x01StreamTitle='';\0");
        // 31-byte payload (+1 = 32) -> 32: exactly one NUL.
        let b = encode_block(&"x".repeat(16), None);
        assert_eq!((b[0], b.len(), b[32]), (2, 33, 0));
        // 32-byte payload -> 48.
        let b = encode_block(&"x".repeat(17), None);
        assert_eq!((b[0], b.len()), (3, 49));
        assert!(b[33..].iter().all(|&x| x == 0));
    }

    #[test]
    fn with_url() {
        let b = encode_block("A", Some("http://x/"));
        let payload = b"StreamTitle='A';StreamUrl='http://x/';";
        assert_eq!(payload.len(), 38);
        assert_eq!(b[0], 3);
        assert_eq!(&b[1..39], payload);
        assert_eq!(b.len(), 49);
        assert_eq!(
            parse_payload(&b[1..]),
            (Some("A".into()), Some("http://x/".into()))
        );
    }

    #[test]
    fn truncates_at_char_boundary() {
        let title = "é".repeat(3000); // 6000 bytes
        let b = encode_block(&title, None);
        assert_eq!(b[0], 255);
        assert_eq!(b.len(), 1 + MAX_PAYLOAD);
        let (t, u) = parse_payload(&b[1..]);
        let t = t.unwrap_or_default();
        assert!(t.chars().all(|c| c == 'é'));
        // 4079 - 15 = 4064 bytes of room, an even number: 2032 characters.
        assert_eq!(t.len(), 4064);
        assert_eq!(u, None);
        // The last byte is always a NUL.
        assert_eq!(b[MAX_PAYLOAD], 0);
        // A cut inside a character backs off to its start.
        let b = encode_block(&format!("a{title}"), None);
        assert_eq!(parse_payload(&b[1..]).0.unwrap_or_default().len(), 4063);
        // With a URL the title gets less room: 4064 - 14.
        let b = encode_block(&title, Some("u"));
        let (t, u) = parse_payload(&b[1..]);
        assert_eq!(u.as_deref(), Some("u"));
        assert_eq!(t.unwrap_or_default().len(), 4050);
        assert_eq!(b.len(), 1 + MAX_PAYLOAD);
        // A URL too long to fit is dropped.
        let b = encode_block("t", Some(&"u".repeat(5000)));
        assert_eq!(parse_payload(&b[1..]), (Some("t".into()), None));
    }

    #[test]
    fn parse_tolerates_quotes() {
        let (t, u) = parse_payload(b"StreamTitle='Rock 'n' Roll';\0\0");
        assert_eq!(t.as_deref(), Some("Rock 'n' Roll"));
        assert_eq!(u, None);
        let (t, _) = parse_payload(b"StreamTitle='a';b';StreamUrl='c';");
        assert_eq!(t.as_deref(), Some("a';b"));
        assert_eq!(parse_payload(b""), (None, None));
        assert_eq!(parse_payload(b"\0\0\0"), (None, None));
        assert_eq!(
            parse_payload(b"StreamTitle='unterminated").0.as_deref(),
            Some("unterminated")
        );
        assert_eq!(
            parse_payload(b"StreamTitle='caf\xe9';").0.as_deref(),
            Some("café")
        );
    }

    #[test]
    fn songs() {
        assert_eq!(song_from_parts(Some("A"), Some("T")), "A - T");
        assert_eq!(song_from_parts(Some(""), Some("T")), "T");
        assert_eq!(song_from_parts(None, Some("T")), "T");
        assert_eq!(song_from_parts(Some("A"), None), "A");
        assert_eq!(song_from_parts(None, None), "");
    }

    #[test]
    fn demux_round_trip_any_split() {
        let metaint = 10;
        let audio: Vec<u8> = (0..45u8).collect();
        let block = encode_block("Hi", None);
        let mut stream = Vec::new();
        for (i, chunk) in audio.chunks(metaint).enumerate() {
            stream.extend_from_slice(chunk);
            if chunk.len() == metaint {
                if i == 1 {
                    stream.extend_from_slice(&block);
                } else {
                    stream.extend_from_slice(EMPTY_BLOCK);
                }
            }
        }
        for split in 1..stream.len() {
            let mut d = IcyDemuxer::new(metaint);
            let mut got_audio = Vec::new();
            let mut metas = Vec::new();
            for piece in stream.chunks(split) {
                metas.extend(d.push(piece, &mut got_audio));
            }
            assert_eq!(got_audio, audio);
            assert_eq!(metas, vec![b"StreamTitle='Hi';".to_vec()]);
        }
        let mut d = IcyDemuxer::new(0);
        let mut a = Vec::new();
        assert!(d.push(b"abc", &mut a).is_empty());
        assert_eq!(a, b"abc");
    }
}
