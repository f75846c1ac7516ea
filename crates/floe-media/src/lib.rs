//! Floe's media layer: everything between a file (or a byte stream) and encoded, framed audio.
//!
//! Pure, synchronous building blocks; no tokio, no clock, no sockets. The engine drives them.
//!
//! | module | holds |
//! |---|---|
//! | [`pcm`] | [`AudioBlock`]: interleaved `f32` audio with its rate and channel count; up/down-mix, gain |
//! | [`decode`] | [`Decoder`]: any common file or byte stream (symphonia + libopus) to PCM blocks, tags, duration, counted bad packets |
//! | [`resample`] | [`Resampler`]: streaming any-rate to any-rate conversion (rubato FFT), with a flush at the end |
//! | [`encode`] | the [`Encoder`] trait and its implementations: MP3 (LAME), Opus (libopus), AAC-LC/HE-AAC (fdk-aac, feature `fdk-aac`), Vorbis (libvorbis), FLAC (flacenc), PCM s16le |
//! | [`mux`] | byte-stream writers: ADTS, Ogg (Opus, FLAC; Vorbis comes framed from libvorbis), native FLAC, WAV (sized and streaming) |
//! | [`stream`] | [`stream::StreamEncoder`]: an encoder and its muxer together: PCM in, playable byte chunks out |
//! | [`loudness`] | EBU R128 integrated loudness, gain to a target, ReplayGain fallback |
//! | [`mix`] | equal-power crossfade, gapless concatenation |
//! | [`transcode`] | [`transcode::Transcoder`]: a file to another format on demand (offset, exact length for CBR) |
//! | [`synth`] | the demo station's music: deterministic generated pieces with titles |
//!
//! Sample conventions: samples are `f32` in `[-1.0, 1.0]`, interleaved (`L R L R ...`); a
//! *frame* is one sample per channel. Every encoder takes blocks at its own declared rate and
//! channel count (see [`encode::CodecInfo`]); resample and remix first.

pub mod decode;
pub mod encode;
pub mod loudness;
pub mod mix;
pub mod mux;
pub mod pcm;
pub mod resample;
pub mod stream;
pub mod synth;
pub mod transcode;

pub use decode::{extension_for_content_type, DecodeError, Decoder, Tags};
pub use encode::{Codec, CodecInfo, EncodeError, Encoder, Packet};
pub use pcm::AudioBlock;
pub use resample::Resampler;
