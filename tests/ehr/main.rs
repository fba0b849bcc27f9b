//! End-to-end suite of the EHR contract on each available backend (the devnet
//! always; real Fabric where `FABRIC_BIN` is set): a network of its own,
//! the contract deployed as `ehr` through the CLI, users registered and
//! enrolled at the hospitals' real Fabric CAs with their roles as
//! certificate attributes, then trials that assert exact results and
//! validation codes: the endorsement-policy attack of a dishonest hospital,
//! role enforcement, break-glass controls (coded reason, rate limit,
//! independent review, keys released only while in force), reads through
//! the home hospital's key custodian by the clinical CLI (break-glass,
//! overlapping consents), the custodian attacked (`release`), and the
//! official Node Gateway SDK reading what Rust wrote.

mod attack;
mod breakglass_controls;
mod custody;
mod fixtures;
mod keydir;
mod node;
mod patients;
mod release;
mod roles;
mod users;

use anyhow::{Context as _, Result};
use fabric_client::contract::Contract;
use healthblock_network::consortium::Backend;
use healthblock_sdk::{FsKeyStore, Options};
use healthblock_tests::backends::{self, Case, Suite};
use healthblock_tests::TestNet;
use std::collections::BTreeMap;
use std::sync::Arc;
/// The contract's name on the channel.
pub const EHR: &str = "ehr";

/// The running network with the contract and the suite's users.
pub struct Ehr {
    pub net: TestNet,
    pub users: users::Users,
}

pub type Ctx = Arc<Ehr>;
pub type TestFn = backends::CaseFn<Ehr>;
pub use backends::case as trial;

impl Ehr {
    /// The contract as `user` (a wallet identity), through their hospital's first peer.
    pub async fn contract(&self, user: &users::User) -> Result<Contract> {
        let id = healthblock_tests::wallet_identity(&self.net, user.name, user.org)?;
        let org = self.net.org(user.org)?;
        let gw = self.net.gateway_on(id, org, &org.peers[0]).await?;
        Ok(gw.network(&self.net.consortium.channel).contract(EHR))
    }

    /// The client SDK as `user`, through their hospital's first peer, with
    /// the key material and object store the clinical CLI uses on this
    /// network (`$HEALTHBLOCK_HOME/{secrets,store}` and the wallet), so the
    /// SDK and the CLI see the same keys and blobs. An organisation's
    /// `Admin` is its generated administrator, as for the CLI.
    pub async fn sdk(&self, user: &users::User) -> Result<healthblock_sdk::Client> {
        let id = if user.name == "Admin" {
            self.net.identity(&format!("Admin@{}", user.org))?
        } else {
            healthblock_tests::wallet_identity(&self.net, user.name, user.org)?
        };
        let org = self.net.org(user.org)?;
        let gateway = self.net.gateway_on(id, org, &org.peers[0]).await?;
        let home = self.net.home();
        let store = healthblock_store::FsStore::open(home.join("store"))
            .await
            .context("opening the object store")?;
        let orgs: BTreeMap<String, String> = self
            .net
            .consortium
            .orgs
            .iter()
            .map(|o| (o.mspid.clone(), o.name.clone()))
            .collect();
        let wallet = healthblock_identity::Wallet::new(self.net.layout.wallet_dir());
        let keys = FsKeyStore::new(
            home.join("secrets"),
            self.net.layout.wallet_dir(),
            orgs,
            Arc::new(move |cn: &str, org: &str| wallet.entry_dir(cn, org).ok()),
        );
        Ok(healthblock_sdk::Client::new(
            gateway,
            Options::new(self.net.consortium.channel.clone(), EHR),
            Arc::new(store),
            Arc::new(keys),
        )
        .with_custodians(self.custodians()?))
    }

    /// Every hospital's key custodian on this network, as `network up`
    /// started them.
    pub fn custodians(&self) -> Result<healthblock_sdk::Custodians> {
        let mut all = healthblock_sdk::Custodians::new();
        for org in &self.net.consortium.orgs {
            all = all.with(org.mspid.clone(), self.custodian_of(org.name.as_str())?);
        }
        Ok(all)
    }

    /// One hospital's key custodian endpoint.
    pub fn custodian_of(&self, org: &str) -> Result<healthblock_sdk::CustodianEndpoint> {
        let org = self.net.org(org)?;
        let ca = self.net.layout.org_tls_ca_cert(org);
        Ok(healthblock_sdk::CustodianEndpoint {
            address: self.net.consortium.address(org.custodian_port),
            server_name: format!("custodian.{}", org.domain),
            tls_ca_pem: std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?,
        })
    }
}

/// Starts the network, deploys the contract and enrolls the users.
fn start(runtime: &tokio::runtime::Runtime, backend: Backend, offset: u16) -> Result<Ehr> {
    let net = TestNet::start_without_chaincode_on(backend, offset)?;
    let binary = healthblock_tests::bin_dir()?.join("healthblock-ehrcc");
    let binary = binary.to_string_lossy().into_owned();
    net.cli_ok(&[
        "chaincode",
        "deploy",
        "--name",
        EHR,
        "--policy",
        "every-org",
        "--binary",
        &binary,
    ])?;
    let users = users::Users::enroll_all(&net)?;
    let ehr = Ehr { net, users };
    runtime.block_on(fixtures::register_patients(&ehr))?;
    ehr.users.publish_patient_key(&ehr.net)?;
    Ok(ehr)
}

fn all_trials() -> Vec<Case<Ehr>> {
    attack::trials()
        .into_iter()
        .chain(roles::trials())
        .chain(custody::trials())
        .chain(breakglass_controls::trials())
        .chain(node::trials())
        .chain(patients::trials())
        .chain(keydir::trials())
        .chain(release::trials())
        .collect()
}

fn main() {
    backends::run(Suite {
        name: "ehr_e2e",
        devnet_offset: 14000,
        fabric_offset: 23000,
        start,
        cases: all_trials,
        needs_peer_binary: node::needs_peer_binary,
    })
}
