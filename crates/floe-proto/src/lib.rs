//! Pure protocol code for Floe: functions over bytes, no sockets, no clock, no tokio.
//!
//! Layout:
//! - [`head`]: tolerant HTTP/ICE request-head parsing (bare LF, `ICE/1.0`, `SOURCE`).
//! - [`chunked`]: an incremental decoder for chunked transfer coding (chunked PUT sources).
//! - [`auth`]: HTTP Basic credentials and constant-time comparison.
//! - [`query`]: query strings with percent-decoding and the `charset` parameter Icecast honours.
//! - [`range`]: `Range`, `If-Range` and the other conditional headers, `multipart/byteranges`.
//! - [`icy`]: ICY metadata blocks (`StreamTitle='…';`), byte-exact as Icecast writes them.
//! - [`shoutcast`]: the SHOUTcast v1 source handshake (password line, `icy-*` lines).
//! - [`frame`]: frame and page sync for MP3, ADTS AAC, Ogg and WebM, so listeners join at a boundary.
//! - [`playlist`]: `.m3u`, `.pls`, `.xspf` and `.vclt` writers.
//! - [`hls`]: HLS master and media playlists (LL-HLS parts, hints, delta updates) and the
//!   `_HLS_msn`/`_HLS_part`/`_HLS_skip` directives.
//! - [`dash`]: MPEG-DASH MPDs, live and on-demand, with `SegmentTemplate` and `UTCTiming`.
//! - [`xml`]: escaping for the XML that the admin interface writes.
//! - [`sse`]: Server-Sent Events framing.
//! - [`accesslog`]: Icecast's access-log line (Apache combined plus duration).
//!
//! Parsers return `Result<Option<T>, E>`: `Ok(None)` means "need more bytes".

pub mod accesslog;
pub mod auth;
pub mod chunked;
pub mod dash;
pub mod frame;
pub mod head;
pub mod hls;
pub mod icy;
pub mod playlist;
pub mod query;
pub mod range;
pub mod shoutcast;
pub mod sse;
pub mod xml;

/// Hostile input: every parser over random bytes, in random pieces, never panics.
#[cfg(test)]
mod robustness {
    fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Bias towards bytes that matter to the text parsers.
                match x % 8 {
                    0 => b'\n',
                    1 => b'\r',
                    2 => b':',
                    3 => b' ',
                    _ => (x >> 32) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn text_parsers_never_panic() {
        for seed in 0..300u64 {
            let data = random_bytes(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 600);
            for limit in [0, 1, 16, 300, 8192] {
                let _ = crate::head::parse_head(&data, limit);
                let _ = crate::shoutcast::parse_password(&data, limit);
                let _ = crate::shoutcast::parse_headers(&data, limit);
            }
            let mut d = crate::chunked::ChunkedDecoder::new();
            let mut out = Vec::new();
            for piece in data.chunks(1 + (seed as usize % 50)) {
                if d.decode(piece, &mut out).is_err() {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&data);
            let q = crate::query::Query::parse(&text);
            let _ = q.get("a");
            let _ = crate::auth::parse_basic(&text);
            if let Ok(d) = crate::hls::DeliveryDirectives::parse(&text) {
                assert!(d.part.is_none() || d.msn.is_some());
            }
            let _ = crate::icy::parse_payload(&data);
            let mut demux = crate::icy::IcyDemuxer::new(seed as usize % 40);
            let mut audio = Vec::new();
            for piece in data.chunks(7) {
                let _ = demux.push(piece, &mut audio);
            }
            let block = crate::icy::encode_block(&text, Some(&text));
            assert!(block.len() <= 1 + crate::icy::MAX_PAYLOAD);
            assert_eq!(block.len(), 1 + usize::from(block[0]) * 16);
        }
    }
}
