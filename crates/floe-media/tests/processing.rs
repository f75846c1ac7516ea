//! Decoder robustness, resampling, loudness and tag handling.

use std::path::{Path, PathBuf};

use floe_media::encode::{Codec, EncoderConfig};
use floe_media::loudness::{integrated_lufs, normalise};
use floe_media::mux::flac::flac_stream_header;
use floe_media::stream::{Container, StreamEncoder};
use floe_media::{AudioBlock, Decoder, Resampler};

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("floe-media-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn sine(rate: u32, channels: u16, freq: f64, amp: f64, seconds: f64) -> AudioBlock {
    let n = (f64::from(rate) * seconds) as usize;
    let s = (0..n)
        .flat_map(|i| {
            let v =
                (amp * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as f32;
            std::iter::repeat_n(v, usize::from(channels))
        })
        .collect();
    AudioBlock::new(rate, channels, s)
}

fn encoded(codec: Codec, container: Container, rate: u32) -> Vec<u8> {
    let pcm = sine(rate, 2, 440.0, 0.5, 3.0);
    let config = EncoderConfig {
        codec,
        rate,
        channels: 2,
        bitrate_kbps: 128,
    };
    StreamEncoder::encode_file(config, container, &[], &pcm).expect("encode")
}

/// Decodes everything; returns (frames, bad packets) or the error. Must never panic.
fn decode(bytes: Vec<u8>, ext: &str) -> Result<(usize, u64), floe_media::DecodeError> {
    let dec = Decoder::open_bytes(bytes, Some(ext))?;
    let (pcm, _, bad) = dec.decode_all()?;
    Ok((pcm.frames(), bad))
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let cases = [
        (Codec::Mp3, Container::Mp3, 44_100, "mp3"),
        (Codec::Opus, Container::Ogg, 48_000, "opus"),
        (Codec::Vorbis, Container::Ogg, 44_100, "ogg"),
        (Codec::Flac, Container::Flac, 44_100, "flac"),
        (Codec::PcmS16Le, Container::Wav, 44_100, "wav"),
    ];
    for (codec, container, rate, ext) in cases {
        let good = encoded(codec, container, rate);
        let (full, bad) = decode(good.clone(), ext).expect("intact file decodes");
        assert_eq!(bad, 0, "{ext}: intact file has bad packets");

        // Truncated at 60 %: decodes what is there, or says why.
        let cut = good[..good.len() * 6 / 10].to_vec();
        match decode(cut, ext) {
            Ok((frames, _)) => assert!(
                frames < full,
                "{ext}: truncated file decoded to full length"
            ),
            Err(e) => assert!(!e.to_string().is_empty()),
        }

        // Corrupted: 2 KiB of noise in the middle. Either an error or counted bad packets /
        // garbage audio, never a panic.
        let mut bad_bytes = good.clone();
        let mid = bad_bytes.len() / 2;
        let mut x = 0x9E37_79B9u32;
        for b in &mut bad_bytes[mid..(mid + 2048).min(good.len())] {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let _ = decode(bad_bytes, ext);

        // Many random byte flips all over, and every short prefix: still no panic.
        let mut flipped = good.clone();
        for i in (0..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5A;
        }
        let _ = decode(flipped, ext);
        for len in [0, 1, 4, 12, 27, 44, 100, 512] {
            let _ = decode(good[..len.min(good.len())].to_vec(), ext);
        }
    }
}

#[test]
fn corrupt_mp3_frames_are_counted_and_skipped() {
    let good = encoded(Codec::Mp3, Container::Mp3, 44_100);
    let (full, _) = decode(good.clone(), "mp3").expect("decode");
    // Damage the main data of a few frames but keep their headers: the decoder must skip or
    // conceal them and carry on to the end.
    let mut damaged = good.clone();
    let frame = 417; // 128 kbit/s at 44.1 kHz
    for k in [20usize, 40, 60] {
        let start = k * frame + 40;
        for b in &mut damaged[start..start + 300] {
            *b = 0xFF;
        }
    }
    let (frames, bad) = decode(damaged, "mp3").expect("decoding continues");
    assert!(bad > 0, "damaged frames were not counted");
    // Each damaged frame (and a neighbour whose bit reservoir it fed) may be lost, no more.
    assert!(
        frames + 8 * 1152 >= full,
        "decoding stopped early: {frames} of {full} ({bad} bad packets)"
    );
}

#[test]
fn resampler_keeps_frequency_and_length() {
    let input = sine(44_100, 2, 1000.0, 0.5, 2.0);
    let mut r = Resampler::new(44_100, 48_000, 2).expect("resampler");
    let mut out = AudioBlock::empty(48_000, 2);
    for chunk in input.samples.chunks(777 * 2) {
        out.append(
            &r.process(&AudioBlock::new(44_100, 2, chunk.to_vec()))
                .expect("process"),
        );
    }
    out.append(&r.flush().expect("flush"));
    assert_eq!(out.frames(), 96_000, "length is exactly proportional");
    // Count rising zero crossings over the middle second.
    let left = out.channel(0);
    let mid = &left[24_000..72_000];
    let crossings = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    assert!(
        (999..=1001).contains(&crossings),
        "{crossings} cycles per second"
    );
    let peak = mid.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!((peak - 0.5).abs() < 0.01, "amplitude {peak}");
    // Aligned: the resampled sine starts in phase with the input (delay trimmed).
    let expected_first = (0.5 * (std::f64::consts::TAU * 1000.0 * 100.0 / 48_000.0).sin()) as f32;
    assert!(
        (left[100] - expected_first).abs() < 0.02,
        "{} vs {expected_first}",
        left[100]
    );
}

#[test]
fn resampler_any_to_any() {
    for (from, to) in [
        (48_000, 44_100),
        (22_050, 48_000),
        (8_000, 48_000),
        (96_000, 48_000),
        (44_100, 44_100),
    ] {
        let input = sine(from, 1, 440.0, 0.3, 0.5);
        let mut r = Resampler::new(from, to, 1).expect("resampler");
        let mut out = r.process(&input).expect("process");
        out.append(&r.flush().expect("flush"));
        let want = (input.frames() as u64 * u64::from(to) + u64::from(from) / 2) / u64::from(from);
        assert_eq!(out.frames() as u64, want, "{from} -> {to}");
    }
}

#[test]
fn normalise_to_minus_16_lufs() {
    for amp in [0.05, 0.3, 0.9] {
        let mut block = sine(48_000, 2, 997.0, amp, 5.0);
        normalise(&mut block, -16.0).expect("normalise");
        let lufs = integrated_lufs(&block)
            .expect("measure")
            .expect("not silent");
        assert!((lufs + 16.0).abs() < 0.5, "amp {amp}: {lufs} LUFS");
    }
    // Music-like material too.
    let mut music = floe_media::synth::pieces()[2].render_seconds(44_100, 8.0);
    normalise(&mut music, -16.0).expect("normalise");
    let lufs = integrated_lufs(&music)
        .expect("measure")
        .expect("not silent");
    assert!((lufs + 16.0).abs() < 0.5, "music: {lufs} LUFS");
}

#[test]
fn replaygain_and_titles_from_tags() {
    let pcm = sine(44_100, 2, 440.0, 0.3, 1.0);
    let config = EncoderConfig {
        codec: Codec::Flac,
        rate: 44_100,
        channels: 2,
        bitrate_kbps: 0,
    };
    let mut enc = floe_media::encode::new_encoder(config).expect("flac");
    let tags = vec![
        ("ARTIST".to_string(), "Aurora Test".to_string()),
        ("TITLE".to_string(), "Tagged".to_string()),
        ("ALBUM".to_string(), "Fixtures".to_string()),
        ("REPLAYGAIN_TRACK_GAIN".to_string(), "-6.20 dB".to_string()),
        ("REPLAYGAIN_TRACK_PEAK".to_string(), "0.912".to_string()),
        ("REPLAYGAIN_ALBUM_GAIN".to_string(), "-5.00 dB".to_string()),
    ];
    let mut bytes = flac_stream_header(&enc.info().extradata, &tags);
    for p in enc
        .encode(&pcm)
        .expect("encode")
        .into_iter()
        .chain(enc.finish().expect("finish"))
    {
        bytes.extend_from_slice(&p.data);
    }
    let path = tmp("tagged.flac");
    std::fs::write(&path, &bytes).expect("write");
    let dec = Decoder::open_path(&path).expect("open");
    let t = dec.tags().clone();
    assert_eq!(t.display_title().as_deref(), Some("Aurora Test - Tagged"));
    assert_eq!(t.album.as_deref(), Some("Fixtures"));
    assert_eq!(t.track_gain_db, Some(-6.2));
    assert_eq!(t.track_peak, Some(0.912));
    assert_eq!(t.album_gain_db, Some(-5.0));
    let gain = floe_media::loudness::replaygain_db(&t, -16.0).expect("rg");
    assert!((gain + 4.2).abs() < 1e-3, "{gain}");
    assert!(
        (dec.duration_secs().unwrap_or(0.0) - 1.0).abs() < 0.01 || dec.duration_secs().is_none()
    );
}
