//! RIFF/WAVE headers for 16-bit PCM.

/// Size fields of a streaming WAV whose length is unknown.
pub const STREAMING_SIZE: u32 = 0xFFFF_FFFF;

/// The 44-byte header of a PCM WAV file. `data_len` is the byte length of the samples, or
/// `None` for an endless stream (RIFF and data sizes `0xFFFFFFFF`, which browsers, ffmpeg and
/// mpv play as "until the connection ends").
pub fn wav_header(
    rate: u32,
    channels: u16,
    bits_per_sample: u16,
    data_len: Option<u32>,
) -> [u8; 44] {
    let block_align = channels * bits_per_sample.div_ceil(8);
    let byte_rate = rate * u32::from(block_align);
    let (riff_len, data_len) = match data_len {
        Some(n) => (n.saturating_add(36), n),
        None => (STREAMING_SIZE, STREAMING_SIZE),
    };
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_len.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&bits_per_sample.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// A whole WAV file from interleaved `f32` samples (16-bit output).
pub fn wav_file(rate: u32, channels: u16, samples: &[f32]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(&wav_header(rate, channels, 16, Some(data_len)));
    for &s in samples {
        out.extend_from_slice(&crate::pcm::f32_to_i16(s).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_and_streaming() {
        let h = wav_header(44100, 2, 16, Some(1000));
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 1036);
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 176_400);
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 4);
        let s = wav_header(48000, 1, 16, None);
        assert_eq!(&s[4..8], &[0xFF; 4]);
        assert_eq!(&s[40..44], &[0xFF; 4]);
    }
}
