#![no_main]

use floe_proto::icy::{encode_block, parse_payload, IcyDemuxer, MAX_PAYLOAD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&metaint, stream)) = data.split_first() else {
        return;
    };
    let mut demux = IcyDemuxer::new(usize::from(metaint));
    let mut audio = Vec::new();
    for piece in stream.chunks(13) {
        for payload in demux.push(piece, &mut audio) {
            let _ = parse_payload(&payload);
        }
    }
    assert!(audio.len() <= stream.len());
    let title = String::from_utf8_lossy(stream);
    let block = encode_block(&title, None);
    assert!(block.len() <= 1 + MAX_PAYLOAD);
    assert_eq!(block.len(), 1 + usize::from(block[0]) * 16);
});
