//! `healthblock-devnet --config devnet.json`: runs the devnet until SIGTERM or
//! SIGINT. Logs go to stderr; one line `devnet ready` goes to stdout once
//! every listener serves (what `healthblock network up` waits for).

use anyhow::Context;
use clap::Parser;
use devnet::{Devnet, DevnetConfig};
use std::io::Write;
use std::path::PathBuf;

// mimalloc instead of glibc's malloc: under load the devnet allocates and frees
// many short-lived buffers across threads (messages, envelopes, read/write sets),
// and a profile at 1,000 kv tx/s spent about a fifth of its CPU in glibc's
// malloc/free (arena locking and consolidation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "healthblock-devnet",
    about = "Runs the embedded Fabric-compatible network"
)]
struct Args {
    /// The devnet configuration (JSON), as `healthblock network` writes it.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    // Handlers first: a SIGTERM sent as soon as "devnet ready" is read must stop it cleanly.
    let signals = Signals::install()?;
    let config = DevnetConfig::from_json_file(&args.config)?;
    let control_socket = config.control_socket.clone();
    let devnet = Devnet::start(config).await.context("starting the devnet")?;
    // Without its control socket the devnet still runs; single-node stop/start then
    // answers that the socket is missing.
    let control = match control_socket {
        Some(path) => match devnet::control::bind(&path) {
            Ok(listener) => Some(tokio::spawn(devnet::control::serve(
                listener,
                devnet.peer_control(),
            ))),
            Err(e) => {
                tracing::warn!(path = %path.display(), "no control socket (network stop|start --node will not reach this devnet): {e}");
                None
            }
        },
        None => None,
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "devnet ready")?;
        out.flush()?;
    }
    signals.wait().await;
    tracing::info!("stopping the devnet");
    if let Some(task) = control {
        task.abort();
    }
    devnet.stop().await
}

/// SIGTERM and SIGINT, either of which stops the devnet.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
