//! Against the Fabric v3.1.5 golden vectors: the genesis config block written by
//! configtxgen decodes into its config (batch parameters as recorded in
//! expected.json), every block's LAST_CONFIG points at it, the channel's MSPs come
//! out of it, and an update of its batch size has Fabric's read and write sets.

use fabric_configtx::batch::{batch_params, with_batch_params};
use fabric_configtx::{
    compute_update, config_from_block, last_config_index, msp_manager, BatchUpdate,
};
use fabric_proto::common::Block;
use healthblock_test_support::{fabric_vectors, read_vector};
use prost::Message;
use std::time::Duration;

fn block(n: u64) -> Block {
    Block::decode(read_vector(&format!("blocks-orderer0/{n:06}.block")).as_slice()).unwrap()
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fabric_vectors().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_genesis_block_holds_the_recorded_configuration() {
    let config = config_from_block(&block(0)).unwrap();
    assert_eq!(config.sequence, 0);
    let e = &expected()["channel_config"]["orderer"];
    let params = batch_params(&config).unwrap();
    assert_eq!(
        u64::from(params.max_message_count),
        e["batch_size"]["max_message_count"].as_u64().unwrap()
    );
    assert_eq!(
        u64::from(params.absolute_max_bytes),
        e["batch_size"]["absolute_max_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        u64::from(params.preferred_max_bytes),
        e["batch_size"]["preferred_max_bytes"].as_u64().unwrap()
    );
    assert_eq!(e["batch_timeout"], "2s");
    assert_eq!(params.timeout, Duration::from_secs(2));
    let msps = msp_manager(&config).unwrap();
    let ids: Vec<_> = msps.msps.keys().cloned().collect();
    assert_eq!(ids, ["OrdererMSP", "Org1MSP", "Org2MSP", "Org3MSP"]);
}

#[test]
fn every_block_names_the_genesis_block_as_its_last_config() {
    for n in 0..=16 {
        assert_eq!(last_config_index(&block(n)).unwrap(), 0, "block {n}");
    }
    let err = config_from_block(&block(1)).unwrap_err();
    assert!(err.to_string().contains("not CONFIG"), "{err}");
}

#[test]
fn a_batch_size_update_of_the_fabric_config_has_fabrics_read_and_write_sets() {
    let config = config_from_block(&block(0)).unwrap();
    let params = batch_params(&config).unwrap().with(&BatchUpdate {
        max_message_count: Some(5),
        ..Default::default()
    });
    let updated = with_batch_params(&config, &params).unwrap();
    let update = compute_update(&config, &updated).unwrap();
    let root = config.channel_group.as_ref().unwrap();
    let read = update.read_set.unwrap();
    let write = update.write_set.unwrap();
    assert_eq!(read.version, root.version);
    assert_eq!(write.version, root.version);
    assert_eq!(read.groups.keys().collect::<Vec<_>>(), ["Orderer"]);
    assert_eq!(write.groups.keys().collect::<Vec<_>>(), ["Orderer"]);
    let orderer = &root.groups["Orderer"];
    assert_eq!(read.groups["Orderer"].version, orderer.version);
    assert!(read.groups["Orderer"].values.is_empty());
    let w = &write.groups["Orderer"].values;
    assert_eq!(
        w.keys().collect::<Vec<_>>(),
        ["BatchSize"],
        "the timeout did not change"
    );
    assert_eq!(
        w["BatchSize"].version,
        orderer.values["BatchSize"].version + 1
    );
    assert_eq!(
        w["BatchSize"].mod_policy,
        orderer.values["BatchSize"].mod_policy
    );
}
