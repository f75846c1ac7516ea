//! The HLS/DASH segment writers (`mux::fmp4`, `mux::ts`, `mux::packed`) and playlist writers
//! (`floe_proto::hls`, `floe_proto::dash`) checked by ffmpeg and ffprobe: a few seconds of a
//! tone encoded by Floe's encoders (AAC by ffmpeg's native encoder, since Floe's needs the
//! `fdk-aac` feature), cut into segments, and
//! - the concatenation decodes with zero errors (`ffmpeg -v error` prints nothing),
//! - ffprobe reports the codec, rate and channels declared,
//! - packet timestamps run on without gaps across segment boundaries,
//! - the duration is right,
//! - ffmpeg's HLS and DASH demuxers read the playlists and decode every segment.
//!
//! Needs `ffmpeg` and `ffprobe` on PATH (Debian package `ffmpeg`).

use std::path::{Path, PathBuf};
use std::process::Command;

use floe_media::encode::{Encoder, FlacEncoder, Mp3Encoder, OpusEncoder};
use floe_media::mux::fmp4::{self, Sample, TrackConfig};
use floe_media::mux::packed;
use floe_media::mux::ts::{TsCodec, TsFrame, TsMuxer};
use floe_media::{AudioBlock, Packet};
use floe_proto::dash::{self, Mpd, MpdKind, Representation, SegmentAddressing};
use floe_proto::hls::{
    MasterPlaylist, MediaPlaylist, PartEntry, PlaylistType, SegmentEntry, ServerControl, Variant,
};

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("floe-hls-mux")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn need_ffmpeg() {
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool)
            .arg("-version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            ok,
            "`{tool}` is not installed or not on PATH: install Debian's `ffmpeg` package"
        );
    }
}

/// What `ffmpeg -v error -i INPUT -f null -` prints (it must also exit with success).
fn ffmpeg_errors(input: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "ffmpeg failed on {}:\n{stderr}",
        input.display()
    );
    stderr
}

/// `ffmpeg -v error -i INPUT -f null -` must succeed and print nothing.
fn decodes_cleanly(input: &Path) {
    let stderr = ffmpeg_errors(input);
    assert!(
        stderr.trim().is_empty(),
        "ffmpeg errors for {}:\n{stderr}",
        input.display()
    );
}

/// ffprobe's first audio stream and the format section, as JSON.
fn probe(input: &Path) -> (serde_json::Value, serde_json::Value) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(input)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    (v["streams"][0].clone(), v["format"].clone())
}

/// The presentation time (seconds) of every packet of the first audio stream.
fn packet_times(input: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(input)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe -show_packets failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim_end_matches(',')
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("no pts in {l:?}"))
        })
        .collect()
}

/// Packet `i` is presented at `start` plus the durations of samples `0..i`
/// (`durations` in `timescale` ticks, the time rounded down to whole ticks of `tick_rate` as
/// a container with that clock stores it), within ffprobe's 6 printed decimals plus `slack`
/// seconds. So segment boundaries left no gap, no overlap and no reordering.
fn assert_times(
    times: &[f64],
    start: f64,
    durations: &[u32],
    (timescale, tick_rate): (u32, u32),
    slack: f64,
) {
    assert_eq!(times.len(), durations.len(), "one packet per sample");
    let mut elapsed = 0u64;
    for (i, (&t, &d)) in times.iter().zip(durations).enumerate() {
        let ticks = u128::from(elapsed) * u128::from(tick_rate) / u128::from(timescale);
        let want = start + ticks as f64 / f64::from(tick_rate);
        assert!(
            (t - want).abs() <= 1.5e-6 + slack,
            "packet {i} presented at {t}, expected {want}"
        );
        elapsed += u64::from(d);
    }
}

fn assert_stream(stream: &serde_json::Value, codec: &str, rate: u32, channels: u64) {
    assert_eq!(stream["codec_name"], codec, "{stream}");
    assert_eq!(stream["sample_rate"], rate.to_string(), "{stream}");
    assert_eq!(stream["channels"], channels, "{stream}");
}

/// `seconds` of a 440 Hz tone (left) and a 660 Hz tone (right).
fn tone(rate: u32, seconds: f32) -> AudioBlock {
    let n = (rate as f32 * seconds) as usize;
    let mut s = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        s.push((0.3 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32);
        s.push((0.3 * (std::f64::consts::TAU * 660.0 * t).sin()) as f32);
    }
    AudioBlock::new(rate, 2, s)
}

fn encode_all(enc: &mut dyn Encoder, pcm: &AudioBlock) -> Vec<Packet> {
    let mut packets = Vec::new();
    for piece in pcm.samples.chunks(4096) {
        let block = AudioBlock::new(pcm.rate, pcm.channels, piece.to_vec());
        packets.extend(enc.encode(&block).expect("encode"));
    }
    packets.extend(enc.finish().expect("finish"));
    packets.retain(|p| !p.header && !p.data.is_empty());
    packets
}

/// `seconds` of [`tone`] at the encoder's rate through `enc`: its fMP4 track and its audio
/// packets.
fn encoded(mut enc: impl Encoder, seconds: f32) -> (TrackConfig, Vec<Packet>) {
    let config = TrackConfig::from_codec_info(enc.info()).expect("track");
    let pcm = tone(enc.info().rate, seconds);
    (config, encode_all(&mut enc, &pcm))
}

/// Encoder packets as fMP4 samples, each as long as its frame count, or `fixed` ticks (Opus:
/// the encoder trims the last packet to the input's end, while fMP4 samples keep 20 ms each).
fn packet_samples(packets: &[Packet], fixed: Option<u32>) -> Vec<Sample<'_>> {
    packets
        .iter()
        .map(|p| Sample {
            data: &p.data,
            duration: fixed.unwrap_or(p.frames),
        })
        .collect()
}

/// Encoder packets as MPEG-TS frames.
fn packet_ts_frames(packets: &[Packet]) -> Vec<TsFrame<'_>> {
    packets
        .iter()
        .map(|p| TsFrame {
            data: &p.data,
            samples: p.frames,
        })
        .collect()
}

/// ADTS frames as MPEG-TS frames (1024 samples each).
fn adts_ts_frames(frames: &[Vec<u8>]) -> Vec<TsFrame<'_>> {
    frames
        .iter()
        .map(|f| TsFrame {
            data: f,
            samples: 1024,
        })
        .collect()
}

/// ADTS frames as fMP4 samples: the raw AAC after the 7-byte header, 1024 samples each.
fn adts_samples(frames: &[Vec<u8>]) -> Vec<Sample<'_>> {
    frames
        .iter()
        .map(|f| Sample {
            data: &f[7..],
            duration: 1024,
        })
        .collect()
}

/// The fMP4 track of ffmpeg's ADTS frames (AAC-LC; the config from the first header) and the
/// frames as its samples.
fn aac_source(frames: &[Vec<u8>]) -> (TrackConfig, Vec<Sample<'_>>) {
    let config = TrackConfig::from_adts(&frames[0], false).expect("ADTS header");
    (config, adts_samples(frames))
}

/// Copies the web player's vendored `files` (hls.js, dash.js) into `root`.
fn vendored(root: &Path, files: &[&str]) {
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("../floe-server/src/http/web/vendor");
    for f in files {
        std::fs::copy(vendor.join(f), root.join(f)).expect("vendored player");
    }
}

/// ADTS frames of a file written by ffmpeg's native AAC encoder (44.1 kHz stereo).
fn ffmpeg_adts(dir: &Path, seconds: u32) -> Vec<Vec<u8>> {
    let path = dir.join("source.aac");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=44100:duration={seconds}"
        ))
        .args(["-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "adts"])
        .arg(&path)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg aac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&path).expect("read adts");
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos + 7 <= data.len() {
        assert_eq!(data[pos], 0xFF, "ADTS sync at {pos}");
        let len = (usize::from(data[pos + 3] & 3) << 11)
            | (usize::from(data[pos + 4]) << 3)
            | usize::from(data[pos + 5] >> 5);
        frames.push(data[pos..pos + len].to_vec());
        pos += len;
    }
    assert_eq!(pos, data.len(), "ADTS file ends in a partial frame");
    frames
}

/// Writes `init.mp4` and `seg{N}.m4s` (`per_segment` samples each) into `dir`, and their
/// concatenation as `all.mp4`; returns the segment files' (name, duration in seconds).
fn write_fmp4(
    dir: &Path,
    config: &TrackConfig,
    samples: &[Sample<'_>],
    per_segment: usize,
) -> Vec<(String, f64)> {
    let init = fmp4::init_segment(config).expect("init segment");
    std::fs::write(dir.join("init.mp4"), &init).expect("write init");
    let mut all = init;
    let mut decode_time = 0u64;
    let mut out = Vec::new();
    for (n, chunk) in samples.chunks(per_segment).enumerate() {
        let seg = fmp4::media_segment(config, n as u32 + 1, decode_time, chunk).expect("segment");
        let name = format!("seg{n}.m4s");
        std::fs::write(dir.join(&name), &seg).expect("write segment");
        all.extend_from_slice(&seg);
        let ticks: u64 = chunk.iter().map(|s| u64::from(s.duration)).sum();
        decode_time += ticks;
        out.push((name, ticks as f64 / f64::from(config.timescale)));
    }
    std::fs::write(dir.join("all.mp4"), &all).expect("write all");
    out
}

/// The DASH representation of the files [`write_fmp4`] writes (`init.mp4`, `seg$Number$.m4s`
/// from 0) at a nominal 128 kbit/s.
fn representation(id: &str, config: &TrackConfig, addressing: SegmentAddressing) -> Representation {
    Representation {
        id: id.into(),
        codecs: fmp4::codecs_string(config),
        bandwidth: 128_000,
        sample_rate: config.sample_rate,
        channels: config.channels,
        timescale: config.timescale,
        initialization: "init.mp4".into(),
        media: "seg$Number$.m4s".into(),
        start_number: 0,
        presentation_time_offset: 0,
        addressing,
    }
}

/// A VOD media playlist over `segments`, with `map` as `EXT-X-MAP`.
fn vod_playlist(segments: &[(String, f64)], map: Option<&str>) -> String {
    let target = segments
        .iter()
        .map(|(_, d)| d.round() as u64)
        .max()
        .unwrap_or(1);
    MediaPlaylist {
        version: 3,
        target_duration: target,
        playlist_type: Some(PlaylistType::Vod),
        independent_segments: true,
        map_uri: map.map(str::to_string),
        segments: segments
            .iter()
            .map(|(uri, duration)| SegmentEntry::new(uri.clone(), *duration))
            .collect(),
        endlist: true,
        ..MediaPlaylist::default()
    }
    .render()
}

/// The checks every fMP4 rendition gets: the concatenation and the HLS playlist decode
/// cleanly, the stream is as declared, timestamps are continuous, the duration is right.
fn check_fmp4(
    dir: &Path,
    config: &TrackConfig,
    samples: &[Sample<'_>],
    per_segment: usize,
    ffmpeg_codec: &str,
) {
    let segments = write_fmp4(dir, config, samples, per_segment);
    assert!(segments.len() >= 3, "want several segments");
    let all = dir.join("all.mp4");
    decodes_cleanly(&all);
    let (stream, _) = probe(&all);
    assert_stream(
        &stream,
        ffmpeg_codec,
        config.sample_rate,
        u64::from(config.channels),
    );
    let total: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
    let expected = total as f64 / f64::from(config.timescale);
    let durations: Vec<u32> = samples.iter().map(|s| s.duration).collect();
    assert_times(
        &packet_times(&all),
        0.0,
        &durations,
        (config.timescale, config.timescale),
        0.0,
    );

    let playlist = dir.join("index.m3u8");
    std::fs::write(&playlist, vod_playlist(&segments, Some("init.mp4"))).expect("playlist");
    decodes_cleanly(&playlist);
    let (stream, format) = probe(&playlist);
    assert_stream(
        &stream,
        ffmpeg_codec,
        config.sample_rate,
        u64::from(config.channels),
    );
    let duration: f64 = format["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("playlist duration");
    assert!(
        (duration - expected).abs() < 0.05,
        "HLS duration {duration}, expected {expected}"
    );
    assert_times(
        &packet_times(&playlist),
        0.0,
        &durations,
        (config.timescale, config.timescale),
        0.0,
    );
}

/// Encodes 4 s of the tone with the encoder `enc` makes, checks the declared `codecs` string,
/// then runs [`check_fmp4`] on its packets (`fixed`: every packet's duration, if constant).
fn check_encoded_fmp4<E: Encoder>(
    name: &str,
    enc: impl FnOnce() -> E,
    codecs: &str,
    fixed: Option<u32>,
    per_segment: usize,
) {
    need_ffmpeg();
    let dir = dir(name);
    let (config, packets) = encoded(enc(), 4.0);
    assert_eq!(fmp4::codecs_string(&config), codecs);
    check_fmp4(
        &dir,
        &config,
        &packet_samples(&packets, fixed),
        per_segment,
        name,
    );
}

#[test]
fn fmp4_opus_segments_decode_continuously() {
    check_encoded_fmp4(
        "opus",
        || OpusEncoder::new(2, 96).expect("opus"),
        "opus",
        Some(960),
        50,
    );
}

#[test]
fn fmp4_flac_segments_decode_continuously() {
    check_encoded_fmp4(
        "flac",
        || FlacEncoder::new(44_100, 2).expect("flac"),
        "fLaC",
        None,
        11,
    );
}

#[test]
fn fmp4_mp3_segments_decode_continuously() {
    check_encoded_fmp4(
        "mp3",
        || Mp3Encoder::new(44_100, 2, 128).expect("mp3"),
        "mp4a.6B",
        None,
        40,
    );
}

#[test]
fn fmp4_aac_segments_decode_continuously() {
    need_ffmpeg();
    let dir = dir("aac");
    let frames = ffmpeg_adts(&dir, 4);
    let (config, samples) = aac_source(&frames);
    assert_eq!(
        config.codec,
        fmp4::AudioCodec::Aac {
            audio_specific_config: vec![0x12, 0x10]
        },
        "AAC-LC, 44.1 kHz, stereo"
    );
    assert_eq!(fmp4::codecs_string(&config), "mp4a.40.2");
    check_fmp4(&dir, &config, &samples, 43, "aac");
}

/// A title as ID3 in an `emsg` before a segment's `moof` leaves the audio intact.
#[test]
fn fmp4_segments_with_emsg_titles_decode_cleanly() {
    need_ffmpeg();
    let dir = dir("emsg");
    let frames = ffmpeg_adts(&dir, 3);
    let (config, _) = aac_source(&frames);
    let rate = config.sample_rate;
    let mut all = fmp4::init_segment(&config).expect("init");
    let mut t = 0u64;
    for (n, chunk) in frames.chunks(43).enumerate() {
        let samples = adts_samples(chunk);
        let emsg = fmp4::id3_emsg(t, rate, n as u32, &format!("Song {n}"));
        let seg = fmp4::media_segment_with_events(&config, n as u32 + 1, t, &samples, &[&emsg])
            .expect("segment");
        all.extend_from_slice(&seg);
        t += 1024 * chunk.len() as u64;
    }
    let path = dir.join("all.mp4");
    std::fs::write(&path, &all).expect("write");
    decodes_cleanly(&path);
    let durations = vec![1024; frames.len()];
    assert_times(&packet_times(&path), 0.0, &durations, (rate, rate), 0.0);
}

/// Writes TS segments of `frames` (`per_segment` each) and checks the concatenation and a
/// playlist over them.
fn check_ts(
    dir: &Path,
    muxer: &mut TsMuxer,
    frames: &[TsFrame<'_>],
    per_segment: usize,
    rate: u32,
    ffmpeg_codec: &str,
    titles: bool,
) {
    let base = 900_000u64; // 10 s, as HLS servers often start
    let mut samples_done = 0u64;
    let mut all = Vec::new();
    let mut segments = Vec::new();
    for (n, chunk) in frames.chunks(per_segment).enumerate() {
        let pts = base + muxer.samples_to_90k(samples_done);
        let title = format!("Title {n}");
        let seg = if titles {
            muxer.segment_with_title(pts, chunk, Some(&title))
        } else {
            muxer.segment(pts, chunk)
        }
        .expect("ts segment");
        assert_eq!(seg.len() % 188, 0);
        let name = format!("seg{n}.ts");
        std::fs::write(dir.join(&name), &seg).expect("write");
        all.extend_from_slice(&seg);
        let s: u64 = chunk.iter().map(|f| u64::from(f.samples)).sum();
        samples_done += s;
        segments.push((name, s as f64 / f64::from(rate)));
    }
    let path = dir.join("all.ts");
    std::fs::write(&path, &all).expect("write");
    decodes_cleanly(&path);
    let (stream, _) = probe(&path);
    assert_stream(&stream, ffmpeg_codec, rate, 2);
    // Each segment's base and each frame's offset in it are rounded down to 90 kHz ticks:
    // within one tick of the exact time, and never drifting.
    let durations: Vec<u32> = frames.iter().map(|f| f.samples).collect();
    let one_tick = 1.0 / 90_000.0;
    assert_times(
        &packet_times(&path),
        10.0,
        &durations,
        (rate, 90_000),
        one_tick,
    );

    let playlist = dir.join("index.m3u8");
    std::fs::write(&playlist, vod_playlist(&segments, None)).expect("playlist");
    decodes_cleanly(&playlist);
    let (stream, _) = probe(&playlist);
    assert_stream(&stream, ffmpeg_codec, rate, 2);
}

#[test]
fn ts_aac_segments_decode_continuously() {
    need_ffmpeg();
    let dir = dir("ts-aac");
    let adts = ffmpeg_adts(&dir, 4);
    let frames = adts_ts_frames(&adts);
    let mut muxer = TsMuxer::new(TsCodec::AdtsAac, 44_100, false).expect("muxer");
    check_ts(&dir, &mut muxer, &frames, 86, 44_100, "aac", false);
}

#[test]
fn ts_mp3_segments_with_id3_titles_decode_continuously() {
    need_ffmpeg();
    let dir = dir("ts-mp3");
    let (_, packets) = encoded(Mp3Encoder::new(44_100, 2, 128).expect("mp3"), 4.0);
    let frames = packet_ts_frames(&packets);
    let mut muxer = TsMuxer::new(TsCodec::Mp3, 44_100, true).expect("muxer");
    check_ts(&dir, &mut muxer, &frames, 40, 44_100, "mp3", true);
    // The ID3 stream is declared and carries the titles.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(dir.join("all.ts"))
        .output()
        .expect("ffprobe");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<String> = v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        names.contains(&"timed_id3".to_string()),
        "streams: {names:?}"
    );
    let all = std::fs::read(dir.join("all.ts")).expect("read");
    assert!(
        all.windows(7).any(|w| w == b"Title 2"),
        "third segment's title in the stream"
    );
}

#[test]
fn packed_audio_playlist_decodes() {
    need_ffmpeg();
    let dir = dir("packed");
    let adts = ffmpeg_adts(&dir, 4);
    let mut segments = Vec::new();
    let mut samples = 0u64;
    for (n, chunk) in adts.chunks(86).enumerate() {
        let pts = samples * 90_000 / 44_100;
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        let seg = packed::packed_segment(pts, Some("Packed"), &refs);
        let name = format!("seg{n}.aac");
        std::fs::write(dir.join(&name), &seg).expect("write");
        samples += 1024 * chunk.len() as u64;
        segments.push((name, 1024.0 * chunk.len() as f64 / 44_100.0));
    }
    let playlist = dir.join("index.m3u8");
    std::fs::write(&playlist, vod_playlist(&segments, None)).expect("playlist");
    decodes_cleanly(&playlist);
    let (stream, _) = probe(&playlist);
    assert_stream(&stream, "aac", 44_100, 2);
    // Segment boundaries: the next segment's ID3 timestamp continues the previous one.
    assert_times(
        &packet_times(&playlist),
        0.0,
        &vec![1024; adts.len()],
        (44_100, 90_000),
        1.0 / 90_000.0,
    );
}

/// An LL-HLS live playlist (parts, preload hint, server control, program date-time) over
/// fMP4 parts: ffmpeg, which ignores the LL-HLS tags, still plays it, so older clients do too.
#[test]
fn ll_hls_playlist_with_parts_is_read_by_ffmpeg() {
    need_ffmpeg();
    let dir = dir("llhls");
    let (config, packets) = encoded(OpusEncoder::new(2, 96).expect("opus"), 4.2);
    std::fs::write(
        dir.join("init.mp4"),
        fmp4::init_segment(&config).expect("init"),
    )
    .expect("write");
    let mut seq = 1u32;
    let mut t = 0u64;
    let mut entries = Vec::new();
    // 1 s segments, each made of 4 parts of 250 ms (12 or 13 packets... here 25 ms-exact:
    // 12.5 packets, so parts of 13+12+13+12).
    for (s, seg_packets) in packets.chunks(50).take(4).enumerate() {
        let mut parts = Vec::new();
        let mut whole = Vec::new();
        let mut start = 0;
        for (p, len) in [13usize, 12, 13, 12].into_iter().enumerate() {
            let chunk = &seg_packets[start..(start + len).min(seg_packets.len())];
            start += len;
            let samples = packet_samples(chunk, Some(960));
            let part = fmp4::media_segment(&config, seq, t, &samples).expect("part");
            seq += 1;
            t += 960 * chunk.len() as u64;
            let name = format!("seg{s}.part{p}.m4s");
            std::fs::write(dir.join(&name), &part).expect("write");
            whole.extend_from_slice(&part);
            parts.push(PartEntry::independent(name, chunk.len() as f64 * 0.02));
        }
        let name = format!("seg{s}.m4s");
        std::fs::write(dir.join(&name), &whole).expect("write");
        entries.push(SegmentEntry {
            program_date_time: Some(1_764_000_000_000 + 1000 * s as i64),
            parts,
            title: Some(format!("Song {s}")),
            ..SegmentEntry::new(name, 1.0)
        });
    }
    let playlist = MediaPlaylist {
        version: 6,
        target_duration: 1,
        media_sequence: 0,
        independent_segments: true,
        part_target: Some(0.26),
        server_control: Some(ServerControl {
            can_block_reload: true,
            part_hold_back: Some(0.78),
            hold_back: None,
            can_skip_until: Some(6.0),
            can_skip_dateranges: false,
        }),
        map_uri: Some("init.mp4".into()),
        segments: entries,
        // A finished playlist, so ffmpeg reads it once instead of polling a live one.
        endlist: true,
        ..MediaPlaylist::default()
    };
    let text = playlist.render();
    assert!(text.contains("#EXT-X-PART:DURATION=0.26,URI=\"seg0.part0.m4s\",INDEPENDENT=YES\n"));
    let path = dir.join("index.m3u8");
    std::fs::write(&path, text).expect("playlist");
    decodes_cleanly(&path);
    assert_times(
        &packet_times(&path),
        0.0,
        &[960; 200],
        (48_000, 48_000),
        0.0,
    );

    // The master playlist over it.
    let master = MasterPlaylist {
        independent_segments: true,
        variants: vec![Variant {
            uri: "index.m3u8".into(),
            bandwidth: 110_000,
            average_bandwidth: Some(100_000),
            codecs: fmp4::codecs_string(&config),
            name: Some("Opus 96k".into()),
        }],
    };
    let master_path = dir.join("master.m3u8");
    std::fs::write(&master_path, master.render()).expect("master");
    decodes_cleanly(&master_path);
}

/// ffmpeg's DASH demuxer reads a static MPD over the same CMAF segments, with `$Number$` and a
/// fixed duration and with a `SegmentTimeline`.
#[test]
fn dash_mpd_is_read_by_ffmpeg() {
    need_ffmpeg();
    let dir = dir("dash");
    let frames = ffmpeg_adts(&dir, 4);
    let (config, samples) = aac_source(&frames);
    let rate = config.sample_rate;
    let segments = write_fmp4(&dir, &config, &samples, 43);
    let durations: Vec<u64> = samples
        .chunks(43)
        .map(|c| c.iter().map(|s| u64::from(s.duration)).sum())
        .collect();
    let total: u64 = durations.iter().sum();
    for (name, addressing_kind, addressing) in [
        (
            "timeline.mpd",
            "timeline",
            SegmentAddressing::Timeline(dash::timeline(0, &durations)),
        ),
        (
            "number.mpd",
            "number",
            SegmentAddressing::Duration {
                duration: 43 * 1024,
            },
        ),
    ] {
        let mpd = Mpd {
            period_id: "0".into(),
            kind: MpdKind::Static {
                duration: total as f64 / f64::from(rate),
            },
            min_buffer_time: 1.0,
            lang: Some("und".into()),
            representations: vec![representation("aac", &config, addressing)],
            utc_timing_url: None,
        };
        let path = dir.join(name);
        std::fs::write(&path, mpd.render()).expect("mpd");
        let errors = ffmpeg_errors(&path);
        // ffmpeg 5.1's DASH demuxer takes `startNumber + duration * timescale / @duration`
        // (whole seconds) as the *last* segment number of a static `$Number$` template, one
        // past the last segment the MPD describes (ceil(4.04 s / 0.998 s) = 5 segments,
        // numbers 0..=4), so after reading all of them it reports the missing sixth. Only that
        // complaint is tolerated, and every packet must still arrive (checked below).
        let unexpected: Vec<&str> = errors
            .lines()
            .filter(|l| {
                !(matches!(addressing_kind, "number")
                    && (l.ends_with("Failed to open fragment of playlist")
                        || l.ends_with("Error when loading first fragment of playlist")))
            })
            .collect();
        assert!(unexpected.is_empty(), "ffmpeg errors for {name}:\n{errors}");
        let (stream, _) = probe(&path);
        assert_stream(&stream, "aac", rate, 2);
        assert_times(
            &packet_times(&path),
            0.0,
            &vec![1024; frames.len()],
            (rate, rate),
            0.0,
        );
    }
    assert_eq!(segments.len(), durations.len());
}

/// Floe's own AAC renditions (feature `fdk-aac`): the encoder's AudioSpecificConfig goes into
/// `esds` as it is; HE-AAC is signalled explicitly (`mp4a.40.5`) and ffmpeg decodes it at the
/// full rate.
#[cfg(feature = "fdk-aac")]
#[test]
fn fmp4_fdk_aac_and_he_aac_segments_decode_continuously() {
    use floe_media::encode::{AacEncoder, Codec};
    need_ffmpeg();
    for (codec, rate, kbps, want) in [
        (Codec::AacLc, 44_100, 128, "mp4a.40.2"),
        (Codec::HeAac, 48_000, 48, "mp4a.40.5"),
    ] {
        let dir = dir(&format!("fdk-{}", codec.name()));
        let mut enc = AacEncoder::new(codec, rate, 2, kbps).expect("aac");
        let config = TrackConfig::from_codec_info(enc.info()).expect("track");
        assert_eq!(fmp4::codecs_string(&config), want);
        let packets = encode_all(&mut enc, &tone(rate, 4.0));
        let samples: Vec<Sample<'_>> = packets
            .iter()
            .map(|p| Sample {
                data: &p.data,
                duration: enc.info().frame_size,
            })
            .collect();
        check_fmp4(&dir, &config, &samples, 40, "aac");

        // The same stream as a mount carries it (ADTS): the config rebuilt from an ADTS header
        // (explicit SBR signalling for HE-AAC) must give the same decode.
        let adts = floe_media::mux::adts::AdtsWriter::new(enc.info()).expect("adts");
        let header = adts.header(packets[0].data.len());
        let from_adts =
            TrackConfig::from_adts(&header, codec == Codec::HeAac).expect("ADTS header");
        assert_eq!(from_adts.sample_rate, rate);
        assert_eq!(fmp4::codecs_string(&from_adts), want);
        let dir = self::dir(&format!("fdk-adts-{}", codec.name()));
        check_fmp4(&dir, &from_adts, &samples, 40, "aac");
        let (stream, _) = probe(&dir.join("all.mp4"));
        let profile = if codec == Codec::HeAac {
            "HE-AAC"
        } else {
            "LC"
        };
        assert_eq!(stream["profile"], profile, "{stream}");
    }
}

/// Init segment then media segments of `per_segment` samples, in memory.
fn fmp4_stream(config: &TrackConfig, samples: &[Sample<'_>], per_segment: usize) -> Vec<Vec<u8>> {
    let mut out = vec![fmp4::init_segment(config).expect("init")];
    let mut t = 0u64;
    for (n, chunk) in samples.chunks(per_segment).enumerate() {
        out.push(fmp4::media_segment(config, n as u32 + 1, t, chunk).expect("segment"));
        t += chunk.iter().map(|s| u64::from(s.duration)).sum::<u64>();
    }
    out
}

/// Chromium's Media Source Extensions take the fMP4 segments of AAC, Opus and FLAC with the
/// `CODECS` strings Floe declares: every segment appends without error and the buffered range
/// covers the stream. (MP3 in fMP4 is not playable there: `isTypeSupported` is false for
/// `mp4a.6B`, `mp4a.69` and `mp4a.40.34`, which this test also pins, so MP3 renditions go out as
/// MPEG-TS or packed audio.)
#[test]
fn fmp4_segments_append_in_chromium_mse() {
    use base64::Engine as _;
    need_ffmpeg();
    let dir = dir("chromium");

    let adts = ffmpeg_adts(&dir, 4);
    let (aac, aac_samples) = aac_source(&adts);
    let (opus, opus_packets) = encoded(OpusEncoder::new(2, 96).expect("opus"), 4.0);
    let opus_samples = packet_samples(&opus_packets, Some(960));
    let (flac, flac_packets) = encoded(FlacEncoder::new(44_100, 2).expect("flac"), 4.0);
    let flac_samples = packet_samples(&flac_packets, None);

    let b64 = base64::engine::general_purpose::STANDARD;
    let mut tracks = serde_json::Map::new();
    for (name, config, samples, per) in [
        ("aac", &aac, &aac_samples, 43),
        ("opus", &opus, &opus_samples, 50),
        ("flac", &flac, &flac_samples, 11),
    ] {
        let segments: Vec<String> = fmp4_stream(config, samples, per)
            .iter()
            .map(|s| b64.encode(s))
            .collect();
        tracks.insert(
            name.into(),
            serde_json::json!([fmp4::codecs_string(config), segments]),
        );
    }
    let script = r#"
const b = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
async function append(name, codec, list) {
  const type = 'audio/mp4; codecs="' + codec + '"';
  if (!MediaSource.isTypeSupported(type)) return name + ' unsupported';
  const ms = new MediaSource();
  const audio = document.createElement('audio');
  audio.src = URL.createObjectURL(ms);
  await new Promise(r => ms.addEventListener('sourceopen', r, { once: true }));
  const sb = ms.addSourceBuffer(type);
  let failed = false;
  sb.addEventListener('error', () => { failed = true; });
  for (const s of list) {
    sb.appendBuffer(b(s));
    await new Promise(r => sb.addEventListener('updateend', r, { once: true }));
    if (failed || audio.error) return name + ' error ' + (audio.error && audio.error.message);
  }
  const r = sb.buffered;
  const ranges = [];
  for (let i = 0; i < r.length; i++) ranges.push(r.start(i).toFixed(2) + '-' + r.end(i).toFixed(2));
  return name + ' ok ' + ranges.join(',');
}
(async () => {
  const out = [];
  for (const [name, [codec, list]] of Object.entries(TRACKS)) {
    try { out.push(await append(name, codec, list)); } catch (e) { out.push(name + ' exception ' + e); }
  }
  for (const c of ['mp4a.6B', 'mp4a.69', 'mp4a.40.34'])
    out.push(c + ' ' + MediaSource.isTypeSupported('audio/mp4; codecs="' + c + '"'));
  report(out.join('\n'));
})();
"#;
    let html = format!(
        "<html><body><script>{REPORT}const TRACKS = {};{script}</script></body></html>",
        serde_json::Value::Object(tracks)
    );
    std::fs::write(dir.join("mse.html"), html).expect("page");
    let result = run_page(&dir, "mse.html");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(
        lines,
        [
            // (serde_json's map is ordered by name)
            "aac ok 0.00-4.04",
            "flac ok 0.00-4.00",
            "opus ok 0.00-4.02",
            "mp4a.6B false",
            "mp4a.69 false",
            "mp4a.40.34 false",
        ],
        "Chromium MSE:\n{result}"
    );
}

/// A static file server on 127.0.0.1 for the browser tests: GET of files under `root`, and
/// `POST /result`, whose body (the page's report) is sent on the returned channel. One request
/// per connection; runs until the test process ends.
fn serve_dir(root: PathBuf) -> (u16, std::sync::mpsc::Receiver<String>) {
    serve(root, Box::new(|_, _| None))
}

/// A response made by a test's handler: status, content type, body.
type Dynamic = (u16, &'static str, Vec<u8>);

/// [`serve_dir`] with a handler asked first for every GET (path without the leading `/`, and
/// the query string); `None` falls back to the files.
#[allow(clippy::type_complexity)]
fn serve(
    root: PathBuf,
    handler: Box<dyn Fn(&str, &str) -> Option<Dynamic> + Send>,
) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 65_536];
            let head_end = loop {
                if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
            let mut words = head.split(' ');
            let method = words.next().unwrap_or("");
            let target = words.next().unwrap_or("/");
            if method == "POST" {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while data.len() < head_end + length {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                }
                let end = data.len().min(head_end + length);
                let _ = tx.send(String::from_utf8_lossy(&data[head_end..end]).into_owned());
                let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                continue;
            }
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let path = path.trim_start_matches('/');
            if let Some((status, ctype, body)) = handler(path, query) {
                let mut r = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                let _ = conn.write_all(&r);
                continue;
            }
            let file = (!path.contains(".."))
                .then(|| root.join(path))
                .and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)));
            let response = match file {
                Some((p, body)) => {
                    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                    let ctype = match ext {
                        "html" => "text/html; charset=utf-8",
                        "js" => "application/javascript",
                        "m3u8" => "application/vnd.apple.mpegurl",
                        "mpd" => "application/dash+xml",
                        "mp4" | "m4s" => "audio/mp4",
                        "ts" => "video/mp2t",
                        "aac" => "audio/aac",
                        "mp3" => "audio/mpeg",
                        _ => "application/octet-stream",
                    };
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = conn.write_all(&response);
        }
    });
    (port, rx)
}

/// Serves `root`, opens `page` in headless Chromium (its own profile under `root`) and returns
/// what the page POSTs to `/result`. The wait is a guard against a hung browser (3 minutes),
/// not a timing check; Chromium is killed afterwards.
fn run_page(root: &Path, page: &str) -> String {
    let (port, results) = serve_dir(root.to_path_buf());
    open_page(root, port, &results, page)
}

/// Opens `page` of the server on `port` (see [`serve_dir`]) in headless Chromium and returns
/// what it POSTs to `/result` (see [`run_page`]).
fn open_page(
    root: &Path,
    port: u16,
    results: &std::sync::mpsc::Receiver<String>,
    page: &str,
) -> String {
    let chromium = "/usr/bin/chromium";
    assert!(
        Path::new(chromium).exists(),
        "Chromium is needed (apt-get install chromium)"
    );
    let profile = root.join("chromium-profile");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://127.0.0.1:{port}/{page}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run chromium");
    let result = results.recv_timeout(std::time::Duration::from_secs(180));
    let _ = child.kill();
    let _ = child.wait();
    result.expect("the page reported no result within 3 minutes")
}

/// The script that reports `text` to [`run_page`].
const REPORT: &str = "function report(text) { fetch('/result', { method: 'POST', body: text }); }";

/// fMP4 segments (each made of `parts_per_segment` parts, the first part of segment `n`
/// carrying an `emsg` titled "Song n") into `dir`, and a media playlist over them with parts,
/// program date-times and a title date range. Returns the total duration in seconds.
fn write_ll_hls(
    dir: &Path,
    config: &TrackConfig,
    samples: &[Sample<'_>],
    per_part: usize,
    parts_per_segment: usize,
) -> f64 {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("init.mp4"),
        fmp4::init_segment(config).expect("init"),
    )
    .expect("w");
    let ts = f64::from(config.timescale);
    let (mut seq, mut t) = (1u32, 0u64);
    let mut entries = Vec::new();
    for (s, seg) in samples.chunks(per_part * parts_per_segment).enumerate() {
        let (mut parts, mut whole, seg_start) = (Vec::new(), Vec::new(), t);
        for (p, chunk) in seg.chunks(per_part).enumerate() {
            let emsg = fmp4::id3_emsg(t, config.timescale, s as u32, &format!("Song {s}"));
            let events: Vec<&[u8]> = if p == 0 { vec![&emsg] } else { vec![] };
            let part =
                fmp4::media_segment_with_events(config, seq, t, chunk, &events).expect("part");
            let d: u64 = chunk.iter().map(|x| u64::from(x.duration)).sum();
            seq += 1;
            t += d;
            let name = format!("s{s}.{p}.m4s");
            std::fs::write(dir.join(&name), &part).expect("write");
            whole.extend_from_slice(&part);
            parts.push(PartEntry::independent(name, d as f64 / ts));
        }
        let name = format!("s{s}.m4s");
        std::fs::write(dir.join(&name), &whole).expect("write");
        entries.push(SegmentEntry {
            program_date_time: Some(1_764_000_000_000 + (seg_start as f64 / ts * 1000.0) as i64),
            parts,
            ..SegmentEntry::new(name, (t - seg_start) as f64 / ts)
        });
    }
    let part_target = entries
        .iter()
        .flat_map(|e| &e.parts)
        .map(|p| p.duration)
        .fold(0.0, f64::max);
    let target = entries
        .iter()
        .map(|e| e.duration.round() as u64)
        .max()
        .unwrap_or(1);
    let playlist = MediaPlaylist {
        version: 6,
        target_duration: target,
        independent_segments: true,
        part_target: Some(part_target),
        server_control: Some(ServerControl {
            can_block_reload: true,
            part_hold_back: Some(3.0 * part_target),
            hold_back: None,
            can_skip_until: Some(6.0 * target as f64),
            can_skip_dateranges: false,
        }),
        map_uri: Some("init.mp4".into()),
        dateranges: vec![floe_proto::hls::DateRange {
            id: "title-0".into(),
            class: Some("com.floe.title".into()),
            start_ms: 1_764_000_000_000,
            duration: None,
            end_on_next: true,
            attributes: vec![("TITLE".into(), "Song 0".into())],
        }],
        segments: entries,
        endlist: true,
        ..MediaPlaylist::default()
    };
    std::fs::write(dir.join("index.m3u8"), playlist.render()).expect("playlist");
    t as f64 / ts
}

/// The players Floe ships read what the writers produce: hls.js 1.7 (vendored in the web
/// player) parses an LL-HLS playlist (parts, date range, program date-times), buffers CMAF
/// Opus and AAC, transmuxes TS and packed audio (AAC and MP3), and reports the titles carried
/// as ID3 (`emsg`, the TS ID3 stream, packed-audio tags); dash.js 5 (vendored too) buffers a
/// static MPD with a `SegmentTimeline` over AAC and FLAC segments. All in headless Chromium,
/// from a local HTTP server; every source must buffer to its end with no error.
#[test]
fn vendored_hls_js_and_dash_js_read_the_writers_output() {
    need_ffmpeg();
    let root = dir("players");
    vendored(&root, &["hls.min.js", "dash.mediaplayer.min.js"]);

    // Sources.
    let adts = ffmpeg_adts(&root, 4);
    let (aac, aac_samples) = aac_source(&adts);
    let (opus, opus_packets) = encoded(OpusEncoder::new(2, 96).expect("opus"), 4.0);
    let opus_samples = packet_samples(&opus_packets, Some(960));
    let (flac, flac_packets) = encoded(FlacEncoder::new(44_100, 2).expect("flac"), 4.0);
    let flac_samples = packet_samples(&flac_packets, None);
    let (_, mp3_packets) = encoded(Mp3Encoder::new(44_100, 2, 128).expect("mp3"), 4.0);

    let mut expected: Vec<(String, f64)> = Vec::new();
    // LL-HLS over CMAF: Opus (parts of 250 ms), AAC (parts of ~0.5 s).
    let d = write_ll_hls(&root.join("opus"), &opus, &opus_samples, 12, 4);
    expected.push(("hls opus/index.m3u8".into(), d));
    let d = write_ll_hls(&root.join("aac"), &aac, &aac_samples, 22, 2);
    expected.push(("hls aac/index.m3u8".into(), d));
    // MPEG-TS with ID3 titles: AAC and MP3.
    for (name, codec, frames, per) in [
        ("ts-aac", TsCodec::AdtsAac, adts_ts_frames(&adts), 43),
        ("ts-mp3", TsCodec::Mp3, packet_ts_frames(&mp3_packets), 38),
    ] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut muxer = TsMuxer::new(codec, 44_100, true).expect("muxer");
        let (mut segments, mut done) = (Vec::new(), 0u64);
        for (n, chunk) in frames.chunks(per).enumerate() {
            let pts = 900_000 + muxer.samples_to_90k(done);
            let seg = muxer
                .segment_with_title(pts, chunk, Some(&format!("Song {n}")))
                .expect("segment");
            let file = format!("s{n}.ts");
            std::fs::write(dir.join(&file), seg).expect("write");
            let s: u64 = chunk.iter().map(|f| u64::from(f.samples)).sum();
            done += s;
            segments.push((file, s as f64 / 44_100.0));
        }
        std::fs::write(dir.join("index.m3u8"), vod_playlist(&segments, None)).expect("w");
        expected.push((format!("hls {name}/index.m3u8"), done as f64 / 44_100.0));
    }
    // Packed audio (AAC and MP3) with titles in its ID3 tags.
    let aac_frames: Vec<(&[u8], u64)> = adts.iter().map(|f| (f.as_slice(), 1024)).collect();
    let mp3_frames: Vec<(&[u8], u64)> = mp3_packets
        .iter()
        .map(|p| (&p.data[..], u64::from(p.frames)))
        .collect();
    for (name, ext, frames, per) in [
        ("packed", "aac", &aac_frames, 43),
        ("packed-mp3", "mp3", &mp3_frames, 38),
    ] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let (mut segments, mut done) = (Vec::new(), 0u64);
        for (n, chunk) in frames.chunks(per).enumerate() {
            let refs: Vec<&[u8]> = chunk.iter().map(|f| f.0).collect();
            let seg =
                packed::packed_segment(done * 90_000 / 44_100, Some(&format!("Song {n}")), &refs);
            let file = format!("s{n}.{ext}");
            std::fs::write(dir.join(&file), seg).expect("write");
            let s: u64 = chunk.iter().map(|f| f.1).sum();
            done += s;
            segments.push((file, s as f64 / 44_100.0));
        }
        std::fs::write(dir.join("index.m3u8"), vod_playlist(&segments, None)).expect("w");
        expected.push((format!("hls {name}/index.m3u8"), done as f64 / 44_100.0));
    }
    // DASH (static, SegmentTimeline): AAC and FLAC.
    for (name, config, samples, per) in [
        ("dash-aac", &aac, &aac_samples, 43),
        ("dash-flac", &flac, &flac_samples, 11),
    ] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let segments = write_fmp4(&dir, config, samples, per);
        let durations: Vec<u64> = samples
            .chunks(per)
            .map(|c| c.iter().map(|s| u64::from(s.duration)).sum())
            .collect();
        let total = durations.iter().sum::<u64>() as f64 / f64::from(config.timescale);
        assert_eq!(segments.len(), durations.len());
        let mpd = Mpd {
            period_id: "0".into(),
            kind: MpdKind::Static { duration: total },
            min_buffer_time: 1.0,
            lang: None,
            representations: vec![representation(
                name,
                config,
                SegmentAddressing::Timeline(dash::timeline(0, &durations)),
            )],
            utc_timing_url: None,
        };
        std::fs::write(dir.join("manifest.mpd"), mpd.render()).expect("mpd");
        expected.push((format!("dash {name}/manifest.mpd"), total));
    }

    let sources: Vec<serde_json::Value> = expected
        .iter()
        .map(|(s, d)| serde_json::json!([s, d]))
        .collect();
    let script = r#"
function watch(kind, url, duration) {
  return new Promise(resolve => {
    const audio = document.createElement('audio');
    audio.muted = true;
    document.body.appendChild(audio);
    const r = { errors: [], titles: [] };
    const finish = why => {
      clearInterval(timer);
      const b = audio.buffered;
      r.buffered = b.length ? b.start(0).toFixed(1) + '-' + b.end(b.length - 1).toFixed(1) : 'none';
      r.why = why;
      try { if (r.hls) r.hls.destroy(); if (r.dash) r.dash.reset(); } catch (e) {}
      delete r.hls; delete r.dash;
      resolve(r);
    };
    let ticks = 0;
    const timer = setInterval(() => {
      const b = audio.buffered;
      if (b.length && b.end(b.length - 1) >= duration - 0.05) finish('end');
      else if (++ticks > 600) finish('timeout');
    }, 100);
    if (kind === 'hls') {
      const hls = new Hls({ lowLatencyMode: true, enableWorker: false });
      r.hls = hls;
      hls.on(Hls.Events.LEVEL_LOADED, (e, d) => {
        r.parts = (d.details.partList || []).length;
        r.dateranges = Object.keys(d.details.dateRanges || {}).length;
        r.pdt = d.details.fragments[0].programDateTime || 0;
      });
      hls.on(Hls.Events.FRAG_PARSING_METADATA, (e, d) => d.samples.forEach(s => {
        const m = new TextDecoder().decode(s.data).match(/Song \d+/);
        if (m && !r.titles.includes(m[0])) r.titles.push(m[0]);
      }));
      hls.on(Hls.Events.ERROR, (e, d) => { r.errors.push(d.details); if (d.fatal) finish('fatal'); });
      hls.loadSource(url);
      hls.attachMedia(audio);
    } else {
      const p = dashjs.MediaPlayer().create();
      r.dash = p;
      p.on(dashjs.MediaPlayer.events.ERROR, e => { r.errors.push(JSON.stringify(e.error && e.error.message || e)); finish('fatal'); });
      p.initialize(audio, url, false);
    }
  });
}
(async () => {
  const out = [];
  for (const [name, duration] of SOURCES) {
    const [kind, url] = name.split(' ');
    const r = await watch(kind, url, duration);
    out.push(name + ' ' + JSON.stringify(r));
  }
  report(out.join('\n'));
})();
"#;
    let html = format!(
        "<html><body><script src=hls.min.js></script>\
         <script src=dash.mediaplayer.min.js></script>\
         <script>{REPORT}const SOURCES = {};{script}</script></body></html>",
        serde_json::Value::Array(sources)
    );
    std::fs::write(root.join("players.html"), html).expect("page");
    let result = run_page(&root, "players.html");
    println!("{result}");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines.len(), expected.len(), "players:\n{result}");
    for ((name, duration), line) in expected.iter().zip(&lines) {
        let json: serde_json::Value =
            serde_json::from_str(line.strip_prefix(name.as_str()).expect("name").trim())
                .expect("result json");
        assert_eq!(
            json["why"], "end",
            "{name} did not buffer to {duration:.2} s:\n{result}"
        );
        assert_eq!(json["errors"], serde_json::json!([]), "{name}:\n{result}");
        assert_eq!(
            json["buffered"],
            format!("0.0-{duration:.1}"),
            "{name}:\n{result}"
        );
        if name.starts_with("hls") {
            let titles = json["titles"].as_array().expect("titles").len();
            assert!(titles >= 3, "{name}: titles as ID3 metadata:\n{result}");
        }
        if name.starts_with("hls opus") || name.starts_with("hls aac") {
            assert!(
                json["parts"].as_u64().unwrap_or(0) >= 8,
                "{name}: parts:\n{result}"
            );
            assert_eq!(json["dateranges"], 1, "{name}:\n{result}");
            assert_eq!(json["pdt"], 1_764_000_000_000u64, "{name}:\n{result}");
        }
    }
}

/// dash.js plays a live (dynamic) MPD from the writer: `availabilityStartTime` 14 s ago, a
/// `SegmentTimeline` of the ~2 s AAC segments available so far, and `UTCTiming` pointing at the
/// test's server. It must buffer up to the live edge with no error. (The wall clock is read here,
/// in the test, to place the stream; nothing is asserted about time.)
#[test]
fn dash_js_plays_a_dynamic_mpd() {
    need_ffmpeg();
    let root = dir("dash-live");
    vendored(&root, &["dash.mediaplayer.min.js"]);
    let adts = ffmpeg_adts(&root, 20);
    let (config, samples) = aac_source(&adts);
    let rate = config.sample_rate;
    write_fmp4(&root, &config, &samples, 86);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let since_start = 14_000i64;
    // The segments that have ended by now (2 s each: 86 × 1024 samples).
    let segment_ticks = 86 * 1024u64;
    let available = (since_start as u64 * u64::from(rate) / 1000 / segment_ticks) as usize;
    let edge = (available as u64 * segment_ticks) as f64 / f64::from(rate);
    // `/time` answers the wall clock at each request, as Floe's `/api/v1/time` does.
    let clock = Box::new(|path: &str, _: &str| -> Option<Dynamic> {
        (path == "time").then(|| {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            (
                200,
                "text/plain",
                floe_proto::hls::date_time(ms).into_bytes(),
            )
        })
    });
    let (port, results) = serve(root.clone(), clock);
    let mpd = Mpd {
        period_id: "0".into(),
        kind: MpdKind::Dynamic {
            availability_start_ms: now_ms - since_start,
            publish_ms: now_ms,
            minimum_update_period: 2.0,
            time_shift_buffer_depth: 30.0,
            suggested_presentation_delay: 6.0,
        },
        min_buffer_time: 2.0,
        lang: Some("und".into()),
        representations: vec![representation(
            "aac",
            &config,
            SegmentAddressing::Timeline(dash::timeline(0, &vec![segment_ticks; available])),
        )],
        utc_timing_url: Some(format!("http://127.0.0.1:{port}/time")),
    };
    std::fs::write(root.join("live.mpd"), mpd.render()).expect("mpd");
    let script = r#"
const audio = document.createElement('audio');
audio.muted = true;
document.body.appendChild(audio);
const p = dashjs.MediaPlayer().create();
const errors = [];
let done = false;
const finish = why => {
  if (done) return;
  done = true;
  const b = audio.buffered;
  report(JSON.stringify({
    why, errors, dynamic: p.isDynamic(),
    end: b.length ? b.end(b.length - 1) : 0,
  }));
};
p.on(dashjs.MediaPlayer.events.ERROR, e => { errors.push(JSON.stringify(e.error && e.error.message || e)); finish('fatal'); });
p.initialize(audio, 'live.mpd', false);
let ticks = 0;
setInterval(() => {
  const b = audio.buffered;
  if (b.length && b.end(b.length - 1) >= EDGE - 0.1) finish('edge');
  else if (++ticks > 600) finish('timeout');
}, 100);
"#;
    let html = format!(
        "<html><body><script src=dash.mediaplayer.min.js></script>\
         <script>{REPORT}const EDGE = {edge};{script}</script></body></html>"
    );
    std::fs::write(root.join("live.html"), html).expect("page");
    let result = open_page(&root, port, &results, "live.html");
    println!("{result}");
    let json: serde_json::Value = serde_json::from_str(&result).expect("result json");
    assert_eq!(
        json["why"], "edge",
        "dash.js did not buffer to {edge} s: {result}"
    );
    assert_eq!(json["errors"], serde_json::json!([]), "{result}");
    assert_eq!(json["dynamic"], true, "{result}");
}

/// hls.js plays a *live* LL-HLS stream whose playlist the writer renders per request: the
/// test's server lists the segments and parts of 40 s of AAC that have "happened" by the time
/// of the request (10 s in at the start, then following the wall clock), with a preload hint,
/// and answers `_HLS_skip=YES` (parsed by `DeliveryDirectives`) with a delta update. hls.js
/// must play 3 s of it with no error, merge delta updates (`skippedSegments` > 0), and report
/// the `emsg` titles. (The wall clock only drives the simulated live edge; nothing about time
/// is asserted.)
#[test]
fn hls_js_plays_a_live_ll_hls_playlist_with_delta_updates() {
    use floe_proto::hls::{DeliveryDirectives, PendingSegment, PreloadHint};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    need_ffmpeg();
    let root = dir("ll-live");
    vendored(&root, &["hls.min.js"]);
    let adts = ffmpeg_adts(&root, 40);
    let (config, samples) = aac_source(&adts);
    let rate = config.sample_rate;
    let (per_part, parts_per_segment) = (22, 2);
    // The files (s{n}.{p}.m4s parts, s{n}.m4s segments, init.mp4; its VOD playlist is unused).
    write_ll_hls(&root, &config, &samples, per_part, parts_per_segment);
    // (segment uri, start, end, [(part uri, duration, end)]) in seconds.
    type Part = (String, f64, f64);
    let mut timeline: Vec<(String, f64, f64, Vec<Part>)> = Vec::new();
    let mut t = 0u64;
    for (s, seg) in samples.chunks(per_part * parts_per_segment).enumerate() {
        let start = t as f64 / f64::from(rate);
        let mut parts = Vec::new();
        for (p, chunk) in seg.chunks(per_part).enumerate() {
            let d = 1024 * chunk.len() as u64;
            t += d;
            parts.push((
                format!("s{s}.{p}.m4s"),
                d as f64 / f64::from(rate),
                t as f64 / f64::from(rate),
            ));
        }
        timeline.push((
            format!("s{s}.m4s"),
            start,
            t as f64 / f64::from(rate),
            parts,
        ));
    }
    let part_target = (per_part * 1024) as f64 / f64::from(rate);
    let can_skip_until = 6.0;

    let delta_updates = Arc::new(AtomicUsize::new(0));
    let bad_requests = Arc::new(AtomicUsize::new(0));
    let (deltas, bad) = (delta_updates.clone(), bad_requests.clone());
    let started = std::time::Instant::now();
    let handler = move |path: &str, query: &str| -> Option<Dynamic> {
        if path != "live.m3u8" {
            return None;
        }
        let Ok(directives) = DeliveryDirectives::parse(query) else {
            bad.fetch_add(1, Ordering::Relaxed);
            return Some((400, "text/plain", b"bad directive".to_vec()));
        };
        let now = 10.0 + started.elapsed().as_secs_f64();
        let complete: Vec<_> = timeline.iter().filter(|s| s.2 <= now).collect();
        let open = timeline.get(complete.len());
        let ready: Vec<PartEntry> = open
            .map(|s| {
                s.3.iter()
                    .filter(|p| p.2 <= now)
                    .map(|p| PartEntry::independent(p.0.clone(), p.1))
                    .collect()
            })
            .unwrap_or_default();
        let hint = open
            .and_then(|s| s.3.get(ready.len()))
            .or_else(|| timeline.get(complete.len() + 1).map(|s| &s.3[0]))
            .map(|p| PreloadHint {
                map: false,
                uri: p.0.clone(),
                byterange_start: None,
                byterange_length: None,
            });
        let end =
            complete.last().map_or(0.0, |s| s.2) + ready.iter().map(|p| p.duration).sum::<f64>();
        let skipped = if directives.skip.is_some() {
            deltas.fetch_add(1, Ordering::Relaxed);
            complete
                .iter()
                .take_while(|s| s.2 <= end - can_skip_until)
                .count()
        } else {
            0
        };
        let n = complete.len();
        let segments = complete
            .iter()
            .enumerate()
            .skip(skipped)
            .map(|(i, s)| SegmentEntry {
                // parts only for the last few segments, as live servers list them
                parts: if i + 3 >= n {
                    s.3.iter()
                        .map(|p| PartEntry::independent(p.0.clone(), p.1))
                        .collect()
                } else {
                    Vec::new()
                },
                ..SegmentEntry::new(s.0.clone(), s.2 - s.1)
            })
            .collect();
        let playlist = MediaPlaylist {
            version: 6,
            target_duration: 1,
            media_sequence: 0,
            independent_segments: true,
            part_target: Some(part_target),
            server_control: Some(ServerControl {
                can_block_reload: false,
                part_hold_back: Some(3.0 * part_target),
                hold_back: None,
                can_skip_until: Some(can_skip_until),
                can_skip_dateranges: false,
            }),
            map_uri: Some("init.mp4".into()),
            skipped_segments: skipped as u64,
            segments,
            pending: Some(PendingSegment {
                parts: ready,
                ..PendingSegment::default()
            }),
            preload_hint: hint,
            ..MediaPlaylist::default()
        };
        Some((
            200,
            "application/vnd.apple.mpegurl",
            playlist.render().into_bytes(),
        ))
    };
    let (port, results) = serve(root.clone(), Box::new(handler));
    let script = r#"
const audio = document.createElement('audio');
audio.muted = true;
document.body.appendChild(audio);
const r = { errors: [], titles: [], skipped: 0, live: false };
const hls = new Hls({ lowLatencyMode: true, enableWorker: false });
let done = false, first = null, ticks = 0;
const finish = why => {
  if (done) return;
  done = true;
  r.why = why;
  r.played = first === null ? 0 : +(audio.currentTime - first).toFixed(1);
  hls.destroy();
  report(JSON.stringify(r));
};
const details = (e, d) => {
  r.live = d.details.live;
  r.skipped = Math.max(r.skipped, d.details.skippedSegments || 0);
};
hls.on(Hls.Events.LEVEL_LOADED, details);
hls.on(Hls.Events.LEVEL_UPDATED, details);
hls.on(Hls.Events.FRAG_PARSING_METADATA, (e, d) => d.samples.forEach(s => {
  const m = new TextDecoder().decode(s.data).match(/Song \d+/);
  if (m && !r.titles.includes(m[0])) r.titles.push(m[0]);
}));
hls.on(Hls.Events.ERROR, (e, d) => { r.errors.push(d.details); if (d.fatal) finish('fatal'); });
hls.on(Hls.Events.MANIFEST_PARSED, () => audio.play().catch(e => r.errors.push('play: ' + e)));
hls.loadSource('live.m3u8');
hls.attachMedia(audio);
setInterval(() => {
  if (first === null && audio.currentTime > 0) first = audio.currentTime;
  if (first !== null && audio.currentTime - first >= 3) finish('played');
  else if (++ticks > 600) finish('timeout');
}, 100);
"#;
    std::fs::write(
        root.join("live.html"),
        format!("<html><body><script src=hls.min.js></script><script>{REPORT}{script}</script></body></html>"),
    )
    .expect("page");
    let result = open_page(&root, port, &results, "live.html");
    println!("{result}");
    let json: serde_json::Value = serde_json::from_str(&result).expect("result json");
    assert_eq!(json["why"], "played", "{result}");
    assert_eq!(json["errors"], serde_json::json!([]), "{result}");
    assert_eq!(json["live"], true, "{result}");
    assert!(
        json["skipped"].as_u64().unwrap_or(0) > 0,
        "no delta update merged: {result}"
    );
    assert!(
        delta_updates.load(Ordering::Relaxed) > 0,
        "no _HLS_skip request"
    );
    assert_eq!(
        bad_requests.load(Ordering::Relaxed),
        0,
        "directives hls.js sent were refused"
    );
    assert!(
        json["titles"].as_array().map_or(0, Vec::len) >= 2,
        "{result}"
    );
}
