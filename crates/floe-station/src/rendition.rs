//! A rendition: one encoding of a station's audio, cut into the engine's units (codec headers,
//! then one join point per encoded frame or page, each with its duration), with the station's
//! title changes placed at the unit that carries the first sample of the new track.
//!
//! Durations come from the stream itself: a fixed frame length for MP3, ADTS and native FLAC,
//! the granule position for Ogg pages, the byte count for WAV. The position of a sample in the
//! output is the encoded duration so far minus the encoder's delay ([`CodecInfo::delay`]), so a
//! title lands on the frame or page that holds the track's first sample, in every rendition.

use crate::autodj::{Output, TitleMark};
use bytes::Bytes;
use floe_media::encode::EncoderConfig;
use floe_media::stream::{Container, StreamEncoder};
use floe_media::{AudioBlock, Codec, CodecInfo, EncodeError, Resampler};
use floe_proto::frame::{Unit, UnitKind};
use std::collections::VecDeque;

/// A rendition's codec settings, resolved from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionSpec {
    /// The mount it feeds.
    pub mount: String,
    /// The codec.
    pub codec: Codec,
    /// kbit/s (ignored for FLAC and WAV).
    pub bitrate_kbps: u32,
}

impl RenditionSpec {
    /// The rate this rendition encodes at when the station runs at `station_rate`: Opus is
    /// always 48 kHz; HE-AAC and AAC take the station's rate when it is one they support.
    pub fn rate(&self, station_rate: u32) -> u32 {
        match self.codec {
            Codec::Opus => 48_000,
            _ => station_rate,
        }
    }
}

/// What a rendition hands to its mount, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Units to push.
    Units(Vec<Unit>),
    /// A title that applies from the next unit on.
    Title(TitleMark),
}

/// How a container's chunks are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// Every chunk is one frame of this many samples.
    Fixed(u64),
    /// Ogg pages: the granule position says how many samples so far.
    Granule,
    /// WAV: bytes per frame.
    Bytes(u64),
}

/// Counts the samples a stream of chunks carries and turns them into exact microseconds.
#[derive(Debug, Clone)]
pub struct UnitClock {
    timing: Timing,
    rate: u32,
    /// Samples (at `rate`) carried by the chunks so far, encoder delay included.
    samples: u64,
}

impl UnitClock {
    fn new(timing: Timing, rate: u32) -> Self {
        UnitClock {
            timing,
            rate: rate.max(1),
            samples: 0,
        }
    }

    /// Samples carried so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Samples `chunk` adds.
    fn samples_in(&self, chunk: &[u8]) -> u64 {
        match self.timing {
            Timing::Fixed(n) => n,
            Timing::Bytes(per_frame) => chunk.len() as u64 / per_frame.max(1),
            Timing::Granule => match ogg_granule(chunk) {
                Some(g) if g > self.samples => g - self.samples,
                _ => 0,
            },
        }
    }

    /// Advances past `chunk`; returns its duration in microseconds (running sum exact).
    fn advance(&mut self, samples: u64) -> u64 {
        let us = |n: u64| n * 1_000_000 / u64::from(self.rate);
        let before = us(self.samples);
        self.samples += samples;
        us(self.samples) - before
    }
}

/// The granule position of an Ogg page (`None` for -1, "no packet ends here", or not a page).
pub fn ogg_granule(page: &[u8]) -> Option<u64> {
    if page.len() < 27 || &page[..4] != b"OggS" {
        return None;
    }
    let g = i64::from_le_bytes(page[6..14].try_into().ok()?);
    (g >= 0).then_some(g as u64)
}

/// A rendition's encoder and the bookkeeping that places titles.
pub struct Rendition {
    spec: RenditionSpec,
    enc: StreamEncoder,
    clock: UnitClock,
    /// Title marks waiting for their sample, with their position in samples at the codec's
    /// rate (delay not included).
    marks: VecDeque<(u64, TitleMark)>,
}

impl std::fmt::Debug for Rendition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendition")
            .field("spec", &self.spec)
            .field("info", self.enc.info())
            .finish_non_exhaustive()
    }
}

impl Rendition {
    /// The encoder for `spec` at `rate`/`channels`; `input_rate` is the station's rate
    /// (written into OpusHead as the original rate).
    pub fn new(
        spec: RenditionSpec,
        rate: u32,
        channels: u16,
        input_rate: u32,
    ) -> Result<Self, EncodeError> {
        let config = EncoderConfig {
            codec: spec.codec,
            rate,
            channels,
            bitrate_kbps: spec.bitrate_kbps,
        };
        let enc = StreamEncoder::new(config, input_rate, &[])?;
        let info = enc.info().clone();
        let timing = match enc.container() {
            Container::Ogg => Timing::Granule,
            Container::Wav => Timing::Bytes(2 * u64::from(info.channels)),
            Container::Mp3 | Container::Adts | Container::Flac => {
                Timing::Fixed(u64::from(info.frame_size.max(1)))
            }
        };
        Ok(Rendition {
            spec,
            clock: UnitClock::new(timing, info.rate),
            enc,
            marks: VecDeque::new(),
        })
    }

    /// The spec.
    pub fn spec(&self) -> &RenditionSpec {
        &self.spec
    }

    /// What the encoder produces.
    pub fn info(&self) -> &CodecInfo {
        self.enc.info()
    }

    /// The HTTP content type of the stream.
    pub fn content_type(&self) -> &'static str {
        self.enc.content_type()
    }

    /// The header units every new listener needs first (Ogg header pages, FLAC/WAV headers).
    pub fn header_units(&self) -> Vec<Unit> {
        self.enc
            .header()
            .iter()
            .enumerate()
            .map(|(i, h)| Unit {
                data: h.clone(),
                kind: UnitKind::Header { first: i == 0 },
                duration_us: 0,
            })
            .collect()
    }

    /// Schedules a title at `frame` of this rendition's input (samples at its rate since the
    /// stream started).
    pub fn mark(&mut self, frame: u64, mark: TitleMark) {
        self.marks.push_back((frame, mark));
    }

    /// Encodes `pcm` (at this rendition's rate) and returns the units, with the titles whose
    /// first sample falls in them placed just before.
    pub fn encode(&mut self, pcm: &AudioBlock) -> Result<Vec<Step>, EncodeError> {
        let chunks = self.enc.encode(pcm)?;
        Ok(self.place(chunks))
    }

    fn place(&mut self, chunks: Vec<Bytes>) -> Vec<Step> {
        let delay = u64::from(self.enc.info().delay);
        let mut steps = Vec::new();
        let mut units = Vec::new();
        for data in chunks {
            let n = self.clock.samples_in(&data);
            let end = (self.clock.samples() + n).saturating_sub(delay);
            while self
                .marks
                .front()
                .is_some_and(|(at, _)| *at < end || n == 0 && *at <= end)
            {
                if let Some((_, m)) = self.marks.pop_front() {
                    if !units.is_empty() {
                        steps.push(Step::Units(std::mem::take(&mut units)));
                    }
                    steps.push(Step::Title(m));
                }
            }
            let duration_us = self.clock.advance(n);
            units.push(Unit {
                data,
                kind: UnitKind::Sync,
                duration_us,
            });
        }
        if !units.is_empty() {
            steps.push(Step::Units(units));
        }
        steps
    }
}

/// The station's PCM to every rendition: one resampler per rate the renditions need, one
/// encoder per rendition, title marks converted to each rendition's rate.
pub struct Fanout {
    rate: u32,
    /// Per distinct rendition rate: the rate and its resampler (`None` at the station's rate).
    rates: Vec<(u32, Option<Box<Resampler>>)>,
    /// Each rendition with the index of its rate in `rates`.
    renditions: Vec<(Rendition, usize)>,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("rate", &self.rate)
            .field("renditions", &self.renditions.len())
            .finish_non_exhaustive()
    }
}

impl Fanout {
    /// Encoders for `specs`, fed with PCM at `rate`/`channels`. Fails with the mount of the
    /// first rendition whose encoder or resampler cannot be built.
    pub fn new(
        specs: &[RenditionSpec],
        rate: u32,
        channels: u16,
    ) -> Result<Self, (String, String)> {
        let mut rates: Vec<(u32, Option<Box<Resampler>>)> = Vec::new();
        let mut renditions = Vec::new();
        for spec in specs {
            let r = spec.rate(rate);
            let fail = |e: &dyn std::fmt::Display| (spec.mount.clone(), e.to_string());
            let slot = match rates.iter().position(|(x, _)| *x == r) {
                Some(i) => i,
                None => {
                    let resampler = if r == rate {
                        None
                    } else {
                        Some(Box::new(
                            Resampler::new(rate, r, channels).map_err(|e| fail(&e))?,
                        ))
                    };
                    rates.push((r, resampler));
                    rates.len() - 1
                }
            };
            let rendition =
                Rendition::new(spec.clone(), r, channels, rate).map_err(|e| fail(&e))?;
            renditions.push((rendition, slot));
        }
        Ok(Fanout {
            rate,
            rates,
            renditions,
        })
    }

    /// The renditions, in the order of the specs (less any removed).
    pub fn renditions(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions.iter().map(|(r, _)| r)
    }

    /// Stops feeding rendition `i`.
    pub fn remove(&mut self, i: usize) {
        if i < self.renditions.len() {
            self.renditions.remove(i);
        }
    }

    /// Resamples `out` once per rate and encodes it once per rendition; one result per
    /// rendition, in order.
    pub fn push(&mut self, out: &Output) -> Vec<Result<Vec<Step>, String>> {
        let station_rate = self.rate;
        let blocks: Vec<Result<AudioBlock, String>> = self
            .rates
            .iter_mut()
            .map(|(_, rs)| match rs {
                None => Ok(out.block.clone()),
                Some(rs) => rs.process(&out.block).map_err(|e| e.to_string()),
            })
            .collect();
        let rates: Vec<u32> = self.rates.iter().map(|(r, _)| *r).collect();
        self.renditions
            .iter_mut()
            .map(|(rendition, slot)| {
                let rate = rates[*slot];
                for m in &out.marks {
                    let at = u128::from(m.frame) * u128::from(rate) / u128::from(station_rate);
                    rendition.mark(at as u64, m.clone());
                }
                let block = blocks[*slot].as_ref().map_err(Clone::clone)?;
                rendition.encode(block).map_err(|e| e.to_string())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(song: &str) -> TitleMark {
        TitleMark {
            frame: 0,
            song: song.into(),
            artist: None,
            title: None,
        }
    }

    #[test]
    fn durations_sum_exactly() {
        let mut c = UnitClock::new(Timing::Fixed(1152), 44_100);
        let total: u64 = (0..1000).map(|_| c.advance(1152)).sum();
        assert_eq!(total, 1152 * 1000 * 1_000_000 / 44_100);
    }

    #[test]
    fn ogg_granules_give_durations() {
        let mut page = b"OggS\0\0".to_vec();
        page.extend_from_slice(&2880u64.to_le_bytes());
        page.resize(27, 0);
        assert_eq!(ogg_granule(&page), Some(2880));
        let c = UnitClock::new(Timing::Granule, 48_000);
        assert_eq!(c.samples_in(&page), 2880);
        page[6..14].copy_from_slice(&(-1i64).to_le_bytes());
        assert_eq!(ogg_granule(&page), None);
        assert_eq!(ogg_granule(b"junk"), None);
    }

    #[test]
    fn titles_land_on_the_frame_with_their_first_sample() {
        let spec = RenditionSpec {
            mount: "/t.mp3".into(),
            codec: Codec::Mp3,
            bitrate_kbps: 128,
        };
        let mut r = Rendition::new(spec, 44_100, 2, 44_100).expect("mp3");
        let delay = u64::from(r.info().delay);
        // A title at input frame 10_000: in MP3 frame floor((10_000 + delay) / 1152).
        r.mark(10_000, mark("B"));
        let pcm = AudioBlock::silence(44_100, 2, 44_100);
        let steps = r.encode(&pcm).expect("encode");
        let mut frames_before = 0u64;
        let mut found = false;
        for s in &steps {
            match s {
                Step::Units(u) => frames_before += u.len() as u64,
                Step::Title(m) => {
                    assert_eq!(m.song, "B");
                    assert_eq!(frames_before, (10_000 + delay) / 1152);
                    found = true;
                }
            }
        }
        assert!(found, "{steps:?}");
    }
}
