//! HLS playlists (RFC 8216 and its second edition, draft-pantos-hls-rfc8216bis, for low-latency
//! HLS): a master playlist writer, a media playlist writer (live, event or VOD; parts, preload
//! hints, blocking reload and delta updates), and the parser for the `_HLS_msn`, `_HLS_part` and
//! `_HLS_skip` delivery directives.
//!
//! The writers are pure: times (program date-time, date ranges) are passed in as Unix
//! milliseconds. Lines end in `\n`; decimal values are written with up to 5 decimals and no
//! trailing zeros (`2`, `1.004`, `0.33334`). Text that cannot appear in a playlist (CR and LF
//! anywhere, `"` inside a quoted string) is dropped or replaced by `'`, so a title can never
//! inject a tag.

use std::fmt::Write as _;

use crate::accesslog::civil_from_days;
use crate::query::Query;

/// One variant stream of a master playlist (`EXT-X-STREAM-INF` plus its URI line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The media playlist's URI (relative to the master playlist, or absolute).
    pub uri: String,
    /// Peak segment bitrate in bits per second (`BANDWIDTH`, required).
    pub bandwidth: u64,
    /// Average segment bitrate (`AVERAGE-BANDWIDTH`).
    pub average_bandwidth: Option<u64>,
    /// RFC 6381 codecs (`CODECS`), e.g. `mp4a.40.2`.
    pub codecs: String,
    /// A human-readable name (`NAME`, which hls.js shows as the level's name; other clients
    /// ignore the attribute, as RFC 8216 section 4.2 requires of unknown attributes).
    pub name: Option<String>,
}

/// A master (multivariant) playlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterPlaylist {
    /// Writes `EXT-X-INDEPENDENT-SEGMENTS` (true for audio: every segment starts with a
    /// decodable frame).
    pub independent_segments: bool,
    /// The variants, in the order clients should prefer them.
    pub variants: Vec<Variant>,
}

impl MasterPlaylist {
    /// The playlist text:
    /// `#EXTM3U`, `#EXT-X-VERSION:3`, optionally `#EXT-X-INDEPENDENT-SEGMENTS`, then per variant
    /// `#EXT-X-STREAM-INF:BANDWIDTH=…,AVERAGE-BANDWIDTH=…,CODECS="…",NAME="…"` and its URI.
    pub fn render(&self) -> String {
        let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
        if self.independent_segments {
            out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        }
        for v in &self.variants {
            let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={}", v.bandwidth);
            if let Some(avg) = v.average_bandwidth {
                let _ = write!(out, ",AVERAGE-BANDWIDTH={avg}");
            }
            let _ = write!(out, ",CODECS=\"{}\"", quoted(&v.codecs));
            if let Some(name) = &v.name {
                let _ = write!(out, ",NAME=\"{}\"", quoted(name));
            }
            out.push('\n');
            out.push_str(&line(&v.uri));
            out.push('\n');
        }
        out
    }
}

/// `EXT-X-PLAYLIST-TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistType {
    /// Segments are only added (a growing recording).
    Event,
    /// The playlist never changes (on-demand); write `endlist` too.
    Vod,
}

/// A byte range inside a resource: `length@offset` (`EXT-X-BYTERANGE`, `BYTERANGE=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Bytes in the range.
    pub length: u64,
    /// Offset of its first byte; always written (never implied by the previous range).
    pub offset: u64,
}

/// A partial segment (`EXT-X-PART`).
#[derive(Debug, Clone, PartialEq)]
pub struct PartEntry {
    /// The part's URI.
    pub uri: String,
    /// Duration in seconds.
    pub duration: f64,
    /// `INDEPENDENT=YES`: the part starts with a sync sample (every audio part does).
    pub independent: bool,
    /// A range of `uri` (when parts are ranges of the whole segment's resource).
    pub byterange: Option<ByteRange>,
}

/// A media segment (its tags, `#EXTINF` and URI).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentEntry {
    /// The segment's URI.
    pub uri: String,
    /// Duration in seconds (`#EXTINF`).
    pub duration: f64,
    /// `EXT-X-PROGRAM-DATE-TIME` of the segment's first sample, in Unix milliseconds (UTC).
    pub program_date_time: Option<i64>,
    /// `EXT-X-DISCONTINUITY` before this segment (a new encoder, other timestamps).
    pub discontinuity: bool,
    /// The segment's parts (`EXT-X-PART`), written before its `#EXTINF`. Servers list parts
    /// only for the segments nearest the live edge.
    pub parts: Vec<PartEntry>,
    /// A title written after the `#EXTINF` duration (`#EXTINF:2,Artist - Title`).
    pub title: Option<String>,
    /// A range of `uri` (`EXT-X-BYTERANGE`).
    pub byterange: Option<ByteRange>,
    /// An `EXT-X-MAP` written before this segment (after its discontinuity): a new init
    /// segment from here on, e.g. after the source changed its codec configuration. The
    /// playlist's [`MediaPlaylist::map_uri`] applies until the first segment that has one.
    pub map_uri: Option<String>,
}

impl PartEntry {
    /// An independent part (`INDEPENDENT=YES`: it starts with a sync sample, as every audio
    /// part does) of `duration` seconds, the whole of `uri`.
    pub fn independent(uri: impl Into<String>, duration: f64) -> PartEntry {
        PartEntry {
            uri: uri.into(),
            duration,
            independent: true,
            byterange: None,
        }
    }
}

impl SegmentEntry {
    /// A segment of `duration` seconds, the whole of `uri`, with no other tag (no parts, date,
    /// discontinuity, title or map); set those with struct update syntax.
    pub fn new(uri: impl Into<String>, duration: f64) -> SegmentEntry {
        SegmentEntry {
            uri: uri.into(),
            duration,
            program_date_time: None,
            discontinuity: false,
            parts: Vec::new(),
            title: None,
            byterange: None,
            map_uri: None,
        }
    }
}

/// The segment still being written at the live edge: its parts so far (no `#EXTINF` yet) and
/// the tags that go before them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PendingSegment {
    /// `EXT-X-DISCONTINUITY` before it.
    pub discontinuity: bool,
    /// A new `EXT-X-MAP` from this segment on.
    pub map_uri: Option<String>,
    /// `EXT-X-PROGRAM-DATE-TIME` of its first sample (Unix milliseconds).
    pub program_date_time: Option<i64>,
    /// Its parts so far.
    pub parts: Vec<PartEntry>,
}

/// `EXT-X-SERVER-CONTROL`: what the server supports (LL-HLS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerControl {
    /// `CAN-BLOCK-RELOAD=YES`: `_HLS_msn`/`_HLS_part` requests are held until ready.
    pub can_block_reload: bool,
    /// `PART-HOLD-BACK` in seconds (at least twice the part target; 3× recommended).
    pub part_hold_back: Option<f64>,
    /// `HOLD-BACK` in seconds (at least 3 target durations).
    pub hold_back: Option<f64>,
    /// `CAN-SKIP-UNTIL` in seconds: delta updates (`_HLS_skip=YES`) skip segments older than
    /// this from the live edge (at least 6 target durations).
    pub can_skip_until: Option<f64>,
    /// `CAN-SKIP-DATERANGES=YES` (with `can_skip_until`): `_HLS_skip=v2` also drops date ranges.
    pub can_skip_dateranges: bool,
}

/// `EXT-X-PRELOAD-HINT`: the next part, requested by the client before it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadHint {
    /// `TYPE=MAP` (an init segment) instead of `TYPE=PART`.
    pub map: bool,
    /// The URI.
    pub uri: String,
    /// `BYTERANGE-START` (a hint for a range of `uri`).
    pub byterange_start: Option<u64>,
    /// `BYTERANGE-LENGTH`.
    pub byterange_length: Option<u64>,
}

/// `EXT-X-RENDITION-REPORT`: where another rendition's live edge is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionReport {
    /// The other rendition's media playlist URI.
    pub uri: String,
    /// `LAST-MSN`: its last media sequence number.
    pub last_msn: u64,
    /// `LAST-PART`: the index of its last part in that segment.
    pub last_part: Option<u64>,
}

/// `EXT-X-DATERANGE`: a timed event, here a now-playing title.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    /// `ID` (unique in the playlist's life).
    pub id: String,
    /// `CLASS`, e.g. `com.floe.title`.
    pub class: Option<String>,
    /// `START-DATE` in Unix milliseconds (UTC).
    pub start_ms: i64,
    /// `DURATION` in seconds.
    pub duration: Option<f64>,
    /// `END-ON-NEXT=YES`: the range ends where the next one of the same `class` starts (a
    /// title lasts until the next title). Needs `class`; written only with one.
    pub end_on_next: bool,
    /// Client attributes (`X-TITLE="…"`): names without the `X-` prefix (upper-cased; characters
    /// other than `A-Z`, `0-9`, `-` dropped; an empty name skips the attribute), quoted string
    /// values.
    pub attributes: Vec<(String, String)>,
}

/// A media playlist. See [`MediaPlaylist::render`] for the order of tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    /// The lowest `EXT-X-VERSION` to write; raised to what the tags used need (3 for decimal
    /// durations, 4 for byte ranges, 6 for `EXT-X-MAP`, 9 for `EXT-X-SKIP`, 10 when date ranges
    /// are skipped too).
    pub version: u8,
    /// `EXT-X-TARGETDURATION` in whole seconds: every `#EXTINF` rounded to the nearest integer
    /// must be at most this.
    pub target_duration: u64,
    /// `EXT-X-MEDIA-SEQUENCE`: the sequence number of the first segment (counting skipped ones).
    pub media_sequence: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE` (written when not 0).
    pub discontinuity_sequence: u64,
    /// `EXT-X-PLAYLIST-TYPE`.
    pub playlist_type: Option<PlaylistType>,
    /// `EXT-X-INDEPENDENT-SEGMENTS`.
    pub independent_segments: bool,
    /// `EXT-X-PART-INF:PART-TARGET=` in seconds (LL-HLS).
    pub part_target: Option<f64>,
    /// `EXT-X-SERVER-CONTROL`.
    pub server_control: Option<ServerControl>,
    /// `EXT-X-MAP:URI=` (the fMP4 init segment).
    pub map_uri: Option<String>,
    /// Date ranges (timed titles), written after the header. A playlist with date ranges
    /// should have a program date-time on its segments (RFC 8216bis section 4.4.5.1).
    pub dateranges: Vec<DateRange>,
    /// In a delta update: how many of the oldest segments were left out (`EXT-X-SKIP`). The
    /// first entry of `segments` then has sequence number `media_sequence + skipped_segments`.
    pub skipped_segments: u64,
    /// `RECENTLY-REMOVED-DATERANGES` of the `EXT-X-SKIP` tag (IDs, tab-separated).
    pub recently_removed_dateranges: Vec<String>,
    /// Complete segments, oldest first.
    pub segments: Vec<SegmentEntry>,
    /// The segment still being written (after the last complete segment).
    pub pending: Option<PendingSegment>,
    /// `EXT-X-PRELOAD-HINT` (after the parts).
    pub preload_hint: Option<PreloadHint>,
    /// `EXT-X-RENDITION-REPORT`s (last).
    pub rendition_reports: Vec<RenditionReport>,
    /// `EXT-X-ENDLIST` (a VOD playlist, or a live stream that ended).
    pub endlist: bool,
}

impl MediaPlaylist {
    /// The `EXT-X-VERSION` the playlist is written with.
    pub fn effective_version(&self) -> u8 {
        let mut v = self.version.max(3);
        if self.segments.iter().any(|s| s.byterange.is_some())
            || self
                .segments
                .iter()
                .flat_map(|s| &s.parts)
                .chain(self.pending.iter().flat_map(|p| &p.parts))
                .any(|p| p.byterange.is_some())
        {
            v = v.max(4);
        }
        if self.map_uri.is_some()
            || self.segments.iter().any(|s| s.map_uri.is_some())
            || self.pending.as_ref().is_some_and(|p| p.map_uri.is_some())
        {
            v = v.max(6);
        }
        if self.skipped_segments > 0 {
            v = v.max(if self.recently_removed_dateranges.is_empty() {
                9
            } else {
                10
            });
        }
        v
    }

    /// The playlist text, in this order:
    /// `#EXTM3U`, `#EXT-X-VERSION`, `#EXT-X-TARGETDURATION`, `#EXT-X-MEDIA-SEQUENCE`,
    /// `#EXT-X-DISCONTINUITY-SEQUENCE`, `#EXT-X-PLAYLIST-TYPE`, `#EXT-X-INDEPENDENT-SEGMENTS`,
    /// `#EXT-X-SERVER-CONTROL`, `#EXT-X-PART-INF`, `#EXT-X-MAP`, `#EXT-X-DATERANGE`s,
    /// `#EXT-X-SKIP`, then per segment `#EXT-X-DISCONTINUITY`, `#EXT-X-MAP`,
    /// `#EXT-X-PROGRAM-DATE-TIME`, `#EXT-X-PART`s, `#EXTINF`, `#EXT-X-BYTERANGE`, URI; then the
    /// pending segment (the same head tags and its parts),
    /// `#EXT-X-PRELOAD-HINT`, `#EXT-X-RENDITION-REPORT`s and `#EXT-X-ENDLIST`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 + 160 * self.segments.len());
        out.push_str("#EXTM3U\n");
        let _ = writeln!(out, "#EXT-X-VERSION:{}", self.effective_version());
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.target_duration);
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        if self.discontinuity_sequence > 0 {
            let _ = writeln!(
                out,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            );
        }
        match self.playlist_type {
            Some(PlaylistType::Event) => out.push_str("#EXT-X-PLAYLIST-TYPE:EVENT\n"),
            Some(PlaylistType::Vod) => out.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n"),
            None => {}
        }
        if self.independent_segments {
            out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        }
        if let Some(sc) = &self.server_control {
            let mut attrs = Vec::new();
            if sc.can_block_reload {
                attrs.push("CAN-BLOCK-RELOAD=YES".to_string());
            }
            if let Some(t) = sc.can_skip_until {
                attrs.push(format!("CAN-SKIP-UNTIL={}", decimal(t)));
                if sc.can_skip_dateranges {
                    attrs.push("CAN-SKIP-DATERANGES=YES".to_string());
                }
            }
            if let Some(t) = sc.hold_back {
                attrs.push(format!("HOLD-BACK={}", decimal(t)));
            }
            if let Some(t) = sc.part_hold_back {
                attrs.push(format!("PART-HOLD-BACK={}", decimal(t)));
            }
            let _ = writeln!(out, "#EXT-X-SERVER-CONTROL:{}", attrs.join(","));
        }
        if let Some(t) = self.part_target {
            let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={}", decimal(t));
        }
        if let Some(map) = &self.map_uri {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", quoted(map));
        }
        for dr in &self.dateranges {
            let _ = write!(out, "#EXT-X-DATERANGE:ID=\"{}\"", quoted(&dr.id));
            if let Some(class) = &dr.class {
                let _ = write!(out, ",CLASS=\"{}\"", quoted(class));
            }
            let _ = write!(out, ",START-DATE=\"{}\"", date_time(dr.start_ms));
            if let Some(d) = dr.duration {
                let _ = write!(out, ",DURATION={}", decimal(d));
            }
            if dr.end_on_next && dr.class.is_some() {
                out.push_str(",END-ON-NEXT=YES");
            }
            for (name, value) in &dr.attributes {
                // Attribute names are [A-Z0-9-]: upper-cased, other characters dropped.
                let name: String = name
                    .chars()
                    .map(|c| c.to_ascii_uppercase())
                    .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                if !name.is_empty() {
                    let _ = write!(out, ",X-{name}=\"{}\"", quoted(value));
                }
            }
            out.push('\n');
        }
        if self.skipped_segments > 0 {
            let _ = write!(
                out,
                "#EXT-X-SKIP:SKIPPED-SEGMENTS={}",
                self.skipped_segments
            );
            if !self.recently_removed_dateranges.is_empty() {
                let ids: Vec<String> = self
                    .recently_removed_dateranges
                    .iter()
                    .map(|id| quoted(id).replace('\t', " "))
                    .collect();
                let _ = write!(out, ",RECENTLY-REMOVED-DATERANGES=\"{}\"", ids.join("\t"));
            }
            out.push('\n');
        }
        for seg in &self.segments {
            write_segment_head(
                &mut out,
                seg.discontinuity,
                seg.map_uri.as_deref(),
                seg.program_date_time,
            );
            for part in &seg.parts {
                write_part(&mut out, part);
            }
            let _ = write!(out, "#EXTINF:{},", decimal(seg.duration));
            if let Some(title) = &seg.title {
                out.push_str(&line(title));
            }
            out.push('\n');
            if let Some(r) = seg.byterange {
                let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", r.length, r.offset);
            }
            out.push_str(&line(&seg.uri));
            out.push('\n');
        }
        if let Some(pending) = &self.pending {
            write_segment_head(
                &mut out,
                pending.discontinuity,
                pending.map_uri.as_deref(),
                pending.program_date_time,
            );
            for part in &pending.parts {
                write_part(&mut out, part);
            }
        }
        if let Some(hint) = &self.preload_hint {
            let kind = if hint.map { "MAP" } else { "PART" };
            let _ = write!(
                out,
                "#EXT-X-PRELOAD-HINT:TYPE={kind},URI=\"{}\"",
                quoted(&hint.uri)
            );
            if let Some(start) = hint.byterange_start {
                let _ = write!(out, ",BYTERANGE-START={start}");
            }
            if let Some(len) = hint.byterange_length {
                let _ = write!(out, ",BYTERANGE-LENGTH={len}");
            }
            out.push('\n');
        }
        for r in &self.rendition_reports {
            let _ = write!(
                out,
                "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={}",
                quoted(&r.uri),
                r.last_msn
            );
            if let Some(p) = r.last_part {
                let _ = write!(out, ",LAST-PART={p}");
            }
            out.push('\n');
        }
        if self.endlist {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

/// The tags before a segment's parts and `#EXTINF`: discontinuity, map, program date-time.
fn write_segment_head(
    out: &mut String,
    discontinuity: bool,
    map_uri: Option<&str>,
    program_date_time: Option<i64>,
) {
    if discontinuity {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    if let Some(map) = map_uri {
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", quoted(map));
    }
    if let Some(ms) = program_date_time {
        let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", date_time(ms));
    }
}

fn write_part(out: &mut String, part: &PartEntry) {
    let _ = write!(
        out,
        "#EXT-X-PART:DURATION={},URI=\"{}\"",
        decimal(part.duration),
        quoted(&part.uri)
    );
    if part.independent {
        out.push_str(",INDEPENDENT=YES");
    }
    if let Some(r) = part.byterange {
        let _ = write!(out, ",BYTERANGE=\"{}@{}\"", r.length, r.offset);
    }
    out.push('\n');
}

/// A decimal with up to 5 fraction digits and no trailing zeros (`2`, `1.004`), **rounded
/// down** to 10 µs; negative, infinite and NaN values are written as 0.
///
/// Rounding down keeps every position a player sums from the playlist at or before the media
/// time it stands for. Rounded to nearest, two AAC parts of 22 × 1024 / 44100 s (0.510839 s)
/// are listed as 0.51084 s each, and hls.js 1.7 (low-latency mode) looks for the part that
/// holds the buffered end (1.021678 s) in the playlist's [0.51084, 1.02168) and loads that part
/// again, forever (seen in headless Chromium with a finished playlist, `hls_mux.rs`).
pub fn decimal(value: f64) -> String {
    let value = if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    };
    // The epsilon keeps values like 1.004 (1.00399999… in binary) at 1.004.
    let ticks = (value * 100_000.0 + 1e-6).floor().min(u64::MAX as f64) as u64;
    let (whole, frac) = (ticks / 100_000, ticks % 100_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:05}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A Unix time in milliseconds as ISO 8601 UTC with milliseconds: `2026-11-24T18:54:06.123Z`.
pub fn date_time(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Text for a quoted-string attribute: no CR, LF or `"` (replaced by `'`).
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .map(|c| if c == '"' { '\'' } else { c })
        .collect()
}

/// Text for the rest of a line (a URI, a title): no CR or LF.
fn line(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// The `_HLS_skip` delivery directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipRequest {
    /// `_HLS_skip=YES`: skip old segments.
    Yes,
    /// `_HLS_skip=v2`: skip old segments and old date ranges.
    V2,
}

/// The LL-HLS delivery directives of a media playlist request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryDirectives {
    /// `_HLS_msn`: hold the response until the playlist holds this media sequence number.
    pub msn: Option<u64>,
    /// `_HLS_part`: with `msn`, until it holds this part (0-based) of that segment.
    pub part: Option<u64>,
    /// `_HLS_skip`: a delta update is wanted.
    pub skip: Option<SkipRequest>,
}

/// A delivery directive that the server must answer with 400 Bad Request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HlsError {
    /// A directive's value is not what the protocol allows.
    #[error("invalid {name} value {value:?}")]
    InvalidValue {
        /// The parameter.
        name: &'static str,
        /// The value received (at most 32 characters of it).
        value: String,
    },
    /// `_HLS_part` without `_HLS_msn` (RFC 8216bis section 6.2.5.2).
    #[error("_HLS_part without _HLS_msn")]
    PartWithoutMsn,
}

impl DeliveryDirectives {
    /// Parses the directives from a request's query string (other parameters are ignored).
    /// Values must be decimal integers (`YES` or `v2` for `_HLS_skip`); an invalid value or
    /// `_HLS_part` without `_HLS_msn` is an error, which RFC 8216bis answers with 400.
    pub fn parse(query: &str) -> Result<DeliveryDirectives, HlsError> {
        let q = Query::parse(query);
        let number = |name: &'static str| -> Result<Option<u64>, HlsError> {
            match q.get(name) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                    .map(Some)
                    .ok_or_else(|| HlsError::InvalidValue {
                        name,
                        value: v.chars().take(32).collect(),
                    }),
            }
        };
        let msn = number("_HLS_msn")?;
        let part = number("_HLS_part")?;
        if part.is_some() && msn.is_none() {
            return Err(HlsError::PartWithoutMsn);
        }
        let skip = match q.get("_HLS_skip").as_deref() {
            None => None,
            Some("YES") => Some(SkipRequest::Yes),
            Some("v2") => Some(SkipRequest::V2),
            Some(other) => {
                return Err(HlsError::InvalidValue {
                    name: "_HLS_skip",
                    value: other.chars().take(32).collect(),
                })
            }
        };
        Ok(DeliveryDirectives { msn, part, skip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_playlist_text() {
        let m = MasterPlaylist {
            independent_segments: true,
            variants: vec![
                Variant {
                    uri: "aac/index.m3u8".into(),
                    bandwidth: 140_000,
                    average_bandwidth: Some(131_000),
                    codecs: "mp4a.40.2".into(),
                    name: Some("AAC \"128\"".into()),
                },
                Variant {
                    uri: "he/index.m3u8".into(),
                    bandwidth: 52_000,
                    average_bandwidth: None,
                    codecs: "mp4a.40.5".into(),
                    name: None,
                },
            ],
        };
        assert_eq!(
            m.render(),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=131000,CODECS=\"mp4a.40.2\",NAME=\"AAC '128'\"\n\
             aac/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=52000,CODECS=\"mp4a.40.5\"\n\
             he/index.m3u8\n"
        );
    }

    #[test]
    fn live_low_latency_playlist_text() {
        let mut s0 = SegmentEntry::new("s100.m4s", 2.0);
        s0.program_date_time = Some(1_764_000_000_123);
        s0.title = Some("Artist - Song\nEvil".into());
        let mut s1 = SegmentEntry::new("s101.m4s", 2.0);
        s1.parts = vec![
            PartEntry::independent("s101.0.m4s", 1.0),
            PartEntry::independent("s101.1.m4s", 1.0),
        ];
        let p = MediaPlaylist {
            version: 6,
            target_duration: 2,
            media_sequence: 100,
            independent_segments: true,
            part_target: Some(1.0),
            server_control: Some(ServerControl {
                can_block_reload: true,
                part_hold_back: Some(3.0),
                hold_back: Some(6.0),
                can_skip_until: Some(12.0),
                can_skip_dateranges: false,
            }),
            map_uri: Some("init.mp4".into()),
            dateranges: vec![DateRange {
                id: "title-7".into(),
                class: Some("com.floe.title".into()),
                start_ms: 1_764_000_000_123,
                duration: None,
                end_on_next: true,
                attributes: vec![("TITLE".into(), "Artist - Song".into())],
            }],
            segments: vec![s0, s1],
            pending: Some(PendingSegment {
                discontinuity: true,
                map_uri: Some("init2.mp4".into()),
                program_date_time: Some(1_764_000_004_123),
                parts: vec![PartEntry::independent("s102.0.m4s", 1.00001)],
            }),
            preload_hint: Some(PreloadHint {
                map: false,
                uri: "s102.1.m4s".into(),
                byterange_start: None,
                byterange_length: None,
            }),
            rendition_reports: vec![RenditionReport {
                uri: "../opus/index.m3u8".into(),
                last_msn: 102,
                last_part: Some(0),
            }],
            ..MediaPlaylist::default()
        };
        assert_eq!(
            p.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:6\n\
             #EXT-X-TARGETDURATION:2\n\
             #EXT-X-MEDIA-SEQUENCE:100\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,HOLD-BACK=6,PART-HOLD-BACK=3\n\
             #EXT-X-PART-INF:PART-TARGET=1\n\
             #EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXT-X-DATERANGE:ID=\"title-7\",CLASS=\"com.floe.title\",START-DATE=\"2025-11-24T16:00:00.123Z\",END-ON-NEXT=YES,X-TITLE=\"Artist - Song\"\n\
             #EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.123Z\n\
             #EXTINF:2,Artist - SongEvil\n\
             s100.m4s\n\
             #EXT-X-PART:DURATION=1,URI=\"s101.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PART:DURATION=1,URI=\"s101.1.m4s\",INDEPENDENT=YES\n\
             #EXTINF:2,\n\
             s101.m4s\n\
             #EXT-X-DISCONTINUITY\n\
             #EXT-X-MAP:URI=\"init2.mp4\"\n\
             #EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:04.123Z\n\
             #EXT-X-PART:DURATION=1.00001,URI=\"s102.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s102.1.m4s\"\n\
             #EXT-X-RENDITION-REPORT:URI=\"../opus/index.m3u8\",LAST-MSN=102,LAST-PART=0\n"
        );
    }

    #[test]
    fn delta_update_text() {
        let p = MediaPlaylist {
            version: 6,
            target_duration: 2,
            media_sequence: 10,
            discontinuity_sequence: 1,
            map_uri: Some("init.mp4".into()),
            skipped_segments: 6,
            segments: vec![SegmentEntry::new("s16.m4s", 2.0)],
            ..MediaPlaylist::default()
        };
        assert_eq!(p.effective_version(), 9);
        assert_eq!(
            p.render(),
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXT-X-SKIP:SKIPPED-SEGMENTS=6\n#EXTINF:2,\ns16.m4s\n"
        );
        let v2 = MediaPlaylist {
            recently_removed_dateranges: vec!["a".into(), "b".into()],
            ..p
        };
        assert_eq!(v2.effective_version(), 10);
        assert!(v2
            .render()
            .contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES=\"a\tb\"\n"));
    }

    #[test]
    fn vod_playlist_text() {
        let mut s1 = SegmentEntry::new("b.ts", 3.9);
        s1.discontinuity = true;
        s1.byterange = Some(ByteRange {
            length: 1880,
            offset: 188,
        });
        let p = MediaPlaylist {
            version: 3,
            target_duration: 4,
            playlist_type: Some(PlaylistType::Vod),
            segments: vec![SegmentEntry::new("a.ts", 4.0), s1],
            endlist: true,
            ..MediaPlaylist::default()
        };
        assert_eq!(
            p.render(),
            "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:3.9,\n\
             #EXT-X-BYTERANGE:1880@188\nb.ts\n#EXT-X-ENDLIST\n"
        );
    }

    #[test]
    fn parts_with_byteranges_and_map_hints() {
        let p = MediaPlaylist {
            target_duration: 4,
            pending: Some(PendingSegment {
                parts: vec![PartEntry {
                    uri: "seg.m4s".into(),
                    duration: 0.33333333,
                    independent: false,
                    byterange: Some(ByteRange {
                        length: 500,
                        offset: 0,
                    }),
                }],
                ..PendingSegment::default()
            }),
            preload_hint: Some(PreloadHint {
                map: false,
                uri: "seg.m4s".into(),
                byterange_start: Some(500),
                byterange_length: None,
            }),
            ..MediaPlaylist::default()
        };
        let text = p.render();
        assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:4\n"));
        assert!(text.ends_with(
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg.m4s\",BYTERANGE=\"500@0\"\n\
             #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg.m4s\",BYTERANGE-START=500\n"
        ));
    }

    #[test]
    fn decimals_and_dates() {
        assert_eq!(decimal(2.0), "2");
        assert_eq!(decimal(1.004), "1.004");
        assert_eq!(decimal(0.333_333), "0.33333");
        assert_eq!(decimal(2.089_795), "2.08979", "rounded down");
        assert_eq!(decimal(22.0 * 1024.0 / 44_100.0), "0.51083");
        assert_eq!(decimal(0.000_009), "0");
        assert!(decimal(1e300).starts_with("184467440737095."), "saturates");
        assert_eq!(decimal(0.0), "0");
        assert_eq!(decimal(-1.0), "0");
        assert_eq!(decimal(f64::NAN), "0");
        assert_eq!(date_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(date_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(date_time(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
        assert_eq!(date_time(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn daterange_attribute_names() {
        let p = MediaPlaylist {
            target_duration: 2,
            dateranges: vec![DateRange {
                id: "t".into(),
                class: None,
                start_ms: 0,
                duration: Some(2.5),
                end_on_next: true, // ignored without a class
                attributes: vec![
                    ("artist name".into(), "A".into()),
                    ("é".into(), "dropped".into()),
                ],
            }],
            ..MediaPlaylist::default()
        };
        assert!(p.render().contains(
            "#EXT-X-DATERANGE:ID=\"t\",START-DATE=\"1970-01-01T00:00:00.000Z\",DURATION=2.5,\
             X-ARTISTNAME=\"A\"\n"
        ));
    }

    #[test]
    fn text_cannot_inject_tags() {
        let mut s = SegmentEntry::new("a.ts\r\n#EXT-X-ENDLIST", 1.0);
        s.title = Some("x\n#EXT-X-ENDLIST".into());
        let p = MediaPlaylist {
            target_duration: 1,
            map_uri: Some("i\".mp4".into()),
            segments: vec![s],
            ..MediaPlaylist::default()
        };
        let text = p.render();
        assert!(
            text.lines().all(|l| !l.starts_with("#EXT-X-ENDLIST")),
            "{text}"
        );
        assert!(text.contains("#EXT-X-MAP:URI=\"i'.mp4\"\n"));
    }

    #[test]
    fn delivery_directives() {
        assert_eq!(
            DeliveryDirectives::parse("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES"),
            Ok(DeliveryDirectives {
                msn: Some(12),
                part: Some(3),
                skip: Some(SkipRequest::Yes)
            })
        );
        assert_eq!(
            DeliveryDirectives::parse("?_HLS_skip=v2&other=1"),
            Ok(DeliveryDirectives {
                msn: None,
                part: None,
                skip: Some(SkipRequest::V2)
            })
        );
        assert_eq!(
            DeliveryDirectives::parse(""),
            Ok(DeliveryDirectives::default())
        );
        assert_eq!(
            DeliveryDirectives::parse("_HLS_part=1"),
            Err(HlsError::PartWithoutMsn)
        );
        for bad in [
            "_HLS_msn=-1",
            "_HLS_msn=+1",
            "_HLS_msn=1x",
            "_HLS_msn=",
            "_HLS_msn=99999999999999999999999",
            "_HLS_msn=1&_HLS_part=a",
            "_HLS_skip=yes",
        ] {
            assert!(
                matches!(
                    DeliveryDirectives::parse(bad),
                    Err(HlsError::InvalidValue { .. })
                ),
                "{bad}"
            );
        }
    }
}
