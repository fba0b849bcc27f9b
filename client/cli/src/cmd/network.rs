//! `healthblock network up|down|status`.

use crate::context::{sibling_binary, started_description, Context};
use crate::output;
use anyhow::{anyhow, Context as _, Result};
use healthblock_network::consortium::Backend;
use healthblock_network::fabric_process::{self, FabricInstall};
use healthblock_network::running::running_backend;
use healthblock_network::{ca, cryptogen, custodian, devnet_control, devnet_process};
use std::time::Duration;

/// Bound on a fabric `network up`: processes, channel joins, Raft election and gossip.
const FABRIC_READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a Fabric node may take to stop after SIGTERM before it is killed.
const FABRIC_STOP_GRACE: Duration = Duration::from_secs(15);

#[derive(clap::Subcommand, Debug)]
pub(crate) enum NetworkCmd {
    /// Generate identity material if missing and start the network in the background
    /// (idempotent: a running network is reported as up; after a crash it recovers).
    Up {
        #[arg(long)]
        json: bool,
    },
    /// Stop the network started by `up`.
    Down {
        /// Also remove all state: ledgers, identity material, logs, wallet.
        #[arg(long)]
        purge: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every peer and orderer with org, address, up/down and block height.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop one node; the rest of the network keeps serving (on the devnet: peers only).
    Stop {
        /// The node's name as `network status` shows it, e.g. peer0.hospital1.healthblock.test.
        #[arg(long)]
        node: String,
    },
    /// Start one node stopped by `network stop --node`; it catches up from the orderer.
    Start {
        #[arg(long)]
        node: String,
    },
}

pub(crate) async fn run(ctx: &Context, cmd: NetworkCmd) -> Result<()> {
    match cmd {
        NetworkCmd::Up { json } => up(ctx, json).await,
        NetworkCmd::Down { purge, json } => down(ctx, purge, json),
        NetworkCmd::Status { json } => status(ctx, json).await,
        NetworkCmd::Stop { node } => stop_node(ctx, &node).await,
        NetworkCmd::Start { node } => start_node(ctx, &node).await,
    }
}

async fn stop_node(ctx: &Context, node: &str) -> Result<()> {
    match check_backend(ctx)? {
        Some(_) => {
            let stopped = fabric_process::stop_node(
                &ctx.consortium,
                &ctx.layout,
                node,
                Duration::from_secs(10),
            )?;
            match stopped {
                Some(pid) => println!("stopped {node} (pid {pid})"),
                None => println!("{node} was not running"),
            }
        }
        None => {
            let request = devnet_control::ControlRequest::StopPeer(node.to_owned());
            devnet_process::control(&ctx.consortium, &ctx.layout, &request)?;
            println!("stopped {node} (its listener is closed; the rest of the devnet serves)");
        }
    }
    Ok(())
}

async fn start_node(ctx: &Context, node: &str) -> Result<()> {
    match check_backend(ctx)? {
        Some(install) => {
            let pid =
                fabric_process::start_node(&ctx.consortium, &ctx.layout, &install, node).await?;
            println!("{node} runs (pid {pid})");
        }
        None => {
            let request = devnet_control::ControlRequest::StartPeer(node.to_owned());
            devnet_process::control(&ctx.consortium, &ctx.layout, &request)?;
            println!("started {node}");
        }
    }
    Ok(())
}

/// The operator's Fabric install when the backend is fabric; fails at once, before
/// anything starts, naming what is missing.
fn check_backend(ctx: &Context) -> Result<Option<FabricInstall>> {
    if ctx.consortium.backend != Backend::Fabric {
        return Ok(None);
    }
    Ok(Some(FabricInstall::from_env()?))
}

/// The fabric-ca-server binary that `scripts/install-fabric-ca.sh` builds and caches.
fn fabric_ca_server() -> Result<std::path::PathBuf> {
    let bin = crate::context::repo_file(".cache/bin/fabric-ca-server")
        .ok_or_else(|| anyhow!("fabric-ca-server is not installed: run scripts/install-fabric-ca.sh (make demo and make test do)"))?;
    Ok(bin)
}

/// crypto-config/crypto-config.yaml of the repository.
fn crypto_config() -> Result<std::path::PathBuf> {
    let mut candidates = vec![std::env::current_dir()?.join("crypto-config/crypto-config.yaml")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(repo) = exe.ancestors().nth(3) {
            candidates.push(repo.join("crypto-config/crypto-config.yaml"));
        }
    }
    candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        anyhow!("crypto-config/crypto-config.yaml not found: run from the repository root")
    })
}

async fn up(ctx: &Context, json: bool) -> Result<()> {
    let fabric = check_backend(ctx)?;
    let layout = &ctx.layout;
    std::fs::create_dir_all(layout.home())
        .with_context(|| format!("cannot create {}", layout.home().display()))?;
    let crypto = cryptogen::generate_from_file(&crypto_config()?, &layout.crypto_dir(), false)
        .map_err(|e| anyhow!("identity material: {e}"))?;
    if !crypto.is_unchanged() && !json {
        output::step(format!(
            "generated identity material for {} identities in {:.1?} under {}",
            crypto.created.len(),
            crypto.elapsed,
            layout.crypto_dir().display()
        ));
    }
    let recorded = started_description(layout);
    let yaml = serde_yaml::to_string(&ctx.consortium)?;
    std::fs::write(&recorded, yaml)
        .with_context(|| format!("cannot write {}", recorded.display()))?;
    let ca_server = fabric_ca_server()?;
    match fabric {
        Some(install) => fabric_up(ctx, &install, &ca_server, json).await?,
        None => devnet_up(ctx, &ca_server, json).await?,
    }
    for (name, pid) in crate::cmd::chaincode::restart_servers(ctx)? {
        if !json {
            output::step(format!("chaincode server {name} started again (pid {pid})"));
        }
    }
    let custodians = crate::cmd::custodian::start_all(ctx)?;
    if !json {
        for c in &custodians {
            output::step(format!(
                "key custodian of {} at {} (pid {}, log {})",
                c.org,
                c.address,
                c.pid.map_or("-".into(), |p| p.to_string()),
                c.log.display()
            ));
        }
    }
    Ok(())
}

async fn start_cas(ctx: &Context, ca_server: &std::path::Path) -> Result<Vec<ca::CaStatus>> {
    ca::start_all(&ctx.consortium, &ctx.layout, ca_server)
        .await
        .map_err(|e| anyhow!("hospital CAs: {e}"))
}

fn print_cas(cas: &[ca::CaStatus]) {
    for c in cas {
        output::step(format!(
            "Fabric CA of {} at {} (pid {})",
            c.org,
            c.url,
            c.pid.map_or("-".into(), |p| p.to_string())
        ));
    }
}

async fn devnet_up(ctx: &Context, ca_server: &std::path::Path, json: bool) -> Result<()> {
    let report = devnet_process::up(
        &ctx.consortium,
        &ctx.layout,
        &sibling_binary("healthblock-devnet")?,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let cas = start_cas(ctx, ca_server).await?;
    if json {
        return output::json(&serde_json::json!({ "devnet": report, "cas": cas }));
    }
    print_cas(&cas);
    if report.already_up {
        println!("network is already up (devnet pid {})", report.pid);
    } else {
        if let Some(old) = report.recovered_stale_pid {
            output::step(format!(
                "devnet pid {old} had died; restarted on its ledgers"
            ));
        }
        println!(
            "network up: devnet pid {}, ready in {:.2?}, channel {} (logs: {})",
            report.pid,
            report.elapsed,
            ctx.consortium.channel,
            report.log_file.display()
        );
    }
    Ok(())
}

async fn fabric_up(
    ctx: &Context,
    install: &FabricInstall,
    ca_server: &std::path::Path,
    json: bool,
) -> Result<()> {
    let opts = fabric_process::UpOptions {
        ready_timeout: FABRIC_READY_TIMEOUT,
        builder_executable: sibling_binary("healthblock-ccaas-builder")?,
    };
    let report = fabric_process::up(&ctx.consortium, &ctx.layout, install, &opts)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let cas = start_cas(ctx, ca_server).await?;
    if json {
        return output::json(&serde_json::json!({ "fabric": report, "cas": cas }));
    }
    print_cas(&cas);
    if report.already_up {
        println!(
            "network is already up (fabric: {} nodes, Raft leader {})",
            report.nodes.len(),
            report.leader
        );
        return Ok(());
    }
    for n in report.nodes.iter().filter(|n| n.started) {
        output::step(format!(
            "{} {} (pid {}, log {})",
            format!("{:?}", n.kind).to_lowercase(),
            n.name,
            n.pid,
            n.log_file.display()
        ));
    }
    println!(
        "network up: fabric, {} nodes ({} started), channel {} (joined: {} orderers, {} peers), Raft leader {}, \
         ready in {:.2?} (processes {:.2?}, channel {:.2?}, then gossip)",
        report.nodes.len(),
        report.nodes.iter().filter(|n| n.started).count(),
        ctx.consortium.channel,
        report.orderers_joined,
        report.peers_joined,
        report.leader,
        report.elapsed,
        report.processes_ready_after,
        report.channel_ready_after
    );
    Ok(())
}

fn down(ctx: &Context, purge: bool, json: bool) -> Result<()> {
    // Chaincode servers first: their pid files live under the home that --purge removes.
    crate::cmd::chaincode::stop_servers(ctx)?;
    custodian::stop_all(&ctx.consortium, &ctx.layout)?;
    ca::stop_all(&ctx.layout).map_err(|e| anyhow!("hospital CAs: {e}"))?;
    // Native Fabric nodes of this home, whichever backend the description names now.
    let fabric = fabric_process::down(&ctx.consortium, &ctx.layout, FABRIC_STOP_GRACE)
        .map_err(|e| anyhow!("{e}"))?;
    let report = devnet_process::down(&ctx.layout, purge).map_err(|e| anyhow!("{e}"))?;
    if json {
        let mut value = serde_json::to_value(&report)?;
        value["fabric"] = serde_json::to_value(&fabric)?;
        return output::json(&value);
    }
    if !fabric.stopped.is_empty() {
        println!(
            "network down: {} Fabric nodes stopped{}",
            fabric.stopped.len(),
            if fabric.killed.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} killed after the grace period)",
                    fabric.killed.join(", ")
                )
            }
        );
    }
    match report.stopped {
        Some(pid) if report.killed => {
            println!("network down: devnet pid {pid} killed after the grace period")
        }
        Some(pid) => println!("network down: devnet pid {pid} stopped"),
        None if fabric.stopped.is_empty() => println!("network was not running"),
        None => {}
    }
    if report.purged {
        println!("state removed: {}", ctx.layout.home().display());
    }
    Ok(())
}

async fn status(ctx: &Context, json: bool) -> Result<()> {
    // What runs, told by its processes: the description and HEALTHBLOCK_BACKEND
    // only say what was asked for.
    let running = running_backend(&ctx.consortium, &ctx.layout);
    let mut status = match running.unwrap_or(ctx.consortium.backend) {
        Backend::Fabric => fabric_process::status(&ctx.consortium, &ctx.layout).await,
        Backend::Devnet => devnet_process::status(&ctx.consortium, &ctx.layout).await,
    };
    fill_heights(ctx, &mut status).await;
    let cas = ca::status(&ctx.consortium, &ctx.layout).await;
    let custodians = custodian::status(&ctx.consortium, &ctx.layout);
    if json {
        let mut value = serde_json::to_value(&status)?;
        // `backend`: the one running (null when nothing runs); `asked_backend`: the
        // description's or HEALTHBLOCK_BACKEND's.
        value["backend"] = serde_json::to_value(running)?;
        value["asked_backend"] = serde_json::to_value(ctx.consortium.backend)?;
        value["cas"] = serde_json::to_value(&cas)?;
        value["custodians"] = serde_json::to_value(&custodians)?;
        output::json(&value)?;
    } else {
        let process = match status.pid {
            Some(pid) => format!("  devnet pid {pid}"),
            None if ctx.consortium.backend == Backend::Devnet => "  devnet not running".to_owned(),
            None => String::new(),
        };
        let backend = running.map_or_else(|| "none running".to_owned(), |b| b.to_string());
        println!("backend {backend}  channel {}{process}", status.channel);
        println!(
            "{:<8} {:<14} {:<40} {:<18} {:<5} HEIGHT",
            "KIND", "ORG", "NAME", "ADDRESS", "UP"
        );
        for n in &status.nodes {
            println!(
                "{:<8} {:<14} {:<40} {:<18} {:<5} {}{}",
                format!("{:?}", n.kind).to_lowercase(),
                n.org,
                n.name,
                n.address,
                if n.up { "up" } else { "down" },
                n.height.map_or("-".to_owned(), |h| h.to_string()),
                if n.leader == Some(true) {
                    "  (Raft leader)"
                } else {
                    ""
                }
            );
        }
        for c in &cas {
            println!(
                "{:<8} {:<14} {:<40} {:<18} {:<5} {}",
                "ca",
                c.mspid,
                c.ca_name.as_deref().unwrap_or("-"),
                c.url.trim_start_matches("https://"),
                if c.up { "up" } else { "down" },
                c.version.as_deref().unwrap_or("-")
            );
        }
        crate::cmd::custodian::print_status(&custodians);
    }
    match running {
        Some(b) if b != ctx.consortium.backend => Err(anyhow!(
            "the network under {} runs the {b} backend, not {} as asked",
            ctx.layout.home().display(),
            ctx.consortium.backend
        )),
        None => Err(anyhow!(
            "no network runs under {}",
            ctx.layout.home().display()
        )),
        Some(_) if !status.all_up() => Err(anyhow!("some nodes are down")),
        Some(_) => Ok(()),
    }
}

/// Peer heights through Deliver (the same call works on real Fabric).
async fn fill_heights(ctx: &Context, status: &mut devnet_process::Status) {
    for node in status
        .nodes
        .iter_mut()
        .filter(|n| n.up && n.height.is_none())
    {
        let Some((org, peer)) = ctx.all_peers().find(|(o, p)| o.fqdn(p) == node.name) else {
            continue;
        };
        let Ok(identity) = ctx.identity(&format!("Admin@{}", org.name)) else {
            continue;
        };
        let Ok(endpoint) = ctx.peer_endpoint(org, peer) else {
            continue;
        };
        if let Ok(gw) = fabric_client::gateway::Gateway::connect_endpoint(&endpoint, identity).await
        {
            node.height = gw
                .network(&ctx.consortium.channel)
                .block_height()
                .await
                .ok();
        }
    }
}
