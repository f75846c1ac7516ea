//! Decoding any common audio file or byte stream to PCM, with tags and duration.
//!
//! Formats and codecs: everything symphonia decodes with its `all` feature (MP3, MP1/2, AAC-LC
//! in ADTS and MP4/M4A, ALAC, FLAC, Vorbis, PCM/ADPCM in WAV/AIFF/CAF/MKV) plus Opus through
//! libopus (`symphonia-adapter-libopus`). HE-AAC decodes as its AAC-LC core (half rate).
//!
//! Robustness: a packet the codec rejects is skipped and counted ([`Decoder::bad_packets`]);
//! more than [`MAX_CONSECUTIVE_BAD_PACKETS`] in a row ends decoding with an error. A panic inside
//! the demuxer or decoder (hostile input) is caught and returned as [`DecodeError::Panicked`].

use std::fs::File;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{
    MediaSource, MediaSourceStream, MediaSourceStreamOptions, ReadOnlySource,
};
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTag, Tag};

use crate::pcm::AudioBlock;

/// After this many undecodable packets in a row, decoding stops with [`DecodeError::TooManyBadPackets`].
pub const MAX_CONSECUTIVE_BAD_PACKETS: u32 = 64;

/// Decoding errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file could not be opened or read.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// No known container format was recognised.
    #[error("unrecognised or unsupported format: {0}")]
    Unsupported(String),
    /// The container holds no audio track with a known codec.
    #[error("no decodable audio track")]
    NoAudioTrack,
    /// The stream is malformed beyond recovery.
    #[error("malformed stream: {0}")]
    Malformed(String),
    /// Too many consecutive packets failed to decode.
    #[error("{0} consecutive packets failed to decode; giving up")]
    TooManyBadPackets(u32),
    /// A limit against hostile input was hit.
    #[error("limit reached: {0}")]
    Limit(String),
    /// The demuxer or codec panicked on this input (a bug in it, caught here).
    #[error("decoder panicked on malformed input")]
    Panicked,
}

impl From<SymError> for DecodeError {
    fn from(e: SymError) -> Self {
        match e {
            SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                DecodeError::Malformed("unexpected end of stream".into())
            }
            SymError::IoError(io) => DecodeError::Io(io),
            SymError::DecodeError(m) => DecodeError::Malformed(m.into()),
            SymError::Unsupported(m) => DecodeError::Unsupported(m.into()),
            SymError::LimitError(m) => DecodeError::Limit(m.into()),
            other => DecodeError::Malformed(other.to_string()),
        }
    }
}

/// The tags Floe uses. Gains are in dB, peaks linear (1.0 = full scale).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    /// Track artist.
    pub artist: Option<String>,
    /// Track title.
    pub title: Option<String>,
    /// Album title.
    pub album: Option<String>,
    /// Album artist.
    pub album_artist: Option<String>,
    /// ReplayGain track gain (dB).
    pub track_gain_db: Option<f32>,
    /// ReplayGain track peak (linear).
    pub track_peak: Option<f32>,
    /// ReplayGain album gain (dB).
    pub album_gain_db: Option<f32>,
    /// ReplayGain album peak (linear).
    pub album_peak: Option<f32>,
}

impl Tags {
    /// `"Artist - Title"`, or whichever of the two exists, or `None`.
    pub fn display_title(&self) -> Option<String> {
        match (non_empty(&self.artist), non_empty(&self.title)) {
            (Some(a), Some(t)) => Some(format!("{a} - {t}")),
            (None, Some(t)) => Some(t.to_string()),
            (Some(a), None) => Some(a.to_string()),
            (None, None) => None,
        }
    }

    fn absorb(&mut self, tags: &[Tag]) {
        for tag in tags {
            let Some(std) = &tag.std else { continue };
            let text = |s: &str| Some(s.trim().to_string());
            match std {
                StandardTag::Artist(s) => self.artist = text(s),
                StandardTag::TrackTitle(s) => self.title = text(s),
                StandardTag::Album(s) => self.album = text(s),
                StandardTag::AlbumArtist(s) => self.album_artist = text(s),
                StandardTag::ReplayGainTrackGain(s) => self.track_gain_db = parse_gain(s),
                StandardTag::ReplayGainTrackPeak(s) => self.track_peak = parse_gain(s),
                StandardTag::ReplayGainAlbumGain(s) => self.album_gain_db = parse_gain(s),
                StandardTag::ReplayGainAlbumPeak(s) => self.album_peak = parse_gain(s),
                _ => {}
            }
        }
    }

    /// Fills what is still missing from the file's own tags (lofty), if it has any.
    fn absorb_file_tags(&mut self, path: &Path) {
        use lofty::file::TaggedFileExt;
        use lofty::prelude::Accessor;
        let Ok(file) = lofty::read_from_path(path) else {
            return;
        };
        let Some(tag) = file.primary_tag().or_else(|| file.first_tag()) else {
            return;
        };
        let text = |s: Option<std::borrow::Cow<'_, str>>| {
            s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
        };
        self.artist = self.artist.take().or_else(|| text(tag.artist()));
        self.title = self.title.take().or_else(|| text(tag.title()));
        self.album = self.album.take().or_else(|| text(tag.album()));
    }

    fn absorb_revision(&mut self, rev: &MetadataRevision) {
        self.absorb(&rev.media.tags);
        for t in &rev.per_track {
            self.absorb(&t.metadata.tags);
        }
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Parses `"-6.52 dB"`, `"+1.2"`, `"0.988"` to a number.
fn parse_gain(s: &str) -> Option<f32> {
    let t = s.trim();
    let t = t
        .strip_suffix("dB")
        .or_else(|| t.strip_suffix("db"))
        .unwrap_or(t)
        .trim();
    t.parse::<f32>().ok().filter(|v| v.is_finite())
}

fn codecs() -> &'static CodecRegistry {
    static REG: OnceLock<CodecRegistry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut reg = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut reg);
        reg.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
        reg
    })
}

fn guarded<T>(f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(DecodeError::Panicked))
}

/// A pull decoder: open, then call [`Decoder::next_block`] until it returns `Ok(None)`.
pub struct Decoder {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    tags: Tags,
    duration: Option<f64>,
    codec_name: &'static str,
    bad_packets: u64,
    consecutive_bad: u32,
    scratch: Vec<f32>,
    ended: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.codec_name)
            .field("track_id", &self.track_id)
            .field("duration", &self.duration)
            .field("bad_packets", &self.bad_packets)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Opens a file; its extension is used as a format hint. Where symphonia finds no artist
    /// or title (e.g. a WAV file's RIFF `INFO` list, which it does not read), the file's tags
    /// are read with lofty.
    pub fn open_path(path: impl AsRef<Path>) -> Result<Self, DecodeError> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let ext = path.extension().and_then(|e| e.to_str());
        let mut decoder = Self::open_source(Box::new(file), ext)?;
        if decoder.tags.artist.is_none() && decoder.tags.title.is_none() {
            decoder.tags.absorb_file_tags(path);
        }
        Ok(decoder)
    }

    /// Decodes from bytes in memory (seekable). `ext` is an optional format hint (`"mp3"`).
    pub fn open_bytes(
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
        ext: Option<&str>,
    ) -> Result<Self, DecodeError> {
        Self::open_source(Box::new(Cursor::new(bytes)), ext)
    }

    /// Decodes from a non-seekable reader (a pipe, a socket, a relay).
    pub fn open_reader(
        reader: impl std::io::Read + Send + Sync + 'static,
        ext: Option<&str>,
    ) -> Result<Self, DecodeError> {
        Self::open_source(Box::new(ReadOnlySource::new(reader)), ext)
    }

    /// Decodes from any symphonia media source.
    pub fn open_source(
        source: Box<dyn MediaSource>,
        ext: Option<&str>,
    ) -> Result<Self, DecodeError> {
        guarded(|| Self::open_inner(source, ext))
    }

    fn open_inner(source: Box<dyn MediaSource>, ext: Option<&str>) -> Result<Self, DecodeError> {
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let mut format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymError::Unsupported(m) => DecodeError::Unsupported(m.into()),
                other => other.into(),
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or(DecodeError::NoAudioTrack)?
            .clone();
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            return Err(DecodeError::NoAudioTrack);
        };
        let decoder = codecs().make_audio_decoder(params, &AudioDecoderOptions::default())?;
        let codec_name = decoder.codec_info().short_name;

        let rate = params.sample_rate;
        let duration = match (track.num_frames, rate, track.time_base, track.duration) {
            (Some(n), Some(r), _, _) if r > 0 => Some(n as f64 / f64::from(r)),
            (_, _, Some(tb), Some(d)) => tb.calc_duration(d).map(|t| t.as_secs_f64()),
            _ => None,
        };

        let mut tags = Tags::default();
        let mut meta = format.metadata();
        while let Some(rev) = meta.pop() {
            tags.absorb_revision(&rev);
        }
        if let Some(rev) = meta.current() {
            tags.absorb_revision(rev);
        }

        Ok(Self {
            format,
            decoder,
            track_id: track.id,
            tags,
            duration,
            codec_name,
            bad_packets: 0,
            consecutive_bad: 0,
            scratch: Vec::new(),
            ended: false,
        })
    }

    /// The tags found so far (container tags are read at open; in-stream updates as they come).
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The duration the container declares, in seconds, if any.
    pub fn duration_secs(&self) -> Option<f64> {
        self.duration
    }

    /// The codec's short name as symphonia calls it (`"mp3"`, `"aac"`, `"opus"`, ...).
    pub fn codec_name(&self) -> &'static str {
        self.codec_name
    }

    /// How many packets were skipped because they did not decode.
    pub fn bad_packets(&self) -> u64 {
        self.bad_packets
    }

    /// Seeks so that decoding resumes at or before `secs` seconds (symphonia's accurate seek).
    ///
    /// Returns the time, in seconds, of the first sample the next [`Decoder::next_block`]
    /// returns; the caller drops the audio between it and `secs` to be sample-exact. A position
    /// past the end is an error.
    pub fn seek(&mut self, secs: f64) -> Result<f64, DecodeError> {
        use symphonia::core::formats::{SeekMode, SeekTo};
        guarded(|| {
            let time = symphonia::core::units::Time::try_from_secs_f64(secs.max(0.0))
                .ok_or_else(|| DecodeError::Malformed(format!("cannot seek to {secs} s")))?;
            let to = SeekTo::Time {
                time,
                track_id: Some(self.track_id),
            };
            let seeked = self.format.seek(SeekMode::Accurate, to)?;
            self.decoder.reset();
            self.ended = false;
            let time_base = self
                .format
                .tracks()
                .iter()
                .find(|t| t.id == seeked.track_id)
                .and_then(|t| t.time_base);
            Ok(time_base
                .and_then(|tb| tb.calc_time(seeked.actual_ts))
                .map_or(secs, |t| t.as_secs_f64()))
        })
    }

    /// The next block of decoded audio, or `Ok(None)` at the end of the stream.
    ///
    /// Blocks carry their own rate and channel count, which may change mid-stream (chained Ogg).
    pub fn next_block(&mut self) -> Result<Option<AudioBlock>, DecodeError> {
        if self.ended {
            return Ok(None);
        }
        let r = guarded(|| self.next_inner());
        if r.is_err() {
            self.ended = true;
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<AudioBlock>, DecodeError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.ended = true;
                    return Ok(None);
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    // A truncated file: what was decoded stands.
                    self.bad_packets += 1;
                    self.ended = true;
                    return Ok(None);
                }
                Err(SymError::ResetRequired) => {
                    self.reset_track()?;
                    continue;
                }
                Err(SymError::DecodeError(_)) => {
                    self.count_bad()?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut latest = self.format.metadata();
            if !latest.is_latest() {
                if let Some(rev) = latest.skip_to_latest() {
                    self.tags.absorb_revision(rev);
                }
            }
            if packet.track_id != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(buf) => {
                    self.consecutive_bad = 0;
                    if buf.frames() == 0 {
                        continue;
                    }
                    let rate = buf.spec().rate();
                    let channels = buf.spec().channels().count() as u16;
                    self.scratch.clear();
                    buf.copy_to_vec_interleaved::<f32>(&mut self.scratch);
                    return Ok(Some(AudioBlock::new(rate, channels, self.scratch.clone())));
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.count_bad()?;
                }
                Err(SymError::ResetRequired) => self.reset_track()?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn count_bad(&mut self) -> Result<(), DecodeError> {
        self.bad_packets += 1;
        self.consecutive_bad += 1;
        if self.consecutive_bad > MAX_CONSECUTIVE_BAD_PACKETS {
            return Err(DecodeError::TooManyBadPackets(self.consecutive_bad));
        }
        Ok(())
    }

    fn reset_track(&mut self) -> Result<(), DecodeError> {
        let track = self
            .format
            .default_track(TrackType::Audio)
            .ok_or(DecodeError::NoAudioTrack)?
            .clone();
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            return Err(DecodeError::NoAudioTrack);
        };
        self.decoder = codecs().make_audio_decoder(params, &AudioDecoderOptions::default())?;
        self.track_id = track.id;
        Ok(())
    }

    /// Decodes everything that is left into one block (format of the first block; a later
    /// format change is remixed to the first block's channel count and otherwise dropped).
    pub fn decode_all(mut self) -> Result<(AudioBlock, Tags, u64), DecodeError> {
        let mut all: Option<AudioBlock> = None;
        while let Some(block) = self.next_block()? {
            match &mut all {
                None => all = Some(block),
                Some(acc) => {
                    let block = if block.channels != acc.channels {
                        block.remixed(acc.channels)
                    } else {
                        block
                    };
                    acc.append(&block);
                }
            }
        }
        Ok((all.unwrap_or_default(), self.tags, self.bad_packets))
    }
}

/// The format hint [`Decoder::open_reader`] takes for a stream of this content type (what
/// Icecast sources declare: `audio/mpeg`, `audio/aac`, `audio/ogg; codecs=opus`, ...), or
/// `None` when it names no format Floe decodes (the decoder then probes).
pub fn extension_for_content_type(content_type: &str) -> Option<&'static str> {
    let ct = content_type.to_ascii_lowercase();
    Some(if ct.contains("mpeg") || ct.contains("mp3") {
        "mp3"
    } else if ct.contains("aac") {
        "aac"
    } else if ct.contains("ogg") || ct.contains("opus") || ct.contains("vorbis") {
        "ogg"
    } else if ct.contains("flac") {
        "flac"
    } else if ct.contains("webm") || ct.contains("matroska") {
        "mka"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_parse() {
        assert_eq!(parse_gain("-6.50 dB"), Some(-6.5));
        assert_eq!(parse_gain("+1.25"), Some(1.25));
        assert_eq!(parse_gain("0.98"), Some(0.98));
        assert_eq!(parse_gain("nan"), None);
        assert_eq!(parse_gain("loud"), None);
    }

    #[test]
    fn display_title() {
        let mut t = Tags {
            title: Some("Morning Tide".into()),
            ..Tags::default()
        };
        assert_eq!(t.display_title().as_deref(), Some("Morning Tide"));
        t.artist = Some("Floe Demo".into());
        assert_eq!(
            t.display_title().as_deref(),
            Some("Floe Demo - Morning Tide")
        );
    }

    /// A WAV file with a RIFF `INFO` list (as ffmpeg writes `-metadata artist=… title=…`).
    fn wav_with_info(artist: &str, title: &str) -> Vec<u8> {
        fn chunk(id: &[u8], body: &[u8]) -> Vec<u8> {
            let mut c = id.to_vec();
            c.extend_from_slice(&(body.len() as u32).to_le_bytes());
            c.extend_from_slice(body);
            if body.len() % 2 == 1 {
                c.push(0);
            }
            c
        }
        let zstr = |s: &str| [s.as_bytes(), b"\0"].concat();
        let mut fmt = Vec::new();
        for v in [1u16, 1] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&16000u32.to_le_bytes());
        fmt.extend_from_slice(&2u16.to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        let info = [
            b"INFO".to_vec(),
            chunk(b"IART", &zstr(artist)),
            chunk(b"INAM", &zstr(title)),
        ]
        .concat();
        let body = [
            b"WAVE".to_vec(),
            chunk(b"fmt ", &fmt),
            chunk(b"LIST", &info),
            chunk(b"data", &vec![0u8; 1600]),
        ]
        .concat();
        chunk(b"RIFF", &body)
    }

    #[test]
    fn wav_info_tags_are_read() {
        let path = std::env::temp_dir().join(format!("floe-info-{}.wav", std::process::id()));
        std::fs::write(&path, wav_with_info("Epsilon", "Five")).expect("write");
        let decoder = Decoder::open_path(&path);
        std::fs::remove_file(&path).ok();
        let tags = decoder.expect("open").tags().clone();
        assert_eq!(tags.display_title().as_deref(), Some("Epsilon - Five"));
    }

    #[test]
    fn content_types_give_format_hints() {
        assert_eq!(extension_for_content_type("audio/mpeg"), Some("mp3"));
        assert_eq!(extension_for_content_type("audio/aacp"), Some("aac"));
        assert_eq!(
            extension_for_content_type("audio/ogg; codecs=opus"),
            Some("ogg")
        );
        assert_eq!(extension_for_content_type("audio/x-flac"), Some("flac"));
        assert_eq!(extension_for_content_type("audio/webm"), Some("mka"));
        assert_eq!(extension_for_content_type("application/octet-stream"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(Decoder::open_bytes(junk, None).is_err());
        assert!(Decoder::open_bytes(Vec::new(), Some("mp3")).is_err());
    }
}
