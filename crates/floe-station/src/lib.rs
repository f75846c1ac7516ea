//! Floe's stations: audio Floe makes itself and streams on mounts like any live source.
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | a station as the config declares it (`[stations."name"]`), defaults and validation |
//! | [`playlist`] | the track list: folder scan, `.m3u`/`.pls` parsing, sequential/shuffle/random order, re-read at every pick |
//! | [`track`] | one track opened for playing: decode, remix, resample, loudness gain (ReplayGain or measured EBU R128), title from tags |
//! | [`autodj`] | the auto-DJ: an endless PCM stream, gapless or crossfaded, jingles, play log, title marks at the sample where a track starts |
//! | [`chain`] | the station's fallback chain: live inputs → auto-DJ → silence, crossfaded switches, dead air |
//! | [`queue`] | a FIFO of PCM frames that takes from its front without moving what stays |
//! | [`rendition`] | one encoding of the station: units with durations for the engine, titles placed on the frame that carries their first sample |
//! | [`live`] | a live input: a listener of the mount in process decodes its stream into the chain's feed |
//! | [`local`] | local inputs: raw PCM from standard input or a FIFO (`arecord … \| floe`), decoded into the chain's feed |
//! | [`capture`] | sound-card capture (ALSA, the `alsa` feature) into the chain's feed |
//! | [`station`] | the station's thread: auto-DJ → one resample per rate → one encoder per rendition → engine mounts, paced to real time |
//!
//! Data flow: `Playlist → OpenTrack → AutoDj (PCM at the station's rate) → Chain (live inputs
//! first) → Resampler per rate →
//! Rendition per codec → SourceSession per mount`. Only [`station`] touches a clock or a thread
//! of its own (and the auto-DJ's helper that opens the next track ahead of time); the rest is
//! driven by the caller and tested without one.

pub mod autodj;
pub mod capture;
pub mod chain;
pub mod config;
pub mod live;
pub mod local;
pub mod playlist;
pub mod queue;
pub mod rendition;
pub mod station;
pub mod track;

pub use autodj::{AutoDj, AutoDjSettings, Music, Output, TitleMark};
pub use config::{InputConfig, Order, RenditionConfig, StationConfig};
pub use station::{start, StationError, StationHandle, StationSpec};
