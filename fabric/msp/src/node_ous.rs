//! NodeOU configuration: which subject OU marks a client, peer, admin or orderer.
//!
//! Owns: reading the `NodeOUs` section of an MSP dir's `config.yaml` (Fabric's
//! format) and classifying a certificate's OUs into a [`Role`].

use crate::{MspError, Role};
use serde::Deserialize;

/// NodeOU configuration (`config.yaml` in an MSP dir): OU names for each role.
#[derive(Debug, Clone, Default)]
pub struct NodeOus {
    pub enabled: bool,
    pub client_ou: String,
    pub peer_ou: String,
    pub admin_ou: String,
    pub orderer_ou: String,
}

#[derive(Deserialize)]
struct ConfigYaml {
    #[serde(rename = "NodeOUs")]
    node_ous: Option<NodeOusYaml>,
}

#[derive(Deserialize)]
struct NodeOusYaml {
    #[serde(rename = "Enable", default)]
    enable: bool,
    #[serde(rename = "ClientOUIdentifier")]
    client: Option<OuIdentifierYaml>,
    #[serde(rename = "PeerOUIdentifier")]
    peer: Option<OuIdentifierYaml>,
    #[serde(rename = "AdminOUIdentifier")]
    admin: Option<OuIdentifierYaml>,
    #[serde(rename = "OrdererOUIdentifier")]
    orderer: Option<OuIdentifierYaml>,
}

/// One `XxxOUIdentifier`. `Certificate` (restricting the OU to a given CA) is
/// accepted but not enforced: our MSPs have a single root per org.
#[derive(Deserialize)]
struct OuIdentifierYaml {
    #[serde(rename = "OrganizationalUnitIdentifier", default)]
    ou: String,
}

impl NodeOus {
    /// The layout cryptogen and Fabric CA produce: OUs `client`, `peer`, `admin`, `orderer`.
    pub fn fabric_default() -> Self {
        Self {
            enabled: true,
            client_ou: "client".into(),
            peer_ou: "peer".into(),
            admin_ou: "admin".into(),
            orderer_ou: "orderer".into(),
        }
    }

    /// Parses the text of an MSP `config.yaml`. A missing `NodeOUs` section means disabled.
    pub fn from_config_yaml(text: &str) -> Result<Self, MspError> {
        let config: ConfigYaml = serde_yaml::from_str(text)
            .map_err(|e| MspError::Config(format!("config.yaml: {e}")))?;
        let Some(n) = config.node_ous else {
            return Ok(Self::default());
        };
        let ou = |id: Option<OuIdentifierYaml>| id.map(|i| i.ou).unwrap_or_default();
        Ok(Self {
            enabled: n.enable,
            client_ou: ou(n.client),
            peer_ou: ou(n.peer),
            admin_ou: ou(n.admin),
            orderer_ou: ou(n.orderer),
        })
    }

    /// The roles whose configured OU appears among `ous` (empty OU names never match).
    pub fn matching_roles(&self, ous: &[String]) -> Vec<Role> {
        [
            (Role::Client, &self.client_ou),
            (Role::Peer, &self.peer_ou),
            (Role::Admin, &self.admin_ou),
            (Role::Orderer, &self.orderer_ou),
        ]
        .into_iter()
        .filter(|(_, ou)| !ou.is_empty() && ous.iter().any(|o| o == *ou))
        .map(|(role, _)| role)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.org1.example.com-cert.pem
    OrganizationalUnitIdentifier: orderer
";

    #[test]
    fn parses_cryptogen_config() {
        let n = NodeOus::from_config_yaml(CONFIG).unwrap();
        assert!(n.enabled);
        assert_eq!(
            (
                n.client_ou.as_str(),
                n.peer_ou.as_str(),
                n.admin_ou.as_str(),
                n.orderer_ou.as_str()
            ),
            ("client", "peer", "admin", "orderer")
        );
        assert_eq!(n.matching_roles(&["peer".into()]), vec![Role::Peer]);
        assert!(n.matching_roles(&["nurse".into()]).is_empty());
    }

    #[test]
    fn missing_section_is_disabled() {
        let n = NodeOus::from_config_yaml("OrganizationalUnitIdentifiers: []\n").unwrap();
        assert!(!n.enabled);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(NodeOus::from_config_yaml("NodeOUs: [1, 2").is_err());
    }
}
