//! MPEG-DASH manifests (ISO/IEC 23009-1): a dynamic (live) or static (on-demand) MPD with one
//! audio adaptation set whose representations are a station's renditions, each addressed by a
//! `SegmentTemplate` (`$Number$` with a fixed duration, or a `SegmentTimeline`), profile
//! `urn:mpeg:dash:profile:isoff-live:2011`.
//!
//! A live MPD carries `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014">` pointing at
//! the server itself: dash.js's default time server is on the internet, and a player whose
//! clock is off requests segments that do not exist yet. Pure: times are passed in as Unix
//! milliseconds.

use std::fmt::Write as _;

use crate::hls::{date_time, decimal};
use crate::xml::escape;

/// The live profile.
pub const PROFILE_LIVE: &str = "urn:mpeg:dash:profile:isoff-live:2011";
/// The `UTCTiming` scheme whose URL answers with an ISO 8601 date-time.
pub const UTC_HTTP_ISO: &str = "urn:mpeg:dash:utc:http-iso:2014";
/// The scheme of `AudioChannelConfiguration` values that are channel counts.
pub const CHANNEL_CONFIGURATION_SCHEME: &str =
    "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";

/// Live or on-demand, with the timing attributes each needs.
#[derive(Debug, Clone, PartialEq)]
pub enum MpdKind {
    /// `type="dynamic"`: a live presentation.
    Dynamic {
        /// `availabilityStartTime`: the wall-clock time of media time 0 of the period
        /// (Unix milliseconds); segment `n` of a `$Number$` template is available at this plus
        /// its end time.
        availability_start_ms: i64,
        /// `publishTime`: when this MPD was generated (Unix milliseconds).
        publish_ms: i64,
        /// `minimumUpdatePeriod` in seconds: how often players re-fetch the MPD.
        minimum_update_period: f64,
        /// `timeShiftBufferDepth` in seconds: how far back (DVR) segments stay available.
        time_shift_buffer_depth: f64,
        /// `suggestedPresentationDelay` in seconds: how far behind the live edge players play.
        /// Use 2 to 3 segment durations; less makes dash.js stall at segment boundaries.
        suggested_presentation_delay: f64,
    },
    /// `type="static"`: on-demand.
    Static {
        /// `mediaPresentationDuration` in seconds.
        duration: f64,
    },
}

/// One `S` element of a `SegmentTimeline`: `r + 1` segments of duration `d` from time `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    /// `t`: the start in timescale units (needed on the first entry and after a gap).
    pub start: Option<u64>,
    /// `d`: the duration in timescale units.
    pub duration: u64,
    /// `r`: how many more segments of the same duration follow (0: just this one).
    pub repeat: u32,
}

/// How a representation's segments are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentAddressing {
    /// `$Number$` with a fixed `duration` (timescale units); segment `n` starts at
    /// `(n - start_number) * duration`.
    Duration {
        /// The nominal segment duration.
        duration: u64,
    },
    /// An explicit timeline of segment start times and durations (exact for audio frames that
    /// do not divide the segment duration).
    Timeline(Vec<TimelineEntry>),
}

/// One representation (a rendition) with its `SegmentTemplate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    /// `id` (unique in the MPD).
    pub id: String,
    /// RFC 6381 codecs, e.g. `mp4a.40.2` (as `floe_media::mux::fmp4::codecs_string` gives).
    pub codecs: String,
    /// `bandwidth` in bits per second.
    pub bandwidth: u64,
    /// `audioSamplingRate` in Hz.
    pub sample_rate: u32,
    /// The channel count (`AudioChannelConfiguration`).
    pub channels: u16,
    /// `timescale` of the template's times.
    pub timescale: u32,
    /// `initialization` URL (relative to the MPD).
    pub initialization: String,
    /// `media` URL template with `$Number$` (relative to the MPD).
    pub media: String,
    /// `startNumber`: the number of the first segment.
    pub start_number: u64,
    /// `presentationTimeOffset` in timescale units: the media time (`tfdt`) at the period
    /// start.
    pub presentation_time_offset: u64,
    /// Fixed duration or timeline.
    pub addressing: SegmentAddressing,
}

/// A manifest with one period and one audio adaptation set.
#[derive(Debug, Clone, PartialEq)]
pub struct Mpd {
    /// Live or on-demand.
    pub kind: MpdKind,
    /// The `id` of the one `Period`. A live stream whose codec configuration changes starts a
    /// new timeline under a new id, so players reset their buffers instead of mixing the two.
    pub period_id: String,
    /// `minBufferTime` in seconds (typically one segment duration).
    pub min_buffer_time: f64,
    /// The `lang` of the adaptation set (omitted when `None`).
    pub lang: Option<String>,
    /// The renditions, in order.
    pub representations: Vec<Representation>,
    /// The URL of Floe's time endpoint for `UTCTiming` (`urn:mpeg:dash:utc:http-iso:2014`: it
    /// answers with an ISO 8601 date-time).
    pub utc_timing_url: Option<String>,
}

impl Mpd {
    /// The MPD document (UTF-8 XML, two-space indentation, `\n` line ends).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(1024 + 512 * self.representations.len());
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = write!(
            out,
            "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"{PROFILE_LIVE}\""
        );
        match &self.kind {
            MpdKind::Dynamic {
                availability_start_ms,
                publish_ms,
                minimum_update_period,
                time_shift_buffer_depth,
                suggested_presentation_delay,
            } => {
                let _ = write!(
                    out,
                    " type=\"dynamic\" availabilityStartTime=\"{}\" publishTime=\"{}\" \
                     minimumUpdatePeriod=\"{}\" timeShiftBufferDepth=\"{}\" \
                     suggestedPresentationDelay=\"{}\"",
                    date_time(*availability_start_ms),
                    date_time(*publish_ms),
                    duration(*minimum_update_period),
                    duration(*time_shift_buffer_depth),
                    duration(*suggested_presentation_delay),
                );
            }
            MpdKind::Static { duration: d } => {
                let _ = write!(
                    out,
                    " type=\"static\" mediaPresentationDuration=\"{}\"",
                    duration(*d)
                );
            }
        }
        let _ = writeln!(
            out,
            " minBufferTime=\"{}\">",
            duration(self.min_buffer_time)
        );
        let _ = writeln!(
            out,
            "  <Period id=\"{}\" start=\"PT0S\">",
            escape(&self.period_id)
        );
        out.push_str(
            "    <AdaptationSet id=\"0\" contentType=\"audio\" mimeType=\"audio/mp4\" \
             segmentAlignment=\"true\" startWithSAP=\"1\"",
        );
        if let Some(lang) = &self.lang {
            let _ = write!(out, " lang=\"{}\"", escape(lang));
        }
        out.push_str(">\n");
        for r in &self.representations {
            let _ = writeln!(
                out,
                "      <Representation id=\"{}\" codecs=\"{}\" bandwidth=\"{}\" \
                 audioSamplingRate=\"{}\">",
                escape(&r.id),
                escape(&r.codecs),
                r.bandwidth,
                r.sample_rate
            );
            let _ = writeln!(
                out,
                "        <AudioChannelConfiguration schemeIdUri=\"{CHANNEL_CONFIGURATION_SCHEME}\" \
                 value=\"{}\"/>",
                r.channels
            );
            let _ = write!(
                out,
                "        <SegmentTemplate timescale=\"{}\" initialization=\"{}\" media=\"{}\" \
                 startNumber=\"{}\"",
                r.timescale,
                escape(&r.initialization),
                escape(&r.media),
                r.start_number
            );
            if r.presentation_time_offset > 0 {
                let _ = write!(
                    out,
                    " presentationTimeOffset=\"{}\"",
                    r.presentation_time_offset
                );
            }
            match &r.addressing {
                SegmentAddressing::Duration { duration } => {
                    let _ = writeln!(out, " duration=\"{duration}\"/>");
                }
                SegmentAddressing::Timeline(entries) => {
                    out.push_str(">\n          <SegmentTimeline>\n");
                    for e in entries {
                        out.push_str("            <S");
                        if let Some(t) = e.start {
                            let _ = write!(out, " t=\"{t}\"");
                        }
                        let _ = write!(out, " d=\"{}\"", e.duration);
                        if e.repeat > 0 {
                            let _ = write!(out, " r=\"{}\"", e.repeat);
                        }
                        out.push_str("/>\n");
                    }
                    out.push_str("          </SegmentTimeline>\n        </SegmentTemplate>\n");
                }
            }
            out.push_str("      </Representation>\n");
        }
        out.push_str("    </AdaptationSet>\n  </Period>\n");
        if let Some(url) = &self.utc_timing_url {
            let _ = writeln!(
                out,
                "  <UTCTiming schemeIdUri=\"{UTC_HTTP_ISO}\" value=\"{}\"/>",
                escape(url)
            );
        }
        out.push_str("</MPD>\n");
        out
    }
}

/// Run-length encodes back-to-back segment durations into timeline entries: the first entry
/// carries `start`, equal neighbours become one entry with `r`.
pub fn timeline(start: u64, durations: &[u64]) -> Vec<TimelineEntry> {
    let mut t = start;
    timeline_of(durations.iter().map(|&d| {
        let s = t;
        t = t.saturating_add(d);
        (s, d)
    }))
}

/// Run-length encodes `(start, duration)` segments (timescale units, in order) into timeline
/// entries: an entry carries `t` first and wherever a segment does not start where the previous
/// one ended (a gap or an overlap); equal back-to-back durations become one entry with `r`.
pub fn timeline_of(segments: impl IntoIterator<Item = (u64, u64)>) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = Vec::new();
    let mut expected: Option<u64> = None;
    for (start, d) in segments {
        let contiguous = expected == Some(start);
        match out.last_mut() {
            Some(last) if contiguous && last.duration == d && last.repeat < u32::MAX => {
                last.repeat += 1
            }
            _ => out.push(TimelineEntry {
                start: if contiguous { None } else { Some(start) },
                duration: d,
                repeat: 0,
            }),
        }
        expected = Some(start.saturating_add(d));
    }
    out
}

/// An `xs:duration` in seconds: `PT2S`, `PT1.5S`, `PT0S`; over a minute still in seconds
/// (`PT300S`), which every parser accepts.
pub fn duration(seconds: f64) -> String {
    format!("PT{}S", decimal(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn representation(addressing: SegmentAddressing) -> Representation {
        Representation {
            id: "aac".into(),
            codecs: "mp4a.40.2".into(),
            bandwidth: 131_000,
            sample_rate: 48_000,
            channels: 2,
            timescale: 48_000,
            initialization: "aac/init.mp4".into(),
            media: "aac/$Number$.m4s".into(),
            start_number: 5,
            presentation_time_offset: 0,
            addressing,
        }
    }

    #[test]
    fn dynamic_mpd_text() {
        let mut rep = representation(SegmentAddressing::Timeline(timeline(
            480_000,
            &[96_256, 95_232, 96_256, 96_256],
        )));
        rep.presentation_time_offset = 1000;
        let mpd = Mpd {
            period_id: "0".into(),
            kind: MpdKind::Dynamic {
                availability_start_ms: 1_764_000_000_000,
                publish_ms: 1_764_000_010_500,
                minimum_update_period: 2.0,
                time_shift_buffer_depth: 300.0,
                suggested_presentation_delay: 6.0,
            },
            min_buffer_time: 2.0,
            lang: None,
            representations: vec![rep],
            utc_timing_url: Some("http://127.0.0.1:8000/api/v1/time?a=1&b=2".into()),
        };
        assert_eq!(
            mpd.render(),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" availabilityStartTime="2025-11-24T16:00:00.000Z" publishTime="2025-11-24T16:00:10.500Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT300S" suggestedPresentationDelay="PT6S" minBufferTime="PT2S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="aac" codecs="mp4a.40.2" bandwidth="131000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" initialization="aac/init.mp4" media="aac/$Number$.m4s" startNumber="5" presentationTimeOffset="1000">
          <SegmentTimeline>
            <S t="480000" d="96256"/>
            <S d="95232"/>
            <S d="96256" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="http://127.0.0.1:8000/api/v1/time?a=1&amp;b=2"/>
</MPD>
"#
        );
    }

    #[test]
    fn static_mpd_text() {
        let mpd = Mpd {
            period_id: "p1".into(),
            kind: MpdKind::Static { duration: 245.5 },
            min_buffer_time: 4.0,
            lang: Some("en".into()),
            representations: vec![representation(SegmentAddressing::Duration {
                duration: 192_000,
            })],
            utc_timing_url: None,
        };
        let text = mpd.render();
        assert!(text.contains(
            " type=\"static\" mediaPresentationDuration=\"PT245.5S\" minBufferTime=\"PT4S\">\n"
        ));
        assert!(text.contains(" startWithSAP=\"1\" lang=\"en\">\n"));
        assert!(text.contains("\n  <Period id=\"p1\" start=\"PT0S\">\n"));
        assert!(text.contains(
            "<SegmentTemplate timescale=\"48000\" initialization=\"aac/init.mp4\" \
             media=\"aac/$Number$.m4s\" startNumber=\"5\" duration=\"192000\"/>\n"
        ));
        assert!(!text.contains("UTCTiming"));
        assert!(text.ends_with("  </Period>\n</MPD>\n"));
    }

    #[test]
    fn timeline_run_lengths() {
        assert_eq!(timeline(0, &[]), vec![]);
        assert_eq!(
            timeline(7, &[10, 10, 10, 9, 10]),
            vec![
                TimelineEntry {
                    start: Some(7),
                    duration: 10,
                    repeat: 2
                },
                TimelineEntry {
                    start: None,
                    duration: 9,
                    repeat: 0
                },
                TimelineEntry {
                    start: None,
                    duration: 10,
                    repeat: 0
                },
            ]
        );
        // After a gap (a source that left and came back) the entry names its start again.
        assert_eq!(
            timeline_of([(0, 10), (10, 10), (25, 10), (35, 10)]),
            vec![
                TimelineEntry {
                    start: Some(0),
                    duration: 10,
                    repeat: 1
                },
                TimelineEntry {
                    start: Some(25),
                    duration: 10,
                    repeat: 1
                },
            ]
        );
        assert_eq!(duration(0.0), "PT0S");
        assert_eq!(duration(1.5), "PT1.5S");
    }
}
