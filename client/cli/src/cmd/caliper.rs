//! `healthblock caliper config`: Hyperledger Caliper's network configuration
//! and connection profiles, generated from the running network
//! (`healthblock_network::caliper` owns the generation; this file picks the
//! identities from the wallet and prints).

use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Result};
use healthblock_identity::wallet::{CERT_FILE, KEY_FILE};
use healthblock_identity::{Role, Wallet};
use healthblock_network::caliper::{self, CaliperIdentity};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum CaliperCmd {
    /// Write Caliper's Fabric network configuration (networkconfig.yaml, format 2.0.0),
    /// one connection profile per hospital and healthblock.json (what the workloads read),
    /// from the network running under this home, on either backend. Identities: each
    /// hospital's cryptogen admin (`admin`) and its first enrolled doctor in the wallet
    /// (`doctor`); keys are referenced by path, never copied.
    Config(ConfigArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct ConfigArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Chaincodes the benchmarks call on the channel.
    #[arg(long = "contract", default_values = ["kv", "ehr"])]
    contracts: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(ctx: &Context, cmd: CaliperCmd) -> Result<()> {
    match cmd {
        CaliperCmd::Config(a) => config(ctx, a),
    }
}

fn config(ctx: &Context, args: ConfigArgs) -> Result<()> {
    let wallet = Wallet::new(ctx.layout.wallet_dir());
    let enrolled = wallet
        .list()
        .map_err(|e| anyhow!("cannot read the wallet: {e}"))?;
    let mut identities = Vec::new();
    for org in &ctx.consortium.orgs {
        identities.push(caliper::admin_identity(&ctx.layout, org));
        // The first doctor by label, so the choice is the same on every run.
        if let Some(doctor) = enrolled
            .iter()
            .find(|id| id.org == org.name && id.role == Some(Role::Doctor))
        {
            let dir = wallet
                .entry_dir(&doctor.name, &doctor.org)
                .map_err(|e| anyhow!("{e}"))?;
            identities.push(CaliperIdentity {
                org: org.name.clone(),
                name: "doctor".to_owned(),
                user: doctor.label(),
                cert: dir.join(CERT_FILE),
                key: dir.join(KEY_FILE),
            });
        }
    }
    let generated = caliper::generate(
        &ctx.consortium,
        &ctx.layout,
        &identities,
        &["admin", "doctor"],
        &args.contracts,
    )?;
    let out = if args.out.is_absolute() {
        args.out
    } else {
        std::env::current_dir()?.join(args.out)
    };
    let written = generated.write(&out)?;
    if args.json {
        return output::json(&serde_json::json!({
            "backend": generated.backend,
            "channel": generated.channel,
            "network_config": out.join(caliper::NETWORK_FILE),
            "files": written,
            "identities": generated.identities,
        }));
    }
    println!(
        "Caliper configuration of the running {} network (channel {}) in {}",
        generated.backend,
        generated.channel,
        out.display()
    );
    for path in &written {
        output::step(path.display().to_string());
    }
    for id in &generated.identities {
        output::step(format!("{} of {}: {}", id.name, id.org, id.user));
    }
    Ok(())
}
