//! Incremental decoder for the chunked transfer coding (RFC 9112 §7.1), for chunked PUT sources.

use thiserror::Error;

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
}

/// Decodes a chunked body fed in arbitrary pieces.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    // private state chosen by the implementation
    _private: (),
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes as much of `input` as possible, appending body bytes to `out`.
    /// Returns how many bytes of `input` were consumed; unconsumed bytes must be offered again
    /// with more data appended. Chunk extensions and trailers are skipped.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkedError> {
        let _ = (input, out);
        todo!()
    }

    /// True once the last (zero-size) chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        todo!()
    }
}
