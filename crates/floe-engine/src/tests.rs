//! Engine behaviour without sockets: joins, ICY interleaving, lag, fallbacks, moves.

use crate::listener::EndReason;
use crate::{
    Engine, EngineSettings, Fill, ListenerInfo, ListenerSession, MountSettings, SourceInfo,
};
use bytes::Bytes;
use floe_proto::frame::{Unit, UnitKind};
use std::collections::VecDeque;
use std::sync::Arc;

fn unit(fill: u8, len: usize, kind: UnitKind) -> Unit {
    Unit {
        data: Bytes::from(vec![fill; len]),
        kind,
        duration_us: 26_000,
    }
}

fn sync(fill: u8, len: usize) -> Unit {
    unit(fill, len, UnitKind::Sync)
}

fn info(ct: &str) -> SourceInfo {
    SourceInfo {
        content_type: ct.into(),
        ip: "127.0.0.1".into(),
        ..Default::default()
    }
}

fn listener(engine: &Arc<Engine>, path: &str, icy: bool) -> ListenerSession {
    engine
        .add_listener(
            path,
            ListenerInfo {
                ip: "127.0.0.1".into(),
                user_agent: None,
                icy,
            },
        )
        .expect("listener")
}

fn drain(l: &mut ListenerSession) -> (Vec<u8>, Fill) {
    let mut out = VecDeque::new();
    let fill = l.fill(0, &mut out, usize::MAX / 2);
    (out.iter().flat_map(|b| b.iter().copied()).collect(), fill)
}

fn settings(defaults: MountSettings) -> EngineSettings {
    EngineSettings {
        defaults,
        ..Default::default()
    }
}

#[test]
fn a_listener_joins_at_a_frame_with_the_burst_and_then_follows_the_head() {
    let engine = Engine::new(settings(MountSettings {
        burst_bytes: Some(250),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    // One push per read: each read's frames become one chunk.
    for i in 1..=5 {
        src.push_units([sync(i, 100)]);
    }
    let mut l = listener(&engine, "/a", false);
    let (bytes, fill) = drain(&mut l);
    assert_eq!(fill, Fill::Data(300));
    assert_eq!(
        bytes[0], 3,
        "joined at the frame 300 bytes back (burst 250 rounded to a frame)"
    );
    assert_eq!(drain(&mut l).1, Fill::Idle);
    src.push_units([sync(6, 100)]);
    let (bytes, _) = drain(&mut l);
    assert_eq!(bytes, vec![6; 100]);
}

#[test]
fn frames_of_one_read_are_grouped_into_chunks_that_start_at_a_frame() {
    let engine = Engine::new(settings(MountSettings {
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    // 40 frames of 417 bytes: cut into chunks of at least 8 KiB, each starting at a frame.
    src.push_units((0..40).map(|i| sync(i, 417)));
    let mount = engine.mount("/a").unwrap();
    let st = mount.state();
    let sizes: Vec<usize> = st.ring.chunks.iter().map(|c| c.data.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 40 * 417);
    assert!(
        sizes.len() == 2 && sizes[0].is_multiple_of(417) && sizes[0] >= 8192,
        "{sizes:?}"
    );
    assert!(st.ring.chunks.iter().all(|c| c.sync));
}

#[test]
fn icy_blocks_are_interleaved_and_sent_only_on_change() {
    let engine = Engine::new(settings(MountSettings {
        metaint: Some(100),
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 50)]);
    engine
        .set_metadata("/a", Some("Artist - Title".into()), None, None, None)
        .unwrap();
    let mut l = listener(&engine, "/a", true);
    assert_eq!(l.metaint(), Some(100));
    let (_, _) = drain(&mut l); // joins at the only frame: 50 bytes
    src.push_units([sync(2, 150)]);
    let (bytes, _) = drain(&mut l);
    // 50 more audio bytes complete the first interval; then the block; then 100 audio; then 0.
    let block = floe_proto::icy::encode_block("Artist - Title", None);
    let mut want = vec![2; 50];
    want.extend_from_slice(&block);
    want.extend(vec![2; 100]);
    want.push(0);
    assert_eq!(bytes, want);
}

#[test]
fn a_title_applies_from_the_stream_position_of_the_update_for_everyone() {
    let engine = Engine::new(settings(MountSettings {
        metaint: Some(100),
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 100)]);
    let mut early = listener(&engine, "/a", true);
    drain(&mut early);
    src.push_units([sync(1, 150)]);
    engine
        .set_metadata("/a", Some("New".into()), None, None, None)
        .unwrap();
    src.push_units([sync(2, 100)]);
    let (bytes, _) = drain(&mut early);
    // Boundary at stream byte 200 is before the update (at 250): empty block there.
    assert_eq!(bytes[100], 0);
    // Boundary at 300 is after it: the new title.
    let block = floe_proto::icy::encode_block("New", None);
    assert_eq!(&bytes[201..201 + block.len()], &block[..]);
}

#[test]
fn a_new_listener_gets_the_current_title_in_its_first_block_despite_the_burst() {
    let engine = Engine::new(settings(MountSettings {
        metaint: Some(100),
        burst_bytes: Some(1000),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 1000)]);
    engine
        .set_metadata("/a", Some("Now".into()), None, None, None)
        .unwrap();
    src.push_units([sync(2, 100)]);
    let mut l = listener(&engine, "/a", true);
    let (bytes, _) = drain(&mut l);
    let block = floe_proto::icy::encode_block("Now", None);
    assert_eq!(&bytes[100..100 + block.len()], &block[..]);
    assert_eq!(bytes[100 + block.len() + 100], 0);
}

#[test]
fn a_listener_too_far_behind_is_dropped_and_counted() {
    let engine = Engine::new(settings(MountSettings {
        queue_size: Some(20_000),
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 1000)]);
    let mut slow = listener(&engine, "/a", false);
    let mut fast = listener(&engine, "/a", false);
    drain(&mut slow);
    drain(&mut fast);
    for _ in 0..30 {
        src.push_units([sync(2, 1000)]);
        drain(&mut fast);
    }
    let mut out = VecDeque::new();
    assert_eq!(slow.fill(0, &mut out, 1), Fill::End(EndReason::TooSlow));
    assert_eq!(drain(&mut fast).1, Fill::Idle);
    let snap = engine.mount("/a").unwrap().snapshot();
    assert_eq!(snap.slow_listeners, 1);
}

#[test]
fn listeners_move_to_the_fallback_and_back_without_ending() {
    let mut s = settings(MountSettings {
        burst_bytes: Some(0),
        ..Default::default()
    });
    s.mounts.insert(
        "/main".into(),
        MountSettings {
            fallback: Some("/backup".into()),
            ..Default::default()
        },
    );
    s.mounts.insert("/backup".into(), MountSettings::default());
    let engine = Engine::new(s);
    let mut backup = engine.open_source("/backup", info("audio/mpeg")).unwrap();
    backup.push_units([sync(0xBB, 10)]);
    let mut main = engine.open_source("/main", info("audio/mpeg")).unwrap();
    main.push_units([sync(0xAA, 10)]);
    let mut l = listener(&engine, "/main", false);
    assert_eq!(drain(&mut l).0, vec![0xAA; 10]);
    main.push_units([sync(0xAA, 5)]);
    drop(main);
    // What the source sent before leaving still arrives, then the fallback.
    assert_eq!(drain(&mut l).0, vec![0xAA; 5]);
    let (bytes, fill) = drain(&mut l);
    assert_eq!(fill, Fill::Data(10));
    assert_eq!(bytes, vec![0xBB; 10]);
    assert_eq!(engine.mount("/backup").unwrap().snapshot().listeners, 1);
    // The main source returns: back on the next fill, at its first frame.
    let mut main = engine.open_source("/main", info("audio/mpeg")).unwrap();
    main.push_units([sync(0xAC, 10)]);
    assert_eq!(drain(&mut l).0, vec![0xAC; 10]);
    assert_eq!(engine.mount("/main").unwrap().snapshot().listeners, 1);
    assert_eq!(engine.mount("/backup").unwrap().snapshot().listeners, 0);
}

#[test]
fn a_listener_of_a_mount_without_source_is_served_by_its_fallback() {
    let mut s = EngineSettings::default();
    s.mounts.insert(
        "/main".into(),
        MountSettings {
            fallback: Some("/backup".into()),
            ..Default::default()
        },
    );
    let engine = Engine::new(s);
    assert!(engine
        .add_listener("/main", ListenerInfo::default())
        .is_err());
    let mut backup = engine.open_source("/backup", info("audio/mpeg")).unwrap();
    backup.push_units([sync(0xBB, 10)]);
    let mut l = listener(&engine, "/main", false);
    assert_eq!(drain(&mut l).0, vec![0xBB; 10]);
}

#[test]
fn without_fallback_the_listener_ends_after_draining() {
    let engine = Engine::new(EngineSettings::default());
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 10)]);
    let mut l = listener(&engine, "/a", false);
    drain(&mut l);
    src.push_units([sync(2, 10)]);
    drop(src);
    assert_eq!(drain(&mut l).0, vec![2; 10]);
    assert_eq!(drain(&mut l).1, Fill::End(EndReason::SourceGone));
    drop(l);
    // An automatic mount with neither source nor listeners is forgotten.
    assert!(engine.mount("/a").is_none());
}

#[test]
fn ogg_header_pages_are_replayed_to_new_listeners() {
    let engine = Engine::new(settings(MountSettings {
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut src = engine.open_source("/a.ogg", info("audio/ogg")).unwrap();
    src.push_units([
        unit(0x01, 20, UnitKind::Header { first: true }),
        unit(0x02, 30, UnitKind::Header { first: false }),
        sync(0x10, 100),
    ]);
    src.push_units([sync(0x11, 100)]);
    let mut l = listener(&engine, "/a.ogg", false);
    let (bytes, _) = drain(&mut l);
    let mut want = vec![0x01; 20];
    want.extend(vec![0x02; 30]);
    want.extend(vec![0x11; 100]);
    assert_eq!(bytes, want);
    // A new chain: new headers; a listener joining later gets only those.
    src.push_units([
        unit(0x03, 20, UnitKind::Header { first: true }),
        sync(0x12, 100),
    ]);
    let mut late = listener(&engine, "/a.ogg", false);
    let (bytes, _) = drain(&mut late);
    let mut want = vec![0x03; 20];
    want.extend(vec![0x12; 100]);
    assert_eq!(bytes, want);
}

#[test]
fn limits_and_errors() {
    let mut s = settings(MountSettings {
        max_listeners: Some(1),
        ..Default::default()
    });
    s.max_sources = 1;
    let engine = Engine::new(s);
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    assert_eq!(
        engine.open_source("/a", info("audio/mpeg")).unwrap_err(),
        crate::SourceError::MountInUse
    );
    assert_eq!(
        engine.open_source("/b", info("audio/mpeg")).unwrap_err(),
        crate::SourceError::TooManySources
    );
    assert_eq!(
        engine.open_source("/../x", info("audio/mpeg")).unwrap_err(),
        crate::SourceError::BadMountName
    );
    src.push_units([sync(1, 10)]);
    let _one = listener(&engine, "/a", false);
    assert_eq!(
        engine
            .add_listener("/a", ListenerInfo::default())
            .unwrap_err(),
        crate::ListenError::MountFull
    );
    assert_eq!(engine.listener_count(), 1);
}

#[test]
fn kill_and_move() {
    let engine = Engine::new(EngineSettings::default());
    let mut a = engine.open_source("/a", info("audio/mpeg")).unwrap();
    a.push_units([sync(1, 10)]);
    let mut b = engine.open_source("/b", info("audio/mpeg")).unwrap();
    b.push_units([sync(2, 10)]);
    let mut l = listener(&engine, "/a", false);
    drain(&mut l);
    assert_eq!(engine.move_listeners("/a", "/b").unwrap(), 1);
    assert_eq!(drain(&mut l).0[0], 2);
    let id = l.handle().id;
    assert!(engine.kill_listener("/b", id));
    assert_eq!(drain(&mut l).1, Fill::End(EndReason::Killed));
}

#[test]
fn moving_to_a_mount_without_a_title_clears_the_old_one() {
    let engine = Engine::new(settings(MountSettings {
        metaint: Some(10),
        burst_bytes: Some(0),
        ..Default::default()
    }));
    let mut a = engine.open_source("/a", info("audio/mpeg")).unwrap();
    a.push_units([sync(1, 10)]);
    engine
        .set_metadata("/a", Some("Old".into()), None, None, None)
        .unwrap();
    let mut b = engine.open_source("/b", info("audio/mpeg")).unwrap();
    b.push_units([sync(2, 10)]);
    let mut l = listener(&engine, "/a", true);
    drain(&mut l);
    engine.move_listeners("/a", "/b").unwrap();
    b.push_units([sync(2, 10)]);
    let (bytes, _) = drain(&mut l);
    let cleared = floe_proto::icy::encode_block("", None);
    assert!(
        bytes.windows(cleared.len()).any(|w| w == &cleared[..]),
        "no empty title block after the move: {bytes:?}"
    );
}

#[test]
fn internal_listeners_are_outside_limits_lists_and_counts() {
    let mut s = settings(MountSettings {
        max_listeners: Some(1),
        ..Default::default()
    });
    s.max_listeners = 1;
    let engine = Engine::new(s);
    let mut src = engine.open_source("/a", info("audio/mpeg")).unwrap();
    src.push_units([sync(1, 100)]);
    let reader = engine
        .add_internal_listener(
            "/a",
            ListenerInfo {
                ip: "127.0.0.1".into(),
                user_agent: Some("Floe segmenter".into()),
                icy: false,
            },
        )
        .expect("internal");
    let mount = engine.mount("/a").expect("mount");
    mount
        .counters
        .internal_listeners
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    assert!(mount.listeners().is_empty());
    assert_eq!(engine.listener_count(), 0);
    // The one client slot of the mount and of the engine is still free.
    let client = listener(&engine, "/a", false);
    assert_eq!(mount.listeners().len(), 1);
    assert_eq!(engine.listener_count(), 1);
    assert_eq!(mount.snapshot().listeners, 1);
    drop(reader);
    mount
        .counters
        .internal_listeners
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(engine.listener_count(), 1);
    drop(client);
    assert_eq!(engine.listener_count(), 0);
}
