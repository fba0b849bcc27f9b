//! The flattened view of a config tree that Fabric's configtx validates on.
//!
//! Every group, value and policy becomes one entry keyed by its kind and path,
//! exactly as Fabric spells it (`[Group]  /Channel/Orderer`,
//! `[Value]  /Channel/Orderer/BatchSize`, `[Policy] /Channel/Admins`): the keys
//! appear in Fabric's error messages, so they are part of the wire behaviour.
//! Element names must be 1-249 characters of `[a-zA-Z0-9.-]` and not `.`/`..`.

use fabric_proto::common::{ConfigGroup, ConfigPolicy, ConfigValue};
use std::collections::BTreeMap;

const GROUP_PREFIX: &str = "[Group]  ";
const VALUE_PREFIX: &str = "[Value]  ";
const POLICY_PREFIX: &str = "[Policy] ";
const MAX_ID_LEN: usize = 249;

/// What one entry of the map is.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Group(ConfigGroup),
    Value(ConfigValue),
    Policy(ConfigPolicy),
}

/// One entry: the element, its name, and the path of the group holding it
/// (empty for the root group).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub element: Element,
    pub key: String,
    pub path: Vec<String>,
}

impl Entry {
    pub fn version(&self) -> u64 {
        match &self.element {
            Element::Group(g) => g.version,
            Element::Value(v) => v.version,
            Element::Policy(p) => p.version,
        }
    }

    pub fn mod_policy(&self) -> &str {
        match &self.element {
            Element::Group(g) => &g.mod_policy,
            Element::Value(v) => &v.mod_policy,
            Element::Policy(p) => &p.mod_policy,
        }
    }

    /// The path of the group whose policies a relative mod_policy names:
    /// a group's own path, or the path of the group holding a value or policy.
    pub fn policy_scope(&self) -> Vec<String> {
        let mut scope = self.path.clone();
        if matches!(self.element, Element::Group(_)) {
            scope.push(self.key.clone());
        }
        scope
    }
}

/// The flattened config: Fabric key -> entry.
pub type ConfigMap = BTreeMap<String, Entry>;

/// Fabric's key for an element of `kind` named `key` inside `path`.
pub fn fq_key(element: &Element, path: &[String], key: &str) -> String {
    let prefix = match element {
        Element::Group(_) => GROUP_PREFIX,
        Element::Value(_) => VALUE_PREFIX,
        Element::Policy(_) => POLICY_PREFIX,
    };
    let mut s = String::from(prefix);
    for p in path {
        s.push('/');
        s.push_str(p);
    }
    s.push('/');
    s.push_str(key);
    s
}

pub(crate) fn group_key(path: &str) -> String {
    format!("{GROUP_PREFIX}{path}")
}
pub(crate) fn value_key(path: &str, key: &str) -> String {
    format!("{VALUE_PREFIX}{path}/{key}")
}
pub(crate) fn policy_key(path: &str, key: &str) -> String {
    format!("{POLICY_PREFIX}{path}/{key}")
}

/// Fabric's `validateConfigID`.
pub fn validate_config_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("config ID illegal, cannot be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "config ID illegal, cannot be longer than {MAX_ID_LEN}"
        ));
    }
    if id == "." || id == ".." {
        return Err(format!("name '{id}' for config ID is not allowed"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(format!("config ID '{id}' contains illegal characters"));
    }
    Ok(())
}

/// Flattens `group` (named `root`) into a map; fails on an illegal element name.
pub fn map_config(group: Option<&ConfigGroup>, root: &str) -> Result<ConfigMap, String> {
    let mut out = ConfigMap::new();
    if let Some(group) = group {
        recurse(&mut out, &[root.to_owned()], group)?;
    }
    Ok(out)
}

fn add(out: &mut ConfigMap, entry: Entry) -> Result<(), String> {
    let key = fq_key(&entry.element, &entry.path, &entry.key);
    if let Err(e) = validate_config_id(&entry.key) {
        let prefix = key.split('/').next().unwrap_or_default();
        return Err(format!("illegal characters in key: {prefix}: {e}"));
    }
    out.insert(key, entry);
    Ok(())
}

fn recurse(out: &mut ConfigMap, path: &[String], group: &ConfigGroup) -> Result<(), String> {
    let (key, parent) = path.split_last().expect("path is never empty");
    add(
        out,
        Entry {
            element: Element::Group(group.clone()),
            key: key.clone(),
            path: parent.to_vec(),
        },
    )?;
    for (name, sub) in &group.groups {
        let mut next = path.to_vec();
        next.push(name.clone());
        recurse(out, &next, sub)?;
    }
    for (name, value) in &group.values {
        add(
            out,
            Entry {
                element: Element::Value(value.clone()),
                key: name.clone(),
                path: path.to_vec(),
            },
        )?;
    }
    for (name, policy) in &group.policies {
        add(
            out,
            Entry {
                element: Element::Policy(policy.clone()),
                key: name.clone(),
                path: path.to_vec(),
            },
        )?;
    }
    Ok(())
}

/// Rebuilds the tree rooted at `root` from a map (Fabric's `configMapToConfig`):
/// each group's members are the names its own entry lists, each taken from the map.
/// When the channel has `/Channel/Orderer/Capabilities` (every channel since v1.1),
/// an empty mod_policy becomes `Admins`, as Fabric repairs channels made by v1.0.
pub fn config_from_map(map: &ConfigMap, root: &str) -> Result<ConfigGroup, String> {
    let repair = map.contains_key(&value_key("/Channel/Orderer", "Capabilities"));
    rebuild(map, &format!("/{root}"), repair)
}

fn rebuild(map: &ConfigMap, path: &str, repair: bool) -> Result<ConfigGroup, String> {
    let key = group_key(path);
    let entry = map
        .get(&key)
        .ok_or_else(|| format!("missing group at path: {key}"))?;
    let Element::Group(group) = &entry.element else {
        return Err(format!("ConfigGroup not found at group path: {key}"));
    };
    let mut out = ConfigGroup {
        version: group.version,
        mod_policy: group.mod_policy.clone(),
        ..Default::default()
    };
    for name in group.groups.keys() {
        out.groups.insert(
            name.clone(),
            rebuild(map, &format!("{path}/{name}"), repair)?,
        );
    }
    for name in group.values.keys() {
        let key = value_key(path, name);
        match map.get(&key).map(|e| &e.element) {
            Some(Element::Value(v)) => {
                out.values.insert(name.clone(), v.clone());
            }
            Some(_) => return Err(format!("ConfigValue not found at value path: {key}")),
            None => return Err(format!("missing value at path: {key}")),
        }
    }
    for name in group.policies.keys() {
        let key = policy_key(path, name);
        match map.get(&key).map(|e| &e.element) {
            Some(Element::Policy(p)) => {
                out.policies.insert(name.clone(), p.clone());
            }
            Some(_) => return Err(format!("ConfigPolicy not found at policy path: {key}")),
            None => return Err(format!("missing policy at path: {key}")),
        }
    }
    if repair {
        let admins = || "Admins".to_owned();
        if out.mod_policy.is_empty() {
            out.mod_policy = admins();
        }
        for v in out.values.values_mut().filter(|v| v.mod_policy.is_empty()) {
            v.mod_policy = admins();
        }
        for p in out
            .policies
            .values_mut()
            .filter(|p| p.mod_policy.is_empty())
        {
            p.mod_policy = admins();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_like_fabric() {
        let mut channel = ConfigGroup::default();
        let mut orderer = ConfigGroup::default();
        orderer
            .values
            .insert("BatchSize".into(), ConfigValue::default());
        orderer
            .policies
            .insert("Admins".into(), ConfigPolicy::default());
        channel.groups.insert("Orderer".into(), orderer);
        let map = map_config(Some(&channel), "Channel").unwrap();
        let keys: Vec<_> = map.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "[Group]  /Channel",
                "[Group]  /Channel/Orderer",
                "[Policy] /Channel/Orderer/Admins",
                "[Value]  /Channel/Orderer/BatchSize",
            ]
        );
        assert_eq!(config_from_map(&map, "Channel").unwrap(), channel);
    }

    #[test]
    fn illegal_names_are_refused() {
        assert!(validate_config_id("Org1MSP").is_ok());
        assert!(validate_config_id("a/b").is_err());
        assert!(validate_config_id("..").is_err());
        assert!(validate_config_id("").is_err());
        let mut channel = ConfigGroup::default();
        channel
            .values
            .insert("bad name".into(), ConfigValue::default());
        let err = map_config(Some(&channel), "Channel").unwrap_err();
        assert!(err.contains("contains illegal characters"), "{err}");
    }
}
