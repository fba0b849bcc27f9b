//! Config updates signed offline by several administrators: `channel update
//! propose` writes the file, each admin runs `channel update sign` on it, one runs
//! `channel update submit`. Refusals before anything is sent (too few signatures,
//! a client's signature that does not count, a second signature by the same
//! admin, a stale update), and with `FABRIC_BIN` the same file goes through
//! Fabric's `peer channel signconfigtx` and `peer channel update -f`.

use crate::{cli, p, sign_by, Net};
use anyhow::{anyhow, ensure, Context, Result};
use fabric_client::admin::channel_config as cc;
use healthblock_tests::backends::{case, Case};
use serde_json::Value;

pub(crate) fn all() -> Vec<Case<crate::ChannelNet>> {
    vec![
        case(
            "offline_signing_needs_a_majority_of_admins",
            majority_of_admins,
        ),
        case("a_stale_update_is_refused_before_sending", stale_update),
        case(
            "peer_channel_signconfigtx_and_update_read_our_file",
            fabric_tools_on_our_file,
        ),
    ]
}

/// Cases that run Fabric's binaries.
pub(crate) fn needs_fabric_binaries(name: &str) -> bool {
    name.starts_with("peer_channel_signconfigtx")
}

async fn sequence(n: &Net) -> Result<u64> {
    let shown: Value =
        serde_json::from_str(&cli(n, &["channel", "config", "show", "--json"]).await?)?;
    shown["sequence"]
        .as_u64()
        .ok_or_else(|| anyhow!("no sequence in {shown}"))
}

async fn acl_of(n: &Net, resource: &str) -> Result<Value> {
    let shown: Value =
        serde_json::from_str(&cli(n, &["channel", "config", "show", "--json"]).await?)?;
    let acls = &shown["channel_group"]["groups"]["Application"]["values"]["ACLs"];
    Ok(acls["value"]["acls"][resource]["policy_ref"].clone()).and_then(|v| {
        if v.is_null() {
            Err(anyhow!("no ACL {resource} in {acls}"))
        } else {
            Ok(v)
        }
    })
}

async fn majority_of_admins(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("acl-update.pb");
    let f = p(&file)?;
    let resource = "cscc/GetConfigBlock";
    let before = sequence(&n).await?;
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "acl",
            resource,
            "/Channel/Application/Readers",
            "--out",
            f,
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await?;
    let shown: Value =
        serde_json::from_str(&cli(&n, &["channel", "update", "show", f, "--json"]).await?)?;
    ensure!(
        shown["acceptable"] == false && shown["signers"] == serde_json::json!([]),
        "{shown}"
    );
    ensure!(
        shown["changes"]
            .to_string()
            .contains("/Channel/Application/ACLs"),
        "{shown}"
    );

    // One admin of three: MAJORITY needs two. Refused here, nothing sent.
    cli(
        &n,
        &["channel", "update", "sign", f, "--as", "Admin@Hospital1"],
    )
    .await?;
    let err = cli(
        &n,
        &["channel", "update", "submit", f, "--as", "Admin@Hospital1"],
    )
    .await
    .expect_err("one admin signature is too few");
    let text = format!("{err:#}");
    ensure!(
        text.contains("nothing was sent")
            && text.contains("the orderer would refuse this update")
            && text.contains("/Channel/Application/ACLs not satisfied"),
        "{text}"
    );
    // The same admin cannot count twice.
    let err = cli(
        &n,
        &["channel", "update", "sign", f, "--as", "Admin@Hospital1"],
    )
    .await
    .expect_err("a second signature by the same admin");
    ensure!(format!("{err:#}").contains("has already signed"), "{err:#}");
    // A client's signature does not count towards Admins.
    cli(
        &n,
        &["channel", "update", "sign", f, "--as", "User1@Hospital2"],
    )
    .await?;
    let err = cli(
        &n,
        &["channel", "update", "submit", f, "--as", "Admin@Hospital1"],
    )
    .await
    .expect_err("an admin and a client are too few");
    ensure!(format!("{err:#}").contains("not satisfied"), "{err:#}");
    ensure!(
        sequence(&n).await? == before,
        "a refused update changed the config"
    );

    // A second hospital's admin signs on their machine; the update goes through.
    cli(
        &n,
        &["channel", "update", "sign", f, "--as", "Admin@Hospital2"],
    )
    .await?;
    let done: Value = serde_json::from_str(
        &cli(
            &n,
            &[
                "channel",
                "update",
                "submit",
                f,
                "--as",
                "Admin@Hospital2",
                "--json",
            ],
        )
        .await?,
    )?;
    ensure!(done["sequence"].as_u64() == Some(before + 1), "{done}");
    let acl = acl_of(&n, resource).await?;
    ensure!(
        acl == "/Channel/Application/Readers",
        "the ACL in the config in force: {acl}"
    );
    Ok(())
}

async fn stale_update(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    // Two changes proposed against the same config; whichever goes second is stale.
    for (i, resource) in ["cscc/GetChannelConfig", "qscc/GetChainInfo"]
        .iter()
        .enumerate()
    {
        let file = dir.path().join(format!("u{i}.pb"));
        let f = p(&file)?.to_owned();
        cli(
            &n,
            &[
                "channel",
                "update",
                "propose",
                "acl",
                resource,
                "/Channel/Application/Readers",
                "--out",
                &f,
            ],
        )
        .await?;
        sign_by(&n, &f, &["Admin@Hospital1", "Admin@Hospital3"]).await?;
        files.push(f);
    }
    cli(
        &n,
        &[
            "channel",
            "update",
            "submit",
            &files[0],
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await?;
    let before = sequence(&n).await?;
    let err = cli(
        &n,
        &[
            "channel",
            "update",
            "submit",
            &files[1],
            "--as",
            "Admin@Hospital1",
        ],
    )
    .await
    .expect_err("stale");
    let text = format!("{err:#}");
    ensure!(
        text.contains("the update is stale") && text.contains("propose it again"),
        "{text}"
    );
    ensure!(
        sequence(&n).await? == before,
        "a stale update changed the config"
    );
    Ok(())
}

/// `peer ARGS` as `org`'s admin.
async fn peer_as_admin(n: &Net, org: &str, args: &[&str]) -> Result<String> {
    let net = &n.net;
    let org = net.org(org)?;
    healthblock_tests::peer_cli(net, org, &net.layout.admin_msp_dir(org), args).await
}

async fn anchors(n: &Net, mspid: &str) -> Result<Vec<(String, u16)>> {
    let net = &n.net;
    let oo = &net.consortium.orderer_org;
    let admin = fabric_msp::SigningIdentity::from_msp_dir(
        &oo.mspid,
        &net.layout.orderer_admin_msp_dir(oo),
    )?;
    let endpoint = healthblock_tests::orderer_endpoint(net)?;
    let orderer = fabric_client::admin::Orderer::connect(&endpoint).await?;
    let current = cc::current_config(&orderer, &admin, &net.consortium.channel).await?;
    Ok(cc::anchor_peers(&current.config, mspid)?)
}

async fn fabric_tools_on_our_file(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let h1 = net.org("Hospital1")?.clone();
    let channel = net.consortium.channel.clone();
    let dir = tempfile::tempdir()?;

    // Ours proposes, Fabric's peer signs, ours submits (the signature is not added twice).
    let file = dir.path().join("anchors-both.pb");
    let f = p(&file)?;
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "anchor-peers",
            "--org",
            "Hospital1",
            "--out",
            f,
        ],
    )
    .await?;
    peer_as_admin(&n, "Hospital1", &["channel", "signconfigtx", "-f", f]).await?;
    let shown: Value =
        serde_json::from_str(&cli(&n, &["channel", "update", "show", f, "--json"]).await?)?;
    ensure!(
        shown["acceptable"] == true,
        "signed by Fabric's peer: {shown}"
    );
    cli(
        &n,
        &["channel", "update", "submit", f, "--as", "Admin@Hospital1"],
    )
    .await?;
    let both: Vec<u16> = h1.peers.iter().map(|p| p.ports.listen).collect();
    let now = anchors(&n, &h1.mspid).await?;
    ensure!(
        now.iter().map(|(_, port)| *port).collect::<Vec<_>>() == both,
        "anchor peers {now:?}, want ports {both:?}"
    );

    // Ours proposes, Fabric's `peer channel update -f` signs and submits it.
    let file = dir.path().join("anchors-first.pb");
    let f = p(&file)?;
    cli(
        &n,
        &[
            "channel",
            "update",
            "propose",
            "anchor-peers",
            "--org",
            "Hospital1",
            "--peer",
            "peer0",
            "--out",
            f,
        ],
    )
    .await?;
    let oo = &net.consortium.orderer_org;
    let orderer_ca = net.layout.orderer_tls_dir(oo, oo.solo()).join("ca.crt");
    let orderer_address = net.consortium.address(oo.solo().ports.listen);
    peer_as_admin(
        &n,
        "Hospital1",
        &[
            "channel",
            "update",
            "-f",
            f,
            "-c",
            &channel,
            "-o",
            &orderer_address,
            "--tls",
            "--cafile",
            p(&orderer_ca)?,
        ],
    )
    .await
    .context("peer channel update")?;
    // The orderer accepted it; the config block follows.
    for _ in 0..100 {
        let now = anchors(&n, &h1.mspid).await?;
        if now.iter().map(|(_, port)| *port).collect::<Vec<_>>() == [h1.peers[0].ports.listen] {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(anyhow!(
        "peer channel update's change never reached the config"
    ))
}
