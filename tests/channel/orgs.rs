//! A hospital joins the channel's configuration and leaves it again, through
//! offline-signed config updates: `channel update propose org-add` from the
//! public MSP directory the new hospital hands over (its keys made on its own
//! side by `healthblock org init`), signed by a MAJORITY of
//! the three hospitals' admins; afterwards an Application change needs three of
//! four admins, and the new hospital's admin signature counts (`sign --msp-dir`);
//! `org-remove` takes it out again. The nodes follow the config in force: a
//! Hospital4 client is refused before it joins, its transactions commit
//! VALID while it is a member, and it is refused again once it has left; the
//! channel's MAJORITY Endorsement policy needs two of three hospitals before
//! the join and three of four after it (a transaction endorsed by two commits
//! ENDORSEMENT_POLICY_FAILURE).

use crate::{cli, p, sign_by, Net};
use anyhow::{anyhow, ensure, Result};
use fabric_client::commit::TxValidationCode;
use fabric_msp::SigningIdentity;
use healthblock_tests::backends::{case, Case};
use healthblock_tests::KV;
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

/// A kv `put` by `who` through Hospital1's first peer's Gateway, endorsed by
/// `orgs` (all the policy needs when empty): its validation code, or the
/// Gateway's refusal.
async fn put_as(
    n: &Net,
    who: SigningIdentity,
    key: &str,
    orgs: &[&str],
) -> Result<std::result::Result<TxValidationCode, String>> {
    let org = n.net.org("Hospital1")?;
    let gateway = n.net.gateway_on(who, org, &org.peers[0]).await?;
    let contract = gateway.network(&n.net.consortium.channel).contract(KV);
    let mut request = contract.transaction("put").args([key, "v"]);
    if !orgs.is_empty() {
        request = request.endorsing_organizations(orgs.iter().copied());
    }
    match request.submit_async().await {
        Ok(submitted) => Ok(Ok(submitted.status().await?.code)),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Only Hospital1 and Hospital2 endorse: enough for MAJORITY of three, not of four.
async fn endorsed_by_two(n: &Net, key: &str) -> Result<TxValidationCode> {
    put_as(
        n,
        n.net.identity("User1@Hospital1")?,
        key,
        &["Hospital1MSP", "Hospital2MSP"],
    )
    .await?
    .map_err(|e| anyhow!("a put endorsed by Hospital1 and Hospital2 was refused: {e}"))
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
    // Hospital4's client, made by `org init` beside its admin.
    let domain = made["domain"].as_str().unwrap_or_default();
    let user_msp = admin_msp
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("{} has no users/ folder", admin_msp.display()))?
        .join(format!("User1@{domain}"))
        .join("msp");
    let h4_client = || SigningIdentity::from_msp_dir(MSPID, &user_msp);

    // Before: a stranger's client is refused; MAJORITY is two of three.
    let refused = put_as(&n, h4_client()?, "org4-before", &[]).await?;
    ensure!(
        refused.is_err(),
        "a {MSPID} client's put before it joined: {refused:?}"
    );
    let code = endorsed_by_two(&n, "two-of-three").await?;
    ensure!(
        code.is_valid(),
        "endorsed by two of three hospitals: {code}"
    );
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
    n.net.settle().await?;
    // Every node follows the new config: Hospital4's client transacts, and
    // MAJORITY Endorsement is now three of four.
    let joined = put_as(&n, h4_client()?, "org4-member", &[]).await?;
    ensure!(
        joined.as_ref().is_ok_and(TxValidationCode::is_valid),
        "a {MSPID} client's put after it joined: {joined:?}"
    );
    let code = endorsed_by_two(&n, "two-of-four").await?;
    ensure!(
        code == TxValidationCode::ENDORSEMENT_POLICY_FAILURE,
        "endorsed by two of four hospitals: {code} (want ENDORSEMENT_POLICY_FAILURE)"
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
    n.net.settle().await?;
    let left = put_as(&n, h4_client()?, "org4-after", &[]).await?;
    ensure!(
        left.is_err(),
        "a {MSPID} client's put after it left: {left:?}"
    );
    let code = endorsed_by_two(&n, "two-of-three-again").await?;
    ensure!(code.is_valid(), "endorsed by two of three again: {code}");
    Ok(())
}
