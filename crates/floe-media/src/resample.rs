//! Streaming sample-rate conversion (rubato's synchronous FFT resampler: fixed ratio, high
//! quality, anti-aliased), block by block, with the start-up delay trimmed and a flush at the end
//! so that `n` input frames always become `round(n * to / from)` output frames, aligned.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

use crate::pcm::AudioBlock;

/// Frames per FFT chunk on the input side.
const CHUNK: usize = 1024;

/// Resampling errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// The rates or channel count cannot be handled.
    #[error("cannot resample: {0}")]
    Unsupported(String),
    /// A block's format differs from the one the resampler was built for.
    #[error("block is {got_rate} Hz/{got_channels} ch, resampler expects {rate} Hz/{channels} ch")]
    FormatMismatch {
        /// Expected rate.
        rate: u32,
        /// Expected channels.
        channels: u16,
        /// The block's rate.
        got_rate: u32,
        /// The block's channels.
        got_channels: u16,
    },
    /// rubato failed.
    #[error("resampler: {0}")]
    Internal(String),
}

/// A streaming resampler from one fixed rate to another, for a fixed channel count.
pub struct Resampler {
    from: u32,
    to: u32,
    channels: u16,
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    delay_left: usize,
    in_frames: u64,
    out_frames: u64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz for `channels` channels. Equal rates pass through.
    pub fn new(from: u32, to: u32, channels: u16) -> Result<Self, ResampleError> {
        if from == 0 || to == 0 || channels == 0 {
            return Err(ResampleError::Unsupported(format!(
                "{from} Hz -> {to} Hz, {channels} ch"
            )));
        }
        let inner = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    from as usize,
                    to as usize,
                    CHUNK,
                    usize::from(channels),
                    FixedSync::Input,
                )
                .map_err(|e| ResampleError::Unsupported(e.to_string()))?,
            )
        };
        let delay_left = inner.as_ref().map_or(0, |r| r.output_delay());
        let out_max = inner.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(Self {
            from,
            to,
            channels,
            inner,
            pending: Vec::new(),
            out_buf: vec![0.0; out_max * usize::from(channels)],
            delay_left,
            in_frames: 0,
            out_frames: 0,
        })
    }

    /// Input rate.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Resamples one block; output may be shorter or longer than proportional (buffering).
    pub fn process(&mut self, block: &AudioBlock) -> Result<AudioBlock, ResampleError> {
        if block.rate != self.from || block.channels != self.channels {
            return Err(ResampleError::FormatMismatch {
                rate: self.from,
                channels: self.channels,
                got_rate: block.rate,
                got_channels: block.channels,
            });
        }
        self.in_frames += block.frames() as u64;
        if self.inner.is_none() {
            self.out_frames += block.frames() as u64;
            return Ok(block.clone());
        }
        self.pending.extend_from_slice(&block.samples);
        let mut out = Vec::new();
        self.run(&mut out, false)?;
        Ok(AudioBlock::new(self.to, self.channels, out))
    }

    /// Pushes out everything still buffered; afterwards the total output length is exactly
    /// `round(total_in * to / from)`. The resampler can then be reused for a new stream.
    pub fn flush(&mut self) -> Result<AudioBlock, ResampleError> {
        let mut out = Vec::new();
        if self.inner.is_some() {
            self.run(&mut out, true)?;
        }
        if let Some(r) = self.inner.as_mut() {
            r.reset();
            self.delay_left = r.output_delay();
        }
        self.pending.clear();
        self.in_frames = 0;
        self.out_frames = 0;
        Ok(AudioBlock::new(self.to, self.channels, out))
    }

    fn target_frames(&self) -> u64 {
        (self.in_frames * u64::from(self.to) + u64::from(self.from) / 2) / u64::from(self.from)
    }

    fn run(&mut self, out: &mut Vec<f32>, flushing: bool) -> Result<(), ResampleError> {
        let ch = usize::from(self.channels);
        let target = self.target_frames();
        let Some(r) = self.inner.as_mut() else {
            return Ok(());
        };
        let mut silence = Vec::new();
        loop {
            let need = r.input_frames_next();
            let have = self.pending.len() / ch;
            let (input, partial) = if have >= need {
                (&self.pending[..need * ch], None)
            } else if flushing && self.out_frames < target {
                silence.clear();
                silence.extend_from_slice(&self.pending);
                silence.resize(need * ch, 0.0);
                (&silence[..], Some(have))
            } else {
                break;
            };
            let inp = InterleavedSlice::new(input, ch, need)
                .map_err(|e| ResampleError::Internal(e.to_string()))?;
            let out_cap = self.out_buf.len() / ch;
            let mut outp = InterleavedSlice::new_mut(&mut self.out_buf, ch, out_cap)
                .map_err(|e| ResampleError::Internal(e.to_string()))?;
            let indexing = Indexing {
                partial_len: partial,
                ..Indexing::default()
            };
            let (_, written) = r
                .process_into_buffer(&inp, &mut outp, Some(&indexing))
                .map_err(|e| ResampleError::Internal(e.to_string()))?;
            let consumed = partial.unwrap_or(need);
            self.pending.drain(..consumed * ch);
            let skip = self.delay_left.min(written);
            self.delay_left -= skip;
            let mut produced = &self.out_buf[skip * ch..written * ch];
            if flushing {
                let room = target.saturating_sub(self.out_frames) as usize;
                produced = &produced[..(produced.len() / ch).min(room) * ch];
            }
            self.out_frames += (produced.len() / ch) as u64;
            out.extend_from_slice(produced);
            if flushing && self.out_frames >= target && self.pending.is_empty() {
                break;
            }
        }
        Ok(())
    }
}
