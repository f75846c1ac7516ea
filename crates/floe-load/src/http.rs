//! The listener's side of HTTP: the request line and the response head.

/// What a complete response head says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    /// `icy-metaint`: audio bytes between metadata blocks.
    pub metaint: Option<u32>,
    /// `icy-br` (kbps), first number if it is a list.
    pub bitrate_kbps: Option<u32>,
    /// The body is chunked (not expected from a streaming server; counted as a fault).
    pub chunked: bool,
}

/// Result of trying to parse the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// The blank line ending the head has not arrived yet.
    Incomplete,
    /// The head is `len` bytes long (the body starts at `len`).
    Complete { len: usize, response: Response },
    /// Not an HTTP (or ICY) response.
    Invalid(&'static str),
}

/// Builds the GET request a player would send.
pub fn request(host: &str, path: &str, icy: bool) -> Vec<u8> {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: floe-load/{}\r\nAccept: */*\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if icy {
        r.push_str("Icy-MetaData: 1\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r.into_bytes()
}

/// Finds the end of the head: after `\r\n\r\n` or a bare `\n\n` (tolerant, like players).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

fn leading_number(v: &str) -> Option<u32> {
    let digits: String = v
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Parses a response head from the start of `buf`.
pub fn parse_head(buf: &[u8]) -> Head {
    // Reject early what cannot become a status line.
    let probe = &buf[..buf.len().min(5)];
    if !(b"HTTP/".starts_with(probe) || b"ICY ".starts_with(&probe[..probe.len().min(4)])) {
        return Head::Invalid("not an HTTP response");
    }
    let Some(len) = head_end(buf) else {
        return Head::Incomplete;
    };
    let Ok(text) = std::str::from_utf8(&buf[..len]) else {
        // Header values are ASCII in practice; be lenient with Latin-1 by lossy decoding.
        return parse_text(&String::from_utf8_lossy(&buf[..len]), len);
    };
    parse_text(text, len)
}

fn parse_text(text: &str, len: usize) -> Head {
    let mut lines = text.lines();
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split_whitespace();
    let proto = parts.next().unwrap_or("");
    if !(proto.starts_with("HTTP/") || proto == "ICY") {
        return Head::Invalid("bad status line");
    }
    let Some(status) = parts.next().and_then(|s| s.parse::<u16>().ok()) else {
        return Head::Invalid("bad status code");
    };
    let mut response = Response {
        status,
        ..Response::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("icy-metaint") {
            response.metaint = leading_number(value).filter(|&m| m > 0);
        } else if name.eq_ignore_ascii_case("icy-br") {
            response.bitrate_kbps = leading_number(value).filter(|&b| b > 0);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            response.chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Head::Complete { len, response }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICECAST: &[u8] = b"HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nConnection: Close\r\n\
Content-Type: audio/mpeg\r\nCache-Control: no-cache, no-store\r\nicy-br:128\r\n\
icy-name:Test Radio\r\nicy-pub:0\r\nicy-metaint:16000\r\n\r\n\xff\xfb\x90\x00";

    #[test]
    fn parses_icecast_reply_and_finds_body() {
        match parse_head(ICECAST) {
            Head::Complete { len, response } => {
                assert_eq!(response.status, 200);
                assert_eq!(response.metaint, Some(16000));
                assert_eq!(response.bitrate_kbps, Some(128));
                assert!(!response.chunked);
                assert_eq!(&ICECAST[len..], b"\xff\xfb\x90\x00");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn incomplete_until_blank_line() {
        for cut in [0, 3, 10, 40, ICECAST.len() - 6] {
            assert_eq!(parse_head(&ICECAST[..cut]), Head::Incomplete, "cut {cut}");
        }
    }

    #[test]
    fn bare_newlines_icy_status_and_errors() {
        match parse_head(b"ICY 200 OK\nicy-br: 64,64\nicy-metaint: 8192\n\nAUDIO") {
            Head::Complete { len, response } => {
                assert_eq!(len, 44);
                assert_eq!(response.bitrate_kbps, Some(64));
                assert_eq!(response.metaint, Some(8192));
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse_head(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") {
            Head::Complete { response, .. } => {
                assert_eq!(response.status, 403);
                assert_eq!(response.metaint, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") {
            Head::Complete { response, .. } => assert!(response.chunked),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(parse_head(b"\xff\xfb\x90"), Head::Invalid(_)));
        assert!(matches!(
            parse_head(b"HTTP/1.0 abc\r\n\r\n"),
            Head::Invalid(_)
        ));
    }

    #[test]
    fn request_has_icy_header_only_when_asked() {
        let r = String::from_utf8(request("127.0.0.1:8000", "/a.mp3", true)).expect("ascii");
        assert!(r.starts_with("GET /a.mp3 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"));
        assert!(r.contains("Icy-MetaData: 1\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        let r = String::from_utf8(request("h", "/", false)).expect("ascii");
        assert!(!r.contains("Icy-MetaData"));
    }
}
