//! From a mount's framed units to codec access units: what a segment holds as samples.
//!
//! The mount's framer ([`floe_proto::frame::Framer`]) cuts whole ADTS frames, MP3 frames and Ogg
//! pages. An [`Unpacker`] turns them into [`AccessUnit`]s with their duration in samples, and
//! reports the track's configuration ([`Track`]) whenever it is first known or changes:
//! - AAC: the ADTS header is stripped; the AudioSpecificConfig is built from it (HE-AAC is
//!   signalled explicitly when the mount's content type says `aacp`, as ADTS cannot say it).
//! - MP3: frames are samples as they are; MPEG-1 Layer III is 1152 samples, MPEG-2/2.5 576.
//! - Ogg Opus: packets are reassembled from pages (lacing), `OpusHead` gives the configuration,
//!   `OpusTags` is skipped, each packet's duration comes from its TOC byte (RFC 6716 3.1).
//! - Ogg FLAC: the `\x7FFLAC` mapping header gives STREAMINFO; each audio packet is one FLAC
//!   frame whose block size is read from its header.
//!
//! Pure: bytes in, units out; bad input is skipped and counted, never a panic.

use bytes::{Buf, Bytes, BytesMut};
use floe_media::mux::fmp4::{AudioCodec, Sample, TrackConfig};
use floe_media::mux::ts::TsCodec;
use floe_proto::frame::{parse_adts_header, parse_mp3_header, StreamFormat, Unit};

/// Largest Ogg packet reassembled from pages; a longer one is dropped (an Opus packet is at
/// most 120 ms, a FLAC frame well under this).
pub const MAX_OGG_PACKET: usize = 1 << 20;

/// The codec a mount carries, as segments need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// What the fMP4 init segment declares.
    pub config: TrackConfig,
    /// The MPEG-TS form, for AAC (ADTS) and MP3.
    pub ts: Option<TsCodec>,
}

/// One codec packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// The packet as fMP4 carries it (raw AAC, MP3 frame, Opus packet, FLAC frame).
    pub data: Bytes,
    /// The frame as a transport stream carries it (the whole ADTS frame), for TS codecs.
    pub ts_data: Option<Bytes>,
    /// Duration in the track's timescale.
    pub duration: u32,
}

impl AccessUnit {
    /// The unit as an fMP4 sample.
    pub fn sample(&self) -> Sample<'_> {
        Sample {
            data: &self.data,
            duration: self.duration,
        }
    }
}

/// An Ogg packet as an access unit of `samples` (no TS form), or `None` when its duration is
/// unknown (`samples` is `None`).
fn ogg_unit(packet: Vec<u8>, samples: Option<u32>) -> Option<Unpacked> {
    samples.map(|duration| {
        Unpacked::Unit(AccessUnit {
            data: Bytes::from(packet),
            ts_data: None,
            duration,
        })
    })
}

/// What an [`Unpacker`] found in a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpacked {
    /// The track's configuration is (now) this: a new init segment if it differs.
    Track(Track),
    /// A packet of the current track.
    Unit(AccessUnit),
}

/// Turns framed units of one stream format into access units.
#[derive(Debug)]
pub struct Unpacker {
    kind: Kind,
    he_aac: bool,
    track: Option<Track>,
    /// Units that could not be used (bad headers, unsupported layouts).
    pub skipped: u64,
}

#[derive(Debug)]
enum Kind {
    Adts,
    Mp3,
    Ogg(OggState),
    Unsupported,
}

#[derive(Debug, Default)]
struct OggState {
    serial: Option<u32>,
    /// The packet carried over from the previous page.
    partial: Vec<u8>,
    codec: OggCodec,
    /// Header packets still expected before audio (Opus: OpusTags; FLAC: the count in the
    /// mapping header).
    headers_left: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum OggCodec {
    #[default]
    Unknown,
    Opus,
    Flac,
    /// A codec with no CMAF form here (Vorbis, Speex...).
    Other,
}

impl Unpacker {
    /// An unpacker for a mount of `format` whose source sent `content_type`.
    pub fn new(format: StreamFormat, content_type: &str) -> Unpacker {
        let kind = match format {
            StreamFormat::Aac => Kind::Adts,
            StreamFormat::Mp3 => Kind::Mp3,
            StreamFormat::Ogg => Kind::Ogg(OggState::default()),
            StreamFormat::WebM | StreamFormat::Opaque => Kind::Unsupported,
        };
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Unpacker {
            kind,
            he_aac: essence.ends_with("aacp"),
            track: None,
            skipped: 0,
        }
    }

    /// False for formats that can never give a track (WebM, opaque streams).
    pub fn supported(&self) -> bool {
        !matches!(self.kind, Kind::Unsupported)
    }

    /// The current track, once known.
    pub fn track(&self) -> Option<&Track> {
        self.track.as_ref()
    }

    /// Appends what `unit` holds to `out`.
    pub fn push(&mut self, unit: &Unit, out: &mut Vec<Unpacked>) {
        match &mut self.kind {
            Kind::Adts => self.adts(&unit.data, out),
            Kind::Mp3 => self.mp3(&unit.data, out),
            Kind::Ogg(_) => self.ogg(unit, out),
            Kind::Unsupported => {}
        }
    }

    fn set_track(&mut self, track: Track, out: &mut Vec<Unpacked>) {
        if self.track.as_ref() != Some(&track) {
            self.track = Some(track.clone());
            out.push(Unpacked::Track(track));
        }
    }

    fn adts(&mut self, frame: &Bytes, out: &mut Vec<Unpacked>) {
        let Some(header) = parse_adts_header(frame) else {
            self.skipped += 1;
            return;
        };
        // More than one raw data block per frame has no one-sample form.
        if header.samples != 1024 || frame.len() <= header.header_len {
            self.skipped += 1;
            return;
        }
        let Ok(config) = TrackConfig::from_adts(&frame[..7], self.he_aac) else {
            self.skipped += 1;
            return;
        };
        let track = Track {
            config,
            ts: Some(TsCodec::AdtsAac),
        };
        self.set_track(track, out);
        out.push(Unpacked::Unit(AccessUnit {
            data: frame.slice(header.header_len..),
            ts_data: Some(frame.clone()),
            duration: if self.he_aac { 2048 } else { 1024 },
        }));
    }

    fn mp3(&mut self, frame: &Bytes, out: &mut Vec<Unpacked>) {
        let Some(header) = parse_mp3_header(frame) else {
            self.skipped += 1;
            return;
        };
        let rate = header.sample_rate;
        let track = Track {
            config: TrackConfig {
                codec: AudioCodec::Mp3,
                sample_rate: rate,
                channels: u16::from(header.channels),
                timescale: rate,
            },
            ts: Some(TsCodec::Mp3),
        };
        self.set_track(track, out);
        out.push(Unpacked::Unit(AccessUnit {
            data: frame.clone(),
            ts_data: Some(frame.clone()),
            duration: header.samples,
        }));
    }

    fn ogg(&mut self, unit: &Unit, out: &mut Vec<Unpacked>) {
        let Some(page) = OggPage::parse(&unit.data) else {
            self.skipped += 1;
            return;
        };
        let Kind::Ogg(state) = &mut self.kind else {
            return;
        };
        if page.bos || state.serial != Some(page.serial) {
            // A new logical stream (a chain after a title update, or a new source).
            *state = OggState {
                serial: Some(page.serial),
                ..OggState::default()
            };
        }
        let mut packets = Vec::new();
        let mut offset = page.body_start;
        // A packet continued from a page never seen: drop its tail.
        let mut skip_first = page.continued && state.partial.is_empty();
        let mut current = std::mem::take(&mut state.partial);
        if !page.continued {
            current.clear();
        }
        for &lace in &page.lacing {
            let end = offset + usize::from(lace);
            let Some(piece) = unit.data.get(offset..end) else {
                self.skipped += 1;
                return;
            };
            if current.len() + piece.len() <= MAX_OGG_PACKET {
                current.extend_from_slice(piece);
            }
            offset = end;
            if lace < 255 {
                let packet = std::mem::take(&mut current);
                if !std::mem::take(&mut skip_first) {
                    packets.push(packet);
                }
            }
        }
        state.partial = current;
        for packet in packets {
            self.ogg_packet(packet, out);
        }
    }

    fn ogg_packet(&mut self, packet: Vec<u8>, out: &mut Vec<Unpacked>) {
        let Kind::Ogg(state) = &mut self.kind else {
            return;
        };
        match state.codec {
            OggCodec::Unknown => {
                if packet.starts_with(b"OpusHead") {
                    match TrackConfig::from_opus_head(&packet) {
                        Ok(config) => {
                            state.codec = OggCodec::Opus;
                            state.headers_left = 1;
                            self.set_track(Track { config, ts: None }, out);
                        }
                        Err(_) => state.codec = OggCodec::Other,
                    }
                } else if packet.len() >= 51 && packet.starts_with(b"\x7FFLAC") {
                    // 0x7F "FLAC" major minor, header count (2 bytes), "fLaC", block header
                    // (4 bytes), STREAMINFO (34 bytes).
                    let headers = u32::from(u16::from_be_bytes([packet[7], packet[8]]));
                    let mut streaminfo = [0u8; 34];
                    streaminfo.copy_from_slice(&packet[17..51]);
                    let rate = (u32::from(streaminfo[10]) << 12)
                        | (u32::from(streaminfo[11]) << 4)
                        | (u32::from(streaminfo[12]) >> 4);
                    let channels = u16::from((streaminfo[12] >> 1) & 7) + 1;
                    if rate == 0 {
                        state.codec = OggCodec::Other;
                        return;
                    }
                    state.codec = OggCodec::Flac;
                    state.headers_left = headers;
                    self.set_track(
                        Track {
                            config: TrackConfig {
                                codec: AudioCodec::Flac { streaminfo },
                                sample_rate: rate,
                                channels,
                                timescale: rate,
                            },
                            ts: None,
                        },
                        out,
                    );
                } else {
                    state.codec = OggCodec::Other;
                }
            }
            OggCodec::Opus => {
                if state.headers_left > 0 {
                    state.headers_left -= 1;
                    return;
                }
                let samples = opus_packet_samples(&packet);
                match ogg_unit(packet, samples) {
                    Some(unit) => out.push(unit),
                    None => self.skipped += 1,
                }
            }
            OggCodec::Flac => {
                // Header packets (VORBIS_COMMENT...) start with a metadata block type, never
                // with the frame sync 0xFFF8.
                if packet.len() >= 2 && packet[0] == 0xFF && packet[1] & 0xFE == 0xF8 {
                    let samples = flac_frame_samples(&packet);
                    match ogg_unit(packet, samples) {
                        Some(unit) => out.push(unit),
                        None => self.skipped += 1,
                    }
                } else if state.headers_left > 0 {
                    state.headers_left -= 1;
                }
            }
            OggCodec::Other => {}
        }
    }
}

/// Splits an already frame-aligned MP3 or ADTS stream (a mount's ring, which the ingest
/// framer has validated) by the lengths in the frame headers. Unlike the ingest framer, it does
/// not wait for the next frame's header to confirm a frame: a frame is out as soon as its last
/// byte is in, which saves one frame duration of latency. Bytes that do not start a valid
/// header (an intro file's tag) are skipped one at a time and counted.
#[derive(Debug)]
pub struct FrameSplitter {
    adts: bool,
    buf: BytesMut,
    /// Bytes skipped while looking for a header.
    pub skipped: u64,
}

impl FrameSplitter {
    /// A splitter for MP3 or ADTS; `None` for other formats (Ogg pages need no splitting).
    pub fn new(format: StreamFormat) -> Option<FrameSplitter> {
        let adts = match format {
            StreamFormat::Aac => true,
            StreamFormat::Mp3 => false,
            _ => return None,
        };
        Some(FrameSplitter {
            adts,
            buf: BytesMut::new(),
            skipped: 0,
        })
    }

    /// Appends stream bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if all of it is in.
    pub fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if self.buf.len() < 7 {
                return None;
            }
            let header = if self.adts {
                parse_adts_header(&self.buf)
            } else {
                parse_mp3_header(&self.buf)
            };
            match header.map(|h| h.len) {
                Some(len) if self.buf.len() >= len => {
                    return Some(self.buf.split_to(len).freeze());
                }
                Some(_) => return None,
                None => {
                    self.buf.advance(1);
                    self.skipped += 1;
                }
            }
        }
    }
}

/// The fields of an Ogg page header a reader of packets needs.
struct OggPage {
    continued: bool,
    bos: bool,
    serial: u32,
    lacing: Vec<u8>,
    body_start: usize,
}

impl OggPage {
    /// Parses a whole page as the framer cut it (its CRC was checked there).
    fn parse(data: &[u8]) -> Option<OggPage> {
        if data.len() < 27 || &data[..4] != b"OggS" {
            return None;
        }
        let segments = usize::from(data[26]);
        let lacing = data.get(27..27 + segments)?.to_vec();
        let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        if data.len() < 27 + segments + body {
            return None;
        }
        Some(OggPage {
            continued: data[5] & 1 != 0,
            bos: data[5] & 2 != 0,
            serial: u32::from_le_bytes([data[14], data[15], data[16], data[17]]),
            lacing,
            body_start: 27 + segments,
        })
    }
}

/// Samples (at 48 kHz) an Opus packet decodes to, from its TOC byte and frame count
/// (RFC 6716 section 3.1); `None` for an empty or malformed packet.
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    let total = frame * frames;
    // At most 120 ms per packet.
    (frames > 0 && total <= 5760).then_some(total)
}

/// The block size (samples per channel) of a FLAC frame, from its header.
pub fn flac_frame_samples(frame: &[u8]) -> Option<u32> {
    if frame.len() < 5 || frame[0] != 0xFF || frame[1] & 0xFE != 0xF8 {
        return None;
    }
    let code = frame[2] >> 4;
    // The UTF-8 coded frame/sample number after the 4 fixed bytes.
    let lead = frame[4];
    let number_len = match lead.leading_ones() {
        0 => 1,
        n @ 2..=7 => n as usize,
        _ => return None,
    };
    let extra = 4 + number_len;
    match code {
        1 => Some(192),
        2..=5 => Some(576 << (code - 2)),
        6 => frame.get(extra).map(|&b| u32::from(b) + 1),
        7 => {
            let b = frame.get(extra..extra + 2)?;
            Some(u32::from(u16::from_be_bytes([b[0], b[1]])) + 1)
        }
        8..=15 => Some(256 << (code - 8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_proto::frame::UnitKind;

    fn unit(data: Vec<u8>) -> Unit {
        Unit {
            data: Bytes::from(data),
            kind: UnitKind::Sync,
            duration_us: 0,
        }
    }

    /// An ADTS frame: AAC-LC, 44.1 kHz, stereo, no CRC, with `payload`.
    fn adts(payload: &[u8]) -> Vec<u8> {
        let len = 7 + payload.len();
        let mut f = vec![
            0xFF,
            0xF1,
            (1 << 6) | (4 << 2),
            (2 << 6) | ((len >> 11) as u8 & 3),
            (len >> 3) as u8,
            ((len as u8 & 7) << 5) | 0x1F,
            0xFC,
        ];
        f.extend_from_slice(payload);
        f
    }

    fn ogg_page(flags: u8, serial: u32, packets: &[&[u8]], continued_tail: bool) -> Vec<u8> {
        let mut lacing = Vec::new();
        let mut body = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            let mut n = p.len();
            while n >= 255 {
                lacing.push(255);
                n -= 255;
            }
            let last = i + 1 == packets.len();
            if !(last && continued_tail) {
                lacing.push(n as u8);
            } else if n > 0 {
                lacing.push(255);
            }
            body.extend_from_slice(p);
        }
        let mut page = b"OggS".to_vec();
        page.push(0);
        page.push(flags);
        page.extend_from_slice(&0u64.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        page.push(lacing.len() as u8);
        page.extend_from_slice(&lacing);
        page.extend_from_slice(&body);
        page
    }

    fn opus_head() -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.push(1);
        h.push(2);
        h.extend_from_slice(&312u16.to_le_bytes());
        h.extend_from_slice(&48_000u32.to_le_bytes());
        h.extend_from_slice(&0i16.to_le_bytes());
        h.push(0);
        h
    }

    #[test]
    fn adts_frames_lose_their_header_and_give_the_config_once() {
        let mut u = Unpacker::new(StreamFormat::Aac, "audio/aac");
        let mut out = Vec::new();
        u.push(&unit(adts(&[1, 2, 3])), &mut out);
        u.push(&unit(adts(&[4, 5])), &mut out);
        assert_eq!(out.len(), 3);
        let Unpacked::Track(t) = &out[0] else {
            panic!("track first")
        };
        assert_eq!(t.config.sample_rate, 44_100);
        assert_eq!(t.config.channels, 2);
        assert_eq!(
            t.config.codec,
            AudioCodec::Aac {
                audio_specific_config: vec![0x12, 0x10]
            }
        );
        assert_eq!(
            out[2],
            Unpacked::Unit(AccessUnit {
                data: Bytes::from_static(&[4, 5]),
                ts_data: Some(Bytes::from(adts(&[4, 5]))),
                duration: 1024,
            })
        );
    }

    #[test]
    fn aacp_is_signalled_as_he_aac_at_twice_the_rate() {
        let mut u = Unpacker::new(StreamFormat::Aac, "audio/aacp");
        let mut out = Vec::new();
        u.push(&unit(adts(&[9])), &mut out);
        let Unpacked::Track(t) = &out[0] else {
            panic!("track first")
        };
        assert_eq!(t.config.sample_rate, 88_200);
        let Unpacked::Unit(a) = &out[1] else {
            panic!("unit")
        };
        assert_eq!(a.duration, 2048);
    }

    #[test]
    fn mp3_frames_give_rate_channels_and_samples() {
        let mut u = Unpacker::new(StreamFormat::Mp3, "audio/mpeg");
        let mut out = Vec::new();
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo: 1152 samples.
        let mut one = vec![0xFF, 0xFB, 0x90, 0x64];
        one.resize(417, 0);
        // MPEG-2 Layer III, 80 kbit/s, 24 kHz, mono: 576 samples, a new track.
        let mut two = vec![0xFF, 0xF3, 0x94, 0xC4];
        two.resize(240, 0);
        u.push(&unit(one.clone()), &mut out);
        u.push(&unit(two), &mut out);
        // A reserved sample rate index, and a truncated header.
        u.push(&unit(vec![0xFF, 0xFB, 0x9C, 0x64]), &mut out);
        u.push(&unit(vec![0xFF]), &mut out);
        assert_eq!(u.skipped, 2);
        let tracks: Vec<(u32, u16, Option<TsCodec>)> = out
            .iter()
            .filter_map(|o| match o {
                Unpacked::Track(t) => Some((t.config.sample_rate, t.config.channels, t.ts)),
                Unpacked::Unit(_) => None,
            })
            .collect();
        assert_eq!(
            tracks,
            [
                (44_100, 2, Some(TsCodec::Mp3)),
                (24_000, 1, Some(TsCodec::Mp3))
            ]
        );
        let units: Vec<&AccessUnit> = out
            .iter()
            .filter_map(|o| match o {
                Unpacked::Unit(a) => Some(a),
                Unpacked::Track(_) => None,
            })
            .collect();
        assert_eq!(
            units.iter().map(|a| a.duration).collect::<Vec<_>>(),
            [1152, 576]
        );
        // The whole frame, header included, is the sample.
        assert_eq!(&units[0].data[..], &one[..]);
        assert_eq!(units[0].ts_data.as_deref(), Some(&one[..]));
    }

    #[test]
    fn opus_durations_come_from_the_toc() {
        // CELT 20 ms, one frame.
        assert_eq!(opus_packet_samples(&[0xF8, 0]), Some(960));
        // SILK 60 ms, two frames (code 1).
        assert_eq!(opus_packet_samples(&[(3 << 3) | 1]), Some(5760));
        // CELT 2.5 ms, code 3 with 4 frames.
        assert_eq!(opus_packet_samples(&[(16 << 3) | 3, 4]), Some(480));
        // Code 3 with 0 frames, or over 120 ms, is malformed.
        assert_eq!(opus_packet_samples(&[(16 << 3) | 3, 0]), None);
        assert_eq!(opus_packet_samples(&[(3 << 3) | 3, 3]), None);
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn flac_block_sizes_from_frame_headers() {
        assert_eq!(
            flac_frame_samples(&[0xFF, 0xF8, 0xC9, 0x18, 0x00]),
            Some(4096)
        );
        assert_eq!(
            flac_frame_samples(&[0xFF, 0xF8, 0x19, 0x18, 0x00]),
            Some(192)
        );
        // Code 7: 16-bit size after a 2-byte frame number.
        assert_eq!(
            flac_frame_samples(&[0xFF, 0xF8, 0x79, 0x18, 0xC2, 0x80, 0x03, 0xFF]),
            Some(1024)
        );
        assert_eq!(flac_frame_samples(&[0xFF, 0xF8, 0x09, 0x18, 0x00]), None);
    }

    #[test]
    fn ogg_opus_packets_are_reassembled_across_pages() {
        let mut u = Unpacker::new(StreamFormat::Ogg, "audio/ogg");
        let mut out = Vec::new();
        u.push(&unit(ogg_page(2, 7, &[&opus_head()], false)), &mut out);
        u.push(&unit(ogg_page(0, 7, &[b"OpusTags...."], false)), &mut out);
        // A 300-byte packet split over two pages, then a short one.
        let mut big = vec![0xF8u8];
        big.extend(std::iter::repeat_n(7, 299));
        u.push(&unit(ogg_page(0, 7, &[&big[..255]], true)), &mut out);
        u.push(
            &unit(ogg_page(1, 7, &[&big[255..], &[0xF8, 1]], false)),
            &mut out,
        );
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(matches!(&out[0], Unpacked::Track(t) if t.config.timescale == 48_000));
        assert_eq!(
            out[1],
            Unpacked::Unit(AccessUnit {
                data: Bytes::from(big),
                ts_data: None,
                duration: 960
            })
        );
        assert!(matches!(&out[2], Unpacked::Unit(a) if a.data.len() == 2));
        // A new chain with the same head: no new track.
        out.clear();
        u.push(&unit(ogg_page(2, 8, &[&opus_head()], false)), &mut out);
        u.push(
            &unit(ogg_page(0, 8, &[b"OpusTags", &[0xF8, 2]], false)),
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_continued_packet_whose_start_was_missed_is_dropped() {
        let mut u = Unpacker::new(StreamFormat::Ogg, "audio/ogg");
        let mut out = Vec::new();
        u.push(&unit(ogg_page(2, 7, &[&opus_head()], false)), &mut out);
        u.push(&unit(ogg_page(0, 7, &[b"OpusTags"], false)), &mut out);
        u.push(
            &unit(ogg_page(1, 7, &[&[1, 2, 3], &[0xF8, 9]], false)),
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[1], Unpacked::Unit(a) if a.data[..] == [0xF8, 9]));
    }

    #[test]
    fn frames_are_split_by_their_header_lengths_without_waiting_for_the_next() {
        let mut a = FrameSplitter::new(StreamFormat::Aac).expect("adts");
        let one = adts(&[1; 20]);
        let two = adts(&[2; 30]);
        a.push(&[0x00, 0x01]);
        a.push(&one);
        a.push(&two[..10]);
        assert_eq!(a.next_frame().as_deref(), Some(&one[..]));
        assert_eq!(a.next_frame(), None);
        a.push(&two[10..]);
        assert_eq!(a.next_frame().as_deref(), Some(&two[..]));
        assert_eq!(a.skipped, 2);
        // MPEG-1 Layer III 128 kbit/s 44.1 kHz: 417 bytes (floe-proto tests the lengths).
        let mut m = FrameSplitter::new(StreamFormat::Mp3).expect("mp3");
        let mut frames = vec![0xFF, 0xFB, 0x90, 0x00];
        frames.resize(417, 7);
        frames.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        frames.resize(834, 8);
        m.push(&frames);
        assert_eq!(m.next_frame().map(|f| f.len()), Some(417));
        assert_eq!(m.next_frame().map(|f| f[4]), Some(8));
        assert!(FrameSplitter::new(StreamFormat::Ogg).is_none());
    }

    /// Hostile input never panics: random bytes, and random bytes behind valid-looking
    /// headers, through every unpacker and splitter (a deterministic generator).
    #[test]
    fn random_input_never_panics() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..2000 {
            let len = (next() % 600) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            match round % 4 {
                0 if data.len() > 27 => data[..4].copy_from_slice(b"OggS"),
                1 if data.len() > 7 => data[..2].copy_from_slice(&[0xFF, 0xF1]),
                2 if data.len() > 4 => data[..2].copy_from_slice(&[0xFF, 0xFB]),
                3 if data.len() > 19 => data[..8].copy_from_slice(b"OpusHead"),
                _ => {}
            }
            let mut out = Vec::new();
            for format in [StreamFormat::Ogg, StreamFormat::Aac, StreamFormat::Mp3] {
                let mut u = Unpacker::new(format, "audio/aacp");
                u.push(&unit(data.clone()), &mut out);
                if let Some(mut sp) = FrameSplitter::new(format) {
                    sp.push(&data);
                    while sp.next_frame().is_some() {}
                }
            }
            let _ = opus_packet_samples(&data);
            let _ = flac_frame_samples(&data);
            let _ = crate::vod::VodTrack::prepare(&data, StreamFormat::Mp3, 1.0);
        }
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut u = Unpacker::new(StreamFormat::Ogg, "audio/ogg");
        let mut out = Vec::new();
        u.push(&unit(b"OggS\0".to_vec()), &mut out);
        let mut a = Unpacker::new(StreamFormat::Aac, "audio/aac");
        a.push(&unit(vec![0xFF, 0xF1, 0xFF]), &mut out);
        assert!(out.is_empty());
        assert_eq!(u.skipped + a.skipped, 2);
        assert!(!Unpacker::new(StreamFormat::WebM, "audio/webm").supported());
    }
}
