//! The validator's view of chaincode definitions: which endorsement policy
//! a namespace's writes must satisfy, read from committed `_lifecycle` state.
//!
//! Owns: the [`devnet_ledger::ChaincodeRegistry`] implementation and the
//! public [`crate::ChaincodeDefinition`] lookup.

use super::state::{self, Committed, IMPLICIT_ORG_PREFIX, LIFECYCLE};
use crate::error::Result;
use crate::{ChaincodeDefinition, ChannelResources, SharedResources};
use devnet_ledger::{ChaincodeRegistry, Ledger};
use fabric_policy::EndorsementPolicy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Chaincode definitions as committed on one peer.
pub struct LifecycleRegistry {
    ledger: Arc<Ledger>,
    /// Channel policies are resolved against the peer's config in force.
    resources: SharedResources,
    /// Resolved definitions by chaincode name. Why: the gateway, the endorser and the
    /// validator ask for a definition several times per transaction (decoding the
    /// `_lifecycle` fields and resolving the policy each time), while it changes only
    /// when a block writes `_lifecycle` or a config block changes the policies.
    cache: Mutex<HashMap<String, CachedDefinition>>,
}

/// A definition as computed from the `_lifecycle` state of one
/// [`Ledger::system_state_generation`] and one config in force.
struct CachedDefinition {
    generation: u64,
    resources: Arc<ChannelResources>,
    definition: Option<ChaincodeDefinition>,
}

/// Beyond this many chaincode names the cache starts over.
const MAX_CACHED: usize = 1024;

impl LifecycleRegistry {
    pub fn new(ledger: Arc<Ledger>, resources: SharedResources) -> Self {
        Self {
            ledger,
            resources,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The committed definition of a user chaincode, with its policy resolved.
    pub fn definition(&self, name: &str) -> Result<Option<ChaincodeDefinition>> {
        let resources = self.resources.current();
        let generation = self.ledger.system_state_generation();
        let current = |c: &CachedDefinition| {
            c.generation == generation && Arc::ptr_eq(&c.resources, &resources)
        };
        if let Some(cached) = self.lock().get(name).filter(|c| current(c)) {
            return Ok(cached.definition.clone());
        }
        let definition = self.read_definition(name, &resources)?;
        // Not remembered if a block wrote `_lifecycle` while it was being read.
        if self.ledger.system_state_generation() == generation {
            let mut cache = self.lock();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(
                name.to_string(),
                CachedDefinition {
                    generation,
                    resources,
                    definition: definition.clone(),
                },
            );
        }
        Ok(definition)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedDefinition>> {
        // A poisoned lock only means a thread panicked holding it; the map is sound.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The definition from committed `_lifecycle` state, its policy resolved by `resources`.
    fn read_definition(
        &self,
        name: &str,
        resources: &ChannelResources,
    ) -> Result<Option<ChaincodeDefinition>> {
        let Some(def) = state::definition(&mut Committed(&self.ledger), name)? else {
            return Ok(None);
        };
        let policy = resources
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
