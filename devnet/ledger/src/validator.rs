//! Assigns Fabric's TxValidationCodes to every transaction of a block and
//! computes the state updates of the valid ones, as every committing peer does.
//!
//! Per transaction, in Fabric's order (txvalidator v20, then kvledger):
//! 1. envelope, payload and headers decode; creator valid at the tx time and its
//!    signature over the payload; txid binding; proposal hash ([`envelope`]);
//!    the channel must be ours (TARGET_CHAIN_NOT_FOUND); genesis config is accepted as is;
//! 2. endorser transactions: txid not already on the ledger (DUPLICATE_TXID), the
//!    chaincode action decodes, every written namespace is a defined chaincode
//!    (INVALID_CHAINCODE) and its chaincode/key-level policies hold ([`endorsement`]);
//! 3. txid not used by an earlier transaction of this block that got this far (DUPLICATE_TXID);
//! 4. reads and range queries still current ([`mvcc`]); the writes of a valid
//!    transaction then become visible to the later ones.
//!
//! Fabric checks step 2 in parallel and steps 3-4 afterwards. Here the stateless
//! part of steps 1-2 (decoding and signatures, [`stateless`]) runs for all
//! transactions in parallel, and the rest in one sequential pass in block order;
//! that gives the same codes because each step only looks at earlier transactions. Private data (collections) is not stored by the devnet:
//! collection writes are policy-checked but neither applied nor MVCC-checked.

mod endorsement;
mod envelope;
mod mvcc;
mod stateless;

use crate::{Ledger, LedgerError, StateUpdates, WriteOp};
use envelope::{CheckedTx, EndorserAction};
use fabric_msp::{Identity, MspManager};
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::{Block, HeaderType};
use fabric_proto::protos::TxValidationCode as Code;
use stateless::Stateless;
use std::collections::{BTreeMap, HashSet};

/// Where the validator finds a chaincode's endorsement policy.
pub trait ChaincodeRegistry: Send + Sync {
    /// The committed endorsement policy of chaincode `name`, or None if it is not defined.
    /// `_lifecycle` must be registered too (with the channel's lifecycle endorsement policy).
    fn endorsement_policy(&self, name: &str) -> Option<EndorsementPolicy>;

    /// The endorsement policy of a private data collection, if it has its own; None means
    /// the chaincode policy applies. For `_lifecycle`'s implicit collections
    /// (`_implicit_org_<MSPID>`) Fabric uses that org's Endorsement policy.
    fn collection_endorsement_policy(
        &self,
        chaincode: &str,
        collection: &str,
    ) -> Option<EndorsementPolicy> {
        let _ = (chaincode, collection);
        None
    }
}

/// What validation needs besides the block and the ledger.
pub struct ValidationContext<'a> {
    pub channel_id: &'a str,
    pub msps: &'a MspManager,
    pub chaincodes: &'a dyn ChaincodeRegistry,
}

/// Fabric's validation rules for endorser transactions.
pub struct Validator;

impl Validator {
    /// Returns one TxValidationCode per transaction and the updates of the valid ones.
    /// A ledger read failure marks every transaction INVALID_OTHER_REASON with no
    /// updates (and is logged); use [`Validator::try_validate`] to see the error instead.
    pub fn validate(
        ledger: &Ledger,
        block: &Block,
        ctx: &ValidationContext<'_>,
    ) -> (Vec<u8>, StateUpdates) {
        Self::try_validate(ledger, block, ctx).unwrap_or_else(|e| {
            tracing::error!("validation aborted by a ledger error: {e}");
            let n = block.data.as_ref().map_or(0, |d| d.data.len());
            (
                vec![Code::InvalidOtherReason as u8; n],
                StateUpdates::default(),
            )
        })
    }

    /// As [`Validator::validate`], but a ledger read failure is returned: the block must
    /// then not be committed (Fabric halts the channel rather than guess).
    pub fn try_validate(
        ledger: &Ledger,
        block: &Block,
        ctx: &ValidationContext<'_>,
    ) -> Result<(Vec<u8>, StateUpdates), LedgerError> {
        let number = block.header.as_ref().map_or(0, |h| h.number);
        let envelopes = block
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        let checked = stateless::check_all(envelopes, number, ctx);
        let mut pass = BlockPass::default();
        let mut codes = Vec::with_capacity(envelopes.len());
        for (index, tx) in checked.into_iter().enumerate() {
            let code = pass.validate_tx(ledger, number, index as u64, tx, ctx)?;
            codes.push(code as u8);
        }
        Ok((codes, pass.updates))
    }
}

impl Validator {
    /// The state updates of a block whose TRANSACTIONS_FILTER is already decided
    /// (a trusted copy, or a block being re-applied): the writes of the transactions
    /// the filter marks VALID, with no validation.
    pub fn updates_from_filter(
        ledger: &Ledger,
        block: &Block,
    ) -> Result<StateUpdates, LedgerError> {
        let number = block.header.as_ref().map_or(0, |h| h.number);
        let envelopes = block
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        let filter = crate::transactions_filter(block);
        let mut pass = BlockPass::default();
        for (index, env) in envelopes.iter().enumerate() {
            if filter.get(index) != Some(&(Code::Valid as u8)) {
                continue;
            }
            let Some(tx) = envelope::parse_unchecked(env) else {
                continue;
            };
            if tx.header_type() != HeaderType::EndorserTransaction as i32 {
                continue;
            }
            if let Ok(action) = envelope::decode_action(&tx) {
                pass.apply(ledger, number, index as u64, &tx, &action)?;
            }
        }
        Ok(pass.updates)
    }
}

/// What the transactions validated so far in a block leave for the later ones.
#[derive(Default)]
struct BlockPass {
    overlay: mvcc::BlockOverlay,
    key_policies: endorsement::KeyPolicyUpdates,
    txids: HashSet<String>,
    updates: StateUpdates,
}

impl BlockPass {
    /// The stateful checks of one transaction whose stateless checks are `checked`.
    fn validate_tx(
        &mut self,
        ledger: &Ledger,
        number: u64,
        index: u64,
        checked: Stateless,
        ctx: &ValidationContext<'_>,
    ) -> Result<Code, LedgerError> {
        let (tx, action, signers) = match checked {
            Stateless::Invalid(code) => return Ok(code),
            Stateless::Config => return Ok(Code::Valid),
            Stateless::Endorser(endorsed) => {
                let stateless::Endorsed {
                    tx,
                    action,
                    signers,
                } = *endorsed;
                (tx, action, signers)
            }
        };
        let txid = tx.channel_header.tx_id.clone();
        if ledger.try_tx_location(&txid)?.is_some() {
            return Ok(Code::DuplicateTxid);
        }
        let action = match action {
            Ok(action) => action,
            Err(code) => return Ok(code),
        };
        if let Err(code) = self.check_endorsements(ledger, &action, &signers, ctx)? {
            return Ok(code);
        }
        if !self.txids.insert(txid) {
            return Ok(Code::DuplicateTxid);
        }
        if let Some(code) = mvcc::check(ledger, &self.overlay, &action.ns_rwsets)? {
            return Ok(code);
        }
        self.apply(ledger, number, index, &tx, &action)?;
        Ok(Code::Valid)
    }

    fn check_endorsements(
        &mut self,
        ledger: &Ledger,
        action: &EndorserAction,
        signers: &[Identity],
        ctx: &ValidationContext<'_>,
    ) -> Result<Result<(), Code>, LedgerError> {
        endorsement::check(ledger, action, signers, ctx, &mut self.key_policies)
    }

    /// Records a valid transaction's writes: value writes first, then metadata writes
    /// (see [`crate::store::apply_write`]). An empty value is a delete, as in Fabric.
    fn apply(
        &mut self,
        ledger: &Ledger,
        number: u64,
        index: u64,
        tx: &CheckedTx,
        action: &EndorserAction,
    ) -> Result<(), LedgerError> {
        let txid = &tx.channel_header.tx_id;
        let timestamp = tx.channel_header.timestamp;
        for ns in &action.ns_rwsets {
            let values = ns.kv.writes.iter().map(|w| {
                let op = if w.is_delete || w.value.is_empty() {
                    WriteOp::Delete
                } else {
                    WriteOp::Put(w.value.clone())
                };
                (&w.key, op)
            });
            let metadata = ns.kv.metadata_writes.iter().map(|m| {
                let entries: BTreeMap<String, Vec<u8>> = m
                    .entries
                    .iter()
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect();
                (&m.key, WriteOp::Metadata(entries))
            });
            for (key, op) in values.chain(metadata) {
                if self
                    .overlay
                    .apply(ledger, &ns.namespace, key, &op, (number, index))?
                {
                    self.updates.writes.push((
                        ns.namespace.clone(),
                        key.clone(),
                        op,
                        index,
                        txid.clone(),
                        timestamp,
                    ));
                }
            }
        }
        Ok(())
    }
}
