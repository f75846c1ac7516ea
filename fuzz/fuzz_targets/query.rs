#![no_main]

use floe_proto::query::{percent_encode, Charset, Query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let q = Query::parse(&text);
    for (name, _) in &q.pairs {
        let _ = q.get(name);
        let _ = q.get_with(name, Charset::Latin1);
    }
    // Encoding then parsing gives the text back.
    let round = Query::parse(&format!("v={}", percent_encode(&text)));
    assert_eq!(round.get("v").as_deref(), Some(&*text));
});
