//! Config updates validated against a config with real MSPs: the orderer org's
//! admin may change the batch parameters; a peer org's admin, a client of the
//! orderer org and a stale update are refused with Fabric's messages.

mod common;

use common::{channel_config, Org};
use fabric_configtx::batch::{batch_params, with_batch_params};
use fabric_configtx::sign::signed_update;
use fabric_configtx::{compute_update, msp_manager, propose_update, BatchUpdate, ConfigTxError};
use fabric_msp::SigningIdentity;
use fabric_proto::common::Config;
use std::time::Duration;

const CHANNEL: &str = "ehr";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn batch_update(config: &Config, count: u32) -> fabric_proto::common::ConfigUpdate {
    let params = batch_params(config).unwrap().with(&BatchUpdate {
        max_message_count: Some(count),
        timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    compute_update(config, &with_batch_params(config, &params).unwrap()).unwrap()
}

fn propose(
    config: &Config,
    count: u32,
    signers: &[&SigningIdentity],
) -> Result<Config, ConfigTxError> {
    let msps = msp_manager(config).unwrap();
    let update = signed_update(CHANNEL, batch_update(config, count), signers);
    propose_update(config, CHANNEL, &update, &msps, now())
}

struct Net {
    orderer_org: Org,
    peer_org: Org,
    config: Config,
}

fn net() -> Net {
    let orderer_org = Org::new("OrdererMSP");
    let peer_org = Org::new("Org1MSP");
    let config = channel_config(&orderer_org, &peer_org);
    Net {
        orderer_org,
        peer_org,
        config,
    }
}

#[test]
fn the_orderer_admin_changes_the_batch_parameters() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let next = propose(&n.config, 5, &[&admin]).expect("authorized");
    assert_eq!(next.sequence, 1);
    let params = batch_params(&next).unwrap();
    assert_eq!(params.max_message_count, 5);
    assert_eq!(params.timeout, Duration::from_millis(300));
    assert_eq!(params.absolute_max_bytes, 1 << 20, "unchanged");
    let orderer = &next.channel_group.as_ref().unwrap().groups["Orderer"];
    assert_eq!(orderer.values["BatchSize"].version, 1);
    assert_eq!(orderer.values["BatchTimeout"].version, 1);
    assert_eq!(orderer.version, 0, "the group's membership did not change");
    assert_eq!(orderer.values["BatchSize"].mod_policy, "Admins");
    // Everything else is untouched.
    let before = n.config.channel_group.as_ref().unwrap();
    let after = next.channel_group.as_ref().unwrap();
    assert_eq!(before.groups["Application"], after.groups["Application"]);
    assert_eq!(before.policies, after.policies);
}

#[test]
fn a_peer_org_admin_does_not_satisfy_the_orderer_admins() {
    let n = net();
    let admin = n.peer_org.member("Admin@org1", "admin");
    let err = propose(&n.config, 5, &[&admin]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error authorizing update: error validating DeltaSet: policy for [Value]  /Channel/Orderer/BatchSize not satisfied: implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Admins' sub-policies to be satisfied"
    );
}

#[test]
fn a_non_admin_of_the_orderer_org_and_no_signature_are_refused() {
    let n = net();
    let client = n.orderer_org.member("User1@orderer", "client");
    let expected = "implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Admins' sub-policies to be satisfied";
    let err = propose(&n.config, 5, &[&client]).unwrap_err().to_string();
    assert!(err.ends_with(expected), "{err}");
    let err = propose(&n.config, 5, &[]).unwrap_err().to_string();
    assert!(err.ends_with(expected), "{err}");
}

#[test]
fn a_signature_over_other_bytes_does_not_count() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let msps = msp_manager(&n.config).unwrap();
    let mut update = signed_update(CHANNEL, batch_update(&n.config, 5), &[&admin]);
    // The admin's signature stays, but the update it signed is replaced.
    update.config_update = prost::Message::encode_to_vec(&{
        let mut u = batch_update(&n.config, 6);
        u.channel_id = CHANNEL.into();
        u
    });
    let err = propose_update(&n.config, CHANNEL, &update, &msps, now()).unwrap_err();
    assert!(
        err.to_string().contains("0 sub-policies were satisfied"),
        "{err}"
    );
}

#[test]
fn an_update_computed_against_the_previous_config_is_stale() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let msps = msp_manager(&n.config).unwrap();
    let first = signed_update(CHANNEL, batch_update(&n.config, 5), &[&admin]);
    let stale = signed_update(CHANNEL, batch_update(&n.config, 7), &[&admin]);
    let next = propose_update(&n.config, CHANNEL, &first, &msps, now()).unwrap();
    let err = propose_update(&next, CHANNEL, &stale, &msps, now()).unwrap_err();
    let ConfigTxError::Authorize(ref inner) = err else {
        panic!("{err}")
    };
    assert!(inner.is_stale());
    assert_eq!(
        err.to_string(),
        "error authorizing update: error validating DeltaSet: attempt to set key [Value]  /Channel/Orderer/BatchSize to version 1, but key is at version 1"
    );
}

#[test]
fn the_update_names_its_channel() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let msps = msp_manager(&n.config).unwrap();
    let update = signed_update("other", batch_update(&n.config, 5), &[&admin]);
    let err = propose_update(&n.config, CHANNEL, &update, &msps, now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error authorizing update: ConfigUpdate for channel 'other' but envelope for channel 'ehr'"
    );
}

#[test]
fn an_empty_delta_is_refused() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let msps = msp_manager(&n.config).unwrap();
    let mut update = batch_update(&n.config, 5);
    update.write_set = update.read_set.clone();
    let env = signed_update(CHANNEL, update, &[&admin]);
    let err = propose_update(&n.config, CHANNEL, &env, &msps, now()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("delta set was empty -- update would have no effect"),
        "{err}"
    );
}

#[test]
fn a_read_set_older_than_the_config_is_stale() {
    let n = net();
    let admin = n.orderer_org.member("Admin@orderer", "admin");
    let msps = msp_manager(&n.config).unwrap();
    // A new member of the Orderer group bumps the group's version...
    let mut grown = n.config.clone();
    grown
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap()
        .values
        .insert(
            "Extra".into(),
            common::value(fabric_proto::orderer::BatchTimeout {
                timeout: "1s".into(),
            }),
        );
    let grow = signed_update(
        CHANNEL,
        compute_update(&n.config, &grown).unwrap(),
        &[&admin],
    );
    let next = propose_update(&n.config, CHANNEL, &grow, &msps, now()).unwrap();
    assert_eq!(
        next.channel_group.as_ref().unwrap().groups["Orderer"].version,
        1
    );
    // ... so an update that read the group at its old version is refused.
    let mut shrunk = n.config.clone();
    shrunk
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap()
        .values
        .remove("BatchTimeout");
    let stale = signed_update(
        CHANNEL,
        compute_update(&n.config, &shrunk).unwrap(),
        &[&admin],
    );
    let err = propose_update(&next, CHANNEL, &stale, &msps, now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error authorizing update: error validating ReadSet: proposed update requires that key [Group]  /Channel/Orderer be at version 0, but it is currently at version 1"
    );
}
