//! Endorsement checks: which endorsements count, and whether they satisfy the
//! chaincode-level and key-level (state-based) policies of every namespace a
//! transaction writes, following Fabric's v20 validation plugin
//! (core/common/validation/statebased):
//!
//! - every written key (value or metadata write) that has a `VALIDATION_PARAMETER`
//!   in *committed* state must satisfy that policy; a written key without one must
//!   satisfy the chaincode policy (checked once per namespace);
//! - if no policy was evaluated at all (the namespace has no writes), the chaincode
//!   policy must hold; so a transaction whose written keys all carry key-level
//!   policies does not need the chaincode policy;
//! - if an earlier transaction of the same block passed this check for a namespace
//!   and wrote metadata of a key there, a later transaction writing that key is an
//!   ENDORSEMENT_POLICY_FAILURE (Fabric's ValidationParameterUpdatedError): the key's
//!   policy may have changed under it.

use super::envelope::{EndorserAction, NsRwSet};
use super::ValidationContext;
use crate::{Ledger, LedgerError};
use fabric_msp::Identity;
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::SignaturePolicyEnvelope;
use fabric_proto::protos::{MetaDataKeys, TxValidationCode as Code};
use prost::Message;
use std::collections::{BTreeSet, HashSet};

/// Keys whose metadata an earlier transaction of the block wrote (after passing
/// its endorsement check for that namespace).
#[derive(Default)]
pub(crate) struct KeyPolicyUpdates {
    keys: HashSet<(String, String)>,
}

impl KeyPolicyUpdates {
    fn record(&mut self, ns: &NsRwSet) {
        for mw in &ns.kv.metadata_writes {
            self.keys.insert((ns.namespace.clone(), mw.key.clone()));
        }
    }

    fn contains(&self, namespace: &str, key: &str) -> bool {
        self.keys
            .contains(&(namespace.to_string(), key.to_string()))
    }
}

/// Endorsers whose identity is valid at `at` and whose signature over
/// `proposal_response_payload || endorser` verifies; each identity counts once.
/// Invalid endorsements are ignored, as in Fabric: they just do not count.
pub(crate) fn verified_endorsers(
    action: &EndorserAction,
    at: i64,
    ctx: &ValidationContext<'_>,
) -> Vec<Identity> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in &action.endorsements {
        let Ok(id) = ctx.msps.validate_serialized(&e.endorser, at) else {
            tracing::debug!("endorser identity rejected");
            continue;
        };
        let mut msg = Vec::with_capacity(action.proposal_response_payload.len() + e.endorser.len());
        msg.extend_from_slice(&action.proposal_response_payload);
        msg.extend_from_slice(&e.endorser);
        if ctx.msps.verify(&id, &msg, &e.signature).is_err() {
            tracing::debug!("endorsement signature of {} rejected", id.subject_cn);
            continue;
        }
        if seen.insert((id.mspid.clone(), id.cert_der.clone())) {
            out.push(id);
        }
    }
    out
}

/// Checks the endorsements of a transaction against the policies of the invoked
/// chaincode and of every namespace it writes; `signers` are its
/// [`verified_endorsers`]. Err(code) when the transaction is invalid.
pub(crate) fn check(
    ledger: &Ledger,
    action: &EndorserAction,
    signers: &[Identity],
    ctx: &ValidationContext<'_>,
    updates: &mut KeyPolicyUpdates,
) -> Result<Result<(), Code>, LedgerError> {
    let mut namespaces = BTreeSet::from([action.chaincode.as_str()]);
    namespaces.extend(
        action
            .ns_rwsets
            .iter()
            .filter(|ns| ns.writes())
            .map(|ns| ns.namespace.as_str()),
    );

    // Every namespace must be a defined chaincode before any policy is evaluated,
    // so the code does not depend on evaluation order.
    let mut policies = Vec::with_capacity(namespaces.len());
    for ns in &namespaces {
        match ctx.chaincodes.endorsement_policy(ns) {
            Some(p) => policies.push((*ns, p)),
            None => return Ok(Err(Code::InvalidChaincode)),
        }
    }

    for (ns, policy) in &policies {
        let rwset = action.ns_rwsets.iter().find(|r| r.namespace == *ns);
        let checker = NamespaceCheck {
            ledger,
            ctx,
            namespace: ns,
            chaincode_policy: policy,
            signers,
        };
        if let Err(code) = checker.run(rwset, updates)? {
            return Ok(Err(code));
        }
        if let Some(rwset) = rwset {
            updates.record(rwset);
        }
    }
    Ok(Ok(()))
}

/// The policy check of one namespace of one transaction.
struct NamespaceCheck<'a> {
    ledger: &'a Ledger,
    ctx: &'a ValidationContext<'a>,
    namespace: &'a str,
    chaincode_policy: &'a EndorsementPolicy,
    signers: &'a [Identity],
}

/// What has been evaluated so far for one namespace (Fabric's policyCheckerV20).
#[derive(Default)]
struct Checked {
    chaincode_policy: bool,
    any_policy: bool,
    collections: HashSet<String>,
}

impl NamespaceCheck<'_> {
    fn run(
        &self,
        rwset: Option<&NsRwSet>,
        updates: &KeyPolicyUpdates,
    ) -> Result<Result<(), Code>, LedgerError> {
        let mut checked = Checked::default();
        if let Some(rwset) = rwset {
            let written = rwset.kv.writes.iter().map(|w| &w.key);
            let metadata_written = rwset.kv.metadata_writes.iter().map(|w| &w.key);
            for key in written.chain(metadata_written) {
                if updates.contains(self.namespace, key) {
                    tracing::debug!(
                        "key {}:{key} had its policy updated earlier in this block",
                        self.namespace
                    );
                    return Ok(Err(Code::EndorsementPolicyFailure));
                }
                if !self.check_key(key, &mut checked)? {
                    return Ok(Err(Code::EndorsementPolicyFailure));
                }
            }
            for (collection, hashed) in &rwset.collections {
                let writes = hashed.hashed_writes.len() + hashed.metadata_writes.len();
                if writes > 0 && !self.check_collection(collection, &mut checked) {
                    return Ok(Err(Code::EndorsementPolicyFailure));
                }
            }
        }
        if !checked.any_policy && !self.check_chaincode_policy(&mut checked) {
            return Ok(Err(Code::EndorsementPolicyFailure));
        }
        Ok(Ok(()))
    }

    /// A written key: its committed key-level policy if it has one, else the chaincode policy.
    fn check_key(&self, key: &str, checked: &mut Checked) -> Result<bool, LedgerError> {
        match self.key_policy(key)? {
            KeyPolicy::None => Ok(self.check_chaincode_policy(checked)),
            KeyPolicy::Undecodable => Ok(false),
            KeyPolicy::Policy(policy) => {
                let ok = fabric_policy::evaluate(&policy, self.signers, self.ctx.msps);
                checked.any_policy |= ok;
                Ok(ok)
            }
        }
    }

    /// A collection write: the collection's own policy if it has one (once), else the chaincode policy.
    fn check_collection(&self, collection: &str, checked: &mut Checked) -> bool {
        if checked.collections.contains(collection) {
            return true;
        }
        match self
            .ctx
            .chaincodes
            .collection_endorsement_policy(self.namespace, collection)
        {
            Some(policy) => {
                let ok = policy.evaluate(self.signers, self.ctx.msps);
                if ok {
                    checked.collections.insert(collection.to_string());
                    checked.any_policy = true;
                }
                ok
            }
            None => self.check_chaincode_policy(checked),
        }
    }

    fn check_chaincode_policy(&self, checked: &mut Checked) -> bool {
        if checked.chaincode_policy {
            return true;
        }
        let ok = self.chaincode_policy.evaluate(self.signers, self.ctx.msps);
        if ok {
            checked.chaincode_policy = true;
            checked.any_policy = true;
        }
        ok
    }

    /// The committed `VALIDATION_PARAMETER` of a key (state as of the previous block).
    fn key_policy(&self, key: &str) -> Result<KeyPolicy, LedgerError> {
        let Some(state) = self.ledger.try_get_state(self.namespace, key)? else {
            return Ok(KeyPolicy::None);
        };
        let name = MetaDataKeys::ValidationParameter.as_str_name();
        match state.metadata.get(name) {
            None => Ok(KeyPolicy::None),
            Some(bytes) if bytes.is_empty() => Ok(KeyPolicy::None),
            Some(bytes) => Ok(match SignaturePolicyEnvelope::decode(bytes.as_slice()) {
                Ok(policy) => KeyPolicy::Policy(policy),
                Err(_) => KeyPolicy::Undecodable,
            }),
        }
    }
}

enum KeyPolicy {
    None,
    /// Fabric halts the channel on an untranslatable policy; the devnet invalidates the transaction.
    Undecodable,
    Policy(SignaturePolicyEnvelope),
}
