#![no_main]

use floe_proto::chunked::ChunkedDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Whole input at once and byte by byte must agree.
    let mut whole = ChunkedDecoder::new();
    let mut out_whole = Vec::new();
    let res_whole = whole.decode(data, &mut out_whole);

    let mut bytewise = ChunkedDecoder::new();
    let mut out_bytes = Vec::new();
    let mut consumed = 0;
    let mut res_bytes = Ok(0);
    for b in data {
        match bytewise.decode(std::slice::from_ref(b), &mut out_bytes) {
            Ok(0) => break,
            Ok(n) => consumed += n,
            Err(e) => {
                res_bytes = Err(e);
                break;
            }
        }
    }
    match (res_whole, res_bytes) {
        (Ok(n), Ok(_)) => {
            assert_eq!(n, consumed);
            assert_eq!(out_whole, out_bytes);
            assert_eq!(whole.is_done(), bytewise.is_done());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("whole {a:?} vs bytewise {b:?}"),
    }
});
