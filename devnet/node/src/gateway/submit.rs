//! Gateway Submit: hand the signed transaction to the orderer (in-process
//! broadcast) and map its answer to Fabric's gateway errors.

use crate::network::Network;
use crate::rpc_error::{detail, rpc_error};
use fabric_proto::common::Status as BroadcastStatus;
use fabric_proto::gateway::{SubmitRequest, SubmitResponse};
use tonic::{Code, Status};

pub(super) async fn submit(
    net: &Network,
    request: SubmitRequest,
) -> Result<SubmitResponse, Status> {
    let env = request
        .prepared_transaction
        .ok_or_else(|| Status::invalid_argument("a prepared transaction is required"))?;
    if env.signature.is_empty() {
        return Err(Status::invalid_argument(
            "prepared transaction must be signed",
        ));
    }
    if request.channel_id != net.channel {
        return Err(Status::failed_precondition(format!(
            "channel {} not found",
            request.channel_id
        )));
    }
    let response = net.orderer.broadcast(&env).await;
    let status = BroadcastStatus::try_from(response.status).unwrap_or(BroadcastStatus::Unknown);
    if status == BroadcastStatus::Success {
        return Ok(SubmitResponse {});
    }
    let message = format!(
        "received unsuccessful response from orderer: status={}, info={}",
        status.as_str_name(),
        response.info
    );
    if (400..500).contains(&response.status) {
        return Err(Status::new(Code::Aborted, message));
    }
    let orderer = &net.orderer;
    Err(rpc_error(
        Code::Unavailable,
        "no orderers could successfully process transaction",
        &[detail(&orderer.address, &orderer.mspid, message)],
    ))
}
