//! The validator's view of chaincode definitions: which endorsement policy
//! a namespace's writes must satisfy, read from committed `_lifecycle` state.
//!
//! Owns: the [`devnet_ledger::ChaincodeRegistry`] implementation and the
//! public [`crate::ChaincodeDefinition`] lookup.

use super::state::{self, Committed, IMPLICIT_ORG_PREFIX, LIFECYCLE};
use crate::error::Result;
use crate::{ChaincodeDefinition, SharedResources};
use devnet_ledger::{ChaincodeRegistry, Ledger};
use fabric_policy::EndorsementPolicy;
use std::sync::Arc;

/// Chaincode definitions as committed on one peer.
pub struct LifecycleRegistry {
    ledger: Arc<Ledger>,
    /// Channel policies are resolved against the peer's config in force.
    resources: SharedResources,
}

impl LifecycleRegistry {
    pub fn new(ledger: Arc<Ledger>, resources: SharedResources) -> Self {
        Self { ledger, resources }
    }

    /// The committed definition of a user chaincode, with its policy resolved.
    pub fn definition(&self, name: &str) -> Result<Option<ChaincodeDefinition>> {
        let Some(def) = state::definition(&mut Committed(&self.ledger), name)? else {
            return Ok(None);
        };
        let policy = self
            .resources
            .current()
            .policies
            .resolve_application_policy(&def.params.validation.validation_parameter)?;
        Ok(Some(ChaincodeDefinition {
            name: name.to_string(),
            version: def.params.endorsement.version.clone(),
            sequence: def.sequence,
            endorsement_plugin: def.params.endorsement.endorsement_plugin.clone(),
            validation_plugin: def.params.validation.validation_plugin.clone(),
            validation_parameter: def.params.validation.validation_parameter.clone(),
            init_required: def.params.endorsement.init_required,
            policy,
        }))
    }

    fn policy(&self, name: &str) -> Result<Option<EndorsementPolicy>> {
        if name == LIFECYCLE {
            let resources = self.resources.current();
            return resources
                .policies
                .resolve_str(&resources.policies.lifecycle)
                .map(Some);
        }
        if let Some(mspid) = name.strip_prefix(IMPLICIT_ORG_PREFIX) {
            return Ok(self.resources.current().policies.org_policy(mspid));
        }
        Ok(self.definition(name)?.map(|d| d.policy))
    }
}

impl ChaincodeRegistry for LifecycleRegistry {
    fn endorsement_policy(&self, name: &str) -> Option<EndorsementPolicy> {
        self.policy(name).unwrap_or_else(|e| {
            // The validator treats "no policy" as an undefined chaincode, which fails the
            // transaction; that is the right outcome for a definition we cannot read.
            tracing::error!("endorsement policy of {name}: {e}");
            None
        })
    }

    fn collection_endorsement_policy(
        &self,
        chaincode: &str,
        collection: &str,
    ) -> Option<EndorsementPolicy> {
        let mspid = collection.strip_prefix(IMPLICIT_ORG_PREFIX)?;
        if chaincode != LIFECYCLE {
            return None;
        }
        self.resources.current().policies.org_policy(mspid)
    }
}
