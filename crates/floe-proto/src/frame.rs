//! Frame and page sync, so that every listener joins a stream at a boundary a decoder accepts.
//!
//! A [`Framer`] takes a source's bytes in arbitrary pieces and yields [`Unit`]s: whole MP3
//! frames, whole ADTS frames, whole Ogg pages, WebM clusters (split at cluster starts), or, for
//! any other format, the bytes as they came. Garbage between frames (corruption, truncation, an
//! ID3v2 tag) is skipped and counted, never fatal: the framer resyncs on the next valid header.

use bytes::Bytes;

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
    pub fn from_content_type(content_type: &str) -> StreamFormat {
        let _ = content_type;
        todo!()
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
    pub bitrate_kbps: u32,
}

/// Counters of what a framer had to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramerStats {
    /// Bytes skipped because they were not part of a valid frame/page (including ID3v2 tags).
    pub skipped_bytes: u64,
    /// Times sync was lost and found again.
    pub resyncs: u64,
}

/// Cuts a stream of the given format into [`Unit`]s.
#[derive(Debug)]
pub struct Framer {
    _private: (),
}

impl Framer {
    /// A framer at the start of a stream. `max_buffer` bounds how many bytes it holds while
    /// looking for a boundary; past that the held bytes are dropped (and counted as skipped).
    pub fn new(format: StreamFormat, max_buffer: usize) -> Self {
        let _ = (format, max_buffer);
        todo!()
    }

    /// Appends source bytes.
    pub fn push(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }

    /// The next complete unit, or `None` until more bytes arrive.
    pub fn next_unit(&mut self) -> Option<Unit> {
        todo!()
    }

    /// At end of stream: whatever complete or passable data remains (an opaque tail, the rest of
    /// a WebM cluster). A truncated MP3/ADTS frame or Ogg page is dropped and counted as skipped.
    pub fn finish(&mut self) -> Option<Unit> {
        todo!()
    }

    /// What has been learnt of the stream so far.
    pub fn audio_info(&self) -> AudioInfo {
        todo!()
    }

    /// Skip/resync counters.
    pub fn stats(&self) -> FramerStats {
        todo!()
    }
}
