//! Fabric's own `peer` CLI (from `FABRIC_BIN`) against the network: it reads
//! what the Rust client wrote and invokes a transaction the Rust client then
//! reads. It runs on every backend where the binary is present.

use crate::{key, trial, Net, TestFn};
use anyhow::{anyhow, ensure, Result};
use healthblock_tests::KV;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial("peer_cli::chaincode_query_reads_rust_write", query),
        trial("peer_cli::chaincode_invoke_read_by_rust", invoke),
    ]
}

/// Trials of this module need Fabric's `peer` binary.
pub(crate) fn needs_peer_binary(name: &str) -> bool {
    name.starts_with("peer_cli::")
}

/// `peer <args>` as Hospital1's admin on Hospital1's first peer.
async fn peer(net: &Net, args: &[&str]) -> Result<String> {
    let org = net.org("Hospital1")?;
    healthblock_tests::peer_cli(net, org, &net.layout.admin_msp_dir(org), args).await
}

async fn query(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let (k, v) = (key("peer-cli-query"), "written by the Rust client");
    contract.submit("put", [k.as_str(), v]).await?;
    let ctor = serde_json::json!({ "Args": ["get", k] }).to_string();
    let read = peer(
        &net,
        &[
            "chaincode",
            "query",
            "-C",
            &net.consortium.channel,
            "-n",
            KV,
            "-c",
            &ctor,
        ],
    )
    .await?;
    ensure!(
        read.trim_end() == v,
        "peer chaincode query returned {read:?}, want {v:?}"
    );
    Ok(())
}

async fn invoke(net: Net) -> Result<()> {
    let (k, v) = (key("peer-cli-invoke"), "written by Fabric's peer CLI");
    let ctor = serde_json::json!({ "Args": ["put", k, v] }).to_string();
    let orderer_org = &net.consortium.orderer_org;
    let orderer = orderer_org.solo();
    let orderer_ca = net
        .layout
        .orderer_tls_dir(orderer_org, orderer)
        .join("ca.crt");
    // Endorsed by Hospital1 and Hospital2 (MAJORITY of three orgs).
    let h2 = net.org("Hospital2")?;
    let h2_peer = net.consortium.address(h2.peers[0].ports.listen);
    let h1 = net.org("Hospital1")?;
    let h1_peer = net.consortium.address(h1.peers[0].ports.listen);
    let h1_ca = net.layout.org_tls_ca_cert(h1);
    let h2_ca = net.layout.org_tls_ca_cert(h2);
    let orderer_address = net.consortium.address(orderer.ports.listen);
    peer(
        &net,
        &[
            "chaincode",
            "invoke",
            "-C",
            &net.consortium.channel,
            "-n",
            KV,
            "-c",
            &ctor,
            "-o",
            &orderer_address,
            "--tls",
            "--cafile",
            path(&orderer_ca)?,
            "--peerAddresses",
            &h1_peer,
            "--tlsRootCertFiles",
            path(&h1_ca)?,
            "--peerAddresses",
            &h2_peer,
            "--tlsRootCertFiles",
            path(&h2_ca)?,
            "--waitForEvent",
        ],
    )
    .await?;
    let gw = net.gateway("User1@Hospital2").await?;
    let read = gw
        .network(&net.consortium.channel)
        .contract(KV)
        .evaluate("get", [k.as_str()])
        .await?;
    ensure!(
        read == v.as_bytes(),
        "Rust read {:?}",
        String::from_utf8_lossy(&read)
    );
    Ok(())
}

fn path(p: &std::path::Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("non-UTF-8 path {}", p.display()))
}
