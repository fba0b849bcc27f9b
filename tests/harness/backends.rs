//! One suite, every available backend: each case becomes one trial per backend
//! (`devnet::<case>`, `fabric::<case>`). The devnet always runs; real Fabric
//! runs where `FABRIC_BIN` and `FABRIC_CFG_PATH` are set, and is otherwise
//! listed as ignored with a `SKIPPED:` line that says why. Cases that need
//! Fabric's own `peer` binary are skipped the same way without `FABRIC_BIN`.
//! Each backend's fixture (its network) is started by the first trial that
//! needs it and stopped before the process exits.

use crate::{fabric_unavailable, report_fabric_skipped, skipped_trial};
use anyhow::Result;
use healthblock_network::consortium::Backend;
use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;

/// A test body over a backend's shared fixture.
pub type CaseFn<T> =
    Box<dyn FnOnce(Arc<T>) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> + Send>;

/// A named case.
pub type Case<T> = (&'static str, CaseFn<T>);

/// Names `f` as a case.
pub fn case<T, F, Fut>(name: &'static str, f: F) -> Case<T>
where
    F: FnOnce(Arc<T>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    (name, Box::new(move |fixture| Box::pin(f(fixture))))
}

/// What a suite is made of.
pub struct Suite<T> {
    /// The test binary's name, for the SKIPPED lines.
    pub name: &'static str,
    /// The port offset of each backend's network.
    pub devnet_offset: u16,
    pub fabric_offset: u16,
    /// Starts a backend's fixture.
    pub start: fn(&Runtime, Backend, u16) -> Result<T>,
    /// The cases (called once per backend).
    pub cases: fn() -> Vec<Case<T>>,
    /// Cases that need Fabric's `peer` binary.
    pub needs_peer_binary: fn(&str) -> bool,
}

type Shared<T> = Arc<OnceLock<Result<Arc<T>, String>>>;

/// Runs the suite with the command line's arguments and exits with its outcome.
pub fn run<T: Send + Sync + 'static>(suite: Suite<T>) -> ! {
    let args = Arguments::from_args();
    let runtime = Arc::new(Runtime::new().expect("tokio runtime"));
    let fabric_skip = fabric_unavailable();
    let no_peer_binary = std::env::var_os("FABRIC_BIN").is_none_or(|v| v.is_empty());
    let mut fixtures: Vec<Shared<T>> = Vec::new();
    let mut trials = Vec::new();
    for (backend, offset) in [
        (Backend::Devnet, suite.devnet_offset),
        (Backend::Fabric, suite.fabric_offset),
    ] {
        let skipped = match &fabric_skip {
            Some(reason) if backend == Backend::Fabric => Some(reason.clone()),
            _ => None,
        };
        let shared: Shared<T> = Arc::default();
        fixtures.push(shared.clone());
        for (name, f) in (suite.cases)() {
            let needs_peer = (suite.needs_peer_binary)(name);
            let name = format!("{backend}::{name}");
            if let Some(reason) = &skipped {
                trials.push(skipped_trial(name, reason.clone()));
                continue;
            }
            if needs_peer && no_peer_binary {
                trials.push(skipped_trial(
                    name,
                    "FABRIC_BIN is not set (Fabric's peer CLI is needed)",
                ));
                continue;
            }
            let (shared, runtime, start) = (shared.clone(), runtime.clone(), suite.start);
            trials.push(Trial::test(name, move || {
                let fixture = shared
                    .get_or_init(|| {
                        start(&runtime, backend, offset)
                            .map(Arc::new)
                            .map_err(|e| format!("the {backend} test network did not start: {e:#}"))
                    })
                    .clone()
                    .map_err(Failed::from)?;
                runtime
                    .block_on(f(fixture))
                    .map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    if let Some(reason) = &fabric_skip {
        report_fabric_skipped(&format!("{} (every fabric:: trial)", suite.name), reason);
    }
    if no_peer_binary {
        println!(
            "SKIPPED: {} trials that run Fabric's own peer CLI: FABRIC_BIN is not set",
            suite.name
        );
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop and purge the networks before exiting (exit skips destructors).
    drop(fixtures);
    conclusion.exit()
}
