//! HLS packed audio (RFC 8216 section 3.4): raw ADTS or MP3 frames, each segment opened by an
//! ID3v2.4 tag whose `PRIV` frame `com.apple.streaming.transportStreamTimestamp` gives the
//! 33-bit 90 kHz timestamp of the segment's first frame. The cheapest HLS segment for old
//! clients; hls.js and ffmpeg's HLS demuxer read it.
//!
//! The ID3 helpers here ([`id3_tag`], [`id3_text_frame`], [`id3_priv_frame`]) are also used for
//! timed titles in fMP4 `emsg` boxes and in the MPEG-TS ID3 stream.

/// The owner identifier of the HLS packed-audio timestamp `PRIV` frame.
pub const TIMESTAMP_OWNER: &str = "com.apple.streaming.transportStreamTimestamp";

/// Timestamps are 33-bit counters of a 90 kHz clock (they wrap after about 26.5 hours).
pub const PTS_MASK: u64 = (1 << 33) - 1;

/// A 28-bit ID3 syncsafe integer (7 bits per byte); larger values are clamped.
fn syncsafe(n: usize) -> [u8; 4] {
    let n = n.min(0x0FFF_FFFF) as u32;
    [
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ]
}

/// An ID3v2.4 frame: id, syncsafe size, no flags, body.
fn id3_frame(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + body.len());
    out.extend_from_slice(id);
    out.extend_from_slice(&syncsafe(body.len()));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(body);
    out
}

/// An ID3v2.4 text frame (e.g. `TIT2` title, `TPE1` artist), UTF-8 encoded (encoding byte 3),
/// no terminator.
pub fn id3_text_frame(id: &[u8; 4], text: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + text.len());
    body.push(3);
    body.extend_from_slice(text.as_bytes());
    id3_frame(id, &body)
}

/// An ID3v2.4 `PRIV` frame: the owner, a NUL, then the private data.
pub fn id3_priv_frame(owner: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(owner.len() + 1 + data.len());
    body.extend_from_slice(owner.as_bytes());
    body.push(0);
    body.extend_from_slice(data);
    id3_frame(b"PRIV", &body)
}

/// An ID3v2.4 tag (`ID3`, version 4.0, no flags, syncsafe size) around the given frames.
pub fn id3_tag(frames: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = frames.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(10 + len);
    out.extend_from_slice(b"ID3\x04\x00\x00");
    out.extend_from_slice(&syncsafe(len));
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

/// The `PRIV` frame HLS packed audio starts with: the timestamp (masked to 33 bits) as an
/// 8-byte big-endian integer.
pub fn timestamp_frame(pts_90k: u64) -> Vec<u8> {
    id3_priv_frame(TIMESTAMP_OWNER, &(pts_90k & PTS_MASK).to_be_bytes())
}

/// A packed-audio segment: the ID3 timestamp tag for `pts_90k` (the 90 kHz time of the first
/// frame), with a `TIT2` frame when `title` is given (hls.js reports it as ID3 metadata at the
/// segment's start), then the frames as they are (complete ADTS frames with headers, or MP3
/// frames).
pub fn packed_segment(pts_90k: u64, title: Option<&str>, frames: &[&[u8]]) -> Vec<u8> {
    let mut id3_frames = vec![timestamp_frame(pts_90k)];
    if let Some(title) = title {
        id3_frames.push(id3_text_frame(b"TIT2", title));
    }
    let tag = id3_tag(&id3_frames);
    let len: usize = frames.iter().map(|f| f.len()).sum();
    let mut out = Vec::with_capacity(tag.len() + len);
    out.extend_from_slice(&tag);
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncsafe_sizes() {
        assert_eq!(syncsafe(0), [0, 0, 0, 0]);
        assert_eq!(syncsafe(127), [0, 0, 0, 127]);
        assert_eq!(syncsafe(128), [0, 0, 1, 0]);
        assert_eq!(syncsafe(0x0FFF_FFFF), [0x7F; 4]);
        assert_eq!(syncsafe(usize::MAX), [0x7F; 4]);
    }

    #[test]
    fn text_frame_bytes() {
        assert_eq!(
            id3_text_frame(b"TIT2", "Hé"),
            b"TIT2\x00\x00\x00\x04\x00\x00\x03H\xC3\xA9".to_vec()
        );
    }

    #[test]
    fn packed_segment_bytes() {
        let seg = packed_segment(0x1_2345_6789, None, &[b"AB", b"C"]);
        let mut want = Vec::new();
        want.extend_from_slice(b"ID3\x04\x00\x00\x00\x00\x00\x3F"); // 63 bytes of frames
        want.extend_from_slice(b"PRIV\x00\x00\x00\x35\x00\x00"); // 45 + 8 = 53
        want.extend_from_slice(b"com.apple.streaming.transportStreamTimestamp\0");
        want.extend_from_slice(&[0, 0, 0, 1, 0x23, 0x45, 0x67, 0x89]);
        want.extend_from_slice(b"ABC");
        assert_eq!(seg, want);
    }

    #[test]
    fn timestamp_wraps_at_33_bits() {
        let f = timestamp_frame((1 << 33) + 5);
        assert_eq!(&f[f.len() - 8..], &[0, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn title_goes_into_the_same_tag() {
        let seg = packed_segment(90_000, Some("Song"), &[b"\xFF\xF1"]);
        let tit2 = id3_text_frame(b"TIT2", "Song");
        // tag header, PRIV (10 + 53), TIT2, then the frame
        assert_eq!(&seg[6..10], &syncsafe(63 + tit2.len()));
        assert_eq!(&seg[73..73 + tit2.len()], &tit2[..]);
        assert_eq!(&seg[seg.len() - 2..], b"\xFF\xF1");
    }
}
