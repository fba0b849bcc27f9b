//! An organisation's group built from an MSP directory on disk, added to and
//! removed from a config by updates the current admins sign; once added, its own
//! admin's signature counts towards the Application's MAJORITY.

mod common;

use common::{channel_config, Org};
use fabric_configtx::org::{
    application_org_group, with_application_org, without_application_org, ApplicationOrg, OrgError,
};
use fabric_configtx::sign::signed_update;
use fabric_configtx::{compute_update, msp_manager, propose_update};
use fabric_msp::SigningIdentity;
use fabric_proto::common::Config;
use healthblock_test_support::NODE_OUS_CONFIG_YAML;

const CHANNEL: &str = "ehr";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn msp_dir(org: &Org, dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("cacerts")).unwrap();
    std::fs::write(dir.join("cacerts/ca.pem"), org.ca.pem()).unwrap();
    std::fs::write(dir.join("config.yaml"), NODE_OUS_CONFIG_YAML).unwrap();
}

fn apply(
    current: &Config,
    updated: &Config,
    signers: &[&SigningIdentity],
) -> Result<Config, String> {
    let update = signed_update(CHANNEL, compute_update(current, updated).unwrap(), signers);
    propose_update(
        current,
        CHANNEL,
        &update,
        &msp_manager(current).unwrap(),
        now(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_new_org_joins_counts_and_leaves() {
    let (orderer_org, org1, org2) = (
        Org::new("OrdererMSP"),
        Org::new("Org1MSP"),
        Org::new("Org2MSP"),
    );
    let config = channel_config(&orderer_org, &org1);
    let dir = tempfile::tempdir().unwrap();
    msp_dir(&org2, dir.path());
    let group = application_org_group(&ApplicationOrg {
        mspid: "Org2MSP",
        msp_dir: dir.path(),
        anchor_peers: &[("peer0.org2".into(), 7051)],
        operators_policy: None,
        endorsement_policy: "OR('Org2MSP.peer')",
    })
    .unwrap();
    for name in ["Admins", "Readers", "Writers", "Endorsement"] {
        assert!(group.policies.contains_key(name), "{name}");
    }
    assert!(group.values.contains_key("MSP") && group.values.contains_key("AnchorPeers"));

    // Org1 (the only org) admits Org2; Org2's admin alone cannot.
    let joined = with_application_org(&config, "Org2MSP", group.clone()).unwrap();
    let org2_admin = org2.member("Admin@org2", "admin");
    let refused = apply(&config, &joined, &[&org2_admin]).unwrap_err();
    assert!(refused.contains("not satisfied"), "{refused}");
    let org1_admin = org1.member("Admin@org1", "admin");
    let next = apply(&config, &joined, &[&org1_admin]).unwrap();
    assert!(matches!(
        with_application_org(&next, "Org2MSP", group),
        Err(OrgError::Exists(_))
    ));

    // MAJORITY of two admins is both: Org1 alone no longer removes Org2.
    let left = without_application_org(&next, "Org2MSP").unwrap();
    let refused = apply(&next, &left, &[&org1_admin]).unwrap_err();
    assert!(refused.contains("not satisfied"), "{refused}");
    let after = apply(&next, &left, &[&org1_admin, &org2_admin]).unwrap();
    assert!(without_application_org(&after, "Org2MSP").is_err());
}
