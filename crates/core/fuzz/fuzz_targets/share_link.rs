//! Share links: any text either opens or is refused with a `LinkError`, never a panic, and
//! never more than the decoded-size cap; a setup that opens encodes again (unless the
//! re-encoding is longer than the link limit: another compressor may beat miniz_oxide), and
//! that payload opens to the same setup. The text is read both as a payload and as a link.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::share::{self, LinkError};

fn round_trips(payload: &str) {
    let Ok(setup) = share::decode(payload) else {
        return;
    };
    let encoded = match share::encode(&setup) {
        Ok(encoded) => encoded,
        Err(LinkError::TooLong { .. } | LinkError::TooLarge { .. }) => return,
        Err(error) => panic!("a decoded setup does not encode: {error}"),
    };
    assert_eq!(
        share::decode(&encoded).as_ref(),
        Ok(&setup),
        "encode then decode changed the setup"
    );
    assert_eq!(
        share::encode(&setup).as_ref(),
        Ok(&encoded),
        "encoding is not deterministic"
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    round_trips(&text);
    if let Some(payload) = share::payload_of(&text) {
        round_trips(payload);
    }
});
