//! cryptogen's input format (`crypto-config.yaml`) and its rendering into
//! concrete nodes.
//!
//! Owns: the YAML schema (`OrdererOrgs` / `PeerOrgs` with `Name`, `Domain`,
//! `EnableNodeOUs`, `CA`, `Specs`, `Template`, `Users`), the expansion of
//! templates into host names, common names and SANs the way `cryptogen`
//! does it, and the check that a crypto config covers a consortium.

use super::CryptogenError;
use crate::consortium::Consortium;
use serde::{Deserialize, Serialize};
use std::path::Path;

const DEFAULT_HOSTNAME_TEMPLATE: &str = "{{.Prefix}}{{.Index}}";
const DEFAULT_CN_TEMPLATE: &str = "{{.Hostname}}.{{.Domain}}";
/// The SANs every node gets in our network (all processes run on 127.0.0.1).
pub(super) const LOCAL_SANS: [&str; 2] = ["127.0.0.1", "localhost"];

/// The whole `crypto-config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoConfig {
    #[serde(rename = "OrdererOrgs", default)]
    pub orderer_orgs: Vec<OrgSpec>,
    #[serde(rename = "PeerOrgs", default)]
    pub peer_orgs: Vec<OrgSpec>,
}

/// One organisation (`OrdererOrgs[i]` or `PeerOrgs[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSpec {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Domain")]
    pub domain: String,
    #[serde(rename = "EnableNodeOUs", default)]
    pub enable_node_ous: bool,
    #[serde(rename = "CA", default, skip_serializing_if = "NodeSpec::is_empty")]
    pub ca: NodeSpec,
    #[serde(
        rename = "Template",
        default,
        skip_serializing_if = "NodeTemplate::is_empty"
    )]
    pub template: NodeTemplate,
    #[serde(rename = "Specs", default, skip_serializing_if = "Vec::is_empty")]
    pub specs: Vec<NodeSpec>,
    #[serde(rename = "Users", default, skip_serializing_if = "UsersSpec::is_empty")]
    pub users: UsersSpec,
}

/// An explicitly named node (`Specs[i]`, or the `CA` entry).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    #[serde(rename = "Hostname", default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(
        rename = "CommonName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub common_name: String,
    #[serde(rename = "Country", default, skip_serializing_if = "String::is_empty")]
    pub country: String,
    #[serde(rename = "Province", default, skip_serializing_if = "String::is_empty")]
    pub province: String,
    #[serde(rename = "Locality", default, skip_serializing_if = "String::is_empty")]
    pub locality: String,
    #[serde(
        rename = "OrganizationalUnit",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub organizational_unit: String,
    #[serde(
        rename = "StreetAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub street_address: String,
    #[serde(
        rename = "PostalCode",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub postal_code: String,
    #[serde(rename = "SANS", default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    #[serde(
        rename = "PublicKeyAlgorithm",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub public_key_algorithm: String,
}

/// `Template`: `Count` nodes named from a template (default `peer0`, `peer1`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTemplate {
    #[serde(rename = "Count", default)]
    pub count: u32,
    #[serde(rename = "Start", default, skip_serializing_if = "is_zero")]
    pub start: u32,
    #[serde(rename = "Hostname", default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(rename = "SANS", default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    #[serde(
        rename = "PublicKeyAlgorithm",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub public_key_algorithm: String,
}

/// `Users`: how many `UserN@domain` identities besides `Admin@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersSpec {
    #[serde(rename = "Count", default)]
    pub count: u32,
    #[serde(
        rename = "PublicKeyAlgorithm",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub public_key_algorithm: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl NodeSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl NodeTemplate {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl UsersSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Whether an org runs peers or orderers (decides folder names and node OUs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    Orderer,
    Peer,
}

impl OrgKind {
    /// `ordererOrganizations` / `peerOrganizations`.
    pub fn dir_name(self) -> &'static str {
        match self {
            OrgKind::Orderer => "ordererOrganizations",
            OrgKind::Peer => "peerOrganizations",
        }
    }

    /// `orderers` / `peers`.
    pub fn nodes_dir_name(self) -> &'static str {
        match self {
            OrgKind::Orderer => "orderers",
            OrgKind::Peer => "peers",
        }
    }

    fn template_prefix(self) -> &'static str {
        match self {
            OrgKind::Orderer => "orderer",
            OrgKind::Peer => "peer",
        }
    }
}

/// Subject fields an org's CA puts in every certificate it issues (cryptogen's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub country: String,
    pub province: String,
    pub locality: String,
    pub organizational_unit: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
}

/// A node after template expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedNode {
    pub hostname: String,
    /// Also the node's folder name, e.g. `peer0.hospital1.healthblock.test`.
    pub common_name: String,
    /// Full name, host name, then the configured SANs.
    pub sans: Vec<String>,
}

/// An org after template expansion: what the generator writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedOrg {
    pub kind: OrgKind,
    pub name: String,
    pub domain: String,
    pub node_ous: bool,
    /// e.g. `ca.hospital1.healthblock.test`; the TLS CA is `tls` + this.
    pub ca_common_name: String,
    pub subject: Subject,
    pub nodes: Vec<RenderedNode>,
    /// `User1@domain` ... (the admin is separate).
    pub users: Vec<String>,
}

impl RenderedOrg {
    pub fn tls_ca_common_name(&self) -> String {
        format!("tls{}", self.ca_common_name)
    }

    pub fn admin_name(&self) -> String {
        format!("Admin@{}", self.domain)
    }
}

impl CryptoConfig {
    /// Reads a `crypto-config.yaml`.
    pub fn load(path: &Path) -> Result<Self, CryptogenError> {
        let text = std::fs::read_to_string(path).map_err(|e| CryptogenError::io(path, e))?;
        serde_yaml::from_str(&text).map_err(|e| CryptogenError::Config {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The crypto config a consortium needs: every org with NodeOUs, local SANs on every node,
    /// one user per application org.
    pub fn from_consortium(c: &Consortium) -> Self {
        let sans: Vec<String> = LOCAL_SANS.iter().map(|s| s.to_string()).collect();
        let orderer = OrgSpec {
            name: c.orderer_org.name.clone(),
            domain: c.orderer_org.domain.clone(),
            enable_node_ous: true,
            specs: (c.orderer_org.orderers.iter())
                .map(|o| NodeSpec {
                    hostname: o.name.clone(),
                    sans: sans.clone(),
                    ..NodeSpec::default()
                })
                .collect(),
            ..OrgSpec::default()
        };
        let peer_orgs = (c.orgs.iter())
            .map(|org| OrgSpec {
                name: org.name.clone(),
                domain: org.domain.clone(),
                enable_node_ous: true,
                specs: (org.peers.iter())
                    .map(|p| NodeSpec {
                        hostname: p.name.clone(),
                        sans: sans.clone(),
                        ..NodeSpec::default()
                    })
                    .collect(),
                users: UsersSpec {
                    count: 1,
                    ..UsersSpec::default()
                },
                ..OrgSpec::default()
            })
            .collect();
        Self {
            orderer_orgs: vec![orderer],
            peer_orgs,
        }
    }

    /// Expands every org (orderer orgs first) the way `cryptogen generate` does.
    pub fn render(&self) -> Result<Vec<RenderedOrg>, CryptogenError> {
        let orderers = self.orderer_orgs.iter().map(|o| (o, OrgKind::Orderer));
        let peers = self.peer_orgs.iter().map(|o| (o, OrgKind::Peer));
        let orgs: Vec<RenderedOrg> = orderers
            .chain(peers)
            .map(|(org, kind)| render_org(org, kind))
            .collect::<Result<_, _>>()?;
        let mut domains = std::collections::BTreeSet::new();
        if let Some(dup) = orgs.iter().find(|o| !domains.insert(o.domain.as_str())) {
            return Err(CryptogenError::spec(
                &dup.name,
                format!("domain {} appears twice", dup.domain),
            ));
        }
        Ok(orgs)
    }

    /// Fails with a clear message unless this config provides identities for every node of
    /// the consortium, with NodeOUs and the local SANs the network needs.
    pub fn check_covers(&self, c: &Consortium) -> Result<(), CryptogenError> {
        let orgs = self.render()?;
        let find = |kind: OrgKind, domain: &str| {
            orgs.iter()
                .find(|o| o.kind == kind && o.domain == domain)
                .ok_or_else(|| {
                    CryptogenError::spec(domain, "no such org in the crypto config".into())
                })
        };
        let orderer_org = find(OrgKind::Orderer, &c.orderer_org.domain)?;
        let orderer_names = c.orderer_org.orderers.iter().map(|o| o.name.as_str());
        check_org_covers(orderer_org, orderer_names)?;
        for org in &c.orgs {
            let rendered = find(OrgKind::Peer, &org.domain)?;
            check_org_covers(rendered, org.peers.iter().map(|p| p.name.as_str()))?;
        }
        Ok(())
    }
}

fn check_org_covers<'a>(
    org: &RenderedOrg,
    hostnames: impl Iterator<Item = &'a str>,
) -> Result<(), CryptogenError> {
    if !org.node_ous {
        return Err(CryptogenError::spec(
            &org.name,
            "EnableNodeOUs must be true (roles come from NodeOUs)".into(),
        ));
    }
    for host in hostnames {
        let node = (org.nodes.iter())
            .find(|n| n.hostname == host)
            .ok_or_else(|| {
                CryptogenError::spec(&org.name, format!("no node {host} in the crypto config"))
            })?;
        if let Some(missing) = LOCAL_SANS
            .iter()
            .find(|s| !node.sans.iter().any(|n| n == *s))
        {
            return Err(CryptogenError::spec(
                &org.name,
                format!("node {host} lacks SAN {missing}"),
            ));
        }
    }
    Ok(())
}

fn render_org(org: &OrgSpec, kind: OrgKind) -> Result<RenderedOrg, CryptogenError> {
    let err = |m: String| CryptogenError::spec(&org.name, m);
    if org.domain.is_empty() {
        return Err(err("Domain is empty".into()));
    }
    require_ecdsa(&org.name, &org.ca.public_key_algorithm)?;
    require_ecdsa(&org.name, &org.template.public_key_algorithm)?;
    require_ecdsa(&org.name, &org.users.public_key_algorithm)?;
    let mut specs = Vec::new();
    for i in 0..org.template.count {
        let index = (i + org.template.start).to_string();
        let hostname = expand(
            &org.name,
            non_empty_or(&org.template.hostname, DEFAULT_HOSTNAME_TEMPLATE),
            &[
                ("Prefix", kind.template_prefix()),
                ("Index", &index),
                ("Domain", &org.domain),
            ],
        )?;
        specs.push(NodeSpec {
            hostname,
            sans: org.template.sans.clone(),
            ..NodeSpec::default()
        });
    }
    specs.extend(org.specs.iter().cloned());
    let nodes: Vec<RenderedNode> = (specs.iter())
        .map(|s| render_node(&org.name, &org.domain, s))
        .collect::<Result<_, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = nodes.iter().find(|n| !seen.insert(n.common_name.as_str())) {
        return Err(err(format!("node {} appears twice", dup.common_name)));
    }
    let mut ca = org.ca.clone();
    if ca.hostname.is_empty() {
        ca.hostname = "ca".into();
    }
    require_ecdsa(&org.name, &ca.public_key_algorithm)?;
    let ca_node = render_node(&org.name, &org.domain, &ca)?;
    if org.enable_node_ous && !ca.organizational_unit.is_empty() {
        // Our certificates carry one OU; cryptogen would add the role OU beside this one.
        return Err(err(
            "CA.OrganizationalUnit cannot be combined with EnableNodeOUs here".into(),
        ));
    }
    for n in &nodes {
        // A node with the CA's name would collide with the CA's certificate file.
        if n.common_name == ca_node.common_name {
            return Err(err(format!("node {} has the CA's name", n.common_name)));
        }
    }
    Ok(RenderedOrg {
        kind,
        name: org.name.clone(),
        domain: org.domain.clone(),
        node_ous: org.enable_node_ous,
        ca_common_name: ca_node.common_name,
        subject: subject_of(&ca),
        nodes,
        users: (1..=org.users.count)
            .map(|j| format!("User{j}@{}", org.domain))
            .collect(),
    })
}

fn render_node(org: &str, domain: &str, spec: &NodeSpec) -> Result<RenderedNode, CryptogenError> {
    if spec.hostname.is_empty() {
        return Err(CryptogenError::spec(org, "a node has no Hostname".into()));
    }
    let vars = [("Hostname", spec.hostname.as_str()), ("Domain", domain)];
    let cn = expand(
        org,
        non_empty_or(&spec.common_name, DEFAULT_CN_TEMPLATE),
        &vars,
    )?;
    let vars = [
        ("Hostname", spec.hostname.as_str()),
        ("Domain", domain),
        ("CommonName", cn.as_str()),
    ];
    let mut sans = vec![cn.clone(), spec.hostname.clone()];
    for san in &spec.sans {
        sans.push(expand(org, san, &vars)?);
    }
    if !cn
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._@".contains(c))
    {
        return Err(CryptogenError::spec(
            org,
            format!("common name {cn:?} is not a host name"),
        ));
    }
    Ok(RenderedNode {
        hostname: spec.hostname.clone(),
        common_name: cn,
        sans,
    })
}

fn subject_of(ca: &NodeSpec) -> Subject {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Subject {
        country: non_empty_or(&ca.country, "US").to_owned(),
        province: non_empty_or(&ca.province, "California").to_owned(),
        locality: non_empty_or(&ca.locality, "San Francisco").to_owned(),
        organizational_unit: opt(&ca.organizational_unit),
        street_address: opt(&ca.street_address),
        postal_code: opt(&ca.postal_code),
    }
}

fn non_empty_or<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

fn require_ecdsa(org: &str, alg: &str) -> Result<(), CryptogenError> {
    if alg.is_empty() || alg == "ecdsa" {
        Ok(())
    } else {
        Err(CryptogenError::spec(
            org,
            format!("PublicKeyAlgorithm {alg:?} is not supported (only ecdsa)"),
        ))
    }
}

/// Expands cryptogen's `{{.Name}}` placeholders (the only template syntax its files use).
fn expand(org: &str, template: &str, vars: &[(&str, &str)]) -> Result<String, CryptogenError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            CryptogenError::spec(org, format!("unclosed '{{{{' in template {template:?}"))
        })?;
        let field = after[..end].trim();
        let value = (field.strip_prefix('.'))
            .and_then(|name| vars.iter().find(|(k, _)| *k == name))
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                CryptogenError::spec(
                    org,
                    format!("unknown template field {field:?} in {template:?}"),
                )
            })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expands_like_cryptogen() {
        let vars = [("Hostname", "peer0"), ("Domain", "a.test")];
        assert_eq!(
            expand("o", "{{.Hostname}}.{{ .Domain }}", &vars).unwrap(),
            "peer0.a.test"
        );
        assert!(expand("o", "{{.Nope}}", &vars).is_err());
        assert!(expand("o", "{{.Hostname", &vars).is_err());
    }

    #[test]
    fn renders_template_specs_ca_and_users() {
        let yaml = "PeerOrgs:
  - Name: Org1
    Domain: org1.test
    EnableNodeOUs: true
    Template: { Count: 2, Start: 3, SANS: ['{{.Hostname}}.alt', 127.0.0.1] }
    Specs: [{ Hostname: extra, CommonName: 'x.{{.Domain}}' }]
    Users: { Count: 2 }
";
        let config: CryptoConfig = serde_yaml::from_str(yaml).unwrap();
        let orgs = config.render().unwrap();
        let org = &orgs[0];
        assert_eq!(org.ca_common_name, "ca.org1.test");
        assert_eq!(org.tls_ca_common_name(), "tlsca.org1.test");
        let names: Vec<_> = org.nodes.iter().map(|n| n.common_name.as_str()).collect();
        assert_eq!(names, ["peer3.org1.test", "peer4.org1.test", "x.org1.test"]);
        assert_eq!(
            org.nodes[0].sans,
            ["peer3.org1.test", "peer3", "peer3.alt", "127.0.0.1"]
        );
        assert_eq!(org.users, ["User1@org1.test", "User2@org1.test"]);
        assert_eq!(org.admin_name(), "Admin@org1.test");
        assert_eq!(org.subject.country, "US");
    }

    #[test]
    fn rejects_unknown_fields_and_algorithms() {
        let typo = "PeerOrgs: [{ Name: A, Domain: a.test, Templte: { Count: 1 } }]";
        assert!(serde_yaml::from_str::<CryptoConfig>(typo).is_err());
        let ed = "PeerOrgs: [{ Name: A, Domain: a.test, Users: { Count: 1, PublicKeyAlgorithm: ed25519 } }]";
        let config: CryptoConfig = serde_yaml::from_str(ed).unwrap();
        let err = config.render().unwrap_err().to_string();
        assert!(err.contains("ed25519"), "{err}");
    }

    #[test]
    fn rejects_duplicate_nodes() {
        let yaml = "PeerOrgs: [{ Name: A, Domain: a.test, Template: { Count: 1 }, Specs: [{ Hostname: peer0 }] }]";
        let config: CryptoConfig = serde_yaml::from_str(yaml).unwrap();
        let err = config.render().unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
    }
}
