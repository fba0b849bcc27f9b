//! The checks of a transaction that depend only on its bytes, the channel's
//! MSPs and the transaction's own time: decoding, the creator and its
//! signature, and which endorsements verify. They need no ledger state and no
//! earlier transaction, so a block's transactions get them in parallel; the
//! stateful checks (duplicate txids, policies, MVCC) then run in block order.
//!
//! Why parallel: signature verification is most of a block's validation cost,
//! and a peer would otherwise use one core for it.

use super::endorsement::verified_endorsers;
use super::envelope::{self, CheckedTx, EndorserAction};
use super::ValidationContext;
use fabric_msp::Identity;
use fabric_proto::common::HeaderType;
use fabric_proto::protos::TxValidationCode as Code;

/// Fewer transactions than this per thread are not worth a thread.
const MIN_TXS_PER_THREAD: usize = 4;

/// The outcome of the stateless checks of one transaction.
pub(crate) enum Stateless {
    /// Invalid already: its final code.
    Invalid(Code),
    /// A config transaction that passed the envelope checks.
    Config,
    /// An endorser transaction that passed the envelope checks (boxed: it is large).
    Endorser(Box<Endorsed>),
}

/// An endorser transaction after its stateless checks.
pub(crate) struct Endorsed {
    pub tx: CheckedTx,
    /// The decoded action, or the code of a decoding failure (which Fabric
    /// reports only if the transaction is not a duplicate).
    pub action: Result<EndorserAction, Code>,
    /// Endorsers whose identity and signature are valid (empty if the action does not decode).
    pub signers: Vec<Identity>,
}

/// The stateless checks of every envelope of block `number`, in block order.
pub(crate) fn check_all(
    envelopes: &[Vec<u8>],
    number: u64,
    ctx: &ValidationContext<'_>,
) -> Vec<Stateless> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(envelopes.len() / MIN_TXS_PER_THREAD).max(1);
    let check_part = |part: &[Vec<u8>]| -> Vec<Stateless> {
        part.iter().map(|env| check(env, number, ctx)).collect()
    };
    if threads == 1 {
        return check_part(envelopes);
    }
    let chunk = envelopes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = envelopes
            .chunks(chunk)
            .map(|part| scope.spawn(move || check_part(part)))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                // A panic here is a bug in the checks, not bad input: pass it on.
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The stateless checks of one envelope.
fn check(env: &[u8], number: u64, ctx: &ValidationContext<'_>) -> Stateless {
    let tx = match envelope::check_envelope(env, number, ctx) {
        Ok(tx) => tx,
        Err(code) => return Stateless::Invalid(code),
    };
    if tx.header_type() != HeaderType::EndorserTransaction as i32 {
        return Stateless::Config;
    }
    let action = envelope::decode_action(&tx);
    let signers = match &action {
        Ok(action) => verified_endorsers(action, tx.at, ctx),
        Err(_) => Vec::new(),
    };
    Stateless::Endorser(Box::new(Endorsed {
        tx,
        action,
        signers,
    }))
}
