//! Interleaved `f32` PCM blocks and channel mixing.

/// A block of interleaved audio: `samples.len() == frames * channels`.
///
/// Samples are nominally in `[-1.0, 1.0]`; nothing here clips except [`AudioBlock::to_i16`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AudioBlock {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Channel count (1 = mono, 2 = stereo, 6 = 5.1 in WAV/FLAC order `FL FR FC LFE BL BR`).
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<f32>,
}

impl AudioBlock {
    /// A block from interleaved samples. A trailing partial frame is dropped.
    pub fn new(rate: u32, channels: u16, mut samples: Vec<f32>) -> Self {
        let ch = usize::from(channels.max(1));
        samples.truncate(samples.len() / ch * ch);
        Self {
            rate,
            channels: channels.max(1),
            samples,
        }
    }

    /// An empty block with the given format.
    pub fn empty(rate: u32, channels: u16) -> Self {
        Self::new(rate, channels, Vec::new())
    }

    /// `frames` frames of silence.
    pub fn silence(rate: u32, channels: u16, frames: usize) -> Self {
        Self::new(
            rate,
            channels,
            vec![0.0; frames * usize::from(channels.max(1))],
        )
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// True when the block holds no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        if self.rate == 0 {
            return 0.0;
        }
        self.frames() as f64 / f64::from(self.rate)
    }

    /// True when `other` has the same rate and channel count.
    pub fn same_format(&self, other: &AudioBlock) -> bool {
        self.rate == other.rate && self.channels == other.channels
    }

    /// Appends `other`'s samples. Returns false (and appends nothing) when the formats differ.
    pub fn append(&mut self, other: &AudioBlock) -> bool {
        if !self.same_format(other) {
            return false;
        }
        self.samples.extend_from_slice(&other.samples);
        true
    }

    /// Removes and returns the first `frames` frames (fewer if the block is shorter).
    pub fn take_front(&mut self, frames: usize) -> AudioBlock {
        let n = frames.min(self.frames()) * usize::from(self.channels);
        let rest = self.samples.split_off(n);
        let front = std::mem::replace(&mut self.samples, rest);
        AudioBlock {
            rate: self.rate,
            channels: self.channels,
            samples: front,
        }
    }

    /// Multiplies every sample by `gain` (linear).
    pub fn apply_gain(&mut self, gain: f32) {
        if gain != 1.0 {
            self.samples.iter_mut().for_each(|s| *s *= gain);
        }
    }

    /// The largest absolute sample value.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    /// The samples as signed 16-bit integers, clipped and rounded.
    pub fn to_i16(&self) -> Vec<i16> {
        self.samples.iter().map(|&s| f32_to_i16(s)).collect()
    }

    /// The block converted to `channels` channels (see [`remix`]).
    pub fn remixed(&self, channels: u16) -> AudioBlock {
        if channels == self.channels {
            return self.clone();
        }
        AudioBlock {
            rate: self.rate,
            channels,
            samples: remix(&self.samples, self.channels, channels),
        }
    }

    /// One channel's samples, de-interleaved.
    pub fn channel(&self, index: usize) -> Vec<f32> {
        let ch = usize::from(self.channels);
        self.samples
            .iter()
            .skip(index)
            .step_by(ch)
            .copied()
            .collect()
    }
}

/// Converts one sample to `i16` with clipping and rounding.
pub fn f32_to_i16(s: f32) -> i16 {
    (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Converts interleaved samples from `from` channels to `to` channels.
///
/// - mono to N: the mono signal on every channel;
/// - N to mono: the average of all channels (LFE, channel 4 of 6, is left out for 5.1);
/// - 5.1 (`FL FR FC LFE BL BR`) to stereo: ITU-style fold-down, `L = FL + 0.707 (FC + BL)`, scaled
///   so that a full-scale signal cannot exceed full scale;
/// - other N to M: channel `i` of the output takes input channel `i`, missing ones are silent.
pub fn remix(samples: &[f32], from: u16, to: u16) -> Vec<f32> {
    let (from_n, to_n) = (usize::from(from.max(1)), usize::from(to.max(1)));
    if from_n == to_n {
        return samples.to_vec();
    }
    let frames = samples.len() / from_n;
    let mut out = Vec::with_capacity(frames * to_n);
    for frame in samples.chunks_exact(from_n) {
        match (from_n, to_n) {
            (1, _) => out.extend(std::iter::repeat_n(frame[0], to_n)),
            (6, 1) => {
                let sum = frame[0] + frame[1] + frame[2] + frame[4] + frame[5];
                out.push(sum / 5.0);
            }
            (_, 1) => out.push(frame.iter().sum::<f32>() / from_n as f32),
            (6, 2) => {
                const K: f32 = std::f32::consts::FRAC_1_SQRT_2;
                const NORM: f32 = 1.0 / (1.0 + K + K);
                out.push((frame[0] + K * frame[2] + K * frame[4]) * NORM);
                out.push((frame[1] + K * frame[2] + K * frame[5]) * NORM);
            }
            _ => out.extend((0..to_n).map(|i| frame.get(i).copied().unwrap_or(0.0))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_stereo_round_trip() {
        let mono = AudioBlock::new(48_000, 1, vec![0.1, -0.2, 0.3]);
        let st = mono.remixed(2);
        assert_eq!(st.samples, vec![0.1, 0.1, -0.2, -0.2, 0.3, 0.3]);
        assert_eq!(st.remixed(1).samples, mono.samples);
    }

    #[test]
    fn five_one_folds_within_full_scale() {
        let b = AudioBlock::new(48_000, 6, vec![1.0; 6]);
        let st = b.remixed(2);
        assert!(st.samples.iter().all(|s| (*s - 1.0).abs() < 1e-6));
    }

    #[test]
    fn take_front_splits() {
        let mut b = AudioBlock::new(8_000, 2, (0..10).map(|i| i as f32).collect());
        let f = b.take_front(2);
        assert_eq!(f.samples, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(b.frames(), 3);
        assert_eq!(b.take_front(99).frames(), 3);
        assert!(b.is_empty());
    }

    #[test]
    fn i16_conversion_clips() {
        assert_eq!(f32_to_i16(2.0), 32767);
        assert_eq!(f32_to_i16(-2.0), -32768);
        assert_eq!(f32_to_i16(0.0), 0);
    }
}
