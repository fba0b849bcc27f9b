//! Channel configuration updates on a live network, on each available backend
//! (the devnet always, real Fabric where `FABRIC_BIN`/`FABRIC_CFG_PATH` are set):
//! `healthblock channel update batch` changes the block sizes from the next block
//! on (measured from the blocks), loses no transaction submitted under load
//! across the change, and the orderer refuses, with Fabric's status and text,
//! an update signed by a peer org's admin, by a client, by nobody, and one
//! computed against a config that has since changed. Where `FABRIC_BIN` is set,
//! an update computed by Fabric's own `configtxlator compute_update` is accepted.
//! Every node names the channel it serves (`channel list`; `peer channel
//! list/getinfo` and `osnadmin channel list` where `FABRIC_BIN` is set).

mod cases;
mod listing;
mod offline;
mod orgs;
mod second;

use healthblock_tests::backends::{self, Suite};
use healthblock_tests::TestNet;
use std::sync::Arc;

/// The suite's fixture: one network per backend, and a lock that runs the cases
/// one at a time (each changes the channel config the next one starts from).
pub struct ChannelNet {
    pub net: TestNet,
    pub serial: tokio::sync::Mutex<()>,
}

pub type Net = Arc<ChannelNet>;

fn main() {
    backends::run(Suite {
        name: "channel_config",
        devnet_offset: 16000,
        fabric_offset: 17000,
        start: |_, backend, offset| {
            Ok(ChannelNet {
                net: TestNet::start_on(backend, offset)?,
                serial: tokio::sync::Mutex::new(()),
            })
        },
        cases: || {
            cases::all()
                .into_iter()
                .chain(listing::all())
                .chain(offline::all())
                .chain(orgs::all())
                .chain(second::all())
                .collect()
        },
        needs_peer_binary: |name| {
            name == "configtxlator_compute_update_is_accepted"
                || listing::needs_fabric_binaries(name)
                || offline::needs_fabric_binaries(name)
        },
    })
}

/// `healthblock ARGS` on the suite's network: Ok(stdout) or Err(stdout + stderr).
pub(crate) async fn cli(n: &Net, args: &[&str]) -> anyhow::Result<String> {
    n.net.cli_ok_async(args).await
}

/// A path as a CLI argument.
pub(crate) fn p(path: &std::path::Path) -> anyhow::Result<&str> {
    path.to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 path {}", path.display()))
}

/// `channel update sign FILE --as ADMIN` for each admin, in order.
pub(crate) async fn sign_by(n: &Net, file: &str, admins: &[&str]) -> anyhow::Result<()> {
    for admin in admins {
        cli(n, &["channel", "update", "sign", file, "--as", admin]).await?;
    }
    Ok(())
}
