//! MPEG-2 transport stream segments (ISO/IEC 13818-1) for HLS: one audio program with AAC in
//! ADTS (stream type 0x0F) or MP3 (0x03, 0x04 below 32 kHz), and optionally an ID3 timed
//! metadata stream (stream type 0x15, Apple's "Timed Metadata for HTTP Live Streaming").
//!
//! Every segment starts with a PAT and a PMT, so it can be decoded alone; each frame is one PES
//! packet (stream id 0xC0, PTS on the 90 kHz clock, data alignment set) whose first TS packet
//! carries a PCR equal to the PTS and the random-access flag. Continuity counters live in the
//! [`TsMuxer`] and carry across segments, so concatenated segments form one clean stream.
//!
//! | PID | carries |
//! |---|---|
//! | 0x0000 | PAT (program 1 → PMT PID) |
//! | 0x1000 | PMT |
//! | 0x0100 | audio (PCR PID) |
//! | 0x0102 | ID3 metadata PES (stream id 0xBD), when enabled |

use super::packed::{id3_tag, id3_text_frame, PTS_MASK};
use super::MuxError;

/// Transport packet size.
pub const PACKET_SIZE: usize = 188;
/// PID of the program map table.
pub const PMT_PID: u16 = 0x1000;
/// PID of the audio elementary stream (also the PCR PID).
pub const AUDIO_PID: u16 = 0x0100;
/// PID of the ID3 timed-metadata stream.
pub const ID3_PID: u16 = 0x0102;
/// Most frames one segment may hold.
pub const MAX_FRAMES_PER_SEGMENT: usize = 65_536;
/// Largest frame one audio PES packet holds (the 16-bit PES length minus the 8-byte header
/// extension with the PTS).
pub const MAX_FRAME_LEN: usize = 0xFFFF - 8;

/// The audio codec of the transport stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsCodec {
    /// AAC in ADTS frames (each frame with its 7-byte header).
    AdtsAac,
    /// MPEG-1/2 Layer III frames.
    Mp3,
}

/// One audio frame of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsFrame<'a> {
    /// The frame as it is streamed: an ADTS frame with header, or an MP3 frame.
    pub data: &'a [u8],
    /// Its duration in samples at the muxer's sample rate (1024 for AAC-LC, 2048 for HE-AAC
    /// at the output rate, 1152 for MPEG-1 Layer III).
    pub samples: u32,
}

/// Writes transport-stream segments of one audio stream; holds the continuity counters, which
/// carry across segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsMuxer {
    codec: TsCodec,
    sample_rate: u32,
    timed_metadata: bool,
    cc_pat: u8,
    cc_pmt: u8,
    cc_audio: u8,
    cc_id3: u8,
}

impl TsMuxer {
    /// A muxer for `codec` at `sample_rate` (the rate frame durations are counted in); with
    /// `timed_metadata` the PMT declares the ID3 stream and [`TsMuxer::segment_with_title`] can
    /// carry titles.
    pub fn new(codec: TsCodec, sample_rate: u32, timed_metadata: bool) -> Result<Self, MuxError> {
        if sample_rate == 0 {
            return Err(MuxError::Config("sample rate is 0"));
        }
        Ok(Self {
            codec,
            sample_rate,
            timed_metadata,
            cc_pat: 0,
            cc_pmt: 0,
            cc_audio: 0,
            cc_id3: 0,
        })
    }

    /// The 90 kHz time `samples` samples after a start (rounded down); callers add it to a
    /// segment's base to get the next segment's base without drift.
    pub fn samples_to_90k(&self, samples: u64) -> u64 {
        (u128::from(samples) * 90_000 / u128::from(self.sample_rate)) as u64
    }

    /// A segment: PAT, PMT, then one PES per frame. Frame `i`'s PTS is `base_pts_90k` plus the
    /// 90 kHz time of the samples of frames `0..i` (exact, rounded down per frame, so no drift);
    /// PTS values wrap at 33 bits.
    pub fn segment(
        &mut self,
        base_pts_90k: u64,
        frames: &[TsFrame<'_>],
    ) -> Result<Vec<u8>, MuxError> {
        self.segment_with_title(base_pts_90k, frames, None)
    }

    /// Like [`TsMuxer::segment`]; with a `title` (and timed metadata enabled) an ID3 PES with a
    /// `TIT2` frame stamped with `base_pts_90k` follows the PMT. Without timed metadata the
    /// title is an error.
    pub fn segment_with_title(
        &mut self,
        base_pts_90k: u64,
        frames: &[TsFrame<'_>],
        title: Option<&str>,
    ) -> Result<Vec<u8>, MuxError> {
        if frames.is_empty() {
            return Err(MuxError::NoSamples);
        }
        if frames.len() > MAX_FRAMES_PER_SEGMENT {
            return Err(MuxError::TooManySamples {
                count: frames.len(),
                limit: MAX_FRAMES_PER_SEGMENT,
            });
        }
        if let Some(f) = frames.iter().find(|f| f.data.len() > MAX_FRAME_LEN) {
            return Err(MuxError::FrameTooLarge {
                len: f.data.len(),
                limit: MAX_FRAME_LEN,
            });
        }
        let tag = match title {
            Some(_) if !self.timed_metadata => {
                return Err(MuxError::Config("title given but timed metadata is off"))
            }
            Some(title) => Some(id3_tag(&[id3_text_frame(b"TIT2", title)])),
            None => None,
        };
        if let Some(tag) = tag.as_ref().filter(|t| t.len() > MAX_FRAME_LEN) {
            return Err(MuxError::FrameTooLarge {
                len: tag.len(),
                limit: MAX_FRAME_LEN,
            });
        }
        // Nothing above changed the counters: an error leaves the muxer as it was.
        let mut out = Vec::with_capacity(
            PACKET_SIZE * (3 + frames.iter().map(|f| f.data.len() / 176 + 1).sum::<usize>()),
        );
        let (pat, pmt) = (self.pat(), self.pmt());
        write_section(&mut out, 0, &mut self.cc_pat, &pat);
        write_section(&mut out, PMT_PID, &mut self.cc_pmt, &pmt);
        if let Some(tag) = tag {
            let pes = pes_packet(0xBD, base_pts_90k, &tag);
            write_packets(&mut out, ID3_PID, &mut self.cc_id3, &pes, None);
        }
        let mut elapsed: u64 = 0;
        for f in frames {
            let pts = base_pts_90k.wrapping_add(self.samples_to_90k(elapsed));
            let pes = pes_packet(0xC0, pts, f.data);
            write_packets(&mut out, AUDIO_PID, &mut self.cc_audio, &pes, Some(pts));
            elapsed += u64::from(f.samples);
        }
        Ok(out)
    }

    /// The PAT section with its pointer field: program 1 at [`PMT_PID`].
    fn pat(&self) -> Vec<u8> {
        let mut body = vec![0x00, 0x01]; // program number 1
        body.extend_from_slice(&(0xE000 | PMT_PID).to_be_bytes());
        psi_section(0x00, 0x0001, &body)
    }

    /// The PMT section: PCR on the audio PID, the audio stream, and the ID3 stream with its
    /// metadata pointer and metadata descriptors when timed metadata is on.
    fn pmt(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&(0xE000 | AUDIO_PID).to_be_bytes());
        let program_info: &[u8] = if self.timed_metadata {
            &[
                0x25, 0x0F, 0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00,
                0x1F, 0x00, 0x01,
            ]
        } else {
            &[]
        };
        body.extend_from_slice(&(0xF000 | program_info.len() as u16).to_be_bytes());
        body.extend_from_slice(program_info);
        let stream_type = match self.codec {
            TsCodec::AdtsAac => 0x0F,
            TsCodec::Mp3 if self.sample_rate >= 32_000 => 0x03,
            TsCodec::Mp3 => 0x04,
        };
        body.push(stream_type);
        body.extend_from_slice(&(0xE000 | AUDIO_PID).to_be_bytes());
        body.extend_from_slice(&0xF000u16.to_be_bytes());
        if self.timed_metadata {
            let descriptor = [
                0x26, 0x0D, 0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00,
                0x0F,
            ];
            body.push(0x15);
            body.extend_from_slice(&(0xE000 | ID3_PID).to_be_bytes());
            body.extend_from_slice(&(0xF000 | descriptor.len() as u16).to_be_bytes());
            body.extend_from_slice(&descriptor);
        }
        psi_section(0x02, 0x0001, &body)
    }
}

/// A long-form PSI section (pointer field first): table id, section length, the table id
/// extension, version 0 current, section 0 of 0, `body`, CRC-32/MPEG-2.
fn psi_section(table_id: u8, extension: u16, body: &[u8]) -> Vec<u8> {
    let section_length = 5 + body.len() + 4;
    let mut out = Vec::with_capacity(4 + section_length);
    out.push(0x00); // pointer field
    out.push(table_id);
    out.extend_from_slice(&(0xB000 | section_length as u16).to_be_bytes());
    out.extend_from_slice(&extension.to_be_bytes());
    out.extend_from_slice(&[0xC1, 0x00, 0x00]); // version 0, current; section 0 of 0
    out.extend_from_slice(body);
    let crc = crc32_mpeg2(&out[1..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial 0xFFFFFFFF, not reflected, no final xor.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The 5-byte PTS field ('0010', 33 bits in three marked pieces).
fn pts_bytes(pts: u64) -> [u8; 5] {
    let pts = pts & PTS_MASK;
    [
        0x21 | ((pts >> 29) as u8 & 0x0E),
        (pts >> 22) as u8,
        0x01 | ((pts >> 14) as u8 & 0xFE),
        (pts >> 7) as u8,
        0x01 | ((pts << 1) as u8 & 0xFE),
    ]
}

/// A PES packet with a PTS and the data-alignment flag. `data` is at most [`MAX_FRAME_LEN`].
fn pes_packet(stream_id: u8, pts: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + data.len());
    out.extend_from_slice(&[0x00, 0x00, 0x01, stream_id]);
    out.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(&[0x84, 0x80, 0x05]); // aligned; PTS only; 5 header bytes
    out.extend_from_slice(&pts_bytes(pts));
    out.extend_from_slice(data);
    out
}

/// One transport packet holding a PSI section (pointer field included), the rest of the
/// payload stuffed with 0xFF as ISO 13818-1 section 2.4.4 prescribes. Sections here are far
/// below 184 bytes.
fn write_section(out: &mut Vec<u8>, pid: u16, cc: &mut u8, section: &[u8]) {
    let section = &section[..section.len().min(184)];
    out.push(0x47);
    out.push(0x40 | ((pid >> 8) as u8 & 0x1F));
    out.push(pid as u8);
    out.push(0x10 | (*cc & 0x0F));
    out.extend_from_slice(section);
    out.resize(out.len() + 184 - section.len(), 0xFF);
    *cc = (*cc + 1) & 0x0F;
}

/// Splits `payload` into transport packets on `pid`: the first with payload-unit-start (and,
/// given a PCR, an adaptation field with the random-access flag and the PCR); the last padded
/// with adaptation-field stuffing.
fn write_packets(out: &mut Vec<u8>, pid: u16, cc: &mut u8, payload: &[u8], pcr: Option<u64>) {
    let mut rest = payload;
    let mut first = true;
    while !rest.is_empty() {
        let mut adaptation: Vec<u8> = Vec::new(); // after the length byte
        if first {
            if let Some(pcr) = pcr {
                let base = pcr & PTS_MASK;
                adaptation.push(0x50); // random access, PCR
                adaptation.extend_from_slice(&[
                    (base >> 25) as u8,
                    (base >> 17) as u8,
                    (base >> 9) as u8,
                    (base >> 1) as u8,
                    ((base as u8 & 1) << 7) | 0x7E, // 6 reserved bits, extension high bit 0
                    0x00,
                ]);
            }
        }
        let mut af_len = if adaptation.is_empty() {
            0
        } else {
            1 + adaptation.len()
        };
        let take = rest.len().min(184 - af_len);
        if take < 184 - af_len {
            let needed = 184 - take; // bytes the whole adaptation field must fill
            if adaptation.is_empty() && needed >= 2 {
                adaptation.push(0x00);
            }
            while 1 + adaptation.len() < needed {
                adaptation.push(0xFF);
            }
            af_len = needed;
        }
        let control = if af_len > 0 { 0x30 } else { 0x10 };
        let start = out.len();
        out.push(0x47);
        out.push((if first { 0x40 } else { 0x00 }) | ((pid >> 8) as u8 & 0x1F));
        out.push(pid as u8);
        out.push(control | (*cc & 0x0F));
        if af_len > 0 {
            out.push((af_len - 1) as u8);
            out.extend_from_slice(&adaptation);
        }
        out.extend_from_slice(&rest[..take]);
        debug_assert_eq!(out.len() - start, PACKET_SIZE);
        *cc = (*cc + 1) & 0x0F;
        rest = &rest[take..];
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(ts: &[u8]) -> Vec<&[u8]> {
        assert_eq!(ts.len() % PACKET_SIZE, 0);
        ts.chunks(PACKET_SIZE).collect()
    }

    fn pid(p: &[u8]) -> u16 {
        u16::from(p[1] & 0x1F) << 8 | u16::from(p[2])
    }

    /// The payload of a packet (after the adaptation field, if any).
    fn payload(p: &[u8]) -> &[u8] {
        match p[3] & 0x30 {
            0x10 => &p[4..],
            0x30 => &p[5 + usize::from(p[4])..],
            _ => &[],
        }
    }

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn pat_packet_is_the_canonical_one() {
        let mut m = TsMuxer::new(TsCodec::AdtsAac, 48_000, false).expect("muxer");
        let ts = m
            .segment(
                0,
                &[TsFrame {
                    data: &[0; 10],
                    samples: 1024,
                }],
            )
            .expect("segment");
        let mut want = vec![
            0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00,
            0x01, 0xF0, 0x00, 0x2A, 0xB1, 0x04, 0xB2,
        ];
        want.resize(PACKET_SIZE, 0xFF);
        assert_eq!(packets(&ts)[0], want.as_slice());
    }

    #[test]
    fn pmt_sections() {
        let m = TsMuxer::new(TsCodec::AdtsAac, 48_000, false).expect("muxer");
        let pmt = m.pmt();
        assert_eq!(
            &pmt[..pmt.len() - 4],
            &[
                0x00, 0x02, 0xB0, 0x12, 0x00, 0x01, 0xC1, 0x00, 0x00, 0xE1, 0x00, 0xF0, 0x00, 0x0F,
                0xE1, 0x00, 0xF0, 0x00
            ]
        );
        // A CRC over a section including its own CRC is 0.
        assert_eq!(crc32_mpeg2(&pmt[1..]), 0);

        let m = TsMuxer::new(TsCodec::Mp3, 44_100, true).expect("muxer");
        let pmt = m.pmt();
        assert_eq!(crc32_mpeg2(&pmt[1..]), 0);
        let body = &pmt[1..pmt.len() - 4];
        // section_length counts everything after itself, CRC included
        assert_eq!(
            usize::from(body[1] & 0x0F) << 8 | usize::from(body[2]),
            body.len() - 3 + 4
        );
        let want_tail = [
            0xE1, 0x00, 0xF0, 0x11, // PCR PID, program info length 17
            0x25, 0x0F, 0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00,
            0x1F, 0x00, 0x01, // metadata pointer descriptor
            0x03, 0xE1, 0x00, 0xF0, 0x00, // MP3 (MPEG-1) on 0x100
            0x15, 0xE1, 0x02, 0xF0, 0x0F, // ID3 on 0x102, 15 bytes of descriptor
            0x26, 0x0D, 0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00,
            0x0F,
        ];
        assert_eq!(&body[8..], &want_tail);
        let half = TsMuxer::new(TsCodec::Mp3, 22_050, false)
            .expect("muxer")
            .pmt();
        assert_eq!(half[13], 0x04, "MPEG-2 audio below 32 kHz");
    }

    #[test]
    fn pts_field() {
        assert_eq!(pts_bytes(90_000), [0x21, 0x00, 0x05, 0xBF, 0x21]);
        assert_eq!(pts_bytes(0), [0x21, 0x00, 0x01, 0x00, 0x01]);
        assert_eq!(pts_bytes(PTS_MASK), [0x2F, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(pts_bytes(PTS_MASK + 1), pts_bytes(0), "wraps at 33 bits");
    }

    #[test]
    fn small_frame_is_one_packet_with_pcr_and_stuffing() {
        let mut m = TsMuxer::new(TsCodec::AdtsAac, 48_000, false).expect("muxer");
        let frame = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let ts = m
            .segment(
                90_000,
                &[TsFrame {
                    data: &frame,
                    samples: 1024,
                }],
            )
            .expect("segment");
        let p = packets(&ts);
        assert_eq!(p.len(), 3);
        let mut want = vec![
            0x47, 0x41, 0x00, 0x30, 159, 0x50, 0x00, 0x00, 0xAF, 0xC8, 0x7E, 0x00,
        ];
        want.resize(5 + 159, 0xFF);
        want.extend_from_slice(&[
            0x00, 0x00, 0x01, 0xC0, 0x00, 0x12, 0x84, 0x80, 0x05, 0x21, 0x00, 0x05, 0xBF, 0x21,
        ]);
        want.extend_from_slice(&frame);
        assert_eq!(p[2], want.as_slice());
    }

    #[test]
    fn large_frame_spans_packets() {
        let mut m = TsMuxer::new(TsCodec::Mp3, 44_100, false).expect("muxer");
        let frame: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
        let ts = m
            .segment(
                0,
                &[TsFrame {
                    data: &frame,
                    samples: 1152,
                }],
            )
            .expect("segment");
        let p = packets(&ts);
        // PAT, PMT, then 414 bytes of PES (14 of header): 176 (after the PCR) + 184 + 54
        assert_eq!(p.len(), 5);
        assert_eq!(p[2][1] & 0x40, 0x40, "payload unit start");
        assert_eq!(p[3][1] & 0x40, 0, "continuation");
        assert_eq!(p[3][3] & 0x30, 0x10, "no adaptation field in the middle");
        assert_eq!(payload(p[2]).len(), 176);
        assert_eq!(payload(p[4]).len(), 54);
        let pes: Vec<u8> = p[2..].iter().flat_map(|p| payload(p).to_vec()).collect();
        assert_eq!(&pes[..6], &[0, 0, 1, 0xC0, 0x01, 0x98]); // 400 + 8
        assert_eq!(&pes[14..], frame.as_slice());
    }

    #[test]
    fn continuity_counters_carry_across_segments() {
        let mut m = TsMuxer::new(TsCodec::AdtsAac, 48_000, true).expect("muxer");
        let frame = [0u8; 300]; // two packets per PES
        let frames = [TsFrame {
            data: &frame,
            samples: 1024,
        }; 5];
        let mut all = m.segment_with_title(0, &frames, Some("a")).expect("seg");
        all.extend(m.segment(9_000, &frames).expect("seg"));
        all.extend(
            m.segment_with_title(18_000, &frames, Some("b"))
                .expect("seg"),
        );
        let mut last: std::collections::HashMap<u16, u8> = Default::default();
        for p in packets(&all) {
            let cc = p[3] & 0x0F;
            if let Some(prev) = last.insert(pid(p), cc) {
                assert_eq!(cc, (prev + 1) & 0x0F, "PID {:#x}", pid(p));
            }
        }
        assert_eq!(last.len(), 4, "PAT, PMT, audio, ID3");
        // frame PTS: 1024 samples at 48 kHz are 1920 ticks
        let starts: Vec<&[u8]> = packets(&all)
            .into_iter()
            .filter(|p| pid(p) == AUDIO_PID && p[1] & 0x40 != 0)
            .collect();
        assert_eq!(payload(starts[1])[9..14], pts_bytes(1920));
        assert_eq!(payload(starts[6])[9..14], pts_bytes(9_000 + 1920));
    }

    #[test]
    fn id3_pes_carries_the_title_at_the_segment_start() {
        let mut m = TsMuxer::new(TsCodec::AdtsAac, 48_000, true).expect("muxer");
        let ts = m
            .segment_with_title(
                4_500,
                &[TsFrame {
                    data: &[0; 8],
                    samples: 1024,
                }],
                Some("Hi"),
            )
            .expect("segment");
        let p = packets(&ts);
        assert_eq!(pid(p[2]), ID3_PID);
        let pes = payload(p[2]);
        let tag = crate::mux::packed::id3_tag(&[crate::mux::packed::id3_text_frame(b"TIT2", "Hi")]);
        assert_eq!(&pes[..4], &[0, 0, 1, 0xBD]);
        assert_eq!(&pes[9..14], &pts_bytes(4_500));
        assert_eq!(&pes[14..], tag.as_slice());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(TsMuxer::new(TsCodec::Mp3, 0, false).is_err());
        let mut m = TsMuxer::new(TsCodec::AdtsAac, 48_000, false).expect("muxer");
        assert_eq!(m.segment(0, &[]), Err(MuxError::NoSamples));
        let big = vec![0u8; MAX_FRAME_LEN + 1];
        assert!(matches!(
            m.segment(
                0,
                &[TsFrame {
                    data: &big,
                    samples: 1024
                }]
            ),
            Err(MuxError::FrameTooLarge { .. })
        ));
        let one = [TsFrame {
            data: &[0],
            samples: 1024,
        }];
        assert!(matches!(
            m.segment_with_title(0, &one, Some("t")),
            Err(MuxError::Config(_))
        ));
        let mut with_id3 = TsMuxer::new(TsCodec::AdtsAac, 48_000, true).expect("muxer");
        let huge = "x".repeat(MAX_FRAME_LEN);
        let before = with_id3.clone();
        assert!(matches!(
            with_id3.segment_with_title(0, &one, Some(&huge)),
            Err(MuxError::FrameTooLarge { .. })
        ));
        assert_eq!(
            with_id3, before,
            "a failed segment leaves the counters alone"
        );
        assert_eq!(
            m,
            TsMuxer::new(TsCodec::AdtsAac, 48_000, false).expect("muxer")
        );
    }

    #[test]
    fn sample_time_conversion() {
        let m = TsMuxer::new(TsCodec::AdtsAac, 44_100, false).expect("muxer");
        assert_eq!(m.samples_to_90k(44_100), 90_000);
        assert_eq!(m.samples_to_90k(1024), 2089);
        assert_eq!(
            m.samples_to_90k(u64::MAX),
            (u128::from(u64::MAX) * 90_000 / 44_100) as u64
        );
    }
}
