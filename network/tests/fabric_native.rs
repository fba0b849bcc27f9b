//! The fabric backend against real Fabric binaries: up (3 Raft orderers, 4 peers, channel
//! joined, gossip converged), status (one Raft leader, equal heights), down, a restart on the
//! kept data (nothing joined again), and a final down.
//!
//! Needs Fabric v3.1 from the operator: `FABRIC_BIN` and `FABRIC_CFG_PATH` (see
//! `fabric_process::install`). Without them the trial is listed as ignored and a
//! `SKIPPED:` line says why.

use healthblock_network::devnet_process::NodeKind;
use healthblock_network::fabric_process::{self, FabricInstall, UpOptions};
use healthblock_network::{cryptogen, Consortium, Layout};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Keeps this network clear of the other suites' offsets and of manual runs, and its ports
/// (offset + 7000..7099) below the ephemeral range (32768+).
const PORT_OFFSET: u16 = 9000;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Stops the nodes even when an assertion fails half-way.
struct Network {
    consortium: Consortium,
    layout: Layout,
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = fabric_process::down(&self.consortium, &self.layout, Duration::from_secs(10));
    }
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let name = "native_network_up_status_restart_down";
    let trial = match FabricInstall::from_env() {
        Ok(install) => libtest_mimic::Trial::test(name, move || {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(up_status_restart_down(install));
            Ok(())
        }),
        Err(e) => {
            println!("SKIPPED: {name}: {e}");
            // Forced with --include-ignored it fails: a skip never counts as a pass.
            let reason = e.to_string();
            libtest_mimic::Trial::test(name, move || {
                Err(libtest_mimic::Failed::from(format!("skipped: {reason}")))
            })
            .with_ignored_flag(true)
        }
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// Panics (an assertion) on the first step that does not hold; the trial reports it.
async fn up_status_restart_down(install: FabricInstall) {
    let home = tempfile::tempdir().unwrap();
    let consortium = Consortium::load(&repo_file("network/consortium.yaml"))
        .unwrap()
        .with_port_offset(PORT_OFFSET)
        .unwrap();
    let layout = Layout::new(home.path());
    cryptogen::generate_from_file(
        &repo_file("crypto-config/crypto-config.yaml"),
        &layout.crypto_dir(),
        false,
    )
    .unwrap();
    let net = Network { consortium, layout };
    let opts = UpOptions {
        ready_timeout: Duration::from_secs(180),
        builder_executable: PathBuf::from(env!("CARGO_BIN_EXE_healthblock-ccaas-builder")),
    };

    let first = fabric_process::up(&net.consortium, &net.layout, &install, &opts)
        .await
        .unwrap();
    assert!(!first.already_up);
    assert_eq!((first.orderers_joined, first.peers_joined), (3, 4));
    assert_eq!(first.nodes.iter().filter(|n| n.started).count(), 7);

    let status = fabric_process::status(&net.consortium, &net.layout).await;
    assert!(status.all_up(), "{status:?}");
    let orderers: Vec<_> = status
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Orderer)
        .collect();
    assert_eq!(orderers.len(), 3);
    assert_eq!(
        orderers.iter().filter(|n| n.leader == Some(true)).count(),
        1,
        "{orderers:?}"
    );
    assert!(orderers.iter().all(|n| n.height == Some(1)), "{orderers:?}");

    let again = fabric_process::up(&net.consortium, &net.layout, &install, &opts)
        .await
        .unwrap();
    assert!(again.already_up);

    let down = fabric_process::down(&net.consortium, &net.layout, Duration::from_secs(10)).unwrap();
    assert_eq!(down.stopped.len(), 7);
    let stopped = fabric_process::status(&net.consortium, &net.layout).await;
    assert!(stopped.nodes.iter().all(|n| !n.up), "{stopped:?}");

    let restart = fabric_process::up(&net.consortium, &net.layout, &install, &opts)
        .await
        .unwrap();
    assert_eq!((restart.orderers_joined, restart.peers_joined), (0, 0));
    assert_eq!(restart.nodes.iter().filter(|n| n.started).count(), 7);
    let status = fabric_process::status(&net.consortium, &net.layout).await;
    assert!(status.all_up(), "{status:?}");
}
