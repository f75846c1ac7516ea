//! Mixing: equal-power crossfades and gapless re-chunking.
//!
//! Nothing here keeps time itself: the caller says how long a fade is (in frames) and feeds the
//! blocks; the position inside the fade is the number of frames mixed so far.

use crate::pcm::AudioBlock;

/// Gains `(outgoing, incoming)` at position `t` in `[0, 1]` of an equal-power fade:
/// `cos(t·π/2)` and `sin(t·π/2)`, whose squares always sum to 1.
pub fn equal_power_gains(t: f32) -> (f32, f32) {
    let x = t.clamp(0.0, 1.0) * std::f32::consts::FRAC_PI_2;
    (x.cos(), x.sin())
}

/// A streaming equal-power crossfade of `length` frames: feed the end of the outgoing track and
/// the start of the incoming one in pieces of any size; the curve continues across calls.
#[derive(Debug, Clone)]
pub struct Crossfade {
    length: usize,
    position: usize,
}

impl Crossfade {
    /// A fade over `length` frames (0 = a hard cut).
    pub fn new(length: usize) -> Self {
        Self {
            length,
            position: 0,
        }
    }

    /// The fade length in frames.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Frames still to mix.
    pub fn remaining(&self) -> usize {
        self.length - self.position
    }

    /// True once `length` frames were mixed.
    pub fn is_done(&self) -> bool {
        self.position >= self.length
    }

    /// Mixes `outgoing` and `incoming` (same format; the shorter decides) for at most
    /// [`Crossfade::remaining`] frames and returns the mixed block.
    pub fn mix(&mut self, outgoing: &AudioBlock, incoming: &AudioBlock) -> AudioBlock {
        let ch = usize::from(incoming.channels.max(1));
        let frames = outgoing
            .frames()
            .min(incoming.frames())
            .min(self.remaining());
        let mut out = Vec::with_capacity(frames * ch);
        for f in 0..frames {
            let t = (self.position + f) as f32 / self.length.max(1) as f32;
            let (g_out, g_in) = equal_power_gains(t);
            for c in 0..ch {
                let i = f * ch + c;
                out.push(outgoing.samples[i] * g_out + incoming.samples[i] * g_in);
            }
        }
        self.position += frames;
        AudioBlock::new(incoming.rate, incoming.channels, out)
    }
}

/// Crossfades the whole of `tail` (end of the outgoing track) with the start of `head`; the
/// result is `head.frames()` long when `head` is longer: the overlap, then the rest of `head`.
pub fn crossfade(tail: &AudioBlock, head: &AudioBlock) -> AudioBlock {
    let n = tail.frames().min(head.frames());
    let mut fade = Crossfade::new(n);
    let mut tail = tail.clone();
    let mut head = head.clone();
    let tail_part = tail.take_front(n);
    let head_part = head.take_front(n);
    let mut out = fade.mix(&tail_part, &head_part);
    out.samples.extend_from_slice(&head.samples);
    out
}

/// Re-chunks continuous audio from any number of tracks into blocks of exactly
/// `frames_per_block` frames, so that track boundaries fall anywhere inside a block and the
/// encoder sees one unbroken stream (gapless). Formats must match (resample first).
#[derive(Debug, Clone)]
pub struct Rechunker {
    frames_per_block: usize,
    buf: AudioBlock,
}

impl Rechunker {
    /// Blocks of `frames_per_block` frames at `rate`/`channels`.
    pub fn new(rate: u32, channels: u16, frames_per_block: usize) -> Self {
        Self {
            frames_per_block: frames_per_block.max(1),
            buf: AudioBlock::empty(rate, channels),
        }
    }

    /// Adds audio; returns every full block now available. A block of another format is
    /// remixed to the channel count; a different rate is refused (returns `None`).
    pub fn push(&mut self, block: &AudioBlock) -> Option<Vec<AudioBlock>> {
        if block.rate != self.buf.rate {
            return None;
        }
        let block = if block.channels != self.buf.channels {
            block.remixed(self.buf.channels)
        } else {
            block.clone()
        };
        self.buf.append(&block);
        let mut out = Vec::new();
        while self.buf.frames() >= self.frames_per_block {
            out.push(self.buf.take_front(self.frames_per_block));
        }
        Some(out)
    }

    /// What is left (shorter than a block), leaving the rechunker empty.
    pub fn flush(&mut self) -> AudioBlock {
        let n = self.buf.frames();
        self.buf.take_front(n)
    }
}

/// Joins blocks of one format end to end, sample-exact.
pub fn concat(blocks: &[AudioBlock]) -> Option<AudioBlock> {
    let first = blocks.first()?;
    let mut out = AudioBlock::empty(first.rate, first.channels);
    for b in blocks {
        if !out.append(b) {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, start: usize, frames: usize) -> AudioBlock {
        let s = (start..start + frames)
            .flat_map(|i| {
                let v = (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5;
                [v, v]
            })
            .collect();
        AudioBlock::new(rate, 2, s)
    }

    #[test]
    fn equal_power_at_midpoint() {
        let (a, b) = equal_power_gains(0.5);
        assert!((a - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((b - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        for i in 0..=10 {
            let (a, b) = equal_power_gains(i as f32 / 10.0);
            assert!((a * a + b * b - 1.0).abs() < 1e-5);
        }
        // Two uncorrelated-in-level constant signals: at the midpoint each is at -3 dB.
        let out = AudioBlock::new(48_000, 1, vec![1.0; 101]);
        let inc = AudioBlock::new(48_000, 1, vec![0.0; 101]);
        let mixed = crossfade(&out, &inc);
        assert!((mixed.samples[50] - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02);
        assert!((mixed.samples[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn streaming_crossfade_matches_one_shot() {
        let a = sine(8_000, 440.0, 0, 1000);
        let b = sine(8_000, 660.0, 0, 1000);
        let whole = crossfade(&a, &b);
        let mut f = Crossfade::new(1000);
        let mut pieces = Vec::new();
        let (mut a2, mut b2) = (a.clone(), b.clone());
        while !f.is_done() {
            let (x, y) = (a2.take_front(137), b2.take_front(137));
            pieces.push(f.mix(&x, &y));
        }
        let joined = concat(&pieces).expect("concat");
        assert_eq!(joined.samples, whole.samples);
    }

    #[test]
    fn gapless_concatenation_is_continuous() {
        let rate = 44_100;
        let whole = sine(rate, 441.0, 0, 10_000);
        let mut first = whole.clone();
        let a = first.take_front(3_333);
        let b = first;
        let mut r = Rechunker::new(rate, 2, 1152);
        let mut blocks = r.push(&a).expect("push");
        blocks.extend(r.push(&b).expect("push"));
        blocks.push(r.flush());
        let joined = concat(&blocks).expect("concat");
        assert_eq!(joined.samples, whole.samples, "sample-exact join");
        // No discontinuity: neighbouring samples differ by less than the sine's max slope.
        let max_step = 0.5 * 2.0 * std::f32::consts::PI * 441.0 / rate as f32 * 1.01;
        let left = joined.channel(0);
        assert!(left.windows(2).all(|w| (w[1] - w[0]).abs() <= max_step));
    }
}
