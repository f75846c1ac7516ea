//! An encoder and its container together: PCM blocks in, playable byte chunks out.
//!
//! Each chunk returned by [`StreamEncoder::encode`] is a join point for a live listener (one MP3
//! frame, one ADTS frame, one Ogg page, one FLAC frame, or a run of whole PCM frames); a listener
//! that joins mid-stream first needs [`StreamEncoder::header`] (empty for MP3 and ADTS).

use bytes::Bytes;

use crate::encode::{new_encoder, Codec, CodecInfo, EncodeError, Encoder, EncoderConfig, Packet};
use crate::mux::adts::AdtsWriter;
use crate::mux::flac::flac_stream_header;
use crate::mux::ogg::OggMuxer;
use crate::mux::wav::wav_header;
use crate::pcm::AudioBlock;

/// Ogg serial number used for Floe's streams.
pub const OGG_SERIAL: u32 = 0x466c_6f65; // "Floe"

/// The container a [`StreamEncoder`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Bare MP3 frames.
    Mp3,
    /// AAC in ADTS.
    Adts,
    /// Ogg (Opus, Vorbis, FLAC).
    Ogg,
    /// Native FLAC.
    Flac,
    /// WAV with streaming sizes.
    Wav,
}

impl Container {
    /// The natural container for a codec.
    pub fn default_for(codec: Codec) -> Container {
        match codec {
            Codec::Mp3 => Container::Mp3,
            Codec::AacLc | Codec::HeAac => Container::Adts,
            Codec::Opus | Codec::Vorbis => Container::Ogg,
            Codec::Flac => Container::Flac,
            Codec::PcmS16Le => Container::Wav,
        }
    }

    /// The HTTP `Content-Type` of the byte stream.
    pub fn content_type(self, codec: Codec) -> &'static str {
        match (self, codec) {
            (Container::Mp3, _) => "audio/mpeg",
            (Container::Adts, _) => "audio/aac",
            (Container::Ogg, Codec::Opus) => "audio/ogg; codecs=opus",
            (Container::Ogg, Codec::Flac) => "audio/ogg; codecs=flac",
            (Container::Ogg, _) => "audio/ogg",
            (Container::Flac, _) => "audio/flac",
            (Container::Wav, _) => "audio/wav",
        }
    }

    /// The usual file extension.
    pub fn extension(self, codec: Codec) -> &'static str {
        match (self, codec) {
            (Container::Mp3, _) => "mp3",
            (Container::Adts, _) => "aac",
            (Container::Ogg, Codec::Opus) => "opus",
            (Container::Ogg, _) => "ogg",
            (Container::Flac, _) => "flac",
            (Container::Wav, _) => "wav",
        }
    }
}

enum Framing {
    Raw,
    Adts(AdtsWriter),
    Ogg(OggMuxer),
    OggPassthrough,
}

/// Encoder plus muxer.
pub struct StreamEncoder {
    enc: Box<dyn Encoder>,
    framing: Framing,
    container: Container,
    header: Vec<Bytes>,
}

impl std::fmt::Debug for StreamEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncoder")
            .field("info", self.enc.info())
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

impl StreamEncoder {
    /// The codec in its natural container (see [`Container::default_for`]). `input_rate` is the
    /// rate the audio had before resampling (written into OpusHead); `tags` go into Ogg/FLAC
    /// comment headers.
    pub fn new(
        config: EncoderConfig,
        input_rate: u32,
        tags: &[(String, String)],
    ) -> Result<Self, EncodeError> {
        Self::with_container(
            config,
            Container::default_for(config.codec),
            input_rate,
            tags,
        )
    }

    /// The codec in a chosen container (`Ogg` for FLAC gives Ogg FLAC).
    pub fn with_container(
        config: EncoderConfig,
        container: Container,
        input_rate: u32,
        tags: &[(String, String)],
    ) -> Result<Self, EncodeError> {
        let mut enc = new_encoder(config)?;
        let info = enc.info().clone();
        let bad = || EncodeError::Unsupported(format!("{:?} in {container:?}", info.codec));
        let mut header = Vec::new();
        let framing = match (container, info.codec) {
            (Container::Mp3, Codec::Mp3) => Framing::Raw,
            (Container::Adts, Codec::AacLc | Codec::HeAac) => {
                Framing::Adts(AdtsWriter::new(&info).ok_or_else(bad)?)
            }
            (Container::Ogg, Codec::Vorbis) => {
                let pages = enc.encode(&AudioBlock::empty(info.rate, info.channels))?;
                header.extend(pages.into_iter().map(|p| p.data));
                Framing::OggPassthrough
            }
            (Container::Ogg, Codec::Opus | Codec::Flac) => {
                let mut mux = OggMuxer::for_codec(&info, OGG_SERIAL).ok_or_else(bad)?;
                header = mux.headers(&info, input_rate, tags);
                Framing::Ogg(mux)
            }
            (Container::Flac, Codec::Flac) => {
                header.push(flac_stream_header(&info.extradata, tags).into());
                Framing::Raw
            }
            (Container::Wav, Codec::PcmS16Le) => {
                header.push(Bytes::copy_from_slice(&wav_header(
                    info.rate,
                    info.channels,
                    16,
                    None,
                )));
                Framing::Raw
            }
            _ => return Err(bad()),
        };
        Ok(Self {
            enc,
            framing,
            container,
            header,
        })
    }

    /// The encoder's description.
    pub fn info(&self) -> &CodecInfo {
        self.enc.info()
    }

    /// The container.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The HTTP `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        self.container.content_type(self.info().codec)
    }

    /// Bytes every listener needs before the first chunk (may be empty).
    pub fn header(&self) -> &[Bytes] {
        &self.header
    }

    /// Encodes a block; returns finished chunks.
    pub fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Bytes>, EncodeError> {
        let packets = self.enc.encode(pcm)?;
        Ok(self.frame(packets, false))
    }

    /// Ends the stream; returns the last chunks.
    pub fn finish(&mut self) -> Result<Vec<Bytes>, EncodeError> {
        let packets = self.enc.finish()?;
        Ok(self.frame(packets, true))
    }

    fn frame(&mut self, packets: Vec<Packet>, last: bool) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(packets.len());
        match &mut self.framing {
            Framing::Raw | Framing::OggPassthrough => {
                out.extend(packets.into_iter().map(|p| p.data))
            }
            Framing::Adts(w) => out.extend(packets.iter().map(|p| Bytes::from(w.frame(&p.data)))),
            Framing::Ogg(m) => {
                for p in &packets {
                    out.extend(m.push(p));
                }
                if last {
                    out.extend(m.finish());
                }
            }
        }
        out
    }

    /// Encodes a whole clip to a complete file in memory (header, chunks, end; WAV sizes filled in).
    pub fn encode_file(
        config: EncoderConfig,
        container: Container,
        tags: &[(String, String)],
        pcm: &AudioBlock,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut s = Self::with_container(config, container, pcm.rate, tags)?;
        let mut out: Vec<u8> = s.header.concat();
        for chunk in pcm.samples.chunks(4096 * usize::from(pcm.channels.max(1))) {
            let block = AudioBlock::new(pcm.rate, pcm.channels, chunk.to_vec());
            for c in s.encode(&block)? {
                out.extend_from_slice(&c);
            }
        }
        for c in s.finish()? {
            out.extend_from_slice(&c);
        }
        if container == Container::Wav && out.len() >= 44 {
            let data_len = (out.len() - 44) as u32;
            out[..44].copy_from_slice(&wav_header(pcm.rate, pcm.channels, 16, Some(data_len)));
        }
        Ok(out)
    }
}
