//! Access to the real Fabric v3.1.5 vectors kept in `fabric/testdata/` (tests only).

use fabric_proto::common::{Block, Envelope};
use prost::Message;

pub(crate) fn read(relative: &str) -> Vec<u8> {
    healthblock_test_support::read_vector(relative)
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
