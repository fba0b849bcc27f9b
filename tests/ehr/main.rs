//! End-to-end suite of the EHR contract on each available backend (the devnet
//! always; real Fabric where `FABRIC_BIN` is set): a network of its own,
//! the contract deployed as `ehr` through the CLI, users registered and
//! enrolled at the hospitals' real Fabric CAs with their roles as
//! certificate attributes, then trials that assert exact results and
//! validation codes: the endorsement-policy attack of a dishonest hospital,
//! role enforcement, key custody through the clinical CLI (break-glass key
//! delivery, overlapping consents), and the official Node Gateway SDK
//! reading what Rust wrote.

mod attack;
mod custody;
mod fixtures;
mod node;
mod roles;
mod users;

use anyhow::Result;
use fabric_client::contract::Contract;
use healthblock_network::consortium::Backend;
use healthblock_tests::{fabric_unavailable, report_fabric_skipped, TestNet};
use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// Ports of this suite's networks: the description's ports + these offsets.
const DEVNET_OFFSET: u16 = 28500;
const FABRIC_OFFSET: u16 = 23000;
/// The contract's name on the channel.
pub const EHR: &str = "ehr";

/// The running network with the contract and the suite's users.
pub struct Ehr {
    pub net: TestNet,
    pub users: users::Users,
}

pub type Ctx = Arc<Ehr>;

impl Ehr {
    /// The contract as `user` (a wallet identity), through their hospital's first peer.
    pub async fn contract(&self, user: &users::User) -> Result<Contract> {
        let id = healthblock_tests::wallet_identity(&self.net, user.name, user.org)?;
        let org = self.net.org(user.org)?;
        let gw = self.net.gateway_on(id, org, &org.peers[0]).await?;
        Ok(gw.network(&self.net.consortium.channel).contract(EHR))
    }
}

/// Starts the network, deploys the contract and enrolls the users.
fn start(runtime: &tokio::runtime::Runtime, backend: Backend, offset: u16) -> Result<Ehr> {
    let net = TestNet::start_without_chaincode_on(backend, offset)?;
    let binary = healthblock_tests::bin_dir()?.join("healthblock-ehrcc");
    let binary = binary.to_string_lossy().into_owned();
    net.cli_ok(&["chaincode", "deploy", "--name", EHR, "--binary", &binary])?;
    let users = users::Users::enroll_all(&net)?;
    let ehr = Ehr { net, users };
    runtime.block_on(fixtures::register_patients(&ehr))?;
    Ok(ehr)
}

fn all_trials() -> Vec<(&'static str, TestFn)> {
    attack::trials()
        .into_iter()
        .chain(roles::trials())
        .chain(custody::trials())
        .chain(node::trials())
        .collect()
}

/// A backend's network, started by the first trial that needs it.
type Shared = Arc<OnceLock<Result<Ctx, String>>>;

fn main() {
    let args = Arguments::from_args();
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    let fabric_skip = fabric_unavailable();
    let no_peer_binary = std::env::var_os("FABRIC_BIN").is_none_or(|v| v.is_empty());
    let mut shared = Vec::new();
    let mut trials = Vec::new();
    for (backend, offset) in [
        (Backend::Devnet, DEVNET_OFFSET),
        (Backend::Fabric, FABRIC_OFFSET),
    ] {
        let skipped = backend == Backend::Fabric && fabric_skip.is_some();
        let cell: Shared = Arc::default();
        shared.push(cell.clone());
        for (name, f) in all_trials() {
            let needs_peer = node::needs_peer_binary(name);
            let name = format!("{backend}::{name}");
            if skipped || (needs_peer && no_peer_binary) {
                trials.push(Trial::test(name, || Ok(())).with_ignored_flag(true));
                continue;
            }
            let (cell, runtime) = (cell.clone(), runtime.clone());
            trials.push(Trial::test(name, move || {
                let ctx = cell
                    .get_or_init(|| {
                        start(&runtime, backend, offset).map(Arc::new).map_err(|e| {
                            format!("the EHR test network ({backend}) did not start: {e:#}")
                        })
                    })
                    .clone()
                    .map_err(Failed::from)?;
                runtime
                    .block_on(f(ctx))
                    .map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    if let Some(reason) = &fabric_skip {
        report_fabric_skipped("ehr_e2e (every fabric:: trial)", reason);
    }
    if no_peer_binary {
        println!("SKIPPED: ehr_e2e interop::peer_cli trials (Fabric's own peer CLI): FABRIC_BIN is not set");
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Stops and purges the networks.
    drop(shared);
    conclusion.exit();
}

/// A named async test over the shared network.
pub type TestFn =
    Box<dyn FnOnce(Ctx) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>> + Send>;

pub fn trial<F, Fut>(name: &'static str, f: F) -> (&'static str, TestFn)
where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    (name, Box::new(move |ctx| Box::pin(f(ctx))))
}
