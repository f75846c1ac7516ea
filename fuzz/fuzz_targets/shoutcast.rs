#![no_main]

use floe_proto::shoutcast::{parse_headers, parse_password};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, consumed))) = parse_password(data, 256) {
        assert!(consumed <= data.len());
        if let Ok(Some((_, more))) = parse_headers(&data[consumed..], 8192) {
            assert!(consumed + more <= data.len());
        }
    }
});
