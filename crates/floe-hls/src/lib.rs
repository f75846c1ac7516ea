//! Floe's segmenter for web-native delivery: HLS (with low-latency parts), DASH, timed titles.
//!
//! Layout:
//! - [`access`]: a mount's framed units (ADTS, MP3, Ogg pages) to codec access units and the
//!   track configuration (pure).
//! - [`segmenter`]: access units to CMAF parts and segments (and MPEG-TS segments), the DVR
//!   window, discontinuities, program date times, titles (pure, time passed in).
pub mod access;
pub mod segmenter;
