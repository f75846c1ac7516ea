//! Native FLAC stream headers: `fLaC`, STREAMINFO, VORBIS_COMMENT. FLAC frames follow as they are.

use super::vorbis_comment;

/// `fLaC` + STREAMINFO (from [`crate::encode::CodecInfo::extradata`], 34 bytes) + a
/// VORBIS_COMMENT block (last metadata block) with `tags`.
pub fn flac_stream_header(stream_info: &[u8], tags: &[(String, String)]) -> Vec<u8> {
    let comment = vorbis_comment("Floe", tags);
    let mut out = Vec::with_capacity(4 + 4 + stream_info.len() + 4 + comment.len());
    out.extend_from_slice(b"fLaC");
    out.push(0x00); // STREAMINFO, not last
    out.extend_from_slice(&(stream_info.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(stream_info);
    out.push(0x80 | 4); // VORBIS_COMMENT, last
    out.extend_from_slice(&(comment.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&comment);
    out
}
