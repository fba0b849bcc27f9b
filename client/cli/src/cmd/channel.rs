//! `healthblock channel`: the channels each node serves, the channel's chain
//! info (from the orderer or a peer), a new channel for some hospitals, its configuration, and
//! batch-parameter changes through a real config update (same command on both
//! backends). The work is in `fabric_client::admin::channel_config`; this file
//! resolves identities and endpoints, and prints.

use super::config_update;
use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Context as _, Result};
use fabric_client::admin::channel_config::{
    self as cc, go_duration, parse_go_duration, BatchParams, BatchUpdate,
};
use fabric_client::admin::{Orderer, Peer};
use fabric_msp::SigningIdentity;
use healthblock_network::consortium::{OrdererNode, PeerNode, PeerOrg};
use healthblock_network::fabric_process::join::participation_client;
use serde::Serialize;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ChannelCmd {
    /// The channels each node serves: every peer (cscc GetChannels, as its org's
    /// admin) and every running orderer (the channel participation API).
    List(ListArgs),
    /// Height and the current and previous block hashes of the channel (from the orderer).
    Info(InfoArgs),
    /// A new channel for some of the hospitals: its genesis block from the running
    /// channel's config (orderers, policies, ACLs) with only those hospitals; the
    /// orderers join through the channel participation API, those hospitals' peers
    /// through cscc JoinChain as their admins.
    Create(CreateArgs),
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
    /// Write a proposed update to a file for the admins to sign (nothing is sent).
    #[command(subcommand)]
    Propose(config_update::ProposeCmd),
    /// Add a signature to an update file, in place (each admin on their own machine).
    Sign(config_update::SignArgs),
    /// What an update file changes, who signed it, and whether the orderer would accept it now.
    Show(config_update::ShowArgs),
    /// Check an update file against the config in force and submit it (nothing is sent if it would be refused).
    Submit(config_update::SubmitArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct CreateArgs {
    /// The new channel's name (lower case letters, digits, `.` and `-`).
    pub name: String,
    /// The hospitals on it (names or MSP ids), e.g. `--orgs Hospital1,Hospital2`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub orgs: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct InfoArgs {
    /// Identity that reads the chain (a channel reader; default: the orderer org's admin,
    /// or with --peer that org's admin).
    #[arg(long = "as")]
    pub who: Option<String>,
    /// Ask this org's peer (qscc GetChainInfo, what `peer channel getinfo` does)
    /// instead of the orderer: ORG or ORG/PEER.
    #[arg(long)]
    pub peer: Option<String>,
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
        ChannelCmd::List(a) => list(ctx, a).await,
        ChannelCmd::Info(a) => info(ctx, a).await,
        ChannelCmd::Create(a) => create(ctx, a).await,
        ChannelCmd::Config(ConfigCmd::Show(a)) => show(ctx, a).await,
        ChannelCmd::Update(UpdateCmd::Batch(a)) => update_batch(ctx, a).await,
        ChannelCmd::Update(UpdateCmd::Propose(c)) => config_update::propose(ctx, c).await,
        ChannelCmd::Update(UpdateCmd::Sign(a)) => config_update::sign(ctx, a).await,
        ChannelCmd::Update(UpdateCmd::Show(a)) => config_update::show(ctx, a).await,
        ChannelCmd::Update(UpdateCmd::Submit(a)) => config_update::submit(ctx, a).await,
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

#[derive(Serialize)]
struct NodeChannels {
    node: String,
    kind: &'static str,
    address: String,
    /// The channels it serves; absent when it did not answer.
    channels: Option<Vec<String>>,
    error: Option<String>,
}

impl NodeChannels {
    fn new(node: String, kind: &'static str, address: String, answer: Result<Vec<String>>) -> Self {
        let (channels, error) = match answer {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        Self {
            node,
            kind,
            address,
            channels,
            error,
        }
    }
}

async fn peer_channels(ctx: &Context, org: &PeerOrg, node: &PeerNode) -> Result<Vec<String>> {
    let admin = ctx.identity(&format!("Admin@{}", org.name))?;
    let peer = Peer::connect(&ctx.peer_endpoint(org, node)?).await?;
    Ok(fabric_client::admin::channel::list_channels(&peer, &admin).await?)
}

async fn orderer_channels(ctx: &Context, node: &OrdererNode) -> Result<Vec<String>> {
    let org = &ctx.consortium.orderer_org;
    let client = participation_client(&ctx.consortium, &ctx.layout, org, node.ports.admin)?;
    let list = client.list().await?;
    Ok(list
        .system_channel
        .into_iter()
        .chain(list.channels.unwrap_or_default())
        .map(|c| c.name)
        .collect())
}

async fn list(ctx: &Context, a: ListArgs) -> Result<()> {
    let mut nodes = Vec::new();
    for (org, node) in ctx.all_peers() {
        let address = ctx.consortium.address(node.ports.listen);
        let answer = peer_channels(ctx, org, node).await;
        nodes.push(NodeChannels::new(org.fqdn(node), "peer", address, answer));
    }
    let oo = &ctx.consortium.orderer_org;
    for node in ctx.consortium.running_orderers() {
        let address = ctx.consortium.address(node.ports.admin);
        let answer = orderer_channels(ctx, node).await;
        nodes.push(NodeChannels::new(oo.fqdn(node), "orderer", address, answer));
    }
    let failed = nodes.iter().filter(|n| n.error.is_some()).count();
    if a.json {
        output::json(&nodes)?;
    } else {
        for n in &nodes {
            match (&n.channels, &n.error) {
                (Some(c), _) => println!("{} {} ({}): {}", n.kind, n.node, n.address, c.join(", ")),
                (None, Some(e)) => {
                    println!("{} {} ({}): no answer: {e}", n.kind, n.node, n.address)
                }
                (None, None) => {}
            }
        }
    }
    if failed > 0 {
        return Err(anyhow!("{failed} of {} nodes did not answer", nodes.len()));
    }
    Ok(())
}

async fn create(ctx: &Context, a: CreateArgs) -> Result<()> {
    let orgs = a
        .orgs
        .iter()
        .map(|o| ctx.org(o))
        .collect::<Result<Vec<_>>>()?;
    let reader = signer(ctx, &orderer_admin(ctx))?;
    let current = cc::current_config(&orderer(ctx).await?, &reader, &ctx.consortium.channel)
        .await
        .context("reading the running channel's config")?;
    let now = config_update::unix_now();
    let created = healthblock_network::channel_create::create(
        &ctx.consortium,
        &ctx.layout,
        &current.config,
        &a.name,
        &orgs,
        now,
    )
    .await?;
    if a.json {
        return output::json(&created);
    }
    output::step(format!(
        "channel {} created for {}: orderers {}; peers {}",
        created.channel,
        created.orgs.join(", "),
        created.orderers.join(", "),
        created.peers.join(", ")
    ));
    Ok(())
}

async fn info(ctx: &Context, a: InfoArgs) -> Result<()> {
    let channel = &ctx.consortium.channel;
    let info = match &a.peer {
        Some(target) => {
            let (org_name, peer_name) = match target.split_once('/') {
                Some((o, p)) => (o, Some(p)),
                None => (target.as_str(), None),
            };
            let org = ctx.org(org_name)?;
            let node = ctx.peer(org, peer_name)?;
            let who = a
                .who
                .clone()
                .unwrap_or_else(|| format!("Admin@{}", org.name));
            let reader = signer(ctx, &who)?;
            let peer = Peer::connect(&ctx.peer_endpoint(org, node)?).await?;
            fabric_client::admin::channel::peer_chain_info(&peer, &reader, channel).await?
        }
        None => {
            let who = a.who.clone().unwrap_or_else(|| orderer_admin(ctx));
            let reader = signer(ctx, &who)?;
            cc::chain_info(&orderer(ctx).await?, &reader, channel).await?
        }
    };
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
