//! Arbitrary bytes as a WBCB blob, a header and a key wrap: every input must
//! be rejected (or accepted) with a `Result`, never a panic or a hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wbcb::{decrypt_bytes, DataKey, Header, KeyWrap};

fuzz_target!(|data: &[u8]| {
    let _ = Header::read_from(&mut &data[..]);
    let _ = Header::parse(data);
    let _ = KeyWrap::from_bytes(data);
    // A fixed key: random inputs never authenticate, so this exercises every
    // parsing and framing path up to the first tag check.
    let key = DataKey::from_bytes([7u8; 32]);
    let _ = decrypt_bytes(&key, data, None);
});
