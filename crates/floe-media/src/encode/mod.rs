//! Encoders: PCM blocks in, codec packets out.
//!
//! Every encoder takes [`AudioBlock`]s at the rate and channel count its [`CodecInfo`] declares
//! (resample and remix first) and returns [`Packet`]s; [`Encoder::finish`] drains the encoder at
//! the end of a stream. The packets then go through a muxer (see [`crate::mux`], or
//! [`crate::stream::StreamEncoder`] for both together).
//!
//! | codec | library | packets are |
//! |---|---|---|
//! | MP3 | LAME 3.100 (`mp3lame-encoder`), CBR | MP3 frames, one per packet |
//! | Opus | libopus (`opus`) | raw Opus packets, 20 ms |
//! | AAC-LC, HE-AAC | Fraunhofer FDK (`fdk-aac`, feature `fdk-aac`) | raw AAC access units |
//! | Vorbis | libvorbis/aoTuV (`vorbis_rs`) | complete Ogg pages (libvorbis frames them itself) |
//! | FLAC | `flacenc` (pure Rust), 16-bit, fixed 4096-frame blocks | FLAC frames |
//! | PCM | none | little-endian `s16` samples |
//!
//! Thread-safety: every encoder here is `Send` except Vorbis (libvorbis state behind raw
//! pointers): build a Vorbis encoder on the thread that runs it.

use bytes::Bytes;

use crate::pcm::AudioBlock;

/// `impl Debug` for an encoder that shows its `info` field and nothing else (codec library
/// state is opaque).
macro_rules! debug_shows_info {
    ($encoder:ident) => {
        impl std::fmt::Debug for $encoder {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($encoder))
                    .field("info", &self.info)
                    .finish_non_exhaustive()
            }
        }
    };
}

#[cfg(feature = "fdk-aac")]
mod aac;
mod flac;
mod mp3;
mod opus;
mod pcm;
mod vorbis;

#[cfg(feature = "fdk-aac")]
pub use aac::AacEncoder;
pub use flac::FlacEncoder;
pub use mp3::Mp3Encoder;
pub use opus::OpusEncoder;
pub use pcm::PcmEncoder;
pub use vorbis::VorbisEncoder;

/// The codecs Floe encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// MPEG-1/2 Layer III.
    Mp3,
    /// AAC Low Complexity.
    AacLc,
    /// HE-AAC (v1: AAC-LC core at half rate plus SBR).
    HeAac,
    /// Opus (always 48 kHz).
    Opus,
    /// Vorbis.
    Vorbis,
    /// FLAC, 16-bit.
    Flac,
    /// Signed 16-bit little-endian PCM.
    PcmS16Le,
}

impl Codec {
    /// A short lowercase name (`"mp3"`, `"aac"`, `"he-aac"`, `"opus"`, `"vorbis"`, `"flac"`, `"pcm"`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::AacLc => "aac",
            Codec::HeAac => "he-aac",
            Codec::Opus => "opus",
            Codec::Vorbis => "vorbis",
            Codec::Flac => "flac",
            Codec::PcmS16Le => "pcm",
        }
    }

    /// The name ffprobe gives the codec (`codec_name`).
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::AacLc | Codec::HeAac => "aac",
            Codec::Opus => "opus",
            Codec::Vorbis => "vorbis",
            Codec::Flac => "flac",
            Codec::PcmS16Le => "pcm_s16le",
        }
    }

    /// Parses [`Codec::name`] (case-insensitive; also `"aac-lc"`, `"heaac"`, `"wav"`).
    pub fn from_name(name: &str) -> Option<Codec> {
        Some(match name.to_ascii_lowercase().as_str() {
            "mp3" => Codec::Mp3,
            "aac" | "aac-lc" => Codec::AacLc,
            "he-aac" | "heaac" | "aac-he" => Codec::HeAac,
            "opus" => Codec::Opus,
            "vorbis" | "ogg" => Codec::Vorbis,
            "flac" => Codec::Flac,
            "pcm" | "wav" => Codec::PcmS16Le,
            _ => return None,
        })
    }

    /// Whether this build can encode the codec (AAC needs the `fdk-aac` feature).
    pub fn available(self) -> bool {
        !matches!(self, Codec::AacLc | Codec::HeAac) || cfg!(feature = "fdk-aac")
    }
}

/// What an encoder produces. Fixed when the encoder is built.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecInfo {
    /// The codec.
    pub codec: Codec,
    /// The sample rate of the input and of the decoded output (for HE-AAC the full rate).
    pub rate: u32,
    /// Channels.
    pub channels: u16,
    /// Nominal bitrate in bits per second (`None` for lossless).
    pub bitrate: Option<u32>,
    /// Frames per packet (0 when it varies).
    pub frame_size: u32,
    /// Encoder delay in frames at `rate` (Opus: the pre-skip at 48 kHz).
    pub delay: u32,
    /// Out-of-band configuration: AAC AudioSpecificConfig, FLAC STREAMINFO (34 bytes).
    pub extradata: Bytes,
}

/// One encoded unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The bytes.
    pub data: Bytes,
    /// How many frames (at [`CodecInfo::rate`]) this packet adds to the timeline. For Opus the
    /// sum over a stream is pre-skip plus input length (what Ogg granule positions count).
    pub frames: u32,
    /// Stream headers a listener needs before any audio (only Vorbis' first Ogg pages).
    pub header: bool,
}

impl Packet {
    pub(crate) fn audio(data: impl Into<Bytes>, frames: u32) -> Self {
        Self {
            data: data.into(),
            frames,
            header: false,
        }
    }
}

/// Encoding errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The configuration is not supported (rate, channels, bitrate).
    #[error("unsupported encoder configuration: {0}")]
    Unsupported(String),
    /// A block's format differs from the encoder's.
    #[error("block is {got_rate} Hz/{got_channels} ch, encoder expects {rate} Hz/{channels} ch")]
    FormatMismatch {
        /// Expected rate.
        rate: u32,
        /// Expected channels.
        channels: u16,
        /// The block's rate.
        got_rate: u32,
        /// The block's channels.
        got_channels: u16,
    },
    /// The codec library failed.
    #[error("{codec} encoder: {message}")]
    Library {
        /// Which codec.
        codec: &'static str,
        /// The library's message.
        message: String,
    },
    /// `encode` was called after `finish`.
    #[error("encoder already finished")]
    Finished,
}

impl EncodeError {
    pub(crate) fn lib(codec: &'static str, e: impl std::fmt::Display) -> Self {
        EncodeError::Library {
            codec,
            message: e.to_string(),
        }
    }
}

/// An audio encoder.
pub trait Encoder {
    /// What this encoder produces.
    fn info(&self) -> &CodecInfo;

    /// Encodes a block (any length); returns the packets completed so far (maybe none).
    fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Packet>, EncodeError>;

    /// Ends the stream: pads, drains and returns the last packets. Further calls to
    /// [`Encoder::encode`] fail with [`EncodeError::Finished`].
    fn finish(&mut self) -> Result<Vec<Packet>, EncodeError>;
}

pub(crate) fn check_format(info: &CodecInfo, pcm: &AudioBlock) -> Result<(), EncodeError> {
    if pcm.rate != info.rate || pcm.channels != info.channels {
        return Err(EncodeError::FormatMismatch {
            rate: info.rate,
            channels: info.channels,
            got_rate: pcm.rate,
            got_channels: pcm.channels,
        });
    }
    Ok(())
}

/// What [`Encoder::encode`] checks first: the encoder is not finished and the block is in its
/// format.
pub(crate) fn check_input(
    finished: bool,
    info: &CodecInfo,
    pcm: &AudioBlock,
) -> Result<(), EncodeError> {
    if finished {
        return Err(EncodeError::Finished);
    }
    check_format(info, pcm)
}

/// What [`Encoder::finish`] does first: marks the encoder finished and says whether it already
/// was (a second `finish` returns no packets).
pub(crate) fn mark_finished(finished: &mut bool) -> bool {
    std::mem::replace(finished, true)
}

/// A request for an encoder: codec, rate, channels, bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// The codec.
    pub codec: Codec,
    /// Input (and output) sample rate; Opus accepts only 48000 here.
    pub rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// Bitrate in kbit/s (ignored for FLAC and PCM).
    pub bitrate_kbps: u32,
}

/// Builds the encoder for `config`.
pub fn new_encoder(config: EncoderConfig) -> Result<Box<dyn Encoder>, EncodeError> {
    let EncoderConfig {
        codec,
        rate,
        channels,
        bitrate_kbps,
    } = config;
    Ok(match codec {
        Codec::Mp3 => Box::new(Mp3Encoder::new(rate, channels, bitrate_kbps)?),
        Codec::Opus => Box::new(OpusEncoder::new(channels, bitrate_kbps)?),
        Codec::Vorbis => Box::new(VorbisEncoder::new(rate, channels, bitrate_kbps)?),
        Codec::Flac => Box::new(FlacEncoder::new(rate, channels)?),
        Codec::PcmS16Le => Box::new(PcmEncoder::new(rate, channels)),
        #[cfg(feature = "fdk-aac")]
        Codec::AacLc | Codec::HeAac => {
            Box::new(AacEncoder::new(codec, rate, channels, bitrate_kbps)?)
        }
        #[cfg(not(feature = "fdk-aac"))]
        Codec::AacLc | Codec::HeAac => {
            return Err(EncodeError::Unsupported(
                "AAC needs the `fdk-aac` cargo feature".into(),
            ))
        }
    })
}
