//! Key-level endorsement policies, encoded exactly as Fabric encodes them.
//!
//! `OR('<mspid>.peer')` is the SignaturePolicyEnvelope
//! `{version: 0, rule: NOutOf{n: 1, rules: [SignedBy(0)]},
//!   identities: [MSPPrincipal{ROLE, MSPRole{mspid, PEER}}]}`.

use fabric_proto::common::signature_policy::{NOutOf, Type};
use fabric_proto::common::{SignaturePolicy, SignaturePolicyEnvelope};
use fabric_proto::msp::msp_principal::Classification;
use fabric_proto::msp::msp_role::MspRoleType;
use fabric_proto::msp::{MspPrincipal, MspRole};
use prost::Message;

/// The serialized policy "one peer of `mspid`" (`OR('<mspid>.peer')`).
pub fn member_peer_policy(mspid: &str) -> Vec<u8> {
    let role = MspRole {
        msp_identifier: mspid.to_owned(),
        role: MspRoleType::Peer as i32,
    };
    let principal = MspPrincipal {
        principal_classification: Classification::Role as i32,
        principal: role.encode_to_vec(),
    };
    let signed_by_first = SignaturePolicy {
        r#type: Some(Type::SignedBy(0)),
    };
    let envelope = SignaturePolicyEnvelope {
        version: 0,
        rule: Some(SignaturePolicy {
            r#type: Some(Type::NOutOf(NOutOf {
                n: 1,
                rules: vec![signed_by_first],
            })),
        }),
        identities: vec![principal],
    };
    envelope.encode_to_vec()
}

/// The serialized policy that no set of signatures satisfies: one of no
/// principals (`NOutOf{n: 1, rules: []}`). Fabric compiles it (an `NOutOf`
/// may have no rules) and its evaluation counts zero satisfied rules, so a key
/// carrying it can never be written or deleted again: a seal.
pub fn sealed_policy() -> Vec<u8> {
    SignaturePolicyEnvelope {
        version: 0,
        rule: Some(SignaturePolicy {
            r#type: Some(Type::NOutOf(NOutOf {
                n: 1,
                rules: Vec::new(),
            })),
        }),
        identities: Vec::new(),
    }
    .encode_to_vec()
}

/// True when `bytes` decode as a SignaturePolicyEnvelope that has a rule.
pub fn is_signature_policy(bytes: &[u8]) -> bool {
    SignaturePolicyEnvelope::decode(bytes).is_ok_and(|envelope| envelope.rule.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The Fabric v3.1.5 golden vectors kept in the repository (`fabric/testdata/`).
    fn vectors_dir() -> PathBuf {
        healthblock_test_support::fabric_vectors()
    }

    /// The policy Fabric wrote for `setpolicy(sbe-key, Org2MSP)` in block 13.
    fn fabric_org2_policy_hex() -> String {
        let path = vectors_dir().join("expected.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("Fabric vectors missing at {}: {e}", path.display()));
        let expected: serde_json::Value =
            serde_json::from_str(&text).expect("expected.json is JSON");
        let block = &expected["blocks"][13];
        assert_eq!(block["number"], 13, "block 13 holds setpolicy");
        let tx = &block["transactions"][0];
        assert_eq!(tx["function"], "setpolicy");
        let namespaces = tx["rwset"].as_array().expect("rwset");
        let writes = namespaces
            .iter()
            .find(|ns| ns["namespace"] == "anchorcc")
            .expect("anchorcc namespace");
        let entry = &writes["metadata_writes"][0]["entries"][0];
        assert_eq!(entry["name"], "VALIDATION_PARAMETER");
        entry["value_hex"].as_str().expect("value_hex").to_owned()
    }

    #[test]
    fn matches_fabric_bytes_from_the_vectors() {
        let ours = hex::encode(member_peer_policy("Org2MSP"));
        assert_eq!(ours, fabric_org2_policy_hex());
        assert_eq!(ours, "120812060801120208001a0d120b0a074f7267324d53501003");
    }

    #[test]
    fn recognises_policies() {
        assert!(is_signature_policy(&member_peer_policy("Org1MSP")));
        assert!(!is_signature_policy(b"Org1MSP"));
        assert!(!is_signature_policy(&[]));
    }
}
