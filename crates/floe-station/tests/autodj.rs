//! The auto-DJ on generated files: gapless joins measured sample by sample, the equal-power
//! crossfade checked against its formula, loudness measured against the target, bad files
//! skipped.

use floe_media::encode::EncoderConfig;
use floe_media::loudness::integrated_lufs;
use floe_media::mix::equal_power_gains;
use floe_media::stream::{Container, StreamEncoder};
use floe_media::{AudioBlock, Codec, Decoder};
use floe_station::autodj::{AutoDj, AutoDjSettings, Music};
use floe_station::config::Order;
use floe_station::playlist::Playlist;
use floe_station::track::{GainSource, OpenTrack, PcmFormat, TrackRef};
use std::path::{Path, PathBuf};

const RATE: u32 = 44_100;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("floe-station-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A stereo signal: a sum of sines (`(freq, amplitude)`), frames `start..start + frames`.
fn tones(rate: u32, parts: &[(f64, f64)], start: usize, frames: usize) -> AudioBlock {
    let samples = (start..start + frames)
        .flat_map(|i| {
            let t = i as f64 / f64::from(rate);
            let v: f64 = parts
                .iter()
                .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
                .sum();
            [v as f32, v as f32]
        })
        .collect();
    AudioBlock::new(rate, 2, samples)
}

fn write(path: &Path, pcm: &AudioBlock, tags: &[(&str, &str)]) {
    let (codec, container) = match path.extension().and_then(|e| e.to_str()) {
        Some("flac") => (Codec::Flac, Container::Flac),
        Some("wav") => (Codec::PcmS16Le, Container::Wav),
        Some("mp3") => (Codec::Mp3, Container::Mp3),
        other => panic!("no writer for {other:?}"),
    };
    let tags: Vec<(String, String)> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cfg = EncoderConfig {
        codec,
        rate: pcm.rate,
        channels: pcm.channels,
        bitrate_kbps: 128,
    };
    let bytes = StreamEncoder::encode_file(cfg, container, &tags, pcm).expect("encode");
    std::fs::write(path, bytes).expect("write");
}

fn settings(crossfade_frames: usize, loudness_target: Option<f64>) -> AutoDjSettings {
    AutoDjSettings {
        station: "test".into(),
        format: PcmFormat {
            rate: RATE,
            channels: 2,
        },
        crossfade_frames,
        loudness_target,
        jingle_every: 0,
        play_log: None,
        silence_until_ready: false,
    }
}

fn dj(dir: &Path, s: AutoDjSettings) -> AutoDj {
    AutoDj::new(
        s,
        Music::Playlist(Box::new(Playlist::new(dir, Order::Sequential, Some(1)))),
        None,
    )
}

/// Pulls `frames` frames in steps of an awkward size; returns the audio and the marks.
fn pull(dj: &mut AutoDj, frames: usize) -> (AudioBlock, Vec<(u64, String)>) {
    let mut all = AudioBlock::empty(RATE, 2);
    let mut marks = Vec::new();
    while all.frames() < frames {
        let out = dj.next(1000.min(frames - all.frames()));
        marks.extend(out.marks.into_iter().map(|m| (m.frame, m.song)));
        all.append(&out.block);
    }
    (all, marks)
}

fn slice(b: &AudioBlock, from: usize, to: usize) -> AudioBlock {
    let ch = usize::from(b.channels);
    AudioBlock::new(b.rate, b.channels, b.samples[from * ch..to * ch].to_vec())
}

fn decode(path: &Path) -> AudioBlock {
    Decoder::open_path(path)
        .expect("open")
        .decode_all()
        .expect("decode")
        .0
}

#[test]
fn gapless_a_continuous_signal_split_across_files_comes_out_continuous() {
    let dir = scratch("gapless");
    let parts = [(441.0, 0.4), (1234.5, 0.1)];
    let cuts = [0, 48_511, 79_000, 132_300];
    let names = ["01 first.wav", "02 second.flac", "03 third.wav"];
    for (i, name) in names.iter().enumerate() {
        let block = tones(RATE, &parts, cuts[i], cuts[i + 1] - cuts[i]);
        write(&dir.join(name), &block, &[]);
    }
    let mut dj = dj(&dir, settings(0, None));
    let total = cuts[3];
    let (out, marks) = pull(&mut dj, total);
    assert_eq!(
        marks,
        vec![
            (0, "01 first".to_string()),
            (cuts[1] as u64, "02 second".to_string()),
            (cuts[2] as u64, "03 third".to_string()),
        ]
    );
    let reference = tones(RATE, &parts, 0, total);
    // 16-bit files: the only difference allowed is quantisation (scale 32767 vs 32768 included).
    let worst = out
        .samples
        .iter()
        .zip(&reference.samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "largest deviation from the signal: {worst}");
    // No discontinuity at the seams: each step is within the signal's largest slope.
    let left = out.channel(0);
    let max_step =
        (std::f64::consts::TAU * (441.0 * 0.4 + 1234.5 * 0.1) / f64::from(RATE)) as f32 + 2e-4;
    for &c in &cuts[1..3] {
        for i in c - 3..c + 3 {
            let step = (left[i + 1] - left[i]).abs();
            assert!(
                step <= max_step,
                "jump of {step} at frame {i} (seam at {c})"
            );
        }
    }
    println!("gapless: {total} frames over 3 files, largest deviation {worst:.2e}");
}

#[test]
fn crossfade_is_equal_power_and_overlaps_by_its_length() {
    let dir = scratch("crossfade");
    let a = tones(RATE, &[(440.0, 0.5)], 0, 2 * RATE as usize);
    let b = tones(RATE, &[(660.0, 0.5)], 0, 3 * RATE as usize);
    write(&dir.join("a.wav"), &a, &[]);
    write(&dir.join("b.wav"), &b, &[]);
    let (a, b) = (decode(&dir.join("a.wav")), decode(&dir.join("b.wav")));
    let fade = RATE as usize; // 1 s
    let mut dj = dj(&dir, settings(fade, None));
    let (out, marks) = pull(&mut dj, 3 * RATE as usize);
    // B's title at the start of the fade: 2 s - 1 s.
    assert_eq!(marks[1], (RATE as u64, "b".to_string()));
    let start = a.frames() - fade;
    let (la, lb, lo) = (a.channel(0), b.channel(0), out.channel(0));
    assert_eq!(&lo[..start], &la[..start]);
    for i in 0..fade {
        let (go, gi) = equal_power_gains(i as f32 / fade as f32);
        let want = la[start + i] * go + lb[i] * gi;
        assert!((lo[start + i] - want).abs() < 1e-6, "frame {i}");
    }
    assert_eq!(
        &lo[start + fade..3 * RATE as usize],
        &lb[fade..2 * RATE as usize]
    );
    // (B's own fade into the next track starts 1 s before its end, at 3 s of output.)
    // Equal power: two uncorrelated tones of equal level keep the level through the fade.
    let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
    let before = rms(&lo[start - 4410..start]);
    let mid = rms(&lo[start + fade / 2 - 2205..start + fade / 2 + 2205]);
    let db = 20.0 * (mid / before).log10();
    assert!(db.abs() < 0.5, "level at the fade's midpoint: {db:+.2} dB");
    println!("crossfade: midpoint level {db:+.2} dB relative to before the fade");
}

#[test]
fn loudness_is_normalised_to_the_target() {
    let dir = scratch("loudness");
    let chord = |a: f64| {
        [
            (220.0, a),
            (277.2, a * 0.8),
            (329.6, a * 0.6),
            (880.0, a * 0.3),
        ]
    };
    // Three tracks far apart in level, one at 48 kHz (resampled), one with ReplayGain tags.
    let levels = [0.03, 0.5, 0.12];
    write(
        &dir.join("1 quiet.wav"),
        &tones(RATE, &chord(levels[0]), 0, 3 * RATE as usize),
        &[],
    );
    write(
        &dir.join("2 loud.flac"),
        &tones(48_000, &chord(levels[1]), 0, 3 * 48_000),
        &[("ARTIST", "Loud"), ("TITLE", "Track")],
    );
    let mid = tones(RATE, &chord(levels[2]), 0, 3 * RATE as usize);
    let measured = integrated_lufs(&mid).expect("meter").expect("lufs");
    let rg = format!("{:.2} dB", -18.0 - measured);
    write(
        &dir.join("3 tagged.flac"),
        &mid,
        &[
            ("REPLAYGAIN_TRACK_GAIN", rg.as_str()),
            ("REPLAYGAIN_TRACK_PEAK", "0.5"),
        ],
    );
    let target = -16.0;
    let tagged = OpenTrack::open(
        TrackRef::File(dir.join("3 tagged.flac")),
        PcmFormat {
            rate: RATE,
            channels: 2,
        },
        Some(target),
    )
    .expect("open");
    assert_eq!(tagged.gain_source, GainSource::ReplayGain);
    let mut dj = dj(&dir, settings(0, Some(target)));
    let (out, marks) = pull(&mut dj, 9 * RATE as usize);
    assert_eq!(marks[1].1, "Loud - Track");
    let mut report = Vec::new();
    for i in 0..3 {
        let part = slice(&out, i * 3 * RATE as usize, (i + 1) * 3 * RATE as usize);
        let l = integrated_lufs(&part).expect("meter").expect("lufs");
        report.push(l);
        assert!((l - target).abs() < 1.0, "track {i}: {l:.2} LUFS");
    }
    let whole = integrated_lufs(&out).expect("meter").expect("lufs");
    assert!((whole - target).abs() < 1.0, "whole: {whole:.2} LUFS");
    println!(
        "loudness: tracks {:.2} / {:.2} / {:.2} LUFS, whole {whole:.2} LUFS (target {target})",
        report[0], report[1], report[2]
    );
}

#[test]
fn bad_files_are_skipped_and_an_all_bad_folder_plays_silence() {
    let dir = scratch("bad");
    write(
        &dir.join("a.wav"),
        &tones(RATE, &[(440.0, 0.3)], 0, RATE as usize),
        &[],
    );
    std::fs::write(
        dir.join("b.mp3"),
        b"this is not an mp3 file at all, just text",
    )
    .expect("write");
    std::fs::write(dir.join("c.flac"), []).expect("write");
    write(
        &dir.join("d.wav"),
        &tones(RATE, &[(550.0, 0.3)], 0, RATE as usize),
        &[],
    );
    let mut dj = dj(&dir, settings(0, None));
    let (out, marks) = pull(&mut dj, 2 * RATE as usize);
    assert_eq!(
        marks,
        vec![(0, "a".to_string()), (u64::from(RATE), "d".to_string())]
    );
    assert!(out.channel(0)[RATE as usize..]
        .iter()
        .any(|s| s.abs() > 0.2));

    let bad = scratch("all-bad");
    std::fs::write(bad.join("x.mp3"), b"junk junk junk").expect("write");
    let mut dj = self::dj(&bad, settings(0, None));
    let t = std::time::Instant::now();
    let (out, marks) = pull(&mut dj, 5 * RATE as usize);
    assert!(marks.is_empty());
    assert!(out.samples.iter().all(|s| *s == 0.0));
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_jingle_every_n_tracks_and_a_play_log() {
    let dir = scratch("jingles-music");
    let jingles = scratch("jingles-jingles");
    for (i, name) in ["a.wav", "b.wav", "c.wav"].iter().enumerate() {
        let f = 300.0 + 100.0 * i as f64;
        write(&dir.join(name), &tones(RATE, &[(f, 0.3)], 0, 4410), &[]);
    }
    write(
        &jingles.join("ident.flac"),
        &tones(RATE, &[(1000.0, 0.3)], 0, 2205),
        &[("ARTIST", "Floe"), ("TITLE", "Station ID")],
    );
    let log = dir.join("plays.log");
    let mut s = settings(0, None);
    s.jingle_every = 2;
    s.play_log = Some(log.clone());
    let mut dj = AutoDj::new(
        s,
        Music::Playlist(Box::new(Playlist::new(&dir, Order::Sequential, Some(1)))),
        Some(Music::Playlist(Box::new(Playlist::new(
            &jingles,
            Order::Shuffle,
            Some(1),
        )))),
    );
    let (_, marks) = pull(&mut dj, 6 * 4410 + 2 * 2205);
    let songs: Vec<&str> = marks.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        songs,
        [
            "a",
            "b",
            "Floe - Station ID",
            "c",
            "a",
            "Floe - Station ID",
            "b",
            "c"
        ]
    );
    let text = std::fs::read_to_string(&log).expect("play log");
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(text
        .lines()
        .nth(2)
        .is_some_and(|l| l.contains("\tFloe - Station ID\t")));
}
