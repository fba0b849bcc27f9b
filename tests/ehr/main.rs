//! End-to-end suite of the EHR contract on the devnet: a network of its own,
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
use healthblock_tests::TestNet;
use libtest_mimic::{Arguments, Failed, Trial};
use std::future::Future;
use std::sync::Arc;

/// Ports of this suite's network: the description's ports + this offset.
const PORT_OFFSET: u16 = 28500;
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
fn start(runtime: &tokio::runtime::Runtime) -> Result<Ehr> {
    let net = TestNet::start_without_chaincode(PORT_OFFSET)?;
    let binary = healthblock_tests::bin_dir()?.join("healthblock-ehrcc");
    let binary = binary.to_string_lossy().into_owned();
    net.cli_ok(&["chaincode", "deploy", "--name", EHR, "--binary", &binary])?;
    let users = users::Users::enroll_all(&net)?;
    let ehr = Ehr { net, users };
    runtime.block_on(fixtures::register_patients(&ehr))?;
    Ok(ehr)
}

fn main() {
    let args = Arguments::from_args();
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    let ctx = match start(&runtime) {
        Ok(ehr) => Ok(Arc::new(ehr)),
        Err(e) => Err(format!("the EHR test network did not start: {e:#}")),
    };
    let mut trials = Vec::new();
    for (name, f) in attack::trials()
        .into_iter()
        .chain(roles::trials())
        .chain(custody::trials())
        .chain(node::trials())
    {
        let ctx = ctx.clone();
        let runtime = runtime.clone();
        trials.push(Trial::test(name, move || {
            let ctx = ctx.map_err(Failed::from)?;
            runtime
                .block_on(f(ctx))
                .map_err(|e| Failed::from(format!("{e:#}")))
        }));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Stops and purges the network.
    drop(ctx);
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
