//! WebM / Matroska: the header, then clusters cut into join points.
//!
//! The header is everything before the first Cluster at the Segment's child level. Each
//! Cluster starts a [`UnitKind::Sync`] unit; the rest of the cluster follows as
//! [`UnitKind::Continuation`] units of at most [`WEBM_MAX_UNIT`] bytes, cut at child element
//! boundaries where elements are small, so that a listener joining does not wait for a whole
//! cluster. Live encoders write clusters of unknown size: their end is found by walking their
//! children (SimpleBlock, BlockGroup, Timecode, ...) up to the next top-level element.
//! Anything that does not parse is skipped up to the next Cluster (confirmed by the Timecode
//! that must open it) or EBML header.

use super::{Core, Unit, UnitKind};

/// Largest WebM unit the framer emits (a larger block is passed on in pieces of this size).
pub const WEBM_MAX_UNIT: usize = 16 * 1024;

const ID_EBML: u32 = 0x1A45_DFA3;
const ID_SEGMENT: u32 = 0x1853_8067;
const ID_CLUSTER: u32 = 0x1F43_B675;
const ID_TRACKS: u32 = 0x1654_AE6B;
const ID_TRACK_ENTRY: u32 = 0xAE;
const ID_AUDIO: u32 = 0xE1;
const ID_SAMPLING_FREQUENCY: u32 = 0xB5;
const ID_CHANNELS: u32 = 0x9F;
const ID_TIMECODE: u32 = 0xE7;
const ID_VOID: u32 = 0xEC;
const ID_CRC32: u32 = 0xBF;

/// Segment children other than Cluster (SeekHead, Info, Tracks, Tags, Cues, Chapters,
/// Attachments), plus the global Void and CRC-32.
const TOP_LEVEL: [u32; 9] = [
    0x114D_9B74,
    0x1549_A966,
    ID_TRACKS,
    0x1254_C367,
    0x1C53_BB6B,
    0x1043_A770,
    0x1941_A469,
    ID_VOID,
    ID_CRC32,
];

/// Children of a Cluster: Timecode, Position, PrevSize, SimpleBlock, BlockGroup,
/// EncryptedBlock, SilentTracks, Void, CRC-32.
const CLUSTER_CHILDREN: [u32; 9] = [
    ID_TIMECODE,
    0xA7,
    0xAB,
    0xA3,
    0xA0,
    0xAF,
    0x5854,
    ID_VOID,
    ID_CRC32,
];

/// An EBML element header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// More bytes needed.
    Need,
    /// Not a valid element header.
    Bad,
    /// `id` (with its length marker), `size` (`None`: unknown), header length.
    Elem {
        id: u32,
        size: Option<u64>,
        len: usize,
    },
}

fn element_header(b: &[u8]) -> Header {
    let Some(&first) = b.first() else {
        return Header::Need;
    };
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 || first == 0xFF {
        return Header::Bad;
    }
    let Some(id_bytes) = b.get(..id_len) else {
        return Header::Need;
    };
    let id = id_bytes
        .iter()
        .fold(0u32, |acc, &x| acc << 8 | u32::from(x));
    let Some(&size_first) = b.get(id_len) else {
        return Header::Need;
    };
    let size_len = size_first.leading_zeros() as usize + 1;
    if size_len > 8 {
        return Header::Bad;
    }
    let Some(size_bytes) = b.get(id_len..id_len + size_len) else {
        return Header::Need;
    };
    let marker_mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
    let mut value = u64::from(size_first & marker_mask);
    let mut all_ones = size_first & marker_mask == marker_mask;
    for &x in size_bytes.get(1..).unwrap_or(&[]) {
        value = value << 8 | u64::from(x);
        all_ones &= x == 0xFF;
    }
    Header::Elem {
        id,
        size: (!all_ones).then_some(value),
        len: id_len + size_len,
    }
}

/// The children of an element's payload, as (id, payload); stops at anything malformed. A
/// child of unknown size, or one that runs past the end, gets the rest of the data.
fn children(mut data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let Header::Elem { id, size, len } = element_header(data) else {
            return None;
        };
        let rest = data.get(len..)?;
        let size = size.map_or(rest.len(), |s| usize::try_from(s).unwrap_or(usize::MAX));
        let (payload, after) = rest.split_at(size.min(rest.len()));
        data = after;
        Some((id, payload))
    })
}

fn uint(payload: &[u8]) -> u64 {
    payload
        .iter()
        .take(8)
        .fold(0, |acc, &x| acc << 8 | u64::from(x))
}

/// Sample rate and channels of the first audio track described in a header.
fn audio_info(header: &[u8]) -> Option<(u32, u8)> {
    let segment = children(header).find(|(id, _)| *id == ID_SEGMENT)?.1;
    for (_, tracks) in children(segment).filter(|(id, _)| *id == ID_TRACKS) {
        for (_, entry) in children(tracks).filter(|(id, _)| *id == ID_TRACK_ENTRY) {
            let Some((_, audio)) = children(entry).find(|(id, _)| *id == ID_AUDIO) else {
                continue;
            };
            let mut rate = 8000u32; // the Matroska default
            let mut channels = 1u8; // the Matroska default
            for (id, payload) in children(audio) {
                match id {
                    ID_SAMPLING_FREQUENCY => {
                        if let Ok(b) = <[u8; 4]>::try_from(payload) {
                            rate = f32::from_be_bytes(b) as u32;
                        } else if let Ok(b) = <[u8; 8]>::try_from(payload) {
                            rate = f64::from_be_bytes(b) as u32;
                        }
                    }
                    ID_CHANNELS => channels = u8::try_from(uint(payload)).unwrap_or(u8::MAX),
                    _ => {}
                }
            }
            return Some((rate, channels));
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Collecting the header from the start of the buffer; `scan` bytes of it walked.
    Header { scan: usize },
    /// At a Segment child boundary.
    TopLevel,
    /// Inside a cluster: `left` bytes of its body (`None`: unknown size); `head` bytes of its
    /// header at the start of the buffer not yet emitted (non-zero until its sync unit).
    Cluster { left: Option<u64>, head: usize },
    /// Passing a top-level element other than a cluster through; `left` bytes to go.
    Pass { left: u64 },
    /// Looking for a Cluster or an EBML header.
    Hunt,
}

#[derive(Debug)]
pub(crate) struct WebmFramer {
    phase: Phase,
    /// Bytes of a large cluster child still to pass through.
    pass: u64,
}

impl Default for WebmFramer {
    fn default() -> Self {
        WebmFramer {
            phase: Phase::Header { scan: 0 },
            pass: 0,
        }
    }
}

/// The earliest Cluster or EBML ID in `buf`.
fn find_resync(buf: &[u8]) -> Option<usize> {
    let cluster = ID_CLUSTER.to_be_bytes();
    let ebml = ID_EBML.to_be_bytes();
    buf.windows(4).position(|w| w == cluster || w == ebml)
}

enum Step {
    Emit(Unit),
    Need,
    Again,
}

impl WebmFramer {
    pub(crate) fn lost_sync(&mut self) {
        self.phase = Phase::Hunt;
        self.pass = 0;
    }

    /// Something did not parse: skip a byte and hunt.
    fn corrupt(&mut self, core: &mut Core) -> Step {
        core.skip_garbage(1);
        self.lost_sync();
        Step::Again
    }

    pub(crate) fn next(&mut self, core: &mut Core) -> Option<Unit> {
        loop {
            let step = match self.phase {
                Phase::Header { scan } => self.header(core, scan),
                Phase::TopLevel => self.top_level(core),
                Phase::Cluster { left, head } => self.cluster(core, left, head),
                Phase::Pass { left } => {
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(core.buf.len())
                        .min(WEBM_MAX_UNIT);
                    if take == 0 {
                        Step::Need
                    } else {
                        let left = left - take as u64;
                        self.phase = if left == 0 {
                            Phase::TopLevel
                        } else {
                            Phase::Pass { left }
                        };
                        Step::Emit(core.unit(take, UnitKind::Continuation, 0))
                    }
                }
                Phase::Hunt => self.hunt(core),
            };
            match step {
                Step::Emit(unit) => return Some(unit),
                Step::Need => return None,
                Step::Again => {}
            }
        }
    }

    fn header(&mut self, core: &mut Core, mut scan: usize) -> Step {
        loop {
            let Some(rest) = core.buf.get(scan..) else {
                self.phase = Phase::Header { scan };
                return Step::Need;
            };
            let (id, size, len) = match element_header(rest) {
                Header::Need => {
                    self.phase = Phase::Header { scan };
                    return Step::Need;
                }
                Header::Bad => return self.corrupt(core),
                Header::Elem { id, size, len } => (id, size, len),
            };
            if scan == 0 && id != ID_EBML {
                return self.corrupt(core);
            }
            match id {
                ID_EBML if scan > 0 => {
                    // A new EBML header before any cluster: the first one led nowhere.
                    core.skip_garbage(scan);
                    scan = 0;
                }
                ID_SEGMENT => scan += len,
                ID_CLUSTER => {
                    if let Some((rate, channels)) = audio_info(core.buf.get(..scan).unwrap_or(&[]))
                    {
                        core.info.sample_rate = rate;
                        core.info.channels = channels;
                        core.info.bitrate_kbps = 0;
                    }
                    self.phase = Phase::TopLevel;
                    return Step::Emit(core.unit(scan, UnitKind::Header { first: true }, 0));
                }
                _ => {
                    let Some(next) = size
                        .and_then(|s| usize::try_from(s).ok())
                        .and_then(|s| scan.checked_add(len)?.checked_add(s))
                    else {
                        return self.corrupt(core);
                    };
                    scan = next;
                }
            }
        }
    }

    fn top_level(&mut self, core: &mut Core) -> Step {
        match element_header(&core.buf) {
            Header::Need => Step::Need,
            Header::Bad => self.corrupt(core),
            Header::Elem { id, size, len } => {
                match (id, size) {
                    (ID_CLUSTER, left) => self.phase = Phase::Cluster { left, head: len },
                    (ID_EBML, Some(_)) => self.phase = Phase::Header { scan: 0 },
                    (id, Some(size)) if TOP_LEVEL.contains(&id) => {
                        self.phase = Phase::Pass {
                            left: (len as u64).saturating_add(size),
                        }
                    }
                    _ => return self.corrupt(core),
                }
                Step::Again
            }
        }
    }

    fn cluster(&mut self, core: &mut Core, mut left: Option<u64>, head: usize) -> Step {
        let buf = &core.buf[..];
        let mut n = head;
        let mut ended = false;
        let mut bad = false;
        while n < WEBM_MAX_UNIT {
            if self.pass > 0 {
                let take = usize::try_from(self.pass)
                    .unwrap_or(usize::MAX)
                    .min(buf.len().saturating_sub(n))
                    .min(WEBM_MAX_UNIT - n);
                if take == 0 {
                    break;
                }
                n += take;
                self.pass -= take as u64;
                left = left.map(|l| l.saturating_sub(take as u64));
                continue;
            }
            if left == Some(0) {
                ended = true;
                break;
            }
            match element_header(buf.get(n..).unwrap_or(&[])) {
                Header::Need => break,
                Header::Bad => {
                    bad = true;
                    break;
                }
                Header::Elem { id, size, len } => {
                    if CLUSTER_CHILDREN.contains(&id) {
                        let Some(full) = size.and_then(|s| s.checked_add(len as u64)) else {
                            bad = true;
                            break;
                        };
                        if left.is_some_and(|l| full > l) {
                            bad = true;
                            break;
                        }
                        if full > WEBM_MAX_UNIT as u64 {
                            self.pass = full;
                            continue;
                        }
                        let end = n + full as usize;
                        if end > buf.len() || end > WEBM_MAX_UNIT {
                            break;
                        }
                        n = end;
                        left = left.map(|l| l - full);
                    } else if left.is_none()
                        && (id == ID_CLUSTER
                            || id == ID_EBML
                            || id == ID_SEGMENT
                            || TOP_LEVEL.contains(&id))
                    {
                        ended = true;
                        break;
                    } else {
                        bad = true;
                        break;
                    }
                }
            }
        }
        let kind = if head > 0 {
            UnitKind::Sync
        } else {
            UnitKind::Continuation
        };
        if bad && n <= head {
            return self.corrupt(core);
        }
        self.phase = if ended {
            Phase::TopLevel
        } else {
            Phase::Cluster { left, head: 0 }
        };
        if n > head || (ended && n > 0) {
            Step::Emit(core.unit(n, kind, 0))
        } else if ended {
            Step::Again
        } else {
            self.phase = Phase::Cluster { left, head };
            Step::Need
        }
    }

    fn hunt(&mut self, core: &mut Core) -> Step {
        let buf = &core.buf[..];
        match find_resync(buf) {
            None => {
                let n = buf.len().saturating_sub(3);
                if n == 0 {
                    return Step::Need;
                }
                core.skip_garbage(n);
                Step::Need
            }
            Some(p) if p > 0 => {
                core.skip_garbage(p);
                Step::Again
            }
            Some(_) => match element_header(buf) {
                Header::Need => Step::Need,
                Header::Bad => self.corrupt(core),
                Header::Elem {
                    id: ID_EBML,
                    size: Some(_),
                    ..
                } => {
                    self.phase = Phase::Header { scan: 0 };
                    Step::Again
                }
                Header::Elem {
                    id: ID_CLUSTER,
                    len,
                    ..
                } => match element_header(buf.get(len..).unwrap_or(&[])) {
                    Header::Need => Step::Need,
                    Header::Elem {
                        id: ID_TIMECODE,
                        size: Some(1..=8),
                        ..
                    } => {
                        self.phase = Phase::TopLevel;
                        Step::Again
                    }
                    _ => self.corrupt(core),
                },
                Header::Elem { .. } => self.corrupt(core),
            },
        }
    }

    /// At end of stream, past the header: the rest, partial or not, as one unit.
    pub(crate) fn finish_tail(&mut self, core: &mut Core) -> Option<Unit> {
        if core.buf.is_empty() {
            return None;
        }
        let kind = match self.phase {
            Phase::Cluster { head, .. } if head > 0 => UnitKind::Sync,
            Phase::Cluster { .. } | Phase::TopLevel | Phase::Pass { .. } => UnitKind::Continuation,
            Phase::Header { .. } | Phase::Hunt => return None,
        };
        self.phase = Phase::TopLevel;
        self.pass = 0;
        let n = core.buf.len();
        Some(core.unit(n, kind, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_headers() {
        assert_eq!(
            element_header(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]),
            Header::Elem {
                id: ID_EBML,
                size: Some(31),
                len: 5
            }
        );
        assert_eq!(
            element_header(&[
                0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
            ]),
            Header::Elem {
                id: ID_CLUSTER,
                size: None,
                len: 12
            }
        );
        assert_eq!(
            element_header(&[0xA3, 0xFF]),
            Header::Elem {
                id: 0xA3,
                size: None,
                len: 2
            }
        );
        assert_eq!(
            element_header(&[0xA3, 0x40, 0x02]),
            Header::Elem {
                id: 0xA3,
                size: Some(2),
                len: 3
            }
        );
        assert_eq!(element_header(&[0xA3, 0x40]), Header::Need);
        assert_eq!(element_header(&[]), Header::Need);
        assert_eq!(element_header(&[0x00]), Header::Bad);
        assert_eq!(element_header(&[0x08]), Header::Bad);
        assert_eq!(element_header(&[0xA3, 0x00]), Header::Bad);
        // 8-byte size with all value bits set: unknown.
        assert_eq!(
            element_header(&[0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Header::Elem {
                id: 0xA3,
                size: None,
                len: 9
            }
        );
    }
}
