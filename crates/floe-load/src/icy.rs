//! Counting ICY metadata in a listener's byte stream without buffering it.
//!
//! After every `metaint` audio bytes comes one length byte L and L×16 bytes of metadata
//! (`StreamTitle='…';`, NUL padded). Blocks are hashed as they stream past so a title change
//! is seen without keeping any block in memory.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const PREFIX: &[u8] = b"StreamTitle=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Audio,
    Length,
    Meta { remaining: u16, seen: u16 },
}

/// Splits a byte stream into audio and metadata, counting metadata blocks.
#[derive(Debug, Clone)]
pub struct IcyDemux {
    metaint: u32,
    until_meta: u32,
    state: State,
    hash: u64,
    last_hash: Option<u64>,
    prefix_ok: bool,
    /// Metadata blocks with content (L > 0).
    pub blocks: u32,
    /// Length bytes of 0 ("no change").
    pub empty: u32,
    /// Blocks whose content differed from the previous block's (the first one counts).
    pub changes: u32,
    /// Blocks not starting with `StreamTitle=`.
    pub bad: u32,
    /// Metadata bytes, length bytes included.
    pub meta_bytes: u64,
}

impl IcyDemux {
    pub fn new(metaint: u32) -> Self {
        IcyDemux {
            metaint,
            until_meta: metaint,
            state: State::Audio,
            hash: FNV_OFFSET,
            last_hash: None,
            prefix_ok: true,
            blocks: 0,
            empty: 0,
            changes: 0,
            bad: 0,
            meta_bytes: 0,
        }
    }

    /// Consumes `data`; returns how many of its bytes were audio.
    pub fn feed(&mut self, data: &[u8]) -> u64 {
        let mut audio = 0u64;
        let mut i = 0usize;
        while i < data.len() {
            match self.state {
                State::Audio => {
                    let take = (self.until_meta as usize).min(data.len() - i);
                    audio += take as u64;
                    i += take;
                    self.until_meta -= take as u32;
                    if self.until_meta == 0 {
                        self.state = State::Length;
                    }
                }
                State::Length => {
                    let l = u16::from(data[i]) * 16;
                    i += 1;
                    self.meta_bytes += 1;
                    if l == 0 {
                        self.empty += 1;
                        self.back_to_audio();
                    } else {
                        self.hash = FNV_OFFSET;
                        self.prefix_ok = true;
                        self.state = State::Meta {
                            remaining: l,
                            seen: 0,
                        };
                    }
                }
                State::Meta { remaining, seen } => {
                    let take = (remaining as usize).min(data.len() - i);
                    for (k, &b) in data[i..i + take].iter().enumerate() {
                        let pos = seen as usize + k;
                        if pos < PREFIX.len() && b != PREFIX[pos] {
                            self.prefix_ok = false;
                        }
                        if b != 0 {
                            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
                        }
                    }
                    i += take;
                    self.meta_bytes += take as u64;
                    let remaining = remaining - take as u16;
                    if remaining == 0 {
                        self.blocks += 1;
                        if !self.prefix_ok {
                            self.bad += 1;
                        }
                        if self.last_hash != Some(self.hash) {
                            self.changes += 1;
                            self.last_hash = Some(self.hash);
                        }
                        self.back_to_audio();
                    } else {
                        self.state = State::Meta {
                            remaining,
                            seen: seen + take as u16,
                        };
                    }
                }
            }
        }
        audio
    }

    fn back_to_audio(&mut self) {
        self.state = State::Audio;
        self.until_meta = self.metaint;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(title: &str) -> Vec<u8> {
        let text = format!("StreamTitle='{title}';");
        let l = text.len().div_ceil(16);
        let mut v = vec![l as u8];
        v.extend_from_slice(text.as_bytes());
        v.resize(1 + l * 16, 0);
        v
    }

    fn stream(metaint: usize, metas: &[Vec<u8>]) -> (Vec<u8>, u64) {
        let mut s = Vec::new();
        let mut audio = 0;
        for m in metas {
            s.extend(std::iter::repeat_n(0xAAu8, metaint));
            audio += metaint as u64;
            s.extend_from_slice(m);
        }
        s.extend(std::iter::repeat_n(0xAAu8, metaint / 2));
        audio += (metaint / 2) as u64;
        (s, audio)
    }

    #[test]
    fn counts_audio_blocks_and_changes_whatever_the_read_sizes() {
        let metas = vec![
            block("A - One"),
            vec![0],
            vec![0],
            block("A - One"),
            block("B - Two é"),
            vec![0],
            block("C - Three"),
        ];
        let (s, audio) = stream(100, &metas);
        for chunk in [1, 3, 7, 16, 100, 101, 4096] {
            let mut d = IcyDemux::new(100);
            let got: u64 = s.chunks(chunk).map(|c| d.feed(c)).sum();
            assert_eq!(got, audio, "chunk {chunk}");
            assert_eq!(d.blocks, 4, "chunk {chunk}");
            assert_eq!(d.empty, 3);
            assert_eq!(d.changes, 3, "A, B, C");
            assert_eq!(d.bad, 0);
            assert_eq!(d.meta_bytes, (s.len() as u64) - audio);
        }
    }

    #[test]
    fn flags_blocks_that_are_not_stream_titles() {
        let mut junk = vec![1u8];
        junk.extend_from_slice(b"garbage-garbage!");
        let (s, _) = stream(10, &[junk, block("ok")]);
        let mut d = IcyDemux::new(10);
        d.feed(&s);
        assert_eq!((d.blocks, d.bad, d.changes), (2, 1, 2));
    }

    #[test]
    fn padding_does_not_change_identity() {
        // Same title, one padded to an extra 16-byte chunk: still no change.
        let mut longer = block("Same");
        longer[0] += 1;
        longer.extend(std::iter::repeat_n(0u8, 16));
        let (s, _) = stream(8, &[block("Same"), longer]);
        let mut d = IcyDemux::new(8);
        d.feed(&s);
        assert_eq!((d.blocks, d.changes), (2, 1));
    }
}
