#![no_main]

use floe_proto::range::{
    evaluate, parse_range, Preconditions, RangeLimits, RangeOutcome, Validators,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(specs) = parse_range(&text, RangeLimits::default()) {
        assert!(specs.len() <= RangeLimits::default().max_ranges);
        for total in [0u64, 1, 1000, u64::MAX] {
            if let RangeOutcome::Partial(ranges) = evaluate(&specs, total) {
                // Ascending, disjoint, inside the representation.
                for pair in ranges.windows(2) {
                    assert!(pair[0].end < pair[1].start);
                }
                assert!(ranges.iter().all(|r| r.start <= r.end && r.end < total));
            }
        }
    }
    let p = Preconditions {
        if_match: Some(&text),
        if_none_match: Some(&text),
        if_modified_since: Some(&text),
        if_unmodified_since: Some(&text),
        if_range: Some(&text),
    };
    let _ = p.evaluate(Validators {
        etag: "\"1-2\"",
        last_modified: 784_111_777,
    });
});
