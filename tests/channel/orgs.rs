//! A hospital joins the channel's configuration and leaves it again, through
//! offline-signed config updates: `channel update propose org-add` from the
//! public MSP directory the new hospital hands over (its keys were made on its
//! own side: here, a test CA in a temporary directory), signed by a MAJORITY of
//! the three hospitals' admins; afterwards an Application change needs three of
//! four admins, and the new hospital's admin signature counts (`sign --msp-dir`);
//! `org-remove` takes it out again.

use crate::Net;
use anyhow::{anyhow, ensure, Result};
use healthblock_test_support::TestCa;
use healthblock_tests::backends::{case, Case};
use serde_json::Value;
use std::path::Path;

pub(crate) fn all() -> Vec<Case<crate::ChannelNet>> {
    vec![case(
        "a_hospital_joins_and_leaves_the_channel_config",
        join_and_leave,
    )]
}

const MSPID: &str = "Hospital4MSP";

const NODE_OUS_YAML: &str = "NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: orderer
";

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(path.parent().ok_or_else(|| anyhow!("no parent"))?)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Hospital4's material: its public MSP directory and its admin's signing MSP.
fn hospital4(dir: &Path) -> Result<()> {
    let domain = "hospital4.healthblock.test";
    let ca = TestCa::root_valid_years(&format!("ca.{domain}"), Some(domain), (2025, 2045));
    let tlsca = TestCa::root_valid_years(&format!("tlsca.{domain}"), Some(domain), (2025, 2045));
    for msp in [dir.join("msp"), dir.join("admin/msp")] {
        write(&msp.join("cacerts/ca.pem"), ca.pem().as_bytes())?;
        write(&msp.join("tlscacerts/tlsca.pem"), tlsca.pem().as_bytes())?;
        write(&msp.join("config.yaml"), NODE_OUS_YAML.as_bytes())?;
    }
    let admin = ca
        .leaf(&format!("Admin@{domain}"))
        .ou("admin")
        .valid_years(2025, 2040)
        .issue();
    write(
        &dir.join("admin/msp/signcerts/cert.pem"),
        admin.cert_pem.as_bytes(),
    )?;
    write(
        &dir.join("admin/msp/keystore/priv_sk"),
        admin.key_pem.as_bytes(),
    )?;
    Ok(())
}

async fn cli(n: &Net, args: &[&str]) -> Result<String> {
    n.net.cli_ok_async(args).await
}

fn p(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| anyhow!("non-UTF-8 path"))
}

async fn application_orgs(n: &Net) -> Result<Vec<String>> {
    let shown: Value =
        serde_json::from_str(&cli(n, &["channel", "config", "show", "--json"]).await?)?;
    let orgs = shown["channel_group"]["groups"]["Application"]["groups"]
        .as_object()
        .ok_or_else(|| anyhow!("no Application orgs in {shown}"))?;
    Ok(orgs.keys().cloned().collect())
}

async fn acceptable(n: &Net, file: &str) -> Result<bool> {
    let shown: Value =
        serde_json::from_str(&cli(n, &["channel", "update", "show", file, "--json"]).await?)?;
    shown["acceptable"]
        .as_bool()
        .ok_or_else(|| anyhow!("{shown}"))
}

async fn join_and_leave(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let dir = tempfile::tempdir()?;
    hospital4(dir.path())?;
    let msp = dir.path().join("msp");
    let admin_msp = dir.path().join("admin/msp");

    // Hospital4 joins: two of three admins sign.
    let add = dir.path().join("org-add.pb");
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "org-add",
            "--mspid",
            MSPID,
            "--msp-dir",
            p(&msp)?,
            "--out",
            p(&add)?,
        ],
    )
    .await?;
    for admin in ["Admin@Hospital1", "Admin@Hospital2"] {
        cli(&n, &["channel", "update", "sign", p(&add)?, "--as", admin]).await?;
    }
    cli(
        &n,
        &[
            "channel",
            "update",
            "submit",
            p(&add)?,
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await?;
    ensure!(
        application_orgs(&n).await?.iter().any(|o| o == MSPID),
        "{MSPID} is in the config in force"
    );

    // Now MAJORITY is three of four: two old admins are too few, Hospital4's admin counts.
    let acl = dir.path().join("acl.pb");
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "acl",
            "peer/ChaincodeToChaincode",
            "/Channel/Application/Writers",
            "--out",
            p(&acl)?,
        ],
    )
    .await?;
    for admin in ["Admin@Hospital1", "Admin@Hospital2"] {
        cli(&n, &["channel", "update", "sign", p(&acl)?, "--as", admin]).await?;
    }
    ensure!(
        !acceptable(&n, p(&acl)?).await?,
        "two of four admins sufficed"
    );
    cli(
        &n,
        &[
            "channel",
            "update",
            "sign",
            p(&acl)?,
            "--msp-dir",
            p(&admin_msp)?,
            "--mspid",
            MSPID,
        ],
    )
    .await?;
    ensure!(
        acceptable(&n, p(&acl)?).await?,
        "Hospital4's admin did not count"
    );
    cli(
        &n,
        &[
            "channel",
            "update",
            "submit",
            p(&acl)?,
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await?;

    // Hospital4 leaves: three of four admins sign.
    let remove = dir.path().join("org-remove.pb");
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "org-remove",
            "--mspid",
            MSPID,
            "--out",
            p(&remove)?,
        ],
    )
    .await?;
    for admin in ["Admin@Hospital1", "Admin@Hospital2", "Admin@Hospital3"] {
        cli(
            &n,
            &["channel", "update", "sign", p(&remove)?, "--as", admin],
        )
        .await?;
    }
    cli(
        &n,
        &[
            "channel",
            "update",
            "submit",
            p(&remove)?,
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await?;
    ensure!(
        !application_orgs(&n).await?.iter().any(|o| o == MSPID),
        "{MSPID} is still in the config"
    );
    Ok(())
}
