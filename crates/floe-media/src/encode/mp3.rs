//! MP3 through LAME: constant bitrate, joint stereo, no Xing/LAME tag frame (it would have to be
//! patched in at the start of the file, which a live stream cannot do).

use mp3lame_encoder::{Bitrate, Builder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality};

use super::{check_input, mark_finished, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::pcm::AudioBlock;

/// LAME's delay in frames: 576 of the encoder plus 529 of the decoder's filterbank.
const LAME_DELAY: u32 = 1105;

/// MP3 encoder (LAME, CBR).
pub struct Mp3Encoder {
    lame: mp3lame_encoder::Encoder,
    info: CodecInfo,
    carry: Vec<u8>,
    out: Vec<u8>,
    finished: bool,
}

debug_shows_info!(Mp3Encoder);

fn lame_bitrate(kbps: u32) -> Option<Bitrate> {
    Some(match kbps {
        8 => Bitrate::Kbps8,
        16 => Bitrate::Kbps16,
        24 => Bitrate::Kbps24,
        32 => Bitrate::Kbps32,
        40 => Bitrate::Kbps40,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        80 => Bitrate::Kbps80,
        96 => Bitrate::Kbps96,
        112 => Bitrate::Kbps112,
        128 => Bitrate::Kbps128,
        160 => Bitrate::Kbps160,
        192 => Bitrate::Kbps192,
        224 => Bitrate::Kbps224,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        _ => return None,
    })
}

impl Mp3Encoder {
    /// `rate` one of 8000–48000 (MPEG-1/2/2.5 rates), 1 or 2 channels, `kbps` a standard MP3
    /// bitrate (8, 16, ..., 128, 160, 192, 224, 256, 320).
    pub fn new(rate: u32, channels: u16, kbps: u32) -> Result<Self, EncodeError> {
        const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
        if !RATES.contains(&rate) || !(1..=2).contains(&channels) {
            return Err(EncodeError::Unsupported(format!(
                "MP3 at {rate} Hz, {channels} ch"
            )));
        }
        let brate = lame_bitrate(kbps)
            .ok_or_else(|| EncodeError::Unsupported(format!("MP3 bitrate {kbps} kbit/s")))?;
        let e = |e: mp3lame_encoder::BuildError| EncodeError::lib("mp3", e);
        let mut b = Builder::new().ok_or_else(|| EncodeError::lib("mp3", "lame_init failed"))?;
        b.set_num_channels(channels as u8).map_err(e)?;
        b.set_sample_rate(rate).map_err(e)?;
        // Without this LAME picks a lower output rate for low bitrates (24 kHz at 64k stereo).
        b.set_output_sample_rate(std::num::NonZeroU32::new(rate))
            .map_err(e)?;
        b.set_brate(brate).map_err(e)?;
        b.set_mode(if channels == 1 {
            Mode::Mono
        } else {
            Mode::JointStereo
        })
        .map_err(e)?;
        b.set_quality(Quality::NearBest).map_err(e)?;
        b.set_vbr_mode(mp3lame_encoder::VbrMode::Off).map_err(e)?;
        b.set_to_write_vbr_tag(false).map_err(e)?;
        let lame = b.build().map_err(e)?;
        let frame_size = if rate >= 32000 { 1152 } else { 576 };
        Ok(Self {
            lame,
            info: CodecInfo {
                codec: Codec::Mp3,
                rate,
                channels,
                bitrate: Some(kbps * 1000),
                frame_size,
                delay: LAME_DELAY,
                extradata: bytes::Bytes::new(),
            },
            carry: Vec::new(),
            out: Vec::new(),
            finished: false,
        })
    }

    fn split_frames(&mut self, last: bool) -> Vec<Packet> {
        let mut packets = Vec::new();
        let mut pos = 0;
        while let Some((len, samples)) = self.carry.get(pos..).and_then(mp3_frame) {
            if pos + len > self.carry.len() {
                break;
            }
            packets.push(Packet::audio(self.carry[pos..pos + len].to_vec(), samples));
            pos += len;
        }
        if last && pos < self.carry.len() {
            // Not a whole frame (should not happen with LAME): keep the bytes anyway.
            packets.push(Packet::audio(self.carry[pos..].to_vec(), 0));
            pos = self.carry.len();
        }
        self.carry.drain(..pos);
        packets
    }
}

/// The length in bytes and samples of the MPEG audio Layer III frame starting at `b[0]`.
pub(crate) fn mp3_frame(b: &[u8]) -> Option<(usize, u32)> {
    const BR_V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const BR_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 || (b[1] >> 1) & 3 != 1 {
        return None;
    }
    let version = (b[1] >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    let br_idx = usize::from(b[2] >> 4);
    let sr_idx = usize::from((b[2] >> 2) & 3);
    if version == 1 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
        return None;
    }
    let base = [44100u32, 48000, 32000][sr_idx];
    let (rate, kbps, coef, samples) = match version {
        3 => (base, BR_V1[br_idx], 144, 1152),
        2 => (base / 2, BR_V2[br_idx], 72, 576),
        _ => (base / 4, BR_V2[br_idx], 72, 576),
    };
    let pad = u32::from((b[2] >> 1) & 1);
    Some(((coef * kbps * 1000 / rate + pad) as usize, samples))
}

impl Encoder for Mp3Encoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_input(self.finished, &self.info, pcm)?;
        if pcm.is_empty() {
            return Ok(Vec::new());
        }
        self.out.clear();
        self.out
            .reserve(mp3lame_encoder::max_required_buffer_size(pcm.frames()));
        let r = if self.info.channels == 1 {
            self.lame
                .encode_to_vec(MonoPcm(&pcm.samples[..]), &mut self.out)
        } else {
            self.lame
                .encode_to_vec(InterleavedPcm(&pcm.samples[..]), &mut self.out)
        };
        r.map_err(|e| EncodeError::lib("mp3", e))?;
        self.carry.extend_from_slice(&self.out);
        Ok(self.split_frames(false))
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        if mark_finished(&mut self.finished) {
            return Ok(Vec::new());
        }
        self.out.clear();
        self.out.reserve(7200 * 2);
        self.lame
            .flush_to_vec::<FlushGap>(&mut self.out)
            .map_err(|e| EncodeError::lib("mp3", e))?;
        self.carry.extend_from_slice(&self.out);
        Ok(self.split_frames(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoder;

    #[test]
    fn low_bitrates_keep_the_declared_rate() {
        for (rate, kbps) in [(44_100, 64), (48_000, 32), (22_050, 24)] {
            let mut enc = Mp3Encoder::new(rate, 2, kbps).expect("encoder");
            let mut bytes = Vec::new();
            let pcm = AudioBlock::silence(rate, 2, rate as usize);
            for p in enc
                .encode(&pcm)
                .expect("encode")
                .into_iter()
                .chain(enc.finish().expect("finish"))
            {
                bytes.extend_from_slice(&p.data);
            }
            let mut d = Decoder::open_bytes(bytes, Some("mp3")).expect("open");
            let block = d.next_block().expect("decode").expect("a block");
            assert_eq!(block.rate, rate, "{kbps} kbit/s");
        }
    }
}
