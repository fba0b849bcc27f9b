//! The native Fabric processes of a consortium and their environment.
//!
//! Owns: one [`FabricNode`] per orderer and peer, with the addresses to probe
//! and the environment that overrides `orderer.yaml` / `core.yaml` (Fabric
//! reads `ORDERER_*` / `CORE_*` variables over its config files): own ports,
//! own data directories, TLS everywhere, mutual TLS on the orderer admin API,
//! Prometheus metrics, gossip that lets the orgs meet, and chaincode through
//! our CCaaS builder instead of Docker.

use crate::consortium::{Consortium, OrdererNode, OrdererOrg, PeerNode, PeerOrg};
use crate::devnet_process::NodeKind;
use crate::layout::Layout;
use std::path::{Path, PathBuf};

/// Marks a process as one of ours: its value is the node's data directory, unique per home.
pub const MARKER_ENV: &str = "HEALTHBLOCK_FABRIC_NODE";
/// Name of the external builder in the peers' configuration.
pub const BUILDER_NAME: &str = "healthblock_ccaas";
/// Raised from Fabric's default of 500 so load tests are not throttled by the gateway.
const GATEWAY_CONCURRENCY: u32 = 2500;

/// One orderer or peer process.
#[derive(Debug, Clone)]
pub struct FabricNode {
    pub kind: NodeKind,
    /// MSP id of the node's org.
    pub org: String,
    /// Fully qualified host name, e.g. `orderer0.orderer.healthblock.test`.
    pub name: String,
    /// gRPC `host:port`.
    pub address: String,
    /// Operations `host:port` (/healthz, /metrics).
    pub operations: String,
    /// Channel participation `host:port` (orderers only).
    pub admin: Option<String>,
    /// Ledgers, WAL, snapshots.
    pub data_dir: PathBuf,
    /// Environment of the process (on top of `FABRIC_CFG_PATH`).
    pub env: Vec<(String, String)>,
}

impl FabricNode {
    /// Base name of the pid and log files: `fabric-<fqdn>`.
    pub fn process_name(&self) -> String {
        format!("fabric-{}", self.name)
    }

    /// The Fabric executable that runs this node.
    pub fn binary(&self) -> &'static str {
        match self.kind {
            NodeKind::Orderer => "orderer",
            NodeKind::Peer => "peer",
        }
    }

    /// Arguments after the executable.
    pub fn args(&self) -> &'static [&'static str] {
        match self.kind {
            NodeKind::Orderer => &[],
            NodeKind::Peer => &["node", "start"],
        }
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A string list in the `[a,b]` form Fabric's config loader reads from the environment.
fn list(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: impl Into<String>) {
    env.push((key.to_owned(), value.into()));
}

/// Every orderer, then every peer.
pub fn nodes(c: &Consortium, layout: &Layout) -> Vec<FabricNode> {
    let oo = &c.orderer_org;
    let orderers = oo.orderers.iter().map(|o| orderer(c, layout, oo, o));
    let peers = c
        .orgs
        .iter()
        .flat_map(|org| org.peers.iter().map(move |p| peer(c, layout, org, p)));
    orderers.chain(peers).collect()
}

fn orderer(c: &Consortium, layout: &Layout, org: &OrdererOrg, node: &OrdererNode) -> FabricNode {
    let tls = layout.orderer_tls_dir(org, node);
    let data = layout.fabric_orderer_data_dir(org, node);
    let ca = list(&[path(&tls.join("ca.crt"))]);
    let cert = path(&tls.join("server.crt"));
    let key = path(&tls.join("server.key"));
    let admin = c.address(node.ports.admin);
    let operations = c.address(node.ports.operations);
    let mut env = Vec::new();
    set(&mut env, MARKER_ENV, path(&data));
    set(&mut env, "FABRIC_LOGGING_SPEC", "INFO");
    set(&mut env, "ORDERER_GENERAL_LISTENADDRESS", c.host.clone());
    set(
        &mut env,
        "ORDERER_GENERAL_LISTENPORT",
        node.ports.listen.to_string(),
    );
    set(&mut env, "ORDERER_GENERAL_LOCALMSPID", org.mspid.clone());
    set(
        &mut env,
        "ORDERER_GENERAL_LOCALMSPDIR",
        path(&layout.orderer_msp_dir(org, node)),
    );
    set(&mut env, "ORDERER_GENERAL_BOOTSTRAPMETHOD", "none");
    set(&mut env, "ORDERER_GENERAL_TLS_ENABLED", "true");
    set(&mut env, "ORDERER_GENERAL_TLS_CERTIFICATE", cert.clone());
    set(&mut env, "ORDERER_GENERAL_TLS_PRIVATEKEY", key.clone());
    set(&mut env, "ORDERER_GENERAL_TLS_ROOTCAS", ca.clone());
    // Raft traffic shares the main listener; the node's TLS pair is its cluster identity.
    set(
        &mut env,
        "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE",
        cert.clone(),
    );
    set(
        &mut env,
        "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY",
        key.clone(),
    );
    set(&mut env, "ORDERER_GENERAL_CLUSTER_ROOTCAS", ca.clone());
    set(&mut env, "ORDERER_CHANNELPARTICIPATION_ENABLED", "true");
    set(&mut env, "ORDERER_ADMIN_LISTENADDRESS", admin.clone());
    set(&mut env, "ORDERER_ADMIN_TLS_ENABLED", "true");
    set(&mut env, "ORDERER_ADMIN_TLS_CERTIFICATE", cert);
    set(&mut env, "ORDERER_ADMIN_TLS_PRIVATEKEY", key);
    set(&mut env, "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", "true");
    // Admin clients present TLS certificates from the orderer org's TLS CA.
    set(&mut env, "ORDERER_ADMIN_TLS_CLIENTROOTCAS", ca);
    set(
        &mut env,
        "ORDERER_FILELEDGER_LOCATION",
        path(&data.join("ledger")),
    );
    set(
        &mut env,
        "ORDERER_CONSENSUS_WALDIR",
        path(&data.join("wal")),
    );
    set(
        &mut env,
        "ORDERER_CONSENSUS_SNAPDIR",
        path(&data.join("snapshot")),
    );
    set(
        &mut env,
        "ORDERER_OPERATIONS_LISTENADDRESS",
        operations.clone(),
    );
    set(&mut env, "ORDERER_METRICS_PROVIDER", "prometheus");
    FabricNode {
        kind: NodeKind::Orderer,
        org: org.mspid.clone(),
        name: org.fqdn(node),
        address: c.address(node.ports.listen),
        operations,
        admin: Some(admin),
        data_dir: data,
        env,
    }
}

/// The peers a peer first contacts through gossip: the other peers of its org (itself when alone).
fn gossip_bootstrap(c: &Consortium, org: &PeerOrg, node: &PeerNode) -> String {
    let others: Vec<String> = org
        .peers
        .iter()
        .filter(|p| p.name != node.name)
        .map(|p| c.address(p.ports.listen))
        .collect();
    if others.is_empty() {
        c.address(node.ports.listen)
    } else {
        others.join(" ")
    }
}

fn peer(c: &Consortium, layout: &Layout, org: &PeerOrg, node: &PeerNode) -> FabricNode {
    let tls = layout.peer_tls_dir(org, node);
    let data = layout.fabric_peer_data_dir(org, node);
    let address = c.address(node.ports.listen);
    let chaincode = c.address(node.ports.chaincode);
    let operations = c.address(node.ports.operations);
    let builder = format!(
        "[{{name: {BUILDER_NAME}, path: {}, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}}]",
        path(&layout.fabric_builder_dir())
    );
    let mut env = Vec::new();
    set(&mut env, MARKER_ENV, path(&data));
    set(&mut env, "FABRIC_LOGGING_SPEC", "INFO");
    set(&mut env, "CORE_PEER_ID", org.fqdn(node));
    set(&mut env, "CORE_PEER_ADDRESS", address.clone());
    set(&mut env, "CORE_PEER_LISTENADDRESS", address.clone());
    set(&mut env, "CORE_PEER_CHAINCODEADDRESS", chaincode.clone());
    set(&mut env, "CORE_PEER_CHAINCODELISTENADDRESS", chaincode);
    set(&mut env, "CORE_PEER_LOCALMSPID", org.mspid.clone());
    set(
        &mut env,
        "CORE_PEER_MSPCONFIGPATH",
        path(&layout.peer_msp_dir(org, node)),
    );
    set(&mut env, "CORE_PEER_TLS_ENABLED", "true");
    set(
        &mut env,
        "CORE_PEER_TLS_CERT_FILE",
        path(&tls.join("server.crt")),
    );
    set(
        &mut env,
        "CORE_PEER_TLS_KEY_FILE",
        path(&tls.join("server.key")),
    );
    set(
        &mut env,
        "CORE_PEER_TLS_ROOTCERT_FILE",
        path(&tls.join("ca.crt")),
    );
    set(
        &mut env,
        "CORE_PEER_GOSSIP_BOOTSTRAP",
        gossip_bootstrap(c, org, node),
    );
    // Other orgs reach this peer only through its external endpoint (and the anchor peers).
    set(
        &mut env,
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT",
        address.clone(),
    );
    // Orgs meet in ~9 s instead of ~30 s with Fabric's 25 s default.
    set(&mut env, "CORE_PEER_GOSSIP_RECONNECTINTERVAL", "5s");
    // The membership tracker refreshes the gossip_membership_total_peers_known metric that
    // `up` waits on; at the default 5 s it reports convergence up to 5 s late.
    set(&mut env, "CORE_PEER_GOSSIP_MEMBERSHIPTRACKERINTERVAL", "1s");
    set(
        &mut env,
        "CORE_PEER_FILESYSTEMPATH",
        path(&data.join("production")),
    );
    set(
        &mut env,
        "CORE_LEDGER_SNAPSHOTS_ROOTDIR",
        path(&data.join("snapshots")),
    );
    set(
        &mut env,
        "CORE_OPERATIONS_LISTENADDRESS",
        operations.clone(),
    );
    set(&mut env, "CORE_METRICS_PROVIDER", "prometheus");
    // No Docker: an empty endpoint disables it; chaincode runs as a service via our builder.
    set(&mut env, "CORE_VM_ENDPOINT", "");
    set(&mut env, "CORE_CHAINCODE_EXTERNALBUILDERS", builder);
    // What the builder renders connection.json templates with (propagated to it above).
    set(
        &mut env,
        fabric_package::ccaas_template::CONFIG_ENV,
        serde_json::Value::Object(org.ccaas_builder_config(node)).to_string(),
    );
    set(
        &mut env,
        "CORE_PEER_LIMITS_CONCURRENCY_GATEWAYSERVICE",
        GATEWAY_CONCURRENCY.to_string(),
    );
    FabricNode {
        kind: NodeKind::Peer,
        org: org.mspid.clone(),
        name: org.fqdn(node),
        address,
        operations,
        admin: None,
        data_dir: data,
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium() -> Consortium {
        crate::test_support::description()
    }

    fn get<'a>(n: &'a FabricNode, key: &str) -> &'a str {
        n.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key} not set for {}", n.name))
    }

    #[test]
    fn three_orderers_then_four_peers_with_distinct_data_dirs() {
        let all = nodes(&consortium(), &Layout::new("/h"));
        let kinds: Vec<_> = all.iter().map(|n| n.kind).collect();
        assert_eq!(kinds[..3], [NodeKind::Orderer; 3]);
        assert_eq!(kinds[3..], [NodeKind::Peer; 4]);
        let mut dirs: Vec<_> = all.iter().map(|n| n.data_dir.clone()).collect();
        dirs.dedup();
        assert_eq!(dirs.len(), 7);
        assert!(all.iter().all(|n| n.data_dir.starts_with("/h/fabric")));
    }

    #[test]
    fn orderer_env_has_admin_mtls_cluster_and_metrics() {
        let all = nodes(&consortium(), &Layout::new("/h"));
        let o = &all[1];
        assert_eq!(o.admin.as_deref(), Some("127.0.0.1:7056"));
        assert_eq!(get(o, "ORDERER_GENERAL_LISTENPORT"), "7055");
        assert_eq!(get(o, "ORDERER_ADMIN_LISTENADDRESS"), "127.0.0.1:7056");
        assert_eq!(get(o, "ORDERER_OPERATIONS_LISTENADDRESS"), "127.0.0.1:7057");
        assert_eq!(get(o, "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED"), "true");
        assert_eq!(get(o, "ORDERER_METRICS_PROVIDER"), "prometheus");
        assert_eq!(get(o, "ORDERER_GENERAL_BOOTSTRAPMETHOD"), "none");
        let ca = get(o, "ORDERER_ADMIN_TLS_CLIENTROOTCAS");
        assert!(ca.starts_with('[') && ca.ends_with("tls/ca.crt]"), "{ca}");
        assert_eq!(
            get(o, "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE"),
            get(o, "ORDERER_GENERAL_TLS_CERTIFICATE")
        );
        assert!(get(o, "ORDERER_CONSENSUS_WALDIR").starts_with("/h/fabric/orderers/orderer1."));
    }

    #[test]
    fn peer_env_has_gossip_builder_and_no_docker() {
        let all = nodes(&consortium(), &Layout::new("/h"));
        let p0 = &all[3];
        assert_eq!(p0.name, "peer0.hospital1.healthblock.test");
        assert_eq!(p0.args(), ["node", "start"]);
        assert_eq!(get(p0, "CORE_PEER_GOSSIP_BOOTSTRAP"), "127.0.0.1:7015");
        assert_eq!(
            get(p0, "CORE_PEER_GOSSIP_EXTERNALENDPOINT"),
            "127.0.0.1:7011"
        );
        assert_eq!(get(p0, "CORE_PEER_GOSSIP_RECONNECTINTERVAL"), "5s");
        assert_eq!(get(p0, "CORE_VM_ENDPOINT"), "");
        assert_eq!(get(p0, "CORE_OPERATIONS_LISTENADDRESS"), "127.0.0.1:7013");
        assert_eq!(
            get(p0, "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"),
            r#"{"peername":"peer0hospital1"}"#
        );
        let builders = get(p0, "CORE_CHAINCODE_EXTERNALBUILDERS");
        assert!(
            builders.contains("path: /h/fabric/builders/ccaas"),
            "{builders}"
        );
        let lone = &all[5];
        assert_eq!(get(lone, "CORE_PEER_GOSSIP_BOOTSTRAP"), "127.0.0.1:7021");
    }
}
