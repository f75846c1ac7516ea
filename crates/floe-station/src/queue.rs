//! A FIFO of interleaved PCM frames that takes from its front without moving what stays.
//!
//! [`AudioBlock::take_front`] moves the rest of the block down at every call; for a buffer that
//! keeps seconds of audio (the auto-DJ's crossfade look-ahead, a live input's queue) while
//! steps of a few thousand frames leave it, that was a copy of the whole buffer per step.
//! Here the front is an index: taking copies out only what is taken, and the consumed space is
//! reclaimed once it is at least half of the storage, so each sample is moved at most once
//! more on average.

use floe_media::AudioBlock;

/// A queue of frames at one rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct PcmQueue {
    rate: u32,
    channels: u16,
    samples: Vec<f32>,
    /// Index of the first sample still queued.
    head: usize,
}

impl PcmQueue {
    /// An empty queue.
    pub fn new(rate: u32, channels: u16) -> Self {
        PcmQueue {
            rate,
            channels: channels.max(1),
            samples: Vec::new(),
            head: 0,
        }
    }

    /// A queue holding `block`'s frames (no copy).
    pub fn from_block(block: AudioBlock) -> Self {
        PcmQueue {
            rate: block.rate,
            channels: block.channels.max(1),
            samples: block.samples,
            head: 0,
        }
    }

    /// Frames queued.
    pub fn frames(&self) -> usize {
        (self.samples.len() - self.head) / usize::from(self.channels)
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.head == self.samples.len()
    }

    /// Appends `block`'s frames. Returns false (and appends nothing) when its format differs.
    pub fn push(&mut self, block: &AudioBlock) -> bool {
        if block.rate != self.rate || block.channels != self.channels {
            return false;
        }
        self.reclaim();
        self.samples.extend_from_slice(&block.samples);
        true
    }

    /// Removes and returns the first `frames` frames (fewer if fewer are queued).
    pub fn take_front(&mut self, frames: usize) -> AudioBlock {
        let n = frames.min(self.frames()) * usize::from(self.channels);
        let out = self.samples[self.head..self.head + n].to_vec();
        self.head += n;
        self.reclaim();
        AudioBlock::new(self.rate, self.channels, out)
    }

    /// Moves the first `frames` frames (fewer if fewer are queued) to the end of `out`;
    /// returns how many. Nothing is moved when `out`'s format differs.
    pub fn move_front_to(&mut self, out: &mut AudioBlock, frames: usize) -> usize {
        if out.rate != self.rate || out.channels != self.channels {
            return 0;
        }
        let n = frames.min(self.frames());
        let len = n * usize::from(self.channels);
        out.samples
            .extend_from_slice(&self.samples[self.head..self.head + len]);
        self.head += len;
        self.reclaim();
        n
    }

    /// Drops the first `frames` frames (fewer if fewer are queued).
    pub fn skip(&mut self, frames: usize) {
        let n = frames.min(self.frames()) * usize::from(self.channels);
        self.head += n;
        self.reclaim();
    }

    /// Moves the queued samples to the start of the storage once the consumed part is at
    /// least half of it (or everything was taken).
    fn reclaim(&mut self) {
        if self.head == self.samples.len() {
            self.samples.clear();
            self.head = 0;
        } else if self.head > 0 && self.head >= self.samples.len() / 2 {
            self.samples.drain(..self.head);
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_whatever_the_steps() {
        let mut q = PcmQueue::new(1000, 2);
        let mut next = 0.0f32;
        let mut want = 0.0f32;
        for step in 1..200usize {
            let n = step % 7 + 1;
            let samples: Vec<f32> = (0..n * 2)
                .map(|_| {
                    next += 1.0;
                    next
                })
                .collect();
            assert!(q.push(&AudioBlock::new(1000, 2, samples)));
            let take = step % 5;
            let got = q.take_front(take);
            assert_eq!((got.rate, got.channels), (1000, 2));
            for s in got.samples {
                want += 1.0;
                assert_eq!(s, want, "step {step}");
            }
            if step % 11 == 0 {
                let before = q.frames();
                q.skip(1);
                if before > 0 {
                    want += 2.0;
                }
            }
        }
        let rest = q.frames();
        let mut out = AudioBlock::empty(1000, 2);
        assert_eq!(q.move_front_to(&mut out, 1), rest.min(1));
        for s in out.samples {
            want += 1.0;
            assert_eq!(s, want);
        }
        assert_eq!(q.take_front(usize::MAX).frames(), rest - rest.min(1));
        assert!(q.is_empty());
        assert_eq!(q.take_front(3).frames(), 0);
    }

    #[test]
    fn storage_stays_bounded_by_what_is_queued() {
        let mut q = PcmQueue::new(1000, 1);
        for _ in 0..10_000 {
            q.push(&AudioBlock::new(1000, 1, vec![0.5; 100]));
            q.take_front(100);
        }
        assert!(q.samples.capacity() < 1000, "{}", q.samples.capacity());
        // A standing backlog of 500 frames with steps of 100: storage under twice that plus
        // one step.
        q.push(&AudioBlock::new(1000, 1, vec![0.5; 500]));
        for _ in 0..10_000 {
            q.push(&AudioBlock::new(1000, 1, vec![0.5; 100]));
            q.take_front(100);
            assert!(q.samples.len() <= 2 * 500 + 200, "{}", q.samples.len());
        }
        assert_eq!(q.frames(), 500);
    }

    #[test]
    fn a_block_of_another_format_is_refused() {
        let mut q = PcmQueue::new(1000, 2);
        assert!(!q.push(&AudioBlock::new(2000, 2, vec![0.0; 4])));
        assert!(!q.push(&AudioBlock::new(1000, 1, vec![0.0; 4])));
        assert!(q.is_empty());
    }
}
