//! Chaincode events from the Gateway's `ChaincodeEvents` stream.
//!
//! Owns: the signed `ChaincodeEventsRequest` (client identity, chaincode,
//! start position; the Gateway rejects SeekOldest, so the default is the next
//! commit) and flattening each block's events into single events.

use crate::block_events::{spawn_stream, start_position, EventStream};
use crate::connection::gateway_client;
use crate::error::{Error, RpcError};
use fabric_msp::SigningIdentity;
use fabric_proto::gateway::{ChaincodeEventsRequest, SignedChaincodeEventsRequest};
use prost::Message;
use tonic::transport::Channel;

/// One event emitted by a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeEvent {
    pub block_number: u64,
    pub txid: String,
    pub chaincode: String,
    pub name: String,
    pub payload: Vec<u8>,
}

/// `SignedChaincodeEventsRequest{request = ChaincodeEventsRequest{...}, signature}`.
pub fn chaincode_events_request(
    identity: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    start: Option<u64>,
) -> SignedChaincodeEventsRequest {
    let request = ChaincodeEventsRequest {
        channel_id: channel.to_owned(),
        chaincode_id: chaincode.to_owned(),
        identity: identity.serialize(),
        start_position: Some(start_position(start)),
        after_transaction_id: String::new(),
    }
    .encode_to_vec();
    let signature = identity.sign(&request);
    SignedChaincodeEventsRequest { request, signature }
}

/// Streams the events of `request`; the call is made at once, in a background task.
pub fn chaincode_events(
    channel: Channel,
    request: SignedChaincodeEventsRequest,
) -> EventStream<ChaincodeEvent> {
    spawn_stream(move |tx| async move {
        let call = gateway_client(channel).chaincode_events(request).await;
        let mut stream = match call {
            Ok(response) => response.into_inner(),
            Err(s) => {
                let _ = tx
                    .send(Err(Error::ChaincodeEvents {
                        rpc: RpcError::from_status(&s),
                    }))
                    .await;
                return;
            }
        };
        loop {
            match stream.message().await {
                Ok(Some(response)) => {
                    for event in response.events {
                        let event = ChaincodeEvent {
                            block_number: response.block_number,
                            txid: event.tx_id,
                            chaincode: event.chaincode_id,
                            name: event.event_name,
                            payload: event.payload,
                        };
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => return,
                Err(s) => {
                    let _ = tx
                        .send(Err(Error::ChaincodeEvents {
                            rpc: RpcError::from_status(&s),
                        }))
                        .await;
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;
    use fabric_proto::orderer::seek_position;

    #[test]
    fn request_is_signed_and_defaults_to_next_commit() {
        let id = test_identity("Org1MSP");
        let signed = chaincode_events_request(&id, "ehr", "records", None);
        id.identity
            .verify(&signed.request, &signed.signature)
            .unwrap();
        let req = ChaincodeEventsRequest::decode(signed.request.as_slice()).unwrap();
        assert_eq!(req.channel_id, "ehr");
        assert_eq!(req.chaincode_id, "records");
        assert_eq!(req.identity, id.serialize());
        assert!(matches!(
            req.start_position.unwrap().r#type,
            Some(seek_position::Type::NextCommit(_))
        ));
        let from_block = chaincode_events_request(&id, "ehr", "records", Some(16));
        let req = ChaincodeEventsRequest::decode(from_block.request.as_slice()).unwrap();
        assert!(matches!(
            req.start_position.unwrap().r#type,
            Some(seek_position::Type::Specified(s)) if s.number == 16
        ));
    }
}
