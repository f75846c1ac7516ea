//! Title updates inside an Ogg stream: a live Ogg Opus or Ogg Vorbis stream is continued as a
//! new chained logical stream (RFC 3533 chaining) whose comment header carries the new title.
//!
//! [`OggChainer`] sits between the [`Framer`](super::Framer) and the mount. It remembers the
//! source's codec header packets as they pass; while no title was set it passes every page
//! through untouched. After [`OggChainer::set_tags`], at the next page that starts a packet, it
//! emits a new chain: the source's identification header on a BOS page with a new serial number,
//! a new comment header (the source's vendor string and comments, with `TITLE`/`ARTIST`
//! replaced), for Vorbis the source's setup header, and then every following audio page of the
//! source rewritten into that chain: new serial, page sequence numbered on from the headers,
//! granule positions counted from the start of the chain, CRC recomputed.
//!
//! Granules: the new chain starts at granule 0 and counts the samples of the packets it
//! carries, `new = source granule - source granule at the cut`. For Opus the identification
//! header keeps its pre-skip, which the decoder of the new chain (starting without state)
//! spends converging, as at the start of any Opus stream (RFC 7845 §4.2).
//!
//! Only streams of one logical stream of Opus or Vorbis are rewritten; anything else (Ogg FLAC,
//! Speex, multiplexed streams) passes through unchanged. When the source itself starts a new
//! chain, its chain passes through and the rewriting stops until the next title.

use super::ogg::page_crc;
use super::{Unit, UnitKind};
use bytes::Bytes;

const PAGE_HEADER: usize = 27;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Opus,
    Vorbis,
    /// Ogg FLAC, Speex, Theora, unknown, or more than one logical stream: not rewritten.
    Other,
}

impl Codec {
    fn header_packets(self) -> usize {
        match self {
            Codec::Opus => 2,
            Codec::Vorbis => 3,
            Codec::Other => usize::MAX,
        }
    }
}

/// The fixed fields of a page and where its body starts.
#[derive(Debug, Clone, Copy)]
struct PageInfo {
    header_type: u8,
    granule: i64,
    serial: u32,
    nsegs: usize,
}

fn page_info(page: &[u8]) -> Option<PageInfo> {
    if page.len() < PAGE_HEADER || !page.starts_with(b"OggS") {
        return None;
    }
    let nsegs = usize::from(page[26]);
    if page.len() < PAGE_HEADER + nsegs {
        return None;
    }
    Some(PageInfo {
        header_type: page[5],
        granule: i64::from_le_bytes(page[6..14].try_into().ok()?),
        serial: u32::from_le_bytes(page[14..18].try_into().ok()?),
        nsegs,
    })
}

/// The source's header packets of its current chain.
#[derive(Debug)]
struct Capture {
    serial: u32,
    codec: Codec,
    packets: Vec<Vec<u8>>,
    partial: Vec<u8>,
}

impl Capture {
    fn complete(&self) -> bool {
        self.codec != Codec::Other && self.packets.len() >= self.codec.header_packets()
    }

    /// Adds the packets of one header page.
    fn add_page(&mut self, page: &[u8], info: PageInfo) {
        if info.serial != self.serial {
            // A second logical stream: multiplexed, leave it alone.
            self.codec = Codec::Other;
            return;
        }
        if self.complete() {
            return;
        }
        let lacing = &page[PAGE_HEADER..PAGE_HEADER + info.nsegs];
        let mut at = PAGE_HEADER + info.nsegs;
        for &l in lacing {
            let end = (at + usize::from(l)).min(page.len());
            self.partial.extend_from_slice(&page[at..end]);
            at = end;
            if l < 255 {
                let packet = std::mem::take(&mut self.partial);
                if self.packets.is_empty() {
                    self.codec = if packet.starts_with(b"OpusHead") {
                        Codec::Opus
                    } else if packet.starts_with(b"\x01vorbis") {
                        Codec::Vorbis
                    } else {
                        Codec::Other
                    };
                }
                self.packets.push(packet);
            }
        }
    }
}

/// The chain the rewriter is writing now.
#[derive(Debug)]
struct Chain {
    serial: u32,
    seq: u32,
    /// Source granule at the cut: subtracted from every source granule.
    base: i64,
}

/// Rewrites a live Ogg stream into new chained logical streams when the title changes.
/// Pure: no clock, no I/O; one call per page.
#[derive(Debug, Default)]
pub struct OggChainer {
    capture: Option<Capture>,
    chain: Option<Chain>,
    pending: Option<Vec<(String, String)>>,
    /// Granule of the source's last page that ended a packet.
    last_granule: i64,
    serial_state: u64,
    chains: u64,
}

impl OggChainer {
    /// A rewriter that passes everything through until a title is set.
    pub fn new() -> Self {
        OggChainer::default()
    }

    /// True when the source's stream is one Opus or Vorbis logical stream whose headers have
    /// all been seen: a title set now will be written into the stream.
    pub fn can_chain(&self) -> bool {
        self.capture.as_ref().is_some_and(Capture::complete)
    }

    /// How many chains have been started so far.
    pub fn chains_started(&self) -> u64 {
        self.chains
    }

    /// Asks for a new chain with these comments (`TITLE`, `ARTIST`) from the next page that
    /// starts a packet. A later call before that page replaces the earlier one.
    pub fn set_tags(&mut self, title: Option<&str>, artist: Option<&str>) {
        let mut tags = Vec::new();
        if let Some(t) = title {
            tags.push(("TITLE".to_string(), t.to_string()));
        }
        if let Some(a) = artist {
            tags.push(("ARTIST".to_string(), a.to_string()));
        }
        self.pending = Some(tags);
    }

    /// Takes one unit (an Ogg page) of the source and appends what goes to the mount: the
    /// page itself, or the page rewritten into the current chain, preceded by the new chain's
    /// header pages when one starts here.
    pub fn push(&mut self, unit: Unit, out: &mut Vec<Unit>) {
        let Some(info) = page_info(&unit.data) else {
            out.push(unit);
            return;
        };
        match unit.kind {
            UnitKind::Header { first } => {
                if first || info.header_type & 2 != 0 && self.capture.is_none() {
                    // The source starts a chain of its own: ours ends here.
                    self.chain = None;
                    self.last_granule = 0;
                    self.capture = Some(Capture {
                        serial: info.serial,
                        codec: Codec::Other,
                        packets: Vec::new(),
                        partial: Vec::new(),
                    });
                }
                if let Some(c) = self.capture.as_mut() {
                    c.add_page(&unit.data, info);
                }
                out.push(unit);
            }
            UnitKind::Sync | UnitKind::Continuation => {
                let ours = self
                    .capture
                    .as_ref()
                    .is_some_and(|c| c.complete() && c.serial == info.serial);
                if !ours {
                    out.push(unit);
                    return;
                }
                let starts_packet = info.header_type & 1 == 0;
                if starts_packet && self.pending.is_some() {
                    self.start_chain(out);
                }
                let source_granule = info.granule;
                if let Some(chain) = self.chain.as_mut() {
                    let granule = if source_granule == -1 {
                        -1
                    } else {
                        (source_granule - chain.base).max(0)
                    };
                    let data = rewrite_page(
                        &unit.data,
                        info.header_type & !2,
                        granule,
                        chain.serial,
                        chain.seq,
                    );
                    chain.seq = chain.seq.wrapping_add(1);
                    out.push(Unit { data, ..unit });
                } else {
                    out.push(unit);
                }
                if source_granule != -1 {
                    self.last_granule = source_granule;
                }
            }
        }
    }

    fn next_serial(&mut self, avoid: u32) -> u32 {
        loop {
            // splitmix64 over a state seeded by the source's serial.
            self.serial_state = self.serial_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.serial_state ^ u64::from(avoid).rotate_left(17);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let serial = (z ^ (z >> 31)) as u32;
            if serial != avoid && self.chain.as_ref().is_none_or(|c| c.serial != serial) {
                return serial;
            }
        }
    }

    fn start_chain(&mut self, out: &mut Vec<Unit>) {
        let Some(tags) = self.pending.take() else {
            return;
        };
        let Some(capture) = self.capture.as_ref() else {
            return;
        };
        let codec = capture.codec;
        let ident = capture.packets[0].clone();
        let comment = comment_packet(codec, &capture.packets[1], &tags);
        let setup = (codec == Codec::Vorbis).then(|| capture.packets[2].clone());
        let source_serial = capture.serial;
        let serial = self.next_serial(source_serial);
        let mut seq = 0u32;
        let mut pages = packet_pages(&ident, serial, &mut seq, true);
        pages.extend(packet_pages(&comment, serial, &mut seq, false));
        if let Some(setup) = setup {
            pages.extend(packet_pages(&setup, serial, &mut seq, false));
        }
        for (i, data) in pages.into_iter().enumerate() {
            out.push(Unit {
                data,
                kind: UnitKind::Header { first: i == 0 },
                duration_us: 0,
            });
        }
        self.chain = Some(Chain {
            serial,
            seq,
            base: self.last_granule,
        });
        self.chains += 1;
    }
}

/// A copy of `page` with new header type, granule, serial and sequence, and its CRC.
fn rewrite_page(page: &[u8], header_type: u8, granule: i64, serial: u32, seq: u32) -> Bytes {
    let mut p = page.to_vec();
    p[5] = header_type;
    p[6..14].copy_from_slice(&granule.to_le_bytes());
    p[14..18].copy_from_slice(&serial.to_le_bytes());
    p[18..22].copy_from_slice(&seq.to_le_bytes());
    let crc = page_crc(&p);
    p[22..26].copy_from_slice(&crc.to_le_bytes());
    Bytes::from(p)
}

/// The pages carrying one header packet on its own (granule 0 on the page that ends it).
fn packet_pages(packet: &[u8], serial: u32, seq: &mut u32, bos: bool) -> Vec<Bytes> {
    let mut lacing = vec![255u8; packet.len() / 255];
    lacing.push((packet.len() % 255) as u8);
    let mut pages = Vec::new();
    let mut body_at = 0;
    for (i, segs) in lacing.chunks(255).enumerate() {
        let last = (i + 1) * 255 >= lacing.len();
        let mut header_type = 0u8;
        if i > 0 {
            header_type |= 1;
        }
        if bos && i == 0 {
            header_type |= 2;
        }
        let granule: i64 = if last { 0 } else { -1 };
        let body_len: usize = segs.iter().map(|&l| usize::from(l)).sum();
        let mut p = Vec::with_capacity(PAGE_HEADER + segs.len() + body_len);
        p.extend_from_slice(b"OggS\0");
        p.push(header_type);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&seq.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.push(segs.len() as u8);
        p.extend_from_slice(segs);
        p.extend_from_slice(&packet[body_at..body_at + body_len]);
        body_at += body_len;
        let crc = page_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        pages.push(Bytes::from(p));
        *seq = seq.wrapping_add(1);
    }
    pages
}

/// The vendor string and comments of an OpusTags / Vorbis comment packet.
fn parse_comments(packet: &[u8], magic: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let rest = packet.strip_prefix(magic)?;
    let take = |b: &[u8], at: usize| -> Option<(Vec<u8>, usize)> {
        let len = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let v = b.get(at + 4..at.checked_add(4)?.checked_add(len)?)?;
        Some((v.to_vec(), at + 4 + len))
    };
    let (vendor, mut at) = take(rest, 0)?;
    let count = u32::from_le_bytes(rest.get(at..at + 4)?.try_into().ok()?) as usize;
    at += 4;
    let mut comments = Vec::new();
    for _ in 0..count.min(10_000) {
        let (c, next) = take(rest, at)?;
        comments.push(c);
        at = next;
    }
    Some((vendor, comments))
}

/// A comment header like the source's (its vendor and other comments), with `tags` replacing
/// any comment of the same names.
fn comment_packet(codec: Codec, source: &[u8], tags: &[(String, String)]) -> Vec<u8> {
    let magic: &[u8] = match codec {
        Codec::Vorbis => b"\x03vorbis",
        _ => b"OpusTags",
    };
    let (vendor, mut comments) =
        parse_comments(source, magic).unwrap_or_else(|| (b"floe".to_vec(), Vec::new()));
    comments.retain(|c| {
        let key = c.split(|&b| b == b'=').next().unwrap_or(&[]);
        !tags
            .iter()
            .any(|(k, _)| key.eq_ignore_ascii_case(k.as_bytes()))
    });
    for (k, v) in tags {
        comments.push(format!("{k}={v}").into_bytes());
    }
    let mut p = magic.to_vec();
    p.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    p.extend_from_slice(&vendor);
    p.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for c in &comments {
        p.extend_from_slice(&(c.len() as u32).to_le_bytes());
        p.extend_from_slice(c);
    }
    if codec == Codec::Vorbis {
        p.push(1);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::tests::ogg_page;
    use crate::frame::{Framer, StreamFormat};

    fn opus_head() -> Vec<u8> {
        let mut h = b"OpusHead\x01\x02".to_vec();
        h.extend(312u16.to_le_bytes());
        h.extend(48_000u32.to_le_bytes());
        h.extend([0, 0, 0]);
        h
    }

    fn opus_tags(vendor: &str, comments: &[&str]) -> Vec<u8> {
        let mut p = b"OpusTags".to_vec();
        p.extend((vendor.len() as u32).to_le_bytes());
        p.extend(vendor.as_bytes());
        p.extend((comments.len() as u32).to_le_bytes());
        for c in comments {
            p.extend((c.len() as u32).to_le_bytes());
            p.extend(c.as_bytes());
        }
        p
    }

    /// Frames `pages` and runs every unit through `chainer`, setting the title before the
    /// unit at index `title_at`.
    fn run(pages: &[Vec<u8>], chainer: &mut OggChainer, title_at: usize) -> Vec<Unit> {
        let mut framer = Framer::new(StreamFormat::Ogg, 0);
        let mut units = Vec::new();
        for p in pages {
            framer.push(p);
            while let Some(u) = framer.next_unit() {
                units.push(u);
            }
        }
        let mut out = Vec::new();
        for (i, u) in units.into_iter().enumerate() {
            if i == title_at {
                chainer.set_tags(Some("New Title"), Some("Someone"));
            }
            chainer.push(u, &mut out);
        }
        out
    }

    /// Re-frames the output: every page must have a valid CRC (the framer checks it).
    fn reframe(units: &[Unit]) -> Vec<Unit> {
        let mut framer = Framer::new(StreamFormat::Ogg, 0);
        let mut all = Vec::new();
        for u in units {
            all.extend_from_slice(&u.data);
        }
        framer.push(&all);
        let mut back = Vec::new();
        while let Some(u) = framer.next_unit() {
            back.push(u);
        }
        assert_eq!(framer.stats().skipped_bytes, 0, "a page failed its CRC");
        back
    }

    fn fields(page: &[u8]) -> (u8, i64, u32, u32) {
        let i = page_info(page).unwrap();
        (
            i.header_type,
            i.granule,
            i.serial,
            u32::from_le_bytes(page[18..22].try_into().unwrap()),
        )
    }

    fn opus_source(audio: usize) -> Vec<Vec<u8>> {
        let mut pages = vec![
            ogg_page(2, 0, 77, 0, &[&opus_head()], false),
            ogg_page(
                0,
                0,
                77,
                1,
                &[&opus_tags("libopus 1.4", &["ENCODER=Lavf", "title=Old"])],
                false,
            ),
        ];
        let packet = vec![0x55u8; 120];
        for i in 0..audio {
            pages.push(ogg_page(
                0,
                2880 * (i as i64 + 1),
                77,
                2 + i as u32,
                &[&packet, &packet, &packet],
                false,
            ));
        }
        pages
    }

    #[test]
    fn passes_through_until_a_title_is_set() {
        let pages = opus_source(4);
        let mut c = OggChainer::new();
        let out = run(&pages, &mut c, usize::MAX);
        assert!(c.can_chain());
        let data: Vec<&[u8]> = out.iter().map(|u| &u.data[..]).collect();
        let want: Vec<&[u8]> = pages.iter().map(|p| &p[..]).collect();
        assert_eq!(data, want);
    }

    #[test]
    fn opus_title_starts_a_new_chain() {
        let pages = opus_source(5);
        let mut c = OggChainer::new();
        // Title set before the fourth unit (the second audio page).
        let out = run(&pages, &mut c, 3);
        assert_eq!(c.chains_started(), 1);
        let out = reframe(&out);
        let kinds: Vec<UnitKind> = out.iter().map(|u| u.kind).collect();
        assert_eq!(
            kinds,
            [
                UnitKind::Header { first: true },
                UnitKind::Header { first: false },
                UnitKind::Sync,
                UnitKind::Header { first: true },
                UnitKind::Header { first: false },
                UnitKind::Sync,
                UnitKind::Sync,
                UnitKind::Sync,
                UnitKind::Sync,
            ]
        );
        // Untouched before the cut.
        for i in 0..3 {
            assert_eq!(&out[i].data[..], &pages[i][..]);
        }
        let (t, g, serial, seq) = fields(&out[3].data);
        assert_eq!((t, g, seq), (2, 0, 0));
        assert_ne!(serial, 77);
        assert_eq!(&out[3].data[28..], &opus_head()[..]);
        let tags = parse_comments(&out[4].data[28..], b"OpusTags").unwrap();
        assert_eq!(tags.0, b"libopus 1.4");
        let tags: Vec<String> = tags
            .1
            .iter()
            .map(|c| String::from_utf8(c.clone()).unwrap())
            .collect();
        assert_eq!(tags, ["ENCODER=Lavf", "TITLE=New Title", "ARTIST=Someone"]);
        assert_eq!(fields(&out[4].data), (0, 0, serial, 1));
        // Audio: granules from the cut (source granule 2880 there), sequence on from 2.
        for (k, u) in out[5..].iter().enumerate() {
            let (t, g, s, q) = fields(&u.data);
            assert_eq!((t, s, q), (0, serial, 2 + k as u32));
            assert_eq!(g, 2880 * (k as i64 + 1));
            // The packets are the source's.
            assert_eq!(&u.data[27..], &pages[3 + k][27..]);
        }
    }

    #[test]
    fn a_second_title_starts_another_chain_and_waits_for_a_packet_start() {
        let mut pages = opus_source(2);
        // A page whose first packet continues from the previous page, then a fresh one.
        let big = vec![0x33u8; 510];
        pages.push(ogg_page(0, -1, 77, 4, &[&big], true));
        pages.push(ogg_page(1, 8640, 77, 5, &[&[0x33u8; 10][..]], false));
        pages.push(ogg_page(0, 11520, 77, 6, &[&[0x44u8; 100][..]], false));
        let mut c = OggChainer::new();
        let mut framer = Framer::new(StreamFormat::Ogg, 0);
        let mut units = Vec::new();
        for p in &pages {
            framer.push(p);
            while let Some(u) = framer.next_unit() {
                units.push(u);
            }
        }
        let mut out = Vec::new();
        for (i, u) in units.into_iter().enumerate() {
            if i == 2 || i == 5 {
                c.set_tags(Some(&format!("T{i}")), None);
            }
            c.push(u, &mut out);
        }
        assert_eq!(c.chains_started(), 2);
        let out = reframe(&out);
        let serials: Vec<u32> = out.iter().map(|u| fields(&u.data).2).collect();
        // 2 source headers, chain 1 (2 headers + 4 pages), chain 2 (2 headers + 1 page).
        assert_eq!(out.len(), 2 + 6 + 3);
        let s1 = serials[2];
        let s2 = serials[8];
        assert!(s1 != 77 && s2 != 77 && s1 != s2);
        assert_eq!(&serials[2..8], &[s1; 6]);
        assert_eq!(&serials[8..], &[s2; 3]);
        // Chain 1: -1 stays -1, the continued page is rewritten but is not a cut.
        let g: Vec<i64> = out[4..8].iter().map(|u| fields(&u.data).1).collect();
        assert_eq!(g, [2880, 5760, -1, 8640]);
        assert_eq!(fields(&out[7].data).0, 1);
        assert_eq!(out[7].kind, UnitKind::Continuation);
        // Chain 2 starts after source granule 8640.
        assert_eq!(fields(&out[10].data).1, 11520 - 8640);
        assert_eq!(fields(&out[10].data).3, 2);
    }

    #[test]
    fn vorbis_chain_has_ident_comment_and_setup() {
        let mut ident = b"\x01vorbis\0\0\0\0\x02".to_vec();
        ident.extend(44_100u32.to_le_bytes());
        ident.extend([0u8; 13]);
        let mut comment = b"\x03vorbis".to_vec();
        comment.extend(4u32.to_le_bytes());
        comment.extend(b"Xiph");
        comment.extend(0u32.to_le_bytes());
        comment.push(1);
        // A setup header larger than one page.
        let setup: Vec<u8> = b"\x05vorbis"
            .iter()
            .copied()
            .chain((0..70_000u32).map(|i| i as u8))
            .collect();
        let mut pages = vec![ogg_page(2, 0, 9, 0, &[&ident], false)];
        // Comment and the start of setup on one page, the rest of setup on the next ones.
        pages.push(ogg_page(0, 0, 9, 1, &[&comment, &setup[..255 * 200]], true));
        pages.push(ogg_page(1, -1, 9, 2, &[&setup[255 * 200..255 * 250]], true));
        pages.push(ogg_page(1, 0, 9, 3, &[&setup[255 * 250..]], false));
        pages.push(ogg_page(0, 1024, 9, 4, &[&[7u8; 50][..]], false));
        pages.push(ogg_page(0, 2048, 9, 5, &[&[8u8; 50][..]], false));
        let mut c = OggChainer::new();
        let out = run(&pages, &mut c, 5);
        let out = reframe(&out);
        assert_eq!(c.chains_started(), 1);
        let new: Vec<&Unit> = out[5..].iter().collect();
        // Rebuild the chain's header packets from its pages.
        let serial = fields(&new[0].data).2;
        let mut cap = Capture {
            serial,
            codec: Codec::Other,
            packets: Vec::new(),
            partial: Vec::new(),
        };
        for u in &new {
            if matches!(u.kind, UnitKind::Header { .. }) {
                cap.add_page(&u.data, page_info(&u.data).unwrap());
            }
        }
        assert_eq!(cap.codec, Codec::Vorbis);
        assert_eq!(cap.packets.len(), 3);
        assert_eq!(cap.packets[0], ident);
        assert_eq!(cap.packets[2], setup);
        let (vendor, comments) = parse_comments(&cap.packets[1], b"\x03vorbis").unwrap();
        assert_eq!(vendor, b"Xiph");
        assert_eq!(
            comments,
            [b"TITLE=New Title".to_vec(), b"ARTIST=Someone".to_vec()]
        );
        assert_eq!(cap.packets[1].last(), Some(&1));
        let last = new.last().unwrap();
        assert_eq!(fields(&last.data).1, 1024);
        assert_eq!(last.kind, UnitKind::Sync);
    }

    #[test]
    fn other_codecs_and_multiplexed_streams_pass_through() {
        let flac = ogg_page(2, 0, 5, 0, &[b"\x7fFLAC\x01\x00\x00\x00fLaC"], false);
        let audio = ogg_page(0, 4096, 5, 1, &[&[1u8; 30][..]], false);
        let mut c = OggChainer::new();
        let pages = [flac, audio];
        let out = run(&pages, &mut c, 1);
        assert!(!c.can_chain());
        assert_eq!(c.chains_started(), 0);
        assert_eq!(&out[1].data[..], &pages[1][..]);

        let mut pages = opus_source(2);
        pages.insert(1, ogg_page(2, 0, 78, 0, &[b"\x80theora"], false));
        let mut c = OggChainer::new();
        let out = run(&pages, &mut c, 4);
        assert_eq!(c.chains_started(), 0);
        assert_eq!(out.len(), pages.len());
    }
}
