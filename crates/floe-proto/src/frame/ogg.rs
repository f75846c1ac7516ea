//! Ogg page sync (RFC 3533) and header/audio classification.
//!
//! A page is accepted only with a valid CRC; anything else is skipped up to the next capture
//! pattern `OggS`. Header pages are the BOS page of each logical stream and the following pages
//! of that stream until its codec headers are complete: counted in packets for Opus (2), Vorbis
//! (3), FLAC (1 + the count in its mapping header), Speex (2 + extra) and Theora (3); for other
//! codecs, pages with granule position 0 or -1 before the first page with a positive granule.

use super::{samples_to_us, Core, Unit, UnitKind};

/// Fixed part of a page header.
const PAGE_HEADER: usize = 27;
/// Most logical streams tracked at once (a chain of Opus or Vorbis has one).
const MAX_STREAMS: usize = 16;

/// CRC-32 of Ogg: polynomial 0x04c11db7, initial value 0, not reflected, no final XOR.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let index = ((crc >> 24) as u8 ^ b) as usize;
        crc = (crc << 8) ^ CRC_TABLE.get(index).copied().unwrap_or(0);
    }
    crc
}

/// The CRC of a whole page, computed with its CRC field as zeros.
pub(crate) fn page_crc(page: &[u8]) -> u32 {
    let crc = crc_update(0, page.get(..22).unwrap_or(page));
    let crc = crc_update(crc, &[0; 4]);
    crc_update(crc, page.get(26..).unwrap_or(&[]))
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i64_le(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// What the first packet of a BOS page says about its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CodecHead {
    /// Granule positions per second (0: unknown, no durations).
    rate: u32,
    channels: u8,
    bitrate_kbps: u32,
    /// Header packets after the first one, if the codec says.
    more_headers: Option<u32>,
    /// Granule of the start of audio (Opus pre-skip).
    base_granule: i64,
    /// An audio codec (sets [`super::AudioInfo`]).
    audio: bool,
}

fn identify(packet: &[u8]) -> CodecHead {
    let unknown = CodecHead {
        rate: 0,
        channels: 0,
        bitrate_kbps: 0,
        more_headers: None,
        base_granule: 0,
        audio: false,
    };
    if packet.starts_with(b"OpusHead") {
        CodecHead {
            rate: 48_000,
            channels: packet.get(9).copied().unwrap_or(0),
            bitrate_kbps: 0,
            more_headers: Some(1),
            base_granule: i64::from(u16_le(packet, 10).unwrap_or(0)),
            audio: true,
        }
    } else if packet.starts_with(b"\x01vorbis") {
        let nominal = u32_le(packet, 20).map_or(0, |b| b as i32);
        CodecHead {
            rate: u32_le(packet, 12).unwrap_or(0),
            channels: packet.get(11).copied().unwrap_or(0),
            bitrate_kbps: if nominal > 0 {
                nominal as u32 / 1000
            } else {
                0
            },
            more_headers: Some(2),
            base_granule: 0,
            audio: true,
        }
    } else if packet.starts_with(b"\x7fFLAC") {
        // Mapping header (9 bytes), "fLaC", a metadata block header, then STREAMINFO.
        let count = packet
            .get(7..9)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u16::from_be_bytes);
        let (rate, channels) = match packet.get(27..30) {
            Some(&[a, b, c]) => (
                (u32::from(a) << 12) | (u32::from(b) << 4) | (u32::from(c) >> 4),
                ((c >> 1) & 7) + 1,
            ),
            _ => (0, 0),
        };
        CodecHead {
            rate,
            channels,
            bitrate_kbps: 0,
            more_headers: (count > 0).then_some(u32::from(count)),
            base_granule: 0,
            audio: true,
        }
    } else if packet.starts_with(b"Speex   ") {
        CodecHead {
            rate: u32_le(packet, 36).unwrap_or(0),
            channels: u32_le(packet, 48).map_or(0, |c| u8::try_from(c).unwrap_or(0)),
            bitrate_kbps: 0,
            more_headers: u32_le(packet, 68).map(|extra| extra.saturating_add(1)),
            base_granule: 0,
            audio: true,
        }
    } else if packet.starts_with(b"\x80theora") {
        CodecHead {
            more_headers: Some(2),
            ..unknown
        }
    } else {
        unknown
    }
}

#[derive(Debug, Clone, Copy)]
struct LogicalStream {
    serial: u32,
    head: CodecHead,
    /// Still in its header pages.
    in_headers: bool,
    /// Header packets still expected (when the codec says).
    headers_left: Option<u32>,
    /// Granule at the end of the last audio page.
    last_granule: i64,
}

#[derive(Debug, Default)]
pub(crate) struct OggFramer {
    streams: Vec<LogicalStream>,
    /// The last page emitted was an audio page (a BOS after it starts a new chain).
    after_audio: bool,
    /// Anything emitted yet.
    started: bool,
    /// [`super::AudioInfo`] has been set for the current chain.
    chain_info: bool,
}

/// A complete, valid page at the start of `buf`: its length; `Err(skip)` for garbage;
/// `Ok(None)` if more bytes are needed.
fn page_at(buf: &[u8]) -> Result<Option<usize>, usize> {
    if buf.len() < 4 {
        return if b"OggS".starts_with(buf) {
            Ok(None)
        } else {
            Err(1)
        };
    }
    if !buf.starts_with(b"OggS") {
        // Skip to the next capture pattern, keeping a possible partial one at the end.
        let skip = buf
            .windows(4)
            .skip(1)
            .position(|w| w == b"OggS")
            .map_or_else(|| buf.len().saturating_sub(3).max(1), |p| p + 1);
        return Err(skip);
    }
    let Some(&nsegs) = buf.get(26) else {
        return Ok(None);
    };
    if buf.get(4) != Some(&0) {
        return Err(1);
    }
    let Some(lacing) = buf.get(PAGE_HEADER..PAGE_HEADER + usize::from(nsegs)) else {
        return Ok(None);
    };
    let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
    let total = PAGE_HEADER + usize::from(nsegs) + body;
    let Some(page) = buf.get(..total) else {
        return Ok(None);
    };
    if u32_le(page, 22) != Some(page_crc(page)) {
        return Err(1);
    }
    Ok(Some(total))
}

impl OggFramer {
    pub(crate) fn next(&mut self, core: &mut Core) -> Option<Unit> {
        loop {
            match page_at(&core.buf) {
                Ok(Some(len)) => return Some(self.classify(core, len)),
                Ok(None) => return None,
                Err(skip) => core.skip_garbage(skip),
            }
        }
    }

    /// Cuts the valid page of `len` bytes at the start of the buffer.
    fn classify(&mut self, core: &mut Core, len: usize) -> Unit {
        let page = core.buf.get(..len).unwrap_or(&[]);
        let header_type = page.get(5).copied().unwrap_or(0);
        let granule = i64_le(page, 6).unwrap_or(-1);
        let serial = u32_le(page, 14).unwrap_or(0);
        let nsegs = usize::from(page.get(26).copied().unwrap_or(0));
        let lacing = page.get(PAGE_HEADER..PAGE_HEADER + nsegs).unwrap_or(&[]);
        let body = page.get(PAGE_HEADER + nsegs..).unwrap_or(&[]);
        let packets_ended = lacing.iter().filter(|&&l| l < 255).count() as u32;
        let continued = header_type & 1 != 0;
        let bos = header_type & 2 != 0;

        if bos {
            let first = self.after_audio || !self.started;
            if first {
                self.streams.clear();
                self.chain_info = false;
            }
            self.streams.retain(|s| s.serial != serial);
            let head = identify(body);
            let headers_left = head
                .more_headers
                .map(|n| n.saturating_sub(packets_ended.saturating_sub(1)));
            if head.audio && !self.chain_info {
                self.chain_info = true;
                core.info.sample_rate = head.rate;
                core.info.channels = head.channels;
                core.info.bitrate_kbps = head.bitrate_kbps;
            }
            if self.streams.len() < MAX_STREAMS {
                self.streams.push(LogicalStream {
                    serial,
                    head,
                    in_headers: headers_left != Some(0),
                    headers_left,
                    last_granule: head.base_granule,
                });
            }
            self.after_audio = false;
            self.started = true;
            return core.unit(len, UnitKind::Header { first }, 0);
        }

        let stream = self.streams.iter_mut().find(|s| s.serial == serial);
        let positive_granule = granule > 0;
        if let Some(s) = stream {
            if s.in_headers {
                let header = match s.headers_left {
                    // A page with a positive granule carries audio, whatever the count says.
                    Some(_) if positive_granule => false,
                    Some(left) => {
                        let left = left.saturating_sub(packets_ended);
                        s.headers_left = Some(left);
                        s.in_headers = left > 0;
                        true
                    }
                    None => !positive_granule,
                };
                if header {
                    self.started = true;
                    return core.unit(len, UnitKind::Header { first: false }, 0);
                }
                s.in_headers = false;
            }
            let duration = if granule >= 0 && s.head.rate > 0 {
                let d = if granule >= s.last_granule {
                    samples_to_us(granule as u64, s.head.rate)
                        - samples_to_us(s.last_granule.max(0) as u64, s.head.rate)
                } else {
                    0
                };
                s.last_granule = granule;
                d
            } else {
                0
            };
            self.emit_audio(core, len, continued, duration)
        } else {
            // A stream whose BOS we never saw (joined mid-stream): audio of unknown rate.
            self.emit_audio(core, len, continued, 0)
        }
    }

    fn emit_audio(&mut self, core: &mut Core, len: usize, continued: bool, duration: u64) -> Unit {
        self.after_audio = true;
        self.started = true;
        let kind = if continued {
            UnitKind::Continuation
        } else {
            UnitKind::Sync
        };
        core.unit(len, kind, duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_value() {
        // CRC-32/MPEG-2 without its initial all-ones and final XOR ("CRC-32/OGG"): the check
        // value for "123456789" is 0x89A1897F.
        assert_eq!(crc_update(0, b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn identifies_codecs() {
        let mut opus = b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00".to_vec();
        let h = identify(&opus);
        assert_eq!(
            (h.rate, h.channels, h.base_granule, h.more_headers),
            (48_000, 2, 312, Some(1))
        );
        opus.truncate(9);
        assert_eq!(identify(&opus).channels, 0);
        let mut vorbis = b"\x01vorbis\x00\x00\x00\x00\x01".to_vec();
        vorbis.extend_from_slice(&44_100u32.to_le_bytes());
        vorbis.extend_from_slice(&0i32.to_le_bytes());
        vorbis.extend_from_slice(&128_000i32.to_le_bytes());
        vorbis.extend_from_slice(&0i32.to_le_bytes());
        let h = identify(&vorbis);
        assert_eq!(
            (h.rate, h.channels, h.bitrate_kbps, h.more_headers),
            (44_100, 1, 128, Some(2))
        );
        assert!(!identify(b"fishead\0").audio);
        assert_eq!(identify(b"").more_headers, None);
    }
}
