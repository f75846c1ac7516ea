//! Pure protocol code for Floe: functions over bytes, no sockets, no clock, no tokio.
//!
//! Layout:
//! - [`head`]: tolerant HTTP/ICE request-head parsing (bare LF, `ICE/1.0`, `SOURCE`).
//! - [`chunked`]: an incremental decoder for chunked transfer coding (chunked PUT sources).
//! - [`auth`]: HTTP Basic credentials and constant-time comparison.
//! - [`query`]: query strings with percent-decoding and the `charset` parameter Icecast honours.
//! - [`icy`]: ICY metadata blocks (`StreamTitle='…';`), byte-exact as Icecast writes them.
//! - [`shoutcast`]: the SHOUTcast v1 source handshake (password line, `icy-*` lines).
//! - [`frame`]: frame and page sync for MP3, ADTS AAC, Ogg and WebM, so listeners join at a boundary.
//! - [`playlist`]: `.m3u`, `.pls`, `.xspf` and `.vclt` writers.
//! - [`xml`]: escaping for the XML that the admin interface writes.
//! - [`sse`]: Server-Sent Events framing.
//! - [`accesslog`]: Icecast's access-log line (Apache combined plus duration).
//!
//! Parsers return `Result<Option<T>, E>`: `Ok(None)` means "need more bytes".

pub mod accesslog;
pub mod auth;
pub mod chunked;
pub mod frame;
pub mod head;
pub mod icy;
pub mod playlist;
pub mod query;
pub mod shoutcast;
pub mod sse;
pub mod xml;
