//! End-to-end suite, run on each backend that is available: a network of its
//! own per backend, started and stopped through the `healthblock` CLI, driven
//! over gRPC by the Rust Gateway client and by the official Node Gateway SDK.
//! Each trial asserts exact results, validation codes or error messages. The
//! devnet runs always; real Fabric runs where `FABRIC_BIN` and `FABRIC_CFG_PATH`
//! are set, and is otherwise reported as skipped, with the reason.

mod client;
mod interop;
mod peer_cli;
mod semantics;

use healthblock_network::consortium::Backend;
use healthblock_tests::{fabric_unavailable, report_fabric_skipped, TestNet};
use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// Ports of this suite's networks: the description's ports + these offsets.
const DEVNET_OFFSET: u16 = 20000;
const FABRIC_OFFSET: u16 = 22000;

pub type Net = Arc<TestNet>;

/// A backend's network, started by the first trial that needs it.
struct LazyNet {
    backend: Backend,
    offset: u16,
    net: OnceLock<Result<Net, String>>,
}

impl LazyNet {
    fn get(&self) -> Result<Net, Failed> {
        self.net
            .get_or_init(|| {
                TestNet::start_on(self.backend, self.offset)
                    .map(Arc::new)
                    .map_err(|e| format!("the {} test network did not start: {e:#}", self.backend))
            })
            .clone()
            .map_err(Failed::from)
    }
}

fn all_trials() -> Vec<(&'static str, TestFn)> {
    client::trials()
        .into_iter()
        .chain(semantics::trials())
        .chain(interop::trials())
        .chain(peer_cli::trials())
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    let fabric_skip = fabric_unavailable();
    let no_peer_binary = std::env::var_os("FABRIC_BIN").is_none_or(|v| v.is_empty());
    let mut nets = Vec::new();
    let mut trials = Vec::new();
    for (backend, offset) in [
        (Backend::Devnet, DEVNET_OFFSET),
        (Backend::Fabric, FABRIC_OFFSET),
    ] {
        let skipped = backend == Backend::Fabric && fabric_skip.is_some();
        let lazy = Arc::new(LazyNet {
            backend,
            offset,
            net: OnceLock::new(),
        });
        nets.push(lazy.clone());
        for (name, f) in all_trials() {
            let needs_peer = peer_cli::needs_peer_binary(name);
            let name = format!("{backend}::{name}");
            if skipped || (needs_peer && no_peer_binary) {
                trials.push(Trial::test(name, || Ok(())).with_ignored_flag(true));
                continue;
            }
            let (lazy, runtime) = (lazy.clone(), runtime.clone());
            trials.push(Trial::test(name, move || {
                let net = lazy.get()?;
                runtime
                    .block_on(f(net))
                    .map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    if let Some(reason) = &fabric_skip {
        report_fabric_skipped("e2e (every fabric:: trial)", reason);
    }
    if no_peer_binary {
        println!("SKIPPED: e2e peer_cli:: trials (Fabric's own peer CLI): FABRIC_BIN is not set");
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop and purge the networks before exiting (exit skips destructors).
    drop(nets);
    conclusion.exit();
}

/// A named async test over the shared network.
pub type TestFn = Box<
    dyn FnOnce(Net) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send,
>;

pub fn trial<F, Fut>(name: &'static str, f: F) -> (&'static str, TestFn)
where
    F: FnOnce(Net) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    (name, Box::new(move |net| Box::pin(f(net))))
}

/// A key unique to this run and trial.
pub fn key(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
