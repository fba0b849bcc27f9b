//! The client against an in-process mock of a peer's Gateway and Deliver
//! services over real TLS: checks the wire flow (what is sent and signed,
//! what comes back), error detail decoding over gRPC, events and chain height.
//! End-to-end tests against the devnet and real Fabric live elsewhere.

use fabric_client::error::{encode_error_details, ErrorDetail};
use fabric_client::{Error, Gateway, Stage};
use fabric_msp::{Identity, SigningIdentity};
use fabric_proto::common::{
    Block, BlockHeader, ChannelHeader, Envelope, Header, Payload, SignatureHeader, Status,
};
use fabric_proto::gateway::gateway_server::{Gateway as GatewayService, GatewayServer};
use fabric_proto::gateway::*;
use fabric_proto::orderer::{seek_position, SeekInfo};
use fabric_proto::protos::deliver_server::{Deliver, DeliverServer};
use fabric_proto::protos::{
    deliver_response, ChaincodeAction, ChaincodeEvent as ProtoEvent, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, DeliverResponse, Endorsement, Proposal, ProposalResponse,
    ProposalResponsePayload, Response as ChaincodeResponse, SignedProposal,
};
use futures::{Stream, StreamExt};
use healthblock_test_support::{LeafBuilder, TestCa};
use prost::Message;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status as RpcStatus, Streaming};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, RpcStatus>> + Send>>;

const NEWEST_BLOCK: u64 = 41;

#[derive(Default)]
struct Recorded {
    /// txid -> validation code to report.
    codes: HashMap<String, i32>,
    endorsing_orgs: Vec<String>,
    transient_keys: Vec<String>,
    submitted: Vec<String>,
}

#[derive(Clone, Default)]
struct MockPeer {
    state: Arc<Mutex<Recorded>>,
}

fn bad(msg: impl std::fmt::Display) -> RpcStatus {
    RpcStatus::invalid_argument(msg.to_string())
}

/// Checks the client's signature over `signed` and returns the creator.
fn verify(creator: &[u8], signed: &[u8], signature: &[u8]) -> Result<Identity, RpcStatus> {
    let identity = Identity::from_serialized(creator).map_err(bad)?;
    identity.verify(signed, signature).map_err(bad)?;
    Ok(identity)
}

/// A verified signed proposal, opened up.
struct Opened {
    proposal: Proposal,
    txid: String,
    args: Vec<Vec<u8>>,
    transient_keys: Vec<String>,
}

fn open_proposal(sp: &SignedProposal) -> Result<Opened, RpcStatus> {
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice()).map_err(bad)?;
    let header = Header::decode(proposal.header.as_slice()).map_err(bad)?;
    let ch = ChannelHeader::decode(header.channel_header.as_slice()).map_err(bad)?;
    let sh = SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
    verify(&sh.creator, &sp.proposal_bytes, &sp.signature)?;
    let cpp = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).map_err(bad)?;
    let args = ChaincodeInvocationSpec::decode(cpp.input.as_slice())
        .map_err(bad)?
        .chaincode_spec
        .and_then(|s| s.input)
        .map(|i| i.args)
        .unwrap_or_default();
    let mut keys: Vec<_> = cpp.transient_map.keys().cloned().collect();
    keys.sort();
    Ok(Opened {
        proposal,
        txid: ch.tx_id,
        args,
        transient_keys: keys,
    })
}

fn prepared_envelope(proposal: &Proposal, result: Vec<u8>) -> Envelope {
    let action = ChaincodeAction {
        response: Some(ChaincodeResponse {
            status: 200,
            message: String::new(),
            payload: result,
        }),
        ..Default::default()
    };
    let response = ProposalResponse {
        version: 1,
        response: Some(ChaincodeResponse {
            status: 200,
            ..Default::default()
        }),
        payload: ProposalResponsePayload {
            proposal_hash: vec![0; 32],
            extension: action.encode_to_vec(),
        }
        .encode_to_vec(),
        endorsement: Some(Endorsement {
            endorser: b"peer0".to_vec(),
            signature: b"sig".to_vec(),
        }),
        ..Default::default()
    };
    Envelope {
        payload: fabric_client::transaction::assemble_payload(proposal, &[response]).unwrap(),
        signature: Vec::new(),
    }
}

#[tonic::async_trait]
impl GatewayService for MockPeer {
    async fn endorse(
        &self,
        req: Request<EndorseRequest>,
    ) -> Result<Response<EndorseResponse>, RpcStatus> {
        let req = req.into_inner();
        let sp = req.proposed_transaction.ok_or_else(|| bad("no proposal"))?;
        let Opened {
            proposal,
            txid,
            args,
            transient_keys: keys,
        } = open_proposal(&sp)?;
        if txid != req.transaction_id {
            return Err(bad("txid mismatch"));
        }
        let function = String::from_utf8_lossy(&args[0]).into_owned();
        if function == "fail" {
            let details = [ErrorDetail {
                address: "peer0.org2:9051".into(),
                msp_id: "Org2MSP".into(),
                message: "chaincode response 500, boom".into(),
            }];
            let bytes = encode_error_details(tonic::Code::Aborted, "failed to endorse", &details);
            return Err(RpcStatus::with_details(
                tonic::Code::Aborted,
                "failed to endorse",
                bytes.into(),
            ));
        }
        let mut state = self.state.lock().unwrap();
        state
            .codes
            .insert(txid, if function == "conflict" { 11 } else { 0 });
        state.endorsing_orgs = req.endorsing_organizations;
        state.transient_keys = keys;
        Ok(Response::new(EndorseResponse {
            prepared_transaction: Some(prepared_envelope(
                &proposal,
                format!("ok:{function}").into_bytes(),
            )),
        }))
    }

    async fn submit(
        &self,
        req: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, RpcStatus> {
        let req = req.into_inner();
        let env = req.prepared_transaction.ok_or_else(|| bad("no envelope"))?;
        let payload = Payload::decode(env.payload.as_slice()).map_err(bad)?;
        let header = payload.header.ok_or_else(|| bad("no header"))?;
        let sh = SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
        verify(&sh.creator, &env.payload, &env.signature)?;
        self.state
            .lock()
            .unwrap()
            .submitted
            .push(req.transaction_id);
        Ok(Response::new(SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        req: Request<SignedCommitStatusRequest>,
    ) -> Result<Response<CommitStatusResponse>, RpcStatus> {
        let signed = req.into_inner();
        let request = CommitStatusRequest::decode(signed.request.as_slice()).map_err(bad)?;
        verify(&request.identity, &signed.request, &signed.signature)?;
        let state = self.state.lock().unwrap();
        if !state.submitted.contains(&request.transaction_id) {
            return Err(RpcStatus::not_found("transaction not submitted"));
        }
        let code = state
            .codes
            .get(&request.transaction_id)
            .copied()
            .unwrap_or(255);
        Ok(Response::new(CommitStatusResponse {
            result: code,
            block_number: 9,
        }))
    }

    async fn evaluate(
        &self,
        req: Request<EvaluateRequest>,
    ) -> Result<Response<EvaluateResponse>, RpcStatus> {
        let sp = req
            .into_inner()
            .proposed_transaction
            .ok_or_else(|| bad("no proposal"))?;
        let args = open_proposal(&sp)?.args;
        let joined: Vec<_> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Ok(Response::new(EvaluateResponse {
            result: Some(ChaincodeResponse {
                status: 200,
                message: String::new(),
                payload: format!("eval:{}", joined.join(",")).into_bytes(),
            }),
        }))
    }

    type ChaincodeEventsStream = BoxStream<ChaincodeEventsResponse>;

    async fn chaincode_events(
        &self,
        req: Request<SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, RpcStatus> {
        let signed = req.into_inner();
        let request = ChaincodeEventsRequest::decode(signed.request.as_slice()).map_err(bad)?;
        verify(&request.identity, &signed.request, &signed.signature)?;
        let event = |txid: &str, name: &str| ProtoEvent {
            chaincode_id: request.chaincode_id.clone(),
            tx_id: txid.into(),
            event_name: name.into(),
            payload: b"k=v".to_vec(),
        };
        let first = ChaincodeEventsResponse {
            events: vec![event("t1", "kv_put"), event("t2", "kv_del")],
            block_number: 5,
        };
        let stream =
            futures::stream::once(async move { Ok(first) }).chain(futures::stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

fn block(number: u64) -> DeliverResponse {
    DeliverResponse {
        r#type: Some(deliver_response::Type::Block(Block {
            header: Some(BlockHeader {
                number,
                ..Default::default()
            }),
            ..Default::default()
        })),
    }
}

#[tonic::async_trait]
impl Deliver for MockPeer {
    type DeliverStream = BoxStream<DeliverResponse>;
    type DeliverFilteredStream = BoxStream<DeliverResponse>;
    type DeliverWithPrivateDataStream = BoxStream<DeliverResponse>;

    async fn deliver(
        &self,
        req: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, RpcStatus> {
        let mut requests = req.into_inner();
        let env = requests.message().await?.ok_or_else(|| bad("no seek"))?;
        let payload = Payload::decode(env.payload.as_slice()).map_err(bad)?;
        let header = payload.header.ok_or_else(|| bad("no header"))?;
        let sh = SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
        verify(&sh.creator, &env.payload, &env.signature)?;
        let seek = SeekInfo::decode(payload.data.as_slice()).map_err(bad)?;
        let start = seek.start.and_then(|s| s.r#type);
        let responses: BoxStream<DeliverResponse> = match start {
            Some(seek_position::Type::Newest(_)) => Box::pin(futures::stream::iter([
                Ok(block(NEWEST_BLOCK)),
                Ok(DeliverResponse {
                    r#type: Some(deliver_response::Type::Status(Status::Success as i32)),
                }),
            ])),
            Some(seek_position::Type::Specified(s)) => Box::pin(
                futures::stream::iter((s.number..=NEWEST_BLOCK).map(|n| Ok(block(n))))
                    .chain(futures::stream::pending()),
            ),
            _ => Box::pin(futures::stream::iter([Ok(DeliverResponse {
                r#type: Some(deliver_response::Type::Status(Status::BadRequest as i32)),
            })])),
        };
        Ok(Response::new(responses))
    }

    async fn deliver_filtered(
        &self,
        _req: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverFilteredStream>, RpcStatus> {
        Err(RpcStatus::unimplemented("not used by these tests"))
    }

    async fn deliver_with_private_data(
        &self,
        _req: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverWithPrivateDataStream>, RpcStatus> {
        Err(RpcStatus::unimplemented("not used by these tests"))
    }
}

fn client_identity() -> SigningIdentity {
    let leaf = LeafBuilder::self_signed("user1").sans(&["user1"]).issue();
    SigningIdentity::from_pem("Org1MSP", leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

/// A TLS CA and a server certificate for localhost / 127.0.0.1 signed by it.
fn tls_material() -> (String, String, String) {
    let ca = TestCa::root("tlsca.test", None);
    let server = ca
        .leaf("localhost")
        .sans(&["localhost", "127.0.0.1"])
        .issue();
    (ca.pem(), server.cert_pem, server.key_pem)
}

/// Starts the mock on 127.0.0.1 with TLS; returns its address, CA PEM and shared state.
async fn start_mock() -> (String, String, Arc<Mutex<Recorded>>) {
    let (ca, cert, key) = tls_material();
    let mock = MockPeer::default();
    let state = mock.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tonic::transport::Server::builder()
        .tls_config(
            tonic::transport::ServerTlsConfig::new()
                .identity(tonic::transport::Identity::from_pem(cert, key)),
        )
        .unwrap()
        .add_service(GatewayServer::new(mock.clone()))
        .add_service(DeliverServer::new(mock))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    (address, ca, state)
}

#[tokio::test]
async fn submit_evaluate_and_commit_status_over_tls() {
    let (address, ca, state) = start_mock().await;
    let gateway = Gateway::connect(&address, ca.as_bytes(), None, client_identity())
        .await
        .unwrap();
    let contract = gateway.network("ehr").contract("records");

    let result = contract.submit("put", ["k", "v"]).await.unwrap();
    assert_eq!(result, b"ok:put");
    assert_eq!(
        contract.evaluate("get", ["k"]).await.unwrap(),
        b"eval:get,k"
    );

    // Options reach the gateway; submit_async returns before the status is asked.
    let submitted = contract
        .transaction("put")
        .args(["a", "b"])
        .transient("secret", b"s".to_vec())
        .endorsing_organizations(["Org1MSP", "Org3MSP"])
        .submit_async()
        .await
        .unwrap();
    assert_eq!(submitted.result, b"ok:put");
    {
        let s = state.lock().unwrap();
        assert_eq!(s.endorsing_orgs, ["Org1MSP", "Org3MSP"]);
        assert_eq!(s.transient_keys, ["secret"]);
    }
    let status = submitted.status().await.unwrap();
    assert!(status.is_valid());
    assert_eq!(status.block_number, 9);
    assert_eq!(status.txid, submitted.txid);
}

#[tokio::test]
async fn commit_failures_and_endorse_errors_are_reported_with_details() {
    let (address, ca, _) = start_mock().await;
    let gateway = Gateway::connect(&address, ca.as_bytes(), None, client_identity())
        .await
        .unwrap();
    let contract = gateway.network("ehr").contract("records");

    let err = contract.submit("conflict", ["k"]).await.unwrap_err();
    assert_eq!(err.stage(), Stage::Commit);
    assert!(
        err.to_string()
            .contains("failed to commit with status MVCC_READ_CONFLICT (11) in block 9"),
        "{err}"
    );

    let err = contract
        .submit("fail", Vec::<&str>::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Endorse { .. }), "{err}");
    assert_eq!(err.code(), Some(tonic::Code::Aborted));
    assert_eq!(err.details().len(), 1);
    assert_eq!(err.details()[0].msp_id, "Org2MSP");
    assert!(
        err.to_string().contains("chaincode response 500, boom"),
        "{err}"
    );
}

#[tokio::test]
async fn hand_built_transactions_can_be_tampered_with() {
    let (address, ca, _) = start_mock().await;
    let identity = client_identity();
    let gateway = Gateway::connect(&address, ca.as_bytes(), None, identity.clone())
        .await
        .unwrap();
    let contract = gateway.network("ehr").contract("records");

    let proposal = contract.new_proposal("put", ["k", "v"]);
    let prepared = contract.endorse(&proposal, &[]).await.unwrap();
    assert_eq!(prepared.txid, proposal.txid);
    assert_eq!(prepared.result, b"ok:put");
    let mut envelope = prepared.sign(&identity);
    envelope.signature[8] ^= 0x01;
    let err = contract
        .submit_envelope(&prepared.txid, envelope)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Stage::Submit);
    assert_eq!(err.code(), Some(tonic::Code::InvalidArgument));

    // A proposal signed by someone else than its creator is refused at endorsement.
    let stranger = client_identity();
    let forged = fabric_proto::protos::SignedProposal {
        proposal_bytes: proposal.bytes.clone(),
        signature: stranger.sign(&proposal.bytes),
    };
    let err = contract
        .endorse_signed(&proposal.txid, forged, &[])
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Stage::Endorse);
}

#[tokio::test]
async fn height_blocks_and_chaincode_events() {
    let (address, ca, _) = start_mock().await;
    let gateway = Gateway::connect(&address, ca.as_bytes(), None, client_identity())
        .await
        .unwrap();
    let network = gateway.network("ehr");

    assert_eq!(network.block_height().await.unwrap(), NEWEST_BLOCK + 1);
    assert_eq!(network.block(40).await.unwrap().header.unwrap().number, 40);

    let mut blocks = network.block_events(Some(39)).await.unwrap();
    let mut numbers = Vec::new();
    for _ in 0..3 {
        numbers.push(blocks.next().await.unwrap().unwrap().header.unwrap().number);
    }
    assert_eq!(numbers, [39, 40, 41]);
    drop(blocks);

    // The mock refuses NextCommit on Deliver with BAD_REQUEST: the stream yields that error.
    let mut next = network.block_events(None).await.unwrap();
    let err = next.next().await.unwrap().unwrap_err();
    assert!(err.to_string().contains("BAD_REQUEST (400)"), "{err}");

    let mut events = network.chaincode_events("records", Some(5)).await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(
        (first.block_number, first.txid.as_str(), first.name.as_str()),
        (5, "t1", "kv_put")
    );
    assert_eq!(
        (second.chaincode.as_str(), second.name.as_str()),
        ("records", "kv_del")
    );
    assert_eq!(second.payload, b"k=v");
}

#[tokio::test]
async fn tls_trusts_only_the_given_ca_and_honours_the_name_override() {
    let (address, ca, _) = start_mock().await;
    let port = address.rsplit(':').next().unwrap();
    // By host name, and by IP with the name override.
    Gateway::connect(
        &format!("localhost:{port}"),
        ca.as_bytes(),
        None,
        client_identity(),
    )
    .await
    .unwrap();
    Gateway::connect(
        &address,
        ca.as_bytes(),
        Some("localhost"),
        client_identity(),
    )
    .await
    .unwrap();
    // A name the certificate does not carry fails, and so does another CA.
    let wrong_name = Gateway::connect(
        &address,
        ca.as_bytes(),
        Some("peer0.elsewhere"),
        client_identity(),
    )
    .await;
    assert!(matches!(wrong_name, Err(Error::Connect { .. })));
    let (other_ca, _, _) = tls_material();
    let wrong_ca = Gateway::connect(&address, other_ca.as_bytes(), None, client_identity()).await;
    assert!(matches!(wrong_ca, Err(Error::Connect { .. })));
}
