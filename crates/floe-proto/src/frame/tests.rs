//! Framer tests: hand-built fixtures (always run), random and truncated input, and real
//! streams made by ffmpeg (which must be installed: those tests fail without it).

use super::*;

/// A small deterministic PRNG (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// What a run of the framer produced.
pub(crate) struct Run {
    pub(crate) units: Vec<Unit>,
    pub(crate) stats: FramerStats,
    pub(crate) info: AudioInfo,
}

impl Run {
    fn total_us(&self) -> u64 {
        self.units.iter().map(|u| u.duration_us).sum()
    }
    fn kinds(&self) -> Vec<UnitKind> {
        self.units.iter().map(|u| u.kind).collect()
    }
    fn concat(&self) -> Vec<u8> {
        self.units
            .iter()
            .flat_map(|u| u.data.iter().copied())
            .collect()
    }
}

/// Feeds `input` in pieces whose sizes come from `piece`, draining units after each push, then
/// finishes. Checks that every byte is accounted for and that the buffer stays bounded.
pub(crate) fn run_with(
    format: StreamFormat,
    max_buffer: usize,
    input: &[u8],
    mut piece: impl FnMut() -> usize,
) -> Run {
    let mut f = Framer::new(format, max_buffer);
    let mut units = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = piece().clamp(1, rest.len());
        let (now, later) = rest.split_at(n);
        f.push(now);
        rest = later;
        while let Some(u) = f.next_unit() {
            units.push(u);
        }
        assert!(f.buffered() <= f.max_buffer, "held {} bytes", f.buffered());
    }
    while let Some(u) = f.finish() {
        units.push(u);
    }
    assert_eq!(f.buffered(), 0);
    let stats = f.stats();
    let emitted: u64 = units.iter().map(|u| u.data.len() as u64).sum();
    assert_eq!(
        emitted + stats.skipped_bytes,
        input.len() as u64,
        "bytes lost or invented"
    );
    assert!(stats.tag_bytes <= stats.skipped_bytes);
    assert!(units.iter().all(|u| !u.data.is_empty()), "empty unit");
    Run {
        units,
        stats,
        info: f.audio_info(),
    }
}

pub(crate) fn run(format: StreamFormat, input: &[u8], step: usize) -> Run {
    run_with(format, 1 << 20, input, || step)
}

pub(crate) fn run_random(format: StreamFormat, input: &[u8], seed: u64) -> Run {
    let mut rng = Rng::new(seed);
    run_with(format, 1 << 20, input, move || 1 + rng.below(3000))
}

// ---------------------------------------------------------------- MP3

/// An MP3 frame with the given header and a payload free of 0xFF bytes.
fn mp3_frame(header: [u8; 4], fill: u8) -> Vec<u8> {
    let len = mpeg::parse_mp3_header(&header).map_or(0, |h| h.len);
    let mut f = header.to_vec();
    f.extend((4..len).map(|i| (i as u8 ^ fill) % 0xF0));
    f
}

/// MPEG-1 layer III 128 kbit/s 44.1 kHz frames, alternately padded.
fn mp3_frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let b2 = if i % 2 == 1 { 0x92 } else { 0x90 };
            mp3_frame([0xFF, 0xFB, b2, 0x64], i as u8)
        })
        .collect()
}

fn id3_tag(body: usize) -> Vec<u8> {
    let mut t = b"ID3\x04\x00\x00".to_vec();
    t.extend([
        (body >> 21) as u8 & 0x7F,
        (body >> 14) as u8 & 0x7F,
        (body >> 7) as u8 & 0x7F,
        body as u8 & 0x7F,
    ]);
    // Tag contents that look like frame headers must not confuse the framer.
    t.extend((0..body).map(|i| if i % 7 == 0 { 0xFF } else { 0xFB }));
    t
}

#[test]
fn mp3_clean_with_id3_any_split() {
    let frames = mp3_frames(20);
    let mut input = id3_tag(300);
    input.extend(frames.concat());
    for step in [1, 2, 3, 5, 417, 418, 1000, input.len()] {
        let r = run(StreamFormat::Mp3, &input, step);
        assert_eq!(r.units.len(), 20, "step {step}");
        for (u, f) in r.units.iter().zip(&frames) {
            assert_eq!(&u.data[..], &f[..]);
            assert_eq!(u.kind, UnitKind::Sync);
        }
        assert_eq!(r.stats.skipped_bytes, 310);
        assert_eq!(r.stats.tag_bytes, 310);
        assert_eq!(r.stats.resyncs, 0);
        // 20 × 1152 / 44100 s, exactly rounded down.
        assert_eq!(r.total_us(), 20 * 1152 * 1_000_000 / 44_100);
        assert_eq!(r.units[0].duration_us, 26_122);
        assert_eq!(
            r.info,
            AudioInfo {
                sample_rate: 44_100,
                channels: 2,
                bitrate_kbps: 128
            }
        );
    }
}

#[test]
fn mp3_resyncs_after_garbage() {
    let frames = mp3_frames(20);
    let mut rng = Rng::new(7);
    let garbage = rng.bytes(1000);
    let mut input = frames[..10].concat();
    // Cut frame 10 short, then garbage, then the rest.
    input.extend_from_slice(&frames[10][..100]);
    input.extend_from_slice(&garbage);
    input.extend(frames[11..].concat());
    for step in [1, 7, 4096] {
        let r = run(StreamFormat::Mp3, &input, step);
        let want: Vec<&Vec<u8>> = frames[..10].iter().chain(&frames[11..]).collect();
        assert_eq!(r.units.len(), want.len());
        for (u, f) in r.units.iter().zip(want) {
            assert_eq!(&u.data[..], &f[..]);
        }
        assert_eq!(r.stats.skipped_bytes, 1100);
        assert_eq!(r.stats.tag_bytes, 0);
        assert_eq!(r.stats.resyncs, 1);
    }
}

#[test]
fn mp3_leading_garbage_is_not_a_resync() {
    let frames = mp3_frames(5);
    let mut input = vec![0xFF; 3];
    input.extend_from_slice(b"\xff\xfb\x90\x64junk");
    input.extend(frames.concat());
    let r = run(StreamFormat::Mp3, &input, 1);
    assert_eq!(r.units.len(), 5);
    assert_eq!(r.stats.skipped_bytes, 11);
    assert_eq!(r.stats.resyncs, 0);
}

#[test]
fn mp3_end_of_stream() {
    // A single frame is accepted at the end without a confirming header.
    let frame = mp3_frame([0xFF, 0xFB, 0x90, 0x64], 0);
    let r = run(StreamFormat::Mp3, &frame, 100);
    assert_eq!(r.units.len(), 1);
    // A truncated last frame is dropped and counted.
    let mut input = mp3_frames(3).concat();
    input.truncate(input.len() - 10);
    let r = run(StreamFormat::Mp3, &input, 100);
    assert_eq!(r.units.len(), 2);
    assert_eq!(r.stats.skipped_bytes, 417 - 10);
    // A truncated ID3 tag.
    let r = run(StreamFormat::Mp3, b"ID3\x04", 1);
    assert!(r.units.is_empty());
}

#[test]
fn mp3_id3v1_between_tracks_and_format_change() {
    let mut input = mp3_frames(4).concat();
    input.extend_from_slice(b"TAG");
    input.extend(std::iter::repeat_n(b' ', 125));
    input.extend(id3_tag(20));
    // A new track at 48 kHz mono.
    let other: Vec<Vec<u8>> = (0..4)
        .map(|i| mp3_frame([0xFF, 0xFB, 0x94, 0xC4], i))
        .collect();
    input.extend(other.concat());
    let r = run(StreamFormat::Mp3, &input, 13);
    assert_eq!(r.units.len(), 8);
    assert_eq!(r.stats.tag_bytes, 128 + 30);
    assert_eq!(r.stats.skipped_bytes, 128 + 30);
    assert_eq!(r.info.sample_rate, 48_000);
    assert_eq!(r.info.channels, 1);
}

// ---------------------------------------------------------------- ADTS

fn adts_frame(len: usize, rate_index: u8, fill: u8) -> Vec<u8> {
    let mut f = vec![
        0xFF,
        0xF1,
        0x40 | rate_index << 2,
        0x80 | (len >> 11) as u8,
        (len >> 3) as u8,
        ((len & 7) << 5) as u8 | 0x1F,
        0xFC,
    ];
    f.extend((7..len).map(|i| (i as u8 ^ fill) % 0xF0));
    f
}

#[test]
fn adts_clean_and_resync() {
    let frames: Vec<Vec<u8>> = (0..30)
        .map(|i| adts_frame(300 + i * 3, 4, i as u8))
        .collect();
    let mut input = frames[..15].concat();
    input.extend_from_slice(&Rng::new(3).bytes(777));
    input.extend(frames[15..].concat());
    for step in [1, 100, 5000] {
        let r = run(StreamFormat::Aac, &input, step);
        // The frame just before the garbage is not confirmed by a following header: dropped.
        let want: Vec<&Vec<u8>> = frames[..14].iter().chain(&frames[15..]).collect();
        assert_eq!(r.units.len(), want.len());
        for (u, f) in r.units.iter().zip(want) {
            assert_eq!(&u.data[..], &f[..]);
        }
        assert_eq!(r.stats.skipped_bytes, 777 + 342);
        assert_eq!(r.stats.resyncs, 1);
        assert_eq!(r.total_us(), 29 * 1024 * 1_000_000 / 44_100);
        assert_eq!(r.info.sample_rate, 44_100);
        assert_eq!(r.info.channels, 2);
        // About 343 bytes per 23.2 ms: ~118 kbit/s.
        assert!(
            (110..=125).contains(&r.info.bitrate_kbps),
            "{}",
            r.info.bitrate_kbps
        );
    }
}

// ---------------------------------------------------------------- Ogg

/// An Ogg page holding `packets` (the last one continues on the next page if `open`).
pub(crate) fn ogg_page(
    header_type: u8,
    granule: i64,
    serial: u32,
    seq: u32,
    packets: &[&[u8]],
    open: bool,
) -> Vec<u8> {
    let mut lacing = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        assert!(
            !(open && i + 1 == packets.len()) || p.len() % 255 == 0,
            "open packet size"
        );
        let mut n = p.len();
        while n >= 255 {
            lacing.push(255);
            n -= 255;
        }
        if !(open && i + 1 == packets.len()) {
            lacing.push(n as u8);
        }
    }
    let mut page = b"OggS\0".to_vec();
    page.push(header_type);
    page.extend(granule.to_le_bytes());
    page.extend(serial.to_le_bytes());
    page.extend(seq.to_le_bytes());
    page.extend([0; 4]);
    page.push(lacing.len() as u8);
    page.extend(&lacing);
    for p in packets {
        page.extend_from_slice(p);
    }
    let crc = ogg::page_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

fn opus_head(pre_skip: u16) -> Vec<u8> {
    let mut h = b"OpusHead\x01\x02".to_vec();
    h.extend(pre_skip.to_le_bytes());
    h.extend(48_000u32.to_le_bytes());
    h.extend([0, 0, 0]);
    h
}

/// An Ogg Opus stream: BOS, OpusTags, then `audio` pages of 3 × 20 ms.
fn opus_stream(serial: u32, audio: usize) -> Vec<Vec<u8>> {
    let mut pages = vec![
        ogg_page(2, 0, serial, 0, &[&opus_head(312)], false),
        ogg_page(0, 0, serial, 1, &[b"OpusTags\0\0\0\0\0\0\0\0"], false),
    ];
    let packet = vec![0x55u8; 120];
    for i in 0..audio {
        let granule = 312 + 2880 * (i as i64 + 1);
        let eos = if i + 1 == audio { 4 } else { 0 };
        pages.push(ogg_page(
            eos,
            granule,
            serial,
            2 + i as u32,
            &[&packet, &packet, &packet],
            false,
        ));
    }
    pages
}

#[test]
fn ogg_opus_headers_audio_and_chain() {
    let first = opus_stream(1, 10);
    let second = opus_stream(2, 5);
    let input = [first.concat(), second.concat()].concat();
    for step in [1, 50, 100_000] {
        let r = run(StreamFormat::Ogg, &input, step);
        assert_eq!(r.units.len(), 12 + 7);
        let mut want = vec![
            UnitKind::Header { first: true },
            UnitKind::Header { first: false },
        ];
        want.extend([UnitKind::Sync; 10]);
        want.extend([
            UnitKind::Header { first: true },
            UnitKind::Header { first: false },
        ]);
        want.extend([UnitKind::Sync; 5]);
        assert_eq!(r.kinds(), want);
        for (u, p) in r.units.iter().zip(first.iter().chain(&second)) {
            assert_eq!(&u.data[..], &p[..]);
        }
        // 60 ms per page, pre-skip not counted.
        assert_eq!(r.units[2].duration_us, 60_000);
        assert_eq!(r.total_us(), 15 * 60_000);
        assert_eq!(r.stats, FramerStats::default());
        assert_eq!(
            r.info,
            AudioInfo {
                sample_rate: 48_000,
                channels: 2,
                bitrate_kbps: 0
            }
        );
    }
}

#[test]
fn ogg_bad_crc_and_garbage_resync() {
    let pages = opus_stream(9, 8);
    let mut input = pages[..4].concat();
    let mut bad = pages[4].clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    input.extend_from_slice(&bad);
    input.extend_from_slice(b"garbage OggS garbage");
    input.extend(pages[5..].concat());
    let r = run(StreamFormat::Ogg, &input, 7);
    assert_eq!(r.units.len(), 9);
    assert_eq!(r.stats.skipped_bytes, (bad.len() + 20) as u64);
    assert_eq!(r.stats.resyncs, 1);
    // The page after the gap has its duration from the last granule seen: two pages' worth.
    assert_eq!(r.units[4].duration_us, 120_000);
}

#[test]
fn ogg_vorbis_counts_header_packets_and_continued_pages() {
    let mut id = b"\x01vorbis\0\0\0\0\x02".to_vec();
    id.extend(44_100u32.to_le_bytes());
    id.extend(0i32.to_le_bytes());
    id.extend(160_000i32.to_le_bytes());
    id.extend(0i32.to_le_bytes());
    id.extend([0xB8, 1]);
    let comment = b"\x03vorbis comment".to_vec();
    let setup = vec![5u8; 600];
    let big = vec![0x11u8; 700];
    let pages = [
        ogg_page(2, 0, 5, 0, &[&id], false),
        // The comment, and the setup header continued on the next page (granule -1).
        ogg_page(0, -1, 5, 1, &[&comment, &setup[..510]], true),
        ogg_page(1, 0, 5, 2, &[&setup[510..]], false),
        ogg_page(0, 4410, 5, 3, &[&[1u8; 50]], false),
        ogg_page(0, -1, 5, 4, &[&big[..510]], true),
        ogg_page(1, 8820, 5, 5, &[&big[510..]], false),
    ];
    let r = run(StreamFormat::Ogg, &pages.concat(), 33);
    assert_eq!(
        r.kinds(),
        vec![
            UnitKind::Header { first: true },
            UnitKind::Header { first: false },
            UnitKind::Header { first: false },
            UnitKind::Sync,
            UnitKind::Sync,
            UnitKind::Continuation,
        ]
    );
    let durations: Vec<u64> = r.units.iter().map(|u| u.duration_us).collect();
    assert_eq!(durations, vec![0, 0, 0, 100_000, 0, 100_000]);
    assert_eq!(
        r.info,
        AudioInfo {
            sample_rate: 44_100,
            channels: 2,
            bitrate_kbps: 160
        }
    );
}

#[test]
fn ogg_unknown_codec_uses_granule_rule() {
    let pages = [
        ogg_page(2, 0, 3, 0, &[b"\x00mystery"], false),
        ogg_page(0, 0, 3, 1, &[b"more header"], false),
        ogg_page(0, -1, 3, 2, &[&[7u8; 255]], true),
        ogg_page(0, 100, 3, 3, &[b"audio"], false),
        ogg_page(0, 0, 3, 4, &[b"audio again"], false),
    ];
    let r = run(StreamFormat::Ogg, &pages.concat(), 5);
    assert_eq!(
        r.kinds(),
        vec![
            UnitKind::Header { first: true },
            UnitKind::Header { first: false },
            UnitKind::Header { first: false },
            UnitKind::Sync,
            UnitKind::Sync,
        ]
    );
    assert_eq!(r.info, AudioInfo::default());
    // Pages of a stream whose BOS was never seen are audio.
    let r = run(StreamFormat::Ogg, &pages[3..].concat(), 5);
    assert_eq!(r.kinds(), vec![UnitKind::Sync, UnitKind::Sync]);
}

#[test]
fn ogg_multiplexed_bos_pages() {
    // Skeleton-like stream plus Opus: two BOS pages in a row, one header set.
    let skeleton = ogg_page(2, 0, 77, 0, &[b"fishead\0 rest"], false);
    let opus = opus_stream(1, 2);
    let input = [skeleton, opus.concat()].concat();
    let r = run(StreamFormat::Ogg, &input, 64);
    assert_eq!(
        r.kinds(),
        vec![
            UnitKind::Header { first: true },
            UnitKind::Header { first: false },
            UnitKind::Header { first: false },
            UnitKind::Sync,
            UnitKind::Sync,
        ]
    );
    assert_eq!(r.info.sample_rate, 48_000);
}

// ---------------------------------------------------------------- WebM

fn vint_size(n: usize) -> Vec<u8> {
    let mut v = vec![0x01];
    v.extend(&(n as u64).to_be_bytes()[1..]);
    v
}

fn id_bytes(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

pub(crate) fn ebml(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut e = id_bytes(id);
    e.extend(vint_size(payload.len()));
    e.extend_from_slice(payload);
    e
}

fn unknown_size(id: u32) -> Vec<u8> {
    let mut e = id_bytes(id);
    e.push(0xFF);
    e
}

/// EBML header, Segment of unknown size, Info, Tracks with one Opus audio track.
pub(crate) fn webm_header() -> Vec<u8> {
    let mut h = ebml(0x1A45_DFA3, &ebml(0x4282, b"webm"));
    h.extend(unknown_size(0x1853_8067));
    h.extend(ebml(0x1549_A966, &ebml(0x2AD7B1, &[0x0F, 0x42, 0x40])));
    let audio = [ebml(0xB5, &48_000f64.to_be_bytes()), ebml(0x9F, &[2])].concat();
    let entry = [
        ebml(0xD7, &[1]),
        ebml(0x83, &[2]),
        ebml(0x86, b"A_OPUS"),
        ebml(0xE1, &audio),
    ]
    .concat();
    h.extend(ebml(0x1654_AE6B, &ebml(0xAE, &entry)));
    h
}

fn simple_block(len: usize, fill: u8) -> Vec<u8> {
    let mut payload = vec![0x81, 0, 0, 0x80];
    payload.resize(len, fill);
    ebml(0xA3, &payload)
}

/// A cluster of unknown size with a timecode and `blocks` blocks of `block` bytes.
pub(crate) fn webm_cluster(timecode: u8, blocks: usize, block: usize) -> Vec<u8> {
    let mut c = unknown_size(0x1F43_B675);
    c.extend(ebml(0xE7, &[timecode]));
    for i in 0..blocks {
        c.extend(simple_block(block, i as u8));
    }
    c
}

#[test]
fn webm_unknown_size_clusters() {
    let header = webm_header();
    let clusters = [
        webm_cluster(0, 10, 200),
        webm_cluster(1, 200, 300),
        // One block larger than a unit.
        [webm_cluster(2, 1, 100), simple_block(40_000, 9)].concat(),
    ];
    let cues = ebml(0x1C53_BB6B, &[0; 50]);
    let input = [header.clone(), clusters.concat(), cues.clone()].concat();
    for step in [1, 999, 1 << 20] {
        let r = run(StreamFormat::WebM, &input, step);
        assert_eq!(r.concat(), input);
        assert_eq!(r.stats, FramerStats::default());
        assert_eq!(r.units[0].kind, UnitKind::Header { first: true });
        assert_eq!(&r.units[0].data[..], &header[..]);
        assert!(r.units.iter().all(|u| u.data.len() <= WEBM_MAX_UNIT));
        // Sync units are exactly the cluster starts.
        let mut offset = 0;
        let mut sync_offsets = Vec::new();
        for u in &r.units {
            if u.kind == UnitKind::Sync {
                assert!(u.data.starts_with(&[0x1F, 0x43, 0xB6, 0x75]));
                sync_offsets.push(offset);
            }
            offset += u.data.len();
        }
        let c0 = header.len();
        let c1 = c0 + clusters[0].len();
        let c2 = c1 + clusters[1].len();
        assert_eq!(sync_offsets, vec![c0, c1, c2]);
        assert!(r.units.iter().all(|u| u.duration_us == 0));
        assert_eq!(r.info.sample_rate, 48_000);
        assert_eq!(r.info.channels, 2);
        if step > 1 {
            // Whole blocks: the 60 KB cluster is cut into units of whole blocks.
            assert!(r.units.len() >= 10, "{} units", r.units.len());
        }
    }
}

#[test]
fn webm_known_size_clusters_and_garbage() {
    let header = webm_header();
    let mut cluster_body = ebml(0xE7, &[5]);
    for i in 0..5 {
        cluster_body.extend(simple_block(100, i));
    }
    let known = ebml(0x1F43_B675, &cluster_body);
    let input = [
        header.clone(),
        known.clone(),
        b"\x00\x00garbage\x1f\x43".to_vec(),
        webm_cluster(7, 3, 50),
        known.clone(),
    ]
    .concat();
    let r = run(StreamFormat::WebM, &input, 10);
    let syncs = r.units.iter().filter(|u| u.kind == UnitKind::Sync).count();
    assert_eq!(syncs, 3);
    assert_eq!(r.stats.skipped_bytes, 11);
    assert_eq!(r.stats.resyncs, 1);
    // A stream that begins mid-cluster: skipped up to the next cluster.
    let r = run(StreamFormat::WebM, &input[header.len() + 30..], 10);
    assert_eq!(r.units.first().map(|u| u.kind), Some(UnitKind::Sync));
}

#[test]
fn webm_new_header_mid_stream_and_truncated_tail() {
    let one = [webm_header(), webm_cluster(0, 3, 100)].concat();
    let mut input = [one.clone(), one].concat();
    input.truncate(input.len() - 50);
    let r = run(StreamFormat::WebM, &input, 1);
    let headers = r
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Header { first: true })
        .count();
    assert_eq!(headers, 2);
    // The truncated tail of the last cluster is passed on at the end.
    assert_eq!(r.concat(), input);
}

#[test]
fn webm_oversized_header_is_dropped() {
    let mut input = ebml(0x1A45_DFA3, &ebml(0x4282, b"webm"));
    input.extend(unknown_size(0x1853_8067));
    input.extend(ebml(0xEC, &vec![0; 200_000]));
    input.extend(webm_cluster(0, 3, 100));
    let r = run_with(StreamFormat::WebM, 0, &input, || 4096);
    assert!(r.stats.skipped_bytes > 100_000);
    assert_eq!(r.units.first().map(|u| u.kind), Some(UnitKind::Sync));
}

// ---------------------------------------------------------------- Opaque and misc

#[test]
fn opaque_pieces() {
    let mut f = Framer::new(StreamFormat::Opaque, 10);
    f.push(b"abc");
    f.push(b"");
    f.push(b"defg");
    assert_eq!(
        f.next_unit().map(|u| u.data),
        Some(Bytes::from_static(b"abc"))
    );
    assert_eq!(
        f.next_unit().map(|u| (u.data, u.kind)),
        Some((Bytes::from_static(b"defg"), UnitKind::Sync))
    );
    assert_eq!(f.next_unit(), None);
    // Queued past max_buffer: the oldest pieces go.
    f.push(b"123456");
    f.push(b"789012");
    assert_eq!(f.stats().skipped_bytes, 6);
    assert_eq!(f.buffered(), 6);
    assert_eq!(
        f.finish().map(|u| u.data),
        Some(Bytes::from_static(b"789012"))
    );
    assert_eq!(f.finish(), None);
}

#[test]
fn content_types() {
    use StreamFormat::*;
    for (ct, want) in [
        ("audio/mpeg", Mp3),
        ("Audio/MPEG; charset=x", Mp3),
        ("audio/mp3", Mp3),
        ("audio/aacp", Aac),
        ("audio/x-hx-aac-adts", Aac),
        ("application/ogg", Ogg),
        ("audio/ogg; codecs=opus", Ogg),
        ("audio/opus", Ogg),
        ("audio/webm;codecs=opus", WebM),
        ("video/x-matroska", WebM),
        ("audio/flac", Opaque),
        ("audio/wav", Opaque),
        ("", Opaque),
    ] {
        assert_eq!(StreamFormat::from_content_type(ct), want, "{ct}");
    }
}

const FORMATS: [StreamFormat; 5] = [
    StreamFormat::Mp3,
    StreamFormat::Aac,
    StreamFormat::Ogg,
    StreamFormat::WebM,
    StreamFormat::Opaque,
];

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(42);
    for round in 0..40 {
        let mut input = rng.bytes(20_000);
        // Sprinkle sync-looking patterns so the parsers get past their first checks.
        for _ in 0..200 {
            let at = rng.below(input.len() - 8);
            let pattern: &[u8] = match rng.below(6) {
                0 => b"\xff\xfb\x90\x64",
                1 => b"\xff\xf1\x50\x80",
                2 => b"OggS\0",
                3 => b"\x1f\x43\xb6\x75",
                4 => b"\x1a\x45\xdf\xa3",
                _ => b"ID3\x04\0\0",
            };
            input[at..at + pattern.len()].copy_from_slice(pattern);
        }
        for format in FORMATS {
            let _ = run_random(format, &input, round);
            let _ = run_with(format, 0, &input, || 1 + round as usize);
        }
    }
}

#[test]
fn mutated_and_truncated_fixtures_never_panic() {
    let fixtures: Vec<(StreamFormat, Vec<u8>)> = vec![
        (
            StreamFormat::Mp3,
            [id3_tag(50), mp3_frames(6).concat()].concat(),
        ),
        (
            StreamFormat::Aac,
            (0..6).flat_map(|i| adts_frame(200, 3, i)).collect(),
        ),
        (StreamFormat::Ogg, opus_stream(1, 4).concat()),
        (
            StreamFormat::WebM,
            [
                webm_header(),
                webm_cluster(0, 4, 100),
                webm_cluster(1, 2, 20_000),
            ]
            .concat(),
        ),
    ];
    let mut rng = Rng::new(1);
    for (format, clean) in &fixtures {
        // Every truncation.
        for cut in (0..clean.len()).step_by(7) {
            let _ = run(*format, &clean[..cut], 64);
        }
        // Random mutations.
        for seed in 0..200 {
            let mut m = clean.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(m.len());
                match rng.below(3) {
                    0 => m[at] ^= 1 << rng.below(8),
                    1 => m[at] = rng.next_u64() as u8,
                    _ => {
                        let len = rng.below(40).min(m.len() - at);
                        m.drain(at..at + len);
                    }
                }
            }
            let _ = run_random(*format, &m, seed);
        }
    }
}

// ---------------------------------------------------------------- real streams from ffmpeg

mod ffmpeg {
    use super::*;
    use std::process::Command;

    /// 2 s of a 440 Hz sine encoded by ffmpeg with `args`, written to stdout.
    fn encode(args: &[&str]) -> Vec<u8> {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
            .args(args)
            .arg("pipe:1")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "these fixture tests need ffmpeg on PATH (apt-get install ffmpeg); \
                     running it failed: {e}"
                )
            });
        assert!(
            out.status.success(),
            "ffmpeg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "ffmpeg {args:?} wrote nothing");
        out.stdout
    }

    /// How many packets (frames) ffprobe, the reference demuxer, finds in `data`.
    fn ffprobe_packets(data: &[u8]) -> usize {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = Command::new("ffprobe")
            .args(["-v", "error", "-count_packets", "-select_streams", "a:0"])
            .args([
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "csv=p=0",
                "-i",
                "pipe:0",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("these fixture tests need ffprobe (apt-get install ffmpeg): {e}")
            });
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(data).expect("write to ffprobe");
        }
        let out = child.wait_with_output().expect("ffprobe runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "ffprobe said {text:?} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Overwrites `len` bytes in the middle with noise.
    fn corrupt(clean: &[u8], len: usize) -> Vec<u8> {
        let mut c = clean.to_vec();
        let at = c.len() / 2;
        let noise = Rng::new(99).bytes(len);
        c[at..at + len].copy_from_slice(&noise);
        c
    }

    /// Checks a clean run, then a corrupted one: it must resync and end with the same units.
    fn sync_offsets(r: &Run) -> Vec<usize> {
        let mut offset = 0;
        let mut out = Vec::new();
        for u in &r.units {
            if u.kind == UnitKind::Sync {
                out.push(offset);
            }
            offset += u.data.len();
        }
        out
    }

    fn check(format: StreamFormat, data: &[u8], max_frame_us: u64) -> Run {
        let clean = run_random(format, data, 5);
        assert_eq!(
            clean.stats.skipped_bytes, clean.stats.tag_bytes,
            "a clean stream has nothing to skip but tags"
        );
        assert_eq!(clean.stats.resyncs, 0);
        let bytewise = run(format, data, 1);
        if format == StreamFormat::WebM {
            // WebM units are cut where the bytes ran out; the stream and its joins are the same.
            assert_eq!(bytewise.concat(), clean.concat());
            assert_eq!(sync_offsets(&bytewise), sync_offsets(&clean));
        } else {
            assert!(
                bytewise.units == clean.units,
                "byte-by-byte feeding cuts the same units"
            );
        }
        let total = clean.total_us();
        if max_frame_us > 0 {
            assert!(
                total.abs_diff(2_000_000) <= max_frame_us,
                "total duration {total} µs is not within a frame ({max_frame_us} µs) of 2 s"
            );
        }
        let damaged = run_random(format, &corrupt(data, 300), 6);
        assert!(damaged.stats.skipped_bytes > clean.stats.skipped_bytes);
        assert!(damaged.stats.resyncs >= 1, "{:?}", damaged.stats);
        // The units after the damage are the same (durations may differ by a rounding µs).
        let tail = 5;
        assert!(
            damaged.units.len() > tail && clean.units.len() > tail,
            "{} units",
            clean.units.len()
        );
        if format == StreamFormat::WebM {
            // Compare the bytes from the last cluster start on.
            let last = |r: &Run| {
                let all = r.concat();
                let from = sync_offsets(r).last().copied().unwrap_or(0);
                all[from..].to_vec()
            };
            assert!(last(&damaged) == last(&clean), "the last cluster differs");
        } else {
            let cut = |r: &Run| -> Vec<(Bytes, UnitKind)> {
                r.units[r.units.len() - tail..]
                    .iter()
                    .map(|u| (u.data.clone(), u.kind))
                    .collect()
            };
            assert!(
                cut(&damaged) == cut(&clean),
                "the units after the damage differ"
            );
        }
        clean
    }

    #[test]
    fn mp3_lame() {
        let data = encode(&["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]);
        let r = check(StreamFormat::Mp3, &data, 0);
        assert_eq!(
            r.units.len(),
            ffprobe_packets(&data),
            "frames found by ffprobe"
        );
        assert!(r.units.iter().all(|u| u.kind == UnitKind::Sync));
        assert_eq!(
            r.info,
            AudioInfo {
                sample_rate: 44_100,
                channels: 1,
                bitrate_kbps: 128
            }
        );
        // LAME adds its encoder delay and padding (and ffmpeg an Info frame): the frames
        // cover 2 s plus at most three frames.
        let frame = 1152 * 1_000_000 / 44_100;
        let total = r.total_us();
        assert!(
            (2_000_000..=2_000_000 + 3 * frame).contains(&total),
            "{total}"
        );
    }

    #[test]
    fn aac_adts() {
        let data = encode(&["-c:a", "aac", "-b:a", "96k", "-f", "adts"]);
        let r = check(StreamFormat::Aac, &data, 0);
        assert_eq!(
            r.units.len(),
            ffprobe_packets(&data),
            "frames found by ffprobe"
        );
        assert_eq!(r.info.sample_rate, 44_100);
        assert_eq!(r.info.channels, 1);
        // The AAC encoder's priming frame plus the last partial frame.
        let frame = 1024 * 1_000_000 / 44_100;
        let total = r.total_us();
        assert!(
            (2_000_000..=2_000_000 + 2 * frame).contains(&total),
            "{total}"
        );
    }

    fn check_ogg(args: &[&str], rate: u32, headers: usize) -> Run {
        let data = encode(args);
        // A frame at most 120 ms (Opus) or one FLAC block / Vorbis page.
        let r = check(StreamFormat::Ogg, &data, 120_000);
        let kinds = r.kinds();
        assert_eq!(kinds.first(), Some(&UnitKind::Header { first: true }));
        let n_headers = kinds
            .iter()
            .take_while(|k| matches!(k, UnitKind::Header { .. }))
            .count();
        assert_eq!(n_headers, headers, "{kinds:?}");
        assert!(kinds[n_headers..].iter().all(|k| *k == UnitKind::Sync));
        assert_eq!(r.info.sample_rate, rate);
        assert_eq!(r.info.channels, 1);
        r
    }

    #[test]
    fn ogg_opus() {
        check_ogg(
            &[
                "-c:a",
                "libopus",
                "-b:a",
                "64k",
                "-page_duration",
                "100000",
                "-f",
                "ogg",
            ],
            48_000,
            2,
        );
    }

    #[test]
    fn ogg_vorbis() {
        let r = check_ogg(
            &[
                "-c:a",
                "libvorbis",
                "-q:a",
                "3",
                "-page_duration",
                "100000",
                "-f",
                "ogg",
            ],
            44_100,
            2,
        );
        assert!(r.info.bitrate_kbps > 0);
    }

    #[test]
    fn ogg_flac() {
        check_ogg(
            &["-c:a", "flac", "-page_duration", "100000", "-f", "ogg"],
            44_100,
            2,
        );
    }

    #[test]
    fn webm_opus() {
        let data = encode(&[
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
            "-cluster_time_limit",
            "400",
            "-f",
            "webm",
        ]);
        let r = check(StreamFormat::WebM, &data, 0);
        assert_eq!(r.concat(), data);
        assert_eq!(r.units[0].kind, UnitKind::Header { first: true });
        let syncs = r.units.iter().filter(|u| u.kind == UnitKind::Sync).count();
        assert!(syncs >= 4, "{syncs} clusters");
        assert_eq!(r.info.sample_rate, 48_000);
        assert_eq!(r.info.channels, 1);
    }
}
