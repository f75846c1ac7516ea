//! Every encoder and muxer round-trips through symphonia (our decoder) and ffmpeg/ffprobe.
//!
//! Needs `ffmpeg` and `ffprobe` on PATH (Debian package `ffmpeg`); fails with a clear message
//! when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use floe_media::encode::{Codec, EncoderConfig};
use floe_media::stream::{Container, StreamEncoder};
use floe_media::{AudioBlock, Decoder};

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("floe-media-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn need_ffmpeg() {
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool)
            .arg("-version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "`{tool}` is not installed or not on PATH: install Debian's `ffmpeg` package (apt-get install ffmpeg)");
    }
}

/// A stereo test signal: a 440 Hz sine on the left, a 200→2000 Hz chirp on the right.
fn test_signal(rate: u32, seconds: f32) -> AudioBlock {
    let n = (rate as f32 * seconds) as usize;
    let mut s = Vec::with_capacity(n * 2);
    let mut phase = 0.0f64;
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let f = 200.0 + 1800.0 * t / f64::from(seconds);
        phase += f / f64::from(rate);
        s.push((0.4 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32);
        s.push((0.4 * (std::f64::consts::TAU * phase).sin()) as f32);
    }
    AudioBlock::new(rate, 2, s)
}

/// `ffmpeg -v error -i F -f null -` must print nothing.
fn ffmpeg_decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffmpeg errors for {}:\n{stderr}",
        path.display()
    );
}

fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}

fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
}

struct Case {
    codec: Codec,
    container: Container,
    rate: u32,
    channels: u16,
    kbps: u32,
    /// Tolerated difference between decoded and input length, in frames.
    slack: usize,
    /// Whether ffprobe's declared bitrate should be checked against `kbps` (CBR / nominal).
    check_bitrate: Option<f64>,
    profile: Option<&'static str>,
}

fn round_trip(case: Case) {
    need_ffmpeg();
    let input = test_signal(case.rate, 2.5);
    let input = input.remixed(case.channels);
    let tags = vec![
        ("TITLE".to_string(), "Round Trip".to_string()),
        ("ARTIST".to_string(), "Floe".to_string()),
    ];
    let config = EncoderConfig {
        codec: case.codec,
        rate: case.rate,
        channels: case.channels,
        bitrate_kbps: case.kbps,
    };
    let bytes = StreamEncoder::encode_file(config, case.container, &tags, &input).expect("encode");
    let name = format!(
        "rt-{}-{}-{}-{}.{}",
        case.codec.name(),
        case.rate,
        case.channels,
        case.kbps,
        case.container.extension(case.codec)
    );
    let path = tmp(&name);
    std::fs::write(&path, &bytes).expect("write");

    // symphonia: no bad packets, the right length and format, audible content.
    let dec = Decoder::open_path(&path).expect("symphonia opens");
    let (pcm, tags_read, bad) = dec.decode_all().expect("symphonia decodes");
    assert_eq!(bad, 0, "{name}: symphonia skipped packets");
    assert_eq!(
        usize::from(pcm.channels),
        usize::from(case.channels),
        "{name}: channels"
    );
    let decoded_rate = pcm.rate;
    if case.codec == Codec::HeAac {
        // symphonia decodes HE-AAC as its AAC-LC core at half the rate.
        assert!(
            decoded_rate == case.rate || decoded_rate == case.rate / 2,
            "{name}: rate {decoded_rate}"
        );
    } else {
        assert_eq!(decoded_rate, case.rate, "{name}: rate");
    }
    let expected = input.frames() as f64 * f64::from(decoded_rate) / f64::from(case.rate);
    let got = pcm.frames() as f64;
    let slack = case.slack as f64 * f64::from(decoded_rate) / f64::from(case.rate);
    assert!(
        (got - expected).abs() <= slack,
        "{name}: decoded {got} frames, expected {expected} ± {slack}"
    );
    let rms = (pcm
        .samples
        .iter()
        .map(|s| f64::from(*s).powi(2))
        .sum::<f64>()
        / pcm.samples.len() as f64)
        .sqrt();
    assert!(rms > 0.1, "{name}: decoded audio is too quiet (rms {rms})");
    if matches!(case.container, Container::Ogg | Container::Flac) && case.codec != Codec::Vorbis {
        assert_eq!(
            tags_read.display_title().as_deref(),
            Some("Floe - Round Trip"),
            "{name}: tags"
        );
    }

    // ffmpeg decodes without a word; ffprobe declares what we meant.
    ffmpeg_decodes_cleanly(&path);
    let probe = ffprobe(&path);
    let stream = &probe["streams"][0];
    assert_eq!(
        stream["codec_name"],
        case.codec.ffmpeg_name(),
        "{name}: codec {stream}"
    );
    assert_eq!(
        num(&stream["sample_rate"]),
        Some(f64::from(case.rate)),
        "{name}: rate {stream}"
    );
    assert_eq!(
        stream["channels"].as_u64(),
        Some(u64::from(case.channels)),
        "{name}: channels {stream}"
    );
    if let Some(profile) = case.profile {
        assert_eq!(stream["profile"], profile, "{name}: profile {stream}");
    }
    if let Some(tolerance) = case.check_bitrate {
        let declared = num(&stream["bit_rate"])
            .or_else(|| num(&probe["format"]["bit_rate"]))
            .expect("a bit_rate");
        let want = f64::from(case.kbps) * 1000.0;
        assert!(
            (declared - want).abs() <= want * tolerance,
            "{name}: bit_rate {declared}, wanted {want} ± {tolerance}"
        );
    }
}

#[test]
fn mp3_cbr_44100_stereo() {
    // LAME delay + padding: up to ~1105 + 1152 frames of extra audio (no gapless tag).
    round_trip(Case {
        codec: Codec::Mp3,
        container: Container::Mp3,
        rate: 44_100,
        channels: 2,
        kbps: 128,
        slack: 2 * 1152 + 1105,
        check_bitrate: Some(0.01),
        profile: None,
    });
}

#[test]
fn mp3_cbr_48000_mono() {
    round_trip(Case {
        codec: Codec::Mp3,
        container: Container::Mp3,
        rate: 48_000,
        channels: 1,
        kbps: 64,
        slack: 2 * 1152 + 1105,
        check_bitrate: Some(0.01),
        profile: None,
    });
}

#[test]
fn opus_ogg_stereo() {
    // Ogg Opus trims pre-skip and end padding: exact length.
    round_trip(Case {
        codec: Codec::Opus,
        container: Container::Ogg,
        rate: 48_000,
        channels: 2,
        kbps: 96,
        slack: 0,
        check_bitrate: Some(0.35),
        profile: None,
    });
}

#[test]
fn opus_ogg_mono() {
    round_trip(Case {
        codec: Codec::Opus,
        container: Container::Ogg,
        rate: 48_000,
        channels: 1,
        kbps: 48,
        slack: 0,
        check_bitrate: Some(0.4),
        profile: None,
    });
}

#[test]
fn vorbis_ogg() {
    round_trip(Case {
        codec: Codec::Vorbis,
        container: Container::Ogg,
        rate: 44_100,
        channels: 2,
        kbps: 128,
        slack: 0,
        check_bitrate: Some(0.01),
        profile: None,
    });
}

#[test]
fn flac_native() {
    round_trip(Case {
        codec: Codec::Flac,
        container: Container::Flac,
        rate: 44_100,
        channels: 2,
        kbps: 0,
        slack: 0,
        check_bitrate: None,
        profile: None,
    });
}

#[test]
fn flac_in_ogg() {
    round_trip(Case {
        codec: Codec::Flac,
        container: Container::Ogg,
        rate: 48_000,
        channels: 2,
        kbps: 0,
        slack: 0,
        check_bitrate: None,
        profile: None,
    });
}

#[test]
fn pcm_wav() {
    round_trip(Case {
        codec: Codec::PcmS16Le,
        container: Container::Wav,
        rate: 44_100,
        channels: 2,
        kbps: 1411,
        slack: 0,
        check_bitrate: Some(0.001),
        profile: None,
    });
}

#[cfg(feature = "fdk-aac")]
#[test]
fn aac_lc_adts() {
    // No gapless info in ADTS: the encoder delay (~2048) plus flush padding come out as audio.
    round_trip(Case {
        codec: Codec::AacLc,
        container: Container::Adts,
        rate: 44_100,
        channels: 2,
        kbps: 128,
        slack: 3 * 1024 + 2048,
        check_bitrate: Some(0.05),
        profile: Some("LC"),
    });
}

#[cfg(feature = "fdk-aac")]
#[test]
fn he_aac_adts() {
    round_trip(Case {
        codec: Codec::HeAac,
        container: Container::Adts,
        rate: 48_000,
        channels: 2,
        kbps: 48,
        slack: 3 * 2048 + 4096,
        check_bitrate: Some(0.05),
        profile: Some("HE-AAC"),
    });
}

/// The live shape: a streaming WAV (sizes 0xFFFFFFFF) also decodes everywhere.
#[test]
fn streaming_wav_decodes() {
    need_ffmpeg();
    let input = test_signal(48_000, 1.0);
    let config = EncoderConfig {
        codec: Codec::PcmS16Le,
        rate: 48_000,
        channels: 2,
        bitrate_kbps: 0,
    };
    let mut s = StreamEncoder::new(config, 48_000, &[]).expect("encoder");
    let mut bytes: Vec<u8> = s.header().concat();
    for c in s.encode(&input).expect("encode") {
        bytes.extend_from_slice(&c);
    }
    let path = tmp("streaming.wav");
    std::fs::write(&path, &bytes).expect("write");
    ffmpeg_decodes_cleanly(&path);
    let (pcm, _, _) = Decoder::open_path(&path)
        .expect("open")
        .decode_all()
        .expect("decode");
    assert_eq!(pcm.frames(), input.frames());
}

/// The demo station's renditions: synthesised music as MP3 and Opus, decoded by both decoders.
#[test]
fn demo_music_renditions_decode() {
    need_ffmpeg();
    let piece = &floe_media::synth::pieces()[0];
    let music = piece.render_seconds(48_000, 4.0);
    let tags = vec![
        ("TITLE".to_string(), piece.title.to_string()),
        ("ARTIST".to_string(), piece.artist.to_string()),
    ];
    for (codec, kbps) in [(Codec::Mp3, 128), (Codec::Opus, 96)] {
        let config = EncoderConfig {
            codec,
            rate: 48_000,
            channels: 2,
            bitrate_kbps: kbps,
        };
        let bytes =
            StreamEncoder::encode_file(config, Container::default_for(codec), &tags, &music)
                .expect("encode");
        let path = tmp(&format!(
            "demo.{}",
            Container::default_for(codec).extension(codec)
        ));
        std::fs::write(&path, &bytes).expect("write");
        ffmpeg_decodes_cleanly(&path);
        let (pcm, read_tags, bad) = Decoder::open_path(&path)
            .expect("open")
            .decode_all()
            .expect("decode");
        assert_eq!(bad, 0);
        assert!(pcm.frames() >= music.frames());
        if codec == Codec::Opus {
            assert_eq!(
                read_tags.display_title().as_deref(),
                Some("Floe Demo - Morning Tide")
            );
        }
    }
}
