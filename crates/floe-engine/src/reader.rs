//! A mount read inside Floe as a blocking [`std::io::Read`]: what a decoder on a thread of its
//! own (a station's live transcoder, the PCM tap) consumes.

use crate::listener::{Fill, ListenerSession};
use crate::mount::InternalReader;
use bytes::Bytes;
use std::collections::VecDeque;
use std::io::Read;

/// Most bytes taken from the mount per fill.
const READ_BUDGET: usize = 256 * 1024;

/// A listener session of a mount as a blocking reader. It counts as one of Floe's own readers
/// (an [`InternalReader`]), so status pages neither list nor count it.
///
/// `read` returns what the session has; when it has nothing new it calls `idle`, which waits
/// (e.g. a poll interval) and returns `true` to end the stream. The stream also ends when the
/// session's does.
pub struct MountReader<F: FnMut() -> bool> {
    session: ListenerSession,
    queue: VecDeque<Bytes>,
    idle: F,
    _internal: InternalReader,
}

impl<F: FnMut() -> bool> MountReader<F> {
    /// Reads `session` (from an internal listener: [`crate::Engine::add_internal_listener`]),
    /// calling `idle` whenever it waits for the source.
    pub fn new(session: ListenerSession, idle: F) -> MountReader<F> {
        MountReader {
            _internal: InternalReader::new(session.mount().clone()),
            session,
            queue: VecDeque::new(),
            idle,
        }
    }
}

impl<F: FnMut() -> bool> Read for MountReader<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(front) = self.queue.front_mut() {
                let n = front.len().min(buf.len());
                buf[..n].copy_from_slice(&front[..n]);
                if n == front.len() {
                    self.queue.pop_front();
                } else {
                    *front = front.slice(n..);
                }
                self.session.sent(n);
                return Ok(n);
            }
            match self.session.fill(0, &mut self.queue, READ_BUDGET) {
                Fill::Data(_) => {}
                Fill::Idle => {
                    if (self.idle)() {
                        return Ok(0);
                    }
                }
                Fill::End(_) => return Ok(0),
            }
        }
    }
}
