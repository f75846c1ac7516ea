//! ADTS framing for raw AAC access units (ISO/IEC 13818-7 / 14496-3 ADTS, no CRC).

use crate::encode::{Codec, CodecInfo};

const RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Largest access unit an ADTS header can describe (13-bit frame length minus the header).
pub const MAX_ADTS_PAYLOAD: usize = 8191 - 7;

/// Writes ADTS headers. HE-AAC is signalled implicitly: the header declares the AAC-LC core at
/// half the output rate, and decoders find the SBR data in the stream (as FDK and ffmpeg do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsWriter {
    profile: u8,
    rate_index: u8,
    channel_config: u8,
}

impl AdtsWriter {
    /// A writer for an AAC encoder's output; `None` if the codec is not AAC or the rate or
    /// channel count has no ADTS code.
    pub fn new(info: &CodecInfo) -> Option<Self> {
        let core_rate = match info.codec {
            Codec::AacLc => info.rate,
            Codec::HeAac => info.rate / 2,
            _ => return None,
        };
        let rate_index = RATES.iter().position(|&r| r == core_rate)? as u8;
        if !(1..=7).contains(&info.channels) {
            return None;
        }
        Some(Self {
            profile: 1,
            rate_index,
            channel_config: info.channels as u8,
        })
    }

    /// The 7-byte header for an access unit of `payload_len` bytes.
    pub fn header(&self, payload_len: usize) -> [u8; 7] {
        let len = (payload_len.min(MAX_ADTS_PAYLOAD) + 7) as u32;
        [
            0xFF,
            0xF1, // MPEG-4, layer 0, no CRC
            (self.profile << 6) | (self.rate_index << 2) | (self.channel_config >> 2),
            ((self.channel_config & 3) << 6) | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len as u8 & 0x07) << 5) | 0x1F, // buffer fullness 0x7FF (VBR)
            0xFC,                             // fullness low bits, one raw data block
        ]
    }

    /// Header plus payload. Access units over [`MAX_ADTS_PAYLOAD`] bytes cannot be framed and
    /// are truncated (an AAC encoder at any sane bitrate never produces one).
    pub fn frame(&self, au: &[u8]) -> Vec<u8> {
        let au = &au[..au.len().min(MAX_ADTS_PAYLOAD)];
        let mut out = Vec::with_capacity(au.len() + 7);
        out.extend_from_slice(&self.header(au.len()));
        out.extend_from_slice(au);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bits() {
        let info = CodecInfo {
            codec: Codec::AacLc,
            rate: 44100,
            channels: 2,
            bitrate: None,
            frame_size: 1024,
            delay: 0,
            extradata: bytes::Bytes::new(),
        };
        let w = AdtsWriter::new(&info).expect("adts");
        let h = w.header(100);
        assert_eq!(&h[..2], &[0xFF, 0xF1]);
        assert_eq!((h[2] >> 6) & 3, 1); // LC
        assert_eq!((h[2] >> 2) & 0xF, 4); // 44100
        let ch = ((h[2] & 1) << 2) | (h[3] >> 6);
        assert_eq!(ch, 2);
        let len = (u32::from(h[3] & 3) << 11) | (u32::from(h[4]) << 3) | u32::from(h[5] >> 5);
        assert_eq!(len, 107);
        let he = AdtsWriter::new(&CodecInfo {
            codec: Codec::HeAac,
            rate: 48000,
            ..info
        })
        .expect("he");
        assert_eq!((he.header(10)[2] >> 2) & 0xF, 6); // 24000 core
    }
}
