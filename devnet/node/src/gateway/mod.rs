//! The `gateway.Gateway` service of one peer: Evaluate, Endorse, Submit,
//! CommitStatus and ChaincodeEvents, answering with Fabric's gateway status
//! codes, messages and error details. Other peers are reached in-process.

mod endorse;
mod evaluate;
mod outcome;
mod proposal;
mod status;
mod submit;

use crate::network::Network;
use crate::peer::Peer;
use fabric_proto::gateway::gateway_server::Gateway;
use fabric_proto::gateway::{
    CommitStatusResponse, EndorseRequest, EndorseResponse, EvaluateRequest, EvaluateResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Fabric's built-in system chaincodes (`BuiltinSCCs`): the gateway plans for
/// them without a chaincode definition.
const SYSTEM_CHAINCODES: [&str; 4] = ["_lifecycle", "cscc", "lscc", "qscc"];

/// Whether the gateway can find endorsers for `chaincode`: a system chaincode
/// or one with a committed definition on the channel. Fabric's gateway asks
/// discovery, which knows no peer for, and no metadata of, anything else, so
/// it refuses such a proposal before any endorser runs it.
fn is_defined(local: &Peer, chaincode: &str) -> bool {
    SYSTEM_CHAINCODES.contains(&chaincode) || local.endorser.definition(chaincode).is_some()
}

/// The gateway of one peer.
pub(crate) struct GatewayService {
    net: Arc<Network>,
    local: Arc<Peer>,
}

impl GatewayService {
    pub(crate) fn new(net: Arc<Network>, local: Arc<Peer>) -> Self {
        Self { net, local }
    }
}

#[tonic::async_trait]
impl Gateway for GatewayService {
    async fn endorse(
        &self,
        request: Request<EndorseRequest>,
    ) -> Result<Response<EndorseResponse>, Status> {
        endorse::endorse(&self.net, &self.local, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        submit::submit(&self.net, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<Response<CommitStatusResponse>, Status> {
        status::commit_status(&self.net, &self.local, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<Response<EvaluateResponse>, Status> {
        evaluate::evaluate(&self.net, &self.local, request.into_inner())
            .await
            .map(Response::new)
    }

    type ChaincodeEventsStream = status::EventsStream;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        status::chaincode_events(&self.net, &self.local, request.into_inner())
            .await
            .map(Response::new)
    }
}
