//! `healthblock custodian`: each hospital's key custodian (audited key
//! release, `healthblock-custodian`). `serve` runs one in the foreground;
//! `network up` starts one per hospital in the background like its CA (pid
//! file, log), `network down` stops them and `network status` and
//! `custodian status` show them. Starting, stopping and their state are
//! `healthblock_network::custodian`'s; this module parses, serves and prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::Subcommand;
use healthblock_custodian::{Custodian, Redeemed, DEFAULT_MAX_AGE};
use healthblock_network::custodian::{self as processes, CustodianStatus};
use healthblock_sdk::{Client, CustodianEndpoint, Custodians, Options};

use crate::cmd::clinical::{key_store, open_store, Actor};
use crate::cmd::tx;
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub(crate) enum CustodianCmd {
    /// Run a hospital's key custodian in the foreground (`network up`
    /// starts one per hospital in the background).
    Serve {
        /// The hospital (name or MSP id).
        #[arg(long)]
        org: String,
        /// Name of the EHR chaincode.
        #[arg(long, default_value = "ehr")]
        chaincode: String,
        /// Release keys only for decisions at most this many seconds old.
        #[arg(long, default_value_t = DEFAULT_MAX_AGE.as_secs())]
        max_age_secs: u64,
        /// Object store holding the hospital's wraps (as for clinical
        /// commands; default: $HEALTHBLOCK_HOME/store).
        #[arg(long, env = "HEALTHBLOCK_STORE")]
        store: Option<String>,
        /// Listen here instead of the description's `custodian_port`.
        #[arg(long)]
        listen: Option<String>,
        /// Keep the redeemed decisions here (default:
        /// $HEALTHBLOCK_HOME/custodian/<Org>); one directory per running custodian.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Ask a hospital's custodian for the key of a committed access
    /// decision (what `record get` does after `access request`); prints the
    /// release (a wrap sealed to your published key) or the refusal.
    Release {
        #[command(flatten)]
        actor: Actor,
        /// The `request_access` transaction id.
        #[arg(long)]
        tx: String,
        /// The record's home hospital, whose custodian to ask (name or MSP id).
        #[arg(long = "of")]
        of: String,
    },
    /// Each hospital's custodian: address, pid, whether it is up.
    Status {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(ctx: &Context, cmd: CustodianCmd) -> Result<()> {
    match cmd {
        CustodianCmd::Serve {
            org,
            chaincode,
            max_age_secs,
            store,
            listen,
            state_dir,
        } => {
            let place = Placement { listen, state_dir };
            serve(ctx, &org, &chaincode, max_age_secs, store.as_deref(), place).await
        }
        CustodianCmd::Release { actor, tx, of } => release(ctx, &actor, &tx, &of).await,
        CustodianCmd::Status { json } => {
            let all = processes::status(&ctx.consortium, &ctx.layout);
            if json {
                return output::json(&all);
            }
            print_status(&all);
            if all.iter().all(|s| s.up) {
                Ok(())
            } else {
                Err(anyhow!("some key custodians are down"))
            }
        }
    }
}

/// Every hospital's custodian, for clients that read records.
pub(crate) fn endpoints(ctx: &Context) -> Result<Custodians> {
    let mut all = Custodians::new();
    for e in processes::endpoints(&ctx.consortium, &ctx.layout)? {
        all = all.with(
            e.mspid,
            CustodianEndpoint {
                address: e.address,
                server_name: e.server_name,
                tls_ca_pem: e.tls_ca_pem,
            },
        );
    }
    Ok(all)
}

async fn release(ctx: &Context, actor: &Actor, tx_id: &str, home: &str) -> Result<()> {
    let home = ctx.org(home)?;
    let custodians = endpoints(ctx)?;
    let endpoint = custodians
        .get(&home.mspid)
        .ok_or_else(|| anyhow!("no custodian for {}", home.name))?;
    let signer: Arc<dyn healthblock_sdk::Signer> = Arc::new(ctx.identity(&actor.who)?);
    let released = healthblock_sdk::key_release::request_release(endpoint, signer, tx_id).await?;
    output::json(&released)
}

/// Where a custodian listens and keeps its state, when not the defaults.
struct Placement {
    listen: Option<String>,
    state_dir: Option<PathBuf>,
}

async fn serve(
    ctx: &Context,
    org: &str,
    chaincode: &str,
    max_age_secs: u64,
    store: Option<&str>,
    place: Placement,
) -> Result<()> {
    let org = ctx.org(org)?.clone();
    let admin = format!("Admin@{}", org.name);
    let reader = ctx.identity(&admin)?;
    let gateway = tx::connect(ctx, &admin, None)
        .await
        .with_context(|| format!("cannot reach a peer of {}", org.name))?;
    let client = Client::new(
        gateway,
        Options::new(ctx.consortium.channel.clone(), chaincode),
        open_store(ctx, store, &org.mspid).await?,
        Arc::new(key_store(ctx)),
    );
    // The hospital's key pair lives with its custodian.
    client.hospital_keys().context("the hospital's key pair")?;
    let first = org
        .peers
        .first()
        .ok_or_else(|| anyhow!("{} has no peer", org.name))?;
    let peer = fabric_client::admin::Peer::connect(&ctx.peer_endpoint(&org, first)?)
        .await
        .with_context(|| format!("cannot reach {}", org.fqdn(first)))?;
    let msps = ctx
        .consortium
        .orgs
        .iter()
        .map(|o| {
            fabric_msp::Msp::from_dir(&o.mspid, &ctx.layout.org_msp_dir(o))
                .with_context(|| format!("the MSP of {}", o.name))
        })
        .collect::<Result<Vec<_>>>()?;
    let tls = processes::tls_dir(&ctx.layout, &org);
    let read = |name: &str| {
        std::fs::read(tls.join(name))
            .with_context(|| format!("cannot read {}", tls.join(name).display()))
    };
    let config = healthblock_custodian::tls::server_config(
        &read("server.crt")?,
        &read("server.key")?,
        msps,
    )?;
    let state = place
        .state_dir
        .unwrap_or_else(|| processes::state_dir(&ctx.layout, &org));
    std::fs::create_dir_all(&state)
        .with_context(|| format!("cannot create {}", state.display()))?;
    let redeemed = Redeemed::open(&state.join("redeemed.redb"))?;
    let custodian = Arc::new(Custodian {
        client,
        peer,
        reader,
        channel: ctx.consortium.channel.clone(),
        max_age: Duration::from_secs(max_age_secs),
        redeemed,
    });
    let address = place
        .listen
        .unwrap_or_else(|| processes::address(&ctx.consortium, &org));
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    println!(
        "key custodian of {} listening on {address} (TLS name {}, decisions at most {max_age_secs}s old)",
        org.name,
        processes::server_name(&org)
    );
    healthblock_custodian::server::serve(listener, config, custodian, shutdown_signal()).await;
    println!("key custodian of {} stopped", org.name);
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

pub(crate) fn print_status(all: &[CustodianStatus]) {
    for c in all {
        println!(
            "{:<8} {:<14} {:<40} {:<18} {:<5} {}",
            "keys",
            c.mspid,
            format!("custodian of {}", c.org),
            c.address,
            if c.up { "up" } else { "down" },
            c.pid.map_or("-".to_owned(), |p| format!("pid {p}"))
        );
    }
}

/// Starts every hospital's custodian that is not running (this executable
/// serves them); waits until each listens. Returns the statuses.
pub(crate) fn start_all(ctx: &Context) -> Result<Vec<CustodianStatus>> {
    let exe = std::env::current_exe().context("cannot find the healthblock binary")?;
    Ok(processes::start_all(&ctx.consortium, &ctx.layout, &exe)?)
}
