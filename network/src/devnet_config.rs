//! The devnet's run configuration, derived from the consortium and the layout.
//!
//! Owns: mapping orgs, peers and the solo orderer (the consortium's first
//! orderer) onto [`devnet::DevnetConfig`], with Fabric-layout MSP and TLS paths.

use crate::consortium::Consortium;
use crate::layout::Layout;
use devnet::{BatchSettings, DevnetConfig, OrdererConfig, OrgConfig, PeerConfig, TlsFiles};
use std::path::Path;

/// What the devnet process runs for this consortium.
pub fn devnet_config(c: &Consortium, layout: &Layout) -> DevnetConfig {
    let orgs = (c.orgs.iter())
        .map(|org| OrgConfig {
            mspid: org.mspid.clone(),
            msp_dir: layout.org_msp_dir(org),
            endorsement_policy: format!("OR('{}.peer')", org.mspid),
        })
        .collect();
    let peers = (c.orgs.iter())
        .flat_map(|org| org.peers.iter().map(move |p| (org, p)))
        .map(|(org, p)| PeerConfig {
            name: org.fqdn(p),
            mspid: org.mspid.clone(),
            listen: c.address(p.ports.listen),
            msp_dir: layout.peer_msp_dir(org, p),
            tls: server_tls(&layout.peer_tls_dir(org, p)),
            ccaas_builder_config: org.ccaas_builder_config(p),
        })
        .collect();
    let oo = &c.orderer_org;
    let solo = oo.solo();
    DevnetConfig {
        channel: c.channel.clone(),
        data_dir: layout.devnet_data_dir(),
        batch: BatchSettings {
            timeout: c.batch.timeout,
            max_message_count: c.batch.max_message_count,
            absolute_max_bytes: c.batch.absolute_max_bytes,
            preferred_max_bytes: c.batch.preferred_max_bytes,
        },
        endorsement_policy: c.policies.endorsement.clone(),
        lifecycle_policy: c.policies.lifecycle_endorsement.clone(),
        orgs,
        peers,
        orderer: OrdererConfig {
            name: oo.fqdn(solo),
            mspid: oo.mspid.clone(),
            org_msp_dir: layout.orderer_org_msp_dir(oo),
            msp_dir: layout.orderer_msp_dir(oo, solo),
            listen: c.address(solo.ports.listen),
            tls: server_tls(&layout.orderer_tls_dir(oo, solo)),
        },
    }
}

fn server_tls(tls_dir: &Path) -> TlsFiles {
    TlsFiles {
        cert: tls_dir.join("server.crt"),
        key: tls_dir.join("server.key"),
        ca: tls_dir.join("ca.crt"),
    }
}
