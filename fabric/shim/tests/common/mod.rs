//! Test support: a contract exercising every stub call, a server on a real
//! loopback socket, and a scripted peer that drives the shim protocol by hand.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use fabric_proto::common::{ChannelHeader, Header, HeaderType, SignatureHeader};
use fabric_proto::protos::chaincode_client::ChaincodeClient;
use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{
    ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeProposalPayload, Proposal,
    SignedProposal,
};
use fabric_shim::{
    async_trait, error, success, Chaincode, ChaincodeStub, CreatorIdentity, Response, ServerConfig,
};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::Streaming;

pub(crate) const PACKAGE_ID: &str = "testcc_1.0:0123abcd";
pub(crate) const CHANNEL: &str = "ehr";
const WAIT: Duration = Duration::from_secs(10);

/// A contract whose functions each exercise one part of the stub.
pub(crate) struct TestContract;

fn fail(e: impl std::fmt::Display) -> Response {
    error(e.to_string())
}

fn keys(results: &[fabric_shim::KeyValue]) -> String {
    results
        .iter()
        .map(|kv| kv.key.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[async_trait]
impl Chaincode for TestContract {
    async fn init(&self, stub: &mut dyn ChaincodeStub) -> Response {
        let (function, _) = stub.function_and_parameters();
        if function == "bad" {
            return error("init refused");
        }
        success(b"inited".to_vec())
    }

    async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response {
        let (function, p) = stub.function_and_parameters();
        let arg = |i: usize| p.get(i).cloned().unwrap_or_default();
        match function.as_str() {
            "echo" => success(p.join(",")),
            "whoami" => {
                let identity = match stub.creator_identity() {
                    Ok(identity) => identity.clone(),
                    Err(e) => return fail(e),
                };
                let transient = stub
                    .transient()
                    .get("t")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                let seconds = stub.tx_timestamp().map(|t| t.seconds).unwrap_or(-1);
                success(format!(
                    "{}|{}|{}|{}",
                    identity.mspid,
                    transient,
                    seconds,
                    stub.tx_id()
                ))
            }
            "get" => match stub.get_state(&arg(0)).await {
                Ok(Some(v)) => success(v),
                Ok(None) => success(b"<none>".to_vec()),
                Err(e) => fail(e),
            },
            "put" => match stub.put_state(&arg(0), arg(1).into_bytes()).await {
                Ok(()) => success(Vec::new()),
                Err(e) => fail(e),
            },
            "getput" => {
                let old = match stub.get_state(&arg(0)).await {
                    Ok(v) => v.unwrap_or_default(),
                    Err(e) => return fail(e),
                };
                let mut new = old;
                new.extend_from_slice(b"!");
                match stub.put_state(&arg(0), new.clone()).await {
                    Ok(()) => success(new),
                    Err(e) => fail(e),
                }
            }
            "range" => match stub.get_state_by_range(&arg(0), &arg(1)).await {
                Ok(results) => success(keys(&results)),
                Err(e) => fail(e),
            },
            "page" => {
                let size = arg(2).parse().unwrap_or(0);
                match stub
                    .get_state_by_range_with_pagination(&arg(0), &arg(1), size, &arg(3))
                    .await
                {
                    Ok(page) => success(format!(
                        "{};{};{}",
                        keys(&page.results),
                        page.bookmark,
                        page.fetched_records_count
                    )),
                    Err(e) => fail(e),
                }
            }
            "history" => match stub.get_history_for_key(&arg(0)).await {
                Ok(mods) => success(
                    mods.iter()
                        .map(|m| format!("{}:{}", m.tx_id, m.is_delete))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Err(e) => fail(e),
            },
            "sbe" => {
                if let Err(e) = stub
                    .set_state_validation_parameter(&arg(0), b"policy".to_vec())
                    .await
                {
                    return fail(e);
                }
                match stub.get_state_validation_parameter(&arg(0)).await {
                    Ok(v) => success(v.unwrap_or_default()),
                    Err(e) => fail(e),
                }
            }
            "private" => match stub.get_private_data("coll", &arg(0)).await {
                Ok(_) => success(Vec::new()),
                Err(e) => fail(e),
            },
            "event" => match stub.set_event(&arg(0), arg(1).into_bytes()) {
                Ok(()) => success(Vec::new()),
                Err(e) => fail(e),
            },
            "putbig" => {
                let size = arg(0).parse().unwrap_or(0);
                match stub.put_state("big", vec![b'x'; size]).await {
                    Ok(()) => success(Vec::new()),
                    Err(e) => fail(e),
                }
            }
            "big" => success(vec![b'y'; arg(0).parse().unwrap_or(0)]),
            "fail" => error(arg(0)),
            "panic" => panic!("contract bug"),
            other => error(format!("unknown function {other}")),
        }
    }
}

/// Starts a plaintext server for `TestContract` on a loopback port.
pub(crate) async fn start_server(max_message_size: Option<usize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut config = ServerConfig::new(addr.to_string(), PACKAGE_ID);
    if let Some(limit) = max_message_size {
        config.max_message_size = limit;
    }
    tokio::spawn(fabric_shim::serve_with_listener(
        TestContract,
        config,
        listener,
        std::future::pending(),
    ));
    addr
}

/// The peer's end of one chaincode stream, driven by the test.
pub(crate) struct ScriptedPeer {
    to_shim: mpsc::Sender<ChaincodeMessage>,
    from_shim: Streaming<ChaincodeMessage>,
}

impl ScriptedPeer {
    /// Opens a stream over plaintext gRPC.
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        Self::open(channel).await
    }

    /// Opens a stream over an existing channel.
    pub(crate) async fn open(channel: Channel) -> Self {
        let (to_shim, receiver) = mpsc::channel(64);
        let mut client = ChaincodeClient::new(channel)
            .max_decoding_message_size(fabric_shim::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(fabric_shim::MAX_MESSAGE_SIZE);
        let from_shim = client
            .connect(ReceiverStream::new(receiver))
            .await
            .expect("Connect rpc")
            .into_inner();
        ScriptedPeer { to_shim, from_shim }
    }

    pub(crate) async fn send(&self, message: ChaincodeMessage) {
        self.to_shim.send(message).await.expect("send to shim");
    }

    /// The next message from the shim (fails the test after a timeout).
    pub(crate) async fn recv(&mut self) -> ChaincodeMessage {
        tokio::time::timeout(WAIT, self.from_shim.message())
            .await
            .expect("timed out waiting for the shim")
            .expect("stream error")
            .expect("stream ended")
    }

    /// The next message, or `None` once the shim ended the stream.
    pub(crate) async fn recv_or_end(&mut self) -> Option<ChaincodeMessage> {
        tokio::time::timeout(WAIT, self.from_shim.message())
            .await
            .expect("timed out waiting for the shim")
            .ok()
            .flatten()
    }

    /// The next message, which must have this type.
    pub(crate) async fn expect(&mut self, kind: Type) -> ChaincodeMessage {
        let message = self.recv().await;
        assert_eq!(
            Type::try_from(message.r#type).ok(),
            Some(kind),
            "unexpected message {message:?}"
        );
        message
    }

    /// Asserts that the shim sends nothing for `duration`.
    pub(crate) async fn expect_silence(&mut self, duration: Duration) {
        if let Ok(message) = tokio::time::timeout(duration, self.from_shim.message()).await {
            panic!("expected silence, got {message:?}");
        }
    }

    /// REGISTER from the shim, then REGISTERED and READY from us.
    pub(crate) async fn handshake(&mut self) {
        let register = self.expect(Type::Register).await;
        let id = ChaincodeId::decode(register.payload.as_slice()).expect("ChaincodeID payload");
        assert_eq!(id.name, PACKAGE_ID);
        self.send(plain(Type::Registered)).await;
        self.send(plain(Type::Ready)).await;
    }

    /// Answers a ledger request with RESPONSE.
    pub(crate) async fn respond(&self, request: &ChaincodeMessage, payload: Vec<u8>) {
        self.send(ChaincodeMessage {
            r#type: Type::Response as i32,
            payload,
            txid: request.txid.clone(),
            channel_id: request.channel_id.clone(),
            ..Default::default()
        })
        .await;
    }

    /// Answers a ledger request with ERROR.
    pub(crate) async fn respond_error(&self, request: &ChaincodeMessage, text: &str) {
        self.send(ChaincodeMessage {
            r#type: Type::Error as i32,
            payload: text.as_bytes().to_vec(),
            txid: request.txid.clone(),
            channel_id: request.channel_id.clone(),
            ..Default::default()
        })
        .await;
    }
}

/// A message with only a type.
pub(crate) fn plain(kind: Type) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: kind as i32,
        ..Default::default()
    }
}

/// The creator every scripted transaction carries.
pub(crate) fn creator() -> CreatorIdentity {
    CreatorIdentity {
        mspid: "Org1MSP".into(),
        cert_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
    }
}

/// A signed proposal as a Gateway client would build it (signature not checked by the shim).
pub(crate) fn signed_proposal(txid: &str, transient: &[(&str, &[u8])]) -> SignedProposal {
    let channel_header = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        timestamp: Some(prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        channel_id: CHANNEL.into(),
        tx_id: txid.into(),
        ..Default::default()
    };
    let header = Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: SignatureHeader {
            creator: creator().to_serialized(),
            nonce: vec![7; 24],
        }
        .encode_to_vec(),
    };
    let payload = ChaincodeProposalPayload {
        input: Vec::new(),
        transient_map: transient
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect(),
    };
    SignedProposal {
        proposal_bytes: Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            extension: Vec::new(),
        }
        .encode_to_vec(),
        signature: vec![1, 2, 3],
    }
}

/// A TRANSACTION (or INIT) message for `args`.
pub(crate) fn transaction(kind: Type, txid: &str, args: &[&str]) -> ChaincodeMessage {
    let input = ChaincodeInput {
        args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    ChaincodeMessage {
        r#type: kind as i32,
        payload: input.encode_to_vec(),
        txid: txid.into(),
        channel_id: CHANNEL.into(),
        proposal: Some(signed_proposal(txid, &[("t", b"transient-value")])),
        ..Default::default()
    }
}

/// Decodes the Response inside a COMPLETED message.
pub(crate) fn completed_response(message: &ChaincodeMessage) -> Response {
    assert_eq!(
        message.r#type,
        Type::Completed as i32,
        "not COMPLETED: {message:?}"
    );
    Response::decode(message.payload.as_slice()).expect("Response payload")
}
