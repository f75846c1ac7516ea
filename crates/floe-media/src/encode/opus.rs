//! Opus through libopus: 48 kHz, 20 ms frames, constrained VBR at the requested bitrate.
//!
//! Timeline (RFC 7845): the decoder drops the first `pre-skip` samples (the encoder's lookahead).
//! [`Packet::frames`] counts decoded samples so that their sum over the stream is pre-skip plus
//! the input length: an Ogg muxer that sets granule positions from these sums gets the end
//! trimming right.

use opus::{Application, Bitrate, Channels};

use super::{check_input, mark_finished, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::pcm::AudioBlock;

/// Samples per channel per packet (20 ms at 48 kHz).
pub const OPUS_FRAME: usize = 960;
const MAX_PACKET: usize = 4000;

/// Opus encoder (libopus).
pub struct OpusEncoder {
    enc: opus::Encoder,
    info: CodecInfo,
    pending: Vec<f32>,
    /// Input frames received.
    input_frames: u64,
    /// Sum of `Packet::frames` emitted.
    emitted: u64,
    finished: bool,
}

debug_shows_info!(OpusEncoder);

impl OpusEncoder {
    /// 48 kHz input, 1 or 2 channels, 6–510 kbit/s.
    pub fn new(channels: u16, kbps: u32) -> Result<Self, EncodeError> {
        let ch = match channels {
            1 => Channels::Mono,
            2 => Channels::Stereo,
            n => return Err(EncodeError::Unsupported(format!("Opus with {n} channels"))),
        };
        if !(6..=510).contains(&kbps) {
            return Err(EncodeError::Unsupported(format!(
                "Opus bitrate {kbps} kbit/s"
            )));
        }
        let e = |e: opus::Error| EncodeError::lib("opus", e);
        let mut enc = opus::Encoder::new(48_000, ch, Application::Audio).map_err(e)?;
        enc.set_bitrate(Bitrate::Bits(kbps as i32 * 1000))
            .map_err(e)?;
        enc.set_vbr(true).map_err(e)?;
        enc.set_vbr_constraint(true).map_err(e)?;
        enc.set_complexity(10).map_err(e)?;
        let lookahead = enc.get_lookahead().map_err(e)?;
        Ok(Self {
            enc,
            info: CodecInfo {
                codec: Codec::Opus,
                rate: 48_000,
                channels,
                bitrate: Some(kbps * 1000),
                frame_size: OPUS_FRAME as u32,
                delay: lookahead.max(0) as u32,
                extradata: bytes::Bytes::new(),
            },
            pending: Vec::new(),
            input_frames: 0,
            emitted: 0,
            finished: false,
        })
    }

    fn encode_frames(&mut self, last: bool) -> Result<Vec<Packet>, EncodeError> {
        let ch = usize::from(self.info.channels);
        let step = OPUS_FRAME * ch;
        let target = self.input_frames + u64::from(self.info.delay);
        let mut out = Vec::new();
        if last {
            // Pad so that every input sample (shifted by the pre-skip) is inside a packet.
            let needed = target.saturating_sub(self.emitted) as usize * ch;
            let padded = needed.div_ceil(step) * step;
            self.pending
                .resize(padded.max(self.pending.len().div_ceil(step) * step), 0.0);
        }
        let mut buf = [0u8; MAX_PACKET];
        let mut pos = 0;
        while pos + step <= self.pending.len() {
            if last && self.emitted >= target {
                break;
            }
            let n = self
                .enc
                .encode_float(&self.pending[pos..pos + step], &mut buf)
                .map_err(|e| EncodeError::lib("opus", e))?;
            pos += step;
            let frames = if last {
                (target - self.emitted).min(OPUS_FRAME as u64)
            } else {
                OPUS_FRAME as u64
            };
            self.emitted += frames;
            out.push(Packet::audio(buf[..n].to_vec(), frames as u32));
        }
        self.pending.drain(..pos);
        if last {
            self.pending.clear();
        }
        Ok(out)
    }
}

impl Encoder for OpusEncoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_input(self.finished, &self.info, pcm)?;
        self.input_frames += pcm.frames() as u64;
        self.pending.extend_from_slice(&pcm.samples);
        self.encode_frames(false)
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        if mark_finished(&mut self.finished) {
            return Ok(Vec::new());
        }
        self.encode_frames(true)
    }
}
