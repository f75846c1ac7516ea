#![no_main]

use floe_proto::hls::{DeliveryDirectives, HlsError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match DeliveryDirectives::parse(&text) {
        // `_HLS_part` never comes without `_HLS_msn`.
        Ok(d) => assert!(d.part.is_none() || d.msn.is_some()),
        Err(HlsError::InvalidValue { value, .. }) => assert!(value.chars().count() <= 32),
        Err(_) => {}
    }
});
