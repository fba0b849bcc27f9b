//! Envelope assembly checked byte for byte against a real Fabric transaction (block 7 of the vectors).

use super::*;
use crate::proposal::ProposalBuilder;
use crate::test_vectors;
use fabric_proto::protos::{chaincode_spec, ChaincodeInvocationSpec, Response};

/// The parts of the vector transaction that a client had before submitting it.
struct VectorTx {
    envelope: Envelope,
    header: Header,
    channel_header: ChannelHeader,
    signature_header: SignatureHeader,
    input: Vec<u8>,
    proposal_response_payload: Vec<u8>,
    endorsements: Vec<Endorsement>,
}

fn vector_tx() -> VectorTx {
    let envelope = test_vectors::envelope(7, 0);
    let payload = Payload::decode(envelope.payload.as_slice()).unwrap();
    let header = payload.header.clone().unwrap();
    let channel_header = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
    let tx = Transaction::decode(payload.data.as_slice()).unwrap();
    let action_payload = ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).unwrap();
    let input =
        ChaincodeProposalPayload::decode(action_payload.chaincode_proposal_payload.as_slice())
            .unwrap()
            .input;
    let endorsed = action_payload.action.unwrap();
    VectorTx {
        envelope,
        header,
        channel_header,
        signature_header,
        input,
        proposal_response_payload: endorsed.proposal_response_payload,
        endorsements: endorsed.endorsements,
    }
}

fn response(payload: &[u8], endorsement: &Endorsement) -> ProposalResponse {
    ProposalResponse {
        version: 1,
        response: Some(Response {
            status: 200,
            ..Default::default()
        }),
        payload: payload.to_vec(),
        endorsement: Some(endorsement.clone()),
        ..Default::default()
    }
}

#[test]
fn assembled_payload_equals_the_real_fabric_transaction() {
    let v = vector_tx();
    // The proposal as the client sent it: same header, same input, plus a
    // transient map that must not reach the ledger.
    let proposal = Proposal {
        header: v.header.encode_to_vec(),
        payload: ChaincodeProposalPayload {
            input: v.input.clone(),
            transient_map: [("secret".to_string(), b"never on ledger".to_vec())].into(),
        }
        .encode_to_vec(),
        extension: Vec::new(),
    };
    let mut responses: Vec<_> = v
        .endorsements
        .iter()
        .map(|e| response(&v.proposal_response_payload, e))
        .collect();
    // The same endorser answering twice must be counted once.
    responses.push(responses[0].clone());

    let payload = assemble_payload(&proposal, &responses).unwrap();
    assert_eq!(
        payload, v.envelope.payload,
        "assembled payload differs from Fabric's"
    );

    // The creator's signature in the vector covers exactly these bytes.
    let creator = fabric_msp::Identity::from_serialized(&v.signature_header.creator).unwrap();
    creator.verify(&payload, &v.envelope.signature).unwrap();
}

#[test]
fn proposal_builder_reproduces_the_vector_headers_and_hash() {
    let v = vector_tx();
    let cis = ChaincodeInvocationSpec::decode(v.input.as_slice()).unwrap();
    let spec = cis.chaincode_spec.unwrap();
    let args = spec.input.unwrap().args;
    // The vector was produced by the Node gateway client, which sets type NODE.
    let proposal = ProposalBuilder::new(&v.channel_header.channel_id, "anchorcc", &args[0])
        .args(&args[1..])
        .chaincode_type(chaincode_spec::Type::Node)
        .nonce(v.signature_header.nonce.clone())
        .timestamp(v.channel_header.timestamp.unwrap())
        .transient("k", b"v".to_vec())
        .build(v.signature_header.creator.clone());

    assert_eq!(proposal.txid, v.channel_header.tx_id);
    assert_eq!(proposal.channel_header, v.header.channel_header);
    assert_eq!(proposal.signature_header, v.header.signature_header);
    let stored = ChaincodeProposalPayload {
        input: v.input.clone(),
        transient_map: Default::default(),
    }
    .encode_to_vec();
    assert_eq!(strip_transient(&proposal.message.payload).unwrap(), stored);
    let prp = ProposalResponsePayload::decode(v.proposal_response_payload.as_slice()).unwrap();
    assert_eq!(proposal.hash().to_vec(), prp.proposal_hash);
}

#[test]
fn prepared_envelope_yields_channel_txid_and_result() {
    let v = vector_tx();
    let parts = parse_prepared(&v.envelope).unwrap();
    assert_eq!(parts.channel, "ehr");
    assert_eq!(parts.txid, v.channel_header.tx_id);
    // put() returns an empty payload.
    assert!(parts.result.is_empty());
    assert!(parse_prepared(&Envelope {
        payload: vec![0xff; 4],
        signature: vec![]
    })
    .is_err());
}

#[test]
fn mismatched_or_failed_responses_are_rejected() {
    let v = vector_tx();
    let proposal = Proposal {
        header: v.header.encode_to_vec(),
        payload: ChaincodeProposalPayload {
            input: v.input.clone(),
            transient_map: Default::default(),
        }
        .encode_to_vec(),
        extension: Vec::new(),
    };
    let good = response(&v.proposal_response_payload, &v.endorsements[0]);
    let mut other = response(b"different", &v.endorsements[1]);
    assert!(assemble_payload(&proposal, &[good.clone(), other.clone()]).is_err());
    other.payload = good.payload.clone();
    other.response.as_mut().unwrap().status = 500;
    assert!(assemble_payload(&proposal, &[good.clone(), other]).is_err());
    assert!(assemble_payload(&proposal, &[]).is_err());
    let mut unendorsed = good.clone();
    unendorsed.endorsement = None;
    assert!(assemble_payload(&proposal, &[unendorsed]).is_err());
}

#[test]
fn signed_transaction_requires_the_creator_and_signs_low_s() {
    let id = crate::signing::tests::test_identity("Org1MSP");
    let other = crate::signing::tests::test_identity("Org2MSP");
    let built = ProposalBuilder::new("ehr", "cc", "f").build(id.serialize());
    let endorsement = Endorsement {
        endorser: other.serialize(),
        signature: vec![1],
    };
    let responses = [response(b"prp", &endorsement)];
    let env = signed_transaction(&built.message, &responses, &id).unwrap();
    id.identity.verify(&env.payload, &env.signature).unwrap();
    assert!(signed_transaction(&built.message, &responses, &other).is_err());
}
