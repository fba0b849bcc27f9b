//! The hospitals' Fabric CA servers.
//!
//! Owns: running one real `fabric-ca-server` (v1.5) per hospital on
//! `<host>:<ca_port>` with TLS, in the background, on both backends; waiting
//! until it answers `/api/v1/cainfo`; stopping it; and reporting its state.
//!
//! Each server signs with its hospital's identity root from the generated
//! material (`crypto/peerOrganizations/<domain>/ca/`), so the users it enrolls
//! chain to the same root as the org's peers and admins and are members of the
//! hospital's MSP on the devnet and on Fabric alike. Enrolled certificates get
//! the subject OU of their Fabric CA identity type (`client`, ...), which is
//! what the MSP's NodeOU rules classify. The server's TLS certificate comes
//! from the org's TLS root, so clients trust it through `msp/tlscacerts/`.
//!
//! The bootstrap admin ([`Registrar`]) gets a random secret on the first
//! start, handed to a one-off `fabric-ca-server init` through the
//! environment (never the command line; that run's output, which echoes it,
//! is not kept). Later starts do not need it: the server's database has it.

mod files;
mod probe;
mod process;
mod registrar;
mod tls;

pub use healthblock_consortium::ca::{
    ca_name, identity_ca, process_name, registrar, tls_ca, tls_root_cert, url, CaPaths, OrgCaFiles,
    Registrar, RegistrarError, PROCESS_PREFIX, REGISTRAR_NAME,
};
pub use probe::CaInfo;

use crate::consortium::{Consortium, PeerOrg};
use crate::fsutil::IoError;
use crate::layout::Layout;
use crate::process::Launch;
use serde::Serialize;
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// How long a CA may take to answer `cainfo` after its start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace period between SIGTERM and SIGKILL on stop.
const STOP_GRACE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
const LOG_TAIL_LINES: usize = 20;

/// Errors of the CA servers.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("identity material missing: {0} (generate it first, e.g. `healthblock network up`)")]
    MissingMaterial(PathBuf),
    #[error(
        "fabric-ca-server binary not found at {0} (build it with scripts/install-fabric-ca.sh)"
    )]
    MissingBinary(PathBuf),
    #[error("port {port} ({org} CA) is already in use by another process")]
    PortInUse { port: u16, org: String },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("the {org} CA exited during start-up ({status}); see {log}\n{tail}")]
    Exited {
        org: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the {org} CA did not answer within {timeout:?} ({last_error}); see {log}\n{tail}")]
    Timeout {
        org: String,
        timeout: Duration,
        last_error: String,
        log: PathBuf,
        tail: String,
    },
    #[error("initialising the {org} CA failed ({status}):\n{output}")]
    Init {
        org: String,
        status: String,
        output: String,
    },
    #[error("cannot signal the CA server (pid {pid}): {message}")]
    Signal { pid: u32, message: String },
    #[error("TLS certificate of the CA server: {0}")]
    Tls(String),
    #[error(transparent)]
    Registrar(#[from] RegistrarError),
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// The state of one hospital's CA server.
#[derive(Debug, Clone, Serialize)]
pub struct CaStatus {
    pub org: String,
    pub mspid: String,
    /// `https://<host>:<ca_port>`.
    pub url: String,
    pub pid: Option<u32>,
    /// It answered `cainfo`.
    pub up: bool,
    /// Start found it already running (nothing was started).
    pub already_up: bool,
    pub ca_name: Option<String>,
    pub version: Option<String>,
    /// Why it is not up, when it is not.
    pub error: Option<String>,
    /// Time from the start call to readiness (zero for `status`).
    pub elapsed: Duration,
    pub log: PathBuf,
}

/// Starts every hospital's CA (those already running are left alone) and waits
/// until all answer. If one fails, the ones this call started are stopped again.
pub async fn start_all(
    c: &Consortium,
    layout: &Layout,
    ca_server_bin: &Path,
) -> Result<Vec<CaStatus>, CaError> {
    let starts = c
        .orgs
        .iter()
        .map(|org| start(c, layout, org, ca_server_bin));
    let results = futures::future::join_all(starts).await;
    let mut statuses = Vec::new();
    let mut first_error = None;
    for (org, result) in c.orgs.iter().zip(results) {
        match result {
            Ok(s) => statuses.push((org, s)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(error) = first_error else {
        return Ok(statuses.into_iter().map(|(_, s)| s).collect());
    };
    for (org, _) in statuses.iter().filter(|(_, s)| !s.already_up) {
        // Best effort: the start error is what the caller needs to see.
        let _ = stop_one(&CaPaths::new(layout, org));
    }
    Err(error)
}

/// Starts one hospital's CA unless it already runs, and waits until it answers `cainfo`.
pub async fn start(
    c: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
    ca_server_bin: &Path,
) -> Result<CaStatus, CaError> {
    let started = Instant::now();
    let paths = CaPaths::new(layout, org);
    let http = http_client(layout, org)?;
    let url = url(c, org);
    if let Some(pid) = crate::pid::read(&paths.pid_file)? {
        if process::is_running(pid, &paths.server_home) {
            let info = wait_ready(org, &paths, &http, &url, started, None).await?;
            return Ok(up_status(c, org, &paths, pid, info, true, started));
        }
        crate::pid::remove(&paths.pid_file)?;
    }
    if !ca_server_bin.is_file() {
        return Err(CaError::MissingBinary(ca_server_bin.to_owned()));
    }
    check_port_free(c, org)?;
    let launch = prepare(c, layout, org, &paths, ca_server_bin).await?;
    let mut child = crate::process::spawn(&launch, &paths.pid_file)?;
    let pid = child.id();
    match wait_ready(org, &paths, &http, &url, started, Some(&mut child)).await {
        Ok(info) => Ok(up_status(c, org, &paths, pid, info, false, started)),
        Err(e) => {
            // Do not leave a half-started server behind.
            let _ = process::stop(pid, &paths.server_home, Duration::from_secs(5));
            let _ = child.try_wait();
            crate::pid::remove(&paths.pid_file)?;
            Err(e)
        }
    }
}

/// Writes what the server needs (registrar, TLS pair, on the first start its
/// config and database) and builds its command line.
async fn prepare(
    c: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
    paths: &CaPaths,
    ca_server_bin: &Path,
) -> Result<Launch, CaError> {
    let signing = identity_ca(layout, org);
    let tls_root = tls_ca(layout, org);
    for file in [&signing.cert, &signing.key, &tls_root.cert, &tls_root.key] {
        if !file.is_file() {
            return Err(CaError::MissingMaterial(file.clone()));
        }
    }
    let registrar = registrar::load_or_create(paths)?;
    let ca_name = ca_name(org);
    let names = vec![c.host.clone(), "localhost".to_owned(), ca_name.clone()];
    tls::write_server_cert(&tls_root, &ca_name, &names, &paths.tls_cert, &paths.tls_key)?;
    let arg = |s: &str| OsString::from(s);
    let path = |p: &Path| p.as_os_str().to_owned();
    let options = vec![
        arg("--home"),
        path(&paths.server_home),
        arg("--address"),
        arg(&c.host),
        arg("--port"),
        arg(&org.ca_port.to_string()),
        arg("--ca.name"),
        arg(&ca_name),
        arg("--ca.certfile"),
        path(&signing.cert),
        arg("--ca.keyfile"),
        path(&signing.key),
        arg("--tls.enabled"),
        arg("--tls.certfile"),
        path(&paths.tls_cert),
        arg("--tls.keyfile"),
        path(&paths.tls_key),
    ];
    // Every server would otherwise bind the same default operations port (9443).
    let env = vec![(
        "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS".to_owned(),
        format!("{}:0", c.host),
    )];
    let mut launch = Launch {
        binary: ca_server_bin.to_owned(),
        args: std::iter::once(arg("init")).chain(options).collect(),
        env,
        log: paths.log.clone(),
    };
    if !paths.server_config().exists() {
        initialise(org, &launch, &registrar).await?;
    }
    launch.args[0] = arg("start");
    Ok(launch)
}

/// `fabric-ca-server init` with the bootstrap admin: writes the server's config
/// and database once. Its output is kept only on failure, with the secret
/// redacted, because the server echoes its settings (the `boot` value included).
async fn initialise(org: &PeerOrg, init: &Launch, registrar: &Registrar) -> Result<(), CaError> {
    let output = tokio::process::Command::new(&init.binary)
        .args(&init.args)
        .envs(init.env.iter().map(|(k, v)| (k, v)))
        .env("FABRIC_CA_SERVER_BOOT", registrar.boot_value())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|source| CaError::Spawn {
            binary: init.binary.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr) + String::from_utf8_lossy(&output.stdout);
    let redacted = text.replace(&registrar.secret, "<redacted>");
    let lines: Vec<&str> = redacted.lines().collect();
    Err(CaError::Init {
        org: org.name.clone(),
        status: output.status.to_string(),
        output: lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n"),
    })
}

fn http_client(layout: &Layout, org: &PeerOrg) -> Result<reqwest::Client, CaError> {
    let root_path = tls_root_cert(layout, org);
    let root = std::fs::read(&root_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CaError::MissingMaterial(root_path.clone()),
        _ => CaError::Io(IoError::new(&root_path, e)),
    })?;
    probe::client(&root).map_err(CaError::Tls)
}

/// Polls `cainfo` until it answers; with `child`, fails as soon as the process exits.
async fn wait_ready(
    org: &PeerOrg,
    paths: &CaPaths,
    http: &reqwest::Client,
    url: &str,
    started: Instant,
    mut child: Option<&mut Child>,
) -> Result<CaInfo, CaError> {
    let deadline = started + READY_TIMEOUT;
    loop {
        if let Some(child) = child.as_deref_mut() {
            check_alive(org, paths, child)?;
        }
        let last_error = match probe::cainfo(http, url).await {
            Ok(info) => return Ok(info),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(CaError::Timeout {
                org: org.name.clone(),
                timeout: READY_TIMEOUT,
                last_error,
                log: paths.log.clone(),
                tail: crate::fsutil::log_tail(&paths.log, LOG_TAIL_LINES),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn check_alive(org: &PeerOrg, paths: &CaPaths, child: &mut Child) -> Result<(), CaError> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(CaError::Exited {
            org: org.name.clone(),
            status: status.to_string(),
            log: paths.log.clone(),
            tail: crate::fsutil::log_tail(&paths.log, LOG_TAIL_LINES),
        }),
        Err(e) => Err(CaError::Io(IoError::new(&paths.log, e))),
    }
}

fn check_port_free(c: &Consortium, org: &PeerOrg) -> Result<(), CaError> {
    match TcpListener::bind(c.address(org.ca_port)) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(CaError::PortInUse {
            port: org.ca_port,
            org: org.name.clone(),
        }),
        _ => Ok(()),
    }
}

fn up_status(
    c: &Consortium,
    org: &PeerOrg,
    paths: &CaPaths,
    pid: u32,
    info: CaInfo,
    already_up: bool,
    started: Instant,
) -> CaStatus {
    CaStatus {
        org: org.name.clone(),
        mspid: org.mspid.clone(),
        url: url(c, org),
        pid: Some(pid),
        up: true,
        already_up,
        ca_name: Some(info.ca_name),
        version: Some(info.version),
        error: None,
        elapsed: started.elapsed(),
        log: paths.log.clone(),
    }
}

/// What [`stop_all`] did for one CA server.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// `ca-<domain>`.
    pub process: String,
    /// The pid that was stopped (none: the pid file was stale).
    pub stopped: Option<u32>,
    /// SIGTERM was not enough within the grace period.
    pub killed: bool,
}

/// Stops every CA server that has a pid file under the layout (whatever the consortium).
pub fn stop_all(layout: &Layout) -> Result<Vec<StopReport>, CaError> {
    let mut reports = Vec::new();
    for process in ca_processes(layout)? {
        let paths = CaPaths::for_process(layout, &process);
        let (stopped, killed) = stop_one(&paths)?;
        reports.push(StopReport {
            process,
            stopped,
            killed,
        });
    }
    Ok(reports)
}

/// Stops the server named by the pid file and removes the file.
fn stop_one(paths: &CaPaths) -> Result<(Option<u32>, bool), CaError> {
    let mut result = (None, false);
    if let Some(pid) = crate::pid::read(&paths.pid_file)? {
        if process::is_running(pid, &paths.server_home) {
            result = (
                Some(pid),
                process::stop(pid, &paths.server_home, STOP_GRACE)?,
            );
        }
    }
    crate::pid::remove(&paths.pid_file)?;
    Ok(result)
}

/// Names (`ca-<domain>`) of the pid files in the run directory.
fn ca_processes(layout: &Layout) -> Result<Vec<String>, CaError> {
    let dir = layout.run_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CaError::Io(IoError::new(&dir, e))),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".pid").map(str::to_owned))
        .filter(|n| n.starts_with(PROCESS_PREFIX))
        .collect();
    names.sort();
    Ok(names)
}

/// The state of every hospital's CA: process alive and `cainfo` answered.
pub async fn status(c: &Consortium, layout: &Layout) -> Vec<CaStatus> {
    let probes = c.orgs.iter().map(|org| status_of(c, layout, org));
    futures::future::join_all(probes).await
}

async fn status_of(c: &Consortium, layout: &Layout, org: &PeerOrg) -> CaStatus {
    let paths = CaPaths::new(layout, org);
    let pid = crate::pid::read(&paths.pid_file)
        .ok()
        .flatten()
        .filter(|pid| process::is_running(*pid, &paths.server_home));
    let mut s = CaStatus {
        org: org.name.clone(),
        mspid: org.mspid.clone(),
        url: url(c, org),
        pid,
        up: false,
        already_up: false,
        ca_name: None,
        version: None,
        error: None,
        elapsed: Duration::ZERO,
        log: paths.log.clone(),
    };
    let answer = match http_client(layout, org) {
        Ok(http) => probe::cainfo(&http, &s.url).await,
        Err(e) => Err(e.to_string()),
    };
    match answer {
        Ok(info) => {
            s.up = true;
            s.ca_name = Some(info.ca_name);
            s.version = Some(info.version);
        }
        Err(e) if pid.is_none() => s.error = Some(format!("not running ({e})")),
        Err(e) => s.error = Some(e),
    }
    s
}

#[cfg(test)]
mod tests;
