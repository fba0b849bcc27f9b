//! Validating a config update against the current config, as Fabric's configtx
//! validator does (`common/configtx`), producing the next config.
//!
//! In order: the update's channel must be the channel's; every element of the read
//! set must exist at the version read; the delta (write-set elements not read at the
//! same version) must not be empty, each of its elements must be new at version 0
//! or at exactly its current version + 1, and the mod_policy of the element as it
//! currently is must be satisfied by the update's signatures; the full proposed
//! config is the current one overlaid with the delta, rebuilt from the root. The
//! next config has sequence + 1. Error texts are Fabric's, since clients see them.

use crate::map::{config_from_map, map_config, ConfigMap};
use crate::policy::{update_signed_data, valid_identities, Policies};
use crate::ROOT_GROUP;
use fabric_msp::MspManager;
use fabric_proto::common::{Config, ConfigUpdate, ConfigUpdateEnvelope};
use prost::Message;

/// Why an update is not authorized (Fabric's `authorizeUpdate` errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    #[error("error unmarshalling ConfigUpdate: {0}")]
    Decode(String),
    #[error("ConfigUpdate for channel '{update}' but envelope for channel '{envelope}'")]
    Channel { update: String, envelope: String },
    #[error("error mapping ReadSet: {0}")]
    MapReadSet(String),
    #[error("error validating ReadSet: {0}")]
    ReadSet(String),
    #[error("error mapping WriteSet: {0}")]
    MapWriteSet(String),
    #[error("{0}")]
    SignedData(String),
    #[error("error validating DeltaSet: {0}")]
    DeltaSet(String),
    #[error("full config did not verify: {0}")]
    FullConfig(String),
}

impl AuthorizeError {
    /// True when the update was computed against an older config (a stale read or write version).
    pub fn is_stale(&self) -> bool {
        match self {
            AuthorizeError::ReadSet(_) => true,
            AuthorizeError::DeltaSet(m) => m.starts_with("attempt to set key"),
            _ => false,
        }
    }
}

/// Why a config update envelope does not produce a next config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigTxError {
    #[error("error converting envelope to config update: {0}")]
    Envelope(String),
    #[error("error authorizing update: {0}")]
    Authorize(#[source] AuthorizeError),
    #[error("could not turn configMap back to channelGroup: {0}")]
    Rebuild(String),
}

/// Validates `update` (from a CONFIG_UPDATE envelope of channel `channel`) against
/// `current`, with identities checked by `msps` at unix time `at`; returns the next config.
pub fn propose_update(
    current: &Config,
    channel: &str,
    update: &ConfigUpdateEnvelope,
    msps: &MspManager,
    at: i64,
) -> Result<Config, ConfigTxError> {
    let current_map = map_config(current.channel_group.as_ref(), ROOT_GROUP)
        .map_err(|e| ConfigTxError::Rebuild(format!("error converting config to map: {e}")))?;
    let proposed = authorize(current, &current_map, channel, update, msps, at)
        .map_err(ConfigTxError::Authorize)?;
    let group = config_from_map(&proposed, ROOT_GROUP).map_err(ConfigTxError::Rebuild)?;
    Ok(Config {
        sequence: current.sequence + 1,
        channel_group: Some(group),
    })
}

fn authorize(
    current: &Config,
    current_map: &ConfigMap,
    channel: &str,
    envelope: &ConfigUpdateEnvelope,
    msps: &MspManager,
    at: i64,
) -> Result<ConfigMap, AuthorizeError> {
    let update = ConfigUpdate::decode(envelope.config_update.as_slice())
        .map_err(|e| AuthorizeError::Decode(e.to_string()))?;
    if update.channel_id != channel {
        return Err(AuthorizeError::Channel {
            update: update.channel_id,
            envelope: channel.to_owned(),
        });
    }
    let read_set =
        map_config(update.read_set.as_ref(), ROOT_GROUP).map_err(AuthorizeError::MapReadSet)?;
    for (key, read) in &read_set {
        let Some(existing) = current_map.get(key) else {
            return Err(AuthorizeError::ReadSet(format!(
                "existing config does not contain element for {key} but was in the read set"
            )));
        };
        if existing.version() != read.version() {
            return Err(AuthorizeError::ReadSet(format!(
                "proposed update requires that key {key} be at version {}, but it is currently at version {}",
                read.version(),
                existing.version()
            )));
        }
    }
    let write_set =
        map_config(update.write_set.as_ref(), ROOT_GROUP).map_err(AuthorizeError::MapWriteSet)?;
    let delta: ConfigMap = write_set
        .iter()
        .filter(|(key, w)| {
            read_set
                .get(*key)
                .is_none_or(|r| r.version() != w.version())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let signed = update_signed_data(envelope).map_err(AuthorizeError::SignedData)?;
    let signers = valid_identities(&signed, msps, at);
    let root = current.channel_group.clone().unwrap_or_default();
    let policies = Policies::new(&root);
    if delta.is_empty() {
        return Err(AuthorizeError::DeltaSet(
            "delta set was empty -- update would have no effect".into(),
        ));
    }
    for (key, value) in &delta {
        check_mod_policy(value.mod_policy()).map_err(|e| {
            AuthorizeError::DeltaSet(format!("invalid mod_policy for element {key}: {e}"))
        })?;
        let Some(existing) = current_map.get(key) else {
            if value.version() != 0 {
                return Err(AuthorizeError::DeltaSet(format!(
                    "attempted to set key {key} to version {}, but key does not exist",
                    value.version()
                )));
            }
            continue;
        };
        if value.version() != existing.version() + 1 {
            return Err(AuthorizeError::DeltaSet(format!(
                "attempt to set key {key} to version {}, but key is at version {}",
                value.version(),
                existing.version()
            )));
        }
        let mod_policy = existing.mod_policy();
        let scope = if mod_policy.starts_with('/') {
            vec![ROOT_GROUP.to_owned()]
        } else {
            existing.policy_scope()
        };
        if !policies.exists(&scope, mod_policy) {
            return Err(AuthorizeError::DeltaSet(format!(
                "unexpected missing policy {mod_policy} for item {key}"
            )));
        }
        policies
            .evaluate(&scope, mod_policy, &signers, msps)
            .map_err(|e| {
                AuthorizeError::DeltaSet(format!("policy for {key} not satisfied: {e}"))
            })?;
    }
    let mut proposed = current_map.clone();
    for (key, value) in delta {
        proposed.insert(key, value);
    }
    if let Some(key) = write_set.keys().find(|k| !proposed.contains_key(*k)) {
        return Err(AuthorizeError::FullConfig(format!(
            "writeset contained key {key} which did not appear in proposed config"
        )));
    }
    Ok(proposed)
}

/// Fabric's `validateModPolicy`: set, and every path element a legal config id.
fn check_mod_policy(mod_policy: &str) -> Result<(), String> {
    if mod_policy.is_empty() {
        return Err("mod_policy not set".into());
    }
    let trimmed = mod_policy.strip_prefix('/').unwrap_or(mod_policy);
    for (i, part) in trimmed.split('/').enumerate() {
        crate::map::validate_config_id(part)
            .map_err(|e| format!("path element at {i} is invalid: {e}"))?;
    }
    Ok(())
}
