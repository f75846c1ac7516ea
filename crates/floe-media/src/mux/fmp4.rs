//! CMAF / fragmented MP4 (ISO/IEC 14496-12, ISO/IEC 23000-19) for one audio track: the init
//! segment (`ftyp` + `moov` with `mvex`), media segments and LL-HLS parts (`styp` + `moof` +
//! `mdat`), the RFC 6381 `CODECS` string, and `emsg` boxes carrying ID3 timed metadata.
//!
//! | codec | sample entry | configuration box | `CODECS` |
//! |---|---|---|---|
//! | AAC-LC | `mp4a` | `esds`, object type 0x40, the AudioSpecificConfig | `mp4a.40.2` |
//! | HE-AAC v1 / v2 | `mp4a` | `esds` with an explicit (hierarchical) AOT 5 / 29 ASC | `mp4a.40.5` / `mp4a.40.29` |
//! | MP3 | `mp4a` | `esds`, object type 0x6B (0x69 below 32 kHz), no ASC | `mp4a.6B` / `mp4a.69` |
//! | Opus | `Opus` | `dOps` (Opus in ISOBMFF 0.8.1) | `opus` |
//! | FLAC | `fLaC` | `dfLa` (FLAC in ISOBMFF 0.0.4) | `fLaC` ([`codecs_string`]) |
//!
//! The track is always track 1; every audio sample is a sync sample (`trex`/`tfhd` default
//! sample flags say "depends on no other"), so any part can start a playback
//! (`INDEPENDENT=YES`). Media segments use `default-base-is-moof` and a `trun` data offset, as
//! CMAF requires, and carry a version-1 `tfdt` (64-bit decode time).
//!
//! Everything here is a pure function over bytes; times are in the track's timescale and are
//! passed in by the caller.

use crate::encode::{Codec, CodecInfo};

use super::packed::{id3_tag, id3_text_frame};
use super::MuxError;

/// Most samples one media segment may hold (a 10 s segment of 2.5 ms Opus frames is 4000).
pub const MAX_SAMPLES_PER_SEGMENT: usize = 65_536;

/// Longest AudioSpecificConfig accepted (real ones are 2 to about 20 bytes; a program config
/// element for many channels adds a few dozen).
pub const MAX_AUDIO_SPECIFIC_CONFIG: usize = 1024;

/// The codec of the track and its out-of-band configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioCodec {
    /// AAC (LC, HE-AAC v1 or v2). `audio_specific_config` is the ISO 14496-3 AudioSpecificConfig
    /// as the encoder gives it (fdk-aac's `confBuf`) or as [`aac_config_from_adts`] builds it.
    /// HE-AAC is signalled explicitly (AOT 5 or 29 first), which Chromium, hls.js, dash.js and
    /// ffmpeg all accept; the `CODECS` string is derived from the first object type.
    Aac {
        /// AudioSpecificConfig bytes (at least 2).
        audio_specific_config: Vec<u8>,
    },
    /// Opus; samples are raw Opus packets; the timescale should be 48000.
    Opus {
        /// Samples (at 48 kHz) to discard at the start (OpusHead pre-skip).
        pre_skip: u16,
        /// Output gain, Q7.8 dB (0 for none).
        output_gain: i16,
        /// Channel mapping family (0: mono/stereo, 1: Vorbis order up to 8 channels).
        channel_mapping_family: u8,
        /// For a family other than 0: stream count, coupled count and the mapping table
        /// (one entry per output channel).
        channel_mapping: Option<OpusChannelMapping>,
    },
    /// FLAC; samples are FLAC frames.
    Flac {
        /// The 34-byte STREAMINFO block body.
        streaminfo: [u8; 34],
    },
    /// MPEG-1/2 Layer III; samples are MP3 frames.
    Mp3,
}

/// The Opus channel mapping table of family 1 and above (RFC 7845 section 5.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusChannelMapping {
    /// Number of Opus streams.
    pub stream_count: u8,
    /// How many of them are coupled (stereo).
    pub coupled_count: u8,
    /// One entry per output channel.
    pub mapping: Vec<u8>,
}

/// One audio track's configuration: what the init segment declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    /// Codec and its configuration.
    pub codec: AudioCodec,
    /// Output sample rate in Hz (HE-AAC: the full rate, twice the core's).
    pub sample_rate: u32,
    /// Output channels (1..=8).
    pub channels: u16,
    /// Ticks per second of every time in this track (`mdhd`, `tfdt`, sample durations).
    /// Use the sample rate (48000 for Opus), so a sample's duration is its frame count.
    pub timescale: u32,
}

/// One sample (codec packet) of a media segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// The packet: a raw AAC access unit (no ADTS header), an MP3 frame, an Opus packet or a
    /// FLAC frame.
    pub data: &'a [u8],
    /// Duration in the track's timescale (e.g. 1024 for AAC-LC at timescale = rate).
    pub duration: u32,
}

const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Builds the AudioSpecificConfig for an ADTS stream from one ADTS frame header.
///
/// ADTS can only declare an AAC-LC core; with `he_aac` the config signals HE-AAC v1 explicitly
/// (AOT 5, core rate, extension rate twice the core, then AOT 2), so a decoder that would
/// otherwise play only the half-rate core knows to apply SBR. Returns the config and the output
/// sample rate.
pub fn aac_config_from_adts(header: &[u8], he_aac: bool) -> Result<(Vec<u8>, u32), MuxError> {
    if header.len() < 7 || header[0] != 0xFF || header[1] & 0xF6 != 0xF0 {
        return Err(MuxError::Config("not an ADTS header"));
    }
    let object_type = ((header[2] >> 6) & 3) + 1;
    let rate_index = (header[2] >> 2) & 0x0F;
    let channel_config = ((header[2] & 1) << 2) | (header[3] >> 6);
    let core_rate = *AAC_RATES
        .get(usize::from(rate_index))
        .ok_or(MuxError::Config(
            "ADTS sampling frequency index out of range",
        ))?;
    if channel_config == 0 {
        return Err(MuxError::Config(
            "ADTS channel configuration 0 (in-band PCE) unsupported",
        ));
    }
    if !he_aac {
        let mut w = BitWriter::default();
        w.put(u32::from(object_type), 5);
        w.put(u32::from(rate_index), 4);
        w.put(u32::from(channel_config), 4);
        w.put(0, 3); // GASpecificConfig: frame length 1024, no core coder, no extension
        return Ok((w.finish(), core_rate));
    }
    let out_rate = core_rate * 2;
    let ext_index = AAC_RATES
        .iter()
        .position(|&r| r == out_rate)
        .ok_or(MuxError::Config(
            "HE-AAC output rate has no sampling frequency index",
        ))?;
    let mut w = BitWriter::default();
    w.put(5, 5); // SBR
    w.put(u32::from(rate_index), 4);
    w.put(u32::from(channel_config), 4);
    w.put(ext_index as u32, 4);
    w.put(u32::from(object_type), 5);
    w.put(0, 3);
    Ok((w.finish(), out_rate))
}

impl TrackConfig {
    /// The track for an encoder's output ([`CodecInfo`]): AAC takes the encoder's
    /// AudioSpecificConfig, Opus its pre-skip, FLAC its STREAMINFO; the timescale is the rate.
    /// Vorbis and PCM have no CMAF form here.
    pub fn from_codec_info(info: &CodecInfo) -> Result<TrackConfig, MuxError> {
        let codec = match info.codec {
            Codec::AacLc | Codec::HeAac => AudioCodec::Aac {
                audio_specific_config: info.extradata.to_vec(),
            },
            Codec::Mp3 => AudioCodec::Mp3,
            Codec::Opus => AudioCodec::Opus {
                pre_skip: u16::try_from(info.delay)
                    .map_err(|_| MuxError::Config("Opus pre-skip over 65535"))?,
                output_gain: 0,
                channel_mapping_family: if info.channels <= 2 { 0 } else { 1 },
                channel_mapping: None,
            },
            Codec::Flac => AudioCodec::Flac {
                streaminfo: info
                    .extradata
                    .as_ref()
                    .try_into()
                    .map_err(|_| MuxError::Config("FLAC STREAMINFO is not 34 bytes"))?,
            },
            Codec::Vorbis | Codec::PcmS16Le => {
                return Err(MuxError::Config("codec has no fMP4 mapping here"))
            }
        };
        let config = TrackConfig {
            codec,
            sample_rate: info.rate,
            channels: info.channels,
            timescale: info.rate,
        };
        config.validate()?;
        Ok(config)
    }

    /// The track of an ADTS stream, from one frame's header: the AudioSpecificConfig of
    /// [`aac_config_from_adts`] (HE-AAC signalled explicitly with `he_aac`), the output rate
    /// as sample rate and timescale, and the header's channel configuration (7 is 8 channels).
    pub fn from_adts(header: &[u8], he_aac: bool) -> Result<TrackConfig, MuxError> {
        let (asc, rate) = aac_config_from_adts(header, he_aac)?;
        let channels = match ((header[2] & 1) << 2) | (header[3] >> 6) {
            7 => 8,
            n => u16::from(n),
        };
        let config = TrackConfig {
            codec: AudioCodec::Aac {
                audio_specific_config: asc,
            },
            sample_rate: rate,
            channels,
            timescale: rate,
        };
        config.validate()?;
        Ok(config)
    }

    /// The track for an Ogg Opus stream, from its `OpusHead` packet (RFC 7845 section 5.1);
    /// timescale 48000.
    pub fn from_opus_head(head: &[u8]) -> Result<TrackConfig, MuxError> {
        if head.len() < 19 || &head[..8] != b"OpusHead" {
            return Err(MuxError::Config("not an OpusHead packet"));
        }
        let channels = head[9];
        let pre_skip = u16::from_le_bytes([head[10], head[11]]);
        // Bytes 12..16, the encoder's input rate, are informational and not kept: `dOps`
        // always declares 48 kHz (see the writer).
        let output_gain = i16::from_le_bytes([head[16], head[17]]);
        let family = head[18];
        let channel_mapping = if family == 0 {
            None
        } else {
            let table = head
                .get(19..21 + usize::from(channels))
                .ok_or(MuxError::Config("OpusHead channel mapping table truncated"))?;
            Some(OpusChannelMapping {
                stream_count: table[0],
                coupled_count: table[1],
                mapping: table[2..].to_vec(),
            })
        };
        let config = TrackConfig {
            codec: AudioCodec::Opus {
                pre_skip,
                output_gain,
                channel_mapping_family: family,
                channel_mapping,
            },
            sample_rate: 48_000,
            channels: u16::from(channels),
            timescale: 48_000,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what the writers rely on: a timescale and rate above 0, 1..=8 channels, an AAC
    /// config of at least 2 bytes, an Opus mapping table that matches the channel count.
    pub fn validate(&self) -> Result<(), MuxError> {
        if self.timescale == 0 {
            return Err(MuxError::Config("timescale is 0"));
        }
        if self.sample_rate == 0 {
            return Err(MuxError::Config("sample rate is 0"));
        }
        if !(1..=8).contains(&self.channels) {
            return Err(MuxError::Config("channel count outside 1..=8"));
        }
        match &self.codec {
            AudioCodec::Aac {
                audio_specific_config,
            } => {
                if audio_specific_config.len() < 2 {
                    return Err(MuxError::Config("AudioSpecificConfig shorter than 2 bytes"));
                }
                if audio_specific_config.len() > MAX_AUDIO_SPECIFIC_CONFIG {
                    return Err(MuxError::Config(
                        "AudioSpecificConfig longer than 1024 bytes",
                    ));
                }
            }
            AudioCodec::Opus {
                channel_mapping_family,
                channel_mapping,
                ..
            } => match (channel_mapping_family, channel_mapping) {
                (0, _) if self.channels > 2 => {
                    return Err(MuxError::Config(
                        "Opus mapping family 0 with over 2 channels",
                    ))
                }
                (0, _) => {}
                (_, Some(m)) if m.mapping.len() == usize::from(self.channels) => {}
                (_, Some(_)) => {
                    return Err(MuxError::Config(
                        "Opus channel mapping table length differs from the channel count",
                    ))
                }
                // Family 1 without a table: the Vorbis-order table for the channel count.
                (_, None) => {}
            },
            AudioCodec::Flac { .. } | AudioCodec::Mp3 => {}
        }
        Ok(())
    }
}

/// The RFC 6381 codecs parameter for the track, as HLS `CODECS`, DASH `@codecs` and
/// `MediaSource.isTypeSupported` take it: `mp4a.40.2` (AAC-LC), `mp4a.40.5` (HE-AAC),
/// `mp4a.40.29` (HE-AAC v2), `mp4a.6B`/`mp4a.69` (MP3), `opus`, `fLaC`.
///
/// For FLAC this is the spelling of the FLAC-in-ISOBMFF specification; Chromium's
/// `isTypeSupported` accepts `flac` as well.
pub fn codecs_string(config: &TrackConfig) -> String {
    match &config.codec {
        AudioCodec::Aac {
            audio_specific_config,
        } => format!("mp4a.40.{}", aac_object_type(audio_specific_config)),
        AudioCodec::Mp3 => format!("mp4a.{:02X}", mp3_object_type(config.sample_rate)),
        AudioCodec::Opus { .. } => "opus".to_string(),
        AudioCodec::Flac { .. } => "fLaC".to_string(),
    }
}

/// The audio object type of an AudioSpecificConfig (5-bit field, 31 escapes to 32 + 6 bits).
fn aac_object_type(asc: &[u8]) -> u8 {
    let first = asc.first().copied().unwrap_or(0x10) >> 3;
    if first == 31 {
        let b1 = asc.get(1).copied().unwrap_or(0);
        32 + (((asc[0] & 7) << 3) | (b1 >> 5))
    } else {
        first
    }
}

/// MPEG-1 audio (0x6B) at 32 kHz and above, MPEG-2 audio (0x69) for its half rates.
fn mp3_object_type(rate: u32) -> u8 {
    if rate >= 32_000 {
        0x6B
    } else {
        0x69
    }
}

/// The init segment: `ftyp` (`iso6`, compatible `iso6 cmfc dash mp41`) and `moov` (`mvhd`,
/// one `trak` with track id 1 and the codec's sample entry, `mvex`/`trex` with sync-sample
/// default flags). Durations are 0 (a live, fragmented track).
pub fn init_segment(config: &TrackConfig) -> Result<Vec<u8>, MuxError> {
    config.validate()?;
    let mut out = Vec::with_capacity(700);
    write_box(&mut out, b"ftyp", |b| {
        b.extend_from_slice(b"iso6");
        put_u32(b, 0);
        for brand in [b"iso6", b"cmfc", b"dash", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
    write_box(&mut out, b"moov", |moov| {
        write_full_box(moov, b"mvhd", 0, 0, |b| {
            put_u32(b, 0); // creation time
            put_u32(b, 0); // modification time
            put_u32(b, config.timescale);
            put_u32(b, 0); // duration
            put_u32(b, 0x0001_0000); // rate 1.0
            put_u16(b, 0x0100); // volume 1.0
            b.extend_from_slice(&[0; 10]);
            put_matrix(b);
            b.extend_from_slice(&[0; 24]); // pre_defined
            put_u32(b, 2); // next track id
        });
        write_box(moov, b"trak", |trak| {
            write_full_box(trak, b"tkhd", 0, 3, |b| {
                put_u32(b, 0);
                put_u32(b, 0);
                put_u32(b, 1); // track id
                put_u32(b, 0);
                put_u32(b, 0); // duration
                b.extend_from_slice(&[0; 8]);
                put_u16(b, 0); // layer
                put_u16(b, 1); // alternate group
                put_u16(b, 0x0100); // volume
                put_u16(b, 0);
                put_matrix(b);
                put_u32(b, 0); // width
                put_u32(b, 0); // height
            });
            write_box(trak, b"mdia", |mdia| {
                write_full_box(mdia, b"mdhd", 0, 0, |b| {
                    put_u32(b, 0);
                    put_u32(b, 0);
                    put_u32(b, config.timescale);
                    put_u32(b, 0);
                    put_u16(b, 0x55C4); // "und"
                    put_u16(b, 0);
                });
                write_full_box(mdia, b"hdlr", 0, 0, |b| {
                    put_u32(b, 0);
                    b.extend_from_slice(b"soun");
                    b.extend_from_slice(&[0; 12]);
                    b.extend_from_slice(b"SoundHandler\0");
                });
                write_box(mdia, b"minf", |minf| {
                    write_full_box(minf, b"smhd", 0, 0, |b| put_u32(b, 0));
                    write_box(minf, b"dinf", |dinf| {
                        write_full_box(dinf, b"dref", 0, 0, |b| {
                            put_u32(b, 1);
                            write_full_box(b, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(minf, b"stbl", |stbl| {
                        write_full_box(stbl, b"stsd", 0, 0, |b| {
                            put_u32(b, 1);
                            sample_entry(b, config);
                        });
                        write_full_box(stbl, b"stts", 0, 0, |b| put_u32(b, 0));
                        write_full_box(stbl, b"stsc", 0, 0, |b| put_u32(b, 0));
                        write_full_box(stbl, b"stsz", 0, 0, |b| {
                            put_u32(b, 0);
                            put_u32(b, 0);
                        });
                        write_full_box(stbl, b"stco", 0, 0, |b| put_u32(b, 0));
                    });
                });
            });
        });
        write_box(moov, b"mvex", |mvex| {
            write_full_box(mvex, b"trex", 0, 0, |b| {
                put_u32(b, 1); // track id
                put_u32(b, 1); // sample description index
                put_u32(b, 0); // default duration
                put_u32(b, 0); // default size
                put_u32(b, SYNC_SAMPLE_FLAGS);
            });
        });
    });
    Ok(out)
}

/// `sample_depends_on = 2` (depends on no other sample): every audio sample is a sync sample.
const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;

fn sample_entry(b: &mut Vec<u8>, config: &TrackConfig) {
    let (fourcc, sample_size, rate) = match &config.codec {
        AudioCodec::Aac { .. } | AudioCodec::Mp3 => (b"mp4a", 16, config.sample_rate),
        AudioCodec::Opus { .. } => (b"Opus", 16, 48_000),
        AudioCodec::Flac { streaminfo } => {
            // bits per sample: 5 bits across STREAMINFO bytes 12..13, stored minus one
            let bps = (((streaminfo[12] & 1) << 4) | (streaminfo[13] >> 4)) + 1;
            (b"fLaC", u16::from(bps), config.sample_rate)
        }
    };
    write_box(b, fourcc, |e| {
        e.extend_from_slice(&[0; 6]);
        put_u16(e, 1); // data reference index
        e.extend_from_slice(&[0; 8]);
        put_u16(e, config.channels);
        put_u16(e, sample_size);
        put_u16(e, 0);
        put_u16(e, 0);
        put_u32(e, if rate <= 0xFFFF { rate << 16 } else { 0 });
        match &config.codec {
            AudioCodec::Aac {
                audio_specific_config,
            } => esds(e, 0x40, Some(audio_specific_config)),
            AudioCodec::Mp3 => esds(e, mp3_object_type(config.sample_rate), None),
            AudioCodec::Opus {
                pre_skip,
                output_gain,
                channel_mapping_family,
                channel_mapping,
            } => write_box(e, b"dOps", |d| {
                d.push(0); // version
                d.push(config.channels as u8);
                put_u16(d, *pre_skip);
                // InputSampleRate is informational (the encoder's input), but Chromium's MSE
                // refuses an init segment whose dOps rate differs from the sample entry's
                // 48 kHz (measured with a 44.1 kHz source), so it is always 48000.
                put_u32(d, 48_000);
                d.extend_from_slice(&output_gain.to_be_bytes());
                d.push(*channel_mapping_family);
                if *channel_mapping_family != 0 {
                    match channel_mapping {
                        Some(m) => {
                            d.push(m.stream_count);
                            d.push(m.coupled_count);
                            d.extend_from_slice(&m.mapping);
                        }
                        None => {
                            // Vorbis order, as libopus' multistream encoder lays it out.
                            let (streams, coupled, map) = vorbis_mapping(config.channels);
                            d.push(streams);
                            d.push(coupled);
                            d.extend_from_slice(map);
                        }
                    }
                }
            }),
            AudioCodec::Flac { streaminfo } => write_full_box(e, b"dfLa", 0, 0, |d| {
                d.push(0x80); // last metadata block, type 0 (STREAMINFO)
                d.extend_from_slice(&[0, 0, 34]);
                d.extend_from_slice(streaminfo);
            }),
        }
    });
}

/// RFC 7845 section 5.1.1.2: streams, coupled streams and the mapping for family 1.
fn vorbis_mapping(channels: u16) -> (u8, u8, &'static [u8]) {
    match channels {
        1 => (1, 0, &[0]),
        2 => (1, 1, &[0, 1]),
        3 => (2, 1, &[0, 2, 1]),
        4 => (2, 2, &[0, 1, 2, 3]),
        5 => (3, 2, &[0, 4, 1, 2, 3]),
        6 => (4, 2, &[0, 4, 1, 2, 3, 5]),
        7 => (4, 3, &[0, 4, 1, 2, 3, 5, 6]),
        _ => (5, 3, &[0, 6, 1, 2, 3, 4, 5, 7]),
    }
}

/// `esds` (ISO 14496-14): ES_Descriptor { DecoderConfigDescriptor { DecoderSpecificInfo },
/// SLConfigDescriptor }.
fn esds(b: &mut Vec<u8>, object_type: u8, asc: Option<&[u8]>) {
    write_full_box(b, b"esds", 0, 0, |d| {
        let mut dcd = vec![object_type, 0x15]; // audio stream
        dcd.extend_from_slice(&[0, 0, 0]); // buffer size
        put_u32(&mut dcd, 0); // max bitrate
        put_u32(&mut dcd, 0); // average bitrate
        if let Some(asc) = asc {
            put_descriptor(&mut dcd, 0x05, asc);
        }
        let mut es = Vec::with_capacity(dcd.len() + 16);
        put_u16(&mut es, 1); // ES_ID
        es.push(0); // no dependence, URL or OCR stream
        put_descriptor(&mut es, 0x04, &dcd);
        put_descriptor(&mut es, 0x06, &[0x02]); // SLConfig: predefined MP4
        put_descriptor(d, 0x03, &es);
    });
}

/// An MPEG-4 descriptor: tag, the body's length in the expandable form (7 bits per byte, high
/// bit set on all but the last; one byte below 128), body.
fn put_descriptor(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let len = body.len();
    let mut shift = 7 * ((usize::BITS - len.leading_zeros()).max(1).div_ceil(7) - 1);
    loop {
        let group = ((len >> shift) & 0x7F) as u8;
        if shift == 0 {
            out.push(group);
            break;
        }
        out.push(group | 0x80);
        shift -= 7;
    }
    out.extend_from_slice(body);
}

/// A media segment, or an LL-HLS part (a part is just a smaller one): `styp` (`msdh`,
/// compatible `msdh msix`), `moof` (`mfhd` with `sequence_number`; `traf` with `tfhd`
/// default-base-is-moof, `tfdt` v1 with `base_media_decode_time`, `trun` with the data offset
/// and each sample's duration and size) and `mdat`.
///
/// `sequence_number` must grow by one per segment/part across the stream (fragment order);
/// `base_media_decode_time` is the sum of all earlier samples' durations plus the stream's
/// start. Errors: no samples, more than [`MAX_SAMPLES_PER_SEGMENT`], or over 4 GiB of data.
pub fn media_segment(
    config: &TrackConfig,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[Sample<'_>],
) -> Result<Vec<u8>, MuxError> {
    media_segment_with_events(
        config,
        sequence_number,
        base_media_decode_time,
        samples,
        &[],
    )
}

/// Like [`media_segment`], with `emsg` boxes (e.g. from [`id3_emsg`]) placed after `styp`
/// and before `moof`, where CMAF puts in-band events.
pub fn media_segment_with_events(
    config: &TrackConfig,
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[Sample<'_>],
    events: &[&[u8]],
) -> Result<Vec<u8>, MuxError> {
    config.validate()?;
    if samples.is_empty() {
        return Err(MuxError::NoSamples);
    }
    if samples.len() > MAX_SAMPLES_PER_SEGMENT {
        return Err(MuxError::TooManySamples {
            count: samples.len(),
            limit: MAX_SAMPLES_PER_SEGMENT,
        });
    }
    let data_len: usize = samples.iter().map(|s| s.data.len()).sum();
    let mdat_len = u32::try_from(data_len + 8).map_err(|_| MuxError::TooLarge)?;
    let sample_len = |s: &Sample<'_>| u32::try_from(s.data.len()).map_err(|_| MuxError::TooLarge);

    // moof = 8 + mfhd 16 + traf (8 + tfhd 20 + tfdt 20 + trun (20 + 8 per sample))
    let moof_len = 8 + 16 + 8 + 20 + 20 + 20 + 8 * samples.len();
    let events_len: usize = events.iter().map(|e| e.len()).sum();
    let mut out = Vec::with_capacity(24 + events_len + moof_len + 8 + data_len);
    write_box(&mut out, b"styp", |b| {
        b.extend_from_slice(b"msdh");
        put_u32(b, 0);
        b.extend_from_slice(b"msdh");
        b.extend_from_slice(b"msix");
    });
    for event in events {
        out.extend_from_slice(event);
    }
    let moof_start = out.len();
    let mut sizes = Vec::with_capacity(samples.len());
    for s in samples {
        sizes.push(sample_len(s)?);
    }
    write_box(&mut out, b"moof", |moof| {
        write_full_box(moof, b"mfhd", 0, 0, |b| put_u32(b, sequence_number));
        write_box(moof, b"traf", |traf| {
            // default-base-is-moof (0x020000) | default-sample-flags-present (0x000020)
            write_full_box(traf, b"tfhd", 0, 0x02_0020, |b| {
                put_u32(b, 1);
                put_u32(b, SYNC_SAMPLE_FLAGS);
            });
            write_full_box(traf, b"tfdt", 1, 0, |b| {
                b.extend_from_slice(&base_media_decode_time.to_be_bytes())
            });
            // data-offset (0x001) | sample-duration (0x100) | sample-size (0x200)
            write_full_box(traf, b"trun", 0, 0x00_0301, |b| {
                put_u32(b, samples.len() as u32);
                put_u32(b, (moof_len + 8) as u32);
                for (s, size) in samples.iter().zip(&sizes) {
                    put_u32(b, s.duration);
                    put_u32(b, *size);
                }
            });
        });
    });
    debug_assert_eq!(out.len() - moof_start, moof_len);
    put_u32(&mut out, mdat_len);
    out.extend_from_slice(b"mdat");
    for s in samples {
        out.extend_from_slice(s.data);
    }
    Ok(out)
}

/// The scheme hls.js and dash.js read ID3 timed metadata from in `emsg`.
pub const ID3_EMSG_SCHEME: &str = "https://aomedia.org/emsg/ID3";

/// A version-1 `emsg` box carrying an ID3v2.4 tag with a `TIT2` (title) frame: a now-playing
/// title as timed metadata at `presentation_time` (in `timescale` ticks, on the same timeline
/// as the track's decode times), duration unknown (`0xFFFFFFFF`), event `id` chosen by the
/// caller (distinct per title change; players drop repeats of an id).
pub fn id3_emsg(presentation_time: u64, timescale: u32, id: u32, title: &str) -> Vec<u8> {
    let tag = id3_tag(&[id3_text_frame(b"TIT2", title)]);
    let mut out = Vec::with_capacity(64 + tag.len());
    write_full_box(&mut out, b"emsg", 1, 0, |b| {
        put_u32(b, timescale);
        b.extend_from_slice(&presentation_time.to_be_bytes());
        put_u32(b, 0xFFFF_FFFF);
        put_u32(b, id);
        b.extend_from_slice(ID3_EMSG_SCHEME.as_bytes());
        b.push(0);
        b.push(0); // value ""
        b.extend_from_slice(&tag);
    });
    out
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_matrix(b: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        put_u32(b, v);
    }
}

/// Appends a box: 32-bit size, type, then what `body` writes (the size is patched after).
/// Boxes here are small (a `moof`, a `moov`); an `mdat` is written by hand.
fn write_box(out: &mut Vec<u8>, fourcc: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(fourcc);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: a box whose body starts with a version byte and 24 bits of flags.
fn write_full_box(
    out: &mut Vec<u8>,
    fourcc: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    write_box(out, fourcc, |b| {
        put_u32(b, (u32::from(version) << 24) | (flags & 0x00FF_FFFF));
        body(b);
    });
}

/// MSB-first bit packing for AudioSpecificConfig.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            if self.bits % 8 == 0 {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= bit << (7 - self.bits % 8);
            }
            self.bits += 1;
        }
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aac_lc() -> TrackConfig {
        TrackConfig {
            codec: AudioCodec::Aac {
                audio_specific_config: vec![0x12, 0x10],
            },
            sample_rate: 44_100,
            channels: 2,
            timescale: 44_100,
        }
    }

    /// The boxes at one level: (type, start, size).
    fn boxes(data: &[u8]) -> Vec<([u8; 4], usize, usize)> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos + 8 <= data.len() {
            let size = u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]])
                as usize;
            assert!(
                size >= 8 && pos + size <= data.len(),
                "box at {pos} overruns"
            );
            let mut kind = [0; 4];
            kind.copy_from_slice(&data[pos + 4..pos + 8]);
            out.push((kind, pos, size));
            pos += size;
        }
        assert_eq!(pos, data.len(), "trailing bytes");
        out
    }

    fn kinds(data: &[u8]) -> Vec<String> {
        boxes(data)
            .iter()
            .map(|(k, _, _)| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    /// The body of the first box of type `kind` at this level (after `skip` header bytes).
    fn child<'a>(data: &'a [u8], kind: &[u8; 4], skip: usize) -> &'a [u8] {
        let (_, start, size) = boxes(data)
            .into_iter()
            .find(|(k, _, _)| k == kind)
            .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind)));
        &data[start + 8 + skip..start + size]
    }

    /// The whole box (header included) starting at the first occurrence of `kind`.
    fn find_box<'a>(data: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
        let at = data
            .windows(4)
            .position(|w| w == kind)
            .expect("box present")
            - 4;
        let size = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        &data[at..at + size as usize]
    }

    #[test]
    fn init_segment_layout() {
        let init = init_segment(&aac_lc()).expect("init");
        assert_eq!(kinds(&init), ["ftyp", "moov"]);
        assert_eq!(
            &init[..32],
            b"\0\0\0\x20ftypiso6\0\0\0\0iso6cmfcdashmp41".as_slice()
        );
        let moov = child(&init, b"moov", 0);
        assert_eq!(kinds(moov), ["mvhd", "trak", "mvex"]);
        let trak = child(moov, b"trak", 0);
        assert_eq!(kinds(trak), ["tkhd", "mdia"]);
        let mdia = child(trak, b"mdia", 0);
        assert_eq!(kinds(mdia), ["mdhd", "hdlr", "minf"]);
        let minf = child(mdia, b"minf", 0);
        assert_eq!(kinds(minf), ["smhd", "dinf", "stbl"]);
        let stbl = child(minf, b"stbl", 0);
        assert_eq!(kinds(stbl), ["stsd", "stts", "stsc", "stsz", "stco"]);
        // mdhd: version/flags, creation, modification, then the timescale
        let mdhd = child(mdia, b"mdhd", 0);
        assert_eq!(&mdhd[12..16], &44_100u32.to_be_bytes());
        // tkhd: track id 1
        assert_eq!(&child(trak, b"tkhd", 0)[12..16], &[0, 0, 0, 1]);
        // trex: track 1, description 1, default duration/size 0, sync-sample flags
        assert_eq!(
            child(child(moov, b"mvex", 0), b"trex", 0),
            &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]
        );
        // the sample entry: mp4a, 2 channels, 16 bits, 44100 << 16
        let stsd = child(stbl, b"stsd", 8);
        let mp4a = child(stsd, b"mp4a", 0);
        assert_eq!(
            &mp4a[..28],
            &[
                0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 0, 0xAC,
                0x44, 0, 0
            ]
        );
    }

    #[test]
    fn esds_bytes() {
        let init = init_segment(&aac_lc()).expect("init");
        assert_eq!(
            find_box(&init, b"esds"),
            &[
                0, 0, 0, 39, b'e', b's', b'd', b's', 0, 0, 0, 0, // full box
                0x03, 25, 0, 1, 0, // ES_Descriptor, ES_ID 1
                0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // DecoderConfig
                0x05, 2, 0x12, 0x10, // DecoderSpecificInfo: the ASC
                0x06, 1, 2, // SLConfig
            ]
        );
        let mp3 = TrackConfig {
            codec: AudioCodec::Mp3,
            ..aac_lc()
        };
        let init = init_segment(&mp3).expect("init");
        assert_eq!(
            find_box(&init, b"esds"),
            &[
                0, 0, 0, 35, b'e', b's', b'd', b's', 0, 0, 0, 0, 0x03, 21, 0, 1, 0, 0x04, 13, 0x6B,
                0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06, 1, 2,
            ]
        );
    }

    #[test]
    fn descriptor_lengths() {
        let mut out = Vec::new();
        put_descriptor(&mut out, 5, &[]);
        assert_eq!(out, [5, 0]);
        out.clear();
        put_descriptor(&mut out, 5, &[7; 127]);
        assert_eq!(&out[..2], &[5, 127]);
        out.clear();
        put_descriptor(&mut out, 5, &[7; 128]);
        assert_eq!(&out[..3], &[5, 0x81, 0x00]);
        assert_eq!(out.len(), 3 + 128);
        out.clear();
        put_descriptor(&mut out, 4, &vec![0; 20_000]);
        assert_eq!(&out[..4], &[4, 0x81, 0x9C, 0x20]); // 20000 = 1·16384 + 28·128 + 32
                                                       // A long (PCE-carrying) config still makes a well-formed esds.
        let config = TrackConfig {
            codec: AudioCodec::Aac {
                audio_specific_config: vec![0x12; 200],
            },
            ..aac_lc()
        };
        let init = init_segment(&config).expect("init");
        let esds = find_box(&init, b"esds");
        // ES_ID and flags 3, DecoderConfig 1 + 2 + 13 + (DecoderSpecificInfo 1 + 2 + 200), SL 3
        assert_eq!(&esds[12..15], &[0x03, 0x81, 0x61]); // 225 = 1·128 + 97
        assert_eq!(&esds[esds.len() - 3..], &[0x06, 1, 2]);
    }

    #[test]
    fn dops_bytes() {
        let head = b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00";
        let config = TrackConfig::from_opus_head(head).expect("OpusHead");
        assert_eq!(config.sample_rate, 48_000);
        assert_eq!(config.timescale, 48_000);
        assert_eq!(config.channels, 2);
        let init = init_segment(&config).expect("init");
        assert_eq!(
            find_box(&init, b"dOps"),
            b"\0\0\0\x13dOps\x00\x02\x01\x38\x00\x00\xBB\x80\x00\x00\x00".as_slice()
        );
        let entry = find_box(&init, b"Opus");
        assert_eq!(&entry[24..28], &[0, 2, 0, 16]); // channels, sample size
        assert_eq!(&entry[32..36], &[0xBB, 0x80, 0, 0]); // 48000 << 16
        assert_eq!(codecs_string(&config), "opus");
        // A 44.1 kHz input rate in the OpusHead: dOps still declares 48 kHz, the rate of the
        // sample entry (Chromium refuses the init segment otherwise).
        let head = b"OpusHead\x01\x02\x38\x01\x44\xAC\x00\x00\x00\x00\x00";
        let init =
            init_segment(&TrackConfig::from_opus_head(head).expect("OpusHead")).expect("init");
        assert_eq!(
            find_box(&init, b"dOps"),
            b"\0\0\0\x13dOps\x00\x02\x01\x38\x00\x00\xBB\x80\x00\x00\x00".as_slice()
        );
    }

    #[test]
    fn dops_with_mapping_family_1() {
        let mut head = b"OpusHead\x01\x06\x38\x01\x80\xBB\x00\x00\x00\x00\x01".to_vec();
        head.extend_from_slice(&[4, 2, 0, 4, 1, 2, 3, 5]);
        let config = TrackConfig::from_opus_head(&head).expect("OpusHead");
        let init = init_segment(&config).expect("init");
        let dops = find_box(&init, b"dOps");
        assert_eq!(
            &dops[8..],
            &[0, 6, 1, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 1, 4, 2, 0, 4, 1, 2, 3, 5]
        );
        assert!(
            TrackConfig::from_opus_head(&head[..24]).is_err(),
            "truncated table"
        );
        assert!(TrackConfig::from_opus_head(b"OpusTags\x01\x02").is_err());
    }

    #[test]
    fn dfla_bytes() {
        let mut streaminfo = [0u8; 34];
        streaminfo[10] = 0x0A; // 44100 Hz: 20 bits 0x0AC44, 3 bits channels-1, 5 bits bps-1
        streaminfo[11] = 0xC4;
        streaminfo[12] = 0x42; // rate low nibble 4, channels-1 = 1, bps-1 high bit 0
        streaminfo[13] = 0xF0; // bps-1 low bits 1111 -> 16 bits
        let config = TrackConfig {
            codec: AudioCodec::Flac { streaminfo },
            ..aac_lc()
        };
        let init = init_segment(&config).expect("init");
        let dfla = find_box(&init, b"dfLa");
        assert_eq!(
            &dfla[..16],
            b"\0\0\0\x32dfLa\0\0\0\0\x80\0\0\x22".as_slice()
        );
        assert_eq!(&dfla[16..], &streaminfo);
        let entry = find_box(&init, b"fLaC");
        assert_eq!(&entry[24..28], &[0, 2, 0, 16]);
        assert_eq!(codecs_string(&config), "fLaC");
    }

    #[test]
    fn media_segment_bytes() {
        let samples = [
            Sample {
                data: &[0xAA, 0xBB],
                duration: 1024,
            },
            Sample {
                data: &[0xCC],
                duration: 1024,
            },
        ];
        let seg = media_segment(&aac_lc(), 7, 0x1_0000_0002, &samples).expect("segment");
        let want: Vec<u8> = [
            &b"\0\0\0\x18stypmsdh\0\0\0\0msdhmsix"[..],
            b"\0\0\0\x6Cmoof",
            b"\0\0\0\x10mfhd\0\0\0\0\0\0\0\x07",
            b"\0\0\0\x54traf",
            b"\0\0\0\x14tfhd\x00\x02\x00\x20\0\0\0\x01\x02\0\0\0",
            b"\0\0\0\x14tfdt\x01\0\0\0\0\0\0\x01\0\0\0\x02",
            b"\0\0\0\x24trun\x00\x00\x03\x01\0\0\0\x02\0\0\0\x74",
            b"\0\0\x04\0\0\0\0\x02\0\0\x04\0\0\0\0\x01",
            b"\0\0\0\x0Bmdat\xAA\xBB\xCC",
        ]
        .concat();
        assert_eq!(seg, want);
        // the data offset points at the first sample: moof start + 0x74
        assert_eq!(seg[24 + 0x74], 0xAA);
    }

    #[test]
    fn events_go_between_styp_and_moof() {
        let samples = [Sample {
            data: &[1],
            duration: 960,
        }];
        let emsg = id3_emsg(0, 48_000, 1, "x");
        let seg = media_segment_with_events(&aac_lc(), 1, 0, &samples, &[&emsg]).expect("seg");
        assert_eq!(kinds(&seg), ["styp", "emsg", "moof", "mdat"]);
        let plain = media_segment(&aac_lc(), 1, 0, &samples).expect("seg");
        assert_eq!(seg.len(), plain.len() + emsg.len());
        // the trun data offset is relative to moof, so it is unchanged by the event
        assert_eq!(&seg[seg.len() - 9 - 12..], &plain[plain.len() - 9 - 12..]);
    }

    #[test]
    fn id3_emsg_bytes() {
        let emsg = id3_emsg(90_000, 90_000, 7, "A");
        let want: Vec<u8> = [
            &b"\0\0\0\x54emsg\x01\0\0\0"[..],
            &90_000u32.to_be_bytes(),
            &90_000u64.to_be_bytes(),
            &[0xFF; 4],
            &[0, 0, 0, 7],
            b"https://aomedia.org/emsg/ID3\0\0",
            b"ID3\x04\0\0\0\0\0\x0C",
            b"TIT2\0\0\0\x02\0\0\x03A",
        ]
        .concat();
        assert_eq!(emsg, want);
    }

    #[test]
    fn aac_config_from_adts_headers() {
        // AAC-LC, 44.1 kHz (index 4), stereo
        let lc = [0xFF, 0xF1, 0x50, 0x80, 0x2E, 0x7F, 0xFC];
        assert_eq!(
            aac_config_from_adts(&lc, false).expect("lc"),
            (vec![0x12, 0x10], 44_100)
        );
        // HE-AAC: 24 kHz core (index 6), stereo -> AOT 5, ext 48 kHz (index 3), AOT 2
        let he = [0xFF, 0xF1, 0x58, 0x80, 0x2E, 0x7F, 0xFC];
        let config = TrackConfig::from_adts(&he, true).expect("he");
        assert_eq!(
            config,
            TrackConfig {
                codec: AudioCodec::Aac {
                    audio_specific_config: vec![0x2B, 0x11, 0x88, 0x00]
                },
                sample_rate: 48_000,
                channels: 2,
                timescale: 48_000,
            }
        );
        assert_eq!(codecs_string(&config), "mp4a.40.5");
        // Channel configuration 7 is 7.1: eight channels.
        let mut surround = lc;
        surround[2] |= 1;
        surround[3] |= 0xC0;
        assert_eq!(
            TrackConfig::from_adts(&surround, false)
                .expect("7.1")
                .channels,
            8
        );
        assert!(TrackConfig::from_adts(&lc[..6], false).is_err());
        assert!(aac_config_from_adts(&lc[..6], false).is_err());
        assert!(aac_config_from_adts(&[0xFF, 0xF1, 0x7C, 0x80, 0, 0, 0], false).is_err());
        // 96 kHz core has no doubled rate for SBR
        assert!(aac_config_from_adts(&[0xFF, 0xF1, 0x40, 0x80, 0, 0, 0], true).is_err());
    }

    #[test]
    fn codecs_strings() {
        let mut c = aac_lc();
        assert_eq!(codecs_string(&c), "mp4a.40.2");
        c.codec = AudioCodec::Aac {
            audio_specific_config: vec![0xE9, 0x11, 0x88, 0x00], // AOT 29 (HE-AAC v2)
        };
        assert_eq!(codecs_string(&c), "mp4a.40.29");
        c.codec = AudioCodec::Aac {
            audio_specific_config: vec![0xF8, 0x20], // escaped AOT 32 + 1 = 33
        };
        assert_eq!(codecs_string(&c), "mp4a.40.33");
        c.codec = AudioCodec::Mp3;
        assert_eq!(codecs_string(&c), "mp4a.6B");
        c.sample_rate = 22_050;
        assert_eq!(codecs_string(&c), "mp4a.69");
    }

    /// Hostile input: random headers never panic, and whatever parses writes an init segment.
    #[test]
    fn header_parsers_never_panic() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in 0..5000usize {
            let mut bytes: Vec<u8> = (0..n % 40)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            if n % 2 == 0 && bytes.len() >= 8 {
                bytes[..8].copy_from_slice(b"OpusHead");
            }
            if n % 3 == 0 && bytes.len() >= 2 {
                bytes[0] = 0xFF;
                bytes[1] = 0xF1;
            }
            if let Ok(config) = TrackConfig::from_opus_head(&bytes) {
                assert!(init_segment(&config).is_ok(), "{config:?}");
            }
            for he in [false, true] {
                if let Ok(config) = TrackConfig::from_adts(&bytes, he) {
                    assert!(init_segment(&config).is_ok(), "{config:?}");
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = aac_lc();
        assert_eq!(media_segment(&c, 1, 0, &[]), Err(MuxError::NoSamples));
        let many = vec![
            Sample {
                data: &[],
                duration: 1
            };
            MAX_SAMPLES_PER_SEGMENT + 1
        ];
        assert!(matches!(
            media_segment(&c, 1, 0, &many),
            Err(MuxError::TooManySamples { .. })
        ));
        for bad in [
            TrackConfig {
                channels: 0,
                ..aac_lc()
            },
            TrackConfig {
                timescale: 0,
                ..aac_lc()
            },
            TrackConfig {
                codec: AudioCodec::Aac {
                    audio_specific_config: vec![0x12],
                },
                ..aac_lc()
            },
            TrackConfig {
                codec: AudioCodec::Opus {
                    pre_skip: 0,
                    output_gain: 0,
                    channel_mapping_family: 0,
                    channel_mapping: None,
                },
                channels: 6,
                ..aac_lc()
            },
        ] {
            assert!(
                matches!(init_segment(&bad), Err(MuxError::Config(_))),
                "{bad:?}"
            );
        }
    }
}
