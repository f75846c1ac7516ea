//! AAC-LC and HE-AAC (v1) through the Fraunhofer FDK AAC encoder (`fdk-aac`, feature `fdk-aac`;
//! the FDK code is under Fraunhofer's own non-free licence, see the README). Constant bitrate,
//! raw access units (frame them with [`crate::mux::adts`] or put them in MP4).
//!
//! The `fdk-aac` wrapper exposes no end-of-stream flush, so [`Encoder::finish`] pushes silence
//! through until every input sample is out: the stream ends with up to two frames of silence.

use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, EncoderParams, Transport};

use super::{check_input, mark_finished, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::pcm::AudioBlock;

/// AAC encoder (FDK).
pub struct AacEncoder {
    enc: fdk_aac::enc::Encoder,
    info: CodecInfo,
    pending: Vec<i16>,
    out: Vec<u8>,
    input_frames: u64,
    emitted_frames: u64,
    finished: bool,
}

debug_shows_info!(AacEncoder);

impl AacEncoder {
    /// `codec` is [`Codec::AacLc`] or [`Codec::HeAac`]; 1 or 2 channels; rate 8–96 kHz for LC,
    /// 32–48 kHz for HE-AAC (SBR runs the core at half rate); `kbps` total bitrate.
    pub fn new(codec: Codec, rate: u32, channels: u16, kbps: u32) -> Result<Self, EncodeError> {
        let aot = match codec {
            Codec::AacLc => AudioObjectType::Mpeg4LowComplexity,
            Codec::HeAac => AudioObjectType::Mpeg4HeAac,
            other => return Err(EncodeError::Unsupported(format!("{other:?} is not AAC"))),
        };
        let ch = match channels {
            1 => ChannelMode::Mono,
            2 => ChannelMode::Stereo,
            n => return Err(EncodeError::Unsupported(format!("AAC with {n} channels"))),
        };
        let e = |e: fdk_aac::enc::EncoderError| EncodeError::lib("aac", e);
        let enc = fdk_aac::enc::Encoder::new(EncoderParams {
            bit_rate: BitRate::Cbr(kbps * 1000),
            sample_rate: rate,
            transport: Transport::Raw,
            channels: ch,
            audio_object_type: aot,
        })
        .map_err(e)?;
        let fi = enc.info().map_err(e)?;
        let asc_len = (fi.confSize as usize).min(fi.confBuf.len());
        let extradata = bytes::Bytes::copy_from_slice(&fi.confBuf[..asc_len]);
        Ok(Self {
            info: CodecInfo {
                codec,
                rate,
                channels,
                bitrate: Some(kbps * 1000),
                frame_size: fi.frameLength,
                delay: fi.nDelay,
                extradata,
            },
            out: vec![0u8; (fi.maxOutBufBytes as usize).max(8192)],
            enc,
            pending: Vec::new(),
            input_frames: 0,
            emitted_frames: 0,
            finished: false,
        })
    }

    fn run(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        let step = self.info.frame_size as usize * usize::from(self.info.channels);
        let mut pos = 0;
        while pos + step <= self.pending.len() {
            let r = self
                .enc
                .encode(&self.pending[pos..pos + step], &mut self.out)
                .map_err(|e| EncodeError::lib("aac", e))?;
            if r.input_consumed == 0 && r.output_size == 0 {
                break;
            }
            pos += r.input_consumed;
            if r.output_size > 0 {
                self.emitted_frames += u64::from(self.info.frame_size);
                out.push(Packet::audio(
                    self.out[..r.output_size].to_vec(),
                    self.info.frame_size,
                ));
            }
        }
        self.pending.drain(..pos);
        Ok(())
    }
}

impl Encoder for AacEncoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_input(self.finished, &self.info, pcm)?;
        self.input_frames += pcm.frames() as u64;
        self.pending.extend(pcm.to_i16());
        let mut out = Vec::new();
        self.run(&mut out)?;
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        if mark_finished(&mut self.finished) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let step = self.info.frame_size as usize * usize::from(self.info.channels);
        let target = self.input_frames + u64::from(self.info.delay);
        // Bounded: at most delay/frame + 4 frames of silence.
        let max_rounds = self.info.delay as usize / self.info.frame_size.max(1) as usize + 4;
        for _ in 0..max_rounds {
            if self.emitted_frames >= target {
                break;
            }
            let fill = step - self.pending.len() % step;
            self.pending.extend(std::iter::repeat_n(0i16, fill));
            self.run(&mut out)?;
        }
        Ok(out)
    }
}
