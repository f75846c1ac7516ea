//! The demo station's music: a few short pieces Floe synthesises itself, deterministically
//! (same samples on every machine and run), so a fresh install plays something pleasant with
//! no bundled recordings.
//!
//! Each piece is a chord progression on a soft detuned pad, a bass line, a melody drawn by a
//! seeded random walk over the chord and pentatonic tones (bell, pluck or soft-lead timbre), an
//! optional arpeggio, then a ping-pong delay on the melody, a small Schroeder/Freeverb-style
//! reverb, fades at both ends and a gentle soft clip. Oscillators read one sine table, so a
//! piece renders in a small fraction of real time (release build).

use std::sync::OnceLock;

use crate::decode::Tags;
use crate::pcm::AudioBlock;

/// The artist name every demo piece carries.
pub const DEMO_ARTIST: &str = "Floe Demo";

const TABLE_BITS: u32 = 13;
const TABLE_LEN: usize = 1 << TABLE_BITS;

fn sine_table() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        (0..TABLE_LEN)
            .map(|i| (i as f64 / TABLE_LEN as f64 * std::f64::consts::TAU).sin() as f32)
            .collect()
    })
}

#[inline]
fn sin_cycles(phase: f32) -> f32 {
    let t = sine_table();
    // The phase in table steps, truncated and masked to one cycle (two's complement keeps a
    // negative phase in the right place): no `floorf` call, which baseline x86-64 cannot
    // inline and which was a quarter of the synthesis time.
    let idx = (phase * TABLE_LEN as f32) as i64 as usize & (TABLE_LEN - 1);
    t[idx]
}

fn midi_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

/// A small deterministic PRNG (xorshift32).
#[derive(Debug, Clone)]
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }
    fn pick(&mut self, n: usize) -> usize {
        (self.next() as usize) % n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    Bell,
    Pluck,
    Soft,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    bpm: f32,
    root: i32,
    minor: bool,
    progression: [usize; 4],
    lead: Lead,
    arpeggio: bool,
    seed: u32,
}

/// One demo piece.
#[derive(Debug, Clone)]
pub struct Piece {
    /// Title, e.g. "Morning Tide".
    pub title: &'static str,
    /// Artist ([`DEMO_ARTIST`]).
    pub artist: &'static str,
    /// Length in seconds.
    pub seconds: f32,
    spec: Spec,
}

/// The demo pieces, in play order (four pieces of 40–52 s).
pub fn pieces() -> Vec<Piece> {
    let p = |title, seconds, spec| Piece {
        title,
        artist: DEMO_ARTIST,
        seconds,
        spec,
    };
    vec![
        p(
            "Morning Tide",
            48.0,
            Spec {
                bpm: 84.0,
                root: 60,
                minor: false,
                progression: [0, 5, 3, 4],
                lead: Lead::Bell,
                arpeggio: false,
                seed: 0x1234_5678,
            },
        ),
        p(
            "Glass Orchard",
            44.0,
            Spec {
                bpm: 96.0,
                root: 57,
                minor: true,
                progression: [0, 5, 2, 6],
                lead: Lead::Pluck,
                arpeggio: true,
                seed: 0x0bad_cafe,
            },
        ),
        p(
            "Lantern Walk",
            52.0,
            Spec {
                bpm: 72.0,
                root: 65,
                minor: false,
                progression: [0, 2, 3, 0],
                lead: Lead::Soft,
                arpeggio: false,
                seed: 0x2468_ace1,
            },
        ),
        p(
            "Northern Lights",
            40.0,
            Spec {
                bpm: 66.0,
                root: 62,
                minor: true,
                progression: [0, 3, 5, 4],
                lead: Lead::Bell,
                arpeggio: true,
                seed: 0x1357_9bdf,
            },
        ),
    ]
}

const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

impl Piece {
    /// `"Floe Demo - Morning Tide"`.
    pub fn display_title(&self) -> String {
        format!("{} - {}", self.artist, self.title)
    }

    /// The piece's tags (artist, title, album "Floe Demo").
    pub fn tags(&self) -> Tags {
        Tags {
            artist: Some(self.artist.to_string()),
            title: Some(self.title.to_string()),
            album: Some("Floe Demo".to_string()),
            ..Tags::default()
        }
    }

    /// Renders the whole piece, stereo, at `rate`.
    pub fn render(&self, rate: u32) -> AudioBlock {
        self.render_seconds(rate, self.seconds)
    }

    /// Renders the first `seconds` of the piece (the fade-out still sits at the piece's end).
    pub fn render_seconds(&self, rate: u32, seconds: f32) -> AudioBlock {
        let seconds = seconds.clamp(0.0, self.seconds);
        let len = (seconds * rate as f32) as usize;
        let mut r = Renderer::new(rate, len);
        self.compose(&mut r);
        r.finish(self.seconds)
    }

    fn degree(&self, d: usize, octave: i32) -> i32 {
        let scale = if self.spec.minor { &MINOR } else { &MAJOR };
        self.spec.root + scale[d % 7] + 12 * (d / 7) as i32 + 12 * octave
    }

    fn compose(&self, r: &mut Renderer) {
        let s = self.spec;
        let beat = 60.0 / s.bpm;
        let bar = beat * 4.0;
        let bars = (self.seconds / bar).ceil() as usize;
        let mut rng = Rng(s.seed);
        let mut melody_pos: i32 = 7; // index into the melody's scale steps, around the middle
        for b in 0..bars {
            let t0 = b as f32 * bar;
            let chord = s.progression[b % 4];
            let tones = [chord, chord + 2, chord + 4];
            // Pad: the triad, long soft notes that overlap into the next bar.
            for (i, &d) in tones.iter().enumerate() {
                let note = self.degree(d, -1) as f32;
                let pan = [-0.4, 0.0, 0.4][i];
                r.pad(t0, bar + 0.3, note, 0.045, pan);
            }
            // Bass: root on beats 1 and 3, fifth as a pickup in every second bar.
            let root = self.degree(chord, -2) as f32;
            r.bass(t0, beat * 1.9, root, 0.20);
            r.bass(t0 + beat * 2.0, beat * 1.5, root, 0.17);
            if b % 2 == 1 {
                r.bass(
                    t0 + beat * 3.5,
                    beat * 0.45,
                    self.degree(chord + 4, -2) as f32,
                    0.12,
                );
            }
            // Arpeggio: chord tones up and down in eighths, quiet.
            if s.arpeggio && b >= 2 {
                let order = [0usize, 1, 2, 1, 0, 1, 2, 1];
                for (k, &o) in order.iter().enumerate() {
                    let note = self.degree(tones[o], 0) as f32 + 12.0;
                    r.lead(
                        Lead::Pluck,
                        t0 + k as f32 * beat / 2.0,
                        beat * 0.45,
                        note,
                        0.035,
                        0.5 - o as f32 * 0.5,
                    );
                }
            }
            // Melody from the third bar: eighth-note grid, rests, leaning on chord tones.
            if b >= 2 && b + 1 < bars {
                let mut k = 0;
                while k < 8 {
                    let len = if rng.unit() < 0.35 {
                        2
                    } else if rng.unit() < 0.15 {
                        4
                    } else {
                        1
                    };
                    let len = len.min(8 - k);
                    if rng.unit() < 0.22 {
                        k += len;
                        continue;
                    }
                    let step = [-2, -1, -1, 0, 1, 1, 2][rng.pick(7)];
                    melody_pos = (melody_pos + step).clamp(3, 12);
                    let mut d = melody_pos as usize;
                    // On strong beats snap to the nearest chord tone.
                    if k % 4 == 0 {
                        let want = d % 7;
                        let nearest = tones
                            .iter()
                            .map(|t| t % 7)
                            .min_by_key(|t| (*t as i32 - want as i32).abs())
                            .unwrap_or(want);
                        d = d - want + nearest;
                    }
                    let note = self.degree(d, 0) as f32;
                    let t = t0 + k as f32 * beat / 2.0;
                    let pan = (rng.unit() - 0.5) * 0.5;
                    r.lead(s.lead, t, len as f32 * beat / 2.0 * 0.95, note, 0.11, pan);
                    k += len;
                }
            }
        }
        r.delay_time = beat * 0.75;
    }
}

struct Renderer {
    rate: f32,
    len: usize,
    dry: Vec<f32>,
    lead: Vec<f32>,
    delay_time: f32,
}

fn envelope(t: f32, dur: f32, attack: f32, decay_rate: f32, sustain: f32, release: f32) -> f32 {
    let on = if t < attack {
        t / attack
    } else {
        sustain + (1.0 - sustain) * (-(t - attack) * decay_rate).exp()
    };
    if t <= dur {
        on
    } else {
        let held = if dur < attack {
            dur / attack
        } else {
            sustain + (1.0 - sustain) * (-(dur - attack) * decay_rate).exp()
        };
        held * (-(t - dur) / release * 5.0).exp()
    }
}

impl Renderer {
    fn new(rate: u32, len: usize) -> Self {
        Self {
            rate: rate as f32,
            len,
            dry: vec![0.0; len * 2],
            lead: vec![0.0; len * 2],
            delay_time: 0.5,
        }
    }

    /// Calls `f(t)` for every sample of a note starting at `start` lasting `total` seconds and
    /// adds the returned mono value, panned, to `bus`.
    fn add(
        bus: &mut [f32],
        rate: f32,
        len: usize,
        start: f32,
        total: f32,
        pan: f32,
        mut f: impl FnMut(f32) -> f32,
    ) {
        let first = (start * rate) as usize;
        let last = (((start + total) * rate) as usize).min(len);
        let (gl, gr) = (
            (1.0 - pan).sqrt() * std::f32::consts::FRAC_1_SQRT_2,
            (1.0 + pan).sqrt() * std::f32::consts::FRAC_1_SQRT_2,
        );
        for i in first..last {
            let v = f((i - first) as f32 / rate);
            bus[2 * i] += v * gl;
            bus[2 * i + 1] += v * gr;
        }
    }

    fn pad(&mut self, start: f32, dur: f32, note: f32, amp: f32, pan: f32) {
        let hz = midi_hz(note);
        let detune = [0.997f32, 1.003];
        let release = 1.5;
        for (k, d) in detune.iter().enumerate() {
            let f0 = hz * d;
            let p = pan + if k == 0 { -0.3 } else { 0.3 };
            let mut ph = [0.13 * k as f32, 0.0, 0.0];
            let inc = [f0 / self.rate, 2.0 * f0 / self.rate, 3.0 * f0 / self.rate];
            Self::add(
                &mut self.dry,
                self.rate,
                self.len,
                start,
                dur + release,
                p.clamp(-1.0, 1.0),
                |t| {
                    let env = envelope(t, dur, 0.9, 0.3, 0.8, release);
                    let v = sin_cycles(ph[0]) + 0.35 * sin_cycles(ph[1]) + 0.12 * sin_cycles(ph[2]);
                    ph[0] += inc[0];
                    ph[1] += inc[1];
                    ph[2] += inc[2];
                    v * env * amp
                },
            );
        }
    }

    fn bass(&mut self, start: f32, dur: f32, note: f32, amp: f32) {
        let f0 = midi_hz(note);
        let (mut p1, mut p2) = (0.0f32, 0.0f32);
        let (i1, i2) = (f0 / self.rate, 2.0 * f0 / self.rate);
        Self::add(
            &mut self.dry,
            self.rate,
            self.len,
            start,
            dur + 0.3,
            0.0,
            |t| {
                let env = envelope(t, dur, 0.012, 2.5, 0.55, 0.3);
                let v = sin_cycles(p1) + 0.25 * sin_cycles(p2);
                p1 += i1;
                p2 += i2;
                v * env * amp
            },
        );
    }

    fn lead(&mut self, timbre: Lead, start: f32, dur: f32, note: f32, amp: f32, pan: f32) {
        let f0 = midi_hz(note);
        let rate = self.rate;
        let (mut pc, mut pm, mut p2, mut p3, mut vib) = (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
        match timbre {
            Lead::Bell => Self::add(&mut self.lead, rate, self.len, start, dur + 1.6, pan, |t| {
                // Two-operator FM, ratio 3.5, index falling with the note.
                let env = envelope(t, dur, 0.004, 1.6, 0.0, 1.6);
                let index = 1.2 * (-t * 3.0).exp() + 0.15;
                let v = sin_cycles(pc + index * sin_cycles(pm) / std::f32::consts::TAU);
                pc += f0 / rate;
                pm += 3.5 * f0 / rate;
                v * env * amp
            }),
            Lead::Pluck => Self::add(&mut self.lead, rate, self.len, start, dur + 0.8, pan, |t| {
                let env = envelope(t, dur, 0.003, 4.0, 0.0, 0.8);
                let bright = (-t * 6.0).exp();
                let v =
                    sin_cycles(pc) + 0.5 * bright * sin_cycles(p2) + 0.25 * bright * sin_cycles(p3);
                pc += f0 / rate;
                p2 += 2.0 * f0 / rate;
                p3 += 3.0 * f0 / rate;
                v * env * amp
            }),
            Lead::Soft => Self::add(&mut self.lead, rate, self.len, start, dur + 0.6, pan, |t| {
                let env = envelope(t, dur, 0.06, 0.8, 0.7, 0.6);
                let wobble = 1.0 + 0.004 * sin_cycles(vib) * (t * 2.0).min(1.0);
                let v = sin_cycles(pc) + 0.18 * sin_cycles(p2) + 0.06 * sin_cycles(p3);
                pc += f0 * wobble / rate;
                p2 += 2.0 * f0 * wobble / rate;
                p3 += 3.0 * f0 * wobble / rate;
                vib += 5.0 / rate;
                v * env * amp
            }),
        }
    }

    fn finish(mut self, piece_seconds: f32) -> AudioBlock {
        let n = self.len;
        // Ping-pong delay on the lead bus.
        let d = ((self.delay_time * self.rate) as usize).max(1);
        for i in d..n {
            let (l, r) = (self.lead[2 * (i - d)], self.lead[2 * (i - d) + 1]);
            self.lead[2 * i] += 0.35 * r;
            self.lead[2 * i + 1] += 0.35 * l;
        }
        for (dry, lead) in self.dry.iter_mut().zip(&self.lead) {
            *dry += lead;
        }
        let wet = reverb(&self.dry, self.rate);
        let fade_in = 1.5 * self.rate;
        let fade_out = 4.0 * self.rate;
        let end = piece_seconds * self.rate;
        let mut out = Vec::with_capacity(n * 2);
        for i in 0..n {
            let t = i as f32;
            let g = (t / fade_in).min(1.0) * ((end - t) / fade_out).clamp(0.0, 1.0);
            for c in 0..2 {
                let v = (self.dry[2 * i + c] * 0.82 + wet[2 * i + c] * 0.3) * g;
                out.push(soft_clip(v));
            }
        }
        AudioBlock::new(self.rate as u32, 2, out)
    }
}

fn soft_clip(x: f32) -> f32 {
    if x.abs() < 0.6 {
        x
    } else {
        x.signum() * (0.6 + 0.4 * ((x.abs() - 0.6) / 0.4).tanh())
    }
}

/// A small Freeverb-style reverb: four damped combs and two allpasses per channel.
fn reverb(input: &[f32], rate: f32) -> Vec<f32> {
    let scale = rate / 44_100.0;
    let combs = [1116usize, 1188, 1277, 1356];
    let allpasses = [556usize, 441];
    let n = input.len() / 2;
    let mut out = vec![0.0; input.len()];
    for c in 0..2 {
        let spread = if c == 0 { 0 } else { 23 };
        let mut comb_bufs: Vec<Vec<f32>> = combs
            .iter()
            .map(|&l| vec![0.0; (((l + spread) as f32) * scale) as usize + 1])
            .collect();
        let mut comb_pos = [0usize; 4];
        let mut comb_lp = [0.0f32; 4];
        let mut ap_bufs: Vec<Vec<f32>> = allpasses
            .iter()
            .map(|&l| vec![0.0; (((l + spread) as f32) * scale) as usize + 1])
            .collect();
        let mut ap_pos = [0usize; 2];
        for i in 0..n {
            let x = input[2 * i + c] * 0.25;
            let mut acc = 0.0;
            for k in 0..4 {
                let buf = &mut comb_bufs[k];
                let y = buf[comb_pos[k]];
                comb_lp[k] = y * 0.7 + comb_lp[k] * 0.3;
                buf[comb_pos[k]] = x + comb_lp[k] * 0.8;
                comb_pos[k] = (comb_pos[k] + 1) % buf.len();
                acc += y;
            }
            for k in 0..2 {
                let buf = &mut ap_bufs[k];
                let b = buf[ap_pos[k]];
                buf[ap_pos[k]] = acc + b * 0.5;
                acc = b - acc;
                ap_pos[k] = (ap_pos[k] + 1) % buf.len();
            }
            out[2 * i + c] = acc;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_have_titles_and_are_deterministic() {
        let ps = pieces();
        assert!(ps.len() >= 3);
        assert_eq!(ps[0].display_title(), "Floe Demo - Morning Tide");
        let a = ps[1].render_seconds(22_050, 6.0);
        let b = ps[1].render_seconds(22_050, 6.0);
        assert_eq!(a, b);
        assert_eq!(a.frames(), 6 * 22_050);
        let peak = a.peak();
        assert!(peak > 0.05 && peak <= 1.0, "peak {peak}");
    }
}
