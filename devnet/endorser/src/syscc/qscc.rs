//! `qscc`: GetChainInfo, GetBlockByNumber, GetBlockByHash, GetTransactionByID and
//! GetBlockByTxID on the channel named by the second argument, each behind its
//! `qscc/<function>` ACL.

use super::{incorrect_arguments, SysccCall};
use devnet_ledger::Ledger;
use fabric_proto::common::BlockchainInfo;
use fabric_proto::common::{Block, Envelope};
use fabric_proto::protos::ProcessedTransaction;
use prost::Message;

const FUNCTIONS: [&str; 5] = [
    "GetChainInfo",
    "GetBlockByNumber",
    "GetBlockByHash",
    "GetTransactionByID",
    "GetBlockByTxID",
];

pub(super) fn invoke(call: &SysccCall<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    if args.len() < 2 {
        return Err(incorrect_arguments(args));
    }
    let function = String::from_utf8_lossy(&args[0]).into_owned();
    let channel = String::from_utf8_lossy(&args[1]).into_owned();
    if function != "GetChainInfo" && args.len() < 3 {
        return Err(format!("missing 3rd argument for {function}"));
    }
    if !call.joined(&channel) {
        return Err(format!("Invalid chain ID, {channel}"));
    }
    let denied = |e: String| format!("access denied for [{function}][{channel}]: [{e}]");
    if !FUNCTIONS.contains(&function.as_str()) {
        // Fabric's default ACL provider knows no policy for an unknown function.
        return Err(denied(format!("Unmapped policy for qscc/{function}")));
    }
    call.check_acl(&format!("qscc/{function}"))
        .map_err(denied)?;
    let ledger = &call.ctx.ledger;
    match function.as_str() {
        "GetChainInfo" => chain_info(ledger)
            .map(|info| info.encode_to_vec())
            .map_err(|e| format!("Failed to get block info with error {e}")),
        "GetBlockByNumber" => {
            let text = String::from_utf8_lossy(&args[2]);
            let number: u64 = text.parse().map_err(|e| {
                format!("Failed to parse block number with error strconv.ParseUint: parsing {text:?}: {e}")
            })?;
            block_by_number(ledger, number)
                .map(|b| b.encode_to_vec())
                .map_err(|e| format!("Failed to get block number {number}, error {e}"))
        }
        "GetBlockByHash" => block_by_hash(ledger, &args[2])
            .map(|b| b.encode_to_vec())
            .map_err(|e| {
                format!(
                    "Failed to get block hash {}, error {e}",
                    String::from_utf8_lossy(&args[2])
                )
            }),
        "GetTransactionByID" => {
            let txid = String::from_utf8_lossy(&args[2]).into_owned();
            transaction(ledger, &txid)
                .map(|t| t.encode_to_vec())
                .map_err(|e| format!("Failed to get transaction with id {txid}, error {e}"))
        }
        _ => {
            let txid = String::from_utf8_lossy(&args[2]).into_owned();
            block_of_tx(ledger, &txid)
                .map(|b| b.encode_to_vec())
                .map_err(|e| format!("Failed to get block for txID {txid}, error {e}"))
        }
    }
}

/// Height, the tip's header hash and the hash it chains to.
pub(crate) fn chain_info(ledger: &Ledger) -> Result<BlockchainInfo, String> {
    let height = ledger.try_height().map_err(|e| e.to_string())?;
    let Some(tip) = height.checked_sub(1) else {
        return Ok(BlockchainInfo {
            height: 0,
            ..Default::default()
        });
    };
    let block = block_by_number(ledger, tip)?;
    let header = block.header.unwrap_or_default();
    Ok(BlockchainInfo {
        height,
        current_block_hash: fabric_block::header_hash(&header).to_vec(),
        previous_block_hash: header.previous_hash,
        bootstrapping_snapshot_info: None,
    })
}

/// Fabric reads `u64::MAX` as "the newest block".
fn block_by_number(ledger: &Ledger, number: u64) -> Result<Block, String> {
    let number = if number == u64::MAX {
        ledger
            .try_height()
            .map_err(|e| e.to_string())?
            .saturating_sub(1)
    } else {
        number
    };
    ledger
        .try_block(number)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no such block number [{number}] in index"))
}

/// The devnet keeps no hash index: it walks back from the tip, where queries
/// for recent blocks find them first.
fn block_by_hash(ledger: &Ledger, hash: &[u8]) -> Result<Block, String> {
    let height = ledger.try_height().map_err(|e| e.to_string())?;
    for number in (0..height).rev() {
        let block = block_by_number(ledger, number)?;
        let header = block.header.clone().unwrap_or_default();
        if fabric_block::header_hash(&header).as_slice() == hash {
            return Ok(block);
        }
    }
    Err(format!(
        "no such block hash [{}] in index",
        hex::encode(hash)
    ))
}

fn location(ledger: &Ledger, txid: &str) -> Result<devnet_ledger::TxStatus, String> {
    ledger
        .try_tx_location(txid)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no such transaction ID [{txid}] in index"))
}

fn block_of_tx(ledger: &Ledger, txid: &str) -> Result<Block, String> {
    block_by_number(ledger, location(ledger, txid)?.block)
}

fn transaction(ledger: &Ledger, txid: &str) -> Result<ProcessedTransaction, String> {
    let at = location(ledger, txid)?;
    let block = block_by_number(ledger, at.block)?;
    let bytes = usize::try_from(at.tx_index)
        .ok()
        .and_then(|i| block.data.as_ref()?.data.get(i))
        .ok_or_else(|| {
            format!(
                "no such blockNumber, transactionNumber <{}, {}> in index",
                at.block, at.tx_index
            )
        })?;
    let envelope = Envelope::decode(bytes.as_slice())
        .map_err(|e| format!("stored transaction {txid} is corrupt: {e}"))?;
    Ok(ProcessedTransaction {
        transaction_envelope: Some(envelope),
        validation_code: at.code,
    })
}
