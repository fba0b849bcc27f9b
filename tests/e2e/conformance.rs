//! Fabric's answers to requests it refuses, on both backends with one set of
//! expectations (code, message and the absence of error details):
//! - a chaincode not defined on the channel is refused by the Gateway before
//!   any endorser runs it (Evaluate, Endorse, Endorse for named orgs);
//! - an undecodable message on Deliver, DeliverFiltered, DeliverWithPrivateData
//!   and the orderer's Deliver and Broadcast ends the stream with INTERNAL and
//!   Go gRPC's "failed to unmarshal" message (the protobuf library's own
//!   wording follows it and differs by implementation, so only the prefix is
//!   checked);
//! - an empty SignedProposal fails the auth filters' time-window check first.

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
