//! The `ConfigUpdate` that turns one config into another, with the semantics of
//! `configtxlator compute_update` (Fabric's `internal/configtxlator/update`):
//!
//! - an element that changed (value bytes, policy or mod_policy) goes into the
//!   write set at its current version + 1, and not into the read set;
//! - an element that did not change appears nowhere, unless its group's
//!   membership changed (an element added or removed, or the group's mod_policy
//!   changed): then every unchanged member is listed, at its current version
//!   and with nothing else, in both sets, and the group itself is written at
//!   version + 1 with its mod_policy;
//! - a group with changes inside but the same membership is listed in both sets
//!   at its current version (no mod_policy), holding only the changed parts;
//! - a new element is written at version 0 (a new group with all its contents);
//! - the update carries no channel id (`configtxlator` leaves it to the caller).

use fabric_proto::common::{Config, ConfigGroup, ConfigPolicy, ConfigUpdate, ConfigValue};
use std::collections::HashMap;

/// Why no update could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComputeError {
    #[error("no channel group included for original config")]
    NoOriginalGroup,
    #[error("no channel group included for updated config")]
    NoUpdatedGroup,
    #[error("no differences detected between original and updated config")]
    NoDifferences,
}

/// Computes the update from `original` to `updated` (read set and write set).
pub fn compute_update(original: &Config, updated: &Config) -> Result<ConfigUpdate, ComputeError> {
    let original = original
        .channel_group
        .as_ref()
        .ok_or(ComputeError::NoOriginalGroup)?;
    let updated = updated
        .channel_group
        .as_ref()
        .ok_or(ComputeError::NoUpdatedGroup)?;
    let (read_set, write_set, changed) = group_update(original, updated);
    if !changed {
        return Err(ComputeError::NoDifferences);
    }
    Ok(ConfigUpdate {
        read_set: Some(read_set),
        write_set: Some(write_set),
        ..Default::default()
    })
}

/// The read/write/same sets of one map of members, and whether membership changed.
struct MapUpdate<T> {
    read: HashMap<String, T>,
    write: HashMap<String, T>,
    same: HashMap<String, T>,
    members_changed: bool,
}

impl<T> Default for MapUpdate<T> {
    fn default() -> Self {
        Self {
            read: HashMap::new(),
            write: HashMap::new(),
            same: HashMap::new(),
            members_changed: false,
        }
    }
}

/// A leaf of a config group (a value or a policy): what `compute_update`
/// compares and how it lists it, so values and policies share one algorithm.
trait Leaf: Clone {
    fn version(&self) -> u64;
    /// Same content and mod_policy (the version aside).
    fn same_as(&self, other: &Self) -> bool;
    /// This leaf's content and mod_policy at `version`.
    fn at_version(&self, version: u64) -> Self;
    /// Only `version`: how an unchanged member is listed.
    fn bare(version: u64) -> Self;
}

impl Leaf for ConfigPolicy {
    fn version(&self) -> u64 {
        self.version
    }
    fn same_as(&self, other: &Self) -> bool {
        self.mod_policy == other.mod_policy && self.policy == other.policy
    }
    fn at_version(&self, version: u64) -> Self {
        ConfigPolicy {
            version,
            ..self.clone()
        }
    }
    fn bare(version: u64) -> Self {
        ConfigPolicy {
            version,
            ..Default::default()
        }
    }
}

impl Leaf for ConfigValue {
    fn version(&self) -> u64 {
        self.version
    }
    fn same_as(&self, other: &Self) -> bool {
        self.mod_policy == other.mod_policy && self.value == other.value
    }
    fn at_version(&self, version: u64) -> Self {
        ConfigValue {
            version,
            ..self.clone()
        }
    }
    fn bare(version: u64) -> Self {
        ConfigValue {
            version,
            ..Default::default()
        }
    }
}

/// The update of one map of values or policies.
fn leaves_update<T: Leaf>(
    original: &HashMap<String, T>,
    updated: &HashMap<String, T>,
) -> MapUpdate<T> {
    let mut out = MapUpdate::default();
    for (name, o) in original {
        let Some(u) = updated.get(name) else {
            out.members_changed = true;
            continue;
        };
        if o.same_as(u) {
            out.same.insert(name.clone(), T::bare(o.version()));
            continue;
        }
        out.write
            .insert(name.clone(), u.at_version(o.version() + 1));
    }
    for (name, u) in updated {
        if original.contains_key(name) {
            continue;
        }
        out.members_changed = true;
        out.write.insert(name.clone(), u.at_version(0));
    }
    out
}

fn groups_update(
    original: &HashMap<String, ConfigGroup>,
    updated: &HashMap<String, ConfigGroup>,
) -> MapUpdate<ConfigGroup> {
    let mut out = MapUpdate::default();
    for (name, o) in original {
        let Some(u) = updated.get(name) else {
            out.members_changed = true;
            continue;
        };
        let (read, write, changed) = group_update(o, u);
        if !changed {
            out.same.insert(name.clone(), read);
            continue;
        }
        out.read.insert(name.clone(), read);
        out.write.insert(name.clone(), write);
    }
    for (name, u) in updated {
        if original.contains_key(name) {
            continue;
        }
        out.members_changed = true;
        let (_, write, _) = group_update(&ConfigGroup::default(), u);
        out.write.insert(
            name.clone(),
            ConfigGroup {
                version: 0,
                mod_policy: u.mod_policy.clone(),
                ..write
            },
        );
    }
    out
}

/// (read set, write set, changed) of one group.
fn group_update(original: &ConfigGroup, updated: &ConfigGroup) -> (ConfigGroup, ConfigGroup, bool) {
    let mut policies = leaves_update(&original.policies, &updated.policies);
    let mut values = leaves_update(&original.values, &updated.values);
    let mut groups = groups_update(&original.groups, &updated.groups);

    let membership_changed = policies.members_changed
        || values.members_changed
        || groups.members_changed
        || original.mod_policy != updated.mod_policy;
    if !membership_changed {
        let nothing = policies.read.is_empty()
            && policies.write.is_empty()
            && values.read.is_empty()
            && values.write.is_empty()
            && groups.read.is_empty()
            && groups.write.is_empty();
        let at_version = || ConfigGroup {
            version: original.version,
            ..Default::default()
        };
        if nothing {
            return (at_version(), at_version(), false);
        }
        return (
            ConfigGroup {
                version: original.version,
                policies: policies.read,
                values: values.read,
                groups: groups.read,
                ..Default::default()
            },
            ConfigGroup {
                version: original.version,
                policies: policies.write,
                values: values.write,
                groups: groups.write,
                ..Default::default()
            },
            true,
        );
    }
    for (k, v) in policies.same {
        policies.read.insert(k.clone(), v.clone());
        policies.write.insert(k, v);
    }
    for (k, v) in values.same {
        values.read.insert(k.clone(), v.clone());
        values.write.insert(k, v);
    }
    for (k, v) in groups.same {
        groups.read.insert(k.clone(), v.clone());
        groups.write.insert(k, v);
    }
    (
        ConfigGroup {
            version: original.version,
            policies: policies.read,
            values: values.read,
            groups: groups.read,
            ..Default::default()
        },
        ConfigGroup {
            version: original.version + 1,
            policies: policies.write,
            values: values.write,
            groups: groups.write,
            mod_policy: updated.mod_policy.clone(),
        },
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: u64, bytes: &[u8]) -> ConfigValue {
        ConfigValue {
            version: v,
            value: bytes.to_vec(),
            mod_policy: "Admins".into(),
        }
    }

    /// Channel{Orderer{BatchSize, BatchTimeout}, Application{}} at some versions.
    fn config() -> Config {
        let mut orderer = ConfigGroup {
            version: 3,
            mod_policy: "Admins".into(),
            ..Default::default()
        };
        orderer.values.insert("BatchSize".into(), value(2, b"a"));
        orderer.values.insert("BatchTimeout".into(), value(0, b"t"));
        let mut channel = ConfigGroup {
            version: 1,
            mod_policy: "Admins".into(),
            ..Default::default()
        };
        channel.groups.insert("Orderer".into(), orderer);
        channel.groups.insert(
            "Application".into(),
            ConfigGroup {
                version: 5,
                mod_policy: "Admins".into(),
                ..Default::default()
            },
        );
        Config {
            sequence: 7,
            channel_group: Some(channel),
        }
    }

    fn orderer(c: &mut Config) -> &mut ConfigGroup {
        c.channel_group
            .as_mut()
            .unwrap()
            .groups
            .get_mut("Orderer")
            .unwrap()
    }

    #[test]
    fn a_changed_value_is_written_at_the_next_version_under_unversioned_parents() {
        let original = config();
        let mut updated = original.clone();
        orderer(&mut updated)
            .values
            .get_mut("BatchSize")
            .unwrap()
            .value = b"b".to_vec();
        let update = compute_update(&original, &updated).unwrap();

        let read = update.read_set.unwrap();
        assert_eq!(read.version, 1);
        assert_eq!(read.groups.len(), 1, "only the changed branch is read");
        let read_orderer = &read.groups["Orderer"];
        assert_eq!(read_orderer.version, 3);
        assert!(
            read_orderer.values.is_empty(),
            "the changed value is not read"
        );
        assert!(read_orderer.mod_policy.is_empty());

        let write = update.write_set.unwrap();
        assert_eq!(write.version, 1);
        let w = &write.groups["Orderer"];
        assert_eq!(
            w.version, 3,
            "membership unchanged: the group keeps its version"
        );
        assert_eq!(w.mod_policy, "");
        assert_eq!(w.values.len(), 1);
        assert_eq!(w.values["BatchSize"], value(3, b"b"));
    }

    #[test]
    fn a_new_member_bumps_the_group_and_lists_the_unchanged_members() {
        let original = config();
        let mut updated = original.clone();
        orderer(&mut updated)
            .values
            .insert("New".into(), value(9, b"n"));
        let update = compute_update(&original, &updated).unwrap();
        let w = &update.write_set.unwrap().groups["Orderer"];
        assert_eq!(w.version, 4);
        assert_eq!(w.mod_policy, "Admins");
        assert_eq!(w.values["New"], value(0, b"n"));
        assert_eq!(
            w.values["BatchSize"],
            ConfigValue {
                version: 2,
                ..Default::default()
            }
        );
        let r = &update.read_set.unwrap().groups["Orderer"];
        assert_eq!(r.version, 3);
        assert_eq!(
            r.values.len(),
            2,
            "BatchSize and BatchTimeout read at their versions"
        );
        assert!(!r.values.contains_key("New"));
    }

    #[test]
    fn no_difference_is_an_error() {
        assert_eq!(
            compute_update(&config(), &config()),
            Err(ComputeError::NoDifferences)
        );
    }
}
