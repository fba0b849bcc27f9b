//! Against the real Fabric v3.1.5 vectors: policy encodings in the genesis
//! config and in block 13's key-level policy, and the endorsement outcomes
//! of blocks 5, 14 and 15.

use fabric_block::decode_envelope;
use fabric_msp::{Identity, Msp, MspManager, NodeOus};
use fabric_policy::{evaluate, parse, to_string, EndorsementPolicy};
use fabric_proto::common::{
    Block, ConfigEnvelope, ConfigGroup, Envelope, Payload, SignaturePolicyEnvelope,
};
use prost::Message;
use std::path::PathBuf;
/// The Fabric v3.1.5 golden vectors kept in the repository (`fabric/testdata/`).
fn vectors_dir() -> PathBuf {
    healthblock_test_support::fabric_vectors()
}

fn block(n: u64) -> Block {
    let path = vectors_dir().join(format!("blocks/{n:06}.block"));
    Block::decode(std::fs::read(path).unwrap().as_slice()).unwrap()
}

fn msps() -> MspManager {
    let base = vectors_dir().join("msp");
    MspManager::new(["OrdererMSP", "Org1MSP", "Org2MSP", "Org3MSP"].map(|id| {
        let dir = base.join(id).join("cacerts");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let roots: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
        Msp::from_ca_pems(id, &roots, &[], &[], NodeOus::fabric_default()).unwrap()
    }))
}

/// The channel config group of the genesis block.
fn genesis_config() -> ConfigGroup {
    let b = block(0);
    let env = Envelope::decode(b.data.unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let config = ConfigEnvelope::decode(payload.data.as_slice()).unwrap();
    config.config.unwrap().channel_group.unwrap()
}

/// Every signature policy (Policy.type 1) of every org group, with its path.
fn org_signature_policies(channel: &ConfigGroup) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for section in ["Application", "Orderer"] {
        let orgs = &channel.groups[section].groups;
        for (org, group) in orgs {
            for (name, cp) in &group.policies {
                let policy = cp.policy.as_ref().unwrap();
                if policy.r#type == 1 {
                    out.push((format!("{section}/{org}/{name}"), policy.value.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn genesis_org_policies_reencode_byte_for_byte() {
    let policies = org_signature_policies(&genesis_config());
    // 3 application orgs x (Readers, Writers, Admins, Endorsement) + orderer org x 3.
    assert_eq!(
        policies.len(),
        15,
        "{:?}",
        policies.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for (path, bytes) in &policies {
        let env = SignaturePolicyEnvelope::decode(bytes.as_slice()).unwrap();
        let text = to_string(&env);
        assert_eq!(
            parse(&text).unwrap().encode_to_vec(),
            *bytes,
            "{path}: {text}"
        );
    }
    for org in ["Org1MSP", "Org2MSP", "Org3MSP"] {
        let (_, bytes) = policies
            .iter()
            .find(|(p, _)| *p == format!("Application/{org}/Endorsement"))
            .unwrap();
        assert_eq!(
            parse(&format!("OR('{org}.peer')")).unwrap().encode_to_vec(),
            *bytes
        );
    }
}

/// The VALIDATION_PARAMETER written on sbe-key in block 13.
fn sbe_policy_bytes() -> Vec<u8> {
    let tx = decode_envelope(&block(13).data.unwrap().data[0]).unwrap();
    let action = tx.action.unwrap();
    let (_, kv) = action
        .ns_rwsets
        .iter()
        .find(|(ns, _)| ns == "anchorcc")
        .unwrap();
    let entry = &kv.metadata_writes[0].entries[0];
    assert_eq!(entry.name, "VALIDATION_PARAMETER");
    entry.value.clone()
}

#[test]
fn key_level_policy_matches_fabric_encoding() {
    let bytes = sbe_policy_bytes();
    assert_eq!(
        hex::encode(&bytes),
        "120812060801120208001a0d120b0a074f7267324d53501003"
    );
    assert_eq!(parse("OR('Org2MSP.peer')").unwrap().encode_to_vec(), bytes);
    let env = SignaturePolicyEnvelope::decode(bytes.as_slice()).unwrap();
    assert_eq!(to_string(&env), "OR('Org2MSP.peer')");
}

/// The validated endorsers of the single transaction of block `n`.
fn endorsers(n: u64, msps: &MspManager) -> Vec<Identity> {
    let tx = decode_envelope(&block(n).data.unwrap().data[0]).unwrap();
    let at = tx.timestamp.unwrap().seconds;
    let action = tx.action.unwrap();
    action
        .endorsements
        .iter()
        .map(|e| {
            let id = msps.validate_serialized(&e.endorser, at).unwrap();
            id.verify(&action.endorsement_signed_bytes(e), &e.signature)
                .unwrap();
            id
        })
        .collect()
}

fn chaincode_policy() -> EndorsementPolicy {
    let orgs: Vec<_> = ["Org1MSP", "Org2MSP", "Org3MSP"]
        .map(|o| parse(&format!("OR('{o}.peer')")).unwrap())
        .to_vec();
    EndorsementPolicy::from_str_with_orgs("MAJORITY Endorsement", &orgs).unwrap()
}

#[test]
fn block_14_satisfies_majority_but_not_the_key_policy() {
    let msps = msps();
    let signers = endorsers(14, &msps);
    let mspids: Vec<_> = signers.iter().map(|s| s.mspid.as_str()).collect();
    assert_eq!(mspids, ["Org1MSP", "Org3MSP"]);
    let key_policy = SignaturePolicyEnvelope::decode(sbe_policy_bytes().as_slice()).unwrap();
    assert!(chaincode_policy().evaluate(&signers, &msps));
    assert!(!evaluate(&key_policy, &signers, &msps));
}

#[test]
fn block_15_satisfies_both() {
    let msps = msps();
    let signers = endorsers(15, &msps);
    let key_policy = SignaturePolicyEnvelope::decode(sbe_policy_bytes().as_slice()).unwrap();
    assert!(chaincode_policy().evaluate(&signers, &msps));
    assert!(evaluate(&key_policy, &signers, &msps));
}

#[test]
fn block_5_two_org1_peers_are_two_signers() {
    let msps = msps();
    let signers = endorsers(5, &msps);
    assert_eq!(signers.len(), 4);
    let eval = |p: &str| evaluate(&parse(p).unwrap(), &signers, &msps);
    assert!(eval("AND('Org1MSP.peer', 'Org1MSP.peer')"));
    assert!(!eval("AND('Org2MSP.peer', 'Org2MSP.peer')"));
    assert!(eval("AND('Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')"));
    assert!(!eval("OR('Org1MSP.client', 'Org1MSP.admin')"));
    assert!(chaincode_policy().evaluate(&signers, &msps));
    let all = EndorsementPolicy::from_str_with_orgs(
        "ALL Endorsement",
        &["Org1MSP", "Org2MSP", "Org3MSP"].map(|o| parse(&format!("OR('{o}.peer')")).unwrap()),
    )
    .unwrap();
    assert!(all.evaluate(&signers, &msps));
}
