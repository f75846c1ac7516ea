//! `GET /api/v1/events`: the engine's event bus as Server-Sent Events.
//!
//! On connect: `retry: 3000`, then a snapshot (a `now_playing` for every mount with a title and
//! a `listeners` for every mount), then every event as it happens (`event:` its name, `data:` its
//! JSON, `id:` a per-connection sequence number), and a comment every 15 s so proxies keep the
//! connection open. A client that falls behind the bus gets a fresh snapshot instead of the
//! events it missed. `?mount=/x` narrows everything to one mount. Hidden mounts never appear.
//!
//! The engine does not count listeners into events itself: [`spawn_listener_count_ticker`]
//! compares the counts every second and emits [`Event::Listeners`] for the changes.

use super::request::RequestContext;
use super::view::MountView;
use crate::{AppState, Shutdown};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use floe_engine::{Engine, Event};
use floe_proto::sse;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

/// How long a client waits before reconnecting.
pub const RETRY_MS: u64 = 3000;
/// Time between keep-alive comments.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// Time between listener-count comparisons.
pub const LISTENER_TICK: Duration = Duration::from_secs(1);

/// `GET /api/v1/events`.
pub async fn stream(State(state): State<AppState>, ctx: RequestContext) -> Response {
    // Subscribe before the snapshot is taken, so nothing between the two is lost.
    let rx = state.engine.subscribe();
    let feed = Feed {
        engine: state.engine.clone(),
        filter: ctx.param("mount"),
        rx,
        shutdown: state.shutdown.clone(),
        seq: 0,
        keepalive: keepalive_timer(),
        started: false,
    };
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        let chunk = feed.next().await?;
        Some((Ok::<Bytes, Infallible>(Bytes::from(chunk)), feed))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn keepalive_timer() -> tokio::time::Interval {
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// One client's position in the event stream.
struct Feed {
    engine: Arc<Engine>,
    filter: Option<String>,
    rx: Receiver<Event>,
    shutdown: Shutdown,
    seq: u64,
    keepalive: tokio::time::Interval,
    started: bool,
}

impl Feed {
    /// The next piece of the body; `None` ends it (bus closed or server shutting down).
    async fn next(&mut self) -> Option<String> {
        if !self.started {
            self.started = true;
            let mut out = sse::retry(RETRY_MS);
            out.push_str(&self.snapshot());
            return Some(out);
        }
        loop {
            tokio::select! {
                received = self.rx.recv() => match received {
                    Ok(event) => {
                        if let Some(frame) = self.frame(&event) {
                            return Some(frame);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "event client lagged; sending a fresh snapshot");
                        return Some(self.snapshot());
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.keepalive.tick() => return Some(sse::comment("keep-alive")),
                _ = self.shutdown.wait() => return None,
            }
        }
    }

    /// Every mount's title and listener count, as events.
    fn snapshot(&mut self) -> String {
        let mut out = String::new();
        for v in MountView::listed(&self.engine, false) {
            if self.filter.as_deref().is_some_and(|f| f != v.path()) {
                continue;
            }
            if let Some(song) = v.song() {
                let event = Event::NowPlaying {
                    mount: v.path().to_string(),
                    title: song.to_string(),
                };
                out.push_str(&self.encode(&event));
            }
            let event = Event::Listeners {
                mount: v.path().to_string(),
                count: v.snap.listeners,
            };
            out.push_str(&self.encode(&event));
        }
        out
    }

    /// The event as a frame, or `None` when this client does not see it.
    fn frame(&mut self, event: &Event) -> Option<String> {
        let mount = event_mount(event);
        if self.filter.as_deref().is_some_and(|f| f != mount) || self.is_hidden(mount) {
            return None;
        }
        Some(self.encode(event))
    }

    fn is_hidden(&self, path: &str) -> bool {
        match self.engine.mount(path) {
            Some(m) => m.policy.hidden,
            None => self.engine.policy(path).hidden,
        }
    }

    fn encode(&mut self, event: &Event) -> String {
        let data = match serde_json::to_string(event) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize an event");
                return String::new();
            }
        };
        self.seq += 1;
        sse::event(Some(&self.seq.to_string()), Some(event.name()), &data)
    }
}

/// The mount an event is about.
fn event_mount(event: &Event) -> &str {
    match event {
        Event::NowPlaying { mount, .. }
        | Event::SourceUp { mount }
        | Event::SourceDown { mount }
        | Event::Listeners { mount, .. } => mount,
    }
}

/// Starts a task that every second compares each mount's listener count with the previous
/// second's and emits [`Event::Listeners`] for each change (a vanished mount counts as 0). The
/// task holds the engine weakly and ends when the engine is dropped.
pub fn spawn_listener_count_ticker(engine: Arc<Engine>) -> tokio::task::JoinHandle<()> {
    let engine = Arc::downgrade(&engine);
    tokio::spawn(async move {
        let mut counts = BTreeMap::new();
        let mut tick = tokio::time::interval(LISTENER_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(engine) = engine.upgrade() else {
                break;
            };
            let now = engine
                .mounts()
                .iter()
                .map(|m| (m.path.clone(), m.counters.listeners.load(Ordering::Relaxed)))
                .collect::<Vec<_>>();
            for event in listener_changes(&mut counts, now) {
                engine.emit(event);
            }
        }
    })
}

/// The `Listeners` events that take `previous` to `now`; updates `previous`.
pub fn listener_changes(
    previous: &mut BTreeMap<String, usize>,
    now: impl IntoIterator<Item = (String, usize)>,
) -> Vec<Event> {
    let now: BTreeMap<String, usize> = now.into_iter().collect();
    let mut events = Vec::new();
    for (mount, count) in &now {
        if previous.get(mount).copied().unwrap_or(0) != *count {
            events.push(Event::Listeners {
                mount: mount.clone(),
                count: *count,
            });
        }
    }
    for (mount, count) in previous.iter() {
        if *count > 0 && !now.contains_key(mount) {
            events.push(Event::Listeners {
                mount: mount.clone(),
                count: 0,
            });
        }
    }
    *previous = now;
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_become_events() {
        let mut prev = BTreeMap::new();
        let ev = listener_changes(&mut prev, [("/a".to_string(), 0), ("/b".to_string(), 2)]);
        assert_eq!(
            ev,
            vec![Event::Listeners {
                mount: "/b".into(),
                count: 2
            }]
        );
        assert!(
            listener_changes(&mut prev, [("/a".to_string(), 0), ("/b".to_string(), 2)]).is_empty()
        );
        let ev = listener_changes(&mut prev, [("/a".to_string(), 1)]);
        assert_eq!(
            ev,
            vec![
                Event::Listeners {
                    mount: "/a".into(),
                    count: 1
                },
                Event::Listeners {
                    mount: "/b".into(),
                    count: 0
                }
            ]
        );
    }
}
