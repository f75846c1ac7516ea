//! One track, opened for playing: decoded, remixed and resampled to the station's format, with
//! its loudness gain applied and its title from the tags.
//!
//! Loudness: ReplayGain tags (track gain, else album gain) when the file has them; otherwise the
//! whole file is measured first (EBU R128 integrated loudness, one extra decode pass at the
//! file's own rate, before the track starts). The pass costs a fraction of a second per track in
//! a release build (symphonia decodes at several hundred times real time) and gives the exact
//! integrated loudness, which a progressive estimate could not. It runs in the preparation of
//! the *next* track, off the critical path (see [`crate::autodj`]).

use floe_media::loudness::{db_to_linear, normalisation_gain_db, LoudnessMeter};
use floe_media::synth::Piece;
use floe_media::{AudioBlock, DecodeError, Decoder, Resampler, Tags};
use std::path::{Path, PathBuf};

/// Why a track cannot be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// The file did not open or decode.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// It decoded to no audio at all.
    #[error("no audio in the file")]
    Empty,
    /// Resampling failed.
    #[error("resampler: {0}")]
    Resample(#[from] floe_media::resample::ResampleError),
}

/// What to play.
#[derive(Debug, Clone)]
pub enum TrackRef {
    /// An audio file.
    File(PathBuf),
    /// A demo piece, synthesised when the track is prepared.
    Synth(Piece),
}

impl TrackRef {
    /// The file path, or the piece's title, for logs.
    pub fn label(&self) -> String {
        match self {
            TrackRef::File(p) => p.display().to_string(),
            TrackRef::Synth(p) => format!("synth:{}", p.title),
        }
    }
}

/// The station's PCM format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    /// Sample rate (Hz).
    pub rate: u32,
    /// Channels.
    pub channels: u16,
}

/// Where a track's gain came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GainSource {
    /// Normalisation is off.
    Off,
    /// ReplayGain tags.
    ReplayGain,
    /// Measured EBU R128 integrated loudness (LUFS).
    Measured(f64),
    /// Nothing to go by (silence or too short to measure): 0 dB.
    Unknown,
}

/// An open track.
pub struct OpenTrack {
    /// What it is.
    pub track: TrackRef,
    /// "Artist - Title" from the tags, else the file name without extension.
    pub song: String,
    /// Artist tag.
    pub artist: Option<String>,
    /// Title tag.
    pub title: Option<String>,
    /// Gain applied (dB).
    pub gain_db: f64,
    /// Where the gain came from.
    pub gain_source: GainSource,
    gain: f32,
    format: PcmFormat,
    reader: Reader,
    /// Decoded audio not yet handed out (already in the station's format, gain applied).
    first: Option<AudioBlock>,
}

impl std::fmt::Debug for OpenTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenTrack")
            .field("track", &self.track.label())
            .field("song", &self.song)
            .field("gain_db", &self.gain_db)
            .finish_non_exhaustive()
    }
}

enum Reader {
    File {
        decoder: Box<Decoder>,
        resampler: Option<Box<Resampler>>,
        ended: bool,
    },
    /// The whole track and the frames already handed out (copied out block by block: taking
    /// blocks off the front would move the rest every time).
    Memory(AudioBlock, usize),
}

/// Frames handed out per block from a track held in memory.
const MEMORY_BLOCK_FRAMES: usize = 4096;

impl OpenTrack {
    /// Opens `track` for playing at `format`; `loudness_target` (LUFS) normalises it, `None`
    /// plays it as it is. Fails when the file does not open or holds no decodable audio.
    pub fn open(
        track: TrackRef,
        format: PcmFormat,
        loudness_target: Option<f64>,
    ) -> Result<OpenTrack, TrackError> {
        let (tags, reader, measured) = match &track {
            TrackRef::File(path) => {
                let decoder = Decoder::open_path(path)?;
                let tags = decoder.tags().clone();
                let reader = Reader::File {
                    decoder: Box::new(decoder),
                    resampler: None,
                    ended: false,
                };
                (tags, reader, None)
            }
            TrackRef::Synth(piece) => {
                let block = piece.render(format.rate).remixed(format.channels);
                let measured = meter(std::iter::once(Ok(block.clone())));
                (piece.tags(), Reader::Memory(block, 0), Some(measured))
            }
        };
        let mut gain_source = GainSource::Off;
        let gain_db = match loudness_target {
            None => 0.0,
            Some(target) => {
                gain_source = GainSource::ReplayGain;
                let g = normalisation_gain_db(&tags, target, || {
                    let m = match (&measured, &track) {
                        (Some(m), _) => *m,
                        (None, TrackRef::File(path)) => measure_file(path),
                        (None, TrackRef::Synth(_)) => None,
                    };
                    gain_source = m.map_or(GainSource::Unknown, |(l, _)| GainSource::Measured(l));
                    m
                });
                g.unwrap_or(0.0)
            }
        };
        let song = tags.display_title().unwrap_or_else(|| match &track {
            TrackRef::File(p) => file_stem(p),
            TrackRef::Synth(p) => p.display_title(),
        });
        let Tags { artist, title, .. } = tags;
        let mut t = OpenTrack {
            track,
            song,
            artist,
            title,
            gain_db,
            gain_source,
            gain: db_to_linear(gain_db),
            format,
            reader,
            first: None,
        };
        // A file that opens but holds nothing playable is refused here, not mid-air.
        match t.read()? {
            Some(b) if !b.is_empty() => t.first = Some(b),
            _ => return Err(TrackError::Empty),
        }
        Ok(t)
    }

    /// The next block of audio in the station's format with the gain applied; `Ok(None)` at
    /// the end. A decode error mid-track ends the track (what was decoded stands).
    pub fn next_block(&mut self) -> Result<Option<AudioBlock>, TrackError> {
        if let Some(b) = self.first.take() {
            return Ok(Some(b));
        }
        self.read()
    }

    fn read(&mut self) -> Result<Option<AudioBlock>, TrackError> {
        let format = self.format;
        let mut block = match &mut self.reader {
            Reader::Memory(all, pos) => {
                if *pos >= all.frames() {
                    return Ok(None);
                }
                let ch = usize::from(all.channels);
                let end = (*pos + MEMORY_BLOCK_FRAMES).min(all.frames());
                let block = AudioBlock::new(
                    all.rate,
                    all.channels,
                    all.samples[*pos * ch..end * ch].to_vec(),
                );
                *pos = end;
                block
            }
            Reader::File {
                decoder,
                resampler,
                ended,
            } => loop {
                if *ended {
                    return Ok(None);
                }
                match decoder.next_block()? {
                    Some(b) => {
                        let b = b.remixed(format.channels);
                        if b.rate == format.rate {
                            break b;
                        }
                        let r = match resampler {
                            Some(r) if r.from_rate() == b.rate => r,
                            _ => {
                                // A new resampler when the file's rate changes (chained Ogg);
                                // the old one's tail is dropped (a few ms at a chain boundary).
                                *resampler = Some(Box::new(Resampler::new(
                                    b.rate,
                                    format.rate,
                                    format.channels,
                                )?));
                                resampler.as_mut().ok_or(TrackError::Empty)?
                            }
                        };
                        let out = r.process(&b)?;
                        if !out.is_empty() {
                            break out;
                        }
                    }
                    None => {
                        *ended = true;
                        match resampler.as_mut() {
                            Some(r) => break r.flush()?,
                            None => return Ok(None),
                        }
                    }
                }
            },
        };
        block.apply_gain(self.gain);
        Ok(Some(block))
    }
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Integrated loudness and sample peak of a file, decoded at its own rate; `None` when it
/// cannot be measured.
pub fn measure_file(path: &Path) -> Option<(f64, f32)> {
    let mut d = Decoder::open_path(path).ok()?;
    meter(std::iter::from_fn(move || d.next_block().transpose()))
}

fn meter(blocks: impl Iterator<Item = Result<AudioBlock, DecodeError>>) -> Option<(f64, f32)> {
    let mut m: Option<(LoudnessMeter, u16)> = None;
    for b in blocks {
        let Ok(b) = b else { break };
        if m.is_none() {
            m = Some((LoudnessMeter::new(b.rate, b.channels).ok()?, b.channels));
        }
        let (meter, channels) = m.as_mut()?;
        let b = b.remixed(*channels);
        if meter.add(&b).is_err() {
            // A rate change mid-file: what was measured so far stands.
            break;
        }
    }
    let (meter, _) = m?;
    Some((meter.integrated_lufs()?, meter.sample_peak()))
}
