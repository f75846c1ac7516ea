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

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(Some((head, consumed)))` once the blank line ending the head has been seen
/// (`consumed` counts every byte of the head including that blank line), `Ok(None)` if more
/// bytes are needed, and `Err(HeadError::TooLarge)` if no end was found within `limit` bytes.
/// Empty lines before the request line are skipped (RFC 9112 §2.2).
pub fn parse_head(buf: &[u8], limit: usize) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let _ = (buf, limit);
    todo!()
}
