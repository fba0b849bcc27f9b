//! A hospital joins the channel's configuration and leaves it again, through
//! offline-signed config updates: `channel update propose org-add` from the
//! public MSP directory the new hospital hands over (its keys made on its own
//! side by `healthblock org init`), signed by a MAJORITY of
//! the three hospitals' admins; afterwards an Application change needs three of
//! four admins, and the new hospital's admin signature counts (`sign --msp-dir`);
//! `org-remove` takes it out again.

use crate::{cli, p, sign_by, Net};
use anyhow::{anyhow, ensure, Result};
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

/// Every file below `dir`.
fn walk(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
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
    // Hospital4 makes its own material on its side (`org init`) and hands over the public part.
    let dir = tempfile::tempdir()?;
    let made: Value = serde_json::from_str(
        &cli(
            &n,
            &[
                "org",
                "init",
                "Hospital4",
                "--out",
                p(dir.path())?,
                "--json",
            ],
        )
        .await?,
    )?;
    ensure!(made["mspid"] == MSPID, "{made}");
    let field = |name: &str| -> Result<std::path::PathBuf> {
        Ok(made[name]
            .as_str()
            .ok_or_else(|| anyhow!("no {name} in {made}"))?
            .into())
    };
    let (msp, admin_msp) = (field("public_msp_dir")?, field("admin_msp_dir")?);
    // The public directory holds certificates only.
    for entry in walk(&msp)? {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        ensure!(
            name.ends_with(".pem") || name == "config.yaml",
            "{} in the public MSP directory",
            entry.display()
        );
    }

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
    sign_by(&n, p(&add)?, &["Admin@Hospital1", "Admin@Hospital2"]).await?;
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
    sign_by(&n, p(&acl)?, &["Admin@Hospital1", "Admin@Hospital2"]).await?;
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
    sign_by(
        &n,
        p(&remove)?,
        &["Admin@Hospital1", "Admin@Hospital2", "Admin@Hospital3"],
    )
    .await?;
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
