//! On-demand transcoding of a file: decode (from an offset), remix, resample, encode, mux, as a
//! pull of byte chunks, with the exact output length up front where the output is CBR.
//!
//! ```text
//! file ─► Decoder (seek to offset, drop to the exact sample) ─► remix ─► Resampler
//!      ─► trim/pad to the declared length ─► StreamEncoder (codec + container) ─► chunks
//! ```
//!
//! The output holds exactly `round((duration - offset) × rate)` frames when the file declares
//! its duration: a shorter decode is padded with silence and a longer one cut. That fixed frame
//! count is what makes [`Transcoder::content_length`] exact for WAV and MP3:
//! - WAV: a sized 44-byte header plus 2 bytes per sample;
//! - MP3: always encoded at 48 kHz (MPEG-1), where every CBR frame is `3 × kbit/s` bytes (no
//!   padding slots), and LAME writes [`mp3_frame_count`] frames for a given number of samples.
//!
//! Synchronous and without a clock, like the rest of this crate: the server runs it on a
//! blocking thread and streams the chunks.

use std::collections::VecDeque;
use std::path::Path;

use bytes::Bytes;

use crate::decode::{DecodeError, Decoder};
use crate::encode::{Codec, EncodeError, EncoderConfig};
use crate::mux::wav::wav_header;
use crate::pcm::AudioBlock;
use crate::resample::{ResampleError, Resampler};
use crate::stream::{Container, StreamEncoder};

/// The rate MP3 output is encoded at (see the module documentation).
pub const MP3_RATE: u32 = 48_000;

/// The MP3 bitrates LAME accepts at 48 kHz (MPEG-1 Layer III), kbit/s.
pub const MP3_BITRATES: [u32; 14] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
];

/// The output formats of a transcode, as `?format=` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// MP3, CBR, 48 kHz.
    Mp3,
    /// Opus in Ogg.
    Opus,
    /// Vorbis in Ogg.
    Vorbis,
    /// AAC-LC in ADTS (needs the `fdk-aac` feature).
    Aac,
    /// FLAC, 16-bit.
    Flac,
    /// WAV, 16-bit PCM, sized header.
    Wav,
}

impl OutputFormat {
    /// Parses `mp3`, `opus`, `ogg` (Vorbis), `aac`, `flac`, `wav` (case-insensitive).
    pub fn from_name(name: &str) -> Option<OutputFormat> {
        Some(match name.to_ascii_lowercase().as_str() {
            "mp3" => OutputFormat::Mp3,
            "opus" => OutputFormat::Opus,
            "ogg" | "vorbis" => OutputFormat::Vorbis,
            "aac" => OutputFormat::Aac,
            "flac" => OutputFormat::Flac,
            "wav" => OutputFormat::Wav,
            _ => return None,
        })
    }

    /// The name `?format=` takes (and the cache uses).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Mp3 => "mp3",
            OutputFormat::Opus => "opus",
            OutputFormat::Vorbis => "ogg",
            OutputFormat::Aac => "aac",
            OutputFormat::Flac => "flac",
            OutputFormat::Wav => "wav",
        }
    }

    /// The codec.
    pub fn codec(self) -> Codec {
        match self {
            OutputFormat::Mp3 => Codec::Mp3,
            OutputFormat::Opus => Codec::Opus,
            OutputFormat::Vorbis => Codec::Vorbis,
            OutputFormat::Aac => Codec::AacLc,
            OutputFormat::Flac => Codec::Flac,
            OutputFormat::Wav => Codec::PcmS16Le,
        }
    }

    /// The HTTP `Content-Type` of the output.
    pub fn content_type(self) -> &'static str {
        let codec = self.codec();
        Container::default_for(codec).content_type(codec)
    }

    /// Whether this build can produce it (AAC needs the `fdk-aac` feature).
    pub fn available(self) -> bool {
        self.codec().available()
    }

    /// Whether the bitrate matters (lossy formats).
    pub fn is_lossy(self) -> bool {
        !matches!(self, OutputFormat::Flac | OutputFormat::Wav)
    }

    /// The bitrate actually used for a requested one: MP3 takes the largest standard bitrate
    /// not above the request (at least 32), the others the request clamped to what their
    /// encoder accepts. Lossless formats return 0.
    pub fn effective_bitrate(self, kbps: u32) -> u32 {
        match self {
            OutputFormat::Mp3 => MP3_BITRATES
                .iter()
                .copied()
                .filter(|&b| b <= kbps)
                .max()
                .unwrap_or(MP3_BITRATES[0]),
            OutputFormat::Opus => kbps.clamp(6, 510),
            OutputFormat::Vorbis => kbps.clamp(48, 320),
            OutputFormat::Aac => kbps.clamp(32, 320),
            OutputFormat::Flac | OutputFormat::Wav => 0,
        }
    }
}

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranscodeRequest {
    /// Output format.
    pub format: OutputFormat,
    /// Bitrate in kbit/s (after [`OutputFormat::effective_bitrate`]; ignored when lossless).
    pub bitrate_kbps: u32,
    /// Where to start in the source, in seconds.
    pub offset_secs: f64,
}

/// Why a transcode could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscodeError {
    /// The source did not decode.
    #[error("decoding the source: {0}")]
    Decode(#[from] DecodeError),
    /// The encoder refused or failed.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    /// The resampler failed.
    #[error("resampling: {0}")]
    Resample(#[from] ResampleError),
    /// `offset` is at or past the end of the source.
    #[error("offset {offset} s is past the end of the track ({duration} s)")]
    OffsetPastEnd {
        /// The requested offset.
        offset: f64,
        /// The source's duration.
        duration: f64,
    },
    /// `offset` is negative or not a number.
    #[error("invalid offset {0}")]
    InvalidOffset(f64),
    /// This build cannot produce the format.
    #[error("{0} output is not available in this build")]
    Unavailable(&'static str),
}

/// The number of MP3 frames LAME writes (CBR, `FlushGap`, no Xing frame) for `samples` input
/// samples per channel at `frame_size` samples per frame: the input rounded up to whole
/// frames, plus one (LAME's 576-sample encoder delay and its flush padding together fill exactly
/// one more frame; measured for LAME 3.100 over lengths around every frame boundary and pinned
/// by the tests below).
pub fn mp3_frame_count(samples: u64, frame_size: u64) -> u64 {
    samples.div_ceil(frame_size) + 1
}

/// Writes the total number of samples into a native FLAC header's STREAMINFO (the encoder
/// writes 0, "unknown", since it streams), so players and ffprobe know the duration. Does
/// nothing to bytes that are not a FLAC header or for a count beyond 36 bits.
fn set_flac_total_samples(header: &mut [u8], total: u64) {
    // "fLaC", then the STREAMINFO block's 4-byte header (type 0), then 10 bytes of block and
    // frame sizes; the total is the low 36 bits of the 8 bytes after those.
    const AT: usize = 4 + 4 + 10;
    if header.len() < AT + 8 || &header[..4] != b"fLaC" || header[4] & 0x7f != 0 || total >> 36 != 0
    {
        return;
    }
    header[AT + 3] = (header[AT + 3] & 0xf0) | ((total >> 32) as u8 & 0x0f);
    header[AT + 4..AT + 8].copy_from_slice(&(total as u32).to_be_bytes());
}

/// A transcode in progress: call [`Transcoder::next_chunk`] until it returns `Ok(None)`.
pub struct Transcoder {
    decoder: Decoder,
    encoder: StreamEncoder,
    resampler: Option<Resampler>,
    rate: u32,
    channels: u16,
    /// Decoded source frames still to drop after the seek.
    skip: u64,
    /// The exact number of output frames, when the source declares its duration.
    target: Option<u64>,
    emitted: u64,
    content_length: Option<u64>,
    pending: VecDeque<Bytes>,
    done: bool,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("encoder", &self.encoder)
            .field("target", &self.target)
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl Transcoder {
    /// Opens `path` and prepares the pipeline; the first chunk is the container header.
    pub fn open(path: &Path, request: TranscodeRequest) -> Result<Transcoder, TranscodeError> {
        let decoder = Decoder::open_path(path)?;
        Self::from_decoder(decoder, request)
    }

    /// The same from an opened decoder (positioned at its start).
    pub fn from_decoder(
        mut decoder: Decoder,
        request: TranscodeRequest,
    ) -> Result<Transcoder, TranscodeError> {
        let format = request.format;
        if !format.available() {
            return Err(TranscodeError::Unavailable(format.name()));
        }
        let offset = request.offset_secs;
        if !offset.is_finite() || offset < 0.0 {
            return Err(TranscodeError::InvalidOffset(offset));
        }
        let duration = decoder.duration_secs();
        if let Some(d) = duration {
            if offset > 0.0 && offset >= d {
                return Err(TranscodeError::OffsetPastEnd {
                    offset,
                    duration: d,
                });
            }
        }
        // The source's format comes from its first block; decode it now (it is kept).
        let first = if offset > 0.0 {
            let resumed_at = decoder.seek(offset)?;
            let block = decoder.next_block()?;
            (resumed_at, block)
        } else {
            (0.0, decoder.next_block()?)
        };
        let (resumed_at, first) = first;
        let (src_rate, src_channels) = first.as_ref().map_or((48_000, 2), |b| (b.rate, b.channels));
        let channels = src_channels.clamp(1, 2);
        let rate = match format {
            OutputFormat::Mp3 | OutputFormat::Opus => MP3_RATE,
            OutputFormat::Aac | OutputFormat::Vorbis if !(8000..=96_000).contains(&src_rate) => {
                48_000
            }
            _ => src_rate,
        };
        let config = EncoderConfig {
            codec: format.codec(),
            rate,
            channels,
            bitrate_kbps: format.effective_bitrate(request.bitrate_kbps),
        };
        let src_tags = decoder.tags();
        let tags: Vec<(String, String)> = [
            ("TITLE", &src_tags.title),
            ("ARTIST", &src_tags.artist),
            ("ALBUM", &src_tags.album),
            ("ALBUMARTIST", &src_tags.album_artist),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect();
        let encoder = StreamEncoder::new(config, src_rate, &tags)?;
        let target = duration.map(|d| ((d - offset).max(0.0) * f64::from(rate)).round() as u64);
        let skip = ((offset - resumed_at).max(0.0) * f64::from(src_rate)).round() as u64;

        let content_length = match (format, target) {
            (OutputFormat::Wav, Some(t)) => Some(44 + t * u64::from(channels) * 2),
            (OutputFormat::Mp3, Some(t)) => {
                let frame_size = u64::from(encoder.info().frame_size);
                let frame_bytes = 3 * u64::from(config.bitrate_kbps);
                Some(mp3_frame_count(t, frame_size) * frame_bytes)
            }
            _ => None,
        };
        let mut pending: VecDeque<Bytes> = VecDeque::new();
        match (format, target) {
            (OutputFormat::Wav, Some(t)) => {
                let data_len = u32::try_from(t * u64::from(channels) * 2).unwrap_or(u32::MAX);
                pending.push_back(Bytes::copy_from_slice(&wav_header(
                    rate,
                    channels,
                    16,
                    Some(data_len),
                )));
            }
            (OutputFormat::Flac, Some(t)) => {
                let mut header: Vec<u8> = encoder.header().concat();
                set_flac_total_samples(&mut header, t);
                pending.push_back(Bytes::from(header));
            }
            _ => pending.extend(encoder.header().iter().cloned()),
        }
        let mut t = Transcoder {
            decoder,
            encoder,
            resampler: None,
            rate,
            channels,
            skip,
            target,
            emitted: 0,
            content_length,
            pending,
            done: false,
        };
        match first {
            Some(block) => t.push_block(block)?,
            None => t.finish()?,
        }
        Ok(t)
    }

    /// The output's `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        self.encoder.content_type()
    }

    /// The exact byte length of the whole output, when it is known before encoding (WAV and
    /// MP3 from a source that declares its duration).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The output's sample rate and channel count.
    pub fn output_format(&self) -> (u32, u16) {
        (self.rate, self.channels)
    }

    /// The next chunk of output, or `Ok(None)` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, TranscodeError> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Ok(Some(chunk));
            }
            if self.done {
                return Ok(None);
            }
            match self.decoder.next_block()? {
                Some(block) => self.push_block(block)?,
                None => self.finish()?,
            }
        }
    }

    fn push_block(&mut self, block: AudioBlock) -> Result<(), TranscodeError> {
        let mut block = block;
        if self.skip > 0 {
            let frames = block.frames() as u64;
            let drop = self.skip.min(frames);
            self.skip -= drop;
            if drop == frames {
                return Ok(());
            }
            let at = drop as usize * usize::from(block.channels);
            block = AudioBlock::new(block.rate, block.channels, block.samples[at..].to_vec());
        }
        let block = block.remixed(self.channels);
        let block = self.resample(&block)?;
        self.encode(block)
    }

    fn resample(&mut self, block: &AudioBlock) -> Result<AudioBlock, TranscodeError> {
        if block.rate == self.rate && self.resampler.is_none() {
            return Ok(block.clone());
        }
        let mut out = AudioBlock::empty(self.rate, self.channels);
        if self
            .resampler
            .as_ref()
            .is_some_and(|r| r.from_rate() != block.rate)
        {
            // The source changed rate (a chained Ogg stream): finish the old resampler.
            if let Some(mut old) = self.resampler.take() {
                out.samples.extend(old.flush()?.samples);
            }
        }
        if block.rate == self.rate {
            out.samples.extend_from_slice(&block.samples);
            return Ok(out);
        }
        let resampler = match &mut self.resampler {
            Some(r) => r,
            None => self
                .resampler
                .insert(Resampler::new(block.rate, self.rate, self.channels)?),
        };
        out.samples.extend(resampler.process(block)?.samples);
        Ok(out)
    }

    /// Encodes a block at the output format, cut to what is left of the target length.
    fn encode(&mut self, mut block: AudioBlock) -> Result<(), TranscodeError> {
        if let Some(target) = self.target {
            let left = target.saturating_sub(self.emitted);
            if (block.frames() as u64) > left {
                block
                    .samples
                    .truncate(left as usize * usize::from(self.channels));
            }
        }
        if block.is_empty() {
            if self.target.is_some_and(|t| self.emitted >= t) {
                self.finish()?;
            }
            return Ok(());
        }
        self.emitted += block.frames() as u64;
        self.pending.extend(self.encoder.encode(&block)?);
        if self.target.is_some_and(|t| self.emitted >= t) {
            self.finish()?;
        }
        Ok(())
    }

    /// Flushes the resampler, pads to the target length, ends the encoder.
    fn finish(&mut self) -> Result<(), TranscodeError> {
        if self.done {
            return Ok(());
        }
        if let Some(mut r) = self.resampler.take() {
            let tail = r.flush()?;
            self.encode(tail)?;
            if self.done {
                return Ok(());
            }
        }
        if let Some(target) = self.target {
            let mut left = target.saturating_sub(self.emitted);
            while left > 0 {
                let n = left.min(4096);
                let silence = AudioBlock::silence(self.rate, self.channels, n as usize);
                self.emitted += n;
                left -= n;
                self.pending.extend(self.encoder.encode(&silence)?);
            }
        }
        self.done = true;
        self.pending.extend(self.encoder.finish()?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mux::wav::wav_file;

    fn tone(rate: u32, channels: u16, secs: f64) -> AudioBlock {
        let frames = (secs * f64::from(rate)) as usize;
        let mut samples = Vec::with_capacity(frames * usize::from(channels));
        for i in 0..frames {
            let v = (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5;
            for _ in 0..channels {
                samples.push(v);
            }
        }
        AudioBlock::new(rate, channels, samples)
    }

    fn wav_source(rate: u32, channels: u16, secs: f64) -> Decoder {
        let pcm = tone(rate, channels, secs);
        let bytes = wav_file(rate, channels, &pcm.samples);
        Decoder::open_bytes(bytes, Some("wav")).expect("wav decodes")
    }

    fn run(t: &mut Transcoder) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(c) = t.next_chunk().expect("transcodes") {
            out.extend_from_slice(&c);
        }
        out
    }

    fn request(format: OutputFormat, kbps: u32, offset: f64) -> TranscodeRequest {
        TranscodeRequest {
            format,
            bitrate_kbps: kbps,
            offset_secs: offset,
        }
    }

    #[test]
    fn mp3_length_is_exact_for_many_lengths() {
        for (secs, rate, kbps) in [
            (1.0, 44_100, 128),
            (0.5, 48_000, 320),
            (2.37, 22_050, 64),
            (0.01, 44_100, 32),
            (3.0, 32_000, 192),
        ] {
            let mut t = Transcoder::from_decoder(
                wav_source(rate, 2, secs),
                request(OutputFormat::Mp3, kbps, 0.0),
            )
            .expect("opens");
            let announced = t.content_length().expect("known");
            let out = run(&mut t);
            assert_eq!(
                out.len() as u64,
                announced,
                "{secs} s at {rate} Hz, {kbps}k"
            );
            assert_eq!(out.len() % (3 * kbps as usize), 0);
        }
    }

    #[test]
    fn mp3_frame_count_matches_lame_around_frame_boundaries() {
        use crate::encode::{Encoder, Mp3Encoder};
        for channels in [1, 2] {
            for t in [0u64, 1, 576, 577, 1151, 1152, 1153, 2304, 2305, 47_000] {
                let mut e = Mp3Encoder::new(MP3_RATE, channels, 128).expect("lame");
                let mut frames = 0;
                let mut left = t;
                while left > 0 {
                    let k = left.min(1000);
                    left -= k;
                    let block = AudioBlock::silence(MP3_RATE, channels, k as usize);
                    frames += e.encode(&block).expect("encodes").len() as u64;
                }
                frames += e.finish().expect("flushes").len() as u64;
                assert_eq!(
                    frames,
                    mp3_frame_count(t, 1152),
                    "{t} samples, {channels} ch"
                );
            }
        }
    }

    #[test]
    fn mp3_bitrates_snap_to_standard_ones() {
        assert_eq!(OutputFormat::Mp3.effective_bitrate(100), 96);
        assert_eq!(OutputFormat::Mp3.effective_bitrate(8), 32);
        assert_eq!(OutputFormat::Mp3.effective_bitrate(1000), 320);
        assert_eq!(OutputFormat::Flac.effective_bitrate(1000), 0);
    }

    #[test]
    fn wav_length_and_offset_are_exact() {
        let mut t = Transcoder::from_decoder(
            wav_source(44_100, 1, 2.0),
            request(OutputFormat::Wav, 0, 0.5),
        )
        .expect("opens");
        let out = run(&mut t);
        assert_eq!(out.len() as u64, t.content_length().expect("known"));
        // 1.5 s of mono 16-bit at 44.1 kHz.
        assert_eq!(out.len(), 44 + 66_150 * 2);
        assert_eq!(&out[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes([out[40], out[41], out[42], out[43]]),
            66_150 * 2
        );
    }

    #[test]
    fn flac_output_declares_its_length() {
        let mut t = Transcoder::from_decoder(
            wav_source(44_100, 2, 1.5),
            request(OutputFormat::Flac, 0, 0.5),
        )
        .expect("opens");
        let out = run(&mut t);
        let d = Decoder::open_bytes(out, Some("flac")).expect("decodes");
        assert_eq!(d.duration_secs(), Some(1.0));
    }

    #[test]
    fn offset_past_the_end_is_refused() {
        let err =
            Transcoder::from_decoder(wav_source(8000, 1, 1.0), request(OutputFormat::Wav, 0, 1.0))
                .expect_err("past the end");
        assert!(matches!(err, TranscodeError::OffsetPastEnd { .. }), "{err}");
        let err = Transcoder::from_decoder(
            wav_source(8000, 1, 1.0),
            request(OutputFormat::Wav, 0, -1.0),
        )
        .expect_err("negative");
        assert!(matches!(err, TranscodeError::InvalidOffset(_)));
    }

    #[test]
    fn opus_and_flac_round_trip_through_the_decoder() {
        for format in [OutputFormat::Opus, OutputFormat::Flac, OutputFormat::Vorbis] {
            let mut t =
                Transcoder::from_decoder(wav_source(44_100, 2, 1.0), request(format, 96, 0.25))
                    .expect("opens");
            let out = run(&mut t);
            let ext = if format == OutputFormat::Flac {
                "flac"
            } else {
                "ogg"
            };
            let (pcm, _, bad) = Decoder::open_bytes(out, Some(ext))
                .expect("decodes")
                .decode_all()
                .expect("decodes");
            assert_eq!(bad, 0, "{format:?}");
            let secs = pcm.duration_secs();
            assert!((secs - 0.75).abs() < 0.03, "{format:?}: {secs} s");
        }
    }
}
