//! Shared fixtures for the EHR contract tests: identities with Fabric CA
//! attribute extensions, and a ledger whose transactions carry a creator and
//! a controllable timestamp. The contract's peer clock follows the test clock
//! (plus a settable skew), so no test depends on the wall clock.
//!
//! Keys: every party has one P-256 key per test process ([`key_of`]), so a
//! fingerprint is known before it is published. The world publishes the
//! hospitals' and its actors' keys (a data key is wrapped at rest only to
//! the home hospital's and the patient's; everyone else names their own
//! published key in `request_access`).

#![allow(dead_code)] // each test file uses a different subset

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fabric_shim::{Chaincode, MemoryLedger, MemoryStub, Response};
use healthblock_chaincode::ehr::clock::{PeerClock, TimeBound, MAX_SKEW_SECONDS};
use healthblock_chaincode::ehr::model::Timestamp as EhrTime;
use healthblock_chaincode::ehr::EhrContract;
use prost_types::Timestamp;
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, PublicKeyData,
};
use serde_json::Value;

/// Fabric CA's attribute extension OID, as integer arcs.
pub(crate) const ATTR_OID: [u64; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 1];
/// Start of the test clock (2023-11-14T22:13:20Z).
pub(crate) const T0: i64 = 1_700_000_000;

pub(crate) const H1: &str = "Hospital1MSP";
pub(crate) const H2: &str = "Hospital2MSP";
pub(crate) const H3: &str = "Hospital3MSP";

/// A self-signed certificate with the given CN and OU and, when `attrs` is
/// given, Fabric CA's attribute extension holding the raw JSON
/// `{"attrs":{...}}` (Fabric CA puts the JSON bytes directly in the
/// extension value, not wrapped in DER).
pub(crate) fn cert(cn: &str, ou: &str, attrs: Option<Value>) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationalUnitName, ou);
    params.distinguished_name = dn;
    if let Some(attrs) = attrs {
        let json = serde_json::to_vec(&serde_json::json!({ "attrs": attrs })).expect("json");
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&ATTR_OID, json));
    }
    let key = KeyPair::generate().expect("key");
    params.self_signed(&key).expect("self-signed").pem()
}

/// A caller: MSP id and certificate.
#[derive(Clone, Debug)]
pub(crate) struct Actor {
    pub mspid: String,
    pub pem: String,
    /// `CN@MSP` (the user id consents name).
    pub user: String,
}

impl Actor {
    pub(crate) fn with_role(mspid: &str, cn: &str, role: &str) -> Actor {
        let pem = cert(
            cn,
            "client",
            Some(serde_json::json!({ "hb.role": role, "hf.EnrollmentID": cn })),
        );
        Actor::new(mspid, cn, pem)
    }

    pub(crate) fn new(mspid: &str, cn: &str, pem: String) -> Actor {
        Actor {
            mspid: mspid.to_owned(),
            pem,
            user: format!("{cn}@{mspid}"),
        }
    }

    pub(crate) fn doctor(mspid: &str, cn: &str) -> Actor {
        Actor::with_role(mspid, cn, "doctor")
    }

    pub(crate) fn nurse(mspid: &str, cn: &str) -> Actor {
        Actor::with_role(mspid, cn, "nurse")
    }

    pub(crate) fn auditor(mspid: &str, cn: &str) -> Actor {
        Actor::with_role(mspid, cn, "auditor")
    }

    pub(crate) fn admin(mspid: &str, cn: &str) -> Actor {
        Actor::with_role(mspid, cn, "admin")
    }

    /// An organisation admin (NodeOU admin) without any role attribute.
    pub(crate) fn org_admin(mspid: &str, cn: &str) -> Actor {
        Actor::new(mspid, cn, cert(cn, "admin", None))
    }

    /// A plain client without a role attribute.
    pub(crate) fn plain(mspid: &str, cn: &str) -> Actor {
        Actor::new(mspid, cn, cert(cn, "client", None))
    }

    pub(crate) fn patient(mspid: &str, cn: &str, pseudonym: &str) -> Actor {
        let pem = cert(
            cn,
            "client",
            Some(serde_json::json!({ "hb.role": "patient", "hb.pseudonym": pseudonym })),
        );
        let mut actor = Actor::new(mspid, cn, pem);
        actor.user = format!("patient:{pseudonym}");
        actor
    }
}

/// A pseudonym for test patient `n` (64 hex digits).
pub(crate) fn pid(n: u64) -> String {
    format!("{n:064x}")
}

/// A 64-hex value derived from a label (hashes, fingerprints, tokens).
pub(crate) fn hex64(label: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(label.as_bytes()))
}

/// An encryption key pair's public half: SPKI PEM and fingerprint (SHA-256
/// of the SPKI DER, as the contract computes it).
#[derive(Clone, Debug)]
pub(crate) struct TestKey {
    pub pem: String,
    pub fingerprint: String,
}

/// A fresh P-256 key.
pub(crate) fn fresh_key() -> TestKey {
    use sha2::{Digest, Sha256};
    let pair = KeyPair::generate().expect("P-256 key");
    TestKey {
        fingerprint: hex::encode(Sha256::digest(pair.subject_public_key_info())),
        pem: pair.public_key_pem(),
    }
}

/// The key of directory owner `owner` (`CN@MSP`, `patient:<id>`,
/// `hospital:<MSP>`): generated on first use, the same for the whole test
/// process, so fixtures can name a fingerprint before it is published.
pub(crate) fn key_of(owner: &str) -> TestKey {
    static KEYS: OnceLock<Mutex<HashMap<String, TestKey>>> = OnceLock::new();
    let mut keys = KEYS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    keys.entry(owner.to_owned())
        .or_insert_with(fresh_key)
        .clone()
}

/// Fingerprint of hospital `mspid`'s key (its key custodian's).
pub(crate) fn hospital_fp(mspid: &str) -> String {
    key_of(&format!("hospital:{mspid}")).fingerprint
}

/// Fingerprint of patient `pid`'s key.
pub(crate) fn patient_fp(pid: &str) -> String {
    key_of(&format!("patient:{pid}")).fingerprint
}

/// Fingerprint of `actor`'s own key.
pub(crate) fn fp_of(actor: &Actor) -> String {
    key_of(&actor.user).fingerprint
}

/// The endorsing peer's clock in the tests: the timestamp of the transaction
/// being endorsed plus a skew the test chooses (0 unless set).
#[derive(Debug, Default)]
pub(crate) struct TestPeerClock {
    current_tx: AtomicI64,
    skew: AtomicI64,
}

impl PeerClock for TestPeerClock {
    fn now(&self) -> EhrTime {
        EhrTime(self.current_tx.load(Ordering::SeqCst) + self.skew.load(Ordering::SeqCst))
    }
}

/// A ledger with the EHR contract and a clock that advances one second per
/// transaction unless a test sets it.
pub(crate) struct Net {
    pub ledger: MemoryLedger,
    pub cc: EhrContract,
    clock: AtomicI64,
    peer_clock: Arc<TestPeerClock>,
}

/// The decoded outcome of a call.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: i32,
    pub message: String,
    pub json: Value,
    pub event: Option<(String, Value)>,
    pub tx_id: String,
}

impl Outcome {
    fn from(response: Response, stub: &MemoryStub) -> Outcome {
        use fabric_shim::ChaincodeStub;
        let json = if response.payload.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&response.payload).expect("payload is JSON")
        };
        let event = stub.event().map(|e| {
            (
                e.event_name.clone(),
                serde_json::from_slice(&e.payload).expect("event payload is JSON"),
            )
        });
        Outcome {
            status: response.status,
            message: response.message,
            json,
            event,
            tx_id: stub.tx_id().to_owned(),
        }
    }

    /// Asserts success and returns the JSON.
    pub(crate) fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected success, got: {}", self.message);
        self.json
    }

    /// Asserts a 500 whose message contains `needle`.
    pub(crate) fn fails_with(self, needle: &str) {
        assert_eq!(self.status, 500, "expected failure, got {}", self.json);
        assert!(
            self.message.contains(needle),
            "message {:?} should contain {needle:?}",
            self.message
        );
    }
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

impl Net {
    pub(crate) fn new() -> Net {
        let peer_clock = Arc::new(TestPeerClock::default());
        Net {
            ledger: MemoryLedger::new(),
            cc: EhrContract::new(TimeBound::new(peer_clock.clone(), MAX_SKEW_SECONDS)),
            clock: AtomicI64::new(T0),
            peer_clock,
        }
    }

    /// Sets how far the peer's clock is ahead of (positive) or behind
    /// (negative) the timestamps of the next transactions.
    pub(crate) fn set_peer_skew(&self, seconds: i64) {
        self.peer_clock.skew.store(seconds, Ordering::SeqCst);
    }

    /// Sets the clock (unix seconds) of the next transactions.
    pub(crate) fn set_time(&self, seconds: i64) {
        self.clock.store(seconds, Ordering::SeqCst);
    }

    fn stub(&self, actor: &Actor, args: &[&str]) -> MemoryStub {
        let seconds = self.clock.fetch_add(1, Ordering::SeqCst);
        self.peer_clock.current_tx.store(seconds, Ordering::SeqCst);
        self.ledger
            .stub(args)
            .with_creator(&actor.mspid, &actor.pem)
            .with_timestamp(Timestamp { seconds, nanos: 0 })
    }

    /// Submits (commits on success).
    pub(crate) async fn submit(&self, actor: &Actor, args: &[&str]) -> Outcome {
        let stub = self.stub(actor, args);
        let (response, stub) = self.ledger.submit_stub(&self.cc, stub).await;
        Outcome::from(response, &stub)
    }

    /// Evaluates (never commits).
    pub(crate) async fn evaluate(&self, actor: &Actor, args: &[&str]) -> Outcome {
        let mut stub = self.stub(actor, args);
        let response = self.cc.invoke(&mut stub).await;
        Outcome::from(response, &stub)
    }

    /// Registers patient `pid` by `by`.
    pub(crate) async fn register(&self, by: &Actor, pid: &str) {
        self.submit(by, &["register_patient", pid]).await.ok();
    }

    /// `actor` publishes its own key ([`key_of`] its user id); returns the
    /// fingerprint.
    pub(crate) async fn publish(&self, actor: &Actor) -> String {
        let key = key_of(&actor.user);
        self.submit(actor, &["publish_key", &key.pem]).await.ok();
        key.fingerprint
    }

    /// Administrator `admin` publishes its hospital's key; returns the
    /// fingerprint.
    pub(crate) async fn publish_hospital(&self, admin: &Actor) -> String {
        let key = key_of(&format!("hospital:{}", admin.mspid));
        self.submit(admin, &["publish_key", &key.pem, "hospital"])
            .await
            .ok();
        key.fingerprint
    }

    /// Puts version `version` of record `rid`.
    pub(crate) async fn put(&self, by: &Actor, record: &Value) -> Outcome {
        self.submit(by, &["put_record", &record.to_string()]).await
    }
}

/// A put_record argument document.
pub(crate) fn record_json(rid: &str, pid: &str, version: u64, resource_type: &str) -> Value {
    serde_json::json!({
        "record_id": rid,
        "patient_id": pid,
        "version": version,
        "resource_type": resource_type,
        "ciphertext_sha256": hex64(&format!("{rid}/{version}")),
        "size": 1024 * version,
        "storage_pointer": format!("blobs/{}", hex64(&format!("{rid}/{version}"))),
        "blind_index": [hex64(&format!("patient:{pid}")), hex64(&format!("type:{resource_type}"))],
        "wraps": home_wraps(pid),
    })
}

/// The wraps a version of patient `pid` (of Hospital1) may have at rest:
/// Hospital1's key and the patient's.
pub(crate) fn home_wraps(pid: &str) -> Value {
    serde_json::json!([hospital_fp(H1), patient_fp(pid)])
}

/// The cast of the story: three hospitals, two patients of Hospital1, and
/// two records of patient 1 (an Observation `obs-1` and an ImagingStudy
/// `img-1`), both wrapped to Hospital1's and patient 1's keys. Every
/// hospital and every actor of the cast has published its key.
pub(crate) struct World {
    pub net: Net,
    pub h1_doctor: Actor,
    pub h1_nurse: Actor,
    pub h1_admin: Actor,
    pub h2_doctor: Actor,
    pub h2_doctor_b: Actor,
    pub h2_nurse: Actor,
    pub h2_admin: Actor,
    pub h3_doctor: Actor,
    pub h3_nurse: Actor,
    pub auditor: Actor,
    pub p1: String,
    pub p2: String,
    pub patient1: Actor,
    pub patient2: Actor,
}

impl World {
    pub(crate) async fn new() -> World {
        let p1 = pid(1);
        let p2 = pid(2);
        let world = World {
            net: Net::new(),
            h1_doctor: Actor::doctor(H1, "dr.house"),
            h1_nurse: Actor::nurse(H1, "nurse.joy"),
            h1_admin: Actor::admin(H1, "admin1"),
            h2_doctor: Actor::doctor(H2, "dr.grey"),
            h2_doctor_b: Actor::doctor(H2, "dr.yang"),
            h2_nurse: Actor::nurse(H2, "nurse.two"),
            h2_admin: Actor::admin(H2, "admin2"),
            h3_doctor: Actor::doctor(H3, "dr.er"),
            h3_nurse: Actor::nurse(H3, "nurse.three"),
            auditor: Actor::auditor(H2, "auditor"),
            patient1: Actor::patient(H1, "p-one", &p1),
            patient2: Actor::patient(H1, "p-two", &p2),
            p1,
            p2,
        };
        // Keys are published before the story's clock starts, so the
        // times the tests rely on are those of the records.
        world.net.set_time(T0 - 1000);
        for admin in [
            &world.h1_admin,
            &world.h2_admin,
            &Actor::admin(H3, "admin3"),
        ] {
            world.net.publish_hospital(admin).await;
        }
        for actor in [
            &world.h1_doctor,
            &world.h1_nurse,
            &world.h1_admin,
            &world.h2_doctor,
            &world.h2_doctor_b,
            &world.h2_nurse,
            &world.h2_admin,
            &world.h3_doctor,
            &world.h3_nurse,
            &world.auditor,
        ] {
            world.net.publish(actor).await;
        }
        world.net.set_time(T0);
        world.net.register(&world.h1_doctor, &world.p1).await;
        world.net.register(&world.h1_admin, &world.p2).await;
        // A patient publishes only once registered (at the home hospital).
        world.net.publish(&world.patient1).await;
        world.net.publish(&world.patient2).await;
        for (rid, kind) in [("obs-1", "Observation"), ("img-1", "ImagingStudy")] {
            let json = record_json(rid, &world.p1, 1, kind);
            world.net.put(&world.h1_doctor, &json).await.ok();
        }
        world
    }

    /// Grants a consent and returns its id.
    pub(crate) async fn grant(&self, by: &Actor, grant: Value) -> String {
        let consent = self
            .net
            .submit(by, &["grant_consent", &grant.to_string()])
            .await
            .ok();
        consent["consent_id"]
            .as_str()
            .expect("consent id")
            .to_owned()
    }

    /// `request_access` for the latest version, naming the caller's own
    /// key (published by the world, or by the test for an actor of its own).
    pub(crate) async fn access(&self, by: &Actor, rid: &str) -> Outcome {
        self.net
            .submit(by, &["request_access", rid, "", &fp_of(by)])
            .await
    }
}

/// A consent grant document.
pub(crate) fn grant_json(pid: &str, grantee: Value, scope: Value) -> Value {
    serde_json::json!({ "patient_id": pid, "grantee": grantee, "scope": scope })
}

/// Grantee: a hospital.
pub(crate) fn org(mspid: &str) -> Value {
    serde_json::json!({ "kind": "org", "mspid": mspid })
}

/// Grantee: one user.
pub(crate) fn user(actor: &Actor) -> Value {
    serde_json::json!({ "kind": "user", "user": actor.user })
}

/// Scope: all records.
pub(crate) fn all() -> Value {
    serde_json::json!({ "kind": "all" })
}

impl World {
    /// The audit entries of patient `pid` written by transaction `tx_id`, as
    /// the auditor reads the trail.
    pub(crate) async fn entries_of(&self, pid: &str, tx_id: &str) -> Vec<Value> {
        let trail = self
            .net
            .evaluate(&self.auditor, &["audit_by_patient", pid, "500"])
            .await
            .ok();
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["tx_id"] == tx_id)
            .cloned()
            .collect()
    }

    /// Hospital3's doctor opens a break-glass on patient 1 (a valid coded
    /// reason); returns its id.
    pub(crate) async fn open_break_glass(&self) -> String {
        let opened = self
            .net
            .submit(
                &self.h3_doctor,
                &[
                    "break_glass",
                    &self.p1,
                    "UNCONSCIOUS: unconscious in ER, no response to voice",
                ],
            )
            .await
            .ok();
        opened["break_glass_id"].as_str().unwrap().to_owned()
    }
}

/// The stored version key of version `v` of `rid`.
pub(crate) fn version_key(rid: &str, v: u64) -> String {
    fabric_shim::create_composite_key("record~version", &[rid, &format!("{v:020}")])
        .expect("version key")
}

/// The wrap list stored for version `v` of `rid`.
pub(crate) fn stored_wraps(net: &Net, rid: &str, v: u64) -> Vec<String> {
    let stored: Value =
        serde_json::from_slice(&net.ledger.get(&version_key(rid, v)).expect("version")).unwrap();
    stored["wraps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

/// Writes wrap list `wraps` into version `v` of `rid` (and into the head
/// when it is the latest version) behind the contract's back: the state a
/// ledger holds from before wraps at rest were limited to the home hospital
/// and the patient.
pub(crate) fn seed_wraps(net: &Net, rid: &str, v: u64, wraps: &[String]) {
    let head = fabric_shim::create_composite_key("record", &[rid]).expect("head key");
    for key in [version_key(rid, v), head] {
        let Some(bytes) = net.ledger.get(&key) else {
            continue;
        };
        let mut stored: Value = serde_json::from_slice(&bytes).unwrap();
        if stored["version"] != v {
            continue;
        }
        stored["wraps"] = serde_json::json!(wraps);
        net.ledger.seed(&key, serde_json::to_vec(&stored).unwrap());
    }
}

impl World {
    /// A delivery of break-glass `id` to Hospital3's doctor's key as the
    /// removed `fulfil_break_glass` recorded it: the doctor's wrap added to
    /// version 1 of each of `rids`, and the delivery record. Seeded, since no
    /// function writes either any more; `close_break_glass` must still
    /// withdraw such wraps.
    pub(crate) fn seed_legacy_delivery(&self, id: &str, rids: &[&str]) {
        let doctor_fp = fp_of(&self.h3_doctor);
        for rid in rids {
            let mut wraps = stored_wraps(&self.net, rid, 1);
            wraps.push(doctor_fp.clone());
            seed_wraps(&self.net, rid, 1, &wraps);
        }
        let principal = |a: &Actor, role: &str| serde_json::json!({"mspid": a.mspid, "user": a.user, "role": role});
        let delivery = serde_json::json!({
            "break_glass_id": id,
            "patient_id": self.p1,
            "doctor": principal(&self.h3_doctor, "doctor"),
            "key_fingerprint": doctor_fp,
            // Sorted, as the delivery stored them.
            "versions": rids
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|r| serde_json::json!({"record_id": r, "version": 1}))
                .collect::<Vec<_>>(),
            "fulfilled_by": principal(&self.h1_admin, "admin"),
            "fulfilled_at": serde_json::to_value(EhrTime(T0)).unwrap(),
            "tx_ids": ["legacy-fulfil"],
            "withdrawn": null,
        });
        // Deserialised as the contract will read it, so a drift in the
        // stored shape fails here rather than as a confusing closure.
        let _: healthblock_chaincode::ehr::model::BreakGlassGrant =
            serde_json::from_value(delivery.clone()).expect("a BreakGlassGrant");
        let key = fabric_shim::create_composite_key("breakglass~grant", &[&self.p1, id])
            .expect("grant key");
        self.net
            .ledger
            .seed(&key, serde_json::to_vec(&delivery).unwrap());
    }
}

/// The wrap list a version of patient `pid` (of Hospital1) holds at rest,
/// as stored (sorted).
pub(crate) fn at_rest(pid: &str) -> Vec<String> {
    let mut wraps = vec![hospital_fp(H1), patient_fp(pid)];
    wraps.sort();
    wraps
}
