//! The endorser end to end on loopback: real identities, a real ledger, a fake
//! chaincode server speaking the shim protocol, and the devnet validator.

mod support;

use devnet_endorser::Refusal;
use fabric_package::{build_ccaas_package, CcaasConnection};
use fabric_proto::kvrwset::{range_query_info::ReadsInfo, Version};
use fabric_proto::lifecycle::{
    chaincode_source, ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource,
    CheckCommitReadinessArgs, CheckCommitReadinessResult, CommitChaincodeDefinitionArgs,
    InstallChaincodeArgs, InstallChaincodeResult, QueryChaincodeDefinitionArgs,
    QueryChaincodeDefinitionResult, QueryInstalledChaincodesArgs, QueryInstalledChaincodesResult,
};
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeEvent, ProposalResponse, ProposalResponsePayload,
};
use prost::Message;
use std::collections::BTreeMap;
use std::time::Duration;
use support::fake_chaincode::FakeChaincode;
use support::*;

const CC: &str = "kvcc";
/// VALIDATION_PARAMETER "a peer of Org2MSP", as Fabric encoded it (expected.json, block 13).
const SBE_ORG2: &str = "120812060801120208001a0d120b0a074f7267324d53501003";

async fn install(peer: &Peer, admin: &fabric_msp::SigningIdentity, package: &[u8]) -> String {
    let args = InstallChaincodeArgs {
        chaincode_install_package: package.to_vec(),
    }
    .encode_to_vec();
    let prop = proposal(admin, "", "_lifecycle", &[b"InstallChaincode", &args]);
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    let r = resp.response.unwrap();
    assert_eq!(r.status, 200, "{}", r.message);
    assert!(
        resp.endorsement.is_none(),
        "channel-less proposals are not endorsed"
    );
    InstallChaincodeResult::decode(r.payload.as_slice())
        .unwrap()
        .package_id
}

async fn invoke(peer: &Peer, net: &Net, args: &[&str]) -> (Prop, ProposalResponse) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let prop = proposal(&net.orgs[0].client, CHANNEL, CC, &args);
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    (prop, resp)
}

fn status(resp: &ProposalResponse) -> (i32, String) {
    let r = resp.response.as_ref().unwrap();
    (r.status, r.message.clone())
}

fn action(resp: &ProposalResponse) -> ChaincodeAction {
    let prp = ProposalResponsePayload::decode(resp.payload.as_slice()).unwrap();
    ChaincodeAction::decode(prp.extension.as_slice()).unwrap()
}

/// A peer of Org1 with chaincode `kvcc` defined, installed and served by a fake server.
async fn running_chaincode(net: &Net, timeout: Duration) -> (Peer, FakeChaincode, String) {
    let peer = net.peer_with_timeout(0, timeout);
    // The package names the server's address, so reserve it first.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let connection = CcaasConnection {
        dial_timeout: "3s".into(),
        ..CcaasConnection::plaintext(addr.to_string())
    };
    let package = build_ccaas_package("kvcc_1.0", &connection).unwrap().bytes;
    let package_id = install(&peer, &net.orgs[0].admin, &package).await;
    let server = FakeChaincode::start(&package_id, &addr.to_string()).await;
    define_chaincode(&peer.ledger, net, CC, &package_id);
    (peer, server, package_id)
}

#[tokio::test]
async fn records_reads_writes_and_signs_like_fabric() {
    let net = Net::new(2);
    let (peer, _server, _) = running_chaincode(&net, Duration::from_secs(30)).await;
    seed(&peer.ledger, CC, &[("a", b"1"), ("range-b", b"x")]);
    seed(&peer.ledger, CC, &[("range-d", b"y")]);
    let seq_version = Some(Version {
        block_num: 0,
        tx_num: 0,
    });

    let (prop, resp) = invoke(&peer, &net, &["readwrite", "a", "2"]).await;
    assert_eq!(status(&resp), (200, String::new()));
    assert_eq!(resp.version, 1);
    let rw = rwset_of(&resp);
    let names: Vec<_> = rw.ns_rwset.iter().map(|n| n.namespace.as_str()).collect();
    assert_eq!(names, ["_lifecycle", CC]);
    let lc = ns_kv(&rw, "_lifecycle");
    assert_eq!(lc.reads.len(), 1);
    assert_eq!(lc.reads[0].key, "namespaces/fields/kvcc/Sequence");
    assert_eq!(
        lc.reads[0].version, seq_version,
        "the definition was committed in block 0"
    );
    let cc = ns_kv(&rw, CC);
    assert_eq!(cc.reads[0].key, "a");
    assert_eq!(
        cc.reads[0].version,
        Some(Version {
            block_num: 1,
            tx_num: 0
        })
    );
    assert_eq!(
        (cc.writes[0].key.as_str(), cc.writes[0].value.as_slice()),
        ("a", b"2".as_slice())
    );

    // Proposal hash: channel header || signature header || payload without transient data.
    let prp = ProposalResponsePayload::decode(resp.payload.as_slice()).unwrap();
    let mut hashed = prop.header.channel_header.clone();
    hashed.extend_from_slice(&prop.header.signature_header);
    hashed.extend_from_slice(&prop.payload_no_transient);
    assert_eq!(prp.proposal_hash, fabric_msp::sha256(&hashed).to_vec());
    let act = action(&resp);
    assert_eq!(
        act.chaincode_id
            .as_ref()
            .map(|c| (c.name.as_str(), c.version.as_str())),
        Some((CC, "1.0"))
    );
    // Endorsement: the peer's identity over payload || endorser.
    let e = resp.endorsement.clone().unwrap();
    assert_eq!(e.endorser, net.orgs[0].peer.serialize());
    let mut signed = resp.payload.clone();
    signed.extend_from_slice(&e.endorser);
    net.orgs[0]
        .peer
        .identity
        .verify(&signed, &e.signature)
        .unwrap();
    let interest = resp.interest.clone().unwrap();
    assert_eq!(interest.chaincodes.len(), 1);
    assert_eq!(interest.chaincodes[0].name, CC);

    // A missing key is read without a version.
    let (_, resp) = invoke(&peer, &net, &["get", "missing"]).await;
    let cc = ns_kv(&rwset_of(&resp), CC);
    assert_eq!(cc.reads[0].key, "missing");
    assert!(cc.reads[0].version.is_none());
    assert!(cc.writes.is_empty());

    // Fabric's simulator does not read its own writes: the committed value comes back.
    let (_, resp) = invoke(&peer, &net, &["readyourwrite", "a", "new"]).await;
    assert_eq!(resp.response.as_ref().unwrap().payload, b"1");
    let cc = ns_kv(&rwset_of(&resp), CC);
    assert_eq!(
        cc.reads[0].version,
        Some(Version {
            block_num: 1,
            tx_num: 0
        })
    );
    assert_eq!(cc.writes[0].value, b"new");

    // Range query: raw reads with versions, exhausted, end key as requested.
    let (_, resp) = invoke(&peer, &net, &["range", "range-a", "range-z"]).await;
    assert_eq!(resp.response.as_ref().unwrap().payload, b"2");
    let cc = ns_kv(&rwset_of(&resp), CC);
    let q = &cc.range_queries_info[0];
    assert_eq!(
        (q.start_key.as_str(), q.end_key.as_str(), q.itr_exhausted),
        ("range-a", "range-z", true)
    );
    let Some(ReadsInfo::RawReads(raw)) = &q.reads_info else {
        panic!("raw reads expected")
    };
    let keys: Vec<_> = raw
        .kv_reads
        .iter()
        .map(|r| (r.key.as_str(), r.version.as_ref().unwrap().block_num))
        .collect();
    assert_eq!(keys, [("range-b", 1), ("range-d", 2)]);
    assert_eq!(cc.writes[0].key, "count-out");

    // Metadata write: VALIDATION_PARAMETER entry.
    let (_, resp) = invoke(&peer, &net, &["setpolicy", "a", SBE_ORG2]).await;
    let cc = ns_kv(&rwset_of(&resp), CC);
    let md = &cc.metadata_writes[0];
    assert_eq!(md.key, "a");
    assert_eq!(md.entries[0].name, "VALIDATION_PARAMETER");
    assert_eq!(hex::encode(&md.entries[0].value), SBE_ORG2);

    // Events get the peer's chaincode id and txid.
    let (prop, resp) = invoke(&peer, &net, &["event", "k", "v"]).await;
    let event = ChaincodeEvent::decode(action(&resp).events.as_slice()).unwrap();
    assert_eq!(
        (
            event.chaincode_id.as_str(),
            event.tx_id.as_str(),
            event.event_name.as_str(),
            event.payload.as_slice()
        ),
        (CC, prop.txid.as_str(), "kv_put", b"k=v".as_slice())
    );

    // History queries answer but leave nothing in the rwset.
    let (_, resp) = invoke(&peer, &net, &["history", "a"]).await;
    assert_eq!(status(&resp).0, 200);
    let rw = rwset_of(&resp);
    assert!(
        rw.ns_rwset.iter().all(|n| n.namespace != CC),
        "history reads are not recorded"
    );
    assert_eq!(
        resp.response.as_ref().unwrap().payload,
        b"1",
        "one committed write of 'a'"
    );
}

#[tokio::test]
async fn chaincode_errors_and_unsupported_calls() {
    let net = Net::new(2);
    let (peer, _server, _) = running_chaincode(&net, Duration::from_secs(30)).await;

    let (_, resp) = invoke(&peer, &net, &["fail"]).await;
    assert_eq!(status(&resp), (500, "boom".into()));
    assert!(
        resp.endorsement.is_none(),
        "status >= 400 is never endorsed"
    );
    assert!(
        !resp.payload.is_empty(),
        "status >= 500 keeps the payload, as Fabric"
    );

    let (_, resp) = invoke(&peer, &net, &["nosuch"]).await;
    assert_eq!(status(&resp).0, 400);
    assert!(resp.endorsement.is_none() && resp.payload.is_empty());

    let (_, resp) = invoke(&peer, &net, &["rich"]).await;
    assert!(
        status(&resp)
            .1
            .contains("rich queries are not supported on the devnet (no CouchDB)"),
        "{:?}",
        status(&resp)
    );
    let (_, resp) = invoke(&peer, &net, &["private"]).await;
    assert!(
        status(&resp)
            .1
            .contains("private data is not supported on the devnet"),
        "{:?}",
        status(&resp)
    );
}

#[tokio::test]
async fn concurrent_transactions_share_one_stream() {
    let net = Net::new(2);
    let (peer, _server, _) = running_chaincode(&net, Duration::from_secs(30)).await;
    let calls = (0..8).map(|i| {
        let (peer, net) = (&peer, &net);
        async move {
            let key = format!("k{i}");
            let (_, resp) = invoke(peer, net, &["put", &key, "v"]).await;
            (key, resp)
        }
    });
    for (key, resp) in futures::future::join_all(calls).await {
        assert_eq!(status(&resp).0, 200);
        assert_eq!(ns_kv(&rwset_of(&resp), CC).writes[0].key, key);
    }
}

#[tokio::test]
async fn interest_carries_key_level_policies() {
    let net = Net::new(2);
    let (peer, _server, _) = running_chaincode(&net, Duration::from_secs(30)).await;
    seed(&peer.ledger, CC, &[("sbe-key", b"v")]);
    let (_, resp) = invoke(&peer, &net, &["setpolicy", "sbe-key", SBE_ORG2]).await;
    apply_rwset(&peer.ledger, &rwset_of(&resp));

    let (_, resp) = invoke(&peer, &net, &["put", "sbe-key", "w"]).await;
    let call = &resp.interest.as_ref().unwrap().chaincodes[0];
    assert_eq!(call.name, CC);
    assert_eq!(call.key_policies.len(), 1);
    assert_eq!(hex::encode(call.key_policies[0].encode_to_vec()), SBE_ORG2);
    assert!(
        call.disregard_namespace_policy,
        "only keys with their own policy were written"
    );

    let (_, resp) = invoke(&peer, &net, &["getmeta", "sbe-key"]).await;
    assert_eq!(
        resp.response.as_ref().unwrap().payload,
        b"VALIDATION_PARAMETER"
    );
}

/// Fabric's answer to a creator it cannot trust: the channel and the claimed
/// org only (the reason goes to the peer's log).
const DENIED_ORG1: &str =
    "error validating proposal: access denied: channel [ehr] creator org [Org1MSP]";

#[tokio::test]
async fn proposal_checks_fail_like_fabric() {
    let net = Net::new(2);
    let peer = net.peer(0);
    let client = &net.orgs[0].client;

    // Signature does not verify.
    let mut prop = proposal(client, CHANNEL, CC, &[b"get"]);
    let last = prop.signed.signature.len() - 1;
    prop.signed.signature[last] ^= 1;
    let err = peer
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap_err();
    assert!(matches!(err, Refusal::Rejected(_)));
    assert_eq!(err.message(), DENIED_ORG1);

    // High-S twin of a valid signature.
    let mut prop = proposal(client, CHANNEL, CC, &[b"get"]);
    prop.signed.signature = high_s_twin(&prop.signed.signature);
    let err = peer
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap_err();
    assert_eq!(err.message(), DENIED_ORG1);

    // Wrong txid.
    let prop = proposal_with(
        client,
        CHANNEL,
        CC,
        &[b"get"],
        BTreeMap::new(),
        Some("abc".into()),
    );
    let err = peer
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("incorrectly computed txid 'abc'"),
        "{}",
        err.message()
    );

    // Creator from an MSP the channel does not know.
    let stranger = Org::new(9);
    let prop = proposal(&stranger.client, CHANNEL, CC, &[b"get"]);
    let err = peer
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "error validating proposal: access denied: channel [ehr] creator org unknown, creator is malformed"
    );

    // Not our channel: a status-500 response, as Fabric.
    let prop = proposal(client, "other", CC, &[b"get"]);
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    assert_eq!(status(&resp), (500, "channel 'other' not found".into()));

    // Chaincode not defined.
    let prop = proposal(client, CHANNEL, "nosuchcc", &[b"get"]);
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    let (code, msg) = status(&resp);
    assert_eq!(code, 500);
    assert!(
        msg.contains(
            "make sure the chaincode nosuchcc has been successfully defined on channel ehr"
        ),
        "{msg}"
    );

    // Garbage.
    let garbage = fabric_proto::protos::SignedProposal {
        proposal_bytes: vec![0xff, 0xff],
        signature: vec![1],
    };
    assert!(peer.endorser.process_proposal(&garbage).await.is_err());
}

/// Re-encodes a DER signature with S replaced by n - S.
fn high_s_twin(der: &[u8]) -> Vec<u8> {
    use p256::elliptic_curve::bigint::{Encoding, U256};
    use p256::elliptic_curve::Curve;
    let sig = p256::ecdsa::Signature::from_der(der).unwrap();
    let s = U256::from_be_slice(&sig.s().to_bytes());
    let twin = p256::NistP256::ORDER.wrapping_sub(&s);
    let twin_bytes: p256::FieldBytes = twin.to_be_bytes().into();
    let twin = p256::ecdsa::Signature::from_scalars(sig.r().to_bytes(), twin_bytes).unwrap();
    twin.to_der().as_bytes().to_vec()
}

#[tokio::test]
async fn times_out_on_a_silent_chaincode() {
    let net = Net::new(2);
    let (peer, _server, _) = running_chaincode(&net, Duration::from_millis(800)).await;
    let started = std::time::Instant::now();
    let (_, resp) = invoke(&peer, &net, &["hang"]).await;
    let (code, msg) = status(&resp);
    assert_eq!(code, 500);
    assert!(
        msg.contains("timeout expired while executing transaction"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn reconnects_after_the_chaincode_server_restarts() {
    let net = Net::new(2);
    let (peer, server, package_id) = running_chaincode(&net, Duration::from_secs(30)).await;
    let addr = server.addr;
    let (_, resp) = invoke(&peer, &net, &["put", "a", "1"]).await;
    assert_eq!(status(&resp).0, 200);

    server.stop().await;
    let (_, resp) = invoke(&peer, &net, &["put", "a", "2"]).await;
    let (code, msg) = status(&resp);
    assert_eq!(code, 500, "a dead server must fail the proposal");
    assert!(msg.contains("failed to execute transaction"), "{msg}");

    let _server = FakeChaincode::start(&package_id, &addr.to_string()).await;
    let (_, resp) = invoke(&peer, &net, &["put", "a", "3"]).await;
    assert_eq!(status(&resp), (200, String::new()));
}

fn approve_args(package_id: &str) -> Vec<u8> {
    ApproveChaincodeDefinitionForMyOrgArgs {
        sequence: 1,
        name: CC.into(),
        version: "1.0".into(),
        source: Some(ChaincodeSource {
            r#type: Some(chaincode_source::Type::LocalPackage(
                chaincode_source::Local {
                    package_id: package_id.into(),
                },
            )),
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

async fn readiness(peer: &Peer, signer: &fabric_msp::SigningIdentity) -> BTreeMap<String, bool> {
    let args = CheckCommitReadinessArgs {
        sequence: 1,
        name: CC.into(),
        version: "1.0".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let prop = proposal(
        signer,
        CHANNEL,
        "_lifecycle",
        &[b"CheckCommitReadiness", &args],
    );
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    let r = resp.response.unwrap();
    assert_eq!(r.status, 200, "{}", r.message);
    CheckCommitReadinessResult::decode(r.payload.as_slice())
        .unwrap()
        .approvals
        .into_iter()
        .collect()
}

#[tokio::test]
async fn lifecycle_install_approve_commit_and_invoke() {
    let net = Net::new(2);
    let peers = [net.peer(0), net.peer(1)];
    let ledgers = [&peers[0].ledger, &peers[1].ledger];
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let package = build_ccaas_package("kvcc_1.0", &CcaasConnection::plaintext(addr.to_string()))
        .unwrap()
        .bytes;

    // Install on both peers (admins only; idempotent).
    let package_id = install(&peers[0], &net.orgs[0].admin, &package).await;
    assert_eq!(
        install(&peers[0], &net.orgs[0].admin, &package).await,
        package_id
    );
    assert_eq!(
        install(&peers[1], &net.orgs[1].admin, &package).await,
        package_id
    );
    let args = QueryInstalledChaincodesArgs {}.encode_to_vec();
    let prop = proposal(
        &net.orgs[0].admin,
        "",
        "_lifecycle",
        &[b"QueryInstalledChaincodes", &args],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    let installed =
        QueryInstalledChaincodesResult::decode(resp.response.unwrap().payload.as_slice()).unwrap();
    assert_eq!(installed.installed_chaincodes[0].package_id, package_id);
    let prop = proposal(
        &net.orgs[0].client,
        "",
        "_lifecycle",
        &[b"InstallChaincode", &package],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert!(
        status(&resp).1.contains("failed ACL check"),
        "{:?}",
        status(&resp)
    );

    // A client may not approve.
    let approve = approve_args(&package_id);
    let prop = proposal(
        &net.orgs[0].client,
        CHANNEL,
        "_lifecycle",
        &[b"ApproveChaincodeDefinitionForMyOrg", &approve],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert!(
        status(&resp).1.contains("not an admin"),
        "{:?}",
        status(&resp)
    );

    // Org1 approves (endorsed by its own peer only) and the validator accepts it.
    let admin1 = &net.orgs[0].admin;
    let prop = proposal(
        admin1,
        CHANNEL,
        "_lifecycle",
        &[b"ApproveChaincodeDefinitionForMyOrg", &approve],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert_eq!(status(&resp).0, 200, "{:?}", status(&resp));
    let codes = commit_block(
        &peers[0],
        &net,
        &ledgers,
        vec![envelope(admin1, &prop, &[&resp])],
    );
    assert_eq!(codes, [0], "approval must validate under Org1's own policy");
    // Approving the same thing again is refused, as in Fabric.
    let again = proposal(
        admin1,
        CHANNEL,
        "_lifecycle",
        &[b"ApproveChaincodeDefinitionForMyOrg", &approve],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&again.signed)
        .await
        .unwrap();
    assert!(
        status(&resp).1.contains("unchanged content"),
        "{:?}",
        status(&resp)
    );
    // Replaying a committed proposal is a duplicate.
    let err = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("duplicate transaction found"),
        "{}",
        err.message()
    );

    let ready = readiness(&peers[0], &net.orgs[0].client).await;
    assert_eq!(
        ready,
        BTreeMap::from([("Org1MSP".into(), true), ("Org2MSP".into(), false)])
    );

    // Org2's peer will not endorse a commit its org has not approved.
    let commit = CommitChaincodeDefinitionArgs {
        sequence: 1,
        name: CC.into(),
        version: "1.0".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let prop = proposal(
        admin1,
        CHANNEL,
        "_lifecycle",
        &[b"CommitChaincodeDefinition", &commit],
    );
    let resp = peers[1]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert!(
        status(&resp)
            .1
            .contains("chaincode definition not agreed to by this org (Org2MSP)"),
        "{:?}",
        status(&resp)
    );

    let admin2 = &net.orgs[1].admin;
    let prop = proposal(
        admin2,
        CHANNEL,
        "_lifecycle",
        &[b"ApproveChaincodeDefinitionForMyOrg", &approve],
    );
    let resp = peers[1]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert_eq!(status(&resp).0, 200, "{:?}", status(&resp));
    assert_eq!(
        commit_block(
            &peers[1],
            &net,
            &ledgers,
            vec![envelope(admin2, &prop, &[&resp])]
        ),
        [0]
    );
    let ready = readiness(&peers[1], &net.orgs[1].client).await;
    assert!(ready.values().all(|v| *v), "{ready:?}");

    // Commit, endorsed by both orgs (MAJORITY of 2).
    let prop = proposal(
        admin1,
        CHANNEL,
        "_lifecycle",
        &[b"CommitChaincodeDefinition", &commit],
    );
    let r1 = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    let r2 = peers[1]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert_eq!(status(&r1).0, 200, "{:?}", status(&r1));
    assert_eq!(
        r1.payload, r2.payload,
        "both peers must simulate identically"
    );
    let lc = ns_kv(&rwset_of(&r1), "_lifecycle");
    let written: Vec<_> = lc.writes.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        written,
        [
            "namespaces/fields/kvcc/Collections",
            "namespaces/fields/kvcc/EndorsementInfo",
            "namespaces/fields/kvcc/Sequence",
            "namespaces/fields/kvcc/ValidationInfo",
            "namespaces/metadata/kvcc"
        ]
    );
    assert!(
        peers[0].endorser.definition(CC).is_none(),
        "not visible before it commits"
    );
    // Endorsed by one org only, the commit fails the lifecycle MAJORITY policy.
    let lone = proposal(
        admin1,
        CHANNEL,
        "_lifecycle",
        &[b"CommitChaincodeDefinition", &commit],
    );
    let lone_resp = peers[0]
        .endorser
        .process_proposal(&lone.signed)
        .await
        .unwrap();
    let codes = commit_block(
        &peers[0],
        &net,
        &ledgers,
        vec![
            envelope(admin1, &lone, &[&lone_resp]),
            envelope(admin1, &prop, &[&r1, &r2]),
        ],
    );
    assert_eq!(codes, [10, 0], "ENDORSEMENT_POLICY_FAILURE, then VALID");

    for peer in &peers {
        let def = peer.endorser.definition(CC).expect("definition committed");
        assert_eq!((def.sequence, def.version.as_str()), (1, "1.0"));
        assert!(peer.endorser.registry().endorsement_policy(CC).is_some());
    }
    let args = QueryChaincodeDefinitionArgs { name: CC.into() }.encode_to_vec();
    let prop = proposal(
        &net.orgs[0].client,
        CHANNEL,
        "_lifecycle",
        &[b"QueryChaincodeDefinition", &args],
    );
    let resp = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    let def =
        QueryChaincodeDefinitionResult::decode(resp.response.unwrap().payload.as_slice()).unwrap();
    assert_eq!(
        (
            def.sequence,
            def.version.as_str(),
            def.endorsement_plugin.as_str()
        ),
        (1, "1.0", "escc")
    );
    assert!(def.approvals.values().all(|v| *v));

    // The chaincode now runs, and a put endorsed by both orgs validates.
    let _server = FakeChaincode::start(&package_id, &addr.to_string()).await;
    let prop = proposal(&net.orgs[0].client, CHANNEL, CC, &[b"put", b"x", b"1"]);
    let r1 = peers[0]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    let r2 = peers[1]
        .endorser
        .process_proposal(&prop.signed)
        .await
        .unwrap();
    assert_eq!(status(&r1), (200, String::new()));
    assert_eq!(r1.payload, r2.payload);
    let codes = commit_block(
        &peers[0],
        &net,
        &ledgers,
        vec![envelope(&net.orgs[0].client, &prop, &[&r1, &r2])],
    );
    assert_eq!(codes, [0]);
    assert_eq!(peers[1].ledger.get_state(CC, "x").unwrap().value, b"1");
}

#[tokio::test]
async fn dials_a_tls_chaincode_server() {
    let ca = healthblock_test_support::TestCa::root("tlsca.test", None);
    let server = ca
        .leaf("kvcc.example.com")
        .sans(&["kvcc.example.com"])
        .issue();

    let net = Net::new(2);
    let peer = net.peer(0);
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let connection = CcaasConnection {
        dial_timeout: "3s".into(),
        tls_required: true,
        root_cert: Some(ca.pem()),
        domain: Some("kvcc.example.com".into()),
        ..CcaasConnection::plaintext(addr.to_string())
    };
    let package = build_ccaas_package("kvcc_1.0", &connection).unwrap().bytes;
    let package_id = install(&peer, &net.orgs[0].admin, &package).await;
    let tls = Some((server.cert_pem, server.key_pem));
    let _server = FakeChaincode::start_with_tls(&package_id, &addr.to_string(), tls).await;
    define_chaincode(&peer.ledger, &net, CC, &package_id);
    let (_, resp) = invoke(&peer, &net, &["put", "a", "1"]).await;
    assert_eq!(status(&resp), (200, String::new()));
}
