//! The trust-model attacks, each tried as the attacker really could: hand-
//! built transactions whose write sets say exactly what the attacker wants,
//! endorsed with the peer keys the attacking hospitals hold, sent straight to
//! the orderer (no gateway, no honest chaincode in the way). Every peer must
//! invalidate each one with ENDORSEMENT_POLICY_FAILURE, and the ledger must
//! read the same afterwards. The control builds the same kind of transaction
//! endorsed by every hospital and must commit VALID, so the refusals come
//! from the policies and not from a malformed transaction.
//!
//! The policies under test: the contract's chaincode-level policy names a
//! peer of every hospital (`chaincode deploy --policy every-org`), so
//! nothing about a patient is created or changed without the home hospital;
//! audit entries, break-glass events and reviews are sealed by a key-level
//! policy nothing satisfies; the channel's LifecycleEndorsement is ALL, so
//! no coalition can redefine the contract with a policy of its own; and a
//! patient identity counts only at its home hospital (finding 2).
//! The findings are those of issue 13 (`docs/threat-model.md`).

use crate::fixtures::{error_text, get_record, other_patient, put_record, record_id};
use crate::users::User;
use crate::{trial, Ctx, TestFn, EHR};
use anyhow::{anyhow, bail, ensure, Context, Result};
use fabric_client::admin::lifecycle::{self, ChaincodeDefinition, SubmitTargets};
use fabric_client::admin::orderer::Orderer;
use fabric_client::admin::Peer;
use fabric_client::{Proposal, ProposalBuilder, TxValidationCode};
use fabric_msp::SigningIdentity;
use fabric_proto::kvrwset::{KvWrite, KvrwSet};
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeId, Endorsement, ProposalResponse, ProposalResponsePayload, Response,
};
use fabric_proto::rwset::{NsReadWriteSet, TxReadWriteSet};
use healthblock_sdk::types::args::GrantArgs;
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::model::{Grantee, PatientId, RecordId, Scope};
use healthblock_tests::{broadcast, find_tx_code, peer_identity, wallet_identity};
use prost::Message;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const ENDORSEMENT_POLICY_FAILURE: i32 = 10;

/// Hospital2 and Hospital3 together: a majority of the three hospitals.
pub(crate) const COALITION: &[(&str, usize)] = &[("Hospital2", 0), ("Hospital3", 0)];
/// Every hospital's first peer.
const EVERYONE: &[(&str, usize)] = &[("Hospital1", 0), ("Hospital2", 0), ("Hospital3", 0)];
/// Hospital1 (the suite's home hospital) with both of its peers.
const HOME_ALONE: &[(&str, usize)] = &[("Hospital1", 0), ("Hospital1", 1)];

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "attack::colluding_hospitals_cannot_overwrite_a_record",
            colluding_overwrite,
        ),
        trial(
            "attack::colluding_hospitals_cannot_create_a_consent",
            colluding_consent,
        ),
        trial(
            "attack::colluding_hospitals_cannot_forge_a_new_record",
            colluding_new_record,
        ),
        trial(
            "attack::no_one_can_delete_an_audit_entry",
            delete_audit_entry,
        ),
        trial(
            "attack::no_one_can_extend_a_break_glass",
            extend_break_glass,
        ),
        trial(
            "attack::home_hospital_alone_cannot_rewrite_a_version",
            home_alone_rewrite,
        ),
        trial(
            "attack::colluding_hospitals_cannot_redefine_the_contract",
            colluding_redefinition,
        ),
        trial(
            "attack::foreign_patient_identity_is_no_patient",
            foreign_patient_identity,
        ),
        trial(
            "attack::no_one_publishes_a_key_for_someone_else",
            foreign_key_publication,
        ),
        trial(
            "attack::control_every_hospital_endorsement_is_valid",
            every_hospital_control,
        ),
    ]
}

/// One write of a hand-built transaction: a value, or a delete.
#[derive(Clone)]
pub(crate) struct Write {
    key: String,
    value: Option<Vec<u8>>,
}

impl Write {
    fn put(key: String, value: &Value) -> Self {
        Write {
            key,
            value: Some(value.to_string().into_bytes()),
        }
    }
    fn delete(key: String) -> Self {
        Write { key, value: None }
    }
}

/// A Fabric composite key: `\0type\0attr\0...\0`.
fn composite(object_type: &str, attributes: &[&str]) -> String {
    let mut key = format!("\u{0}{object_type}\u{0}");
    for a in attributes {
        key.push_str(a);
        key.push('\u{0}');
    }
    key
}

/// Finding 3 (the original test): H2 and H3 overwrite an H1 patient's record.
async fn colluding_overwrite(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "attack").await?;
    let before = get_record(&ctx, &rid).await?;
    let write = Write::put(composite("record", &[&rid]), &tampered(&stored));
    let txid = forge(&ctx, "put_record", vec![write], COALITION).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    let after = get_record(&ctx, &rid).await?;
    ensure!(
        after == before,
        "the rejected overwrite changed the record:\nbefore {before}\nafter  {after}"
    );
    Ok(())
}

/// Finding 3: a consent key that does not exist yet has no key-level policy;
/// the coalition creates one for an H1 patient granting an H2 doctor.
async fn colluding_consent(ctx: Ctx) -> Result<()> {
    let pid = ctx.users.patient1_pid.clone();
    let before = consents(&ctx).await?;
    let consent_id = record_id("forged-consent");
    let forged = json!({
        "consent_id": consent_id, "patient_id": pid,
        "grantee": {"kind": "user", "user": ctx.users.doctor2.principal()},
        "scope": {"kind": "all"},
        "granted_by": {"user": format!("patient:{pid}"), "mspid": "Hospital1MSP", "role": "patient"},
        "granted_at": {"unix": 0, "rfc3339": "1970-01-01T00:00:00Z"},
        "expires_at": null, "revoked": null,
    });
    let write = Write::put(composite("consent", &[&pid, &consent_id]), &forged);
    let txid = forge(&ctx, "grant_consent", vec![write], COALITION).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    let after = consents(&ctx).await?;
    ensure!(
        after == before,
        "the rejected consent changed the patient's consents:\nbefore {before:?}\nafter  {after:?}"
    );
    Ok(())
}

/// Finding 3: a new record (head, version and patient index keys) with an H1
/// author, created by the coalition.
async fn colluding_new_record(ctx: Ctx) -> Result<()> {
    let (_, template) = put_record(&ctx, "attack-template").await?;
    let rid = record_id("forged-record");
    let pid = ctx.users.patient1_pid.clone();
    let mut forged = tampered(&template);
    forged["record_id"] = Value::from(rid.clone());
    let writes = vec![
        Write::put(composite("record", &[&rid]), &forged),
        Write::put(
            composite("record~version", &[&rid, &format!("{:020}", 1)]),
            &forged,
        ),
        Write::put(
            composite("record~patient", &[&pid, &rid]),
            &Value::from(rid.clone()),
        ),
    ];
    let txid = forge(&ctx, "put_record", writes, COALITION).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    let err = match get_record(&ctx, &rid).await {
        Ok(found) => bail!("the forged record exists: {found}"),
        Err(e) => format!("{e:#}"),
    };
    ensure!(
        err.contains("not found"),
        "get_record of the forged record: {err}"
    );
    Ok(())
}

/// Finding 3: audit entries are sealed; not even every hospital together can
/// delete one.
async fn delete_audit_entry(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "attack-audit").await?;
    let doctor = ctx.sdk(&ctx.users.doctor1).await?;
    doctor
        .request_access(&RecordId::parse(&rid)?, None)
        .await
        .context("request_access")?;
    ctx.net.settle().await?;
    let before = record_trail(&ctx, &rid).await?;
    let entry = before
        .first()
        .ok_or_else(|| anyhow!("the access request left no audit entry"))?;
    let time = entry["time"]["unix"]
        .as_i64()
        .ok_or_else(|| anyhow!("audit entry without a time: {entry}"))?;
    let tx = entry["tx_id"]
        .as_str()
        .ok_or_else(|| anyhow!("audit entry without a tx id: {entry}"))?;
    let pid = ctx.users.patient1_pid.clone();
    let writes = vec![
        Write::delete(composite(
            "audit~record",
            &[&rid, &format!("{time:020}"), tx],
        )),
        Write::delete(composite(
            "audit~patient",
            &[&pid, &format!("{time:020}"), tx],
        )),
    ];
    for endorsers in [COALITION, EVERYONE] {
        let txid = forge(&ctx, "request_access", writes.clone(), endorsers).await?;
        expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    }
    let after = record_trail(&ctx, &rid).await?;
    ensure!(
        after == before,
        "the rejected delete changed the trail:\nbefore {before:?}\nafter  {after:?}"
    );
    Ok(())
}

/// Finding 3: a break-glass event is sealed; rewriting its expiry fails for
/// the coalition and for every hospital together.
async fn extend_break_glass(ctx: Ctx) -> Result<()> {
    // The suite's second patient: a break-glass on `patient1` would let the
    // doctor into records other trials expect them to be denied.
    let pid = other_patient();
    let doctor = ctx.sdk(&ctx.users.doctor2).await?;
    let opened = doctor
        .break_glass(
            &PatientId::parse(&pid)?,
            "UNCONSCIOUS: attack suite, patient brought in unconscious",
        )
        .await?;
    let opened = serde_json::to_value(opened.value)?;
    let id = opened["tx_id"]
        .as_str()
        .ok_or_else(|| anyhow!("break_glass answered {opened}"))?
        .to_owned();
    ctx.net.settle().await?;
    let before = break_glass_events(&ctx, &pid).await?;
    let mut event = before
        .iter()
        .find(|e| e["break_glass_id"] == id.as_str())
        .cloned()
        .ok_or_else(|| anyhow!("break-glass {id} is not listed: {before:?}"))?;
    event["expires_at"] = json!({"unix": 4_102_444_800_i64, "rfc3339": "2100-01-01T00:00:00Z"});
    let write = Write::put(composite("breakglass", &[&pid, &id]), &event);
    for endorsers in [COALITION, EVERYONE] {
        let txid = forge(&ctx, "break_glass", vec![write.clone()], endorsers).await?;
        expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    }
    let after = break_glass_events(&ctx, &pid).await?;
    ensure!(
        after == before,
        "the rejected rewrite changed the events:\nbefore {before:?}\nafter  {after:?}"
    );
    Ok(())
}

/// Finding 9: the home hospital, with both its peers, rewrites version 1 of
/// its own patient's record.
async fn home_alone_rewrite(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "attack-home").await?;
    let before = get_record(&ctx, &rid).await?;
    let forged = tampered(&stored);
    let writes = vec![
        Write::put(composite("record", &[&rid]), &forged),
        Write::put(
            composite("record~version", &[&rid, &format!("{:020}", 1)]),
            &forged,
        ),
    ];
    let txid = forge(&ctx, "put_record", writes, HOME_ALONE).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    let after = get_record(&ctx, &rid).await?;
    ensure!(
        after == before,
        "the rejected rewrite changed the record:\nbefore {before}\nafter  {after}"
    );
    Ok(())
}

/// Governance: H2's and H3's admins approve a new definition of the contract
/// whose policy is Hospital2's peer alone, and commit it with their two
/// peers. LifecycleEndorsement ALL makes every peer refuse the commit.
async fn colluding_redefinition(ctx: Ctx) -> Result<()> {
    let net = &ctx.net;
    let channel = net.consortium.channel.clone();
    let h1 = net.org("Hospital1")?;
    let h1_admin = net.identity("Admin@Hospital1")?;
    let h1_peer = Peer::connect(&net.endpoint(h1, &h1.peers[0])?).await?;
    let current = lifecycle::query_committed(&h1_peer, &h1_admin, &channel, EHR).await?;
    let mut definition = ChaincodeDefinition::new(EHR, &current.version, current.sequence + 1);
    let policy = fabric_policy::parse("OR('Hospital2MSP.peer')").map_err(|e| anyhow!("{e}"))?;
    definition.validation_parameter = fabric_proto::common::ApplicationPolicy {
        r#type: Some(fabric_proto::common::application_policy::Type::SignaturePolicy(policy)),
    }
    .encode_to_vec();
    let orderer = Orderer::connect(&healthblock_tests::orderer_endpoint(net)?).await?;
    let mut endorsers = Vec::new();
    for name in ["Hospital2", "Hospital3"] {
        let org = net.org(name)?;
        endorsers.push(Peer::connect(&net.endpoint(org, &org.peers[0])?).await?);
    }
    let timeout = Duration::from_secs(60);
    for (i, name) in ["Hospital2", "Hospital3"].iter().enumerate() {
        let admin = net.identity(&format!("Admin@{name}"))?;
        // Wait for each approval on both peers: the commit's two simulations
        // must read the same approvals, or the endorsements disagree.
        let targets = SubmitTargets {
            endorsers: &endorsers[i..=i],
            orderer: &orderer,
            commit_peers: &endorsers,
            commit_timeout: timeout,
        };
        lifecycle::approve_for_my_org(targets, &admin, &channel, &definition, None)
            .await
            .with_context(|| format!("{name} approves its own definition"))?;
    }
    let h2_admin = net.identity("Admin@Hospital2")?;
    let targets = SubmitTargets {
        endorsers: &endorsers,
        orderer: &orderer,
        commit_peers: &endorsers,
        commit_timeout: timeout,
    };
    match lifecycle::commit(targets, &h2_admin, &channel, &definition).await {
        Ok(status) => bail!("the coalition's definition committed: {status:?}"),
        Err(fabric_client::error::Error::Commit { code, .. })
            if code.0 == ENDORSEMENT_POLICY_FAILURE => {}
        Err(e) => bail!("the commit failed for another reason: {e}"),
    }
    let after = lifecycle::query_committed(&h1_peer, &h1_admin, &channel, EHR).await?;
    ensure!(
        after.sequence == current.sequence
            && after.validation_parameter == current.validation_parameter,
        "the definition changed: sequence {} -> {}",
        current.sequence,
        after.sequence
    );
    Ok(())
}

/// Finding 2: Hospital2's CA enrolled a patient identity carrying a
/// Hospital1 patient's id. It may not grant consent, read the trail, or
/// access the patient's records.
async fn foreign_patient_identity(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "attack-impostor").await?;
    let impostor = ctx.users.impostor;
    let client = ctx.sdk(&impostor).await?;
    let pid = PatientId::parse(&ctx.users.patient1_pid)?;
    let before = consents(&ctx).await?;
    let grant = GrantArgs {
        patient_id: pid.clone(),
        grantee: Grantee::User {
            user: ctx.users.doctor2.principal(),
        },
        scope: Scope::All,
        expires_at: None,
    };
    let refused = client
        .grant_consent(grant)
        .await
        .err()
        .ok_or_else(|| anyhow!("the impostor granted a consent"))?;
    ensure!(
        refused.code() == Some(ErrorCode::PermissionDenied),
        "the impostor's grant: code {:?}",
        refused.code()
    );
    let trail = client
        .audit_by_patient(&pid)
        .await
        .err()
        .ok_or_else(|| anyhow!("the impostor read the patient's audit trail"))?;
    let text = error_text(trail);
    ensure!(
        text.contains("audit trails are read by"),
        "the impostor's trail read: {text}"
    );
    // The impostor cannot even name a key: the patient's key is published
    // at the home hospital only, so its request is refused outright.
    let refused = client
        .request_access(&RecordId::parse(&rid)?, None)
        .await
        .err()
        .ok_or_else(|| anyhow!("the impostor's access request was answered"))?;
    let text = error_text(refused);
    ensure!(
        text.contains("is not the published, unrevoked encryption key"),
        "the impostor's access request: {text}"
    );
    ensure!(consents(&ctx).await? == before, "the consents changed");
    Ok(())
}

/// Finding 6: the key directory. The impostor patient identity cannot
/// publish a key for the patient; two hospitals cannot write Hospital1's
/// hospital key by hand; and a grant to someone who published no key fails
/// before anything is recorded, with no key pair made for them here.
async fn foreign_key_publication(ctx: Ctx) -> Result<()> {
    let patient_owner = format!("patient:{}", ctx.users.patient1_pid);
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let before = auditor.published(&patient_owner).await?;
    let impostor = ctx.sdk(&ctx.users.impostor).await?;
    let refused = impostor
        .publish_my_key()
        .await
        .err()
        .ok_or_else(|| anyhow!("the impostor published a key for the patient"))?;
    let text = error_text(refused);
    ensure!(
        text.contains("a patient publishes their key at their home hospital"),
        "the impostor's publication: {text}"
    );
    ensure!(
        auditor.published(&patient_owner).await? == before,
        "the patient's published key changed"
    );

    let hospital_owner = "hospital:Hospital1MSP";
    let h1_key = auditor.published(hospital_owner).await?;
    let mut forged = serde_json::to_value(&h1_key)?;
    let attacker_key = auditor.published(&ctx.users.doctor2.principal()).await?;
    forged["public_key_pem"] = Value::from(attacker_key.public_key_pem.clone());
    forged["fingerprint"] = Value::from(attacker_key.fingerprint.clone());
    let write = Write::put(composite("pubkey", &[hospital_owner]), &forged);
    let txid = forge(&ctx, "publish_key", vec![write], COALITION).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    ensure!(
        auditor.published(hospital_owner).await? == h1_key,
        "Hospital1's published key changed"
    );

    let patient = ctx.sdk(&ctx.users.patient1).await?;
    let ghost = "ghost@Hospital3MSP";
    let before = consents(&ctx).await?;
    let grant = GrantArgs {
        patient_id: PatientId::parse(&ctx.users.patient1_pid)?,
        grantee: Grantee::User {
            user: ghost.to_owned(),
        },
        scope: Scope::All,
        expires_at: None,
    };
    let refused = patient
        .grant_consent(grant)
        .await
        .err()
        .ok_or_else(|| anyhow!("a consent to a user without a published key went through"))?;
    let text = error_text(refused);
    ensure!(
        text.contains("ghost@Hospital3MSP has published no encryption key"),
        "grant to an unpublished user: {text}"
    );
    ensure!(consents(&ctx).await? == before, "a consent was recorded");
    let ghost_dir = ctx.net.layout.wallet_dir();
    let made = std::fs::read_dir(&ghost_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().contains("ghost"))
        })
        .unwrap_or(false);
    ensure!(
        !made,
        "a key pair was made for the ghost under {}",
        ghost_dir.display()
    );
    Ok(())
}

/// The control: the same machinery, endorsed by every hospital, writes a
/// record head and commits VALID.
async fn every_hospital_control(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "attack-control").await?;
    let write = Write::put(composite("record", &[&rid]), &tampered(&stored));
    let txid = forge(&ctx, "put_record", vec![write], EVERYONE).await?;
    expect_code_on_every_peer(&ctx, &txid, TxValidationCode::VALID.0).await?;
    let after = get_record(&ctx, &rid).await?;
    ensure!(
        after["ciphertext_sha256"] == tampered(&stored)["ciphertext_sha256"],
        "the valid hand-built write did not land: {after}"
    );
    Ok(())
}

/// The record as the attacker wants it: the blob pointer and hash replaced.
fn tampered(stored: &Value) -> Value {
    let mut forged = stored.clone();
    forged["storage_pointer"] = Value::from("s3://attacker/replaced-record");
    forged["ciphertext_sha256"] = Value::from("00".repeat(32));
    forged
}

/// The patient's consents, as the auditor lists them.
async fn consents(ctx: &Ctx) -> Result<Vec<Value>> {
    ctx.net.settle().await?;
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let list = auditor
        .list_consents(&PatientId::parse(&ctx.users.patient1_pid)?)
        .await?;
    Ok(serde_json::from_value(serde_json::to_value(list)?)?)
}

/// A patient's break-glass events, as the auditor lists them.
async fn break_glass_events(ctx: &Ctx, pid: &str) -> Result<Vec<Value>> {
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let list = auditor.list_break_glass(&PatientId::parse(pid)?).await?;
    Ok(serde_json::from_value(serde_json::to_value(list)?)?)
}

/// A record's audit trail, as the auditor reads it.
async fn record_trail(ctx: &Ctx, rid: &str) -> Result<Vec<Value>> {
    ctx.net.settle().await?;
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let trail = auditor.audit_by_record(&RecordId::parse(rid)?).await?;
    Ok(serde_json::from_value(serde_json::to_value(trail)?)?)
}

/// Builds a transaction with `writes` as a Hospital2 doctor's call of
/// `function`, endorsed with the peer keys of `endorsers` (org, peer index),
/// and sends it to the orderer. Returns the transaction id.
async fn forge(
    ctx: &Ctx,
    function: &str,
    writes: Vec<Write>,
    endorsers: &[(&str, usize)],
) -> Result<String> {
    forge_answering(ctx, function, writes, &[], endorsers).await
}

/// As [`forge`], with `answer` as the chaincode response's payload (what
/// the forged transaction claims the contract answered).
pub(crate) async fn forge_answering(
    ctx: &Ctx,
    function: &str,
    writes: Vec<Write>,
    answer: &[u8],
    endorsers: &[(&str, usize)],
) -> Result<String> {
    let net = &ctx.net;
    let attacker: User = ctx.users.doctor2;
    let creator = wallet_identity(net, attacker.name, attacker.org)?;
    let proposal =
        ProposalBuilder::new(&net.consortium.channel, EHR, function).build(creator.serialize());
    let chaincode_id = deployed_chaincode_id(ctx, &creator).await?;
    let payload = response_payload(&proposal, chaincode_id, writes, answer);
    let mut responses = Vec::new();
    for (org, index) in endorsers {
        let org = net.org(org)?;
        let node = org
            .peers
            .get(*index)
            .ok_or_else(|| anyhow!("{} has no peer {index}", org.name))?;
        let peer = peer_identity(net, org, node)?;
        responses.push(endorse_with(&peer, &payload));
    }
    let envelope =
        fabric_client::transaction::signed_transaction(&proposal.message, &responses, &creator)?;
    let (status, info) = broadcast(net, envelope).await?;
    ensure!(
        status == 200,
        "the orderer refused the envelope: {status} {info}"
    );
    Ok(proposal.txid)
}

/// The chaincode id (name and version) the attacker's own peer reports for
/// the contract, from a real response to a harmless `whoami` proposal.
async fn deployed_chaincode_id(ctx: &Ctx, creator: &SigningIdentity) -> Result<ChaincodeId> {
    let net = &ctx.net;
    let org = net.org("Hospital2")?;
    let proposal =
        ProposalBuilder::new(&net.consortium.channel, EHR, "whoami").build(creator.serialize());
    let peer = Peer::connect(&net.endpoint(org, &org.peers[0])?).await?;
    let response = peer.endorse(&proposal.txid, proposal.sign(creator)).await?;
    let status = response.response.as_ref().map_or(0, |r| r.status);
    ensure!(status == 200, "whoami on Hospital2's peer: status {status}");
    let prp = ProposalResponsePayload::decode(response.payload.as_slice())?;
    let action = ChaincodeAction::decode(prp.extension.as_slice())?;
    action
        .chaincode_id
        .filter(|id| id.name == EHR && !id.version.is_empty())
        .context("the peer's response names no chaincode version")
}

/// The serialized `ProposalResponsePayload` of a response with `writes`.
fn response_payload(
    proposal: &Proposal,
    chaincode_id: ChaincodeId,
    writes: Vec<Write>,
    answer: &[u8],
) -> Vec<u8> {
    let kv = KvrwSet {
        writes: writes
            .into_iter()
            .map(|w| KvWrite {
                key: w.key,
                is_delete: w.value.is_none(),
                value: w.value.unwrap_or_default(),
            })
            .collect(),
        ..Default::default()
    };
    let results = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: EHR.to_owned(),
            rwset: kv.encode_to_vec(),
            collection_hashed_rwset: Vec::new(),
        }],
    };
    let action = ChaincodeAction {
        results: results.encode_to_vec(),
        events: Vec::new(),
        response: Some(Response {
            status: 200,
            message: String::new(),
            payload: answer.to_vec(),
        }),
        chaincode_id: Some(chaincode_id),
    };
    ProposalResponsePayload {
        proposal_hash: proposal.hash().to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec()
}

/// A proposal response signed by `peer` as an endorser signs: over payload || endorser.
fn endorse_with(peer: &SigningIdentity, payload: &[u8]) -> ProposalResponse {
    let endorser = peer.serialize();
    let mut signed = payload.to_vec();
    signed.extend_from_slice(&endorser);
    ProposalResponse {
        version: 1,
        timestamp: None,
        response: Some(Response {
            status: 200,
            message: String::new(),
            payload: Vec::new(),
        }),
        payload: payload.to_vec(),
        endorsement: Some(Endorsement {
            endorser,
            signature: peer.sign(&signed),
        }),
        interest: None,
    }
}

/// Waits for `txid` on each of the network's peers and checks its validation code there.
pub(crate) async fn expect_code_on_every_peer(ctx: &Ctx, txid: &str, want: i32) -> Result<()> {
    let net = &ctx.net;
    let peers = net.peers();
    ensure!(
        peers.len() == 4,
        "expected 4 peers, the network has {}",
        peers.len()
    );
    for (org, peer) in peers {
        // Blocks are for peers and admins (the channel's ACLs).
        let reader = net.identity(&format!("Admin@{}", org.name))?;
        let gw = net.gateway_on(reader, org, peer).await?;
        let (block, code) = find_tx_code(&gw, &net.consortium.channel, 0, txid, 0)
            .await
            .with_context(|| format!("{} on {}", txid, org.fqdn(peer)))?;
        ensure!(
            code == want,
            "{} committed tx {txid} in block {block} as {} (want {})",
            org.fqdn(peer),
            TxValidationCode(code),
            TxValidationCode(want)
        );
    }
    Ok(())
}
