//! Shared body of the framer targets (included by each `framer_*` target).

use floe_proto::frame::{Framer, StreamFormat};

/// The first byte picks the piece size; the rest is the stream. Checks that every byte comes
/// out in a unit or is counted as skipped, and that the buffer stays bounded.
pub fn run(format: StreamFormat, data: &[u8]) {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step) * 37 + 1;
    let mut framer = Framer::new(format, 0);
    let mut emitted = 0u64;
    for piece in stream.chunks(step) {
        framer.push(piece);
        while let Some(unit) = framer.next_unit() {
            assert!(!unit.data.is_empty());
            emitted += unit.data.len() as u64;
        }
        assert!(framer.buffered() <= 128 * 1024 + step);
    }
    while let Some(unit) = framer.finish() {
        emitted += unit.data.len() as u64;
    }
    assert_eq!(emitted + framer.stats().skipped_bytes, stream.len() as u64);
}
