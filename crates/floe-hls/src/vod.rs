//! On-demand HLS for a library file: the whole file cut once into CMAF segments (no
//! re-encoding), so a long track seeks by segment on mobile players.
//!
//! MP3, AAC in ADTS and Ogg Opus/FLAC files are read with the same framers and unpackers as
//! live mounts; other containers are refused ([`VodError::Unsupported`]). Segments are written
//! on request from the access units kept in memory. Pure: bytes in, bytes out.

use crate::access::{AccessUnit, Track, Unpacked, Unpacker};
use bytes::Bytes;
use floe_media::mux::fmp4::{self, Sample};
use floe_media::mux::MuxError;
use floe_proto::frame::{Framer, StreamFormat};
use floe_proto::hls::{MediaPlaylist, PlaylistType, SegmentEntry};

/// Why a file has no on-demand HLS form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VodError {
    /// The container or codec has no form here (e.g. M4A, native FLAC, Vorbis).
    #[error("no HLS form for this file's format")]
    Unsupported,
    /// No audio frame was found.
    #[error("no audio frames found in the file")]
    Empty,
    /// The file is larger than the configured limit.
    #[error("file of {size} bytes exceeds the {limit}-byte limit for on-demand HLS")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// `vod_max_file_bytes`.
        limit: u64,
    },
    /// The file could not be read.
    #[error("cannot read the file")]
    Unreadable,
    /// No such segment.
    #[error("no segment {0}")]
    NoSegment(usize),
    /// Writing the segment failed.
    #[error(transparent)]
    Mux(#[from] MuxError),
}

/// A file cut into segments.
#[derive(Debug)]
pub struct VodTrack {
    /// The track configuration.
    pub track: Track,
    /// The init segment.
    pub init: Bytes,
    /// RFC 6381 codecs.
    pub codecs: String,
    units: Vec<AccessUnit>,
    /// Per segment: first unit, end unit (exclusive), decode time of its first unit.
    segments: Vec<(usize, usize, u64)>,
}

/// The stream format of a file, from its extension.
pub fn format_of(extension: &str) -> Option<StreamFormat> {
    match extension.to_ascii_lowercase().as_str() {
        "mp3" => Some(StreamFormat::Mp3),
        "aac" | "adts" => Some(StreamFormat::Aac),
        "ogg" | "oga" | "opus" => Some(StreamFormat::Ogg),
        _ => None,
    }
}

impl VodTrack {
    /// Cuts `data` (a whole file of `format`) into segments of about `segment_duration`
    /// seconds, at frame boundaries. A codec change inside the file ends it there.
    pub fn prepare(
        data: &[u8],
        format: StreamFormat,
        segment_duration: f64,
    ) -> Result<VodTrack, VodError> {
        let mut framer = Framer::new(format, 1 << 20);
        let mut unpacker = Unpacker::new(format, "");
        if !unpacker.supported() {
            return Err(VodError::Unsupported);
        }
        let mut out = Vec::new();
        for chunk in data.chunks(64 * 1024) {
            framer.push(chunk);
            while let Some(unit) = framer.next_unit() {
                unpacker.push(&unit, &mut out);
            }
        }
        while let Some(unit) = framer.finish() {
            unpacker.push(&unit, &mut out);
        }
        let mut track: Option<Track> = None;
        let mut units = Vec::new();
        for u in out {
            match u {
                Unpacked::Track(t) if track.is_none() => track = Some(t),
                Unpacked::Track(_) => break,
                Unpacked::Unit(a) => units.push(a),
            }
        }
        let track = match track {
            Some(t) => t,
            None if units.is_empty() && !data.is_empty() => return Err(VodError::Unsupported),
            None => return Err(VodError::Empty),
        };
        if units.is_empty() {
            return Err(VodError::Empty);
        }
        let target = (segment_duration * f64::from(track.config.timescale)) as u64;
        let mut segments = Vec::new();
        let (mut start, mut time, mut seg_time) = (0, 0u64, 0u64);
        for (i, u) in units.iter().enumerate() {
            time += u64::from(u.duration);
            if time - seg_time >= target || i + 1 == units.len() {
                segments.push((start, i + 1, seg_time));
                start = i + 1;
                seg_time = time;
            }
        }
        Ok(VodTrack {
            init: Bytes::from(fmp4::init_segment(&track.config)?),
            codecs: fmp4::codecs_string(&track.config),
            track,
            units,
            segments,
        })
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Bytes held (for the cache's accounting).
    pub fn held_bytes(&self) -> usize {
        self.init.len() + self.units.iter().map(|u| u.data.len()).sum::<usize>()
    }

    fn seconds(&self, seg: &(usize, usize, u64)) -> f64 {
        let ticks: u64 = self.units[seg.0..seg.1]
            .iter()
            .map(|u| u64::from(u.duration))
            .sum();
        ticks as f64 / f64::from(self.track.config.timescale)
    }

    /// The VOD media playlist (`init.mp4`, `s{n}.m4s`, `EXT-X-ENDLIST`).
    pub fn playlist(&self) -> MediaPlaylist {
        let longest = self
            .segments
            .iter()
            .map(|s| self.seconds(s))
            .fold(0.0, f64::max);
        MediaPlaylist {
            target_duration: (longest.round() as u64).max(1),
            playlist_type: Some(PlaylistType::Vod),
            independent_segments: true,
            map_uri: Some("init.mp4".into()),
            segments: self
                .segments
                .iter()
                .enumerate()
                .map(|(n, s)| SegmentEntry::new(format!("s{n}.m4s"), self.seconds(s)))
                .collect(),
            endlist: true,
            ..MediaPlaylist::default()
        }
    }

    /// Segment `n` as one CMAF fragment.
    pub fn segment(&self, n: usize) -> Result<Vec<u8>, VodError> {
        let &(from, to, time) = self.segments.get(n).ok_or(VodError::NoSegment(n))?;
        let samples: Vec<Sample<'_>> = self.units[from..to]
            .iter()
            .map(AccessUnit::sample)
            .collect();
        Ok(fmp4::media_segment(
            &self.track.config,
            u32::try_from(n + 1).unwrap_or(u32::MAX),
            time,
            &samples,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes).
    fn mp3(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
            out.extend(std::iter::repeat_n(i as u8, 413));
        }
        out
    }

    #[test]
    fn an_mp3_file_is_cut_into_segments_of_the_target_duration() {
        // 230 frames of 1152 samples at 44.1 kHz: 6.008 s; 2 s segments of 77 frames.
        let v = VodTrack::prepare(&mp3(230), StreamFormat::Mp3, 2.0).expect("prepare");
        assert_eq!(v.codecs, "mp4a.6B");
        assert_eq!(v.segment_count(), 3);
        let text = v.playlist().render();
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.01142,\ns0.m4s\n#EXTINF:2.01142,\ns1.m4s\n#EXTINF:1.9853,\ns2.m4s\n#EXT-X-ENDLIST\n"
        );
        let s1 = v.segment(1).expect("segment");
        assert_eq!(&s1[4..8], b"styp");
        // tfdt: the 77 frames before it.
        let at = 24 + 8 + 16 + 8 + 20 + 12;
        let mut t = [0u8; 8];
        t.copy_from_slice(&s1[at..at + 8]);
        assert_eq!(u64::from_be_bytes(t), 77 * 1152);
        assert_eq!(v.segment(3), Err(VodError::NoSegment(3)));
    }

    #[test]
    fn unsupported_and_empty_files_are_refused() {
        assert_eq!(format_of("M4A"), None);
        assert_eq!(format_of("opus"), Some(StreamFormat::Ogg));
        assert_eq!(
            VodTrack::prepare(b"not audio at all", StreamFormat::Mp3, 2.0).err(),
            Some(VodError::Unsupported)
        );
        assert_eq!(
            VodTrack::prepare(b"", StreamFormat::Mp3, 2.0).err(),
            Some(VodError::Empty)
        );
    }
}
