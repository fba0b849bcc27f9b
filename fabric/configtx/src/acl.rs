//! Channel access control lists: which policy a resource (`event/Block`,
//! `qscc/GetChainInfo`, ...) answers to on a channel, and checking an identity
//! against it; and setting one resource's policy (a config update's edit).
//!
//! Fabric's resource provider reads the Application group's `ACLs` value and
//! falls back to its defaults for the resources it knows; every channel-scoped
//! default the peer uses is `/Channel/Application/Readers`, so that is the
//! fallback here. A resource Fabric does not know at all is refused with
//! Fabric's "Unmapped policy" words.

use crate::policy::Policies;
use crate::{ConfigError, ROOT_GROUP};
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::Config;
use fabric_proto::protos::{AcLs, ApiResource};
use prost::Message;

/// Fabric's default policy for the channel-scoped resources the channel's ACLs do not name.
pub const DEFAULT_ACL_POLICY: &str = "/Channel/Application/Readers";

/// The policy path the channel's ACLs give `resource`, or Fabric's default when they do not name it.
pub fn acl_policy(config: &Config, resource: &str) -> String {
    config
        .channel_group
        .as_ref()
        .and_then(|root| root.groups.get("Application"))
        .and_then(|app| app.values.get("ACLs"))
        .and_then(|v| AcLs::decode(v.value.as_slice()).ok())
        .and_then(|acls| acls.acls.get(resource).map(|r| r.policy_ref.clone()))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_ACL_POLICY.to_owned())
}

/// Checks `id` against the ACL of `resource` in `config`, evaluating the policy as
/// the channel defines it; the error names the resource, the policy and the reason.
pub fn check_acl(
    config: &Config,
    resource: &str,
    id: &Identity,
    msps: &MspManager,
) -> Result<(), String> {
    let policy = acl_policy(config, resource);
    let Some(root) = config.channel_group.as_ref() else {
        return Err("the channel config has no channel group".into());
    };
    Policies::new(root)
        .evaluate(
            &[ROOT_GROUP.to_owned()],
            &policy,
            std::slice::from_ref(id),
            msps,
        )
        .map_err(|e| {
            format!(
                "access denied for [{resource}]: policy {policy} not satisfied by {}@{}: {e}",
                id.subject_cn, id.mspid
            )
        })
}

/// `config` with the channel's ACL for `resource` set to `policy` (a policy path such
/// as `/Channel/Application/Readers`). The `ACLs` value must exist (a channel created
/// with ACLs); its mod_policy, the Application group's `Admins`, decides who may sign.
pub fn with_acl(config: &Config, resource: &str, policy: &str) -> Result<Config, ConfigError> {
    let mut out = config.clone();
    let value = out
        .channel_group
        .as_mut()
        .and_then(|root| root.groups.get_mut("Application"))
        .and_then(|app| app.values.get_mut("ACLs"))
        .ok_or_else(|| ConfigError::Missing("/Channel/Application/ACLs".into()))?;
    let mut acls = AcLs::decode(value.value.as_slice()).map_err(|e| ConfigError::Malformed {
        what: "ACLs".into(),
        msg: e.to_string(),
    })?;
    if acls.acls.get(resource).map(|r| r.policy_ref.as_str()) == Some(policy) {
        return Ok(config.clone());
    }
    acls.acls.insert(
        resource.to_owned(),
        ApiResource {
            policy_ref: policy.to_owned(),
        },
    );
    value.value = acls.encode_to_vec();
    Ok(out)
}
