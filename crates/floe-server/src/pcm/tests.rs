//! The tap's window, consumer cursors and sessions, driven without a decoder or a clock.

use super::*;
use std::time::Instant;

const FORMAT: PcmFormat = PcmFormat {
    rate: 1000,
    channels: 1,
};

fn settings() -> PcmSettings {
    PcmSettings {
        window: Duration::from_millis(1000),
        burst: Duration::from_millis(300),
        max_lag: Duration::from_millis(500),
        ..PcmSettings::default()
    }
}

/// A tap with no thread: the test publishes its chunks.
fn detached_tap(settings: PcmSettings) -> Arc<Tap> {
    let (changed, _) = watch::channel(0);
    Arc::new(Tap {
        shared: Arc::new(TapShared {
            mount: "/t.mp3".into(),
            settings,
            stop: AtomicBool::new(false),
            opus_wanted: AtomicBool::new(false),
            state: Mutex::new(TapState::default()),
            changed,
        }),
    })
}

/// Publishes `n` chunks of 100 ms (100 frames at 1 kHz) after those already there.
fn publish(tap: &Tap, n: u64) {
    let (first_seq, first_ms) = {
        let state = tap.shared.lock();
        state
            .pcm
            .chunks
            .back()
            .map_or((1, 0), |c| (c.stamp.seq + 1, c.end_ms(FORMAT.rate)))
    };
    let chunks = (0..n)
        .map(|i| PcmChunk {
            stamp: ChunkStamp {
                seq: first_seq + i,
                ts_ms: first_ms + 100 * i,
                server_time_ms: 0,
            },
            frames: 100,
            samples: Bytes::from(vec![0u8; 200]),
            title: Some(Arc::from(format!("t{}", first_seq + i).as_str())),
        })
        .collect();
    tap.shared.publish(FORMAT, chunks, Vec::new());
}

fn seqs(batch: &[Arc<PcmChunk>]) -> Vec<u64> {
    batch.iter().map(|c| c.stamp.seq).collect()
}

#[test]
fn the_window_keeps_its_length() {
    let tap = detached_tap(settings());
    publish(&tap, 25);
    let state = tap.shared.lock();
    // 2.5 s published, 1 s kept: the chunks starting at 1.5 s .. 2.4 s.
    assert_eq!(state.pcm.chunks.len(), 10);
    assert_eq!(state.pcm.chunks.front().map(|c| c.stamp.ts_ms), Some(1500));
}

#[test]
fn a_new_consumer_gets_the_burst_then_only_new_chunks() {
    let tap = detached_tap(settings());
    publish(&tap, 10);
    let mut c = PcmConsumer::new(
        tap.clone(),
        Start::Burst(Duration::from_millis(300)),
        Codec::Pcm,
    );
    // 300 ms before the head at 1000 ms: chunks starting at 700, 800, 900.
    assert_eq!(seqs(&c.take().unwrap()), vec![8, 9, 10]);
    assert!(c.take().unwrap().is_empty());
    publish(&tap, 2);
    assert_eq!(seqs(&c.take().unwrap()), vec![11, 12]);
}

#[test]
fn a_burst_beyond_the_window_is_capped() {
    let tap = detached_tap(settings());
    publish(&tap, 30);
    let mut c = PcmConsumer::new(tap, Start::Burst(Duration::from_secs(60)), Codec::Pcm);
    assert_eq!(c.take().unwrap().len(), 10);
}

#[test]
fn resume_after_a_sequence_number_in_the_window() {
    let tap = detached_tap(settings());
    publish(&tap, 10);
    let mut c = PcmConsumer::new(tap.clone(), Start::After(4), Codec::Pcm);
    assert_eq!(seqs(&c.take().unwrap()), (5..=10).collect::<Vec<_>>());
    // An id from outside the window (an old tap, or too old) falls back to the burst.
    let mut old = PcmConsumer::new(tap, Start::After(4_000_000_000), Codec::Pcm);
    assert_eq!(seqs(&old.take().unwrap()), vec![8, 9, 10]);
}

#[test]
fn a_consumer_that_does_not_keep_up_is_dropped_and_others_go_on() {
    let tap = detached_tap(settings());
    publish(&tap, 5);
    let mut slow = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), Codec::Pcm);
    let mut fast = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), Codec::Pcm);
    assert_eq!(seqs(&slow.take().unwrap()), vec![5]);
    assert_eq!(seqs(&fast.take().unwrap()), vec![5]);
    for _ in 0..4 {
        publish(&tap, 2);
        assert_eq!(fast.take().unwrap().len(), 2);
    }
    // The slow one is 600 ms behind the newest publication (max_lag 500 ms).
    assert_eq!(slow.take().unwrap_err(), PcmError::TooSlow(500));
    // A batch published at once (a burst after a source returns) makes no consumer late.
    publish(&tap, 8);
    assert_eq!(fast.take().unwrap().len(), 8);
}

#[test]
fn a_consumer_that_falls_out_of_the_window_is_dropped() {
    let tap = detached_tap(PcmSettings {
        max_lag: Duration::from_secs(60),
        ..settings()
    });
    publish(&tap, 1);
    let mut c = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), Codec::Pcm);
    assert_eq!(c.take().unwrap().len(), 1);
    publish(&tap, 30);
    assert!(matches!(c.take(), Err(PcmError::TooSlow(_))));
}

#[test]
fn nothing_is_due_before_the_first_chunk() {
    let tap = detached_tap(settings());
    let mut c = PcmConsumer::new(
        tap.clone(),
        Start::Burst(Duration::from_secs(2)),
        Codec::Pcm,
    );
    assert!(c.take().unwrap().is_empty());
    publish(&tap, 1);
    assert_eq!(seqs(&c.take().unwrap()), vec![1]);
}

#[tokio::test]
async fn ready_reports_the_format_or_the_reason_for_no_audio() {
    let tap = detached_tap(PcmSettings {
        start_timeout: Duration::from_millis(50),
        ..settings()
    });
    let mut c = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), Codec::Pcm);
    tap.shared.fail("cannot decode text/plain".into());
    let err = c.ready().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "no audio from /t.mp3 within 0 s (cannot decode text/plain)"
    );
    publish(&tap, 1);
    assert_eq!(c.ready().await, Ok(FORMAT));
    let batch = c.next().await.unwrap();
    assert_eq!(seqs(&batch), vec![1]);
}

#[test]
fn sessions_expire_only_when_idle_and_respect_the_limit() {
    let sessions = Sessions::new(2, Duration::from_secs(30));
    let tap = detached_tap(settings());
    let t0 = Instant::now();
    sessions
        .create("a".into(), tap.clone(), Codec::Pcm, t0)
        .unwrap();
    sessions
        .create("b".into(), tap.clone(), Codec::Pcm, t0)
        .unwrap();
    assert_eq!(
        sessions
            .create("c".into(), tap.clone(), Codec::Pcm, t0)
            .unwrap_err(),
        PcmError::TooManySessions(2)
    );
    // "a" has a stream connected for a minute: it stays; "b" expires.
    sessions.attach("a", t0).unwrap();
    assert_eq!(sessions.sweep(t0 + Duration::from_secs(29)), 0);
    assert_eq!(sessions.sweep(t0 + Duration::from_secs(61)), 1);
    assert_eq!(
        sessions.attach("b", t0).unwrap_err(),
        PcmError::NoSession("b".into())
    );
    // "a" goes idle when its stream leaves, and expires 30 s later.
    sessions.stream_ended("a", t0 + Duration::from_secs(61));
    assert_eq!(sessions.sweep(t0 + Duration::from_secs(90)), 0);
    assert_eq!(sessions.sweep(t0 + Duration::from_secs(92)), 1);
    assert!(sessions.is_empty());
    sessions.create("d".into(), tap, Codec::Pcm, t0).unwrap();
    assert!(sessions.remove("d"));
    assert!(!sessions.remove("d"));
}

#[test]
fn the_tap_stops_when_its_last_holder_goes() {
    // Outside a runtime (and with no linger) the last holder stops it at once.
    let tap = detached_tap(settings());
    let shared = tap.shared.clone();
    let c = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), Codec::Pcm);
    drop(tap);
    assert!(!shared.stop.load(Ordering::Acquire));
    drop(c);
    assert!(shared.stop.load(Ordering::Acquire));
}

#[tokio::test(start_paused = true)]
async fn a_tap_lingers_after_its_last_consumer_so_a_reconnect_resumes() {
    let tap = detached_tap(PcmSettings {
        linger: Duration::from_secs(10),
        ..settings()
    });
    let shared = tap.shared.clone();
    let c = PcmConsumer::new(tap, Start::Burst(Duration::ZERO), Codec::Pcm);
    drop(c);
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(!shared.stop.load(Ordering::Acquire));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(shared.stop.load(Ordering::Acquire));
}
