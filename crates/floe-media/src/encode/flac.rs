//! FLAC through `flacenc` (pure Rust): 16-bit samples, fixed 4096-frame blocks. STREAMINFO
//! declares equal minimum and maximum block sizes (symphonia refuses a fixed-blocksize stream
//! otherwise); total samples and MD5 are left unknown (zero), as a live stream must.

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Fill, FrameBuf};

use super::{check_input, mark_finished, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::pcm::AudioBlock;

/// Frames per FLAC block.
pub const FLAC_BLOCK: usize = 4096;
const MIN_BLOCK: usize = 16;

/// FLAC encoder.
pub struct FlacEncoder {
    config: Verified<config::Encoder>,
    stream_info: StreamInfo,
    info: CodecInfo,
    pending: Vec<i32>,
    frame_number: usize,
    finished: bool,
}

debug_shows_info!(FlacEncoder);

fn lib(e: impl std::fmt::Debug) -> EncodeError {
    EncodeError::lib("flac", format!("{e:?}"))
}

impl FlacEncoder {
    /// Any rate up to 655 kHz, 1–8 channels.
    pub fn new(rate: u32, channels: u16) -> Result<Self, EncodeError> {
        if !(1..=8).contains(&channels) || rate == 0 || rate > 655_350 {
            return Err(EncodeError::Unsupported(format!(
                "FLAC at {rate} Hz, {channels} ch"
            )));
        }
        let mut cfg = config::Encoder::default();
        cfg.multithread = false;
        let config = cfg.into_verified().map_err(|(_, e)| lib(e))?;
        let mut stream_info =
            StreamInfo::new(rate as usize, usize::from(channels), 16).map_err(lib)?;
        stream_info
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(lib)?;
        let mut sink = ByteSink::new();
        stream_info.write(&mut sink).map_err(lib)?;
        let extradata = bytes::Bytes::copy_from_slice(sink.as_slice());
        Ok(Self {
            config,
            stream_info,
            info: CodecInfo {
                codec: Codec::Flac,
                rate,
                channels,
                bitrate: None,
                frame_size: FLAC_BLOCK as u32,
                delay: 0,
                extradata,
            },
            pending: Vec::new(),
            frame_number: 0,
            finished: false,
        })
    }

    fn encode_block(&mut self, samples: &[i32], frames: usize) -> Result<Packet, EncodeError> {
        let ch = usize::from(self.info.channels);
        let size = frames.max(MIN_BLOCK);
        let mut fb = FrameBuf::with_size(ch, size).map_err(lib)?;
        if frames < size {
            let mut padded = samples.to_vec();
            padded.resize(size * ch, 0);
            fb.fill_interleaved(&padded).map_err(lib)?;
        } else {
            fb.fill_interleaved(samples).map_err(lib)?;
        }
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &fb,
            self.frame_number,
            &self.stream_info,
        )
        .map_err(lib)?;
        self.frame_number += 1;
        let mut sink = ByteSink::new();
        frame.write(&mut sink).map_err(lib)?;
        Ok(Packet::audio(sink.as_slice().to_vec(), size as u32))
    }
}

impl Encoder for FlacEncoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_input(self.finished, &self.info, pcm)?;
        self.pending.extend(pcm.to_i16().into_iter().map(i32::from));
        let step = FLAC_BLOCK * usize::from(self.info.channels);
        let mut out = Vec::new();
        let mut pos = 0;
        while pos + step <= self.pending.len() {
            let block = self.pending[pos..pos + step].to_vec();
            out.push(self.encode_block(&block, FLAC_BLOCK)?);
            pos += step;
        }
        self.pending.drain(..pos);
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        if mark_finished(&mut self.finished) {
            return Ok(Vec::new());
        }
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let rest = std::mem::take(&mut self.pending);
        let frames = rest.len() / usize::from(self.info.channels);
        Ok(vec![self.encode_block(&rest, frames)?])
    }
}
