//! The channel's MSPs as its config defines them: every org group under
//! `Application` and `Orderer` carries an `MSP` value (`msp.MSPConfig` of type 0,
//! FABRIC, holding a `FabricMSPConfig`: root, intermediate and TLS CA certificates
//! and the NodeOU classification).

use crate::ConfigError;
use fabric_msp::{Msp, MspManager, NodeOus};
use fabric_proto::common::Config;
use fabric_proto::msp::{FabricMspConfig, MspConfig};
use prost::Message;

/// The MSP manager of the orgs in `config`.
pub fn msp_manager(config: &Config) -> Result<MspManager, ConfigError> {
    let root = config
        .channel_group
        .as_ref()
        .ok_or_else(|| ConfigError::Missing("channel group".into()))?;
    let mut msps = Vec::new();
    for section in ["Application", "Orderer"] {
        let Some(group) = root.groups.get(section) else {
            continue;
        };
        for (org, g) in &group.groups {
            let Some(value) = g.values.get("MSP") else {
                continue;
            };
            msps.push(msp_of(org, &value.value)?);
        }
    }
    Ok(MspManager::new(msps))
}

fn msp_of(org: &str, bytes: &[u8]) -> Result<Msp, ConfigError> {
    let malformed = |msg: String| ConfigError::Malformed {
        what: format!("MSP of {org}"),
        msg,
    };
    let config = MspConfig::decode(bytes).map_err(|e| malformed(e.to_string()))?;
    if config.r#type != 0 {
        return Err(malformed(format!(
            "MSP type {} is not FABRIC",
            config.r#type
        )));
    }
    let fabric =
        FabricMspConfig::decode(config.config.as_slice()).map_err(|e| malformed(e.to_string()))?;
    let node_ous = match &fabric.fabric_node_ous {
        Some(n) if n.enable => {
            let ou = |o: &Option<fabric_proto::msp::FabricOuIdentifier>| {
                o.as_ref()
                    .map(|o| o.organizational_unit_identifier.clone())
                    .unwrap_or_default()
            };
            NodeOus {
                enabled: true,
                client_ou: ou(&n.client_ou_identifier),
                peer_ou: ou(&n.peer_ou_identifier),
                admin_ou: ou(&n.admin_ou_identifier),
                orderer_ou: ou(&n.orderer_ou_identifier),
            }
        }
        _ => NodeOus::default(),
    };
    Msp::from_ca_pems(
        &fabric.name,
        &fabric.root_certs,
        &fabric.intermediate_certs,
        &fabric.tls_root_certs,
        node_ous,
    )
    .map_err(|e| malformed(e.to_string()))
}
