//! Pure framing of PCM chunks for each transport: the endless WAV header, raw L16, the
//! WebSocket binary frame and the Server-Sent Events audio, format and metadata events.
//!
//! No I/O and no clock: every function maps its arguments to bytes.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use floe_proto::sse;

/// The sample format every transport of a tap carries: interleaved signed 16-bit samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    /// Frames per second.
    pub rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

impl PcmFormat {
    /// Bytes per second of 16-bit samples.
    pub fn byte_rate(self) -> u64 {
        u64::from(self.rate) * u64::from(self.channels) * 2
    }

    /// Bytes per frame (one sample of every channel).
    pub fn frame_bytes(self) -> usize {
        usize::from(self.channels) * 2
    }

    /// Milliseconds of audio in `frames` frames, rounded down.
    pub fn frames_to_ms(self, frames: u64) -> u64 {
        frames * 1000 / u64::from(self.rate.max(1))
    }
}

/// The 44-byte header of an endless WAV stream: 16-bit PCM, RIFF and data sizes 0xFFFFFFFF.
pub fn wav_stream_header(format: PcmFormat) -> [u8; 44] {
    floe_media::mux::wav::wav_header(format.rate, format.channels, 16, None)
}

/// The media type of raw big-endian 16-bit PCM (RFC 2586): `audio/L16;rate=R;channels=C`.
pub fn l16_content_type(format: PcmFormat) -> String {
    format!(
        "audio/L16;rate={};channels={}",
        format.rate, format.channels
    )
}

/// Little-endian 16-bit samples turned big-endian (network order, as `audio/L16` wants). A
/// trailing odd byte is dropped.
pub fn s16le_to_be(samples: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(samples.len() & !1);
    for pair in samples.chunks_exact(2) {
        out.put_u8(pair[1]);
        out.put_u8(pair[0]);
    }
    out.freeze()
}

/// Interleaved `f32` samples as little-endian 16-bit samples (clipped).
pub fn f32_to_s16le(samples: &[f32]) -> Bytes {
    let mut out = BytesMut::with_capacity(samples.len() * 2);
    for &s in samples {
        out.put_i16_le(floe_media::pcm::f32_to_i16(s));
    }
    out.freeze()
}

/// Length of the header of a WebSocket audio frame.
pub const WS_HEADER_LEN: usize = 24;

/// Where a chunk sits: its sequence number, its media time and when the server had it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkStamp {
    /// Sequence number, increasing by one per chunk across the whole process.
    pub seq: u64,
    /// Media time of the chunk's first frame, in milliseconds since the tap started.
    pub ts_ms: u64,
    /// Unix time in milliseconds at which the server had the chunk's audio.
    pub server_time_ms: u64,
}

/// A WebSocket binary frame: `seq`, `ts` (ms) and `server_time` (unix ms) as three unsigned
/// 64-bit little-endian integers, then the chunk's interleaved little-endian 16-bit samples.
pub fn ws_audio_frame(stamp: ChunkStamp, samples: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(WS_HEADER_LEN + samples.len());
    out.put_u64_le(stamp.seq);
    out.put_u64_le(stamp.ts_ms);
    out.put_u64_le(stamp.server_time_ms);
    out.put_slice(samples);
    out.freeze()
}

/// The JSON of the format announcement (a WebSocket text frame and the SSE `format` event):
/// `codec` `pcm` (encoding `s16le`) or `opus` (one packet per chunk).
pub fn format_json(format: PcmFormat, codec: &str) -> String {
    let encoding = if codec == "pcm" { "s16le" } else { codec };
    serde_json::json!({
        "type": "format",
        "codec": codec,
        "encoding": encoding,
        "rate": format.rate,
        "channels": format.channels,
    })
    .to_string()
}

/// The JSON of a title change (a WebSocket text frame and the SSE `metadata` event).
pub fn metadata_json(title: &str, ts_ms: u64) -> String {
    serde_json::json!({ "type": "metadata", "title": title, "ts": ts_ms }).to_string()
}

/// An SSE `audio` event: `id:` the sequence number, data
/// `{"seq","ts","server_time","data"}` with the samples in base64.
pub fn sse_audio_event(stamp: ChunkStamp, samples: &[u8]) -> String {
    let data = format!(
        "{{\"seq\":{},\"ts\":{},\"server_time\":{},\"data\":\"{}\"}}",
        stamp.seq,
        stamp.ts_ms,
        stamp.server_time_ms,
        base64::engine::general_purpose::STANDARD.encode(samples)
    );
    sse::event(Some(&stamp.seq.to_string()), Some("audio"), &data)
}

/// An SSE `format` event (no `id:`, so it does not move the client's last event id).
pub fn sse_format_event(format: PcmFormat, codec: &str) -> String {
    sse::event(None, Some("format"), &format_json(format, codec))
}

/// An SSE `metadata` event (no `id:`).
pub fn sse_metadata_event(title: &str, ts_ms: u64) -> String {
    sse::event(None, Some("metadata"), &metadata_json(title, ts_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEREO_44K: PcmFormat = PcmFormat {
        rate: 44_100,
        channels: 2,
    };

    #[test]
    fn endless_wav_header_byte_for_byte() {
        let h = wav_stream_header(STEREO_44K);
        let expected: [u8; 44] = [
            b'R', b'I', b'F', b'F', 0xFF, 0xFF, 0xFF, 0xFF, b'W', b'A', b'V', b'E', //
            b'f', b'm', b't', b' ', 16, 0, 0, 0, 1, 0, 2, 0, // PCM, 2 channels
            0x44, 0xAC, 0, 0, // 44100
            0x10, 0xB1, 0x02, 0, // 176400 bytes/s
            4, 0, 16, 0, // block align 4, 16 bits
            b'd', b'a', b't', b'a', 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(h, expected);
        let mono = wav_stream_header(PcmFormat {
            rate: 48_000,
            channels: 1,
        });
        assert_eq!(&mono[22..24], &[1, 0]);
        assert_eq!(&mono[24..28], &48_000u32.to_le_bytes());
        assert_eq!(&mono[28..32], &96_000u32.to_le_bytes());
        assert_eq!(&mono[32..34], &[2, 0]);
    }

    #[test]
    fn l16_is_big_endian_with_rfc_2586_type() {
        assert_eq!(
            l16_content_type(STEREO_44K),
            "audio/L16;rate=44100;channels=2"
        );
        let le = f32_to_s16le(&[0.5, -1.0, 0.0]);
        assert_eq!(&le[..], &[0x00, 0x40, 0x01, 0x80, 0x00, 0x00][..]);
        assert_eq!(
            &s16le_to_be(&le)[..],
            &[0x40, 0x00, 0x80, 0x01, 0x00, 0x00][..]
        );
        assert_eq!(&s16le_to_be(&[1, 2, 3])[..], &[2, 1][..]);
    }

    #[test]
    fn clipping_to_16_bits() {
        let le = f32_to_s16le(&[2.0, -2.0]);
        assert_eq!(&le[..], &[0xFF, 0x7F, 0x00, 0x80][..]);
    }

    #[test]
    fn websocket_frame_layout() {
        let stamp = ChunkStamp {
            seq: 0x0102,
            ts_ms: 2_000,
            server_time_ms: 1_700_000_000_123,
        };
        let f = ws_audio_frame(stamp, &[9, 8, 7, 6]);
        let mut expected = Vec::new();
        expected.extend_from_slice(&0x0102u64.to_le_bytes());
        expected.extend_from_slice(&2_000u64.to_le_bytes());
        expected.extend_from_slice(&1_700_000_000_123u64.to_le_bytes());
        expected.extend_from_slice(&[9, 8, 7, 6]);
        assert_eq!(&f[..], &expected[..]);
        assert_eq!(f.len(), WS_HEADER_LEN + 4);
    }

    #[test]
    fn sse_events_byte_for_byte() {
        let stamp = ChunkStamp {
            seq: 7,
            ts_ms: 40,
            server_time_ms: 1000,
        };
        assert_eq!(
            sse_audio_event(stamp, &[0, 0, 255, 127]),
            "id: 7\nevent: audio\ndata: {\"seq\":7,\"ts\":40,\"server_time\":1000,\"data\":\"AAD/fw==\"}\n\n"
        );
        assert_eq!(
            sse_metadata_event("A - \"B\"\nC", 5),
            "event: metadata\ndata: {\"title\":\"A - \\\"B\\\"\\nC\",\"ts\":5,\"type\":\"metadata\"}\n\n"
        );
        assert_eq!(
            sse_format_event(STEREO_44K, "pcm"),
            "event: format\ndata: {\"channels\":2,\"codec\":\"pcm\",\"encoding\":\"s16le\",\"rate\":44100,\"type\":\"format\"}\n\n"
        );
        assert_eq!(
            format_json(PcmFormat { rate: 48_000, channels: 1 }, "opus"),
            "{\"channels\":1,\"codec\":\"opus\",\"encoding\":\"opus\",\"rate\":48000,\"type\":\"format\"}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(STEREO_44K.byte_rate(), 176_400);
        assert_eq!(STEREO_44K.frame_bytes(), 4);
        assert_eq!(STEREO_44K.frames_to_ms(44_100), 1000);
        assert_eq!(STEREO_44K.frames_to_ms(1152), 26);
    }
}
