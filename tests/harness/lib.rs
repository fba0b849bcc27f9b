//! Test harness for the end-to-end suites: starts a network of our own (own
//! home directory, own ports) through the `healthblock` CLI exactly as an
//! operator would, deploys the stand-in chaincode, hands out gateway clients,
//! and stops and purges the network when dropped.

pub mod backends;

use anyhow::{anyhow, bail, Context, Result};
use fabric_client::connection::Endpoint;
use fabric_client::gateway::Gateway;
use fabric_msp::SigningIdentity;
use healthblock_network::consortium::{Backend, Consortium, PeerNode, PeerOrg};
use healthblock_network::layout::Layout;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The stand-in chaincode's name on the channel.
pub const KV: &str = "kv";

/// A running network owned by a test binary.
pub struct TestNet {
    home: tempfile::TempDir,
    offset: u16,
    pub backend: Backend,
    bin_dir: PathBuf,
    pub consortium: Consortium,
    pub layout: Layout,
    /// Extra environment of every CLI run (and so of the key custodians
    /// `network up` starts), e.g. the object store's configuration.
    env: Vec<(String, String)>,
}

/// `target/<profile>/`, where cargo put the workspace binaries.
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test-binary>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected test binary location {}", exe.display()))?;
    for bin in ["healthblock", "healthblock-devnet", "healthblock-kvcc"] {
        if !dir.join(bin).exists() {
            bail!(
                "{} is missing: build the binaries first (`cargo build --workspace --bins`, which `make test` does)",
                dir.join(bin).display()
            );
        }
    }
    Ok(dir.to_path_buf())
}

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Why the fabric backend cannot run here (`FABRIC_BIN` or `FABRIC_CFG_PATH` unset), if so.
pub fn fabric_unavailable() -> Option<String> {
    let missing: Vec<&str> = ["FABRIC_BIN", "FABRIC_CFG_PATH"]
        .into_iter()
        .filter(|v| std::env::var_os(v).is_none_or(|s| s.is_empty()))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not set (point FABRIC_BIN at a Fabric v3.1 release bin/ and FABRIC_CFG_PATH at its config/)",
            missing.join(" and ")
        )
    })
}

/// Prints the line that reports a suite's fabric runs as skipped, and why.
pub fn report_fabric_skipped(suite: &str, reason: &str) {
    println!("SKIPPED: {suite} on the fabric backend: {reason}");
}

/// A trial that cannot run here: listed as ignored, and failing with
/// `skipped: <reason>` when forced (`--include-ignored`, `--ignored`), so a run
/// that asked for it never reports it as passed.
pub fn skipped_trial(name: impl Into<String>, reason: impl Into<String>) -> libtest_mimic::Trial {
    let reason = reason.into();
    libtest_mimic::Trial::test(name, move || {
        Err(libtest_mimic::Failed::from(format!("skipped: {reason}")))
    })
    .with_ignored_flag(true)
}

impl TestNet {
    /// Starts a devnet with every port shifted by `offset`, and deploys the stand-in chaincode.
    pub fn start(offset: u16) -> Result<Self> {
        Self::start_on(Backend::Devnet, offset)
    }

    /// Starts `backend` with every port shifted by `offset`, and deploys the stand-in chaincode.
    pub fn start_on(backend: Backend, offset: u16) -> Result<Self> {
        let net = Self::start_without_chaincode_on(backend, offset)?;
        // On failure `net` is dropped, which stops and purges whatever started.
        net.cli_ok(&["chaincode", "deploy", "--name", KV])?;
        Ok(net)
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The CLI, set up to talk to this network.
    fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("healthblock"));
        cmd.args(args)
            .env("HEALTHBLOCK_HOME", self.home.path())
            .env("HEALTHBLOCK_PORT_OFFSET", self.offset.to_string())
            .env("HEALTHBLOCK_BACKEND", self.backend.to_string())
            .env_remove("HEALTHBLOCK_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(repo_root());
        cmd
    }

    /// Starts the CLI against this network in the background (a service such
    /// as `custodian serve`); the child is killed when dropped.
    pub fn cli_spawn(&self, args: &[&str]) -> Result<tokio::process::Child> {
        tokio::process::Command::from(self.cli_command(args))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run healthblock")
    }

    /// Runs the CLI against this network.
    pub fn cli(&self, args: &[&str]) -> Result<Output> {
        self.cli_command(args)
            .output()
            .context("cannot run healthblock")
    }

    /// Runs the CLI and fails with its stderr unless it exits 0; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> Result<String> {
        Self::stdout_of(args, self.cli(args)?)
    }

    /// [`TestNet::cli_ok`] for async cases: the process is awaited, no thread blocks.
    pub async fn cli_ok_async(&self, args: &[&str]) -> Result<String> {
        let out = tokio::process::Command::from(self.cli_command(args))
            .output()
            .await
            .context("cannot run healthblock")?;
        Self::stdout_of(args, out)
    }

    fn stdout_of(args: &[&str], out: Output) -> Result<String> {
        if !out.status.success() {
            bail!(
                "`healthblock {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn org(&self, name: &str) -> Result<&PeerOrg> {
        self.consortium
            .orgs
            .iter()
            .find(|o| o.name == name || o.mspid == name)
            .ok_or_else(|| anyhow!("no org {name}"))
    }

    /// `USER@ORG` from the generated identity material.
    pub fn identity(&self, who: &str) -> Result<SigningIdentity> {
        let (user, org) = who.split_once('@').ok_or_else(|| anyhow!("USER@ORG"))?;
        let org = self.org(org)?;
        let dir = if user == "Admin" {
            self.layout.admin_msp_dir(org)
        } else {
            self.layout.user_msp_dir(org, user)
        };
        Ok(SigningIdentity::from_msp_dir(&org.mspid, &dir)?)
    }

    pub fn endpoint(&self, org: &PeerOrg, peer: &PeerNode) -> Result<Endpoint> {
        let ca = std::fs::read(self.layout.org_tls_ca_cert(org))?;
        Ok(
            Endpoint::new(self.consortium.address(peer.ports.listen), ca)
                .with_server_name(org.fqdn(peer)),
        )
    }

    /// A gateway on the first peer of `who`'s org.
    pub async fn gateway(&self, who: &str) -> Result<Gateway> {
        let id = self.identity(who)?;
        let org = self.org(&id.identity.mspid.clone())?;
        self.gateway_on(id, org, &org.peers[0]).await
    }

    pub async fn gateway_on(
        &self,
        id: SigningIdentity,
        org: &PeerOrg,
        peer: &PeerNode,
    ) -> Result<Gateway> {
        Ok(Gateway::connect_endpoint(&self.endpoint(org, peer)?, id).await?)
    }

    /// Every (org, peer) of the network.
    pub fn peers(&self) -> Vec<(&PeerOrg, &PeerNode)> {
        self.consortium
            .orgs
            .iter()
            .flat_map(|o| o.peers.iter().map(move |p| (o, p)))
            .collect()
    }

    /// The devnet process id, from its pid file.
    pub fn devnet_pid(&self) -> Result<i32> {
        let text = std::fs::read_to_string(self.layout.devnet_pid_file())?;
        Ok(text.trim().parse()?)
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if let Err(e) = self.cli_ok(&["network", "down", "--purge"]) {
            eprintln!("warning: could not stop the test network: {e}");
        }
    }
}

/// The TLS endpoint of the network's first orderer.
pub fn orderer_endpoint(net: &TestNet) -> Result<Endpoint> {
    let org = &net.consortium.orderer_org;
    let node = org.solo();
    let ca = std::fs::read(net.layout.orderer_tls_dir(org, node).join("ca.crt"))?;
    Ok(Endpoint::new(net.consortium.address(node.ports.listen), ca)
        .with_server_name(org.fqdn(node)))
}

/// Sends an envelope straight to the orderer's AtomicBroadcast.Broadcast and returns its status and info.
pub async fn broadcast(
    net: &TestNet,
    envelope: fabric_proto::common::Envelope,
) -> Result<(i32, String)> {
    use fabric_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
    let channel = orderer_endpoint(net)?.connect().await?;
    let mut client = AtomicBroadcastClient::new(channel);
    let mut responses = client
        .broadcast(futures::stream::iter(vec![envelope]))
        .await?
        .into_inner();
    let resp = responses
        .message()
        .await?
        .ok_or_else(|| anyhow!("broadcast stream closed without a response"))?;
    Ok((resp.status, resp.info))
}

/// Waits (bounded) for `txid` to appear in a filtered block from `start` on; returns its block and code.
pub async fn find_tx_code(
    gateway: &Gateway,
    channel: &str,
    start: u64,
    txid: &str,
    occurrence: usize,
) -> Result<(u64, i32)> {
    use futures::StreamExt;
    let network = gateway.network(channel);
    let mut blocks = network.filtered_block_events(Some(start)).await?;
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, blocks.next())
            .await
            .map_err(|_| anyhow!("txid {txid} not seen in 30 s"))?;
        let block = next.ok_or_else(|| anyhow!("block stream ended"))??;
        for tx in &block.filtered_transactions {
            if tx.txid == txid {
                if seen == occurrence {
                    return Ok((block.number, tx.tx_validation_code));
                }
                seen += 1;
            }
        }
    }
}

/// A client identity of `org` whose certificate, issued by the org's real CA,
/// expired in 2021: the MSP must refuse it.
pub fn expired_identity(net: &TestNet, org: &PeerOrg) -> Result<SigningIdentity> {
    let ca_dir = net.layout.org_dir(org).join("ca");
    let mut ca_cert = None;
    let mut ca_key = None;
    for entry in std::fs::read_dir(&ca_dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with("-cert.pem") {
            ca_cert = Some(std::fs::read_to_string(&path)?);
        } else if name == "priv_sk" || name.ends_with("_sk") {
            ca_key = Some(std::fs::read_to_string(&path)?);
        }
    }
    let (ca_cert, ca_key) = (
        ca_cert.ok_or_else(|| anyhow!("no CA certificate in {}", ca_dir.display()))?,
        ca_key.ok_or_else(|| anyhow!("no CA key in {}", ca_dir.display()))?,
    );
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_cert, rcgen::KeyPair::from_pem(&ca_key)?)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("Expired@{}", org.domain));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationalUnitName, "client");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(SigningIdentity::from_pem(
        &org.mspid,
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )?)
}

/// `name@org` as enrolled at the hospital's Fabric CA (`healthblock user enroll`), from the wallet.
pub fn wallet_identity(net: &TestNet, name: &str, org: &str) -> Result<SigningIdentity> {
    let org = net.org(org)?;
    healthblock_identity::Wallet::new(net.layout.wallet_dir())
        .signing_identity(name, &org.name)
        .with_context(|| format!("{name}@{} is not in the wallet", org.name))
}

/// A peer's own signing identity (its MSP keystore), as the hospital running it holds it.
pub fn peer_identity(net: &TestNet, org: &PeerOrg, peer: &PeerNode) -> Result<SigningIdentity> {
    let dir = net.layout.peer_msp_dir(org, peer);
    SigningIdentity::from_msp_dir(&org.mspid, &dir)
        .with_context(|| format!("cannot load the peer identity at {}", dir.display()))
}

impl TestNet {
    /// Starts a devnet with every port shifted by `offset` and deploys no
    /// chaincode, for suites that deploy their own.
    pub fn start_without_chaincode(offset: u16) -> Result<Self> {
        Self::start_without_chaincode_on(Backend::Devnet, offset)
    }

    /// Starts `backend` with every port shifted by `offset` and deploys no chaincode.
    pub fn start_without_chaincode_on(backend: Backend, offset: u16) -> Result<Self> {
        Self::start_without_chaincode_with_env(backend, offset, Vec::new())
    }

    /// [`TestNet::start_without_chaincode_on`], every CLI run (`network up`
    /// and the key custodians it starts included) with `env` added.
    pub fn start_without_chaincode_with_env(
        backend: Backend,
        offset: u16,
        env: Vec<(String, String)>,
    ) -> Result<Self> {
        let home = tempfile::Builder::new()
            .prefix(&format!("healthblock-{backend}-"))
            .tempdir()?;
        let layout = Layout::new(home.path());
        let mut net = Self {
            home,
            offset,
            backend,
            bin_dir: bin_dir()?,
            consortium: Consortium::load(&repo_root().join("network/consortium.yaml"))
                .map_err(|e| anyhow!("{e}"))?,
            layout,
            env,
        };
        // On any failure `net` is dropped, which stops and purges whatever started.
        net.cli_ok(&["network", "up"])?;
        net.consortium = Consortium::load(&net.home.path().join("consortium.yaml"))
            .map_err(|e| anyhow!("{e}"))?;
        Ok(net)
    }
}

/// Runs Fabric's own `peer` CLI (from `FABRIC_BIN`) on `org`'s first peer as
/// the identity of the MSP directory `msp_dir`; its stdout, or its stderr as the error.
pub async fn peer_cli(
    net: &TestNet,
    org: &PeerOrg,
    msp_dir: &Path,
    args: &[&str],
) -> Result<String> {
    let bin = PathBuf::from(
        std::env::var_os("FABRIC_BIN").ok_or_else(|| anyhow!("FABRIC_BIN is not set"))?,
    );
    let node = &org.peers[0];
    let out = tokio::process::Command::new(bin.join("peer"))
        .args(args)
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env(
            "CORE_PEER_TLS_ROOTCERT_FILE",
            net.layout.org_tls_ca_cert(org),
        )
        .env(
            "CORE_PEER_ADDRESS",
            net.consortium.address(node.ports.listen),
        )
        .env("CORE_PEER_LOCALMSPID", &org.mspid)
        .env("CORE_PEER_MSPCONFIGPATH", msp_dir)
        .output()
        .await
        .context("cannot run Fabric's peer binary")?;
    if !out.status.success() {
        bail!(
            "`peer {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl TestNet {
    /// Waits (bounded) until every peer has committed the same height. A
    /// gateway reports a commit once *its* peer has it; on real Fabric another
    /// org's peer may take a moment longer, and a next transaction endorsed
    /// there would read the state before it.
    pub async fn settle(&self) -> Result<u64> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mut heights = Vec::new();
            for (org, peer) in self.peers() {
                let gw = self
                    .gateway_on(self.identity(&format!("Admin@{}", org.name))?, org, peer)
                    .await?;
                heights.push(gw.network(&self.consortium.channel).block_height().await?);
            }
            if heights.windows(2).all(|w| w[0] == w[1]) {
                return Ok(heights[0]);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("peer heights did not converge in 30 s: {heights:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// `node <args>` in `tests/node` (the official Fabric Gateway SDK), connected to
/// `org`'s first peer as the identity with certificate `cert` and key `key`;
/// the caller adds the script's own `HB_*` variables and runs it.
pub fn node_sdk(
    net: &TestNet,
    org: &PeerOrg,
    cert: &Path,
    key: &Path,
    args: &[&str],
) -> Result<tokio::process::Command> {
    let dir = repo_root().join("tests/node");
    if !dir
        .join("node_modules/@hyperledger/fabric-gateway")
        .exists()
    {
        bail!("the Node SDK is not installed in tests/node (run `make test`, which runs npm ci there)");
    }
    let peer = &org.peers[0];
    let mut cmd = tokio::process::Command::new("node");
    cmd.args(args)
        .current_dir(dir)
        .env(
            "HB_PEER_ENDPOINT",
            net.consortium.address(peer.ports.listen),
        )
        .env("HB_TLS_CA", net.layout.org_tls_ca_cert(org))
        .env("HB_SERVER_NAME", org.fqdn(peer))
        .env("HB_MSPID", &org.mspid)
        .env("HB_CERT", cert)
        .env("HB_KEY", key)
        .env("HB_CHANNEL", &net.consortium.channel);
    Ok(cmd)
}
