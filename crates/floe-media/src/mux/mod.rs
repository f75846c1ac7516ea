//! Byte-stream writers: codec packets in, bytes a player accepts out.
//!
//! | module | container | used for |
//! |---|---|---|
//! | [`adts`] | ADTS (7-byte headers, no CRC) | AAC-LC, HE-AAC (implicit SBR signalling) |
//! | [`ogg`] | Ogg pages (CRC, lacing, granules), Ogg Opus (RFC 7845), Ogg FLAC | Opus, FLAC; Vorbis pages come from libvorbis and pass through |
//! | [`flac`] | native FLAC (`fLaC`, STREAMINFO, VORBIS_COMMENT) | FLAC |
//! | [`wav`] | RIFF/WAVE headers, sized or streaming (sizes `0xFFFFFFFF`) | PCM |
//! | [`fmp4`] | CMAF / fragmented MP4: init segment, media segments and parts, `emsg` ID3 | HLS and DASH: AAC, HE-AAC, MP3, Opus, FLAC |
//! | [`ts`] | MPEG-TS segments: PAT/PMT, PES with 90 kHz PTS, an ID3 metadata stream | HLS for old clients: AAC (ADTS), MP3 |
//! | [`packed`] | HLS packed audio (ID3 timestamp tag + raw frames) and ID3v2.4 helpers | HLS: AAC (ADTS), MP3 |
//!
//! All of them are pure functions or small state machines over bytes.

pub mod adts;
pub mod flac;
pub mod fmp4;
pub mod ogg;
pub mod packed;
pub mod ts;
pub mod wav;

/// Errors of the segment writers ([`fmp4`], [`ts`]): bad configuration or input that cannot
/// be written. The byte-stream writers above them cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    /// The track configuration cannot be written (the message names the field).
    #[error("invalid track configuration: {0}")]
    Config(&'static str),
    /// A segment or part must hold at least one sample.
    #[error("a segment needs at least one sample")]
    NoSamples,
    /// More samples than one segment may hold.
    #[error("{count} samples in one segment, the limit is {limit}")]
    TooManySamples {
        /// Samples given.
        count: usize,
        /// The limit ([`fmp4::MAX_SAMPLES_PER_SEGMENT`], [`ts::MAX_FRAMES_PER_SEGMENT`]).
        limit: usize,
    },
    /// The segment's media data does not fit a 32-bit box size.
    #[error("segment media data over 4 GiB")]
    TooLarge,
    /// A frame too large for one PES packet.
    #[error("frame of {len} bytes exceeds the {limit}-byte PES limit")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The largest frame one PES packet holds.
        limit: usize,
    },
}

/// Vorbis-comment style tags written into Ogg and FLAC headers, e.g. `("TITLE", "Morning Tide")`.
pub type StreamTags = Vec<(String, String)>;

/// A Vorbis comment body (vendor string and `KEY=value` list, little-endian lengths) as used by
/// OpusTags, Ogg Vorbis/FLAC and FLAC's VORBIS_COMMENT block.
pub fn vorbis_comment(vendor: &str, tags: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    out.extend_from_slice(vendor.as_bytes());
    out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for (k, v) in tags {
        let entry = format!("{k}={v}");
        out.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        out.extend_from_slice(entry.as_bytes());
    }
    out
}
