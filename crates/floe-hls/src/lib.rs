//! Floe's segmenter for web-native delivery: HLS (with low-latency parts), DASH, timed titles.
//!
//! Layout:
//! - [`access`]: a mount's framed units (ADTS, MP3, Ogg pages) to codec access units and the
//!   track configuration (pure).
//! - [`segmenter`]: access units to CMAF parts and segments (and MPEG-TS segments), the DVR
//!   window, discontinuities, program date times, titles (pure, time passed in).
//! - [`playlist`]: LL-HLS and TS media playlists, master playlist variants and the DASH MPD,
//!   built from a segmenter's state as `floe_proto::hls` / `floe_proto::dash` values, whose
//!   writers are the only m3u8/MPD writers in Floe (pure).
//! - [`vod`]: on-demand HLS for a library file, cut once into CMAF segments (pure).
//! - [`service`]: one segmenter per offered mount, fed in process by a listener session of the
//!   mount, and the registry HTTP handlers read ([`HlsService`], [`LiveStream`]).

pub mod access;
pub mod playlist;
pub mod segmenter;
pub mod service;
pub mod vod;

pub use segmenter::{Availability, SegmenterSettings};
pub use service::{HlsService, HlsSettings, LiveStream};
