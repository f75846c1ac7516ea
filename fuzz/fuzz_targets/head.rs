#![no_main]

use floe_proto::head::parse_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, consumed))) = parse_head(data, 8192) {
        assert!(consumed <= data.len() && consumed <= 8192);
        assert!(!head.method.is_empty() && !head.target.is_empty());
        // Parsing only the head again gives the same result.
        assert_eq!(parse_head(&data[..consumed], 8192), Ok(Some((head, consumed))));
    }
});
