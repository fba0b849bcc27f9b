//! End-to-end suite, run on each backend that is available: a network of its
//! own per backend, started and stopped through the `healthblock` CLI, driven
//! over gRPC by the Rust Gateway client and by the official Node Gateway SDK.
//! Each trial asserts exact results, validation codes or error messages. The
//! devnet runs always; real Fabric runs where `FABRIC_BIN` and `FABRIC_CFG_PATH`
//! are set, and is otherwise reported as skipped, with the reason.

mod acl;
mod client;
mod conformance;
mod interop;
mod peer_cli;
mod semantics;

use healthblock_tests::backends::{self, Case, Suite};
use healthblock_tests::TestNet;
use std::sync::Arc;

pub type Net = Arc<TestNet>;
pub type TestFn = backends::CaseFn<TestNet>;
pub use backends::case as trial;

fn all_trials() -> Vec<Case<TestNet>> {
    client::trials()
        .into_iter()
        .chain(acl::trials())
        .chain(semantics::trials())
        .chain(conformance::trials())
        .chain(interop::trials())
        .chain(peer_cli::trials())
        .collect()
}

fn main() {
    backends::run(Suite {
        name: "e2e",
        devnet_offset: 20000,
        fabric_offset: 22000,
        start: |_, backend, offset| TestNet::start_on(backend, offset),
        cases: all_trials,
        needs_peer_binary: peer_cli::needs_peer_binary,
    })
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
