//! The channel resources (MSPs and endorsement policies) each config block
//! puts in force, built once per config block and shared by the orderer and
//! every peer that commits it.
//!
//! Why shared: an [`fabric_msp::MspManager`] remembers the signatures it has
//! checked, and the orderer and the peers check the very same signatures; one
//! manager per config keeps that memo common to all of them.

use crate::channel_config::ChannelConfig;
use devnet_endorser::{ChannelPolicies, ChannelResources};
use fabric_configtx::ConfigError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// More configs than this in use at once only happens while peers catch up
/// through several config blocks; the cache then starts over.
const MAX_BUNDLES: usize = 8;

/// Resources by the number of the config block that carried them.
#[derive(Default)]
pub(crate) struct Bundles {
    built: Mutex<HashMap<u64, Arc<ChannelResources>>>,
}

impl Bundles {
    /// The resources of `config`, built on first use.
    pub(crate) fn resources(
        &self,
        config: &ChannelConfig,
    ) -> Result<Arc<ChannelResources>, ConfigError> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(resources) = built.get(&config.block) {
            return Ok(resources.clone());
        }
        let resources = Arc::new(ChannelResources {
            msps: Arc::new(fabric_configtx::msp_manager(&config.config)?),
            policies: ChannelPolicies::from_config(&config.config)?,
        });
        if built.len() >= MAX_BUNDLES {
            built.clear();
        }
        built.insert(config.block, resources.clone());
        Ok(resources)
    }
}
