//! Frame and page sync, so that every listener joins a stream at a boundary a decoder accepts.
//!
//! A [`Framer`] takes a source's bytes in arbitrary pieces and yields [`Unit`]s: whole MP3
//! frames, whole ADTS frames, whole Ogg pages, WebM clusters (split at cluster starts), or, for
//! any other format, the bytes as they came. Garbage between frames (corruption, truncation, an
//! ID3v2 tag) is skipped and counted, never fatal: the framer resyncs on the next valid header.
//!
//! Every byte pushed ends up either in exactly one unit or in [`FramerStats::skipped_bytes`]
//! (once [`Framer::finish`] has returned `None`), and units are cut without copying (they share
//! the framer's buffer).
//!
//! Per format (the parsers live in private submodules; the MP3 and ADTS header parsers are
//! public as [`parse_mp3_header`] and [`parse_adts_header`], for code that reads frames the
//! framer already cut):
//! - MP3 (`mpeg`): MPEG-1, 2 and 2.5, layers I, II and III. Free-format frames (bitrate index
//!   0) are not supported and count as garbage. ID3v2 tags (and ID3v1 `TAG` blocks between
//!   frames) are skipped and counted in both `skipped_bytes` and `tag_bytes`.
//! - AAC (`mpeg`): ADTS frames, 1024 samples per raw data block.
//! - Ogg (`ogg`): pages with a verified CRC; codec headers for Opus, Vorbis, FLAC, Speex and
//!   Theora are recognised, other codecs fall back to the granule rule (see [`UnitKind`]).
//! - WebM (`webm`): the EBML header up to the first Cluster is one header unit; each cluster
//!   is cut into pieces of at most [`WEBM_MAX_UNIT`] bytes, the first a sync point.
//!
//! [`chain`] rewrites a live Ogg Opus/Vorbis stream into new chained logical streams whose
//! comment header carries a new title ([`OggChainer`]).

use bytes::{Buf, Bytes, BytesMut};

pub mod chain;
mod mpeg;
mod ogg;
mod webm;

#[cfg(test)]
mod tests;

pub use chain::OggChainer;
pub use mpeg::{parse_adts_header, parse_mp3_header, FrameHeader};
pub use webm::WEBM_MAX_UNIT;

/// What kind of stream a source sends, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// MPEG audio (`audio/mpeg`, `audio/mp3`, `audio/mpeg3`).
    Mp3,
    /// AAC in ADTS (`audio/aac`, `audio/aacp`, `audio/x-aac`, `audio/x-hx-aac-adts`).
    Aac,
    /// Ogg (`application/ogg`, `audio/ogg`, `audio/opus`, `audio/x-ogg`, `audio/vorbis`, `audio/flac`+ogg...).
    Ogg,
    /// WebM / Matroska (`audio/webm`, `video/webm`, `audio/x-matroska`, `video/x-matroska`).
    WebM,
    /// Anything else: passed through as an opaque byte stream.
    Opaque,
}

impl StreamFormat {
    /// Classifies a `Content-Type` value (parameters such as `; codecs=opus` ignored, any case).
    ///
    /// Plain `audio/flac` is native FLAC, which is not framed: it is [`StreamFormat::Opaque`].
    /// Ogg FLAC arrives as `audio/ogg`, `application/ogg` or `audio/flac+ogg`.
    pub fn from_content_type(content_type: &str) -> StreamFormat {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg" | "audio/x-mp3"
            | "audio/x-mpeg3" | "audio/mpg" | "audio/x-mpg" | "audio/mpa" => StreamFormat::Mp3,
            "audio/aac"
            | "audio/aacp"
            | "audio/x-aac"
            | "audio/x-aacp"
            | "audio/x-hx-aac-adts"
            | "audio/vnd.dlna.adts" => StreamFormat::Aac,
            "application/ogg" | "audio/ogg" | "video/ogg" | "audio/opus" | "audio/x-opus"
            | "audio/x-opus+ogg" | "audio/x-ogg" | "application/x-ogg" | "audio/vorbis"
            | "audio/x-vorbis" | "audio/x-vorbis+ogg" | "audio/flac+ogg" | "audio/x-flac+ogg"
            | "audio/speex" | "audio/x-speex" => StreamFormat::Ogg,
            "audio/webm" | "video/webm" | "audio/x-matroska" | "video/x-matroska"
            | "audio/matroska" | "video/matroska" => StreamFormat::WebM,
            _ => StreamFormat::Opaque,
        }
    }
}

/// The role of a [`Unit`] in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// A codec header (Ogg header pages, the WebM EBML/Segment/Tracks prefix) that every new
    /// listener must receive first. `first` is true on the first header unit of a new header set
    /// (an Ogg BOS page that starts a new chain): earlier headers are then obsolete.
    Header { first: bool },
    /// Media that starts at a boundary where a listener may join (an MP3/ADTS frame, an Ogg
    /// audio page, a WebM cluster start, or any opaque piece).
    Sync,
    /// Media that continues the previous unit and is not a join point (the rest of a WebM cluster).
    ///
    /// Also used for an Ogg audio page whose first packet continues from the previous page, and
    /// for WebM top-level elements between clusters (Cues, Tags, Void).
    Continuation,
}

/// One piece of a stream as the framer cut it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The bytes, exactly as they appear in the stream.
    pub data: Bytes,
    /// Its role.
    pub kind: UnitKind,
    /// The audio duration this unit carries in microseconds, 0 when unknown (opaque, WebM, headers).
    ///
    /// Durations are rounded so that their running sum stays exact (it never drifts by more than
    /// one microsecond from samples / rate).
    pub duration_us: u64,
}

/// Stream properties learnt from frame headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AudioInfo {
    /// Samples per second, 0 if unknown.
    pub sample_rate: u32,
    /// Channels, 0 if unknown.
    pub channels: u8,
    /// Nominal bitrate in kbit/s from the last frame header, 0 if unknown (or VBR Ogg).
    ///
    /// For ADTS, which has no bitrate field, the average over the frames seen so far; for Ogg
    /// Vorbis, the identification header's nominal bitrate.
    pub bitrate_kbps: u32,
}

/// Counters of what a framer had to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramerStats {
    /// Bytes skipped because they were not part of a valid frame/page (including ID3v2 tags).
    pub skipped_bytes: u64,
    /// Times sync was lost and found again.
    pub resyncs: u64,
    /// The part of `skipped_bytes` that was ID3 tags (not corruption): a clean MP3 file has
    /// `skipped_bytes == tag_bytes`.
    pub tag_bytes: u64,
}

/// The buffer and counters shared by all formats.
#[derive(Debug, Default)]
struct Core {
    buf: BytesMut,
    eof: bool,
    stats: FramerStats,
    info: AudioInfo,
    /// In sync now (the last thing done was emitting a unit or skipping a tag).
    locked: bool,
    /// Has ever emitted a unit: a later skip is a loss of sync.
    ever_locked: bool,
}

impl Core {
    /// Drops `n` bytes of garbage from the front of the buffer.
    fn skip_garbage(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        if n == 0 {
            return;
        }
        self.buf.advance(n);
        self.stats.skipped_bytes += n as u64;
        self.locked = false;
    }

    /// Drops `n` bytes of a tag (ID3) from the front of the buffer: counted, not a loss of sync.
    fn skip_tag(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        self.stats.skipped_bytes += n as u64;
        self.stats.tag_bytes += n as u64;
    }

    /// Cuts the first `n` bytes as a unit.
    fn unit(&mut self, n: usize, kind: UnitKind, duration_us: u64) -> Unit {
        if !self.locked && self.ever_locked {
            self.stats.resyncs += 1;
        }
        self.locked = true;
        self.ever_locked = true;
        let n = n.min(self.buf.len());
        Unit {
            data: self.buf.split_to(n).freeze(),
            kind,
            duration_us,
        }
    }
}

/// Converts a running count of samples to microseconds, so that durations add up exactly.
#[derive(Debug, Default, Clone, Copy)]
struct SampleClock {
    rate: u32,
    samples: u64,
}

/// `samples` at `rate` in whole microseconds (rounded down).
fn samples_to_us(samples: u64, rate: u32) -> u64 {
    if rate == 0 {
        return 0;
    }
    let us = u128::from(samples) * 1_000_000 / u128::from(rate);
    u64::try_from(us).unwrap_or(u64::MAX)
}

impl SampleClock {
    /// The duration of `samples` more samples at `rate`.
    fn advance(&mut self, rate: u32, samples: u64) -> u64 {
        if rate != self.rate {
            self.rate = rate;
            self.samples = 0;
        }
        let before = samples_to_us(self.samples, rate);
        self.samples = self.samples.saturating_add(samples);
        samples_to_us(self.samples, rate).saturating_sub(before)
    }
}

#[derive(Debug)]
enum Codec {
    Mpeg(mpeg::MpegFramer),
    Ogg(ogg::OggFramer),
    WebM(webm::WebmFramer),
    /// Pieces as pushed, and their total size.
    Opaque(std::collections::VecDeque<Bytes>, usize),
}

/// Cuts a stream of the given format into [`Unit`]s.
///
/// Call [`next_unit`](Self::next_unit) until it returns `None` after each
/// [`push`](Self::push): the framer holds what has not been taken.
#[derive(Debug)]
pub struct Framer {
    format: StreamFormat,
    max_buffer: usize,
    core: Core,
    codec: Codec,
}

/// Smallest `max_buffer` per format: the largest unit a valid stream may need held whole.
fn min_buffer(format: StreamFormat) -> usize {
    match format {
        StreamFormat::Mp3 => 4096,
        StreamFormat::Aac => 16 * 1024,
        StreamFormat::Ogg | StreamFormat::WebM => 64 * 1024 + 1024,
        StreamFormat::Opaque => 0,
    }
}

impl Framer {
    /// A framer at the start of a stream. `max_buffer` bounds how many bytes it holds while
    /// looking for a boundary; past that the held bytes are dropped (and counted as skipped).
    ///
    /// A `max_buffer` smaller than the largest unit of the format would reject valid streams,
    /// so it is raised to at least 4 KiB (MP3), 16 KiB (ADTS) or 65 KiB (an Ogg page of 65,307
    /// bytes; WebM). A WebM header (everything before the first cluster) larger than
    /// `max_buffer` is dropped: the stream then has no header unit. For [`StreamFormat::Opaque`]
    /// it bounds the pieces queued but not yet taken (oldest dropped first).
    pub fn new(format: StreamFormat, max_buffer: usize) -> Self {
        let codec = match format {
            StreamFormat::Mp3 => Codec::Mpeg(mpeg::MpegFramer::new(false)),
            StreamFormat::Aac => Codec::Mpeg(mpeg::MpegFramer::new(true)),
            StreamFormat::Ogg => Codec::Ogg(ogg::OggFramer::default()),
            StreamFormat::WebM => Codec::WebM(webm::WebmFramer::default()),
            StreamFormat::Opaque => Codec::Opaque(Default::default(), 0),
        };
        Framer {
            format,
            max_buffer: max_buffer.max(min_buffer(format)),
            core: Core::default(),
            codec,
        }
    }

    /// The format this framer cuts.
    pub fn format(&self) -> StreamFormat {
        self.format
    }

    /// Appends source bytes.
    pub fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match &mut self.codec {
            Codec::Opaque(queue, queued) => {
                queue.push_back(Bytes::copy_from_slice(data));
                *queued += data.len();
                while *queued > self.max_buffer && queue.len() > 1 {
                    if let Some(old) = queue.pop_front() {
                        *queued -= old.len();
                        self.core.stats.skipped_bytes += old.len() as u64;
                        self.core.locked = false;
                    }
                }
            }
            _ => self.core.buf.extend_from_slice(data),
        }
    }

    /// The next complete unit, or `None` until more bytes arrive.
    pub fn next_unit(&mut self) -> Option<Unit> {
        let unit = match &mut self.codec {
            Codec::Mpeg(m) => m.next(&mut self.core),
            Codec::Ogg(o) => o.next(&mut self.core),
            Codec::WebM(w) => w.next(&mut self.core),
            Codec::Opaque(queue, queued) => {
                let data = queue.pop_front()?;
                *queued -= data.len();
                let mut unit = self.core.unit(0, UnitKind::Sync, 0);
                unit.data = data;
                return Some(unit);
            }
        };
        if unit.is_none() && self.core.buf.len() > self.max_buffer {
            let n = self.core.buf.len();
            self.core.skip_garbage(n);
            match &mut self.codec {
                Codec::Mpeg(m) => m.lost_sync(),
                Codec::WebM(w) => w.lost_sync(),
                Codec::Ogg(_) | Codec::Opaque(..) => {}
            }
        }
        unit
    }

    /// At end of stream: whatever complete or passable data remains (an opaque tail, the rest of
    /// a WebM cluster). A truncated MP3/ADTS frame or Ogg page is dropped and counted as skipped.
    ///
    /// Call it until it returns `None`: then every byte pushed has been either returned in a
    /// unit or counted in [`FramerStats::skipped_bytes`]. At end of stream an MP3/ADTS frame is
    /// accepted without the following header that would otherwise confirm it.
    pub fn finish(&mut self) -> Option<Unit> {
        self.core.eof = true;
        if let Some(unit) = self.next_unit() {
            return Some(unit);
        }
        if let Codec::WebM(w) = &mut self.codec {
            if let Some(unit) = w.finish_tail(&mut self.core) {
                return Some(unit);
            }
        }
        let n = self.core.buf.len();
        self.core.skip_garbage(n);
        None
    }

    /// What has been learnt of the stream so far.
    pub fn audio_info(&self) -> AudioInfo {
        self.core.info
    }

    /// Skip/resync counters.
    pub fn stats(&self) -> FramerStats {
        self.core.stats
    }

    /// Bytes held and not yet returned in a unit (bounded by `max_buffer` once
    /// [`next_unit`](Self::next_unit) has returned `None`).
    pub fn buffered(&self) -> usize {
        match &self.codec {
            Codec::Opaque(_, queued) => *queued,
            _ => self.core.buf.len(),
        }
    }
}
