//! `healthblock custodian`: each hospital's key custodian (audited key
//! release, `healthblock-custodian`). `serve` runs one in the foreground;
//! `network up` starts one per hospital in the background like its CA (pid
//! file, log), `network down` stops them and `network status` and
//! `custodian status` show them.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Subcommand;
use healthblock_custodian::{Custodian, Redeemed, DEFAULT_MAX_AGE};
use healthblock_network::consortium::PeerOrg;
use healthblock_network::cryptogen::{service_tls_dir, CUSTODIAN_SERVICE};
use healthblock_network::pid;
use healthblock_sdk::{Client, CustodianEndpoint, Custodians, Options};
use serde::Serialize;

use crate::cmd::clinical::{key_store, open_store, Actor};
use crate::cmd::tx;
use crate::context::Context;
use crate::output;

/// How long `network up` waits for a custodian to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a custodian gets to stop before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

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
            let all = status(ctx);
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

/// The server certificate's name: `custodian.<domain>`.
fn server_name(org: &PeerOrg) -> String {
    format!("{CUSTODIAN_SERVICE}.{}", org.domain)
}

fn tls_dir(ctx: &Context, org: &PeerOrg) -> PathBuf {
    service_tls_dir(&ctx.layout.org_dir(org), CUSTODIAN_SERVICE)
}

fn state_dir(ctx: &Context, org: &PeerOrg) -> PathBuf {
    ctx.layout.home().join("custodian").join(&org.name)
}

fn pid_file(ctx: &Context, org: &PeerOrg) -> PathBuf {
    ctx.layout.pid_file(&format!("custodian-{}", org.name))
}

fn log_file(ctx: &Context, org: &PeerOrg) -> PathBuf {
    ctx.layout
        .logs_dir()
        .join(format!("custodian-{}.log", org.name))
}

/// Every hospital's custodian, for clients that read records.
pub(crate) fn endpoints(ctx: &Context) -> Result<Custodians> {
    let mut all = Custodians::new();
    for org in &ctx.consortium.orgs {
        let ca = ctx.layout.org_tls_ca_cert(org);
        let tls_ca_pem = std::fs::read(&ca).with_context(|| {
            format!("cannot read the TLS CA of {} at {}", org.name, ca.display())
        })?;
        all = all.with(
            org.mspid.clone(),
            CustodianEndpoint {
                address: ctx.consortium.address(org.custodian_port),
                server_name: server_name(org),
                tls_ca_pem,
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
    let tls = tls_dir(ctx, &org);
    let read = |name: &str| {
        std::fs::read(tls.join(name))
            .with_context(|| format!("cannot read {}", tls.join(name).display()))
    };
    let config = healthblock_custodian::tls::server_config(
        &read("server.crt")?,
        &read("server.key")?,
        msps,
    )?;
    let state = place.state_dir.unwrap_or_else(|| state_dir(ctx, &org));
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
        .unwrap_or_else(|| ctx.consortium.address(org.custodian_port));
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    println!(
        "key custodian of {} listening on {address} (TLS name {}, decisions at most {max_age_secs}s old)",
        org.name,
        server_name(&org)
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

/// One hospital's custodian, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CustodianStatus {
    pub org: String,
    pub mspid: String,
    pub address: String,
    pub pid: Option<u32>,
    pub up: bool,
    pub log: PathBuf,
}

/// Whether `pid` is a custodian of this home (its command line names the home).
fn is_ours(ctx: &Context, pid: u32) -> bool {
    pid::is_running(pid, ctx.layout.home())
}

pub(crate) fn status(ctx: &Context) -> Vec<CustodianStatus> {
    ctx.consortium
        .orgs
        .iter()
        .map(|org| {
            let address = ctx.consortium.address(org.custodian_port);
            let pid = pid::read(&pid_file(ctx, org))
                .ok()
                .flatten()
                .filter(|p| is_ours(ctx, *p));
            CustodianStatus {
                org: org.name.clone(),
                mspid: org.mspid.clone(),
                up: pid.is_some() && TcpStream::connect(&address).is_ok(),
                address,
                pid,
                log: log_file(ctx, org),
            }
        })
        .collect()
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

/// Starts every hospital's custodian that is not running; waits until each
/// listens. Returns the statuses.
pub(crate) fn start_all(ctx: &Context) -> Result<Vec<CustodianStatus>> {
    let exe = std::env::current_exe().context("cannot find the healthblock binary")?;
    for org in &ctx.consortium.orgs {
        let pid_path = pid_file(ctx, org);
        if pid::read(&pid_path)?.is_some_and(|p| is_ours(ctx, p)) {
            continue;
        }
        let address = ctx.consortium.address(org.custodian_port);
        if TcpStream::connect(&address).is_ok() {
            bail!(
                "cannot start the key custodian of {}: {address} is in use by another process",
                org.name
            );
        }
        let log_path = log_file(ctx, org);
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let child = Command::new(&exe)
            .arg("--home")
            .arg(ctx.layout.home())
            .args(["custodian", "serve", "--org", &org.name])
            .env("HEALTHBLOCK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal does not reach it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start the key custodian of {}", org.name))?;
        let pid = child.id();
        pid::write(&pid_path, pid)?;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&address).is_err() {
            if Instant::now() > deadline || !pid::is_alive(pid) {
                bail!(
                    "the key custodian of {} did not start listening on {address}; see {}",
                    org.name,
                    log_path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(status(ctx))
}

/// Stops every custodian of this home. Returns the hospitals stopped.
pub(crate) fn stop_all(ctx: &Context) -> Result<Vec<String>> {
    let mut stopped = Vec::new();
    for org in &ctx.consortium.orgs {
        let pid_path = pid_file(ctx, org);
        if let Some(p) = pid::read(&pid_path)?.filter(|p| is_ours(ctx, *p)) {
            pid::stop(p, STOP_GRACE, |p| is_ours(ctx, p))
                .map_err(|e| anyhow!("stopping the key custodian of {}: {e}", org.name))?;
            stopped.push(org.name.clone());
        }
        pid::remove(&pid_path)?;
    }
    Ok(stopped)
}
