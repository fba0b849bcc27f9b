//! A small channel config with real MSPs (test CAs): an orderer org and one peer org.

use fabric_msp::SigningIdentity;
use fabric_proto::common::{
    implicit_meta_policy::Rule, policy::PolicyType, Config, ConfigGroup, ConfigPolicy, ConfigValue,
    ImplicitMetaPolicy, Policy,
};
use fabric_proto::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier, MspConfig};
use fabric_proto::orderer::{BatchSize, BatchTimeout};
use healthblock_test_support::TestCa;
use prost::Message;

pub(crate) struct Org {
    pub(crate) mspid: String,
    pub(crate) ca: TestCa,
}

impl Org {
    pub(crate) fn new(mspid: &str) -> Self {
        Self {
            mspid: mspid.into(),
            ca: TestCa::root(&format!("ca.{mspid}"), Some(mspid)),
        }
    }

    /// A signing identity of this org with NodeOU `ou` (admin, client, peer, orderer).
    pub(crate) fn member(&self, name: &str, ou: &str) -> SigningIdentity {
        let leaf = self.ca.leaf(name).ou(ou).issue();
        SigningIdentity::from_pem(
            &self.mspid,
            leaf.cert_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        )
        .expect("test identity")
    }

    fn msp_value(&self) -> ConfigValue {
        let root = self.ca.pem().into_bytes();
        let ou = |name: &str| FabricOuIdentifier {
            certificate: root.clone(),
            organizational_unit_identifier: name.into(),
        };
        let fabric = FabricMspConfig {
            name: self.mspid.clone(),
            root_certs: vec![root.clone()],
            fabric_node_ous: Some(FabricNodeOUs {
                enable: true,
                client_ou_identifier: Some(ou("client")),
                peer_ou_identifier: Some(ou("peer")),
                admin_ou_identifier: Some(ou("admin")),
                orderer_ou_identifier: Some(ou("orderer")),
            }),
            ..Default::default()
        };
        value(MspConfig {
            r#type: 0,
            config: fabric.encode_to_vec(),
        })
    }

    fn group(&self) -> ConfigGroup {
        let mut g = ConfigGroup {
            mod_policy: "Admins".into(),
            ..Default::default()
        };
        g.values.insert("MSP".into(), self.msp_value());
        let admins = fabric_policy::parse(&format!("OR('{}.admin')", self.mspid)).unwrap();
        g.policies.insert(
            "Admins".into(),
            policy(PolicyType::Signature, admins.encode_to_vec()),
        );
        g
    }
}

pub(crate) fn value(msg: impl Message) -> ConfigValue {
    ConfigValue {
        version: 0,
        value: msg.encode_to_vec(),
        mod_policy: "Admins".into(),
    }
}

fn policy(kind: PolicyType, value: Vec<u8>) -> ConfigPolicy {
    ConfigPolicy {
        version: 0,
        policy: Some(Policy {
            r#type: kind as i32,
            value,
        }),
        mod_policy: "Admins".into(),
    }
}

fn majority_admins() -> ConfigPolicy {
    policy(
        PolicyType::ImplicitMeta,
        ImplicitMetaPolicy {
            sub_policy: "Admins".into(),
            rule: Rule::Majority as i32,
        }
        .encode_to_vec(),
    )
}

/// Channel{Orderer{OrdererMSP}, Application{Org1MSP}} with batch 10 / 2 s.
pub(crate) fn channel_config(orderer_org: &Org, peer_org: &Org) -> Config {
    let mut orderer = ConfigGroup {
        mod_policy: "Admins".into(),
        ..Default::default()
    };
    orderer.values.insert(
        "BatchSize".into(),
        value(BatchSize {
            max_message_count: 10,
            absolute_max_bytes: 1 << 20,
            preferred_max_bytes: 1 << 19,
        }),
    );
    orderer.values.insert(
        "BatchTimeout".into(),
        value(BatchTimeout {
            timeout: "2s".into(),
        }),
    );
    orderer.policies.insert("Admins".into(), majority_admins());
    orderer
        .groups
        .insert(orderer_org.mspid.clone(), orderer_org.group());
    let mut application = ConfigGroup {
        mod_policy: "Admins".into(),
        ..Default::default()
    };
    application
        .policies
        .insert("Admins".into(), majority_admins());
    application
        .groups
        .insert(peer_org.mspid.clone(), peer_org.group());
    let mut channel = ConfigGroup {
        mod_policy: "Admins".into(),
        ..Default::default()
    };
    channel.policies.insert("Admins".into(), majority_admins());
    channel.groups.insert("Orderer".into(), orderer);
    channel.groups.insert("Application".into(), application);
    Config {
        sequence: 0,
        channel_group: Some(channel),
    }
}
