//! The segmenter: access units in, CMAF parts and segments (and TS segments) out, with the
//! DVR window, discontinuities, program date times and timed titles.
//!
//! Cutting rule: a part closes as soon as the next unit of the same duration would take it past
//! the part target (so no part is longer than `EXT-X-PART-INF:PART-TARGET`, and a part is
//! published the moment its last unit arrives, not when the next one does). A segment closes at
//! the first part boundary at or past `segment_duration − part_duration / 2`. A segment's bytes
//! are its parts' bytes in order (each part is one `styp`+`moof`+`mdat` fragment), so a segment
//! and its parts are byte-identical views of the same media.
//!
//! Time is passed in (`now_ms`, Unix milliseconds): the program date time of a segment is the
//! wall time of its first unit's ingest, derived from an anchor taken at the start of a run
//! (and taken again after a discontinuity or when the source's clock has drifted by more than
//! [`MAX_DRIFT_MS`] from ours).

use crate::access::{AccessUnit, Track};
use bytes::{Bytes, BytesMut};
use floe_media::mux::fmp4::{self, Sample};
use floe_media::mux::ts::{TsFrame, TsMuxer};
use floe_media::mux::MuxError;
use std::collections::VecDeque;
use std::sync::Arc;

/// Drift between the source's media clock and the wall clock past which program date times are
/// anchored again.
pub const MAX_DRIFT_MS: i64 = 5_000;
/// Segments at the end of the playlist whose parts stay listed (and held). LL-HLS requires parts
/// for at least the last three target durations.
pub const PART_SEGMENTS: usize = 4;

/// The segmenter's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmenterSettings {
    /// Target segment duration, seconds.
    pub segment_duration: f64,
    /// Part target, seconds (LL-HLS `PART-TARGET`).
    pub part_duration: f64,
    /// Time-shift window, seconds: older segments are dropped.
    pub window: f64,
    /// Most bytes of segments held per mount (the window is shortened to fit).
    pub max_window_bytes: usize,
    /// Also write MPEG-TS segments (for AAC and MP3 tracks).
    pub ts: bool,
}

impl Default for SegmenterSettings {
    fn default() -> Self {
        SegmenterSettings {
            segment_duration: 2.0,
            part_duration: 0.333,
            window: 300.0,
            max_window_bytes: 64 * 1024 * 1024,
            ts: true,
        }
    }
}

/// One init segment: a track configuration of the stream.
#[derive(Debug)]
pub struct Init {
    /// Distinct per configuration over the stream's life (its URL is `init{id}.mp4`).
    pub id: u32,
    /// The track.
    pub track: Track,
    /// The `ftyp`+`moov` bytes.
    pub bytes: Bytes,
    /// RFC 6381 codecs string.
    pub codecs: String,
}

/// An LL-HLS partial segment.
#[derive(Debug, Clone)]
pub struct Part {
    /// Duration in the track's timescale.
    pub duration: u64,
    /// One CMAF fragment.
    pub bytes: Bytes,
}

/// A now-playing title, placed at a media time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleMark {
    /// Distinct per title change (the `emsg` id and the `EXT-X-DATERANGE` id).
    pub id: u32,
    /// Wall time at which it starts, Unix milliseconds.
    pub pdt_ms: u64,
    /// Decode time at which it starts, in the track's timescale.
    pub start: u64,
    /// The title.
    pub title: String,
}

/// A complete segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    /// The init segment its fragments need.
    pub init: Arc<Init>,
    /// A discontinuity precedes it (new source, new codec configuration).
    pub discontinuity: bool,
    /// Decode time of its first sample, in the track's timescale.
    pub start: u64,
    /// Duration in the track's timescale.
    pub duration: u64,
    /// Program date time, Unix milliseconds.
    pub pdt_ms: u64,
    /// Its parts (emptied once it is older than [`PART_SEGMENTS`] segments).
    pub parts: Vec<Part>,
    /// All its fragments.
    pub bytes: Bytes,
    /// The same media as MPEG-TS, for AAC and MP3 tracks.
    pub ts: Option<Bytes>,
    /// Titles that start inside it.
    pub titles: Vec<TitleMark>,
}

impl Segment {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.duration as f64 / f64::from(self.init.track.config.timescale)
    }
}

/// The segment being filled: its parts so far.
#[derive(Debug)]
pub struct OpenSegment {
    /// Its media sequence number.
    pub msn: u64,
    /// Init it uses.
    pub init: Arc<Init>,
    /// A discontinuity precedes it.
    pub discontinuity: bool,
    /// Decode time of its first sample.
    pub start: u64,
    /// Program date time, Unix milliseconds.
    pub pdt_ms: u64,
    /// Parts published so far.
    pub parts: Vec<Part>,
    /// Titles that start inside it.
    pub titles: Vec<TitleMark>,
    part_units: Vec<AccessUnit>,
    part_start: u64,
    part_events: Vec<Vec<u8>>,
    ts_units: Vec<AccessUnit>,
    ts_title: Option<String>,
}

impl OpenSegment {
    fn ticks(&self) -> u64 {
        self.parts.iter().map(|p| p.duration).sum()
    }
}

/// What the segmenter's limits and state say about a request for a segment or part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// It exists now.
    Ready,
    /// It will exist soon (the open segment's next part, or the next segment's first).
    Soon,
    /// It is too far in the future, or has left the window.
    Never,
}

/// Cuts one mount's access units into segments and parts.
#[derive(Debug)]
pub struct Segmenter {
    settings: SegmenterSettings,
    init: Option<Arc<Init>>,
    next_init_id: u32,
    segments: VecDeque<Segment>,
    open: Option<OpenSegment>,
    next_msn: u64,
    /// `mfhd` sequence number of the next fragment.
    fragment_seq: u32,
    /// Decode time of the next unit, in the current track's timescale.
    time: u64,
    /// (wall ms, decode time) pairs the program date time counts from.
    anchor: Option<(u64, u64)>,
    discontinuity: bool,
    /// Discontinuities that have left the window (`EXT-X-DISCONTINUITY-SEQUENCE`).
    discontinuity_seq: u64,
    pending_title: Option<String>,
    next_title_id: u32,
    ts: Option<TsMuxer>,
    held_bytes: usize,
    /// Units dropped for lack of a track, and fragments that could not be written.
    pub dropped: u64,
}

impl Segmenter {
    /// A segmenter with nothing yet.
    pub fn new(settings: SegmenterSettings) -> Segmenter {
        Segmenter {
            settings,
            init: None,
            next_init_id: 0,
            segments: VecDeque::new(),
            open: None,
            next_msn: 0,
            fragment_seq: 1,
            time: 0,
            anchor: None,
            discontinuity: false,
            discontinuity_seq: 0,
            pending_title: None,
            next_title_id: 1,
            ts: None,
            held_bytes: 0,
            dropped: 0,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &SegmenterSettings {
        &self.settings
    }

    /// The current init segment.
    pub fn init(&self) -> Option<&Arc<Init>> {
        self.init.as_ref()
    }

    /// The init segment with this id, if a segment in the window (or the current one) uses it.
    pub fn init_by_id(&self, id: u32) -> Option<Arc<Init>> {
        if let Some(i) = self.init.as_ref().filter(|i| i.id == id) {
            return Some(i.clone());
        }
        self.segments
            .iter()
            .find(|s| s.init.id == id)
            .map(|s| s.init.clone())
    }

    /// Complete segments in the window, oldest first.
    pub fn segments(&self) -> &VecDeque<Segment> {
        &self.segments
    }

    /// The segment being filled.
    pub fn open(&self) -> Option<&OpenSegment> {
        self.open.as_ref()
    }

    /// `EXT-X-DISCONTINUITY-SEQUENCE`.
    pub fn discontinuity_sequence(&self) -> u64 {
        self.discontinuity_seq
    }

    /// The media sequence number the next segment will get.
    pub fn next_msn(&self) -> u64 {
        self.next_msn
    }

    /// The last published part as (msn, part index), if any.
    pub fn last_part(&self) -> Option<(u64, u32)> {
        if let Some(o) = self.open.as_ref().filter(|o| !o.parts.is_empty()) {
            return Some((o.msn, o.parts.len() as u32 - 1));
        }
        self.segments
            .back()
            .map(|s| (s.msn, s.parts.len().max(1) as u32 - 1))
    }

    /// Bytes of segments and parts held.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Whether segment `msn` (and part `part`, if given) exists, will soon, or never will.
    ///
    /// "Soon" follows the LL-HLS blocking rules: anything up to the segment after the next
    /// may be waited for; further ahead is an error for the client.
    pub fn availability(&self, msn: u64, part: Option<u32>) -> Availability {
        if let Some(s) = self.segments.iter().find(|s| s.msn == msn) {
            return match part {
                None => Availability::Ready,
                Some(p) if (p as usize) < s.parts.len() => Availability::Ready,
                // Parts of an older segment are gone; asking past its last part means the
                // next segment's first: a client asks that with msn + 1.
                Some(_) => Availability::Never,
            };
        }
        if msn < self.next_msn {
            return Availability::Never;
        }
        if let Some(o) = self.open.as_ref().filter(|o| o.msn == msn) {
            if let Some(p) = part {
                if (p as usize) < o.parts.len() {
                    return Availability::Ready;
                }
            }
        }
        if msn <= self.next_msn + 1 {
            Availability::Soon
        } else {
            Availability::Never
        }
    }

    /// A part's bytes, from the open segment or a recent complete one.
    pub fn part(&self, msn: u64, index: u32) -> Option<Bytes> {
        let parts = match self.open.as_ref().filter(|o| o.msn == msn) {
            Some(o) => &o.parts,
            None => &self.segments.iter().find(|s| s.msn == msn)?.parts,
        };
        parts.get(index as usize).map(|p| p.bytes.clone())
    }

    /// A complete segment.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        let first = self.segments.front()?.msn;
        let s = self
            .segments
            .get(usize::try_from(msn.checked_sub(first)?).ok()?)?;
        (s.msn == msn).then_some(s)
    }

    /// Sets the track. A configuration different from the current one closes the open segment
    /// and starts a new init segment after a discontinuity; the same one changes nothing.
    pub fn set_track(&mut self, track: Track) -> Result<(), MuxError> {
        if self.init.as_ref().is_some_and(|i| i.track == track) {
            return Ok(());
        }
        let bytes = fmp4::init_segment(&track.config)?;
        let ts = match (self.settings.ts, track.ts) {
            (true, Some(codec)) => Some(TsMuxer::new(codec, track.config.timescale, true)?),
            _ => None,
        };
        self.close_segment();
        if let Some(old) = &self.init {
            // Keep the timeline going in the new timescale.
            let old_scale = u128::from(old.track.config.timescale);
            let new_scale = u128::from(track.config.timescale);
            self.time = (u128::from(self.time) * new_scale / old_scale) as u64;
            self.discontinuity = true;
            self.anchor = None;
        }
        self.init = Some(Arc::new(Init {
            id: self.next_init_id,
            codecs: fmp4::codecs_string(&track.config),
            track,
            bytes: Bytes::from(bytes),
        }));
        self.next_init_id += 1;
        self.ts = ts;
        Ok(())
    }

    /// The source went away or came back: close what is open; the next segment starts after a
    /// discontinuity, with a new program date time anchor.
    pub fn discontinuity(&mut self) {
        self.close_segment();
        if !self.segments.is_empty() {
            self.discontinuity = true;
        }
        self.anchor = None;
    }

    /// A new now-playing title, from the next unit on.
    pub fn set_title(&mut self, title: String) {
        self.pending_title = Some(title);
    }

    /// Adds one access unit that arrived at `now_ms` (Unix milliseconds). Returns true when a
    /// part (and maybe a segment) was published.
    pub fn push(&mut self, unit: AccessUnit, now_ms: u64) -> bool {
        let Some(init) = self.init.clone() else {
            self.dropped += 1;
            return false;
        };
        let timescale = u64::from(init.track.config.timescale);
        let part_target = (self.settings.part_duration * timescale as f64) as u64;
        let segment_target = (self.settings.segment_duration * timescale as f64) as u64;
        let anchor = self.anchor(now_ms, timescale);
        let time = self.time;
        let open = self.open.get_or_insert_with(|| {
            let pdt_ms = anchor.0 + (time.saturating_sub(anchor.1)) * 1000 / timescale;
            OpenSegment {
                msn: self.next_msn,
                init: init.clone(),
                discontinuity: std::mem::take(&mut self.discontinuity),
                start: time,
                pdt_ms,
                parts: Vec::new(),
                titles: Vec::new(),
                part_units: Vec::new(),
                part_start: time,
                part_events: Vec::new(),
                ts_units: Vec::new(),
                ts_title: None,
            }
        });
        if open.part_units.is_empty() {
            open.part_start = time;
        }
        if let Some(title) = self.pending_title.take() {
            let id = self.next_title_id;
            self.next_title_id = self.next_title_id.wrapping_add(1);
            let pdt_ms = anchor.0 + time.saturating_sub(anchor.1) * 1000 / timescale;
            open.part_events.push(fmp4::id3_emsg(
                time,
                init.track.config.timescale,
                id,
                &title,
            ));
            // A TS segment carries one ID3 title, stamped at its start: the last one set in it.
            open.ts_title = Some(title.clone());
            open.titles.push(TitleMark {
                id,
                pdt_ms,
                start: time,
                title,
            });
        }
        let duration = u64::from(unit.duration);
        self.time += duration;
        if self.ts.is_some() {
            open.ts_units.push(unit.clone());
        }
        open.part_units.push(unit);
        let part_ticks = self.time - open.part_start;
        if part_ticks + duration <= part_target {
            return false;
        }
        self.close_part();
        let seg_ticks = self.open.as_ref().map_or(0, OpenSegment::ticks);
        if seg_ticks + part_target / 2 >= segment_target {
            self.close_segment();
        }
        true
    }

    /// At the end of a run: publishes the open part and segment.
    pub fn flush(&mut self) -> bool {
        let had = self.open.as_ref().is_some_and(|o| !o.part_units.is_empty());
        self.close_segment();
        had
    }

    fn anchor(&mut self, now_ms: u64, timescale: u64) -> (u64, u64) {
        if let Some((wall, t)) = self.anchor {
            let predicted = wall + self.time.saturating_sub(t) * 1000 / timescale;
            if (predicted as i64 - now_ms as i64).abs() <= MAX_DRIFT_MS {
                return (wall, t);
            }
        }
        let anchor = (now_ms, self.time);
        self.anchor = Some(anchor);
        anchor
    }

    fn close_part(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if open.part_units.is_empty() {
            return;
        }
        let units = std::mem::take(&mut open.part_units);
        let events = std::mem::take(&mut open.part_events);
        let samples: Vec<Sample<'_>> = units.iter().map(AccessUnit::sample).collect();
        let event_refs: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let duration = units.iter().map(|u| u64::from(u.duration)).sum();
        match fmp4::media_segment_with_events(
            &open.init.track.config,
            self.fragment_seq,
            open.part_start,
            &samples,
            &event_refs,
        ) {
            Ok(bytes) => {
                self.fragment_seq = self.fragment_seq.wrapping_add(1);
                self.held_bytes += bytes.len();
                open.parts.push(Part {
                    duration,
                    bytes: Bytes::from(bytes),
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write a part; dropped");
                self.dropped += 1;
            }
        }
    }

    fn close_segment(&mut self) {
        self.close_part();
        let Some(open) = self.open.take() else {
            return;
        };
        if open.parts.is_empty() {
            return;
        }
        let mut bytes = BytesMut::with_capacity(open.parts.iter().map(|p| p.bytes.len()).sum());
        for p in &open.parts {
            bytes.extend_from_slice(&p.bytes);
        }
        let ts = self.ts.as_mut().and_then(|muxer| {
            let frames: Vec<TsFrame<'_>> = open
                .ts_units
                .iter()
                .filter_map(|u| {
                    Some(TsFrame {
                        data: u.ts_data.as_deref()?,
                        samples: u.duration,
                    })
                })
                .collect();
            let pts = muxer.samples_to_90k(open.start);
            match muxer.segment_with_title(pts, &frames, open.ts_title.as_deref()) {
                Ok(b) => Some(Bytes::from(b)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write a TS segment; left out");
                    None
                }
            }
        });
        let duration = open.ticks();
        self.held_bytes += bytes.len() + ts.as_ref().map_or(0, Bytes::len);
        self.segments.push_back(Segment {
            msn: open.msn,
            init: open.init,
            discontinuity: open.discontinuity,
            start: open.start,
            duration,
            pdt_ms: open.pdt_ms,
            parts: open.parts,
            bytes: bytes.freeze(),
            ts,
            titles: open.titles,
        });
        self.next_msn = open.msn + 1;
        self.trim();
    }

    fn trim(&mut self) {
        // Parts of older segments are no longer listed.
        if self.segments.len() > PART_SEGMENTS {
            let i = self.segments.len() - PART_SEGMENTS - 1;
            let s = &mut self.segments[i];
            let freed: usize = s.parts.iter().map(|p| p.bytes.len()).sum();
            s.parts = Vec::new();
            self.held_bytes -= freed;
        }
        let mut total: f64 = self.segments.iter().map(Segment::seconds).sum();
        while self.segments.len() > 1
            && (total - self.segments[0].seconds() >= self.settings.window
                || self.held_bytes > self.settings.max_window_bytes)
        {
            let Some(old) = self.segments.pop_front() else {
                break;
            };
            total -= old.seconds();
            self.held_bytes -= old.bytes.len()
                + old.ts.as_ref().map_or(0, Bytes::len)
                + old.parts.iter().map(|p| p.bytes.len()).sum::<usize>();
            if old.discontinuity {
                // Its discontinuity tag leaves the playlist with it.
                self.discontinuity_seq += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_media::mux::fmp4::{AudioCodec, TrackConfig};
    use floe_media::mux::ts::TsCodec;

    fn aac_track(rate: u32) -> Track {
        Track {
            config: TrackConfig {
                codec: AudioCodec::Aac {
                    audio_specific_config: vec![0x11, 0x90],
                },
                sample_rate: rate,
                channels: 2,
                timescale: rate,
            },
            ts: Some(TsCodec::AdtsAac),
        }
    }

    fn unit(i: u32) -> AccessUnit {
        let data = Bytes::from(i.to_be_bytes().to_vec());
        let mut adts = vec![0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x7F, 0xFC];
        adts.extend_from_slice(&data);
        adts[4] = ((adts.len() >> 3) & 0xFF) as u8;
        adts[5] = (((adts.len() & 7) as u8) << 5) | 0x1F;
        AccessUnit {
            data,
            ts_data: Some(Bytes::from(adts)),
            duration: 1024,
        }
    }

    fn settings() -> SegmenterSettings {
        SegmenterSettings {
            segment_duration: 2.0,
            part_duration: 0.5,
            window: 10.0,
            max_window_bytes: 1 << 20,
            ts: true,
        }
    }

    /// Feeds `n` AAC units at 48 kHz (21.333 ms each) starting at unit `from`, on a virtual
    /// clock that advances with the media.
    fn feed(s: &mut Segmenter, from: u32, n: u32) -> u32 {
        let mut published = 0;
        for i in from..from + n {
            let now = 1_700_000_000_000 + u64::from(i) * 1024 * 1000 / 48_000;
            published += u32::from(s.push(unit(i), now));
        }
        published
    }

    #[test]
    fn parts_never_exceed_the_target_and_segments_are_their_parts() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        // 0.5 s holds 23 units of 1024 (23.4), so parts are 23 units = 0.4907 s.
        let published = feed(&mut s, 0, 23 * 4 * 3);
        assert_eq!(published, 12);
        assert_eq!(s.segments().len(), 3);
        for seg in s.segments() {
            assert_eq!(seg.parts.len(), 4);
            assert!(seg.parts.iter().all(|p| p.duration == 23 * 1024));
            let joined: Vec<u8> = seg.parts.iter().flat_map(|p| p.bytes.to_vec()).collect();
            assert_eq!(&seg.bytes[..], &joined[..]);
            assert_eq!(seg.duration, 4 * 23 * 1024);
            let ts = seg.ts.as_ref().expect("ts");
            assert_eq!(ts.len() % 188, 0);
        }
        let msns: Vec<u64> = s.segments().iter().map(|x| x.msn).collect();
        assert_eq!(msns, [0, 1, 2]);
        assert_eq!(s.segments()[1].start, 4 * 23 * 1024);
        // Program date times advance with the media.
        assert_eq!(
            s.segments()[1].pdt_ms - s.segments()[0].pdt_ms,
            4 * 23 * 1024 * 1000 / 48_000
        );
        assert_eq!(s.last_part(), Some((2, 3)));
    }

    #[test]
    fn fragment_sequence_numbers_and_decode_times_are_continuous() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        feed(&mut s, 0, 23 * 8);
        let mut expected_seq = 1u32;
        let mut expected_time = 0u64;
        for seg in s.segments() {
            for p in &seg.parts {
                // mfhd sequence at styp(24) + moof header(8) + mfhd header(12).
                let b = &p.bytes;
                let seq = u32::from_be_bytes([b[44], b[45], b[46], b[47]]);
                assert_eq!(seq, expected_seq);
                // tfdt v1 decode time: after mfhd(16), traf header(8), tfhd(20), tfdt header(12).
                let at = 24 + 8 + 16 + 8 + 20 + 12;
                let mut t = [0u8; 8];
                t.copy_from_slice(&b[at..at + 8]);
                assert_eq!(u64::from_be_bytes(t), expected_time);
                expected_seq += 1;
                expected_time += p.duration;
            }
        }
        assert_eq!(expected_seq, 9);
    }

    #[test]
    fn availability_follows_the_blocking_rules() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        feed(&mut s, 0, 23 * 5);
        // Segment 0 complete; segment 1 open with one part.
        assert_eq!(s.availability(0, None), Availability::Ready);
        assert_eq!(s.availability(0, Some(3)), Availability::Ready);
        assert_eq!(s.availability(1, Some(0)), Availability::Ready);
        assert_eq!(s.availability(1, Some(1)), Availability::Soon);
        assert_eq!(s.availability(1, None), Availability::Soon);
        assert_eq!(s.availability(2, Some(0)), Availability::Soon);
        assert_eq!(s.availability(3, None), Availability::Never);
        assert!(s.part(1, 0).is_some());
        assert!(s.part(1, 1).is_none());
    }

    #[test]
    fn the_window_drops_old_segments_and_counts_discontinuities() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        feed(&mut s, 0, 23 * 4 * 2);
        s.discontinuity();
        feed(&mut s, 1000, 23 * 4 * 8);
        // At least 10 s of 1.963 s segments: 6 in the window.
        assert_eq!(s.segments().len(), 6);
        assert_eq!(s.segments().front().map(|x| x.msn), Some(4));
        assert_eq!(s.discontinuity_sequence(), 1);
        assert!(s.segments().iter().all(|x| !x.discontinuity));
        // Only the last PART_SEGMENTS keep their parts.
        assert!(s.segments()[1].parts.is_empty());
        assert_eq!(s.segments()[2].parts.len(), 4);
        let held: usize = s
            .segments()
            .iter()
            .map(|x| {
                x.bytes.len()
                    + x.ts.as_ref().map_or(0, Bytes::len)
                    + x.parts.iter().map(|p| p.bytes.len()).sum::<usize>()
            })
            .sum();
        assert_eq!(s.held_bytes(), held);
    }

    #[test]
    fn a_new_configuration_starts_a_new_init_after_a_discontinuity() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        feed(&mut s, 0, 30);
        s.set_track(aac_track(48_000)).expect("same track");
        assert!(s.open().is_some(), "same config changes nothing");
        s.set_track(aac_track(24_000)).expect("new track");
        assert!(s.open().is_none());
        assert_eq!(s.segments().len(), 1);
        // 30 units at 48 kHz = 30720 ticks = 15360 at 24 kHz.
        feed(&mut s, 100, 23 * 4);
        let after = &s.segments()[1];
        assert_eq!(after.init.id, 1);
        assert!(after.discontinuity);
        assert_eq!(after.start, 15_360);
        assert!(!s.segments()[2].discontinuity);
        assert!(s.init_by_id(0).is_some());
    }

    #[test]
    fn titles_go_into_the_next_part_as_emsg_and_into_the_segment() {
        let mut s = Segmenter::new(settings());
        s.set_track(aac_track(48_000)).expect("track");
        feed(&mut s, 0, 5);
        s.set_title("Artist - Song".into());
        feed(&mut s, 5, 23 * 4);
        let seg = &s.segments()[0];
        assert_eq!(seg.titles.len(), 1);
        assert_eq!(seg.titles[0].start, 5 * 1024);
        assert_eq!(seg.titles[0].title, "Artist - Song");
        let first = &seg.parts[0].bytes;
        assert_eq!(&first[28..32], b"emsg");
    }

    #[test]
    fn units_before_a_track_are_dropped() {
        let mut s = Segmenter::new(settings());
        assert!(!s.push(unit(0), 0));
        assert_eq!(s.dropped, 1);
        assert_eq!(s.last_part(), None);
        assert!(!s.flush());
    }
}
