//! Fabric's own clients read a record's metadata that the Rust client wrote,
//! as a doctor enrolled at the hospital's Fabric CA: the official Gateway SDK
//! for Node, and (where `FABRIC_BIN` is set) the `peer` CLI.

use crate::fixtures::{get_record, put_record};
use crate::{trial, Ctx, TestFn, EHR};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

pub fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "interop::node_sdk_reads_record_metadata",
            node_reads_metadata,
        ),
        trial(
            "interop::peer_cli_reads_record_metadata",
            peer_cli_reads_metadata,
        ),
    ]
}

/// Trials that need Fabric's `peer` binary.
pub fn needs_peer_binary(name: &str) -> bool {
    name.starts_with("interop::peer_cli")
}

/// `peer chaincode query ... get_record` as the doctor, with an MSP directory
/// built from the hospital's MSP and the doctor's wallet certificate and key.
async fn peer_cli_reads_metadata(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "peer-cli").await?;
    let rust_read = get_record(&ctx, &rid).await?;
    let net = &ctx.net;
    let user = ctx.users.doctor1;
    let org = net.org(user.org)?;
    let entry =
        healthblock_identity::Wallet::new(net.layout.wallet_dir()).get(user.name, &org.name)?;
    let msp = tempfile::tempdir()?;
    for sub in ["cacerts", "tlscacerts"] {
        let from = net.layout.org_msp_dir(org).join(sub);
        std::fs::create_dir_all(msp.path().join(sub))?;
        for file in std::fs::read_dir(&from)? {
            let file = file?;
            std::fs::copy(file.path(), msp.path().join(sub).join(file.file_name()))?;
        }
    }
    std::fs::copy(
        net.layout.org_msp_dir(org).join("config.yaml"),
        msp.path().join("config.yaml"),
    )?;
    for (sub, file) in [
        ("signcerts", healthblock_identity::wallet::CERT_FILE),
        ("keystore", healthblock_identity::wallet::KEY_FILE),
    ] {
        std::fs::create_dir_all(msp.path().join(sub))?;
        std::fs::copy(entry.dir.join(file), msp.path().join(sub).join(file))?;
    }
    let ctor = serde_json::json!({ "Args": ["get_record", rid] }).to_string();
    let args = [
        "chaincode",
        "query",
        "-C",
        &net.consortium.channel,
        "-n",
        EHR,
        "-c",
        &ctor,
    ];
    let out = healthblock_tests::peer_cli(net, org, msp.path(), &args).await?;
    let peer_read: Value =
        serde_json::from_str(&out).with_context(|| format!("peer printed non-JSON: {out}"))?;
    ensure!(
        peer_read == rust_read,
        "peer CLI read differs from Rust:\npeer {peer_read}\nrust {rust_read}"
    );
    Ok(())
}

async fn node_reads_metadata(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "node").await?;
    let rust_read = get_record(&ctx, &rid).await?;

    let net = &ctx.net;
    let user = ctx.users.doctor1;
    let org = net.org(user.org)?;
    let wallet = healthblock_identity::Wallet::new(net.layout.wallet_dir());
    let entry = wallet.get(user.name, &org.name)?;
    let output = healthblock_tests::node_sdk(
        net,
        org,
        &entry.dir.join(healthblock_identity::wallet::CERT_FILE),
        &entry.dir.join(healthblock_identity::wallet::KEY_FILE),
        &["ehr-read.mjs"],
    )?
    .env("HB_CHAINCODE", EHR)
    .env("HB_RECORD_ID", &rid)
    .output()
    .await
    .context("cannot run node")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the Node SDK read failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let node_read: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("node printed non-JSON: {stdout}"))?;
    ensure!(
        node_read == rust_read,
        "Node read differs from Rust:\nnode {node_read}\nrust {rust_read}"
    );
    ensure!(
        node_read["record_id"] == rid.as_str(),
        "Node read {node_read}"
    );
    Ok(())
}
