//! Tolerant request-head parsing.
//!
//! Accepts what real source clients send: CRLF or bare LF line ends (DarkIce), `HTTP/1.0`,
//! `HTTP/1.1` or `ICE/1.0` versions, any method token (`SOURCE`, `PUT`, `GET`, `OPTIONS`, ...),
//! header names in any case, and leading/trailing spaces around header values.

use thiserror::Error;

/// Why a request head was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeadError {
    /// The head did not end within the configured limit.
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
    /// The request line is not `METHOD TARGET VERSION`.
    #[error("malformed request line")]
    BadRequestLine,
    /// A header line has no colon or an empty name.
    #[error("malformed header line")]
    BadHeader,
    /// The head is not valid UTF-8 / ASCII text where it must be.
    #[error("request head is not text")]
    NotText,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token as sent (`GET`, `SOURCE`, ...), upper-cased.
    pub method: String,
    /// The request target as sent (`/live.mp3?x=1`, `*`, `/admin/!POKE`).
    pub target: String,
    /// The protocol token as sent (`HTTP/1.1`, `HTTP/1.0`, `ICE/1.0`).
    pub version: String,
    /// Headers in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target's path, without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The target's query string, without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The line starting at `pos` (without its LF or CRLF) and the position after it, if a LF is
/// within `window`.
fn next_line(window: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = window.get(pos..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = rest.get(..lf)?;
    Some((line.strip_suffix(b"\r").unwrap_or(line), pos + lf + 1))
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, String), HeadError> {
    let line = std::str::from_utf8(line).map_err(|_| HeadError::NotText)?;
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::BadRequestLine);
    };
    if !method.bytes().all(is_tchar) || target.chars().any(char::is_control) {
        return Err(HeadError::BadRequestLine);
    }
    // `NAME/x.y`: HTTP/1.1, ICE/1.0, ...
    let version_ok = version.split_once('/').is_some_and(|(name, num)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphabetic())
            && !num.is_empty()
            && num.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    });
    if !version_ok {
        return Err(HeadError::BadRequestLine);
    }
    Ok((
        method.to_ascii_uppercase(),
        target.to_owned(),
        version.to_owned(),
    ))
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// UTF-8 if valid, else Latin-1 (never fails).
fn value_text(bytes: &[u8]) -> String {
    crate::query::decode_text(bytes, crate::query::Charset::Utf8)
}

fn parse_header_line(line: &[u8], headers: &mut Vec<(String, String)>) -> Result<(), HeadError> {
    if let [b' ' | b'\t', ..] = line {
        // obs-fold: continues the previous value.
        let (_, value) = headers.last_mut().ok_or(HeadError::BadHeader)?;
        let more = trim_ows(line);
        if !more.is_empty() {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(&value_text(more));
        }
        return Ok(());
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeadError::BadHeader)?;
    let name = trim_ows(line.get(..colon).unwrap_or(&[]));
    if name.is_empty() {
        return Err(HeadError::BadHeader);
    }
    if !name.iter().all(|&b| is_tchar(b)) {
        return Err(if name.is_ascii() {
            HeadError::BadHeader
        } else {
            HeadError::NotText
        });
    }
    let value = trim_ows(line.get(colon + 1..).unwrap_or(&[]));
    headers.push((value_text(name), value_text(value)));
    Ok(())
}

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(Some((head, consumed)))` once the blank line ending the head has been seen
/// (`consumed` counts every byte of the head including that blank line), `Ok(None)` if more
/// bytes are needed, and `Err(HeadError::TooLarge)` if no end was found within `limit` bytes.
/// Empty lines before the request line are skipped (RFC 9112 §2.2).
///
/// The limit counts every byte scanned, leading empty lines included. A malformed request line
/// or header line is reported as soon as that line is complete, before the head ends. Header
/// values that are not UTF-8 are decoded as Latin-1; continuation lines (obs-fold) are joined
/// to the previous value with one space.
pub fn parse_head(buf: &[u8], limit: usize) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let window = buf.get(..limit).unwrap_or(buf);
    let incomplete = || {
        if buf.len() >= limit {
            Err(HeadError::TooLarge(limit))
        } else {
            Ok(None)
        }
    };
    let mut pos = 0;
    let request_line = loop {
        let Some((line, next)) = next_line(window, pos) else {
            return incomplete();
        };
        pos = next;
        if !line.is_empty() {
            break line;
        }
    };
    let (method, target, version) = parse_request_line(request_line)?;
    let mut headers = Vec::new();
    loop {
        let Some((line, next)) = next_line(window, pos) else {
            return incomplete();
        };
        pos = next;
        if line.is_empty() {
            let head = RequestHead {
                method,
                target,
                version,
                headers,
            };
            return Ok(Some((head, pos)));
        }
        parse_header_line(line, &mut headers)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> (RequestHead, usize) {
        match parse_head(buf, 8192) {
            Ok(Some(x)) => x,
            other => panic!("unexpected {other:?}"),
        }
    }

    const FFMPEG_PUT: &[u8] = b"PUT /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\n\
Expect: 100-continue\r\nConnection: close\r\nHost: 127.0.0.1:8000\r\nContent-Type: audio/mpeg\r\n\
Icy-MetaData: 1\r\nIce-Name: Test Radio\r\nIce-Description: desc\r\nIce-URL: http://example.org\r\n\
Ice-Genre: test\r\nIce-Public: 0\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\n\r\n\xff\xfb\x90\x00";

    #[test]
    fn ffmpeg_put() {
        let (h, n) = parse(FFMPEG_PUT);
        assert_eq!(&FFMPEG_PUT[n..], b"\xff\xfb\x90\x00");
        assert_eq!(h.method, "PUT");
        assert_eq!(h.target, "/live.mp3");
        assert_eq!(h.version, "HTTP/1.1");
        assert_eq!(h.headers.len(), 13);
        assert_eq!(h.header("content-type"), Some("audio/mpeg"));
        assert_eq!(h.header("ICE-NAME"), Some("Test Radio"));
        assert_eq!(h.headers[0].0, "User-Agent");
        assert_eq!(h.header("transfer-encoding"), None);
        // Every proper prefix needs more bytes.
        for i in 0..n {
            assert_eq!(parse_head(&FFMPEG_PUT[..i], 8192), Ok(None), "prefix {i}");
        }
    }

    #[test]
    fn darkice_bare_lf_and_ice_version() {
        let buf = b"source /live ICE/1.0\nice-name:  Dark  \ncontent-type:audio/mpeg\n\nAUDIO";
        let (h, n) = parse(buf);
        assert_eq!(&buf[n..], b"AUDIO");
        assert_eq!(h.method, "SOURCE");
        assert_eq!(h.version, "ICE/1.0");
        assert_eq!(h.header("Ice-Name"), Some("Dark"));
        assert_eq!(h.header("Content-Type"), Some("audio/mpeg"));
    }

    #[test]
    fn leading_empty_lines_and_mixed_ends() {
        let buf = b"\r\n\n\r\nGET /a?b=1&c HTTP/1.0\r\nX: 1\n\r\n";
        let (h, n) = parse(buf);
        assert_eq!(n, buf.len());
        assert_eq!(h.path(), "/a");
        assert_eq!(h.query(), Some("b=1&c"));
        assert_eq!(h.header("x"), Some("1"));
        let (h, _) = parse(b"OPTIONS * HTTP/1.1\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("*", None));
        assert!(h.headers.is_empty());
    }

    #[test]
    fn values() {
        let (h, _) = parse(b"GET / HTTP/1.1\r\nA:\r\nB: \t x y \t\r\nC: caf\xe9\r\nD: caf\xc3\xa9\r\nE: a:b\r\n  folded\r\n\r\n");
        assert_eq!(h.header("a"), Some(""));
        assert_eq!(h.header("b"), Some("x y"));
        assert_eq!(h.header("c"), Some("café"));
        assert_eq!(h.header("d"), Some("café"));
        assert_eq!(h.header("e"), Some("a:b folded"));
    }

    #[test]
    fn errors() {
        use HeadError::*;
        let e = |b: &[u8]| parse_head(b, 8192);
        assert_eq!(e(b"GET /\r\n\r\n"), Err(BadRequestLine));
        assert_eq!(e(b"GET / HTTP/1.1 x\r\n\r\n"), Err(BadRequestLine));
        assert_eq!(e(b"\x16\x03\x01 / HTTP/1.1\r\n"), Err(BadRequestLine));
        assert_eq!(e(b"GET / garbage\r\n"), Err(BadRequestLine));
        assert_eq!(e(b"GET /\x7f HTTP/1.1\r\n"), Err(BadRequestLine));
        assert_eq!(e(b"GET /\xff HTTP/1.1\r\n"), Err(NotText));
        assert_eq!(e(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"), Err(BadHeader));
        assert_eq!(e(b"GET / HTTP/1.1\r\n: v\r\n\r\n"), Err(BadHeader));
        assert_eq!(e(b"GET / HTTP/1.1\r\nA B: v\r\n\r\n"), Err(BadHeader));
        assert_eq!(e(b"GET / HTTP/1.1\r\n\xe9: v\r\n\r\n"), Err(NotText));
        assert_eq!(
            e(b"GET / HTTP/1.1\r\n folded-first\r\n\r\n"),
            Err(BadHeader)
        );
        // Reported before the head is complete.
        assert_eq!(e(b"GET / HTTP/1.1\r\nNoColon\r\n"), Err(BadHeader));
    }

    #[test]
    fn limit() {
        let buf = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        assert!(matches!(parse_head(buf, buf.len()), Ok(Some(_))));
        assert_eq!(
            parse_head(buf, buf.len() - 1),
            Err(HeadError::TooLarge(buf.len() - 1))
        );
        assert_eq!(parse_head(&buf[..10], 10), Err(HeadError::TooLarge(10)));
        assert_eq!(parse_head(&buf[..10], 11), Ok(None));
        // Leading empty lines count.
        let blank = vec![b'\n'; 100];
        assert_eq!(parse_head(&blank, 100), Err(HeadError::TooLarge(100)));
        assert_eq!(parse_head(b"", 0), Err(HeadError::TooLarge(0)));
    }
}
