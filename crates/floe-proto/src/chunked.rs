//! Incremental decoder for the chunked transfer coding (RFC 9112 §7.1), for chunked PUT sources.

use thiserror::Error;

/// Longest chunk-size line accepted (size, extensions and line end).
pub const MAX_SIZE_LINE: usize = 1024;
/// Largest trailer section accepted.
pub const MAX_TRAILER: usize = 8192;

/// A malformed chunked body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChunkedError {
    /// A chunk-size line is not hexadecimal or is too long.
    #[error("malformed chunk size line")]
    BadSize,
    /// The CRLF after a chunk's data is missing.
    #[error("missing CRLF after chunk data")]
    MissingCrlf,
    /// The trailer section is longer than [`MAX_TRAILER`].
    #[error("chunked trailer section too large")]
    TrailerTooLarge,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    #[default]
    SizeStart,
    /// Reading hex digits of the size.
    Size { value: u64, digits: u8, line: usize },
    /// After the digits: optional whitespace and extensions up to the line end.
    SizeRest { value: u64, line: usize },
    /// Chunk data, this many bytes left.
    Data(u64),
    /// After data: expecting CR or LF.
    DataEnd,
    /// After data and CR: expecting LF.
    DataLf,
    /// Reading a trailer line; `line` bytes of it so far (0: at the start of a line).
    Trailer { line: usize, total: usize },
    /// The body is complete.
    Done,
}

/// Decodes a chunked body fed in arbitrary pieces.
///
/// Tolerant of bare LF line ends; strict about hexadecimal sizes (at most 16 digits) and the
/// line end after each chunk's data.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: State,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes as much of `input` as possible, appending body bytes to `out`.
    /// Returns how many bytes of `input` were consumed; unconsumed bytes must be offered again
    /// with more data appended. Chunk extensions and trailers are skipped.
    ///
    /// The decoder keeps its own state between calls, so it consumes all of `input` until the
    /// body ends; once [`is_done`](Self::is_done), the bytes after the body are left unconsumed.
    /// After an error the decoder should be discarded.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            let Some(&b) = input.get(i) else { break };
            match self.state {
                State::Done => break,
                State::Data(left) => {
                    let avail = input.len() - i;
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(avail);
                    out.extend_from_slice(input.get(i..i + n).unwrap_or(&[]));
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    continue;
                }
                State::SizeStart => {
                    let d = hex(b).ok_or(ChunkedError::BadSize)?;
                    self.state = State::Size {
                        value: u64::from(d),
                        digits: 1,
                        line: 1,
                    };
                }
                State::Size {
                    value,
                    digits,
                    line,
                } => {
                    if line >= MAX_SIZE_LINE {
                        return Err(ChunkedError::BadSize);
                    }
                    if let Some(d) = hex(b) {
                        if digits >= 16 {
                            return Err(ChunkedError::BadSize);
                        }
                        self.state = State::Size {
                            value: value << 4 | u64::from(d),
                            digits: digits + 1,
                            line: line + 1,
                        };
                    } else {
                        match b {
                            b'\n' => self.end_size_line(value),
                            b' ' | b'\t' | b';' | b'\r' => {
                                self.state = State::SizeRest {
                                    value,
                                    line: line + 1,
                                }
                            }
                            _ => return Err(ChunkedError::BadSize),
                        }
                    }
                }
                State::SizeRest { value, line } => {
                    if line >= MAX_SIZE_LINE {
                        return Err(ChunkedError::BadSize);
                    }
                    if b == b'\n' {
                        self.end_size_line(value);
                    } else {
                        self.state = State::SizeRest {
                            value,
                            line: line + 1,
                        };
                    }
                }
                State::DataEnd => match b {
                    b'\r' => self.state = State::DataLf,
                    b'\n' => self.state = State::SizeStart,
                    _ => return Err(ChunkedError::MissingCrlf),
                },
                State::DataLf => match b {
                    b'\n' => self.state = State::SizeStart,
                    _ => return Err(ChunkedError::MissingCrlf),
                },
                State::Trailer { line, total } => {
                    if total >= MAX_TRAILER {
                        return Err(ChunkedError::TrailerTooLarge);
                    }
                    self.state = match b {
                        // An empty line (possibly just "\r") ends the trailer section.
                        b'\n' if line == 0 => State::Done,
                        b'\n' => State::Trailer {
                            line: 0,
                            total: total + 1,
                        },
                        // A CR at the start of a line does not make it non-empty.
                        b'\r' if line == 0 => State::Trailer {
                            line: 0,
                            total: total + 1,
                        },
                        _ => State::Trailer {
                            line: line + 1,
                            total: total + 1,
                        },
                    };
                }
            }
            i += 1;
        }
        Ok(i)
    }

    fn end_size_line(&mut self, size: u64) {
        self.state = if size == 0 {
            State::Trailer { line: 0, total: 0 }
        } else {
            State::Data(size)
        };
    }

    /// True once the last (zero-size) chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes, re-offering unconsumed bytes.
    fn decode_in_steps(input: &[u8], step: usize) -> (Result<Vec<u8>, ChunkedError>, usize, bool) {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut consumed_total = 0;
        for piece in input.chunks(step) {
            pending.extend_from_slice(piece);
            match d.decode(&pending, &mut out) {
                Ok(n) => {
                    consumed_total += n;
                    pending.drain(..n);
                }
                Err(e) => return (Err(e), consumed_total, d.is_done()),
            }
        }
        (Ok(out), consumed_total, d.is_done())
    }

    const BODY: &[u8] =
        b"4\r\nWiki\r\n7;ext=1;q=\"x\"\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-Trailer: y\r\n\r\nNEXT";

    #[test]
    fn every_split() {
        for step in 1..=BODY.len() {
            let (out, consumed, done) = decode_in_steps(BODY, step);
            assert_eq!(
                out.as_deref(),
                Ok(&b"Wikipedia in \r\nchunks."[..]),
                "step {step}"
            );
            assert!(done);
            assert_eq!(&BODY[consumed..], b"NEXT");
        }
    }

    #[test]
    fn bare_lf_and_upper_hex() {
        let (out, _, done) = decode_in_steps(b"A\nabcdefghij\n00\n\n", 1);
        assert_eq!(out.as_deref(), Ok(&b"abcdefghij"[..]));
        assert!(done);
        let (out, _, done) = decode_in_steps(b"1 \r\nx\r\n0\r\n", 3);
        assert_eq!(out.as_deref(), Ok(&b"x"[..]));
        assert!(!done, "trailer section not finished");
    }

    #[test]
    fn large_chunk_streams_through() {
        let data = vec![7u8; 100_000];
        let mut input = format!("{:x}\r\n", data.len()).into_bytes();
        input.extend_from_slice(&data);
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let (out, _, done) = decode_in_steps(&input, 4096);
        assert_eq!(out.map(|o| o.len()), Ok(100_000));
        assert!(done);
    }

    #[test]
    fn errors() {
        let e = |b: &[u8]| decode_in_steps(b, 1).0;
        assert_eq!(e(b"xyz\r\n"), Err(ChunkedError::BadSize));
        assert_eq!(e(b"\r\n"), Err(ChunkedError::BadSize));
        assert_eq!(e(b";ext\r\n"), Err(ChunkedError::BadSize));
        assert_eq!(e(b"1g\r\n"), Err(ChunkedError::BadSize));
        assert_eq!(e(b"11111111111111111\r\n"), Err(ChunkedError::BadSize));
        assert_eq!(e(b"2\r\nabX"), Err(ChunkedError::MissingCrlf));
        assert_eq!(e(b"2\r\nab\rX"), Err(ChunkedError::MissingCrlf));
        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_SIZE_LINE));
        assert_eq!(e(&long), Err(ChunkedError::BadSize));
        let mut trailer = b"0\r\n".to_vec();
        trailer.extend(std::iter::repeat_n(b'a', MAX_TRAILER + 1));
        assert_eq!(e(&trailer), Err(ChunkedError::TrailerTooLarge));
        // 16 hex digits is fine.
        let (out, _, _) = decode_in_steps(b"0000000000000001\r\nz\r\n", 1);
        assert_eq!(out.as_deref(), Ok(&b"z"[..]));
    }
}
