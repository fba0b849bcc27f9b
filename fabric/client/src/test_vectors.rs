//! Access to the real Fabric v3.1.5 vectors in `<repo root>/../shared/fabric-vectors` (tests only).

use fabric_proto::common::{Block, Envelope};
use prost::Message;
use std::path::PathBuf;

/// The vectors directory; panics with a clear message if it is missing (a missing vector is a failure, not a skip).
pub(crate) fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fabric-vectors");
    assert!(
        dir.is_dir(),
        "Fabric vectors not found at {} (expected <repo root>/../shared/fabric-vectors)",
        dir.display()
    );
    dir
}

pub(crate) fn read(relative: &str) -> Vec<u8> {
    let path = dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read vector {}: {e}", path.display()))
}

pub(crate) fn block(number: u64) -> Block {
    Block::decode(read(&format!("blocks/{number:06}.block")).as_slice())
        .unwrap_or_else(|e| panic!("vector block {number} does not decode: {e}"))
}

pub(crate) fn envelope(block_number: u64, index: usize) -> Envelope {
    let block = block(block_number);
    let data = block.data.expect("vector block has data");
    Envelope::decode(data.data[index].as_slice()).expect("vector envelope decodes")
}
