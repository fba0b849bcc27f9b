//! The hospitals' key custodian processes (audited key release,
//! `healthblock-custodian`), supervised like their CAs.
//!
//! Owns: where each hospital's custodian listens (`<host>:<custodian_port>`),
//! its TLS name and identity, its state directory, pid file and log under the
//! home; starting one per hospital detached (`healthblock --home HOME
//! custodian serve --org ORG`, its own process group, `HEALTHBLOCK_LOG=info`)
//! and waiting until it listens; telling ours from a stale pid (the command
//! line must name the home); reporting whether each is up; stopping them; and
//! what a client needs to reach them ([`endpoints`]).
//!
//! The server itself (`custodian serve`) is the `healthblock` binary's: it
//! needs the SDK client and `healthblock-custodian`, which this crate does not
//! depend on, so [`start_all`] is given that binary's path. Spawning with pid
//! file and log is [`crate::process`]'s, pid files and signals [`crate::pid`]'s.

use crate::consortium::{Consortium, PeerOrg};
use crate::cryptogen::{service_tls_dir, CUSTODIAN_SERVICE};
use crate::fsutil::IoError;
use crate::layout::Layout;
use crate::pid;
use crate::process::{Launch, SpawnError};
use serde::Serialize;
use std::ffi::OsString;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long [`start_all`] waits for a custodian to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a custodian gets to stop before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// Errors of the custodian processes.
#[derive(Debug, thiserror::Error)]
pub enum CustodianError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot open {}", path.display())]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the key custodian of {org}")]
    Spawn { org: String, source: std::io::Error },
    #[error("cannot start the key custodian of {org}: {address} is in use by another process")]
    AddressInUse { org: String, address: String },
    #[error("the key custodian of {org} did not start listening on {address}; see {}", log.display())]
    NotListening {
        org: String,
        address: String,
        log: PathBuf,
    },
    #[error("stopping the key custodian of {org}")]
    Stop {
        org: String,
        source: nix::errno::Errno,
    },
    #[error("cannot read the TLS CA of {org} at {}", path.display())]
    TlsCa {
        org: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CustodianError {
    fn from_spawn(org: &PeerOrg, e: SpawnError) -> Self {
        match e {
            SpawnError::Io(e) => Self::Io(e),
            SpawnError::Log(IoError { path, source }) => Self::Log { path, source },
            SpawnError::Start { source, .. } => Self::Spawn {
                org: org.name.clone(),
                source,
            },
        }
    }
}

/// `<host>:<custodian_port>`: where the hospital's custodian listens.
pub fn address(c: &Consortium, org: &PeerOrg) -> String {
    c.address(org.custodian_port)
}

/// The server certificate's name: `custodian.<domain>`.
pub fn server_name(org: &PeerOrg) -> String {
    format!("{CUSTODIAN_SERVICE}.{}", org.domain)
}

/// The custodian's TLS identity (`server.crt`, `server.key`), written by cryptogen.
pub fn tls_dir(layout: &Layout, org: &PeerOrg) -> PathBuf {
    service_tls_dir(&layout.org_dir(org), CUSTODIAN_SERVICE)
}

/// `<home>/custodian/<Org>`: the redeemed decisions of the hospital's custodian.
pub fn state_dir(layout: &Layout, org: &PeerOrg) -> PathBuf {
    layout.home().join("custodian").join(&org.name)
}

/// `<home>/run/custodian-<Org>.pid`.
pub fn pid_file(layout: &Layout, org: &PeerOrg) -> PathBuf {
    layout.pid_file(&format!("custodian-{}", org.name))
}

/// `<home>/logs/custodian-<Org>.log`.
pub fn log_file(layout: &Layout, org: &PeerOrg) -> PathBuf {
    layout
        .logs_dir()
        .join(format!("custodian-{}.log", org.name))
}

/// Where one hospital's custodian is reached, for clients that read records.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub org: String,
    pub mspid: String,
    /// `host:port`.
    pub address: String,
    /// The name its TLS certificate carries ([`server_name`]).
    pub server_name: String,
    /// The hospital's TLS CA, which issued the custodian's certificate.
    pub tls_ca_pem: Vec<u8>,
}

/// Every hospital's custodian endpoint, in the consortium's order.
pub fn endpoints(c: &Consortium, layout: &Layout) -> Result<Vec<Endpoint>, CustodianError> {
    c.orgs
        .iter()
        .map(|org| {
            let path = layout.org_tls_ca_cert(org);
            let tls_ca_pem = std::fs::read(&path).map_err(|source| CustodianError::TlsCa {
                org: org.name.clone(),
                path: path.clone(),
                source,
            })?;
            Ok(Endpoint {
                org: org.name.clone(),
                mspid: org.mspid.clone(),
                address: address(c, org),
                server_name: server_name(org),
                tls_ca_pem,
            })
        })
        .collect()
}

/// One hospital's custodian, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CustodianStatus {
    pub org: String,
    pub mspid: String,
    /// `host:port`.
    pub address: String,
    /// Its pid, when the pid file names a running custodian of this home.
    pub pid: Option<u32>,
    /// Running and accepting connections.
    pub up: bool,
    pub log: PathBuf,
}

/// Whether `pid` is a custodian of this home (its command line names the home).
pub fn is_ours(layout: &Layout, pid: u32) -> bool {
    pid::is_running(pid, layout.home())
}

/// The pid in the org's pid file, if it names a custodian of this home.
fn running_pid(layout: &Layout, org: &PeerOrg) -> Result<Option<u32>, IoError> {
    Ok(pid::read(&pid_file(layout, org))?.filter(|p| is_ours(layout, *p)))
}

/// Every hospital's custodian: its pid if ours runs, and whether it accepts connections.
pub fn status(c: &Consortium, layout: &Layout) -> Vec<CustodianStatus> {
    c.orgs
        .iter()
        .map(|org| {
            let address = address(c, org);
            let pid = running_pid(layout, org).ok().flatten();
            CustodianStatus {
                org: org.name.clone(),
                mspid: org.mspid.clone(),
                up: pid.is_some() && TcpStream::connect(&address).is_ok(),
                address,
                pid,
                log: log_file(layout, org),
            }
        })
        .collect()
}

/// Starts every hospital's custodian that is not running, as
/// `<healthblock> --home <home> custodian serve --org <Org>`; waits until each
/// listens. Returns the statuses.
pub fn start_all(
    c: &Consortium,
    layout: &Layout,
    healthblock: &Path,
) -> Result<Vec<CustodianStatus>, CustodianError> {
    for org in &c.orgs {
        if running_pid(layout, org)?.is_some() {
            continue;
        }
        start(c, layout, org, healthblock)?;
    }
    Ok(status(c, layout))
}

/// Starts one hospital's custodian and waits until it listens.
fn start(
    c: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
    healthblock: &Path,
) -> Result<(), CustodianError> {
    let address = address(c, org);
    if TcpStream::connect(&address).is_ok() {
        return Err(CustodianError::AddressInUse {
            org: org.name.clone(),
            address,
        });
    }
    let launch = Launch {
        binary: healthblock.to_owned(),
        args: vec![
            OsString::from("--home"),
            layout.home().as_os_str().to_owned(),
            OsString::from("custodian"),
            OsString::from("serve"),
            OsString::from("--org"),
            OsString::from(&org.name),
        ],
        env: vec![("HEALTHBLOCK_LOG".to_owned(), "info".to_owned())],
        log: log_file(layout, org),
    };
    let child = crate::process::spawn(&launch, &pid_file(layout, org))
        .map_err(|e| CustodianError::from_spawn(org, e))?;
    // Not waited for: it outlives this call; `pid::is_alive` reaps it if it exits early.
    let pid = child.id();
    drop(child);
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(&address).is_err() {
        if Instant::now() > deadline || !pid::is_alive(pid) {
            return Err(CustodianError::NotListening {
                org: org.name.clone(),
                address,
                log: launch.log,
            });
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Stops every custodian of this home (SIGTERM, SIGKILL after [`STOP_GRACE`])
/// and removes the pid files. Returns the hospitals whose custodian was stopped.
pub fn stop_all(c: &Consortium, layout: &Layout) -> Result<Vec<String>, CustodianError> {
    let mut stopped = Vec::new();
    for org in &c.orgs {
        if let Some(p) = running_pid(layout, org)? {
            pid::stop(p, STOP_GRACE, |p| is_ours(layout, p)).map_err(|source| {
                CustodianError::Stop {
                    org: org.name.clone(),
                    source,
                }
            })?;
            stopped.push(org.name.clone());
        }
        pid::remove(&pid_file(layout, org))?;
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests;
