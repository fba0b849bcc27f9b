//! End-to-end suite on the devnet: a network of its own, started and stopped
//! through the `healthblock` CLI, driven over gRPC by the Rust Gateway client
//! and by the official Node Gateway SDK. Each trial asserts exact results,
//! validation codes or error messages.

mod client;
mod interop;
mod semantics;

use healthblock_tests::TestNet;
use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::sync::Arc;

/// Ports of this suite's network: the description's ports + this offset.
const PORT_OFFSET: u16 = 20000;

pub type Net = Arc<TestNet>;

fn main() {
    let args = Arguments::from_args();
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    let net = match TestNet::start(PORT_OFFSET) {
        Ok(n) => Ok(Arc::new(n)),
        Err(e) => Err(format!("the test network did not start: {e:#}")),
    };
    let mut trials = Vec::new();
    for (name, f) in client::trials()
        .into_iter()
        .chain(semantics::trials())
        .chain(interop::trials())
    {
        let net = net.clone();
        let runtime = runtime.clone();
        trials.push(Trial::test(name, move || {
            let net = net.map_err(Failed::from)?;
            runtime
                .block_on(f(net))
                .map_err(|e| Failed::from(format!("{e:#}")))
        }));
    }
    trials.push(fabric_backend_trial());
    let conclusion = libtest_mimic::run(&args, trials);
    drop(net);
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

/// The same suite on real Fabric runs only where its binaries are; otherwise it is
/// reported as skipped, with the reason, on a line of its own.
fn fabric_backend_trial() -> Trial {
    let name = "fabric::backend_suite";
    match std::env::var_os("FABRIC_BIN").filter(|v| !v.is_empty()) {
        None => {
            println!("SKIPPED: {name}: FABRIC_BIN is not set (point it at a Fabric v3.1 release bin/, with FABRIC_CFG_PATH at its config/)");
            Trial::test(name, || Ok(())).with_ignored_flag(true)
        }
        Some(_) => Trial::test(name, || {
            let net = healthblock_tests::bin_dir().map_err(|e| Failed::from(format!("{e:#}")))?;
            let out = std::process::Command::new(net.join("healthblock"))
                .args([
                    "--port-offset",
                    "22000",
                    "--backend",
                    "fabric",
                    "network",
                    "up",
                ])
                .env(
                    "HEALTHBLOCK_HOME",
                    std::env::temp_dir().join("healthblock-e2e-fabric"),
                )
                .output()
                .map_err(|e| Failed::from(e.to_string()))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "the fabric backend did not come up: {}",
                    String::from_utf8_lossy(&out.stderr)
                )))
            }
        }),
    }
}
