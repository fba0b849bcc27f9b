//! The consortium description (`network/consortium.yaml`).
//!
//! Owns: the declarative shape of the network (organisations, nodes, ports,
//! channel, batch settings, policies, backend), loading it from YAML,
//! validating it, and shifting every port by an offset so a second network
//! can run beside a first one on the same host.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Lowest port a node may use: ports below 1024 need privileges.
const MIN_PORT: u32 = 1024;
const MAX_PORT: u32 = 65535;

/// Errors from loading or validating a consortium description.
#[derive(Debug, thiserror::Error)]
pub enum ConsortiumError {
    #[error("cannot read consortium description {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("consortium description {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("invalid consortium: {0}")]
    Invalid(String),
}

/// Which network runs the consortium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded Fabric-compatible network (one process, solo orderer).
    #[default]
    Devnet,
    /// Native Hyperledger Fabric peers and Raft orderers from operator-provided binaries.
    Fabric,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Devnet => "devnet",
            Backend::Fabric => "fabric",
        })
    }
}

/// Orderer batch settings of the channel (Fabric's `Orderer.BatchTimeout` / `BatchSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
}

/// Channel-level application policies (implicit-meta rules such as `MAJORITY Endorsement`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    pub endorsement: String,
    pub lifecycle_endorsement: String,
    /// The channel's ACLs (`/Channel/Application/ACLs`): resource (`event/Block`,
    /// `qscc/GetBlockByNumber`, ...) to the path of the policy that guards it.
    /// Resources not listed keep Fabric's defaults (mostly `/Channel/Application/Readers`).
    #[serde(default)]
    pub acls: std::collections::BTreeMap<String, String>,
}

/// The org-level policy (and its `ANY` implicit-meta policy in the Application group)
/// that admits an org's peers and admins but not its clients: what the ACLs give block
/// delivery and qscc's block and transaction queries to, since blocks carry every write set.
pub const OPERATORS_POLICY: &str = "Operators";

/// Ports of one orderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdererPorts {
    /// Broadcast / Deliver (gRPC).
    pub listen: u16,
    /// Channel participation API (osnadmin).
    pub admin: u16,
    /// Operations: /healthz and Prometheus metrics.
    pub operations: u16,
}

/// Ports of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPorts {
    /// Gateway, Endorser, Deliver (gRPC).
    pub listen: u16,
    /// Chaincode listener (bound by Fabric peers even with chaincode-as-a-service).
    pub chaincode: u16,
    /// Operations: /healthz and Prometheus metrics.
    pub operations: u16,
}

/// One orderer node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdererNode {
    /// Host name within the org's domain, e.g. `orderer0`.
    pub name: String,
    pub ports: OrdererPorts,
}

/// One peer node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerNode {
    /// Host name within the org's domain, e.g. `peer0`.
    pub name: String,
    pub ports: PeerPorts,
}

/// The ordering organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdererOrg {
    pub name: String,
    pub mspid: String,
    pub domain: String,
    /// All orderers; the devnet runs only the first (solo), Fabric runs all with Raft.
    pub orderers: Vec<OrdererNode>,
}

/// An application organisation (a hospital).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerOrg {
    pub name: String,
    pub mspid: String,
    pub domain: String,
    /// Port of the org's Fabric CA server.
    pub ca_port: u16,
    /// Port of the org's key custodian service (audited key release).
    pub custodian_port: u16,
    pub peers: Vec<PeerNode>,
}

/// The whole consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consortium {
    pub name: String,
    #[serde(default)]
    pub backend: Backend,
    pub channel: String,
    /// Address every node listens on and is reached at.
    pub host: String,
    pub batch: Batch,
    pub policies: Policies,
    pub orderer_org: OrdererOrg,
    pub orgs: Vec<PeerOrg>,
}

impl OrdererOrg {
    /// Fully qualified host name of an orderer, e.g. `orderer0.orderer.healthblock.test`.
    pub fn fqdn(&self, node: &OrdererNode) -> String {
        format!("{}.{}", node.name, self.domain)
    }

    /// The orderer the devnet runs (the first one).
    pub fn solo(&self) -> &OrdererNode {
        // Validation guarantees at least one orderer.
        &self.orderers[0]
    }
}

impl PeerOrg {
    /// Fully qualified host name of a peer, e.g. `peer0.hospital1.healthblock.test`.
    pub fn fqdn(&self, node: &PeerNode) -> String {
        format!("{}.{}", node.name, self.domain)
    }

    /// A peer's CCaaS builder configuration (Fabric's
    /// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`), the same on both backends:
    /// `peername` as Fabric's test network names peers (`peer0org1`), here
    /// the peer's name and the org's name in lower case, e.g. `peer0hospital1`.
    pub fn ccaas_builder_config(
        &self,
        node: &PeerNode,
    ) -> serde_json::Map<String, serde_json::Value> {
        let org: String = (self.name.chars())
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let mut config = serde_json::Map::new();
        config.insert("peername".into(), format!("{}{org}", node.name).into());
        config
    }
}

impl Consortium {
    /// The orderers that run: the devnet runs the first only, Fabric all of them.
    pub fn running_orderers(&self) -> Vec<&OrdererNode> {
        let oo = &self.orderer_org;
        match self.backend {
            Backend::Devnet => vec![oo.solo()],
            Backend::Fabric => oo.orderers.iter().collect(),
        }
    }

    /// Reads and validates a consortium description.
    pub fn load(path: &Path) -> Result<Self, ConsortiumError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConsortiumError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text).map_err(|e| match e {
            ConsortiumError::Parse { message, .. } => ConsortiumError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, ConsortiumError> {
        let consortium: Self = serde_yaml::from_str(text).map_err(|e| ConsortiumError::Parse {
            path: "<text>".into(),
            message: e.to_string(),
        })?;
        consortium.validate()?;
        Ok(consortium)
    }

    /// The same consortium with every port moved by `offset`, so a second network
    /// (tests) can run beside a first one (a demo). Fails if a port would leave the valid range.
    pub fn with_port_offset(&self, offset: u16) -> Result<Self, ConsortiumError> {
        let mut shifted = self.clone();
        let shift = |port: &mut u16| -> Result<(), ConsortiumError> {
            let moved = u32::from(*port) + u32::from(offset);
            *port = u16::try_from(moved).map_err(|_| {
                ConsortiumError::Invalid(format!(
                    "port {port} + offset {offset} = {moved} is above {MAX_PORT}"
                ))
            })?;
            Ok(())
        };
        for o in &mut shifted.orderer_org.orderers {
            shift(&mut o.ports.listen)?;
            shift(&mut o.ports.admin)?;
            shift(&mut o.ports.operations)?;
        }
        for org in &mut shifted.orgs {
            shift(&mut org.ca_port)?;
            shift(&mut org.custodian_port)?;
            for p in &mut org.peers {
                shift(&mut p.ports.listen)?;
                shift(&mut p.ports.chaincode)?;
                shift(&mut p.ports.operations)?;
            }
        }
        shifted.validate()?;
        Ok(shifted)
    }

    /// Every port of the consortium with what uses it, e.g. `(7011, "peer0.hospital1... listen")`.
    pub fn ports(&self) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        let oo = &self.orderer_org;
        for o in &oo.orderers {
            let n = oo.fqdn(o);
            out.push((o.ports.listen, format!("{n} listen")));
            out.push((o.ports.admin, format!("{n} admin")));
            out.push((o.ports.operations, format!("{n} operations")));
        }
        for org in &self.orgs {
            out.push((org.ca_port, format!("{} CA", org.name)));
            out.push((org.custodian_port, format!("{} key custodian", org.name)));
            for p in &org.peers {
                let n = org.fqdn(p);
                out.push((p.ports.listen, format!("{n} listen")));
                out.push((p.ports.chaincode, format!("{n} chaincode")));
                out.push((p.ports.operations, format!("{n} operations")));
            }
        }
        out
    }

    /// Lowest and highest port used: an offset larger than `max - min` gives a disjoint network.
    pub fn port_span(&self) -> (u16, u16) {
        let ports = self.ports();
        let min = ports.iter().map(|(p, _)| *p).min().unwrap_or(0);
        let max = ports.iter().map(|(p, _)| *p).max().unwrap_or(0);
        (min, max)
    }

    /// `host:port`.
    pub fn address(&self, port: u16) -> String {
        format!("{}:{port}", self.host)
    }

    /// The application org with this MSP id.
    pub fn org(&self, mspid: &str) -> Option<&PeerOrg> {
        self.orgs.iter().find(|o| o.mspid == mspid)
    }

    /// Checks everything a network needs to start: names, unique ids and ports, batch limits.
    pub fn validate(&self) -> Result<(), ConsortiumError> {
        let invalid = |m: String| Err(ConsortiumError::Invalid(m));
        require_name("name", &self.name)?;
        require_channel_name(&self.channel)?;
        if self.host.trim().is_empty() {
            return invalid("host is empty".into());
        }
        self.validate_batch()?;
        if self.policies.endorsement.trim().is_empty()
            || self.policies.lifecycle_endorsement.trim().is_empty()
        {
            return invalid(
                "policies.endorsement and policies.lifecycle_endorsement are required".into(),
            );
        }
        if self.orderer_org.orderers.is_empty() {
            return invalid("orderer_org.orderers is empty: at least one orderer is needed".into());
        }
        if self.orgs.is_empty() {
            return invalid(
                "orgs is empty: at least one application organisation is needed".into(),
            );
        }
        if let Some(org) = self.orgs.iter().find(|o| o.peers.is_empty()) {
            return invalid(format!("org {} has no peers", org.name));
        }
        self.validate_identifiers()?;
        self.validate_ports()
    }

    fn validate_batch(&self) -> Result<(), ConsortiumError> {
        let b = &self.batch;
        let fail = |m: String| Err(ConsortiumError::Invalid(format!("batch: {m}")));
        if b.timeout.is_zero() {
            return fail("timeout must be greater than zero".into());
        }
        if b.max_message_count == 0 {
            return fail("max_message_count must be at least 1".into());
        }
        if b.preferred_max_bytes == 0 || b.absolute_max_bytes == 0 {
            return fail("preferred_max_bytes and absolute_max_bytes must be at least 1".into());
        }
        if b.preferred_max_bytes > b.absolute_max_bytes {
            return fail(format!(
                "preferred_max_bytes ({}) exceeds absolute_max_bytes ({})",
                b.preferred_max_bytes, b.absolute_max_bytes
            ));
        }
        Ok(())
    }

    /// Org names, MSP ids, domains and node names must be well-formed and unique.
    fn validate_identifiers(&self) -> Result<(), ConsortiumError> {
        let mut mspids = BTreeMap::new();
        let mut domains = BTreeMap::new();
        let orgs = std::iter::once((
            &self.orderer_org.name,
            &self.orderer_org.mspid,
            &self.orderer_org.domain,
        ))
        .chain(self.orgs.iter().map(|o| (&o.name, &o.mspid, &o.domain)));
        for (name, mspid, domain) in orgs {
            require_name("org name", name)?;
            require_name("mspid", mspid)?;
            require_domain(domain)?;
            if let Some(other) = mspids.insert(mspid.clone(), name.clone()) {
                return Err(ConsortiumError::Invalid(format!(
                    "mspid {mspid} is used by both {other} and {name}"
                )));
            }
            if let Some(other) = domains.insert(domain.clone(), name.clone()) {
                return Err(ConsortiumError::Invalid(format!(
                    "domain {domain} is used by both {other} and {name}"
                )));
            }
        }
        let orderer_names = self.orderer_org.orderers.iter().map(|o| &o.name);
        unique_hosts(&self.orderer_org.name, orderer_names)?;
        for org in &self.orgs {
            unique_hosts(&org.name, org.peers.iter().map(|p| &p.name))?;
        }
        Ok(())
    }

    fn validate_ports(&self) -> Result<(), ConsortiumError> {
        let mut seen: BTreeMap<u16, String> = BTreeMap::new();
        for (port, user) in self.ports() {
            if u32::from(port) < MIN_PORT {
                return Err(ConsortiumError::Invalid(format!(
                    "{user}: port {port} is below {MIN_PORT}"
                )));
            }
            if let Some(other) = seen.insert(port, user.clone()) {
                return Err(ConsortiumError::Invalid(format!(
                    "duplicate port {port}: used by {other} and by {user}"
                )));
            }
        }
        Ok(())
    }
}

fn require_name(what: &str, value: &str) -> Result<(), ConsortiumError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ConsortiumError::Invalid(format!(
            "{what} {value:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Fabric channel names: lower case letters, digits, '.', '-', starting with a letter, < 250 chars.
fn require_channel_name(value: &str) -> Result<(), ConsortiumError> {
    let ok = value.len() < 250
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ConsortiumError::Invalid(format!(
            "channel {value:?} must start with a lower-case letter and hold only a-z, 0-9, '.', '-'"
        )))
    }
}

/// A DNS name: dot-separated labels of lower-case letters, digits and '-'.
fn require_domain(value: &str) -> Result<(), ConsortiumError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !value.is_empty() && value.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(ConsortiumError::Invalid(format!(
            "domain {value:?} is not a lower-case DNS name"
        )))
    }
}

fn unique_hosts<'a>(
    org: &str,
    names: impl Iterator<Item = &'a String>,
) -> Result<(), ConsortiumError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        require_domain(name).map_err(|_| {
            ConsortiumError::Invalid(format!(
                "{org}: node name {name:?} must be a lower-case host name"
            ))
        })?;
        if !seen.insert(name) {
            return Err(ConsortiumError::Invalid(format!(
                "{org}: node name {name} appears twice"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
