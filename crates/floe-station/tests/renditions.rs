//! Renditions: titles reach every rendition at the same audio position (the unit that carries
//! the new track's first sample), whatever the codec, frame size, delay or rate.

use floe_media::{AudioBlock, Codec};
use floe_proto::frame::UnitKind;
use floe_station::autodj::{Output, TitleMark};
use floe_station::rendition::{Fanout, RenditionSpec, Step};

const RATE: u32 = 44_100;

fn spec(mount: &str, codec: Codec, kbps: u32) -> RenditionSpec {
    RenditionSpec {
        mount: mount.into(),
        codec,
        bitrate_kbps: kbps,
    }
}

#[test]
fn titles_land_at_the_same_audio_position_in_every_rendition() {
    #[allow(unused_mut)]
    let mut specs = vec![
        spec("/a.mp3", Codec::Mp3, 128),
        spec("/b.mp3", Codec::Mp3, 64),
        spec("/c.opus", Codec::Opus, 96),
        spec("/d.ogg", Codec::Vorbis, 128),
        spec("/e.flac", Codec::Flac, 0),
        spec("/f.wav", Codec::PcmS16Le, 0),
    ];
    #[cfg(feature = "fdk-aac")]
    {
        specs.push(spec("/g.aac", Codec::AacLc, 128));
        specs.push(spec("/h.aac", Codec::HeAac, 48));
    }
    let mut fanout = Fanout::new(&specs, RATE, 2).expect("fanout");
    let marks_at = [30_000u64, 100_003, 100_004 + 2048 * 20];
    let step = 2048usize;
    let mut steps: Vec<Vec<Step>> = vec![Vec::new(); specs.len()];
    let total = 6 * RATE as usize;
    let mut pos = 0usize;
    while pos < total {
        let samples = (pos..pos + step)
            .flat_map(|i| {
                let v = (i as f32 * 0.05).sin() * 0.3;
                [v, v]
            })
            .collect();
        let marks = marks_at
            .iter()
            .filter(|m| (pos as u64..(pos + step) as u64).contains(m))
            .map(|&frame| TitleMark {
                frame,
                song: format!("at {frame}"),
                artist: None,
                title: None,
            })
            .collect();
        let out = Output {
            block: AudioBlock::new(RATE, 2, samples),
            marks,
        };
        for (i, r) in fanout.push(&out).into_iter().enumerate() {
            steps[i].extend(r.expect("encode"));
        }
        pos += step;
    }
    let infos: Vec<_> = fanout.renditions().map(|r| r.info().clone()).collect();
    for (i, s) in steps.iter().enumerate() {
        let info = &infos[i];
        let delay_us = u64::from(info.delay) * 1_000_000 / u64::from(info.rate);
        let mut t = 0u64; // media time of the next unit, microseconds
        let mut placed = Vec::new();
        let mut pending: Option<String> = None;
        for st in s {
            match st {
                Step::Title(m) => pending = Some(m.song.clone()),
                Step::Units(units) => {
                    for u in units {
                        assert_eq!(u.kind, UnitKind::Sync);
                        if let Some(song) = pending.take() {
                            placed.push((song, t, u.duration_us));
                        }
                        t += u.duration_us;
                    }
                }
            }
        }
        assert_eq!(
            placed.len(),
            marks_at.len(),
            "{}: {placed:?}",
            specs[i].mount
        );
        for ((song, start, dur), want) in placed.iter().zip(marks_at) {
            let want_us = want * 1_000_000 / u64::from(RATE) + delay_us;
            assert!(
                *start <= want_us + 1 && want_us < start + dur + 1,
                "{}: {song} placed on the unit {start}..{} µs, its sample is at {want_us} µs",
                specs[i].mount,
                start + dur
            );
        }
        // The durations add up to the audio fed (less what the encoder still holds).
        let fed_us = pos as u64 * 1_000_000 / u64::from(RATE);
        assert!(
            t <= fed_us + delay_us + 1,
            "{}: {t} µs > {fed_us} µs fed",
            specs[i].mount
        );
        assert!(
            t + 1_200_000 > fed_us, // libvorbis holds up to ~1 s before it writes a page
            "{}: only {t} µs of {fed_us} µs out",
            specs[i].mount
        );
        println!(
            "{}: titles on units starting {:?} µs (samples at {:?} µs + delay {delay_us} µs)",
            specs[i].mount,
            placed.iter().map(|p| p.1).collect::<Vec<_>>(),
            marks_at
                .iter()
                .map(|m| m * 1_000_000 / u64::from(RATE))
                .collect::<Vec<_>>()
        );
    }
}
