//! Signed 16-bit little-endian PCM.

use super::{check_format, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::pcm::AudioBlock;

/// PCM s16le "encoder": clips, rounds and packs.
#[derive(Debug)]
pub struct PcmEncoder {
    info: CodecInfo,
}

impl PcmEncoder {
    /// Any rate, any channel count.
    pub fn new(rate: u32, channels: u16) -> Self {
        Self {
            info: CodecInfo {
                codec: Codec::PcmS16Le,
                rate,
                channels,
                bitrate: Some(rate * u32::from(channels) * 16),
                frame_size: 0,
                delay: 0,
                extradata: bytes::Bytes::new(),
            },
        }
    }
}

impl Encoder for PcmEncoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_format(&self.info, pcm)?;
        if pcm.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(pcm.samples.len() * 2);
        for s in pcm.to_i16() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        Ok(vec![Packet::audio(out, pcm.frames() as u32)])
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        Ok(Vec::new())
    }
}
