//! Running one TRANSACTION or INIT: decode its input and proposal, call the
//! contract on a [`PeerStub`], and answer COMPLETED (or ERROR for shim
//! failures: undecodable input, a panicking contract, an oversized reply).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{ChaincodeInput, ChaincodeMessage};
use futures::FutureExt;
use prost::Message;

use super::link::{Outbound, TxLink};
use super::registry::{TxKey, TxRegistry};
use super::stub::PeerStub;
use crate::chaincode::Chaincode;
use crate::context::TxContext;
use crate::error::{Result, ShimError};
use crate::response::ERROR;

/// Whether the peer asked for `init` or `invoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Init,
    Invoke,
}

/// Runs the transaction and sends its outcome. The transaction must already
/// be registered under `key`; it is unregistered before the reply goes out.
pub(crate) async fn run(
    chaincode: Arc<dyn Chaincode>,
    entry: Entry,
    message: ChaincodeMessage,
    registry: Arc<TxRegistry>,
    outbound: Outbound,
) {
    let key = TxKey::of(&message);
    let link = TxLink::new(key.clone(), registry.clone(), outbound.clone());
    let reply = match execute(chaincode.as_ref(), entry, message, link).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::warn!(txid = %key.tx_id, channel = %key.channel_id, error = %e, "transaction failed in the shim");
            error_reply(&key, &e.to_string())
        }
    };
    registry.end(&key);
    let reply = match outbound.check_size(&reply) {
        Ok(()) => reply,
        Err(e) => error_reply(&key, &e.to_string()),
    };
    if outbound.send(reply).await.is_err() {
        tracing::debug!(txid = %key.tx_id, "stream closed before the transaction outcome could be sent");
    }
}

async fn execute(
    chaincode: &dyn Chaincode,
    entry: Entry,
    message: ChaincodeMessage,
    link: TxLink,
) -> Result<ChaincodeMessage> {
    let input = ChaincodeInput::decode(message.payload.as_slice())
        .map_err(|e| ShimError::decode("protos.ChaincodeInput", e))?;
    let key = TxKey::of(&message);
    let context = TxContext::from_proposal(
        message.channel_id,
        message.txid,
        input.args,
        message.proposal,
    )?;
    let mut stub = PeerStub::new(context, link);
    // A panicking contract must not take the stream down or leave the peer
    // waiting: it becomes an ERROR for this transaction.
    let call = async {
        match entry {
            Entry::Init => chaincode.init(&mut stub).await,
            Entry::Invoke => chaincode.invoke(&mut stub).await,
        }
    };
    let response = AssertUnwindSafe(call)
        .catch_unwind()
        .await
        .map_err(|_| ShimError::Protocol("the chaincode panicked".into()))?;

    // Like Fabric's shims, a failed init is an ERROR; a failed invoke is a
    // COMPLETED response the endorser will refuse.
    if entry == Entry::Init && response.status >= ERROR {
        return Ok(error_reply(&key, &response.message));
    }
    Ok(ChaincodeMessage {
        r#type: Type::Completed as i32,
        payload: response.encode_to_vec(),
        txid: key.tx_id,
        channel_id: key.channel_id,
        chaincode_event: stub.take_event(),
        ..Default::default()
    })
}

/// An ERROR message for a transaction.
pub(crate) fn error_reply(key: &TxKey, text: &str) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: Type::Error as i32,
        payload: text.as_bytes().to_vec(),
        txid: key.tx_id.clone(),
        channel_id: key.channel_id.clone(),
        ..Default::default()
    }
}
