//! What clients see of a committed block besides the block itself: Fabric's
//! filtered blocks (txid, type, validation code, chaincode events without
//! payload) and the chaincode events of valid transactions for the gateway.

use fabric_proto::common::{
    Block, BlockMetadataIndex, ChannelHeader, Envelope, HeaderType, Payload,
};
use fabric_proto::protos::{
    filtered_transaction, ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, FilteredBlock,
    FilteredChaincodeAction, FilteredTransaction, FilteredTransactionActions,
    ProposalResponsePayload, Transaction, TxValidationCode,
};
use prost::Message;

/// One transaction of a block: its header, validation code and events.
pub(crate) struct TxSummary {
    pub txid: String,
    pub header_type: i32,
    pub code: i32,
    pub channel_id: String,
    pub events: Vec<ChaincodeEvent>,
}

/// The transactions of a committed block (envelopes that do not decode are skipped, as Fabric does).
pub(crate) fn summarize(block: &Block) -> Vec<TxSummary> {
    let filter = block
        .metadata
        .as_ref()
        .and_then(|m| {
            m.metadata
                .get(BlockMetadataIndex::TransactionsFilter as usize)
        })
        .map(Vec::as_slice)
        .unwrap_or_default();
    let envelopes = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    envelopes
        .iter()
        .enumerate()
        .filter_map(|(i, bytes)| {
            let payload =
                Payload::decode(Envelope::decode(bytes.as_slice()).ok()?.payload.as_slice())
                    .ok()?;
            let chdr = ChannelHeader::decode(payload.header?.channel_header.as_slice()).ok()?;
            let events = if chdr.r#type == HeaderType::EndorserTransaction as i32 {
                chaincode_events(&payload.data)
            } else {
                Vec::new()
            };
            Some(TxSummary {
                txid: chdr.tx_id,
                header_type: chdr.r#type,
                code: filter
                    .get(i)
                    .map(|c| i32::from(*c))
                    .unwrap_or(TxValidationCode::InvalidOtherReason as i32),
                channel_id: chdr.channel_id,
                events,
            })
        })
        .collect()
}

/// The chaincode events of a transaction's actions (those naming a chaincode,
/// as Fabric's filtered blocks take them; see [`is_complete`] for the gateway).
fn chaincode_events(tx_bytes: &[u8]) -> Vec<ChaincodeEvent> {
    let Ok(tx) = Transaction::decode(tx_bytes) else {
        return Vec::new();
    };
    tx.actions
        .iter()
        .filter_map(|action| {
            let cap = ChaincodeActionPayload::decode(action.payload.as_slice()).ok()?;
            let prp =
                ProposalResponsePayload::decode(cap.action?.proposal_response_payload.as_slice())
                    .ok()?;
            let cca = ChaincodeAction::decode(prp.extension.as_slice()).ok()?;
            let event = ChaincodeEvent::decode(cca.events.as_slice()).ok()?;
            (!event.chaincode_id.is_empty()).then_some(event)
        })
        .collect()
}

/// Fabric's filtered block: per transaction the txid, type and code, and each
/// action's chaincode event with its payload removed.
pub(crate) fn filtered_block(block: &Block) -> FilteredBlock {
    let number = block.header.as_ref().map(|h| h.number).unwrap_or_default();
    let txs = summarize(block);
    FilteredBlock {
        channel_id: txs.last().map(|t| t.channel_id.clone()).unwrap_or_default(),
        number,
        filtered_transactions: txs
            .into_iter()
            .map(|t| {
                let endorser = t.header_type == HeaderType::EndorserTransaction as i32;
                FilteredTransaction {
                    txid: t.txid,
                    r#type: t.header_type,
                    tx_validation_code: t.code,
                    data: endorser.then(|| {
                        filtered_transaction::Data::TransactionActions(FilteredTransactionActions {
                            chaincode_actions: t
                                .events
                                .into_iter()
                                .map(|e| FilteredChaincodeAction {
                                    chaincode_event: Some(ChaincodeEvent {
                                        payload: Vec::new(),
                                        ..e
                                    }),
                                })
                                .collect(),
                        })
                    }),
                }
            })
            .collect(),
    }
}

/// The gateway only reports events with a chaincode id, a name and a txid.
pub(crate) fn is_complete(event: &ChaincodeEvent) -> bool {
    !event.chaincode_id.is_empty() && !event.event_name.is_empty() && !event.tx_id.is_empty()
}
