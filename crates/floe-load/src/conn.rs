//! One listener: connect, send the request, parse the head, then count bytes.
//!
//! Memory per listener is kept to the task's own state (a few hundred bytes) and one `Slot` of
//! atomics; reads go into one scratch buffer per thread. Once audio flows, SO_RCVLOWAT makes the
//! kernel wake the task only when a useful amount has arrived.

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;

use crate::http::{parse_head, Head};
use crate::icy::IcyDemux;
use crate::sys;

const SCRATCH_SIZE: usize = 128 * 1024;
const MAX_HEAD: usize = 16 * 1024;
pub const NONE: u64 = u64::MAX;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_SIZE]);
}

static START: OnceLock<Instant> = OnceLock::new();

/// Marks time zero for every timestamp of the run.
pub fn start_clock() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Microseconds since time zero.
pub fn now_us() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Phase of the run; audio received while it is `HOLD` counts towards the keep-up figure.
pub static PHASE: AtomicU8 = AtomicU8::new(RAMP);
pub const RAMP: u8 = 0;
pub const HOLD: u8 = 1;
pub const DONE: u8 = 2;

pub const ST_IDLE: u8 = 0;
pub const ST_CONNECTING: u8 = 1;
pub const ST_AWAIT_HEAD: u8 = 2;
pub const ST_STREAMING: u8 = 3;
pub const ST_CLOSED: u8 = 4;

/// Why a listener ended (or never started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    None = 0,
    /// The server closed the connection (EOF).
    Eof = 1,
    /// Connection reset by the server.
    Reset = 2,
    /// Connection refused.
    Refused = 3,
    /// No TCP connection within the connect timeout (SYNs unanswered).
    ConnectTimeout = 4,
    /// The response status was not 200.
    HttpStatus = 5,
    /// The response was not HTTP, or its head too long, or chunked.
    BadResponse = 6,
    /// This process ran out of file descriptors.
    FdLimit = 7,
    /// No local port or address left.
    NoPort = 8,
    /// Any other I/O error.
    Other = 9,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::Eof,
        Reason::Reset,
        Reason::Refused,
        Reason::ConnectTimeout,
        Reason::HttpStatus,
        Reason::BadResponse,
        Reason::FdLimit,
        Reason::NoPort,
        Reason::Other,
    ];

    pub fn from_u8(v: u8) -> Reason {
        Reason::ALL
            .into_iter()
            .find(|r| *r as u8 == v)
            .unwrap_or(Reason::None)
    }

    pub fn name(self) -> &'static str {
        match self {
            Reason::None => "none",
            Reason::Eof => "eof",
            Reason::Reset => "reset",
            Reason::Refused => "refused",
            Reason::ConnectTimeout => "connect_timeout",
            Reason::HttpStatus => "http_status",
            Reason::BadResponse => "bad_response",
            Reason::FdLimit => "fd_limit",
            Reason::NoPort => "no_local_port",
            Reason::Other => "other_io",
        }
    }

    fn of(e: &io::Error) -> Reason {
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Reason::Reset,
            io::ErrorKind::ConnectionRefused => Reason::Refused,
            io::ErrorKind::TimedOut => Reason::ConnectTimeout,
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse => Reason::NoPort,
            _ => match e.raw_os_error() {
                Some(libc::EMFILE) | Some(libc::ENFILE) => Reason::FdLimit,
                _ => Reason::Other,
            },
        }
    }
}

/// What is known about one listener, readable by the main task at any time.
pub struct Slot {
    pub state: AtomicU8,
    pub reason: AtomicU8,
    pub status: AtomicU16,
    /// Times in µs since time zero (`NONE` when not reached).
    pub start_us: AtomicU64,
    pub connected_us: AtomicU64,
    pub first_byte_us: AtomicU64,
    pub end_us: AtomicU64,
    pub last_read_us: AtomicU64,
    /// Audio bytes (ICY metadata excluded) since the start, and during the hold window.
    pub audio_bytes: AtomicU64,
    pub window_bytes: AtomicU64,
    pub metaint: AtomicU32,
    pub icy_br: AtomicU32,
    pub meta_blocks: AtomicU32,
    pub meta_changes: AtomicU32,
    pub meta_bad: AtomicU32,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            state: AtomicU8::new(ST_IDLE),
            reason: AtomicU8::new(Reason::None as u8),
            status: AtomicU16::new(0),
            start_us: AtomicU64::new(NONE),
            connected_us: AtomicU64::new(NONE),
            first_byte_us: AtomicU64::new(NONE),
            end_us: AtomicU64::new(NONE),
            last_read_us: AtomicU64::new(NONE),
            audio_bytes: AtomicU64::new(0),
            window_bytes: AtomicU64::new(0),
            metaint: AtomicU32::new(0),
            icy_br: AtomicU32::new(0),
            meta_blocks: AtomicU32::new(0),
            meta_changes: AtomicU32::new(0),
            meta_bad: AtomicU32::new(0),
        }
    }
}

/// What every listener shares (leaked: lives for the whole process).
pub struct Ctx {
    pub addr: SocketAddr,
    pub request: Vec<u8>,
    pub icy: bool,
    pub connect_timeout: Duration,
    /// SO_RCVLOWAT once audio flows (0: leave the kernel default of 1 byte).
    pub rcvlowat: i32,
    pub slots: Vec<Slot>,
}

fn close(slot: &Slot, reason: Reason) {
    slot.end_us.store(now_us(), Relaxed);
    slot.reason.store(reason as u8, Relaxed);
    slot.state.store(ST_CLOSED, Relaxed);
}

/// Runs listener `idx` until the server closes it or the runtime is dropped.
pub async fn listener(ctx: &'static Ctx, idx: usize) {
    let slot = &ctx.slots[idx];
    let t0 = now_us();
    slot.start_us.store(t0, Relaxed);
    slot.state.store(ST_CONNECTING, Relaxed);
    let stream = match tokio::time::timeout(ctx.connect_timeout, TcpStream::connect(ctx.addr)).await
    {
        Err(_) => return close(slot, Reason::ConnectTimeout),
        Ok(Err(e)) => return close(slot, Reason::of(&e)),
        Ok(Ok(s)) => s,
    };
    slot.connected_us.store(now_us(), Relaxed);
    slot.state.store(ST_AWAIT_HEAD, Relaxed);
    if let Err(e) = write_all(&stream, &ctx.request).await {
        return close(slot, Reason::of(&e));
    }
    // Readiness is tracked by hand from here on (see `read_loop`).
    let std_stream = match stream.into_std() {
        Ok(s) => s,
        Err(e) => return close(slot, Reason::of(&e)),
    };
    let afd = match sys::register_readable(std_stream) {
        Ok(a) => a,
        Err(e) => return close(slot, Reason::of(&e)),
    };
    let reason = read_loop(ctx, slot, &afd).await;
    close(slot, reason);
}

async fn write_all(stream: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Per-listener parsing state.
struct Reader {
    head: Vec<u8>,
    got_head: bool,
    got_body: bool,
    demux: Option<IcyDemux>,
    audio: u64,
    window: u64,
}

enum Step {
    Continue,
    Stop(Reason),
}

async fn read_loop(ctx: &'static Ctx, slot: &Slot, afd: &AsyncFd<std::net::TcpStream>) -> Reason {
    let mut r = Reader {
        head: Vec::new(),
        got_head: false,
        got_body: false,
        demux: None,
        audio: 0,
        window: 0,
    };
    loop {
        let mut guard = match afd.readable().await {
            Ok(g) => g,
            Err(e) => return Reason::of(&e),
        };
        // Read until a short read: the socket is then drained, and clearing the readiness
        // through the guard is race-free (an event that came meanwhile keeps it set). This
        // saves the extra read that would only return EAGAIN.
        loop {
            let res = SCRATCH.with(|cell| {
                let mut buf = cell.borrow_mut();
                match afd.get_ref().read(&mut buf[..]) {
                    Ok(0) => Ok((0, Step::Stop(Reason::Eof))),
                    Ok(n) => {
                        let full = n == buf.len();
                        Ok((
                            usize::from(full),
                            on_data(ctx, slot, afd, &mut r, &buf[..n]),
                        ))
                    }
                    Err(e) => Err(e),
                }
            });
            match res {
                Ok((_, Step::Stop(reason))) => return reason,
                Ok((1, Step::Continue)) => continue,
                Ok((_, Step::Continue)) => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Reason::of(&e),
            }
        }
    }
}

fn on_data(
    ctx: &Ctx,
    slot: &Slot,
    afd: &AsyncFd<std::net::TcpStream>,
    r: &mut Reader,
    data: &[u8],
) -> Step {
    let now = now_us();
    slot.last_read_us.store(now, Relaxed);
    if r.got_head {
        count_body(ctx, slot, afd, r, data, now);
        return Step::Continue;
    }
    let parsed = if r.head.is_empty() {
        parse_head(data)
    } else {
        r.head.extend_from_slice(data);
        parse_head(&r.head)
    };
    match parsed {
        Head::Incomplete => {
            if r.head.is_empty() {
                r.head.extend_from_slice(data);
            }
            if r.head.len() > MAX_HEAD {
                return Step::Stop(Reason::BadResponse);
            }
            Step::Continue
        }
        Head::Invalid(_) => Step::Stop(Reason::BadResponse),
        Head::Complete { len, response } => {
            slot.status.store(response.status, Relaxed);
            if response.status != 200 {
                return Step::Stop(Reason::HttpStatus);
            }
            if response.chunked {
                return Step::Stop(Reason::BadResponse);
            }
            if let Some(m) = response.metaint {
                slot.metaint.store(m, Relaxed);
                if ctx.icy {
                    r.demux = Some(IcyDemux::new(m));
                }
            }
            if let Some(br) = response.bitrate_kbps {
                slot.icy_br.store(br, Relaxed);
            }
            r.got_head = true;
            slot.state.store(ST_STREAMING, Relaxed);
            if r.head.is_empty() {
                count_body(ctx, slot, afd, r, &data[len..], now);
            } else {
                let head = std::mem::take(&mut r.head);
                count_body(ctx, slot, afd, r, &head[len..], now);
            }
            Step::Continue
        }
    }
}

fn count_body(
    ctx: &Ctx,
    slot: &Slot,
    afd: &AsyncFd<std::net::TcpStream>,
    r: &mut Reader,
    body: &[u8],
    now: u64,
) {
    if body.is_empty() {
        return;
    }
    if !r.got_body {
        r.got_body = true;
        slot.first_byte_us.store(now, Relaxed);
        if ctx.rcvlowat > 1 {
            // Best effort: without it the listener is only more expensive to run.
            let _ = sys::set_rcvlowat(afd.get_ref().as_raw_fd(), ctx.rcvlowat);
        }
    }
    let audio = match r.demux.as_mut() {
        Some(d) => {
            let a = d.feed(body);
            slot.meta_blocks.store(d.blocks, Relaxed);
            slot.meta_changes.store(d.changes, Relaxed);
            slot.meta_bad.store(d.bad, Relaxed);
            a
        }
        None => body.len() as u64,
    };
    r.audio += audio;
    slot.audio_bytes.store(r.audio, Relaxed);
    if PHASE.load(Relaxed) == HOLD {
        r.window += audio;
        slot.window_bytes.store(r.window, Relaxed);
    }
}
