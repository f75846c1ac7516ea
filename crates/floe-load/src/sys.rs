//! The operating-system calls the standard library and tokio do not offer.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

/// Raises the soft limit on open files to the hard limit; returns (soft, hard) as now in force.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let want = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `want` is a valid rlimit read by the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Sets SO_RCVLOWAT: the socket is reported readable only once `bytes` are waiting (or on
/// EOF/error), so a listener costs one wake-up per `bytes` of audio instead of one per write.
pub fn set_rcvlowat(fd: RawFd, bytes: i32) -> io::Result<()> {
    let v: libc::c_int = bytes;
    // SAFETY: `fd` is an open socket owned by the caller; the option value is a c_int that
    // lives for the duration of the call, and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::addr_of!(v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Clock ticks per second, the unit of utime/stime in /proc/PID/stat.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Number of online CPUs.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Registers a connected, non-blocking TCP stream with the tokio reactor for readability.
/// Must be called inside a runtime.
pub fn register_readable(
    stream: std::net::TcpStream,
) -> io::Result<tokio::io::unix::AsyncFd<std::net::TcpStream>> {
    // SAFETY: a std TcpStream owns its descriptor: it stays open and the same until the stream
    // is dropped, which happens only when the AsyncFd owning it is dropped.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(stream, tokio::io::Interest::READABLE)
    }
    .map_err(io::Error::from)
}
