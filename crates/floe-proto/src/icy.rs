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

/// Encodes a full metadata block: length byte, `StreamTitle='title';`, then
/// `StreamUrl='url';` if given, NUL padded to a multiple of 16. A payload over
/// [`MAX_PAYLOAD`] is cut at a UTF-8 character boundary of the title so the block stays valid.
/// Example: `encode_block("Artist - Title é", None)` is 49 bytes starting `0x03`.
pub fn encode_block(title: &str, url: Option<&str>) -> Bytes {
    let _ = (title, url);
    todo!()
}

/// Parses a block's payload (without the length byte, NULs allowed at the end) into
/// `(StreamTitle, StreamUrl)`. Used by tests and the load tool.
pub fn parse_payload(payload: &[u8]) -> (Option<String>, Option<String>) {
    let _ = payload;
    todo!()
}

/// "Artist - Title" from its parts; the title alone when the artist is empty.
pub fn song_from_parts(artist: Option<&str>, title: Option<&str>) -> String {
    let _ = (artist, title);
    todo!()
}

/// Splits an interleaved ICY stream back into audio and metadata payloads. For tests and the
/// load tool.
#[derive(Debug)]
pub struct IcyDemuxer {
    _private: (),
}

impl IcyDemuxer {
    /// A demuxer for a stream with the given `icy-metaint`.
    pub fn new(metaint: usize) -> Self {
        let _ = metaint;
        todo!()
    }

    /// Feeds bytes; audio goes to `audio`, each complete non-empty metadata payload is
    /// returned (without its length byte; NUL padding stripped).
    pub fn push(&mut self, data: &[u8], audio: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let _ = (data, audio);
        todo!()
    }
}
