//! Vorbis through libvorbis (aoTuV tunings, `vorbis_rs`): the VBR quality mode whose expected
//! bitrate is the one asked (ffmpeg's `-b:a` for libvorbis).
//!
//! libvorbis frames its own output in Ogg (via libogg), so each [`Packet`] here is one complete
//! Ogg page (at most about 4 KiB: libogg's default page cut). The first pages carry the three
//! Vorbis headers and are marked [`Packet::header`].

use std::cell::RefCell;
use std::io::Write;
use std::num::{NonZeroU32, NonZeroU8};
use std::rc::Rc;

use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};

use super::{check_format, Codec, CodecInfo, EncodeError, Encoder, Packet};
use crate::mux::ogg::split_pages;
use crate::pcm::AudioBlock;

/// Frames handed to libvorbis per call (its documentation suggests about 1024).
const BLOCK: usize = 1024;

#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Vorbis encoder producing Ogg Vorbis pages. Not `Send`.
pub struct VorbisEncoder {
    enc: Option<vorbis_rs::VorbisEncoder<Sink>>,
    sink: Sink,
    info: CodecInfo,
    carry: Vec<u8>,
    planar: Vec<Vec<f32>>,
    last_granule: u64,
    header_pages_left: bool,
}

debug_shows_info!(VorbisEncoder);

impl VorbisEncoder {
    /// Any rate from 8 to 192 kHz, 1 or 2 channels, an average bitrate in kbit/s.
    pub fn new(rate: u32, channels: u16, kbps: u32) -> Result<Self, EncodeError> {
        Self::with_serial(rate, channels, kbps, 0x466c_6f65)
    }

    /// As [`VorbisEncoder::new`] with a chosen Ogg stream serial number.
    pub fn with_serial(
        rate: u32,
        channels: u16,
        kbps: u32,
        serial: i32,
    ) -> Result<Self, EncodeError> {
        let unsupported = || {
            EncodeError::Unsupported(format!("Vorbis at {rate} Hz, {channels} ch, {kbps} kbit/s"))
        };
        let r = NonZeroU32::new(rate).ok_or_else(unsupported)?;
        let c = u8::try_from(channels)
            .ok()
            .and_then(NonZeroU8::new)
            .ok_or_else(unsupported)?;
        let b = NonZeroU32::new(kbps * 1000).ok_or_else(unsupported)?;
        let sink = Sink::default();
        let mut builder = VorbisEncoderBuilder::new_with_serial(r, c, sink.clone(), serial);
        // The quality mode whose expected bitrate is `kbps`, without libvorbis's bitrate
        // management engine: what ffmpeg's `-c:a libvorbis -b:a` does. Managed ABR encodes
        // each block's residue at several sizes to pick one for its bit reservoir, which
        // costs CPU for a bitrate precision that a buffered stream does not need.
        builder.bitrate_management_strategy(VorbisBitrateManagementStrategy::Vbr {
            target_bitrate: b,
        });
        builder
            .comment_tags([("ENCODER", "Floe")])
            .map_err(|e| EncodeError::lib("vorbis", e))?;
        let enc = builder.build().map_err(|e| EncodeError::lib("vorbis", e))?;
        Ok(Self {
            enc: Some(enc),
            sink,
            info: CodecInfo {
                codec: Codec::Vorbis,
                rate,
                channels,
                bitrate: Some(kbps * 1000),
                frame_size: 0,
                delay: 0,
                extradata: bytes::Bytes::new(),
            },
            carry: Vec::new(),
            planar: vec![Vec::new(); usize::from(channels)],
            last_granule: 0,
            header_pages_left: true,
        })
    }

    fn drain_pages(&mut self) -> Vec<Packet> {
        self.carry.append(&mut self.sink.0.borrow_mut());
        let (pages, used) = split_pages(&self.carry);
        let mut out = Vec::with_capacity(pages.len());
        for (start, len, granule) in pages {
            let page = self.carry[start..start + len].to_vec();
            // Header pages have granule 0; audio pages carry the end sample.
            let header = self.header_pages_left && granule == 0;
            if !header {
                self.header_pages_left = false;
            }
            let frames = if header || granule == u64::MAX {
                0
            } else {
                granule.saturating_sub(self.last_granule)
            };
            if !header && granule != u64::MAX {
                self.last_granule = granule;
            }
            out.push(Packet {
                data: page.into(),
                frames: frames as u32,
                header,
            });
        }
        self.carry.drain(..used);
        out
    }
}

impl Encoder for VorbisEncoder {
    fn info(&self) -> &CodecInfo {
        &self.info
    }

    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError> {
        check_format(&self.info, pcm)?;
        let enc = self.enc.as_mut().ok_or(EncodeError::Finished)?;
        let ch = usize::from(self.info.channels);
        for chunk in pcm.samples.chunks(BLOCK * ch) {
            for (c, plane) in self.planar.iter_mut().enumerate() {
                plane.clear();
                plane.extend(chunk.iter().skip(c).step_by(ch));
            }
            enc.encode_audio_block(&self.planar)
                .map_err(|e| EncodeError::lib("vorbis", e))?;
        }
        Ok(self.drain_pages())
    }

    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError> {
        let Some(enc) = self.enc.take() else {
            return Ok(Vec::new());
        };
        enc.finish().map_err(|e| EncodeError::lib("vorbis", e))?;
        Ok(self.drain_pages())
    }
}
