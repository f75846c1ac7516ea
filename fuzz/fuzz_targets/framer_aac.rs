#![no_main]

use floe_proto::frame::StreamFormat;
use libfuzzer_sys::fuzz_target;

#[path = "framer.rs"]
mod framer;

fuzz_target!(|data: &[u8]| framer::run(StreamFormat::Aac, data));
