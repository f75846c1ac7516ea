//! The SHOUTcast v1 source handshake, spoken on the port after the HTTP one.
//!
//! Encoder: `password\r\n`. Server: `OK2\r\nicy-caps:11\r\n\r\n` (or `invalid password\r\n`).
//! Encoder: `icy-name:…`, `icy-genre:…`, `icy-pub:…`, `icy-br:…` lines, a blank line, then audio.
//! Line ends may be CRLF or bare LF.

/// The server's reply to a good password.
pub const OK_REPLY: &[u8] = b"OK2\r\nicy-caps:11\r\n\r\n";
/// The server's reply to a bad password.
pub const BAD_PASSWORD_REPLY: &[u8] = b"invalid password\r\n";

/// Reads the password line. `Ok(Some((password, consumed)))` once a line end is seen;
/// `Err(())` if no line end within `limit` bytes. A trailing CR is stripped.
#[allow(clippy::result_unit_err)]
pub fn parse_password(buf: &[u8], limit: usize) -> Result<Option<(String, usize)>, ()> {
    let _ = (buf, limit);
    todo!()
}

/// Reads the `icy-*` header lines up to the blank line: `Ok(Some((headers, consumed)))`.
/// Lines without a colon are ignored; names lower-cased, values trimmed.
#[allow(clippy::result_unit_err)]
pub fn parse_headers(buf: &[u8], limit: usize) -> Result<Option<(Vec<(String, String)>, usize)>, ()> {
    let _ = (buf, limit);
    todo!()
}
