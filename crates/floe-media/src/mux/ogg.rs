//! Ogg pages (RFC 3533) and two mappings on top: Ogg Opus (RFC 7845) and Ogg FLAC.
//!
//! Page cutting: [`OggMuxer`] closes a page once it holds [`OggMuxer::page_frames`] of audio
//! (default 60 ms) or ~4 KiB, so a live stream has a join point at least every 60 ms or so.
//! A page is closed when the *next* packet arrives (or at [`OggMuxer::finish`]), so the last
//! page of a stream always carries packets and the end-of-stream flag.

use bytes::Bytes;

use super::vorbis_comment;
use crate::encode::{Codec, CodecInfo, Packet};

const FLAG_CONTINUED: u8 = 0x01;
const FLAG_BOS: u8 = 0x02;
const FLAG_EOS: u8 = 0x04;
/// Granule position of a page on which no packet ends.
pub const NO_GRANULE: u64 = u64::MAX;
/// Soft limit for a page's body.
const PAGE_BYTES: usize = 4096;

fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    })
}

/// The Ogg CRC-32 (polynomial 0x04c11db7, no reflection, initial value 0).
pub fn ogg_crc(data: &[u8]) -> u32 {
    let t = crc_table();
    data.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ t[((crc >> 24) as u8 ^ b) as usize]
    })
}

/// One logical Ogg bitstream: serial number and page sequence.
#[derive(Debug, Clone)]
pub struct OggStream {
    serial: u32,
    sequence: u32,
    started: bool,
}

impl OggStream {
    /// A stream with this serial number.
    pub fn new(serial: u32) -> Self {
        Self {
            serial,
            sequence: 0,
            started: false,
        }
    }

    /// Pages for `packets`, each given with the granule position after it. Packets are laid
    /// out in order; a page holds at most 255 lacing values, so long packets continue onto
    /// further pages. A page's granule is that of the last packet ending on it
    /// ([`NO_GRANULE`] if none does). `eos` marks the last page.
    pub fn pages(&mut self, packets: &[(&[u8], u64)], eos: bool) -> Vec<Vec<u8>> {
        // Lacing values with, for each, the packet index it ends (if it ends one).
        let mut lacing: Vec<(u8, Option<usize>)> = Vec::new();
        for (i, (p, _)) in packets.iter().enumerate() {
            let full = p.len() / 255;
            lacing.extend(std::iter::repeat_n((255u8, None), full));
            lacing.push(((p.len() % 255) as u8, Some(i)));
        }
        let mut pages = Vec::new();
        let mut seg = 0;
        let mut data_pos = 0;
        let data: Vec<u8> = packets
            .iter()
            .flat_map(|(p, _)| p.iter().copied())
            .collect();
        let mut continued = false;
        while seg < lacing.len() || (pages.is_empty() && lacing.is_empty()) {
            let end = (seg + 255).min(lacing.len());
            let segs = &lacing[seg..end];
            let body_len: usize = segs.iter().map(|(l, _)| usize::from(*l)).sum();
            let granule = segs
                .iter()
                .rev()
                .find_map(|(_, e)| *e)
                .map_or(NO_GRANULE, |i| packets[i].1);
            let mut flags = 0;
            if continued {
                flags |= FLAG_CONTINUED;
            }
            if !self.started {
                flags |= FLAG_BOS;
                self.started = true;
            }
            if eos && end == lacing.len() {
                flags |= FLAG_EOS;
            }
            let lacing_vals: Vec<u8> = segs.iter().map(|(l, _)| *l).collect();
            pages.push(self.page(
                flags,
                granule,
                &lacing_vals,
                &data[data_pos..data_pos + body_len],
            ));
            continued = segs.last().is_some_and(|(_, e)| e.is_none());
            data_pos += body_len;
            seg = end;
            if lacing.is_empty() {
                break;
            }
        }
        pages
    }

    fn page(&mut self, flags: u8, granule: u64, lacing: &[u8], body: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(27 + lacing.len() + body.len());
        p.extend_from_slice(b"OggS");
        p.push(0);
        p.push(flags);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&self.serial.to_le_bytes());
        p.extend_from_slice(&self.sequence.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.push(lacing.len() as u8);
        p.extend_from_slice(lacing);
        p.extend_from_slice(body);
        let crc = ogg_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        self.sequence = self.sequence.wrapping_add(1);
        p
    }
}

/// Finds whole pages at the start of `buf`: `(offset, length, granule)` for each, and the number
/// of bytes they span. Stops at the first incomplete or malformed page.
pub fn split_pages(buf: &[u8]) -> (Vec<(usize, usize, u64)>, usize) {
    let mut pages = Vec::new();
    let mut pos = 0;
    while buf.len() >= pos + 27 && &buf[pos..pos + 4] == b"OggS" {
        let nseg = usize::from(buf[pos + 26]);
        if buf.len() < pos + 27 + nseg {
            break;
        }
        let body: usize = buf[pos + 27..pos + 27 + nseg]
            .iter()
            .map(|&l| usize::from(l))
            .sum();
        let len = 27 + nseg + body;
        if buf.len() < pos + len {
            break;
        }
        let mut g = [0u8; 8];
        g.copy_from_slice(&buf[pos + 6..pos + 14]);
        pages.push((pos, len, u64::from_le_bytes(g)));
        pos += len;
    }
    (pages, pos)
}

/// Which codec mapping an [`OggMuxer`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapping {
    Opus,
    Flac,
}

/// Muxes Opus or FLAC packets into Ogg: header pages first, then audio pages.
#[derive(Debug)]
pub struct OggMuxer {
    stream: OggStream,
    mapping: Mapping,
    queue: Vec<(Bytes, u64)>,
    queued_frames: u64,
    queued_bytes: usize,
    granule: u64,
    /// Close a page once it holds this many frames (at the codec rate).
    pub page_frames: u64,
}

impl OggMuxer {
    /// An Ogg Opus muxer for an Opus encoder's output. `input_rate` is the original rate the
    /// audio had before resampling to 48 kHz (informational, goes into OpusHead).
    pub fn opus(serial: u32) -> Self {
        Self::with(serial, Mapping::Opus, 48_000)
    }

    /// An Ogg FLAC muxer.
    pub fn flac(serial: u32, rate: u32) -> Self {
        Self::with(serial, Mapping::Flac, rate)
    }

    /// The muxer for `info`'s codec (Opus or FLAC), or `None`.
    pub fn for_codec(info: &CodecInfo, serial: u32) -> Option<Self> {
        match info.codec {
            Codec::Opus => Some(Self::opus(serial)),
            Codec::Flac => Some(Self::flac(serial, info.rate)),
            _ => None,
        }
    }

    fn with(serial: u32, mapping: Mapping, rate: u32) -> Self {
        Self {
            stream: OggStream::new(serial),
            mapping,
            queue: Vec::new(),
            queued_frames: 0,
            queued_bytes: 0,
            granule: 0,
            page_frames: u64::from(rate) * 60 / 1000,
        }
    }

    /// The header pages (identification page with the BOS flag, then the comment page).
    /// Call once, before any audio. `input_rate` goes into OpusHead.
    pub fn headers(
        &mut self,
        info: &CodecInfo,
        input_rate: u32,
        tags: &[(String, String)],
    ) -> Vec<Bytes> {
        let mut pages = Vec::new();
        match self.mapping {
            Mapping::Opus => {
                let mut head = Vec::with_capacity(19);
                head.extend_from_slice(b"OpusHead");
                head.push(1);
                head.push(info.channels as u8);
                head.extend_from_slice(&(info.delay as u16).to_le_bytes());
                head.extend_from_slice(&input_rate.to_le_bytes());
                head.extend_from_slice(&0i16.to_le_bytes());
                head.push(0);
                let mut opus_tags = b"OpusTags".to_vec();
                opus_tags.extend_from_slice(&vorbis_comment("Floe (libopus)", tags));
                pages.extend(self.stream.pages(&[(&head, 0)], false));
                pages.extend(self.stream.pages(&[(&opus_tags, 0)], false));
            }
            Mapping::Flac => {
                let mut first = Vec::with_capacity(51);
                first.push(0x7F);
                first.extend_from_slice(b"FLAC");
                first.extend_from_slice(&[1, 0]);
                first.extend_from_slice(&1u16.to_be_bytes());
                first.extend_from_slice(b"fLaC");
                first.push(0x00);
                first.extend_from_slice(&(info.extradata.len() as u32).to_be_bytes()[1..]);
                first.extend_from_slice(&info.extradata);
                let comment = vorbis_comment("Floe", tags);
                let mut block = vec![0x80 | 4];
                block.extend_from_slice(&(comment.len() as u32).to_be_bytes()[1..]);
                block.extend_from_slice(&comment);
                pages.extend(self.stream.pages(&[(&first, 0)], false));
                pages.extend(self.stream.pages(&[(&block, 0)], false));
            }
        }
        pages.into_iter().map(Bytes::from).collect()
    }

    /// Queues a packet; returns pages that are complete.
    pub fn push(&mut self, packet: &Packet) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.queue.is_empty()
            && (self.queued_frames >= self.page_frames
                || self.queued_bytes + packet.data.len() > PAGE_BYTES)
        {
            out = self.flush(false);
        }
        self.granule += u64::from(packet.frames);
        self.queued_frames += u64::from(packet.frames);
        self.queued_bytes += packet.data.len();
        self.queue.push((packet.data.clone(), self.granule));
        out
    }

    /// Ends the stream: the last page, with the EOS flag.
    pub fn finish(&mut self) -> Vec<Bytes> {
        self.flush(true)
    }

    fn flush(&mut self, eos: bool) -> Vec<Bytes> {
        let refs: Vec<(&[u8], u64)> = self.queue.iter().map(|(d, g)| (&d[..], *g)).collect();
        let pages = if refs.is_empty() && !eos {
            Vec::new()
        } else {
            self.stream.pages(&refs, eos)
        };
        self.queue.clear();
        self.queued_frames = 0;
        self.queued_bytes = 0;
        pages.into_iter().map(Bytes::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_known_page() {
        // CRC of "OggS" with the reference algorithm.
        assert_eq!(ogg_crc(b""), 0);
        assert_ne!(ogg_crc(b"OggS"), 0);
    }

    #[test]
    fn long_packet_spans_pages_and_splits_back() {
        let mut s = OggStream::new(7);
        let big = vec![0xAB; 255 * 300];
        let pages = s.pages(&[(&big, 1234)], true);
        assert_eq!(pages.len(), 2);
        let joined: Vec<u8> = pages.concat();
        let (found, used) = split_pages(&joined);
        assert_eq!(used, joined.len());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].2, NO_GRANULE);
        assert_eq!(found[1].2, 1234);
        assert_eq!(joined[5] & FLAG_BOS, FLAG_BOS);
        let second = &joined[found[1].0..];
        assert_eq!(second[5], FLAG_CONTINUED | FLAG_EOS);
    }
}
