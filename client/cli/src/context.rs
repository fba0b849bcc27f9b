//! What every command needs: the consortium description, the home layout,
//! identities from the generated material or the wallet, and peer endpoints.

use anyhow::{anyhow, bail, Context as _, Result};
use fabric_client::Endpoint;
use fabric_msp::SigningIdentity;
use healthblock_network::consortium::{Backend, Consortium, PeerNode, PeerOrg};
use healthblock_network::layout::Layout;
use std::path::PathBuf;

/// Options shared by every command.
#[derive(clap::Args, Debug)]
pub(crate) struct GlobalOpts {
    /// State directory (identity material, ledgers, logs, pid files).
    #[arg(long, global = true, env = "HEALTHBLOCK_HOME")]
    pub home: Option<PathBuf>,
    /// Consortium description (default: the one the running network was started with,
    /// else network/consortium.yaml).
    #[arg(long, global = true, env = "HEALTHBLOCK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Add this to every port of the description (run a second network beside the first).
    #[arg(long, global = true, env = "HEALTHBLOCK_PORT_OFFSET")]
    pub port_offset: Option<u16>,
    /// Backend: devnet (embedded, default) or fabric (native binaries from FABRIC_BIN).
    #[arg(long, global = true, env = "HEALTHBLOCK_BACKEND", value_parser = ["devnet", "fabric"])]
    pub backend: Option<String>,
}

/// The resolved environment of one invocation.
pub(crate) struct Context {
    pub layout: Layout,
    pub consortium: Consortium,
}

impl Context {
    pub(crate) fn new(opts: &GlobalOpts) -> Result<Self> {
        let layout = match &opts.home {
            Some(h) => Layout::new(absolute(h)?),
            None => Layout::from_env().context("cannot determine the current directory")?,
        };
        let mut consortium = load_description(opts, &layout)?;
        if let Some(offset) = opts.port_offset {
            if offset != 0 && !started_description(&layout).exists() {
                consortium = consortium
                    .with_port_offset(offset)
                    .map_err(|e| anyhow!("{e}"))?;
            }
        }
        if let Some(b) = &opts.backend {
            consortium.backend = if b == "fabric" {
                Backend::Fabric
            } else {
                Backend::Devnet
            };
        }
        Ok(Self { layout, consortium })
    }

    /// The org whose MSP id or name is `org` (case-insensitive name).
    pub(crate) fn org(&self, org: &str) -> Result<&PeerOrg> {
        self.consortium
            .orgs
            .iter()
            .find(|o| o.mspid == org || o.name.eq_ignore_ascii_case(org))
            .ok_or_else(|| {
                let known: Vec<_> = self
                    .consortium
                    .orgs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect();
                anyhow!("unknown organisation {org:?} (known: {})", known.join(", "))
            })
    }

    /// Loads `USER@ORG` (e.g. `User1@Hospital1`, `Admin@Hospital2`) from the generated material.
    pub(crate) fn identity(&self, who: &str) -> Result<SigningIdentity> {
        let (user, org_name) = who.split_once('@').ok_or_else(|| {
            anyhow!("identity {who:?} must look like USER@ORG, e.g. User1@Hospital1")
        })?;
        let org = self.org(org_name)?;
        // Users enrolled at the hospital's Fabric CA live in the wallet.
        let wallet = healthblock_identity::Wallet::new(self.layout.wallet_dir());
        if let Ok(identity) = wallet.signing_identity(user, &org.name) {
            return Ok(identity);
        }
        let dir = if user.eq_ignore_ascii_case("admin") {
            self.layout.admin_msp_dir(org)
        } else {
            self.layout.user_msp_dir(org, user)
        };
        if !dir.exists() {
            bail!(
                "no identity material for {who} at {} (has `healthblock network up` run?)",
                dir.display()
            );
        }
        SigningIdentity::from_msp_dir(&org.mspid, &dir)
            .with_context(|| format!("cannot load identity {who} from {}", dir.display()))
    }

    /// The gateway endpoint of a peer, trusting its org's TLS CA.
    pub(crate) fn peer_endpoint(&self, org: &PeerOrg, peer: &PeerNode) -> Result<Endpoint> {
        let ca_path = self.layout.org_tls_ca_cert(org);
        let ca = std::fs::read(&ca_path).with_context(|| {
            format!(
                "cannot read the TLS CA of {} at {}",
                org.name,
                ca_path.display()
            )
        })?;
        Ok(
            Endpoint::new(self.consortium.address(peer.ports.listen), ca)
                .with_server_name(org.fqdn(peer)),
        )
    }

    /// Resolves `--peer` (`peer0.hospital1`, `peer0.Hospital1`, or a full name); defaults to the org's first peer.
    pub(crate) fn peer<'a>(&'a self, org: &'a PeerOrg, name: Option<&str>) -> Result<&'a PeerNode> {
        match name {
            None => org
                .peers
                .first()
                .ok_or_else(|| anyhow!("{} has no peers", org.name)),
            Some(n) => {
                let short = n.split('.').next().unwrap_or(n);
                org.peers
                    .iter()
                    .find(|p| p.name == short)
                    .ok_or_else(|| anyhow!("{} has no peer named {n:?}", org.name))
            }
        }
    }

    /// Every (org, peer) pair of the consortium.
    pub(crate) fn all_peers(&self) -> impl Iterator<Item = (&PeerOrg, &PeerNode)> {
        self.consortium
            .orgs
            .iter()
            .flat_map(|o| o.peers.iter().map(move |p| (o, p)))
    }

    /// The orderer endpoint the devnet runs (orderer0), trusting the orderer org's TLS CA.
    pub(crate) fn orderer_endpoint(&self) -> Result<Endpoint> {
        let node = self.consortium.orderer_org.solo();
        Ok(healthblock_network::fabric_process::join::orderer_endpoint(
            &self.consortium,
            &self.layout,
            node,
        )?)
    }
}

/// The description recorded by `network up`, so later commands see the same ports.
pub(crate) fn started_description(layout: &Layout) -> PathBuf {
    layout.home().join("consortium.yaml")
}

fn load_description(opts: &GlobalOpts, layout: &Layout) -> Result<Consortium> {
    let recorded = started_description(layout);
    let path = match &opts.config {
        Some(p) => p.clone(),
        None if recorded.exists() => recorded,
        None => default_description()?,
    };
    Consortium::load(&path).map_err(|e| anyhow!("{e}"))
}

fn default_description() -> Result<PathBuf> {
    let candidate = std::env::current_dir()?.join("network/consortium.yaml");
    if candidate.exists() {
        return Ok(candidate);
    }
    // Next to the binary's repository (target/<profile>/healthblock -> repo root).
    if let Ok(exe) = std::env::current_exe() {
        if let Some(repo) = exe.ancestors().nth(3) {
            let p = repo.join("network/consortium.yaml");
            if p.exists() {
                return Ok(p);
            }
        }
    }
    bail!("no consortium description: pass --config FILE or run from the repository root")
}

fn absolute(p: &std::path::Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// Path of a sibling binary of this executable (the devnet, the chaincode servers).
pub(crate) fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the healthblock executable")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("executable has no directory"))?;
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{} not found next to healthblock (build it with `cargo build --workspace --bins`)",
            path.display()
        );
    }
    Ok(path)
}

/// A file of the repository, found from the current directory or from the binary's location
/// (`<repo>/target/<profile>/healthblock`).
pub(crate) fn repo_file(relative: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join(relative));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(repo) = exe.ancestors().nth(3) {
            candidates.push(repo.join(relative));
        }
    }
    candidates.into_iter().find(|p| p.exists())
}
