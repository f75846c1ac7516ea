//! Playlists and manifests written from a [`Segmenter`]'s state: the LL-HLS media playlist over
//! CMAF (parts, preload hint, server control, delta updates, rendition reports, program date
//! times, titles as `EXT-X-DATERANGE`), the plain MPEG-TS playlist, master playlists, and the
//! dynamic DASH MPD over the same CMAF segments.
//!
//! Durations are written rounded down to 10 µs (`floe_proto::hls::decimal`: hls.js 1.7 reloads
//! one part forever when they are rounded up). Pure: state and times in, text out. URIs are relative to the playlist (`s12.m4s`,
//! `p12.3.m4s`, `init0.mp4`, `s12.ts`).

use crate::segmenter::{Segment, Segmenter};
use floe_proto::hls::decimal;
use std::fmt::Write;

/// `EXT-X-VERSION` of the CMAF playlist: 9 for `EXT-X-SKIP` (delta updates).
pub const CMAF_VERSION: u32 = 9;
/// The `CLASS` of title date ranges.
pub const TITLE_CLASS: &str = "com.floe.title";

/// What a media playlist request asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaRequest {
    /// `_HLS_skip=YES` (or `v2`): a delta update.
    pub skip: bool,
}

/// Another rendition of the same station, for `EXT-X-RENDITION-REPORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionReport {
    /// Its playlist, relative to this one (`../radio.opus/index.m3u8`).
    pub uri: String,
    /// Its last segment's media sequence number (partial or complete).
    pub last_msn: u64,
    /// Its last part's index.
    pub last_part: u32,
}

/// `EXT-X-TARGETDURATION`: the segment target plus one part, rounded (no segment is longer).
pub fn target_duration(s: &Segmenter) -> u64 {
    let st = s.settings();
    ((st.segment_duration + st.part_duration).round() as u64).max(1)
}

/// `PART-HOLD-BACK`: three part targets.
pub fn part_hold_back(s: &Segmenter) -> f64 {
    3.0 * s.settings().part_duration
}

/// `CAN-SKIP-UNTIL`: six target durations (the least the specification allows).
pub fn can_skip_until(s: &Segmenter) -> u64 {
    6 * target_duration(s)
}

/// A Unix time in milliseconds as ISO 8601 UTC with milliseconds (`2026-11-24T18:00:00.123Z`).
pub fn iso8601_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A quoted-string attribute value: `"` and line breaks cannot appear in one, so they become
/// `'` and spaces.
fn quoted(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\r' | '\n' => ' ',
            c => c,
        })
        .collect()
}

fn write_titles(out: &mut String, titles: &[crate::segmenter::TitleMark]) {
    for t in titles {
        let _ = writeln!(
            out,
            "#EXT-X-DATERANGE:ID=\"title-{}\",CLASS=\"{TITLE_CLASS}\",START-DATE=\"{}\",END-ON-NEXT=YES,X-TITLE=\"{}\"",
            t.id,
            iso8601_ms(t.pdt_ms),
            quoted(&t.title)
        );
    }
}

fn write_segment_tags(out: &mut String, seg: &Segment, map: &mut Option<u32>) {
    if seg.discontinuity {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    if *map != Some(seg.init.id) {
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"init{}.mp4\"", seg.init.id);
        *map = Some(seg.init.id);
    }
    let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_ms(seg.pdt_ms));
    write_titles(out, &seg.titles);
}

/// The LL-HLS media playlist over CMAF. `None` until the first segment or part exists.
pub fn media_playlist(
    s: &Segmenter,
    request: MediaRequest,
    reports: &[RenditionReport],
) -> Option<String> {
    let init = s.init()?;
    let open_parts = s.open().map_or(0, |o| o.parts.len());
    if s.segments().is_empty() && open_parts == 0 {
        return None;
    }
    let timescale = init.track.config.timescale;
    let target = target_duration(s);
    let mut out = String::with_capacity(256 + 160 * s.segments().len());
    out.push_str("#EXTM3U\n");
    let _ = writeln!(out, "#EXT-X-VERSION:{CMAF_VERSION}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    let _ = writeln!(
        out,
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={:.1},PART-HOLD-BACK={:.3}",
        can_skip_until(s) as f64,
        part_hold_back(s)
    );
    let _ = writeln!(
        out,
        "#EXT-X-PART-INF:PART-TARGET={:.3}",
        s.settings().part_duration
    );
    let first_msn = s.segments().front().map_or_else(|| s.next_msn(), |x| x.msn);
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first_msn}");
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        s.discontinuity_sequence()
    );
    // Delta update: skip the segments further than CAN-SKIP-UNTIL from the live edge.
    let mut skip = 0;
    if request.skip {
        let limit = can_skip_until(s) as f64;
        let mut from_end = 0.0;
        let mut keep = 0;
        for seg in s.segments().iter().rev() {
            from_end += seg.seconds();
            if from_end > limit {
                break;
            }
            keep += 1;
        }
        skip = s.segments().len() - keep;
        if skip > 0 {
            let _ = writeln!(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skip}");
        }
    }
    let mut map = None;
    for seg in s.segments().iter().skip(skip) {
        write_segment_tags(&mut out, seg, &mut map);
        for (i, p) in seg.parts.iter().enumerate() {
            let _ = writeln!(
                out,
                "#EXT-X-PART:DURATION={},URI=\"p{}.{i}.m4s\",INDEPENDENT=YES",
                decimal(p.duration as f64 / f64::from(timescale)),
                seg.msn
            );
        }
        let _ = writeln!(out, "#EXTINF:{},\ns{}.m4s", decimal(seg.seconds()), seg.msn);
    }
    let (hint_msn, hint_part) = match s.open() {
        Some(open) => {
            if open.discontinuity {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            if map != Some(open.init.id) {
                let _ = writeln!(out, "#EXT-X-MAP:URI=\"init{}.mp4\"", open.init.id);
            }
            if !open.parts.is_empty() {
                let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_ms(open.pdt_ms));
            }
            write_titles(&mut out, &open.titles);
            for (i, p) in open.parts.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "#EXT-X-PART:DURATION={},URI=\"p{}.{i}.m4s\",INDEPENDENT=YES",
                    decimal(p.duration as f64 / f64::from(open.init.track.config.timescale)),
                    open.msn
                );
            }
            (open.msn, open.parts.len())
        }
        None => (s.next_msn(), 0),
    };
    let _ = writeln!(
        out,
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p{hint_msn}.{hint_part}.m4s\""
    );
    for r in reports {
        let _ = writeln!(
            out,
            "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={},LAST-PART={}",
            quoted(&r.uri),
            r.last_msn,
            r.last_part
        );
    }
    Some(out)
}

/// The MPEG-TS media playlist (no parts: for clients without fMP4 or LL-HLS). `None` when the
/// track has no TS form or no segment exists yet.
pub fn ts_playlist(s: &Segmenter) -> Option<String> {
    let segs: Vec<&Segment> = s.segments().iter().filter(|x| x.ts.is_some()).collect();
    let first = segs.first()?;
    let mut out = String::with_capacity(128 + 96 * segs.len());
    out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", target_duration(s));
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.msn);
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        s.discontinuity_sequence()
    );
    let mut prev: Option<u64> = None;
    for seg in segs {
        if seg.discontinuity || prev.is_some_and(|p| p + 1 != seg.msn) {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        prev = Some(seg.msn);
        let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_ms(seg.pdt_ms));
        let _ = writeln!(out, "#EXTINF:{},\ns{}.ts", decimal(seg.seconds()), seg.msn);
    }
    Some(out)
}

/// One variant of a master playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its media playlist's URI.
    pub uri: String,
    /// Peak segment bit rate, bits per second.
    pub bandwidth: u64,
    /// Mean segment bit rate, bits per second.
    pub average_bandwidth: u64,
    /// RFC 6381 codecs.
    pub codecs: String,
}

/// Peak and mean bit rates (bits/s) of a segmenter's segments in the window; `None` before the
/// first segment.
pub fn bandwidth(s: &Segmenter) -> Option<(u64, u64)> {
    let mut peak = 0f64;
    let (mut bytes, mut secs) = (0usize, 0f64);
    for seg in s.segments() {
        let d = seg.seconds();
        if d <= 0.0 {
            continue;
        }
        peak = peak.max(seg.bytes.len() as f64 * 8.0 / d);
        bytes += seg.bytes.len();
        secs += d;
    }
    (secs > 0.0).then(|| {
        (
            peak.ceil() as u64,
            (bytes as f64 * 8.0 / secs).ceil() as u64,
        )
    })
}

/// A master playlist listing `variants`.
pub fn master_playlist(variants: &[Variant]) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        let _ = writeln!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"\n{}",
            v.bandwidth,
            v.average_bandwidth,
            quoted(&v.codecs),
            v.uri
        );
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The dynamic DASH MPD over the CMAF segments of the current init (one period; a new codec
/// configuration starts the timeline over). `time_url` is the absolute URL of the UTCTiming
/// source; `now_ms` the publish time. `None` before the first segment.
pub fn dash_manifest(s: &Segmenter, time_url: &str, now_ms: u64) -> Option<String> {
    let init = s.init()?;
    let segs: Vec<&Segment> = s
        .segments()
        .iter()
        .filter(|x| x.init.id == init.id)
        .collect();
    let last = segs.last()?;
    let timescale = init.track.config.timescale;
    // Decode time 0 on the wall clock, from the newest segment's program date time.
    let ast_ms = last
        .pdt_ms
        .saturating_sub(last.start * 1000 / u64::from(timescale));
    let target = s.settings().segment_duration;
    let window: f64 = segs.iter().map(|x| x.seconds()).sum();
    let (peak, _) = bandwidth(s).unwrap_or((128_000, 128_000));
    let mut out = String::with_capacity(1024 + 40 * segs.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"dynamic\" availabilityStartTime=\"{}\" publishTime=\"{}\" minimumUpdatePeriod=\"PT{target:.3}S\" minBufferTime=\"PT{target:.3}S\" timeShiftBufferDepth=\"PT{window:.3}S\" suggestedPresentationDelay=\"PT{:.3}S\">",
        iso8601_ms(ast_ms),
        iso8601_ms(now_ms),
        3.0 * target
    );
    let _ = writeln!(out, "  <Period id=\"p{}\" start=\"PT0S\">", init.id);
    let _ = writeln!(
        out,
        "    <AdaptationSet contentType=\"audio\" mimeType=\"audio/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">"
    );
    let _ = writeln!(
        out,
        "      <Representation id=\"audio\" codecs=\"{}\" bandwidth=\"{peak}\" audioSamplingRate=\"{}\">",
        xml_escape(&init.codecs),
        init.track.config.sample_rate
    );
    let _ = writeln!(
        out,
        "        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"{}\"/>",
        init.track.config.channels
    );
    let _ = writeln!(
        out,
        "        <SegmentTemplate timescale=\"{timescale}\" initialization=\"init{}.mp4\" media=\"s$Number$.m4s\" startNumber=\"{}\">",
        init.id, segs[0].msn
    );
    out.push_str("          <SegmentTimeline>\n");
    let mut expected: Option<u64> = None;
    for seg in &segs {
        if expected == Some(seg.start) {
            let _ = writeln!(out, "            <S d=\"{}\"/>", seg.duration);
        } else {
            let _ = writeln!(
                out,
                "            <S t=\"{}\" d=\"{}\"/>",
                seg.start, seg.duration
            );
        }
        expected = Some(seg.start + seg.duration);
    }
    out.push_str("          </SegmentTimeline>\n        </SegmentTemplate>\n      </Representation>\n    </AdaptationSet>\n  </Period>\n");
    let _ = writeln!(
        out,
        "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"{}\"/>",
        xml_escape(time_url)
    );
    out.push_str("</MPD>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AccessUnit, Track};
    use crate::segmenter::SegmenterSettings;
    use bytes::Bytes;
    use floe_media::mux::fmp4::{AudioCodec, TrackConfig};

    const T0: u64 = 1_764_000_000_000; // 2025-11-24T16:00:00.000Z

    fn segmenter(ts: bool) -> Segmenter {
        let mut s = Segmenter::new(SegmenterSettings {
            segment_duration: 2.0,
            part_duration: 0.5,
            window: 60.0,
            max_window_bytes: 1 << 20,
            ts,
        });
        s.set_track(Track {
            config: TrackConfig {
                codec: AudioCodec::Opus {
                    pre_skip: 312,
                    output_gain: 0,
                    channel_mapping_family: 0,
                    channel_mapping: None,
                },
                sample_rate: 48_000,
                channels: 2,
                timescale: 48_000,
            },
            ts: None,
        })
        .expect("track");
        s
    }

    /// 20 ms Opus packets: 25 per 0.5 s part, 100 per segment.
    fn feed(s: &mut Segmenter, n: u64) {
        for i in 0..n {
            s.push(
                AccessUnit {
                    data: Bytes::from_static(&[0xF8, 0xFF, 0xFE]),
                    ts_data: None,
                    duration: 960,
                },
                T0 + i * 20,
            );
        }
    }

    #[test]
    fn dates_are_iso8601_with_milliseconds() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(T0 + 123), "2025-11-24T16:00:00.123Z");
        assert_eq!(iso8601_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_ll_hls_playlist_byte_for_byte() {
        let mut s = segmenter(false);
        feed(&mut s, 100 + 60);
        s.set_title("A \"quoted\"\ntitle".into());
        feed(&mut s, 1);
        let text = media_playlist(
            &s,
            MediaRequest::default(),
            &[RenditionReport {
                uri: "../b.opus/index.m3u8".into(),
                last_msn: 1,
                last_part: 0,
            }],
        )
        .expect("playlist");
        let expected = "#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:3
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=18.0,PART-HOLD-BACK=1.500
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI=\"init0.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.000Z
#EXT-X-PART:DURATION=0.5,URI=\"p0.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.1.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.2.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.3.m4s\",INDEPENDENT=YES
#EXTINF:2,
s0.m4s
#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:02.000Z
#EXT-X-DATERANGE:ID=\"title-1\",CLASS=\"com.floe.title\",START-DATE=\"2025-11-24T16:00:03.200Z\",END-ON-NEXT=YES,X-TITLE=\"A 'quoted' title\"
#EXT-X-PART:DURATION=0.5,URI=\"p1.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p1.1.m4s\",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p1.2.m4s\"
#EXT-X-RENDITION-REPORT:URI=\"../b.opus/index.m3u8\",LAST-MSN=1,LAST-PART=0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_delta_update_skips_segments_older_than_can_skip_until() {
        let mut s = segmenter(false);
        // 12 segments of 2 s; CAN-SKIP-UNTIL is 18 s: the newest 9 stay.
        feed(&mut s, 100 * 12);
        let full = media_playlist(&s, MediaRequest::default(), &[]).expect("playlist");
        let delta = media_playlist(&s, MediaRequest { skip: true }, &[]).expect("playlist");
        assert!(!full.contains("EXT-X-SKIP"));
        assert!(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"));
        assert!(!delta.contains("\ns2.m4s\n"));
        assert!(delta.contains(
            "#EXT-X-MAP:URI=\"init0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:06.000Z\n"
        ));
        assert_eq!(full.matches("#EXTINF").count(), 12);
        assert_eq!(delta.matches("#EXTINF").count(), 9);
        // At a segment boundary the hint is the next segment's first part.
        assert!(delta.ends_with("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p12.0.m4s\"\n"));
    }

    #[test]
    fn nothing_is_listed_before_the_first_part() {
        let mut s = segmenter(false);
        assert_eq!(media_playlist(&s, MediaRequest::default(), &[]), None);
        feed(&mut s, 3);
        assert_eq!(media_playlist(&s, MediaRequest::default(), &[]), None);
        assert_eq!(dash_manifest(&s, "http://h/api/v1/time", T0), None);
        assert_eq!(ts_playlist(&s), None);
    }

    #[test]
    fn the_dash_manifest_byte_for_byte() {
        let mut s = segmenter(false);
        feed(&mut s, 250);
        let mpd = dash_manifest(&s, "http://h:8000/api/v1/time", T0 + 5000).expect("mpd");
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"dynamic\" availabilityStartTime=\"2025-11-24T16:00:00.000Z\" publishTime=\"2025-11-24T16:00:05.000Z\" minimumUpdatePeriod=\"PT2.000S\" minBufferTime=\"PT2.000S\" timeShiftBufferDepth=\"PT4.000S\" suggestedPresentationDelay=\"PT6.000S\">
  <Period id=\"p0\" start=\"PT0S\">
    <AdaptationSet contentType=\"audio\" mimeType=\"audio/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">
      <Representation id=\"audio\" codecs=\"opus\" bandwidth=\"6384\" audioSamplingRate=\"48000\">
        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"2\"/>
        <SegmentTemplate timescale=\"48000\" initialization=\"init0.mp4\" media=\"s$Number$.m4s\" startNumber=\"0\">
          <SegmentTimeline>
            <S t=\"0\" d=\"96000\"/>
            <S d=\"96000\"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"http://h:8000/api/v1/time\"/>
</MPD>
";
        assert_eq!(mpd, expected);
    }

    #[test]
    fn master_playlists_carry_bandwidth_and_codecs() {
        let mut s = segmenter(false);
        feed(&mut s, 200);
        let (peak, avg) = bandwidth(&s).expect("segments");
        assert_eq!(peak, avg);
        let m = master_playlist(&[Variant {
            uri: "/hls/a.opus/index.m3u8".into(),
            bandwidth: peak,
            average_bandwidth: avg,
            codecs: "opus".into(),
        }]);
        assert_eq!(
            m,
            format!("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={peak},CODECS=\"opus\"\n/hls/a.opus/index.m3u8\n")
        );
    }
}
