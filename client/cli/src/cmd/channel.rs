//! `healthblock channel`: the channel's chain info, its configuration, and
//! batch-parameter changes through a real config update (same command on both
//! backends). The work is in `fabric_client::admin::channel_config`; this file
//! resolves identities and endpoints, and prints.

use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Context as _, Result};
use fabric_client::admin::channel_config::{
    self as cc, go_duration, parse_go_duration, BatchParams, BatchUpdate,
};
use fabric_client::admin::Orderer;
use fabric_msp::SigningIdentity;
use serde::Serialize;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ChannelCmd {
    /// Height and the current and previous block hashes of the channel (from the orderer).
    Info(InfoArgs),
    /// The channel configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Change the channel configuration through a config update signed by the admins its policies need.
    #[command(subcommand)]
    Update(UpdateCmd),
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// The configuration in force (decoded from the newest config block).
    Show(ShowArgs),
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum UpdateCmd {
    /// The orderer's batch parameters (BatchTimeout, BatchSize); in force from the next block.
    Batch(BatchArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct InfoArgs {
    /// Identity that reads the chain (a channel reader; default: the orderer org's admin).
    #[arg(long = "as")]
    pub who: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ShowArgs {
    /// Identity that reads the config (a channel reader; default: the orderer org's admin).
    #[arg(long = "as")]
    pub who: Option<String>,
    /// The whole decoded configuration as JSON (groups, values, policies, versions).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct BatchArgs {
    /// BatchTimeout, as a Go duration (`2s`, `250ms`, `1m30s`).
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// BatchSize.MaxMessageCount.
    #[arg(long)]
    pub max_message_count: Option<u32>,
    /// BatchSize.PreferredMaxBytes.
    #[arg(long)]
    pub preferred_max_bytes: Option<u32>,
    /// BatchSize.AbsoluteMaxBytes.
    #[arg(long)]
    pub absolute_max_bytes: Option<u32>,
    /// Who signs the update (USER@ORG, repeatable; the first one submits it).
    /// Default: the orderer org's admin, whose signature the batch parameters' mod_policy needs.
    #[arg(long = "sign-as")]
    pub sign_as: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_go_duration(s)
}

pub(crate) async fn run(ctx: &Context, cmd: ChannelCmd) -> Result<()> {
    match cmd {
        ChannelCmd::Info(a) => info(ctx, a).await,
        ChannelCmd::Config(ConfigCmd::Show(a)) => show(ctx, a).await,
        ChannelCmd::Update(UpdateCmd::Batch(a)) => update_batch(ctx, a).await,
    }
}

/// `USER@ORG`, where ORG may also be the orderer organisation (its admin only).
pub(crate) fn signer(ctx: &Context, who: &str) -> Result<SigningIdentity> {
    let org = &ctx.consortium.orderer_org;
    if let Some((user, org_name)) = who.split_once('@') {
        if org_name.eq_ignore_ascii_case(&org.name) || org_name == org.mspid {
            if !user.eq_ignore_ascii_case("admin") {
                return Err(anyhow!(
                    "the orderer organisation's material has only its admin (Admin@{})",
                    org.name
                ));
            }
            let dir = ctx.layout.orderer_admin_msp_dir(org);
            return SigningIdentity::from_msp_dir(&org.mspid, &dir)
                .with_context(|| format!("cannot load {who} from {}", dir.display()));
        }
    }
    ctx.identity(who)
}

fn orderer_admin(ctx: &Context) -> String {
    format!("Admin@{}", ctx.consortium.orderer_org.name)
}

pub(crate) async fn orderer(ctx: &Context) -> Result<Orderer> {
    Ok(Orderer::connect(&ctx.orderer_endpoint()?).await?)
}

#[derive(Serialize)]
struct InfoOut {
    channel: String,
    height: u64,
    current_block_hash: String,
    previous_block_hash: String,
}

async fn info(ctx: &Context, a: InfoArgs) -> Result<()> {
    let who = a.who.unwrap_or_else(|| orderer_admin(ctx));
    let reader = signer(ctx, &who)?;
    let channel = &ctx.consortium.channel;
    let info = cc::chain_info(&orderer(ctx).await?, &reader, channel).await?;
    let out = InfoOut {
        channel: channel.clone(),
        height: info.height,
        current_block_hash: hex::encode(&info.current_block_hash),
        previous_block_hash: hex::encode(&info.previous_block_hash),
    };
    if a.json {
        return output::json(&out);
    }
    println!(
        "channel {}: height {}, current block hash {}, previous block hash {}",
        out.channel, out.height, out.current_block_hash, out.previous_block_hash
    );
    Ok(())
}

#[derive(Serialize)]
struct BatchOut {
    timeout: String,
    max_message_count: u32,
    absolute_max_bytes: u32,
    preferred_max_bytes: u32,
}

impl From<BatchParams> for BatchOut {
    fn from(p: BatchParams) -> Self {
        Self {
            timeout: go_duration(p.timeout),
            max_message_count: p.max_message_count,
            absolute_max_bytes: p.absolute_max_bytes,
            preferred_max_bytes: p.preferred_max_bytes,
        }
    }
}

async fn show(ctx: &Context, a: ShowArgs) -> Result<()> {
    let who = a.who.unwrap_or_else(|| orderer_admin(ctx));
    let reader = signer(ctx, &who)?;
    let channel = &ctx.consortium.channel;
    let current = cc::current_config(&orderer(ctx).await?, &reader, channel).await?;
    if a.json {
        let mut value = cc::describe(&current.config);
        value["channel"] = channel.clone().into();
        value["config_block"] = current.block.into();
        return output::json(&value);
    }
    let batch = BatchOut::from(
        fabric_client::admin::channel_config::batch_params(&current.config)
            .map_err(|e| anyhow!("{e}"))?,
    );
    println!(
        "channel {}: config sequence {} (block {})",
        channel, current.config.sequence, current.block
    );
    println!(
        "  batch: timeout {}, max message count {}, preferred max bytes {}, absolute max bytes {}",
        batch.timeout, batch.max_message_count, batch.preferred_max_bytes, batch.absolute_max_bytes
    );
    let root = current.config.channel_group.unwrap_or_default();
    for section in ["Orderer", "Application"] {
        if let Some(g) = root.groups.get(section) {
            let mut orgs: Vec<_> = g.groups.keys().cloned().collect();
            orgs.sort();
            println!("  {section} orgs: {}", orgs.join(", "));
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct UpdatedOut {
    channel: String,
    signers: Vec<String>,
    before: BatchOut,
    after: BatchOut,
    config_block: u64,
    sequence: u64,
    changed: bool,
}

async fn update_batch(ctx: &Context, a: BatchArgs) -> Result<()> {
    let change = BatchUpdate {
        max_message_count: a.max_message_count,
        absolute_max_bytes: a.absolute_max_bytes,
        preferred_max_bytes: a.preferred_max_bytes,
        timeout: a.timeout,
    };
    if change == BatchUpdate::default() {
        return Err(anyhow!(
            "nothing to change: give --timeout, --max-message-count, --preferred-max-bytes or --absolute-max-bytes"
        ));
    }
    let names = if a.sign_as.is_empty() {
        vec![orderer_admin(ctx)]
    } else {
        a.sign_as.clone()
    };
    let signers = names
        .iter()
        .map(|n| signer(ctx, n))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&SigningIdentity> = signers.iter().collect();
    let channel = &ctx.consortium.channel;
    let updated = cc::update_batch(&orderer(ctx).await?, channel, &refs, &change).await?;
    let out = UpdatedOut {
        channel: channel.clone(),
        signers: names,
        before: updated.before.into(),
        after: updated.after.into(),
        config_block: updated.config_block,
        sequence: updated.sequence,
        changed: updated.changed,
    };
    if a.json {
        return output::json(&out);
    }
    if !out.changed {
        println!(
            "channel {}: the batch parameters already have these values (config block {}, sequence {}); nothing sent",
            out.channel, out.config_block, out.sequence
        );
        return Ok(());
    }
    println!(
        "channel {}: config block {} (sequence {}); batch now timeout {}, max message count {}, preferred max bytes {}, absolute max bytes {} (was {}, {}, {}, {})",
        out.channel,
        out.config_block,
        out.sequence,
        out.after.timeout,
        out.after.max_message_count,
        out.after.preferred_max_bytes,
        out.after.absolute_max_bytes,
        out.before.timeout,
        out.before.max_message_count,
        out.before.preferred_max_bytes,
        out.before.absolute_max_bytes
    );
    Ok(())
}
