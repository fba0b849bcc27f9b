//! The custodian's checks on a committed decision, one refusal each, on
//! transactions built the way a peer commits them (a signed proposal, an
//! endorsed response, the creator's envelope).

use std::time::{Duration, SystemTime};

use fabric_client::admin::channel::ProcessedTx;
use fabric_client::ProposalBuilder;
use fabric_msp::SigningIdentity;
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeId, Endorsement, ProposalResponse, ProposalResponsePayload, Response,
};
use healthblock_custodian::decision::{check, Expect};
use healthblock_ehr_types::model::{
    KeyFingerprint, PatientId, RecordId, ResourceType, Sha256Hex, StoragePointer,
};
use healthblock_ehr_types::results::{AccessResponse, Grant};
use healthblock_sdk::RefusalCode;
use healthblock_test_support::ca::TestCa;
use prost::Message;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

const CHANNEL: &str = "ehr";
const CC: &str = "ehr";
const HOME: &str = "Hospital1MSP";

fn identity(ca: &TestCa, cn: &str) -> SigningIdentity {
    let leaf = ca.leaf(cn).issue();
    SigningIdentity::from_pem(
        "Hospital2MSP",
        leaf.cert_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    )
    .unwrap()
}

fn der(id: &SigningIdentity) -> Vec<u8> {
    let ser = fabric_proto::msp::SerializedIdentity::decode(id.serialize().as_slice()).unwrap();
    CertificateDer::from_pem_slice(&ser.id_bytes)
        .unwrap()
        .as_ref()
        .to_vec()
}

fn answer(tx_id: &str, granted: bool, home: &str) -> AccessResponse {
    let hash = "ab".repeat(32);
    AccessResponse {
        granted,
        reason: if granted {
            "consent c1".into()
        } else {
            "no consent".into()
        },
        tx_id: tx_id.to_owned(),
        record_id: RecordId::parse("rec-0001").unwrap(),
        version: 1,
        grant: granted.then(|| Grant {
            patient_id: PatientId::parse(&"cd".repeat(32)).unwrap(),
            home_msp: home.to_owned(),
            requester: "doc@Hospital2MSP".into(),
            recipient: KeyFingerprint::parse(&"ef".repeat(32)).unwrap(),
            storage_pointer: StoragePointer::parse(&format!("hbstore:blobs/{hash}")).unwrap(),
            ciphertext_sha256: Sha256Hex::parse(&hash).unwrap(),
            size: 10,
            resource_type: ResourceType::parse("Observation").unwrap(),
            break_glass: false,
        }),
    }
}

/// What a committed transaction looks like; each field can be spoiled.
struct Built {
    creator: SigningIdentity,
    channel: &'static str,
    chaincode: &'static str,
    function: &'static str,
    status: i32,
    granted: bool,
    home: &'static str,
    answer_tx_id: Option<String>,
    validation_code: i32,
}

impl Built {
    fn new(creator: SigningIdentity) -> Self {
        Built {
            creator,
            channel: CHANNEL,
            chaincode: CC,
            function: "request_access",
            status: 200,
            granted: true,
            home: HOME,
            answer_tx_id: None,
            validation_code: 0,
        }
    }

    fn commit(self) -> (ProcessedTx, String) {
        let proposal = ProposalBuilder::new(self.channel, self.chaincode, self.function)
            .arg("rec-0001")
            .build(self.creator.serialize());
        let tx_id = proposal.txid.clone();
        let payload = serde_json::to_vec(&answer(
            self.answer_tx_id.as_deref().unwrap_or(&tx_id),
            self.granted,
            self.home,
        ))
        .unwrap();
        let action = ChaincodeAction {
            results: Vec::new(),
            events: Vec::new(),
            response: Some(Response {
                status: self.status,
                message: String::new(),
                payload,
            }),
            chaincode_id: Some(ChaincodeId {
                name: self.chaincode.to_owned(),
                version: "1".into(),
                path: String::new(),
            }),
        };
        let prp = ProposalResponsePayload {
            proposal_hash: proposal.hash().to_vec(),
            extension: action.encode_to_vec(),
        }
        .encode_to_vec();
        let response = ProposalResponse {
            version: 1,
            timestamp: None,
            response: Some(Response {
                status: 200,
                message: String::new(),
                payload: Vec::new(),
            }),
            payload: prp,
            endorsement: Some(Endorsement {
                endorser: self.creator.serialize(),
                signature: Vec::new(),
            }),
            interest: None,
        };
        let envelope = fabric_client::transaction::signed_transaction(
            &proposal.message,
            &[response],
            &self.creator,
        )
        .unwrap();
        (
            ProcessedTx {
                envelope,
                validation_code: self.validation_code,
            },
            tx_id,
        )
    }
}

fn expect(now: SystemTime) -> Expect<'static> {
    Expect {
        channel: CHANNEL,
        chaincode: CC,
        mspid: HOME,
        max_age: Duration::from_secs(300),
        now,
    }
}

fn refused(b: Built, caller: &[u8], now: SystemTime) -> RefusalCode {
    let (tx, id) = b.commit();
    match check(&tx, &id, caller, &expect(now)) {
        Ok(d) => panic!("released for {:?}", d.response),
        Err(r) => r.code,
    }
}

#[test]
fn a_fresh_valid_grant_of_the_caller_passes_and_nothing_else_does() {
    let ca = TestCa::root("ca.hospital2", Some("hospital2"));
    let doctor = identity(&ca, "doc");
    let other = identity(&ca, "other");
    let caller = der(&doctor);
    let now = SystemTime::now();

    let (tx, id) = Built::new(doctor.clone()).commit();
    let decision = check(&tx, &id, &caller, &expect(now)).expect("the legitimate decision");
    assert_eq!(decision.grant.home_msp, HOME);
    assert_eq!(decision.response.tx_id, id);

    let spoil = |f: &dyn Fn(&mut Built)| {
        let mut b = Built::new(doctor.clone());
        f(&mut b);
        refused(b, &caller, now)
    };
    assert_eq!(spoil(&|b| b.validation_code = 10), RefusalCode::Invalid);
    assert_eq!(spoil(&|b| b.validation_code = 11), RefusalCode::Invalid);
    assert_eq!(spoil(&|b| b.granted = false), RefusalCode::NotAGrant);
    assert_eq!(spoil(&|b| b.status = 500), RefusalCode::NotAGrant);
    assert_eq!(
        spoil(&|b| b.function = "get_record"),
        RefusalCode::NotAGrant
    );
    assert_eq!(spoil(&|b| b.chaincode = "kv"), RefusalCode::NotAGrant);
    assert_eq!(spoil(&|b| b.channel = "other"), RefusalCode::NotAGrant);
    assert_eq!(
        spoil(&|b| b.answer_tx_id = Some("00".repeat(32))),
        RefusalCode::NotAGrant
    );
    assert_eq!(spoil(&|b| b.home = "Hospital2MSP"), RefusalCode::NotHome);
    assert_eq!(
        spoil(&|b| b.creator = other.clone()),
        RefusalCode::ForeignCaller
    );
    // Too old, and from the future.
    assert_eq!(
        refused(
            Built::new(doctor.clone()),
            &caller,
            now + Duration::from_secs(301)
        ),
        RefusalCode::Stale
    );
    assert_eq!(
        refused(
            Built::new(doctor.clone()),
            &caller,
            now - Duration::from_secs(120)
        ),
        RefusalCode::Stale
    );
    // Within the bound it passes, a little clock skew included.
    let (tx, id) = Built::new(doctor.clone()).commit();
    assert!(check(&tx, &id, &caller, &expect(now + Duration::from_secs(290))).is_ok());
    assert!(check(&tx, &id, &caller, &expect(now - Duration::from_secs(30))).is_ok());
    // Garbage never panics.
    let garbage = ProcessedTx {
        envelope: fabric_proto::common::Envelope {
            payload: vec![0xff; 40],
            signature: Vec::new(),
        },
        validation_code: 0,
    };
    assert_eq!(
        check(&garbage, &id, &caller, &expect(now))
            .unwrap_err()
            .code,
        RefusalCode::NotAGrant
    );
}
