//! `healthblock channel update propose|sign|show|submit`: a config update that
//! several administrators sign, each on their own machine, passed between them
//! as a file (Fabric's CONFIG_UPDATE envelope, so `peer channel signconfigtx`
//! and `peer channel update -f` work on the same file). The work is in
//! `fabric_client::admin::pending_update`; this file reads the config in force,
//! computes the change, and prints.

use super::channel::{orderer, signer};
use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Context as _, Result};
use fabric_client::admin::channel_config::{
    self as cc, batch_params, parse_go_duration, wait_for_config_after, BatchUpdate,
};
use fabric_client::admin::PendingUpdate;
use fabric_proto::common::Config;
use healthblock_network::consortium::OPERATORS_POLICY;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ProposeCmd {
    /// The orderer's batch parameters (signed by the orderer organisation's admin).
    Batch(ProposeBatch),
    /// A hospital's anchor peers (signed by an admin of that hospital).
    AnchorPeers(ProposeAnchorPeers),
    /// The policy of one channel ACL resource, e.g. `qscc/GetChainInfo`
    /// (signed by a MAJORITY of the hospitals' admins).
    Acl(ProposeAcl),
    /// A new hospital joins the channel's Application group, from the public MSP
    /// directory it handed over (signed by a MAJORITY of the hospitals' admins).
    OrgAdd(ProposeOrgAdd),
    /// A hospital leaves the Application group (signed by a MAJORITY of the hospitals' admins).
    OrgRemove(ProposeOrgRemove),
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProposeOrgAdd {
    #[command(flatten)]
    pub common: Common,
    /// The new organisation's MSP id (also its group name), e.g. Hospital4MSP.
    #[arg(long)]
    pub mspid: String,
    /// Its verifying MSP directory: cacerts/, tlscacerts/, config.yaml (public material only).
    #[arg(long)]
    pub msp_dir: PathBuf,
    /// Its anchor peers, HOST:PORT (repeatable).
    #[arg(long = "anchor-peer")]
    pub anchor_peers: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProposeOrgRemove {
    #[command(flatten)]
    pub common: Common,
    /// The MSP id of the organisation that leaves.
    #[arg(long)]
    pub mspid: String,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Common {
    /// Where to write the update (a CONFIG_UPDATE envelope, as Fabric's tools read it).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Identity that reads the config in force (a channel reader; default: the orderer org's admin).
    #[arg(long = "as")]
    pub who: Option<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProposeBatch {
    #[command(flatten)]
    pub common: Common,
    /// BatchTimeout, as a Go duration (`2s`, `250ms`).
    #[arg(long, value_parser = parse_go_duration)]
    pub timeout: Option<Duration>,
    #[arg(long)]
    pub max_message_count: Option<u32>,
    #[arg(long)]
    pub preferred_max_bytes: Option<u32>,
    #[arg(long)]
    pub absolute_max_bytes: Option<u32>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProposeAnchorPeers {
    #[command(flatten)]
    pub common: Common,
    /// The hospital whose anchor peers change.
    #[arg(long)]
    pub org: String,
    /// Its peers to announce (repeatable; default: every peer of the hospital).
    #[arg(long = "peer")]
    pub peers: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProposeAcl {
    #[command(flatten)]
    pub common: Common,
    /// The resource, e.g. `qscc/GetChainInfo`.
    pub resource: String,
    /// The policy path it answers to, e.g. `/Channel/Application/Readers`.
    pub policy: String,
}

#[derive(clap::Args, Debug)]
pub(crate) struct SignArgs {
    /// The update file; the signature is added in place.
    pub file: PathBuf,
    /// Who signs (USER@ORG; the orderer organisation's admin as Admin@Orderer).
    #[arg(
        long = "as",
        required_unless_present = "msp_dir",
        conflicts_with = "msp_dir"
    )]
    pub who: Option<String>,
    /// Or sign with the identity in this signing MSP directory (signcerts/, keystore/),
    /// e.g. the admin of a hospital that is not in the local description yet.
    #[arg(long, requires = "mspid")]
    pub msp_dir: Option<PathBuf>,
    /// The MSP id of the identity in --msp-dir.
    #[arg(long)]
    pub mspid: Option<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ShowArgs {
    pub file: PathBuf,
    /// Identity that reads the config in force (default: the orderer org's admin).
    #[arg(long = "as")]
    pub who: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct SubmitArgs {
    pub file: PathBuf,
    /// Who submits (USER@ORG). As with `peer channel update`, the submitter's
    /// signature is added to the update if it is not there yet.
    #[arg(long = "as")]
    pub who: String,
    #[arg(long)]
    pub json: bool,
}

fn read(file: &Path) -> Result<PendingUpdate> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    PendingUpdate::from_bytes(&bytes).with_context(|| format!("{}", file.display()))
}

fn write(file: &Path, update: &PendingUpdate) -> Result<()> {
    std::fs::write(file, update.to_bytes())
        .with_context(|| format!("cannot write {}", file.display()))
}

fn default_reader(ctx: &Context, who: &Option<String>) -> String {
    who.clone()
        .unwrap_or_else(|| format!("Admin@{}", ctx.consortium.orderer_org.name))
}

async fn config_in_force(ctx: &Context, who: &str) -> Result<cc::CurrentConfig> {
    let reader = signer(ctx, who)?;
    Ok(cc::current_config(&orderer(ctx).await?, &reader, &ctx.consortium.channel).await?)
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One change to the config in force: the config with it applied.
type ConfigEdit = Box<dyn Fn(&Config) -> Result<Config>>;

pub(crate) async fn propose(ctx: &Context, cmd: ProposeCmd) -> Result<()> {
    let (common, edit): (&Common, ConfigEdit) = match &cmd {
        ProposeCmd::Batch(a) => {
            let change = BatchUpdate {
                max_message_count: a.max_message_count,
                absolute_max_bytes: a.absolute_max_bytes,
                preferred_max_bytes: a.preferred_max_bytes,
                timeout: a.timeout,
            };
            (
                &a.common,
                Box::new(move |c: &Config| {
                    let params = batch_params(c)?.with(&change);
                    params.check().map_err(|e| anyhow!("{e}"))?;
                    Ok(cc::with_batch_params(c, &params)?)
                }),
            )
        }
        ProposeCmd::AnchorPeers(a) => {
            let org = ctx.org(&a.org)?;
            let peers = if a.peers.is_empty() {
                org.peers.iter().collect::<Vec<_>>()
            } else {
                a.peers
                    .iter()
                    .map(|name| ctx.peer(org, Some(name)))
                    .collect::<Result<Vec<_>>>()?
            };
            let anchors: Vec<(String, u16)> = peers
                .iter()
                .map(|p| (ctx.consortium.host.clone(), p.ports.listen))
                .collect();
            let mspid = org.mspid.clone();
            (
                &a.common,
                Box::new(move |c: &Config| Ok(cc::with_anchor_peers(c, &mspid, &anchors)?)),
            )
        }
        ProposeCmd::OrgAdd(a) => {
            let anchors = a
                .anchor_peers
                .iter()
                .map(|hp| {
                    let (host, port) = hp
                        .rsplit_once(':')
                        .ok_or_else(|| anyhow!("anchor peer {hp}: want HOST:PORT"))?;
                    Ok((
                        host.to_owned(),
                        port.parse::<u16>()
                            .with_context(|| format!("anchor peer {hp}"))?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let (mspid, dir) = (a.mspid.clone(), a.msp_dir.clone());
            (
                &a.common,
                Box::new(move |c: &Config| {
                    // The Operators policy comes with the channel's ACLs, as at genesis.
                    let has_acls = c
                        .channel_group
                        .as_ref()
                        .and_then(|g| g.groups.get("Application"))
                        .is_some_and(|app| app.values.contains_key("ACLs"));
                    let endorsement = format!("OR('{mspid}.peer')");
                    let group = cc::application_org_group(&cc::ApplicationOrg {
                        mspid: &mspid,
                        msp_dir: &dir,
                        anchor_peers: &anchors,
                        operators_policy: has_acls.then_some(OPERATORS_POLICY),
                        endorsement_policy: &endorsement,
                    })?;
                    Ok(cc::with_application_org(c, &mspid, group)?)
                }),
            )
        }
        ProposeCmd::OrgRemove(a) => {
            let mspid = a.mspid.clone();
            (
                &a.common,
                Box::new(move |c: &Config| Ok(cc::without_application_org(c, &mspid)?)),
            )
        }
        ProposeCmd::Acl(a) => {
            let (resource, policy) = (a.resource.clone(), a.policy.clone());
            (
                &a.common,
                Box::new(move |c: &Config| Ok(cc::with_acl(c, &resource, &policy)?)),
            )
        }
    };
    let current = config_in_force(ctx, &default_reader(ctx, &common.who)).await?;
    let updated = edit(&current.config)?;
    if updated == current.config {
        return Err(anyhow!(
            "nothing to change: the config in force (sequence {}) already says so",
            current.config.sequence
        ));
    }
    let update = cc::compute_update(&current.config, &updated)?;
    let pending = PendingUpdate::propose(&ctx.consortium.channel, update);
    write(&common.out, &pending)?;
    println!(
        "wrote {} (channel {}, against config sequence {}): changes {}; unsigned, pass it to the admins who must sign",
        common.out.display(),
        pending.channel,
        current.config.sequence,
        pending.written_paths().join(", ")
    );
    Ok(())
}

pub(crate) async fn sign(ctx: &Context, a: SignArgs) -> Result<()> {
    let mut pending = read(&a.file)?;
    pending.check_channel(&ctx.consortium.channel)?;
    let me = match (&a.who, &a.msp_dir, &a.mspid) {
        (Some(who), _, _) => signer(ctx, who)?,
        (None, Some(dir), Some(mspid)) => fabric_msp::SigningIdentity::from_msp_dir(mspid, dir)
            .with_context(|| format!("cannot load the identity in {}", dir.display()))?,
        _ => return Err(anyhow!("give --as USER@ORG, or --msp-dir DIR with --mspid")),
    };
    pending.sign(&me)?;
    write(&a.file, &pending)?;
    println!(
        "signed {} as {}@{}; signatures now: {}",
        a.file.display(),
        me.identity.subject_cn,
        me.identity.mspid,
        pending.signer_names()?.join(", ")
    );
    Ok(())
}

#[derive(Serialize)]
struct ShowOut {
    channel: String,
    changes: Vec<String>,
    signers: Vec<String>,
    /// Whether the orderer would accept it now, and if not why.
    acceptable: bool,
    reason: Option<String>,
    stale: bool,
}

pub(crate) async fn show(ctx: &Context, a: ShowArgs) -> Result<()> {
    let pending = read(&a.file)?;
    pending.check_channel(&ctx.consortium.channel)?;
    let current = config_in_force(ctx, &default_reader(ctx, &a.who)).await?;
    let verdict = pending.check(&current.config, unix_now());
    let out = ShowOut {
        channel: pending.channel.clone(),
        changes: pending.written_paths(),
        signers: pending.signer_names()?,
        acceptable: verdict.is_ok(),
        stale: matches!(
            verdict,
            Err(fabric_client::admin::PendingUpdateError::Stale { .. })
        ),
        reason: verdict.err().map(|e| format!("{e:#}")),
    };
    if a.json {
        return output::json(&out);
    }
    println!("update for channel {}", out.channel);
    println!("  changes: {}", out.changes.join(", "));
    println!(
        "  signed by: {}",
        if out.signers.is_empty() {
            "nobody yet".to_owned()
        } else {
            out.signers.join(", ")
        }
    );
    match &out.reason {
        None => println!("  the orderer would accept it now"),
        Some(why) => println!("  not acceptable now: {why}"),
    }
    Ok(())
}

#[derive(Serialize)]
struct SubmittedOut {
    channel: String,
    changes: Vec<String>,
    signers: Vec<String>,
    config_block: u64,
    sequence: u64,
}

pub(crate) async fn submit(ctx: &Context, a: SubmitArgs) -> Result<()> {
    let mut pending = read(&a.file)?;
    pending.check_channel(&ctx.consortium.channel)?;
    let submitter = signer(ctx, &a.who)?;
    // `peer channel update` adds the submitter's signature; so do we (once).
    let _ = pending.sign(&submitter);
    let orderer = orderer(ctx).await?;
    let channel = &ctx.consortium.channel;
    let current = cc::current_config(&orderer, &submitter, channel).await?;
    pending
        .check(&current.config, unix_now())
        .context("nothing was sent")?;
    orderer
        .broadcast("config update", pending.submission(&submitter))
        .await?;
    let config_block = wait_for_config_after(&orderer, &submitter, channel, current.block).await?;
    let now = cc::current_config(&orderer, &submitter, channel).await?;
    let out = SubmittedOut {
        channel: channel.clone(),
        changes: pending.written_paths(),
        signers: pending.signer_names()?,
        config_block,
        sequence: now.config.sequence,
    };
    if a.json {
        return output::json(&out);
    }
    println!(
        "channel {}: config block {} (sequence {}) changes {}; signed by {}",
        out.channel,
        out.config_block,
        out.sequence,
        out.changes.join(", "),
        out.signers.join(", ")
    );
    Ok(())
}
