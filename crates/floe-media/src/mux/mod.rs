//! Byte-stream writers: codec packets in, bytes a player accepts out.
//!
//! | module | container | used for |
//! |---|---|---|
//! | [`adts`] | ADTS (7-byte headers, no CRC) | AAC-LC, HE-AAC (implicit SBR signalling) |
//! | [`ogg`] | Ogg pages (CRC, lacing, granules), Ogg Opus (RFC 7845), Ogg FLAC | Opus, FLAC; Vorbis pages come from libvorbis and pass through |
//! | [`flac`] | native FLAC (`fLaC`, STREAMINFO, VORBIS_COMMENT) | FLAC |
//! | [`wav`] | RIFF/WAVE headers, sized or streaming (sizes `0xFFFFFFFF`) | PCM |
//!
//! All of them are pure functions or small state machines over bytes.

pub mod adts;
pub mod flac;
pub mod ogg;
pub mod wav;

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
