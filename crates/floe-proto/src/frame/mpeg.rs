//! MPEG audio (MP3) and ADTS (AAC) frame sync.
//!
//! Both are a run of self-delimiting frames whose headers start with a sync word. A frame is
//! cut once the next frame's header has arrived and matches it (same version, layer and sample
//! rate; for ADTS same MPEG version, profile and sample rate), or, in sync, a tag follows it.
//! That rejects the many false syncs inside compressed data and truncated frames, at the cost
//! of holding each frame until the first bytes of the next arrive, and makes the cut
//! independent of how the input was split. A frame whose successor is garbage is dropped with
//! the garbage. At end of stream the confirmation is waived for the last frame.

use super::{Core, SampleClock, Unit, UnitKind};

/// What an MP3 or ADTS frame header says ([`parse_mp3_header`], [`parse_adts_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whole frame length in bytes, header included.
    pub len: usize,
    /// Header length in bytes: 4 for MPEG audio (its CRC, if any, belongs to the frame data),
    /// 7 for ADTS without CRC and 9 with; what a raw AAC payload starts after.
    pub header_len: usize,
    /// PCM samples per channel the frame decodes to.
    pub samples: u32,
    /// Sample rate in Hz (for HE-AAC in ADTS, the core AAC rate the header carries).
    pub sample_rate: u32,
    /// Channel count: 1 or 2 for MPEG audio; the ADTS channel configuration otherwise
    /// (configuration 7 is 8 channels, 0 means the count is in the payload).
    pub channels: u8,
    /// From the header (MP3); 0 for ADTS.
    pub bitrate_kbps: u32,
    /// Fields that must stay the same from frame to frame.
    pub key: u32,
}

const MP3_BITRATES: [[u16; 14]; 5] = [
    // MPEG-1 layer I, II, III
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    // MPEG-2/2.5 layer I, then II and III
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Length of an MPEG audio frame header.
pub(crate) const MP3_HEADER_LEN: usize = 4;
/// Length of an ADTS header without CRC (with CRC it is 9; 7 bytes tell which).
pub(crate) const ADTS_HEADER_LEN: usize = 7;

/// Parses an MPEG audio frame header (the first 4 bytes of `h`; more are ignored): MPEG-1, 2
/// and 2.5, layers I, II and III. `None` for anything else, including free-format frames
/// (bitrate index 0), reserved fields and input shorter than 4 bytes.
pub fn parse_mp3_header(h: &[u8]) -> Option<FrameHeader> {
    let &[b0, b1, b2, b3, ..] = h else {
        return None;
    };
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b1 >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
    let layer = (b1 >> 1) & 3; // 1: III, 2: II, 3: I
    let bitrate_index = b2 >> 4;
    let rate_index = (b2 >> 2) & 3;
    let padding = u32::from((b2 >> 1) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    // Emphasis 2 is reserved.
    if b3 & 3 == 2 {
        return None;
    }
    let mpeg1 = version == 3;
    let table = match (mpeg1, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bitrate = u32::from(
        *MP3_BITRATES
            .get(table)?
            .get(usize::from(bitrate_index - 1))?,
    );
    let base_rate = [44_100u32, 48_000, 32_000]
        .get(usize::from(rate_index))
        .copied()?;
    let sample_rate = match version {
        3 => base_rate,
        2 => base_rate / 2,
        _ => base_rate / 4,
    };
    let samples = match (layer, mpeg1) {
        (3, _) => 384,
        (2, _) => 1152,
        (_, true) => 1152,
        (_, false) => 576,
    };
    let len = if layer == 3 {
        (12 * bitrate * 1000 / sample_rate + padding) * 4
    } else {
        samples / 8 * bitrate * 1000 / sample_rate + padding
    };
    Some(FrameHeader {
        len: len as usize,
        header_len: MP3_HEADER_LEN,
        samples,
        sample_rate,
        channels: if b3 >> 6 == 3 { 1 } else { 2 },
        bitrate_kbps: bitrate,
        key: u32::from(version) << 8 | u32::from(layer) << 4 | u32::from(rate_index),
    })
}

const ADTS_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Parses an ADTS header (the first 7 bytes of `h`; more are ignored). `None` without the sync
/// word and layer 0, for a reserved sample rate index, for a frame length shorter than its own
/// header, and for input shorter than 7 bytes.
pub fn parse_adts_header(h: &[u8]) -> Option<FrameHeader> {
    let &[b0, b1, b2, b3, b4, b5, b6, ..] = h else {
        return None;
    };
    if b0 != 0xFF || b1 & 0xF6 != 0xF0 {
        // Sync word 0xFFF and layer 00.
        return None;
    }
    let id = (b1 >> 3) & 1;
    let protection_absent = b1 & 1 == 1;
    let profile = b2 >> 6;
    let rate_index = (b2 >> 2) & 0xF;
    let sample_rate = ADTS_RATES.get(usize::from(rate_index)).copied()?;
    let channel_config = ((b2 & 1) << 2) | (b3 >> 6);
    let len = (usize::from(b3 & 3) << 11) | (usize::from(b4) << 3) | (usize::from(b5) >> 5);
    let header_len = if protection_absent {
        ADTS_HEADER_LEN
    } else {
        ADTS_HEADER_LEN + 2
    };
    if len < header_len {
        return None;
    }
    let blocks = u32::from(b6 & 3) + 1;
    Some(FrameHeader {
        len,
        header_len,
        samples: 1024 * blocks,
        sample_rate,
        channels: match channel_config {
            7 => 8,
            c => c,
        },
        bitrate_kbps: 0,
        key: u32::from(id) << 12 | u32::from(profile) << 8 | u32::from(rate_index),
    })
}

/// Size of the ID3v2 tag starting `h` (10 header bytes needed), footer included.
pub(crate) fn id3v2_len(h: &[u8]) -> Option<usize> {
    let &[b'I', b'D', b'3', major, minor, flags, s0, s1, s2, s3, ..] = h else {
        return None;
    };
    if major == 0xFF || minor == 0xFF || (s0 | s1 | s2 | s3) & 0x80 != 0 {
        return None;
    }
    let size = (usize::from(s0) << 21)
        | (usize::from(s1) << 14)
        | (usize::from(s2) << 7)
        | usize::from(s3);
    let footer = if flags & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Size of an ID3v1 tag (`TAG` + 125 bytes).
const ID3V1_LEN: usize = 128;

#[derive(Debug)]
pub(crate) struct MpegFramer {
    aac: bool,
    /// The stream's header key once in sync; `None` while hunting.
    lock: Option<u32>,
    /// Bytes of a tag still to skip (they may not have arrived yet).
    tag_left: u64,
    clock: SampleClock,
    /// ADTS average bitrate: bytes and samples at the current rate.
    aac_bytes: u64,
    aac_samples: u64,
}

impl MpegFramer {
    pub(crate) fn new(aac: bool) -> Self {
        MpegFramer {
            aac,
            lock: None,
            tag_left: 0,
            clock: SampleClock::default(),
            aac_bytes: 0,
            aac_samples: 0,
        }
    }

    fn header_len(&self) -> usize {
        if self.aac {
            ADTS_HEADER_LEN
        } else {
            MP3_HEADER_LEN
        }
    }

    fn parse(&self, h: &[u8]) -> Option<FrameHeader> {
        if self.aac {
            parse_adts_header(h)
        } else {
            parse_mp3_header(h)
        }
    }

    /// The held bytes were dropped: hunt again.
    pub(crate) fn lost_sync(&mut self) {
        self.lock = None;
    }

    /// Skips garbage up to the next possible sync byte.
    fn skip_to_next_sync(&mut self, core: &mut Core) {
        let n = core
            .buf
            .get(1..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF || b == b'I'))
            .map_or(core.buf.len(), |p| p + 1);
        core.skip_garbage(n);
        self.lock = None;
    }

    fn emit(&mut self, core: &mut Core, h: FrameHeader) -> Unit {
        let duration = self.clock.advance(h.sample_rate, u64::from(h.samples));
        let info = &mut core.info;
        info.sample_rate = h.sample_rate;
        info.channels = h.channels;
        if self.aac {
            if self.clock.samples == u64::from(h.samples) {
                // The clock was reset (first frame or a new rate).
                self.aac_bytes = 0;
                self.aac_samples = 0;
            }
            self.aac_bytes += h.len as u64;
            self.aac_samples += u64::from(h.samples);
            if self.aac_samples > 0 {
                let bps = u128::from(self.aac_bytes) * 8 * u128::from(h.sample_rate)
                    / u128::from(self.aac_samples);
                info.bitrate_kbps = u32::try_from((bps + 500) / 1000).unwrap_or(u32::MAX);
            }
        } else {
            info.bitrate_kbps = h.bitrate_kbps;
        }
        core.unit(h.len, UnitKind::Sync, duration)
    }

    pub(crate) fn next(&mut self, core: &mut Core) -> Option<Unit> {
        let hl = self.header_len();
        loop {
            if self.tag_left > 0 {
                let n = usize::try_from(self.tag_left)
                    .unwrap_or(usize::MAX)
                    .min(core.buf.len());
                core.skip_tag(n);
                self.tag_left -= n as u64;
                if self.tag_left > 0 {
                    return None;
                }
            }
            let buf = &core.buf[..];
            if buf.is_empty() {
                return None;
            }
            // An ID3v2 tag (at the start, or between tracks of a concatenated stream).
            if buf.len() < 10 && b"ID3".starts_with(buf.get(..3).unwrap_or(buf)) && !core.eof {
                return None;
            }
            if buf.starts_with(b"ID3") {
                match id3v2_len(buf) {
                    Some(len) => {
                        self.tag_left = len as u64;
                        continue;
                    }
                    None => {
                        self.skip_to_next_sync(core);
                        continue;
                    }
                }
            }
            // An ID3v1 tag where a frame should be.
            if self.lock.is_some() && buf.starts_with(b"TAG") {
                self.tag_left = ID3V1_LEN as u64;
                continue;
            }
            if buf.len() < hl {
                return None;
            }
            let Some(h) = self.parse(buf) else {
                self.skip_to_next_sync(core);
                continue;
            };
            if self.lock.is_some_and(|key| key != h.key) {
                // A different stream (e.g. a new encoder): confirm it like a fresh sync.
                self.lock = None;
                core.locked = false;
            }
            // The next header must follow and match (in sync, a tag may follow instead). This
            // rejects false syncs and truncated frames, and makes the cut independent of how
            // the bytes were split.
            match buf.get(h.len..h.len + hl) {
                Some(next) => {
                    let tag_next = self.lock.is_some()
                        && (next.starts_with(b"ID3") || next.starts_with(b"TAG"));
                    if tag_next || self.parse(next).is_some_and(|n| n.key == h.key) {
                        self.lock = Some(h.key);
                        return Some(self.emit(core, h));
                    }
                    self.skip_to_next_sync(core);
                }
                None if core.eof && buf.len() >= h.len => return Some(self.emit(core, h)),
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp3_headers() {
        // MPEG-1 layer III 128 kbit/s 44.1 kHz, no padding: 417 bytes.
        let h = parse_mp3_header(&[0xFF, 0xFB, 0x90, 0x64]);
        assert_eq!(
            h.map(|h| (h.len, h.samples, h.sample_rate, h.channels, h.bitrate_kbps)),
            Some((417, 1152, 44_100, 2, 128))
        );
        assert_eq!(h.map(|h| h.header_len), Some(4));
        // Padding, mono.
        let h = parse_mp3_header(&[0xFF, 0xFB, 0x92, 0xC4]);
        assert_eq!(h.map(|h| (h.len, h.channels)), Some((418, 1)));
        // MPEG-2 layer III 64 kbit/s 22.05 kHz: 72 * 64000 / 22050 = 208.
        let h = parse_mp3_header(&[0xFF, 0xF3, 0x80, 0x00]);
        assert_eq!(
            h.map(|h| (h.len, h.samples, h.sample_rate)),
            Some((208, 576, 22_050))
        );
        // MPEG-2.5 layer III 8 kbit/s 8 kHz: 72 * 8000 / 8000 = 72.
        let h = parse_mp3_header(&[0xFF, 0xE3, 0x18, 0x00]);
        assert_eq!(h.map(|h| (h.len, h.sample_rate)), Some((72, 8_000)));
        // MPEG-1 layer II 192 kbit/s 48 kHz: 144 * 192000 / 48000 = 576.
        let h = parse_mp3_header(&[0xFF, 0xFD, 0xA4, 0x00]);
        assert_eq!(h.map(|h| (h.len, h.samples)), Some((576, 1152)));
        // MPEG-1 layer I 384 kbit/s 48 kHz, padded: (12 * 384000 / 48000 + 1) * 4 = 388.
        let h = parse_mp3_header(&[0xFF, 0xFF, 0xC6, 0x00]);
        assert_eq!(h.map(|h| (h.len, h.samples)), Some((388, 384)));
        // Largest frame: MPEG-2.5 layer II 160 kbit/s 8 kHz padded = 2881.
        let h = parse_mp3_header(&[0xFF, 0xE5, 0xEA, 0x00]);
        assert_eq!(h.map(|h| h.len), Some(2881));
        // Invalid: free format, bad bitrate, reserved rate/version/layer/emphasis, no sync.
        for bad in [
            [0xFF, 0xFB, 0x00, 0x00],
            [0xFF, 0xFB, 0xF0, 0x00],
            [0xFF, 0xFB, 0x9C, 0x00],
            [0xFF, 0xEB, 0x90, 0x00],
            [0xFF, 0xF9, 0x90, 0x00],
            [0xFF, 0xFB, 0x90, 0x02],
            [0xFE, 0xFB, 0x90, 0x00],
        ] {
            assert_eq!(parse_mp3_header(&bad), None, "{bad:02x?}");
        }
        assert_eq!(parse_mp3_header(&[0xFF, 0xFB, 0x90]), None);
    }

    #[test]
    fn adts_headers() {
        // MPEG-4 AAC LC 44.1 kHz stereo, 371 bytes, no CRC, 1 raw data block.
        let len = 371usize;
        let h = [
            0xFF,
            0xF1,
            0x50,
            0x80 | (len >> 11) as u8,
            (len >> 3) as u8,
            ((len & 7) << 5) as u8 | 0x1F,
            0xFC,
        ];
        let p = parse_adts_header(&h);
        assert_eq!(
            p.map(|p| (p.len, p.samples, p.sample_rate, p.channels)),
            Some((371, 1024, 44_100, 2))
        );
        assert_eq!(p.map(|p| p.header_len), Some(7));
        // protection_absent 0: a 2-byte CRC follows the 7 bytes.
        let mut crc = h;
        crc[1] = 0xF0;
        assert_eq!(parse_adts_header(&crc).map(|p| p.header_len), Some(9));
        let mut two_blocks = h;
        two_blocks[6] |= 1;
        assert_eq!(
            parse_adts_header(&two_blocks).map(|p| p.samples),
            Some(2048)
        );
        let mut bad_rate = h;
        bad_rate[2] = 0x50 | 0x34; // index 13
        assert_eq!(parse_adts_header(&bad_rate), None);
        let mut short = h;
        short[3] &= !3;
        short[4] = 0;
        short[5] = 0xC0; // length 6 < 7
        assert_eq!(parse_adts_header(&short), None);
        // An MP3 header is not ADTS and vice versa.
        assert_eq!(parse_adts_header(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0]), None);
        assert_eq!(parse_mp3_header(&h), None);
    }

    #[test]
    fn id3() {
        assert_eq!(
            id3v2_len(b"ID3\x04\x00\x00\x00\x00\x02\x01"),
            Some(10 + 257)
        );
        assert_eq!(id3v2_len(b"ID3\x04\x00\x10\x00\x00\x00\x05"), Some(25));
        assert_eq!(id3v2_len(b"ID3\x04\x00\x00\x80\x00\x00\x00"), None);
        assert_eq!(id3v2_len(b"ID3\x04\x00\x00"), None);
    }
}
