//! Fabric's answers to requests it refuses, on both backends with one set of
//! expectations (code, message and the absence of error details):
//! - a chaincode not defined on the channel is refused by the Gateway before
//!   any endorser runs it (Evaluate, Endorse, Endorse for named orgs, and both
//!   with transient data);
//! - an undecodable message on Deliver, DeliverFiltered, DeliverWithPrivateData
//!   and the orderer's Deliver and Broadcast ends the stream with INTERNAL and
//!   Go gRPC's "failed to unmarshal" message (the protobuf library's own
//!   wording follows it and differs by implementation, so only the prefix is
//!   checked);
//! - malformed or unauthorized envelopes sent to Broadcast get the
//!   BroadcastResponse status and info of Fabric's broadcast handler, channel
//!   message processor and SigFilter;
//! - an empty SignedProposal fails the auth filters' time-window check first;
//!   proposals completed one part at a time then fail each of Fabric's later
//!   checks in Fabric's order (unpacking, channel, header, nonce, creator,
//!   txid); the Gateway refuses an empty SignedProposal before any peer sees it.

use crate::{trial, Net, TestFn};
use anyhow::{anyhow, ensure, Context, Result};
use bytes::{Buf, BufMut};
use fabric_client::connection::Endpoint;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Status};

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "conformance::undefined_chaincode_submit",
            undefined_chaincode_submit,
        ),
        trial(
            "conformance::undefined_chaincode_evaluate",
            undefined_chaincode_evaluate,
        ),
        trial(
            "conformance::undefined_chaincode_endorse_for_orgs",
            undefined_chaincode_for_orgs,
        ),
        trial(
            "conformance::undefined_chaincode_submit_with_transient_data",
            undefined_chaincode_submit_transient,
        ),
        trial(
            "conformance::undefined_chaincode_evaluate_with_transient_data",
            undefined_chaincode_evaluate_transient,
        ),
        trial("conformance::malformed_broadcast", malformed_broadcast),
        trial("conformance::undecodable_peer_deliver", |net| {
            undecodable(net, Target::Peer, "/protos.Deliver/Deliver")
        }),
        trial("conformance::undecodable_peer_deliver_filtered", |net| {
            undecodable(net, Target::Peer, "/protos.Deliver/DeliverFiltered")
        }),
        trial(
            "conformance::undecodable_peer_deliver_with_private_data",
            |net| undecodable(net, Target::Peer, "/protos.Deliver/DeliverWithPrivateData"),
        ),
        trial("conformance::undecodable_orderer_deliver", |net| {
            undecodable(net, Target::Orderer, "/orderer.AtomicBroadcast/Deliver")
        }),
        trial("conformance::undecodable_broadcast", |net| {
            undecodable(net, Target::Orderer, "/orderer.AtomicBroadcast/Broadcast")
        }),
        trial(
            "conformance::empty_signed_proposal_fails_the_time_window",
            empty_signed_proposal,
        ),
        trial(
            "conformance::proposal_checks_in_fabric_order",
            proposal_checks_in_order,
        ),
        trial(
            "conformance::gateway_empty_signed_proposal",
            gateway_empty_signed_proposal,
        ),
    ]
}

/// A chaincode name no test defines.
const UNDEFINED: &str = "undefined-cc";

/// The gRPC answer of a failed client call, or an error if it did not fail.
fn refusal<T>(result: fabric_client::Result<T>, what: &str) -> Result<fabric_client::RpcError> {
    let err = result.err().ok_or_else(|| anyhow!("{what} succeeded"))?;
    err.rpc()
        .cloned()
        .ok_or_else(|| anyhow!("{what} failed without a gRPC status: {err}"))
}

fn ensure_answer(
    rpc: &fabric_client::RpcError,
    code: Code,
    message: &str,
    what: &str,
) -> Result<()> {
    ensure!(
        rpc.code == code && rpc.message == message,
        "{what}: want {code:?} {message:?}, got {rpc}"
    );
    // Refused before any endorser ran: nothing to detail.
    ensure!(
        rpc.details.is_empty(),
        "{what}: want no error details, got {:?}",
        rpc.details
    );
    Ok(())
}

async fn undefined_chaincode_submit(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let channel = &net.consortium.channel;
    let contract = gw.network(channel).contract(UNDEFINED);
    let rpc = refusal(contract.submit("put", ["k", "v"]).await, "submit")?;
    let want = format!(
        "no combination of peers can be derived which satisfy the endorsement policy: \
         No metadata was found for chaincode {UNDEFINED} in channel {channel}"
    );
    ensure_answer(&rpc, Code::FailedPrecondition, &want, "submit")
}

async fn undefined_chaincode_evaluate(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital2").await?;
    let channel = &net.consortium.channel;
    let contract = gw.network(channel).contract(UNDEFINED);
    let rpc = refusal(contract.evaluate("get", ["k"]).await, "evaluate")?;
    let want = format!("no peers available to evaluate chaincode {UNDEFINED} in channel {channel}");
    ensure_answer(&rpc, Code::FailedPrecondition, &want, "evaluate")
}

async fn undefined_chaincode_for_orgs(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(UNDEFINED);
    let orgs = ["Hospital1MSP".to_owned(), "Hospital2MSP".to_owned()];
    let proposal = contract.new_proposal("put", ["k", "v"]);
    let rpc = refusal(contract.endorse(&proposal, &orgs).await, "endorse")?;
    let want = "failed to find any endorsing peers for org(s): Hospital1MSP, Hospital2MSP";
    ensure_answer(&rpc, Code::Unavailable, want, "endorse for named orgs")
}

/// With transient data the Gateway endorses only in its own org unless told
/// otherwise (`internal/pkg/gateway/endorse.go`, `planFromFirstEndorser`), and
/// that org has no endorser for an undefined chaincode.
async fn undefined_chaincode_submit_transient(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(UNDEFINED);
    let submitted = contract
        .transaction("put")
        .args(["k", "v"])
        .transient("secret", b"s".to_vec())
        .submit()
        .await;
    let rpc = refusal(submitted, "submit with transient data")?;
    let want = "no endorsers found in the gateway's organization; \
                retry specifying endorsing organization(s) to protect transient data";
    ensure_answer(
        &rpc,
        Code::FailedPrecondition,
        want,
        "submit with transient data",
    )
}

/// Evaluate with transient data asks only the gateway's org
/// (`internal/pkg/gateway/evaluate.go`), and names the cause after its advice.
async fn undefined_chaincode_evaluate_transient(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital2").await?;
    let channel = &net.consortium.channel;
    let contract = gw.network(channel).contract(UNDEFINED);
    let evaluated = contract
        .transaction("get")
        .arg("k")
        .transient("secret", b"s".to_vec())
        .evaluate()
        .await;
    let rpc = refusal(evaluated, "evaluate with transient data")?;
    let want = format!(
        "no endorsers found in the gateway's organization; retry specifying target \
         organization(s) to protect transient data: no peers available to evaluate chaincode \
         {UNDEFINED} in channel {channel}"
    );
    ensure_answer(
        &rpc,
        Code::FailedPrecondition,
        &want,
        "evaluate with transient data",
    )
}

/// Which node a raw stream goes to.
#[derive(Clone, Copy)]
enum Target {
    /// Hospital1's first peer.
    Peer,
    /// The first orderer.
    Orderer,
}

fn endpoint(net: &Net, target: Target) -> Result<Endpoint> {
    match target {
        Target::Peer => {
            let org = net.org("Hospital1")?;
            net.endpoint(org, &org.peers[0])
        }
        Target::Orderer => {
            let org = &net.consortium.orderer_org;
            let node = org.solo();
            let ca = std::fs::read(net.layout.orderer_tls_dir(org, node).join("ca.crt"))?;
            Ok(Endpoint::new(net.consortium.address(node.ports.listen), ca)
                .with_server_name(org.fqdn(node)))
        }
    }
}

/// Bytes that are no protobuf message: field 1, length 5, one byte of it.
const UNDECODABLE: [u8; 3] = [0x0a, 0x05, 0x01];

/// Go gRPC's server message for a request it cannot decode (what Fabric returns).
const UNMARSHAL_FAILED: &str = "grpc: failed to unmarshal the received message";

async fn undecodable(net: Net, target: Target, method: &'static str) -> Result<()> {
    let channel = endpoint(&net, target)?.connect().await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.context("connection not ready")?;
    let request = tonic::Request::new(futures::stream::iter([UNDECODABLE.to_vec()]));
    let status = match grpc
        .streaming(request, PathAndQuery::from_static(method), RawCodec)
        .await
    {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            let deadline = std::time::Duration::from_secs(20);
            match tokio::time::timeout(deadline, stream.message())
                .await
                .with_context(|| format!("{method}: no answer in 20 s"))?
            {
                Err(status) => status,
                Ok(None) => anyhow::bail!("{method}: the stream ended with OK"),
                Ok(Some(m)) => anyhow::bail!("{method}: answered with a message {m:02x?}"),
            }
        }
    };
    ensure!(
        status.code() == Code::Internal && status.message().starts_with(UNMARSHAL_FAILED),
        "{method}: want INTERNAL {UNMARSHAL_FAILED:?}..., got {:?} {:?}",
        status.code(),
        status.message()
    );
    Ok(())
}

async fn empty_signed_proposal(net: Net) -> Result<()> {
    use fabric_proto::protos::endorser_client::EndorserClient;
    let channel = endpoint(&net, Target::Peer)?.connect().await?;
    let status = EndorserClient::new(channel)
        .process_proposal(fabric_proto::protos::SignedProposal::default())
        .await
        .err()
        .context("an empty signed proposal was processed")?;
    // Fabric: "... timestamp <proposal time>, peer time <now>, peer.authentication.timewindow 15m0s",
    // and an empty proposal's timestamp is the Unix epoch.
    let message = status.message();
    let peer_time = message
        .strip_prefix(
            "request unauthorized due to incorrect timestamp 1970-01-01T00:00:00Z, peer time ",
        )
        .and_then(|rest| rest.strip_suffix(", peer.authentication.timewindow 15m0s"));
    ensure!(
        status.code() == Code::Unknown && peer_time.is_some_and(is_rfc3339_utc),
        "want UNKNOWN \"request unauthorized due to incorrect timestamp 1970-01-01T00:00:00Z, \
         peer time <RFC 3339>, peer.authentication.timewindow 15m0s\", got {:?} {message:?}",
        status.code()
    );
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as Go formats `time.RFC3339` in UTC.
fn is_rfc3339_utc(text: &str) -> bool {
    let pattern = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == pattern.len()
        && text.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            p => c == p,
        })
}

/// Sends and receives messages as raw bytes, so a request can be anything.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0u8; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// A proposal built one part at a time; each part added lets it past one more
/// of Fabric's checks (`core/endorser/msgvalidation.go`).
#[derive(Clone, Default)]
struct Draft {
    /// The channel header's timestamp, in Unix seconds.
    seconds: Option<i64>,
    chaincode_id: bool,
    input: bool,
    channel: String,
    header_type: i32,
    nonce: Vec<u8>,
    creator: Vec<u8>,
    tx_id: String,
}

impl Draft {
    fn signed(&self) -> fabric_proto::protos::SignedProposal {
        use fabric_proto::common::{ChannelHeader, Header, SignatureHeader};
        use fabric_proto::protos::{
            ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
            ChaincodeProposalPayload, ChaincodeSpec, Proposal, SignedProposal,
        };
        use prost::Message;
        let id = || ChaincodeId {
            name: UNDEFINED.into(),
            ..Default::default()
        };
        let extension = ChaincodeHeaderExtension {
            chaincode_id: self.chaincode_id.then(id),
        };
        let timestamp = self.seconds.map(|seconds| {
            // prost's Timestamp, named through the field (no prost-types here).
            let mut timestamp = ChannelHeader::default().timestamp.unwrap_or_default();
            timestamp.seconds = seconds;
            timestamp
        });
        let channel_header = ChannelHeader {
            r#type: self.header_type,
            timestamp,
            channel_id: self.channel.clone(),
            tx_id: self.tx_id.clone(),
            extension: extension.encode_to_vec(),
            ..Default::default()
        };
        let signature_header = SignatureHeader {
            creator: self.creator.clone(),
            nonce: self.nonce.clone(),
        };
        let spec = ChaincodeInvocationSpec {
            chaincode_spec: self.input.then(|| ChaincodeSpec {
                chaincode_id: Some(id()),
                input: Some(ChaincodeInput {
                    args: vec![b"get".to_vec(), b"k".to_vec()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let payload = ChaincodeProposalPayload {
            input: spec.encode_to_vec(),
            transient_map: Default::default(),
        };
        let proposal = Proposal {
            header: Header {
                channel_header: channel_header.encode_to_vec(),
                signature_header: signature_header.encode_to_vec(),
            }
            .encode_to_vec(),
            payload: payload.encode_to_vec(),
            extension: Vec::new(),
        };
        SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        }
    }
}

/// The answer a step expects: a gRPC error's code and message, or None for a
/// ProposalResponse.
type Want = Option<(Code, String)>;

/// What ProcessProposal answered: a gRPC error, or a ProposalResponse.
enum Answer {
    Error(Code, String),
    Response(fabric_proto::protos::ProposalResponse),
}

async fn process(
    client: &mut fabric_proto::protos::endorser_client::EndorserClient<tonic::transport::Channel>,
    sp: fabric_proto::protos::SignedProposal,
) -> Answer {
    match client.process_proposal(sp).await {
        Ok(response) => Answer::Response(response.into_inner()),
        Err(status) => Answer::Error(status.code(), status.message().to_owned()),
    }
}

/// Fabric's endorser checks a proposal in this order: the auth filters
/// (expiry, time window), `UnpackProposal` (chaincode id, chaincode spec),
/// the channel, then `Validate` (header type, epoch, nonce, creator, txid).
/// Each step below fixes the previous failure and must fail at the next check,
/// with Fabric's code and words.
async fn proposal_checks_in_order(net: Net) -> Result<()> {
    use fabric_proto::common::HeaderType;
    use fabric_proto::protos::endorser_client::EndorserClient;
    let mut client = EndorserClient::new(endpoint(&net, Target::Peer)?.connect().await?);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let creator = net.identity("User1@Hospital1")?.serialize();
    let nonce = vec![7u8; 24];
    let txid = fabric_block::compute_txid(&nonce, &creator);
    let mut draft = Draft {
        seconds: Some(i64::try_from(now.as_secs())?),
        ..Draft::default()
    };
    let unknown = |text: &str| Some((Code::Unknown, text.to_owned()));
    // (what the draft gained, the draft, the answer)
    let mut steps: Vec<(&str, Draft, Want)> = Vec::new();
    let header_type = "error validating proposal: invalid header type MESSAGE";
    steps.push((
        "a timestamp only",
        draft.clone(),
        unknown("ChaincodeHeaderExtension.ChaincodeId is nil"),
    ));
    draft.chaincode_id = true;
    steps.push((
        "a chaincode id",
        draft.clone(),
        unknown("chaincode invocation spec did not contain chaincode spec"),
    ));
    draft.input = true;
    steps.push((
        "a chaincode spec and input, no channel",
        draft.clone(),
        unknown(header_type),
    ));
    draft.channel = "nosuchchannel".into();
    steps.push(("a channel this peer has not joined", draft.clone(), None));
    draft.channel = net.consortium.channel.clone();
    steps.push(("the channel", draft.clone(), unknown(header_type)));
    draft.header_type = HeaderType::EndorserTransaction as i32;
    steps.push((
        "the endorser transaction header type",
        draft.clone(),
        unknown("error validating proposal: nonce is empty"),
    ));
    draft.nonce = nonce;
    steps.push((
        "a nonce",
        draft.clone(),
        unknown("error validating proposal: creator is empty"),
    ));
    draft.creator = creator;
    steps.push((
        "a creator",
        draft.clone(),
        unknown(&format!(
            "error validating proposal: incorrectly computed txid '' -- expected '{txid}'"
        )),
    ));
    draft.tx_id = txid;
    steps.push((
        "the txid, and no signature",
        draft,
        unknown("error validating proposal: empty signature bytes"),
    ));
    for (added, draft, want) in steps {
        let answer = process(&mut client, draft.signed()).await;
        match (want, answer) {
            (Some((code, text)), Answer::Error(got_code, got_text)) => ensure!(
                code == got_code && text == got_text,
                "with {added}: want {code:?} {text:?}, got {got_code:?} {got_text:?}"
            ),
            (None, Answer::Response(pr)) => {
                let response = pr.response.unwrap_or_default();
                ensure!(
                    response.status == 500
                        && response.message == "channel 'nosuchchannel' not found"
                        && pr.payload.is_empty()
                        && pr.endorsement.is_none(),
                    "with {added}: want a ProposalResponse 500 \"channel 'nosuchchannel' not found\", got {} {:?}",
                    response.status,
                    response.message
                );
            }
            (Some((code, text)), Answer::Response(pr)) => anyhow::bail!(
                "with {added}: want {code:?} {text:?}, got a ProposalResponse {:?}",
                pr.response
            ),
            (None, Answer::Error(code, text)) => {
                anyhow::bail!("with {added}: want a ProposalResponse, got {code:?} {text:?}")
            }
        }
    }
    Ok(())
}

/// The Gateway refuses an empty SignedProposal itself, before any peer sees
/// it (`internal/pkg/gateway/{evaluate,endorse}.go`).
async fn gateway_empty_signed_proposal(net: Net) -> Result<()> {
    use fabric_proto::gateway::gateway_client::GatewayClient;
    use fabric_proto::gateway::{EndorseRequest, EvaluateRequest};
    let channel_id = net.consortium.channel.clone();
    let mut client = GatewayClient::new(endpoint(&net, Target::Peer)?.connect().await?);
    let empty = Some(fabric_proto::protos::SignedProposal::default());
    let evaluated = client
        .evaluate(EvaluateRequest {
            transaction_id: "t".into(),
            channel_id: channel_id.clone(),
            proposed_transaction: empty.clone(),
            target_organizations: Vec::new(),
        })
        .await
        .err()
        .context("Evaluate of an empty signed proposal succeeded")?;
    let want = "failed to unpack transaction proposal: a signed proposal is required";
    ensure!(
        evaluated.code() == Code::InvalidArgument && evaluated.message() == want,
        "Evaluate: want InvalidArgument {want:?}, got {:?} {:?}",
        evaluated.code(),
        evaluated.message()
    );
    let endorsed = client
        .endorse(EndorseRequest {
            transaction_id: "t".into(),
            channel_id,
            proposed_transaction: empty,
            endorsing_organizations: Vec::new(),
        })
        .await
        .err()
        .context("Endorse of an empty signed proposal succeeded")?;
    let want = "the proposed transaction must contain a signed proposal";
    ensure!(
        endorsed.code() == Code::InvalidArgument && endorsed.message() == want,
        "Endorse: want InvalidArgument {want:?}, got {:?} {:?}",
        endorsed.code(),
        endorsed.message()
    );
    Ok(())
}

/// Fabric's SigFilter refusal when `/Channel/Writers` (ANY of the channel's
/// groups' Writers) is not satisfied.
const WRITERS_REFUSAL: &str = "implicit policy evaluation failed - 0 sub-policies were \
     satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied: \
     permission denied";

/// An envelope with this channel header (if any) and signer (if any).
fn envelope_of(
    channel_header: Option<fabric_proto::common::ChannelHeader>,
    signer: Option<&fabric_msp::SigningIdentity>,
) -> fabric_proto::common::Envelope {
    use fabric_proto::common::{Envelope, Header, Payload, SignatureHeader};
    use prost::Message;
    let signature_header = SignatureHeader {
        creator: signer.map(|s| s.serialize()).unwrap_or_default(),
        nonce: signer.map(|_| vec![9u8; 24]).unwrap_or_default(),
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header
                .map(|c| c.encode_to_vec())
                .unwrap_or_default(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: b"data".to_vec(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.map(|s| s.sign(&payload)).unwrap_or_default(),
        payload,
    }
}

/// Broadcast's answers to envelopes it refuses, in the order Fabric checks:
/// the channel header (`protoutil.ChannelHeader`), the channel, the message
/// class (`StandardChannel.ClassifyMsg`), then the filters (expiration, then
/// the SigFilter).
async fn malformed_broadcast(net: Net) -> Result<()> {
    use fabric_proto::common::{ChannelHeader, Envelope, HeaderType, Status as Common};
    let channel = net.consortium.channel.clone();
    let header = |kind: HeaderType, channel: &str| {
        Some(ChannelHeader {
            r#type: kind as i32,
            channel_id: channel.to_owned(),
            ..Default::default()
        })
    };
    let org = net.org("Hospital1")?;
    let peer = healthblock_tests::peer_identity(&net, org, &org.peers[0])?;
    let expired = healthblock_tests::expired_identity(&net, org)?;
    let bad = Common::BadRequest as i32;
    let forbidden = Common::Forbidden as i32;
    let cases: Vec<(&str, Envelope, i32, String)> = vec![
        (
            "an empty envelope",
            Envelope::default(),
            bad,
            "could not determine channel ID: header not set".into(),
        ),
        (
            "a header without a channel header",
            envelope_of(None, None),
            bad,
            "could not determine channel ID: channel header not set".into(),
        ),
        (
            "an unknown channel",
            envelope_of(
                header(HeaderType::EndorserTransaction, "nosuchchannel"),
                None,
            ),
            bad,
            "channel does not exist".into(),
        ),
        (
            "a CONFIG message",
            envelope_of(header(HeaderType::Config, &channel), None),
            bad,
            "message is of type that cannot be processed directly".into(),
        ),
        (
            "an ORDERER_TRANSACTION",
            envelope_of(header(HeaderType::OrdererTransaction, &channel), None),
            bad,
            "message is of type that is no longer supported".into(),
        ),
        (
            "an unsigned DELIVER_SEEK_INFO (a normal message to broadcast)",
            envelope_of(header(HeaderType::DeliverSeekInfo, &channel), None),
            forbidden,
            WRITERS_REFUSAL.into(),
        ),
        (
            "an unsigned transaction",
            envelope_of(header(HeaderType::EndorserTransaction, &channel), None),
            forbidden,
            WRITERS_REFUSAL.into(),
        ),
        (
            "an unsigned config update",
            envelope_of(header(HeaderType::ConfigUpdate, &channel), None),
            forbidden,
            format!(
                "config update for existing channel did not pass initial checks: {WRITERS_REFUSAL}"
            ),
        ),
        (
            "a transaction by a client whose certificate expired",
            envelope_of(
                header(HeaderType::EndorserTransaction, &channel),
                Some(&expired),
            ),
            bad,
            "broadcast client identity expired".into(),
        ),
        (
            "a transaction signed by a peer (not a writer)",
            envelope_of(
                header(HeaderType::EndorserTransaction, &channel),
                Some(&peer),
            ),
            forbidden,
            WRITERS_REFUSAL.into(),
        ),
    ];
    for (what, envelope, status, info) in cases {
        let (got_status, got_info) = healthblock_tests::broadcast(&net, envelope).await?;
        ensure!(
            (got_status, got_info.as_str()) == (status, info.as_str()),
            "{what}: want {status} {info:?}, got {got_status} {got_info:?}"
        );
    }
    Ok(())
}
