//! The SHOUTcast v1 source handshake, spoken on the port after the HTTP one.
//!
//! Encoder: `password\r\n`. Server: `OK2\r\nicy-caps:11\r\n\r\n` (or `invalid password\r\n`).
//! Encoder: `icy-name:…`, `icy-genre:…`, `icy-pub:…`, `icy-br:…` lines, a blank line, then audio.
//! Line ends may be CRLF or bare LF.

/// The server's reply to a good password.
pub const OK_REPLY: &[u8] = b"OK2\r\nicy-caps:11\r\n\r\n";
/// The server's reply to a bad password.
pub const BAD_PASSWORD_REPLY: &[u8] = b"invalid password\r\n";

/// Text that is UTF-8 if valid, else Latin-1.
fn text(bytes: &[u8]) -> String {
    crate::query::decode_text(bytes, crate::query::Charset::Utf8)
}

/// Reads the password line. `Ok(Some((password, consumed)))` once a line end is seen;
/// `Err(())` if no line end within `limit` bytes. A trailing CR is stripped.
///
/// `consumed` includes the line end; the password itself is not trimmed otherwise (spaces may
/// be part of it). Non-UTF-8 bytes are decoded as Latin-1.
#[allow(clippy::result_unit_err)]
pub fn parse_password(buf: &[u8], limit: usize) -> Result<Option<(String, usize)>, ()> {
    let window = buf.get(..limit).unwrap_or(buf);
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let line = buf.get(..lf).unwrap_or(&[]);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((text(line), lf + 1)))
        }
        None if buf.len() >= limit => Err(()),
        None => Ok(None),
    }
}

/// Reads the `icy-*` header lines up to the blank line: `Ok(Some((headers, consumed)))`.
/// Lines without a colon are ignored; names lower-cased, values trimmed.
///
/// `consumed` includes the blank line; `Err(())` if the blank line is not within `limit` bytes.
#[allow(clippy::result_unit_err, clippy::type_complexity)]
pub fn parse_headers(
    buf: &[u8],
    limit: usize,
) -> Result<Option<(Vec<(String, String)>, usize)>, ()> {
    let mut headers = Vec::new();
    let mut pos = 0;
    loop {
        let rest = buf.get(pos..).unwrap_or(&[]);
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return if buf.len() >= limit {
                Err(())
            } else {
                Ok(None)
            };
        };
        let end = pos + lf + 1;
        if end > limit {
            return Err(());
        }
        let line = rest.get(..lf).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = end;
        if line.is_empty() {
            return Ok(Some((headers, pos)));
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = text(line.get(..colon).unwrap_or(&[]))
                .trim()
                .to_ascii_lowercase();
            let value = text(line.get(colon + 1..).unwrap_or(&[])).trim().to_owned();
            if !name.is_empty() {
                headers.push((name, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password() {
        assert_eq!(
            parse_password(b"hackme\r\n", 64),
            Ok(Some(("hackme".into(), 8)))
        );
        assert_eq!(
            parse_password(b"hackme\nicy-name", 64),
            Ok(Some(("hackme".into(), 7)))
        );
        assert_eq!(
            parse_password(b"hack me \r\n", 64),
            Ok(Some(("hack me ".into(), 10)))
        );
        assert_eq!(parse_password(b"hackme", 64), Ok(None));
        assert_eq!(parse_password(b"hackme", 6), Err(()));
        assert_eq!(parse_password(b"hackme\n", 6), Err(()));
        assert_eq!(
            parse_password(b"hackme\n", 7),
            Ok(Some(("hackme".into(), 7)))
        );
        assert_eq!(parse_password(b"\r\n", 7), Ok(Some((String::new(), 2))));
    }

    #[test]
    fn headers() {
        let buf = b"icy-name:Test Radio\r\nICY-Genre: rock \r\nicy-pub:1\nnonsense\r\nicy-br:128\r\n\r\nAUDIO";
        let (h, n) = parse_headers(buf, 1024).ok().flatten().unwrap_or_default();
        assert_eq!(&buf[n..], b"AUDIO");
        assert_eq!(
            h,
            vec![
                ("icy-name".into(), "Test Radio".into()),
                ("icy-genre".into(), "rock".into()),
                ("icy-pub".into(), "1".into()),
                ("icy-br".into(), "128".into()),
            ]
        );
        assert_eq!(parse_headers(b"icy-name:x\r\n", 1024), Ok(None));
        assert_eq!(parse_headers(b"icy-name:x\r\n", 12), Err(()));
        assert_eq!(parse_headers(b"icy-name:x\r\n\r\n", 13), Err(()));
        assert_eq!(parse_headers(b"\n", 13), Ok(Some((vec![], 1))));
        assert_eq!(parse_headers(b"", 13), Ok(None));
    }

    #[test]
    fn replies() {
        assert_eq!(OK_REPLY, b"OK2\r\nicy-caps:11\r\n\r\n");
        assert_eq!(BAD_PASSWORD_REPLY, b"invalid password\r\n");
    }
}
