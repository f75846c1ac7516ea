//! Playlists and manifests built from a [`Segmenter`]'s state as `floe_proto::hls` and
//! `floe_proto::dash` values and written by their writers: the LL-HLS media playlist over CMAF
//! (parts, preload hint, server control, delta updates, rendition reports, program date times,
//! titles as `EXT-X-DATERANGE`), the plain MPEG-TS playlist, master playlist variants, and the
//! dynamic DASH MPD over the same CMAF segments.
//!
//! Durations are written rounded down to 10 µs (`floe_proto::hls::decimal`: hls.js 1.7 reloads
//! one part forever when they are rounded up). Pure: state and times in, text out. URIs are
//! relative to the playlist (`s12.m4s`, `p12.3.m4s`, `init0.mp4`, `s12.ts`).

use crate::segmenter::{OpenSegment, Part, Segment, Segmenter, TitleMark};
use floe_proto::dash::{self, Mpd, MpdKind, Representation, SegmentAddressing};
use floe_proto::hls::{
    DateRange, MediaPlaylist, PartEntry, PendingSegment, PreloadHint, RenditionReport,
    SegmentEntry, ServerControl, Variant,
};

/// `EXT-X-VERSION` of the CMAF playlist: 9, as it offers delta updates (`EXT-X-SKIP`).
pub const CMAF_VERSION: u8 = 9;
/// The `CLASS` of title date ranges.
pub const TITLE_CLASS: &str = "com.floe.title";

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

fn unix_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn title_range(t: &TitleMark) -> DateRange {
    DateRange {
        id: format!("title-{}", t.id),
        class: Some(TITLE_CLASS.into()),
        start_ms: unix_ms(t.pdt_ms),
        duration: None,
        end_on_next: true,
        attributes: vec![("TITLE".into(), t.title.clone())],
    }
}

fn part_entries(msn: u64, parts: &[Part], timescale: u32) -> Vec<PartEntry> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            PartEntry::independent(
                format!("p{msn}.{i}.m4s"),
                p.duration as f64 / f64::from(timescale),
            )
        })
        .collect()
}

/// `EXT-X-MAP` where the init segment changes (and on the first segment listed).
fn map_change(map: &mut Option<u32>, id: u32) -> Option<String> {
    (*map != Some(id)).then(|| {
        *map = Some(id);
        format!("init{id}.mp4")
    })
}

/// How many of the oldest segments a delta update leaves out: those further than
/// `CAN-SKIP-UNTIL` from the live edge.
fn skippable(s: &Segmenter) -> usize {
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
    s.segments().len() - keep
}

fn pending(open: &OpenSegment, map: &mut Option<u32>) -> PendingSegment {
    PendingSegment {
        discontinuity: open.discontinuity,
        map_uri: map_change(map, open.init.id),
        program_date_time: (!open.parts.is_empty()).then(|| unix_ms(open.pdt_ms)),
        parts: part_entries(open.msn, &open.parts, open.init.track.config.timescale),
    }
}

/// The LL-HLS media playlist over CMAF; `skip` asks for a delta update (`_HLS_skip`). `None`
/// until the first segment or part exists. Titles are date ranges of every segment in the
/// window (a delta update keeps them: Floe does not offer `CAN-SKIP-DATERANGES`).
pub fn media_playlist(
    s: &Segmenter,
    skip: bool,
    reports: &[RenditionReport],
) -> Option<MediaPlaylist> {
    s.init()?;
    let open = s.open();
    if s.segments().is_empty() && open.is_none_or(|o| o.parts.is_empty()) {
        return None;
    }
    let skipped = if skip { skippable(s) } else { 0 };
    let mut map = None;
    let segments = s
        .segments()
        .iter()
        .skip(skipped)
        .map(|seg| SegmentEntry {
            program_date_time: Some(unix_ms(seg.pdt_ms)),
            discontinuity: seg.discontinuity,
            parts: part_entries(seg.msn, &seg.parts, seg.init.track.config.timescale),
            map_uri: map_change(&mut map, seg.init.id),
            ..SegmentEntry::new(format!("s{}.m4s", seg.msn), seg.seconds())
        })
        .collect();
    let (hint_msn, hint_part) = open.map_or((s.next_msn(), 0), |o| (o.msn, o.parts.len()));
    Some(MediaPlaylist {
        version: CMAF_VERSION,
        target_duration: target_duration(s),
        media_sequence: s.segments().front().map_or_else(|| s.next_msn(), |x| x.msn),
        discontinuity_sequence: s.discontinuity_sequence(),
        part_target: Some(s.settings().part_duration),
        server_control: Some(ServerControl {
            can_block_reload: true,
            part_hold_back: Some(part_hold_back(s)),
            hold_back: None,
            can_skip_until: Some(can_skip_until(s) as f64),
            can_skip_dateranges: false,
        }),
        dateranges: s
            .segments()
            .iter()
            .flat_map(|seg| &seg.titles)
            .chain(open.iter().flat_map(|o| &o.titles))
            .map(title_range)
            .collect(),
        skipped_segments: skipped as u64,
        segments,
        pending: open.map(|o| pending(o, &mut map)),
        preload_hint: Some(PreloadHint {
            map: false,
            uri: format!("p{hint_msn}.{hint_part}.m4s"),
            byterange_start: None,
            byterange_length: None,
        }),
        rendition_reports: reports.to_vec(),
        ..MediaPlaylist::default()
    })
}

/// The MPEG-TS media playlist (no parts: for clients without fMP4 or LL-HLS). `None` when the
/// track has no TS form or no segment exists yet.
pub fn ts_playlist(s: &Segmenter) -> Option<MediaPlaylist> {
    let segs: Vec<&Segment> = s.segments().iter().filter(|x| x.ts.is_some()).collect();
    let first = segs.first()?;
    let mut prev: Option<u64> = None;
    let segments = segs
        .iter()
        .map(|seg| {
            let gap = prev.is_some_and(|p| p + 1 != seg.msn);
            prev = Some(seg.msn);
            SegmentEntry {
                program_date_time: Some(unix_ms(seg.pdt_ms)),
                discontinuity: seg.discontinuity || gap,
                ..SegmentEntry::new(format!("s{}.ts", seg.msn), seg.seconds())
            }
        })
        .collect();
    Some(MediaPlaylist {
        version: 3,
        target_duration: target_duration(s),
        media_sequence: first.msn,
        discontinuity_sequence: s.discontinuity_sequence(),
        segments,
        ..MediaPlaylist::default()
    })
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

/// The master playlist variant for a segmenter's stream at `uri`: its measured bandwidth and
/// codecs. `None` before the first segment.
pub fn variant(s: &Segmenter, uri: String) -> Option<Variant> {
    let init = s.init()?;
    let (bandwidth, average_bandwidth) = bandwidth(s)?;
    Some(Variant {
        uri,
        bandwidth,
        average_bandwidth: Some(average_bandwidth),
        codecs: init.codecs.clone(),
        name: None,
    })
}

/// The dynamic DASH MPD over the CMAF segments of the current init (one period, named after
/// the init: a new codec configuration starts the timeline over). `time_url` is the absolute
/// URL of the UTCTiming source; `now_ms` the publish time. `None` before the first segment.
/// Players are asked to stay three segments behind the live edge (less makes dash.js stall at
/// segment boundaries).
pub fn dash_manifest(s: &Segmenter, time_url: &str, now_ms: u64) -> Option<Mpd> {
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
    let (peak, _) = bandwidth(s).unwrap_or((128_000, 128_000));
    Some(Mpd {
        kind: MpdKind::Dynamic {
            availability_start_ms: unix_ms(ast_ms),
            publish_ms: unix_ms(now_ms),
            minimum_update_period: target,
            time_shift_buffer_depth: segs.iter().map(|x| x.seconds()).sum(),
            suggested_presentation_delay: 3.0 * target,
        },
        period_id: format!("p{}", init.id),
        min_buffer_time: target,
        lang: None,
        representations: vec![Representation {
            id: "audio".into(),
            codecs: init.codecs.clone(),
            bandwidth: peak,
            sample_rate: init.track.config.sample_rate,
            channels: init.track.config.channels,
            timescale,
            initialization: format!("init{}.mp4", init.id),
            media: "s$Number$.m4s".into(),
            start_number: segs[0].msn,
            presentation_time_offset: 0,
            addressing: SegmentAddressing::Timeline(dash::timeline_of(
                segs.iter().map(|x| (x.start, x.duration)),
            )),
        }],
        utc_timing_url: Some(time_url.into()),
    })
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
    fn the_ll_hls_playlist_byte_for_byte() {
        let mut s = segmenter(false);
        feed(&mut s, 100 + 60);
        s.set_title("A \"quoted\" title".into());
        feed(&mut s, 1);
        let text = media_playlist(
            &s,
            false,
            &[RenditionReport {
                uri: "../b.opus/index.m3u8".into(),
                last_msn: 1,
                last_part: Some(0),
            }],
        )
        .expect("playlist")
        .render();
        let expected = "#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=18,PART-HOLD-BACK=1.5
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-DATERANGE:ID=\"title-1\",CLASS=\"com.floe.title\",START-DATE=\"2025-11-24T16:00:03.200Z\",END-ON-NEXT=YES,X-TITLE=\"A 'quoted' title\"
#EXT-X-MAP:URI=\"init0.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.000Z
#EXT-X-PART:DURATION=0.5,URI=\"p0.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.1.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.2.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI=\"p0.3.m4s\",INDEPENDENT=YES
#EXTINF:2,
s0.m4s
#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:02.000Z
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
        s.set_title("Old".into());
        // 12 segments of 2 s; CAN-SKIP-UNTIL is 18 s: the newest 9 stay.
        feed(&mut s, 100 * 12);
        let full = media_playlist(&s, false, &[]).expect("playlist").render();
        let delta = media_playlist(&s, true, &[]).expect("playlist").render();
        assert!(!full.contains("EXT-X-SKIP"));
        assert!(
            delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"),
            "{delta}"
        );
        assert!(!delta.contains("\ns2.m4s\n"));
        assert!(delta.contains(
            "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXT-X-MAP:URI=\"init0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:06.000Z\n"
        ));
        // The title of a skipped segment stays (no CAN-SKIP-DATERANGES).
        assert!(delta.contains("X-TITLE=\"Old\""), "{delta}");
        assert_eq!(full.matches("#EXTINF").count(), 12);
        assert_eq!(delta.matches("#EXTINF").count(), 9);
        // At a segment boundary the hint is the next segment's first part.
        assert!(delta.ends_with("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p12.0.m4s\"\n"));
    }

    #[test]
    fn nothing_is_listed_before_the_first_part() {
        let mut s = segmenter(false);
        assert_eq!(media_playlist(&s, false, &[]), None);
        feed(&mut s, 3);
        assert_eq!(media_playlist(&s, false, &[]), None);
        assert_eq!(dash_manifest(&s, "http://h/api/v1/time", T0), None);
        assert_eq!(ts_playlist(&s), None);
    }

    #[test]
    fn the_dash_manifest_byte_for_byte() {
        let mut s = segmenter(false);
        feed(&mut s, 250);
        let mpd = dash_manifest(&s, "http://h:8000/api/v1/time", T0 + 5000)
            .expect("mpd")
            .render();
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"dynamic\" availabilityStartTime=\"2025-11-24T16:00:00.000Z\" publishTime=\"2025-11-24T16:00:05.000Z\" minimumUpdatePeriod=\"PT2S\" timeShiftBufferDepth=\"PT4S\" suggestedPresentationDelay=\"PT6S\" minBufferTime=\"PT2S\">
  <Period id=\"p0\" start=\"PT0S\">
    <AdaptationSet id=\"0\" contentType=\"audio\" mimeType=\"audio/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">
      <Representation id=\"audio\" codecs=\"opus\" bandwidth=\"6384\" audioSamplingRate=\"48000\">
        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"2\"/>
        <SegmentTemplate timescale=\"48000\" initialization=\"init0.mp4\" media=\"s$Number$.m4s\" startNumber=\"0\">
          <SegmentTimeline>
            <S t=\"0\" d=\"96000\" r=\"1\"/>
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
    fn the_ts_playlist_byte_for_byte() {
        let mut s = segmenter(false);
        feed(&mut s, 200);
        // An Opus track has no TS form.
        assert_eq!(ts_playlist(&s), None);
        // AAC at 48 kHz: 1024-sample frames, ADTS in TS.
        let mut s = Segmenter::new(SegmenterSettings {
            ts: true,
            ..s.settings().clone()
        });
        s.set_track(Track {
            config: TrackConfig {
                codec: AudioCodec::Aac {
                    audio_specific_config: vec![0x11, 0x90],
                },
                sample_rate: 48_000,
                channels: 2,
                timescale: 48_000,
            },
            ts: Some(floe_media::mux::ts::TsCodec::AdtsAac),
        })
        .expect("track");
        let adts = Bytes::from_static(&[0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x3F, 0xFC, 0x21]);
        for i in 0..200u64 {
            s.push(
                AccessUnit {
                    data: Bytes::from_static(&[0x21]),
                    ts_data: Some(adts.clone()),
                    duration: 1024,
                },
                T0 + i * 1024 * 1000 / 48_000,
            );
        }
        let text = ts_playlist(&s).expect("playlist").render();
        // Where the segmenter cut (at frame boundaries near 2 s), read back from its state.
        let durations: Vec<String> = s
            .segments()
            .iter()
            .map(|x| floe_proto::hls::decimal(x.seconds()))
            .collect();
        assert_eq!(durations.len(), 2, "{text}");
        assert_eq!(
            text,
            format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n\
                 #EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.000Z\n#EXTINF:{},\ns0.ts\n\
                 #EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{},\ns1.ts\n",
                durations[0],
                floe_proto::hls::date_time(unix_ms(s.segments()[1].pdt_ms)),
                durations[1]
            )
        );
    }

    #[test]
    fn a_variant_carries_bandwidth_and_codecs() {
        let mut s = segmenter(false);
        assert_eq!(variant(&s, "x".into()), None);
        feed(&mut s, 200);
        let (peak, avg) = bandwidth(&s).expect("segments");
        assert_eq!(peak, avg);
        let v = variant(&s, "/hls/a.opus/index.m3u8".into()).expect("variant");
        assert_eq!(
            v,
            Variant {
                uri: "/hls/a.opus/index.m3u8".into(),
                bandwidth: peak,
                average_bandwidth: Some(peak),
                codecs: "opus".into(),
                name: None,
            }
        );
    }
}
