//! The station's PCM source: a fallback chain of inputs, pulled once per step.
//!
//! Order: the live inputs (in the order the config lists them), then the auto-DJ (when the
//! station has `music`), then silence. Every step the chain plays the first input that is
//! available: a live input is available while its source is connected (after a short
//! prebuffer) and not in dead air. A switch is an equal-power crossfade of
//! `takeover_crossfade_seconds` (0: a hard cut at a sample frame boundary); the new input's
//! title applies from the start of the fade. When a live source leaves, the switch back starts
//! while the last fade's length of its audio is still buffered, so that audio is the outgoing
//! side of the fade.
//!
//! The auto-DJ **pauses** while a live input plays: it keeps its position in the current
//! track, and the track resumes (faded in) when the live source leaves.
//!
//! Live audio arrives from a decoding thread into a [`LiveFeed`] (a bounded queue); the station
//! thread takes from it at the station's pace. An underrun while the source is connected is
//! padded with silence, which counts as silence for dead air; a queue that grows beyond
//! [`LiveSettings::max_frames`] (a source clock faster than ours) loses its oldest audio.
//! Nothing here reads a clock.

use crate::autodj::{AutoDj, Output, TitleMark};
use crate::queue::PcmQueue;
use crate::track::PcmFormat;
use floe_media::mix::Crossfade;
use floe_media::AudioBlock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// One input of the chain.
pub trait Input: Send {
    /// Can it play now? `playing`: it is the chain's current input.
    fn available(&mut self, playing: bool) -> bool;
    /// Exactly `frames` frames; marks are relative to the block's start.
    fn pull(&mut self, frames: usize) -> Output;
    /// It was chosen to play (a switch to it starts).
    fn activate(&mut self) {}
    /// Called every step while another input plays.
    fn idle(&mut self) {}
    /// Frames it can give before it must be asked [`Input::available`] again (`None`: any).
    fn ready_frames(&self) -> Option<usize> {
        None
    }
    /// The title to show when it takes over.
    fn title(&self) -> Option<TitleMark>;
    /// For logs.
    fn label(&self) -> String;
}

impl Input for AutoDj {
    fn available(&mut self, _playing: bool) -> bool {
        true
    }

    fn pull(&mut self, frames: usize) -> Output {
        let start = self.position();
        let mut out = self.next(frames);
        for m in &mut out.marks {
            m.frame = m.frame.saturating_sub(start);
        }
        out
    }

    fn title(&self) -> Option<TitleMark> {
        self.current_title().cloned()
    }

    fn label(&self) -> String {
        "auto-DJ".into()
    }
}

/// Silence with a title (the station's name): the end of every chain.
#[derive(Debug, Clone)]
pub struct Silence {
    format: PcmFormat,
    title: Option<String>,
}

impl Silence {
    /// Silence at `format`, titled `title` when it takes over.
    pub fn new(format: PcmFormat, title: Option<String>) -> Self {
        Silence { format, title }
    }
}

impl Input for Silence {
    fn available(&mut self, _playing: bool) -> bool {
        true
    }

    fn pull(&mut self, frames: usize) -> Output {
        Output {
            block: AudioBlock::silence(self.format.rate, self.format.channels, frames),
            marks: Vec::new(),
        }
    }

    fn title(&self) -> Option<TitleMark> {
        self.title.as_ref().map(|t| TitleMark {
            frame: 0,
            song: t.clone(),
            artist: None,
            title: None,
        })
    }

    fn label(&self) -> String {
        "silence".into()
    }
}

/// How a live input buffers and when it counts as dead air.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    /// Output format.
    pub format: PcmFormat,
    /// Frames buffered before a newly connected source may take over.
    pub prebuffer_frames: usize,
    /// Most frames kept; beyond, the oldest are dropped.
    pub max_frames: usize,
    /// Frames of silence in a row after which the input is dead air (0: never).
    pub dead_air_frames: usize,
    /// Peak below which a block is silent (linear).
    pub silence_peak: f32,
    /// When the source has left, the input stays available while more than this many frames
    /// are buffered (the takeover crossfade's length): they fade out into the next input.
    pub handback_frames: usize,
}

impl LiveSettings {
    /// Settings for a station at `format`: 1 s prebuffer, 6 s at most, `dead_air_seconds`
    /// below [`crate::config::DEAD_AIR_DBFS`], `crossfade_frames` of hand-back.
    pub fn new(format: PcmFormat, dead_air_seconds: f64, crossfade_frames: usize) -> Self {
        let rate = format.rate as usize;
        LiveSettings {
            format,
            prebuffer_frames: rate,
            max_frames: 6 * rate,
            dead_air_frames: (dead_air_seconds.max(0.0) * rate as f64).round() as usize,
            silence_peak: 10f32.powf(crate::config::DEAD_AIR_DBFS / 20.0),
            handback_frames: crossfade_frames,
        }
    }
}

/// The live audio of one input, between its decoding thread and the station thread.
#[derive(Debug)]
pub struct LiveFeed {
    settings: LiveSettings,
    connected: bool,
    queue: PcmQueue,
    /// Frames ever pushed / taken (marks are placed in pushed frames).
    pushed: u64,
    taken: u64,
    /// Silent frames in a row at the end of what was pushed.
    silent_run: usize,
    /// Title changes at pushed-frame positions not yet taken.
    marks: VecDeque<TitleMark>,
    /// The title in force at the queue's front.
    title: Option<TitleMark>,
    /// Frames padded with silence because the queue ran dry while connected.
    pub underrun_frames: u64,
}

impl LiveFeed {
    /// An empty feed with no source.
    pub fn new(settings: LiveSettings) -> Self {
        LiveFeed {
            settings,
            connected: false,
            queue: PcmQueue::new(settings.format.rate, settings.format.channels),
            pushed: 0,
            taken: 0,
            silent_run: 0,
            marks: VecDeque::new(),
            title: None,
            underrun_frames: 0,
        }
    }

    /// A source connected, titled `title` (the mount's title, its name, or "Live").
    pub fn connect(&mut self, title: String) {
        self.connected = true;
        self.silent_run = 0;
        self.set_title(title, None, None);
    }

    /// The source left: what is buffered still plays out.
    pub fn disconnect(&mut self) {
        self.connected = false;
        if self.underrun_frames > 0 {
            tracing::info!(
                frames = self.underrun_frames,
                "live input ran dry while connected (padded with silence)"
            );
        }
    }

    /// True while a source is connected.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Frames buffered.
    pub fn buffered(&self) -> usize {
        self.queue.frames()
    }

    /// True while the input has been silent for the dead-air time.
    pub fn dead_air(&self) -> bool {
        self.settings.dead_air_frames > 0 && self.silent_run >= self.settings.dead_air_frames
    }

    /// The title changes from the next frame pushed on.
    pub fn set_title(&mut self, song: String, artist: Option<String>, title: Option<String>) {
        self.marks.push_back(TitleMark {
            frame: self.pushed,
            song,
            artist,
            title,
        });
    }

    /// Decoded audio at the station's format.
    pub fn push(&mut self, block: &AudioBlock) {
        let peak = block.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        if peak < self.settings.silence_peak {
            self.silent_run += block.frames();
        } else {
            self.silent_run = 0;
        }
        self.queue.push(block);
        self.pushed += block.frames() as u64;
        if self.queue.frames() > self.settings.max_frames {
            let excess = self.queue.frames() - self.settings.prebuffer_frames;
            self.drop_front(excess);
        }
    }

    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.queue.frames());
        self.queue.skip(n);
        self.taken += n as u64;
        while self.marks.front().is_some_and(|m| m.frame <= self.taken) {
            self.title = self.marks.pop_front();
        }
    }

    fn take(&mut self, frames: usize) -> Output {
        let start = self.taken;
        let mut marks = Vec::new();
        // A mark pending at the front applies from the first frame taken.
        let n = frames.min(self.queue.frames());
        let mut block = self.queue.take_front(n);
        self.taken += n as u64;
        while let Some(m) = self.marks.front() {
            if m.frame >= self.taken && !(n == 0 && m.frame == start) {
                break;
            }
            let mut m = self.marks.pop_front().expect("front");
            m.frame = m.frame.saturating_sub(start);
            self.title = Some(m.clone());
            marks.push(m);
        }
        if n < frames {
            if self.connected {
                // Nothing came: as silent as silence, for dead air (a writer that keeps its
                // end open but sends nothing falls through too).
                self.underrun_frames += (frames - n) as u64;
                self.silent_run += frames - n;
            }
            let f = self.settings.format;
            block.append(&AudioBlock::silence(f.rate, f.channels, frames - n));
        }
        Output { block, marks }
    }
}

/// A live input: a [`LiveFeed`] shared with the thread that decodes the mount (or reads a
/// local input).
#[derive(Debug, Clone)]
pub struct LiveInput {
    /// The mount path; for a local input, its label (`pcm /path`, `capture hw:0`).
    pub name: String,
    feed: Arc<Mutex<LiveFeed>>,
}

impl LiveInput {
    /// An input named `name` (a mount path, or a local input's label) with an empty feed.
    pub fn new(name: String, settings: LiveSettings) -> Self {
        LiveInput {
            name,
            feed: Arc::new(Mutex::new(LiveFeed::new(settings))),
        }
    }

    /// The feed (the decoding thread pushes into it).
    pub fn feed(&self) -> MutexGuard<'_, LiveFeed> {
        self.feed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Input for LiveInput {
    fn available(&mut self, playing: bool) -> bool {
        let f = self.feed();
        if f.dead_air() {
            return false;
        }
        if f.connected {
            playing || f.buffered() >= f.settings.prebuffer_frames
        } else {
            playing && f.buffered() > f.settings.handback_frames
        }
    }

    fn pull(&mut self, frames: usize) -> Output {
        self.feed().take(frames)
    }

    fn ready_frames(&self) -> Option<usize> {
        let f = self.feed();
        (!f.connected).then(|| f.buffered().saturating_sub(f.settings.handback_frames))
    }

    fn activate(&mut self) {
        // Start close to the source's present: older audio (the mount's burst) is dropped.
        let mut f = self.feed();
        let keep = f.settings.prebuffer_frames;
        let excess = f.buffered().saturating_sub(keep);
        f.drop_front(excess);
    }

    fn idle(&mut self) {
        let mut f = self.feed();
        let keep = if f.connected {
            f.settings.prebuffer_frames
        } else {
            0
        };
        let excess = f.buffered().saturating_sub(keep);
        f.drop_front(excess);
    }

    fn title(&self) -> Option<TitleMark> {
        let f = self.feed();
        // The title at the front of what will play: a pending mark at the front wins.
        match f.marks.front() {
            Some(m) if m.frame <= f.taken => Some(m.clone()),
            _ => f.title.clone(),
        }
    }

    fn label(&self) -> String {
        format!("live {}", self.name)
    }
}

struct Switch {
    from: usize,
    xf: Crossfade,
}

/// The chain. See the module documentation.
pub struct Chain {
    format: PcmFormat,
    inputs: Vec<Box<dyn Input>>,
    current: usize,
    switch: Option<Switch>,
    crossfade_frames: usize,
    /// Frames output so far.
    position: u64,
    started: bool,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("inputs", &self.labels())
            .field("current", &self.current)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A chain of `inputs` in priority order (the last should always be available, e.g.
    /// [`Silence`]), switching with an equal-power crossfade of `crossfade_frames`.
    pub fn new(format: PcmFormat, inputs: Vec<Box<dyn Input>>, crossfade_frames: usize) -> Self {
        let last = inputs.len().saturating_sub(1);
        Chain {
            format,
            inputs,
            current: last,
            switch: None,
            crossfade_frames,
            position: 0,
            started: false,
        }
    }

    /// The inputs' labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.inputs.iter().map(|i| i.label()).collect()
    }

    /// The index of the input playing now (or being faded to).
    pub fn current(&self) -> usize {
        self.current
    }

    /// Frames output so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// True when any input but the last is available (or was once): a live-only station
    /// stays off the air until its first source.
    pub fn any_available(&mut self) -> bool {
        let n = self.inputs.len().saturating_sub(1);
        self.started |= self.inputs[..n].iter_mut().any(|i| i.available(false));
        self.started
    }

    /// The next `frames` frames, marks at chain positions.
    pub fn next(&mut self, frames: usize) -> Output {
        let mut block = AudioBlock::empty(self.format.rate, self.format.channels);
        let mut marks: Vec<TitleMark> = Vec::new();
        while block.frames() < frames {
            let need = frames - block.frames();
            let at = self.position + block.frames() as u64;
            if self.switch.is_none() {
                self.select(at, &mut marks);
            }
            let cur = self.current;
            let part = match &mut self.switch {
                Some(sw) => {
                    let k = need.min(sw.xf.remaining());
                    let a = self.inputs[sw.from].pull(k);
                    let b = self.inputs[cur].pull(k);
                    let mixed = sw.xf.mix(&a.block, &b.block);
                    if sw.xf.is_done() {
                        self.switch = None;
                    }
                    Output {
                        block: mixed,
                        marks: b.marks,
                    }
                }
                None => {
                    let ready = self.inputs[cur].ready_frames().unwrap_or(need);
                    let k = if ready == 0 { need } else { need.min(ready) };
                    self.inputs[cur].pull(k)
                }
            };
            for m in part.marks {
                let m = TitleMark {
                    frame: at + m.frame,
                    ..m
                };
                // The same title at the same frame twice (the takeover's and the input's own).
                if !marks
                    .last()
                    .is_some_and(|l| l.frame == m.frame && l.song == m.song)
                {
                    marks.push(m);
                }
            }
            block.append(&part.block);
        }
        let from = self.switch.as_ref().map(|s| s.from);
        for (i, input) in self.inputs.iter_mut().enumerate() {
            if i != self.current && Some(i) != from {
                input.idle();
            }
        }
        self.position += block.frames() as u64;
        Output { block, marks }
    }

    /// Switches to the first available input, if that is not the current one.
    fn select(&mut self, at: u64, marks: &mut Vec<TitleMark>) {
        let current = self.current;
        let want = (0..self.inputs.len())
            .find(|&i| self.inputs[i].available(i == current))
            .unwrap_or(current);
        if want == current {
            return;
        }
        tracing::info!(
            from = %self.inputs[current].label(),
            to = %self.inputs[want].label(),
            "station input switch"
        );
        self.inputs[want].activate();
        self.current = want;
        // The first input of all starts at once; later switches fade.
        if self.crossfade_frames > 0 && at > 0 {
            self.switch = Some(Switch {
                from: current,
                xf: Crossfade::new(self.crossfade_frames),
            });
        }
        if let Some(t) = self.inputs[want].title() {
            marks.push(TitleMark { frame: at, ..t });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1000;
    const F: PcmFormat = PcmFormat {
        rate: RATE,
        channels: 1,
    };

    /// A constant signal with a title: stands in for the auto-DJ.
    struct Dc(f32, &'static str);

    impl Input for Dc {
        fn available(&mut self, _: bool) -> bool {
            true
        }
        fn pull(&mut self, frames: usize) -> Output {
            Output {
                block: AudioBlock::new(RATE, 1, vec![self.0; frames]),
                marks: Vec::new(),
            }
        }
        fn title(&self) -> Option<TitleMark> {
            Some(TitleMark {
                frame: 0,
                song: self.1.into(),
                artist: None,
                title: None,
            })
        }
        fn label(&self) -> String {
            self.1.into()
        }
    }

    fn settings(dead_air_frames: usize, handback: usize) -> LiveSettings {
        LiveSettings {
            format: F,
            prebuffer_frames: 100,
            max_frames: 2000,
            dead_air_frames,
            silence_peak: 10f32.powf(-50.0 / 20.0),
            handback_frames: handback,
        }
    }

    fn chain(live: &LiveInput, xfade: usize) -> Chain {
        Chain::new(
            F,
            vec![
                Box::new(live.clone()),
                Box::new(Dc(0.25, "DJ")),
                Box::new(Silence::new(F, Some("Station".into()))),
            ],
            xfade,
        )
    }

    fn block(v: f32, n: usize) -> AudioBlock {
        AudioBlock::new(RATE, 1, vec![v; n])
    }

    #[test]
    fn live_takes_over_after_its_prebuffer_and_hands_back_with_a_hard_cut() {
        let live = LiveInput::new("/studio".into(), settings(0, 0));
        let mut c = chain(&live, 0);
        // Nothing live: the auto-DJ (the silence at the end is never needed).
        let out = c.next(50);
        assert_eq!(c.current(), 1);
        assert_eq!(out.marks[0].song, "DJ");
        assert!(out.block.samples.iter().all(|&s| s == 0.25));
        live.feed().connect("Live".into());
        live.feed().push(&block(0.5, 60));
        // Below the prebuffer: not yet.
        assert!(c.next(50).block.samples.iter().all(|&s| s == 0.25));
        live.feed().push(&block(0.5, 60));
        let out = c.next(50);
        assert_eq!(c.current(), 0);
        assert!(out.block.samples.iter().all(|&s| s == 0.5), "hard cut");
        assert_eq!(out.marks.len(), 1, "{:?}", out.marks);
        assert_eq!(
            (out.marks[0].frame, out.marks[0].song.as_str()),
            (100, "Live")
        );
        // The source leaves with 50 frames buffered: they play out, then the auto-DJ.
        live.feed().disconnect();
        let out = c.next(100);
        assert_eq!(&out.block.samples[..50], &[0.5; 50][..]);
        assert_eq!(&out.block.samples[50..], &[0.25; 50][..]);
        assert_eq!(c.current(), 1);
        assert_eq!(out.marks.len(), 1, "{:?}", out.marks);
        assert_eq!(
            (out.marks[0].frame, out.marks[0].song.as_str()),
            (200, "DJ")
        );
    }

    #[test]
    fn switches_are_equal_power_crossfades() {
        let live = LiveInput::new("/studio".into(), settings(0, 40));
        let mut c = chain(&live, 40);
        c.next(10);
        live.feed().connect("Live".into());
        live.feed().push(&block(1.0, 300));
        let out = c.next(60);
        // Over 40 frames: DJ·cos + live·sin, then the live input alone.
        for (i, &s) in out.block.samples.iter().enumerate() {
            let want = if i < 40 {
                let (g_out, g_in) = floe_media::mix::equal_power_gains(i as f32 / 40.0);
                0.25 * g_out + 1.0 * g_in
            } else {
                1.0
            };
            assert!((s - want).abs() < 1e-6, "frame {i}: {s} vs {want}");
        }
        // The title changes where the fade starts.
        assert_eq!(out.marks[0].frame, 10);
        // Hand-back: the fade starts while the fade's length is still buffered, so the live
        // audio's last 40 frames fade out into the auto-DJ.
        live.feed().push(&block(1.0, 100));
        live.feed().disconnect();
        let mut all = Vec::new();
        for _ in 0..10 {
            all.extend(c.next(50).block.samples);
        }
        let first_dj = all.iter().position(|&s| s == 0.25).expect("back to the DJ");
        let fade = &all[first_dj - 40..first_dj];
        for (i, &s) in fade.iter().enumerate() {
            let (g_out, g_in) = floe_media::mix::equal_power_gains(i as f32 / 40.0);
            let want = 1.0 * g_out + 0.25 * g_in;
            assert!(
                (s - want).abs() < 1e-6,
                "hand-back frame {i}: {s} vs {want}"
            );
        }
        assert_eq!(first_dj, 140, "100 frames alone, then 40 faded");
        assert!(all[..first_dj - 40].iter().all(|&s| s == 1.0));
        assert_eq!(live.feed().underrun_frames, 0);
    }

    #[test]
    fn dead_air_falls_through_and_sound_brings_the_live_input_back() {
        let live = LiveInput::new("/studio".into(), settings(300, 0));
        let mut c = chain(&live, 0);
        live.feed().connect("Live".into());
        live.feed().push(&block(0.5, 200));
        c.next(100);
        assert_eq!(c.current(), 0);
        // 0.0001 is below -50 dBFS: 300 frames of it are dead air.
        live.feed().push(&block(0.0001, 250));
        c.next(100);
        assert_eq!(c.current(), 0);
        live.feed().push(&block(0.0001, 50));
        let out = c.next(100);
        assert_eq!(c.current(), 1, "dead air falls through to the auto-DJ");
        assert!(out.block.samples.iter().all(|&s| s == 0.25));
        // Sound again: the live input takes over once more.
        live.feed().push(&block(0.5, 150));
        let out = c.next(100);
        assert_eq!(c.current(), 0);
        assert!(out.block.samples.iter().all(|&s| s == 0.5));
    }

    #[test]
    fn a_connected_input_that_sends_nothing_is_dead_air_too() {
        let live = LiveInput::new("/studio".into(), settings(300, 0));
        let mut c = chain(&live, 0);
        live.feed().connect("Live".into());
        live.feed().push(&block(0.5, 100));
        assert!(c.next(100).block.samples.iter().all(|&s| s == 0.5));
        assert_eq!(c.current(), 0);
        // Nothing more comes: padded with silence, 300 frames of it are dead air.
        let out = c.next(300);
        assert!(out.block.samples.iter().all(|&s| s == 0.0));
        assert_eq!(live.feed().underrun_frames, 300);
        let out = c.next(100);
        assert_eq!(c.current(), 1, "falls through to the auto-DJ");
        assert!(out.block.samples.iter().all(|&s| s == 0.25));
        // The writer sends sound again: back on the air after the prebuffer.
        live.feed().push(&block(0.5, 150));
        c.next(50);
        assert_eq!(c.current(), 0);
    }

    #[test]
    fn titles_set_on_the_live_mount_follow_the_audio() {
        let live = LiveInput::new("/studio".into(), settings(0, 0));
        let mut c = chain(&live, 0);
        live.feed().connect("Live".into());
        live.feed().push(&block(0.5, 100));
        let out = c.next(150);
        let got: Vec<(u64, &str)> = out
            .marks
            .iter()
            .map(|m| (m.frame, m.song.as_str()))
            .collect();
        assert_eq!(got, [(0, "Live")]);
        live.feed().set_title("Show".into(), None, None);
        live.feed().push(&block(0.5, 100));
        let out = c.next(100);
        let got: Vec<(u64, &str)> = out
            .marks
            .iter()
            .map(|m| (m.frame, m.song.as_str()))
            .collect();
        assert_eq!(got, [(150, "Show")]);
    }

    #[test]
    fn a_live_only_chain_waits_for_its_first_source_then_falls_back_to_silence() {
        let live = LiveInput::new("/studio".into(), settings(0, 0));
        let mut c = Chain::new(
            F,
            vec![
                Box::new(live.clone()),
                Box::new(Silence::new(F, Some("Station".into()))),
            ],
            0,
        );
        assert!(!c.any_available());
        live.feed().connect("Live".into());
        live.feed().push(&block(0.5, 100));
        assert!(c.any_available());
        assert!(c.next(100).block.samples.iter().all(|&s| s == 0.5));
        live.feed().disconnect();
        let out = c.next(100);
        assert!(out.block.samples.iter().all(|&s| s == 0.0));
        assert_eq!(out.marks[0].song, "Station");
        assert!(c.any_available(), "stays on the air");
    }
}
