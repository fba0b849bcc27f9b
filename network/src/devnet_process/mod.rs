//! Running the devnet as a background process.
//!
//! Owns: `up` (idempotent start; recovery after a crash, where the ledger
//! resumes from its data dir), `down` (SIGTERM, then SIGKILL after a grace
//! period; optional purge of the home dir) and `status` (which node answers,
//! and at what block height).
//!
//! The process is detached (its own process group, stdin closed, output
//! appended to `logs/devnet.log`), so it outlives the command that started it.
//! It is ready when every peer and the orderer accept TCP connections and it
//! has printed [`READY_LINE`].

mod status;

pub use status::{status, NodeKind, NodeStatus, Status};

use crate::consortium::Consortium;
use crate::devnet_config::devnet_config;
use crate::fsutil::{self, IoError};
use crate::layout::Layout;
use crate::pid;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the devnet prints once all its listeners serve.
pub const READY_LINE: &str = "devnet ready";
/// How often readiness and shutdown are polled.
const POLL: Duration = Duration::from_millis(50);
/// How long one TCP probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// Lines of the log quoted in an error.
const LOG_TAIL_LINES: usize = 20;

/// Errors of process management.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("identity material missing: {0} (generate it first, e.g. `healthblock network init`)")]
    MissingMaterial(PathBuf),
    #[error("port {port} ({user}) is already in use by another process")]
    PortInUse { port: u16, user: String },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("the devnet exited during start-up ({status}); see {log}\n{tail}")]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the devnet did not become ready within {timeout:?} (still waiting for {waiting_for}); see {log}\n{tail}")]
    Timeout {
        timeout: Duration,
        waiting_for: String,
        log: PathBuf,
        tail: String,
    },
    #[error("cannot signal the devnet (pid {pid}): {message}")]
    Signal { pid: u32, message: String },
    #[error("cannot encode the devnet config: {0}")]
    Config(String),
    #[error("the devnet's control socket {socket}: {message}")]
    Control { socket: PathBuf, message: String },
    #[error("the devnet refused: {0}")]
    Refused(String),
}

/// Tunables of [`up_with`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// How long to wait for readiness before giving up (and stopping the process).
    pub ready_timeout: Duration,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            ready_timeout: Duration::from_secs(60),
        }
    }
}

/// What [`up`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UpReport {
    pub pid: u32,
    /// The devnet was already running and answering; nothing was started.
    pub already_up: bool,
    /// A pid file named a process that no longer runs (a crash); it was cleared and the
    /// devnet restarted on its existing data.
    pub recovered_stale_pid: Option<u32>,
    /// Time from the call to readiness.
    pub elapsed: Duration,
    pub config_file: PathBuf,
    pub log_file: PathBuf,
}

/// A node the devnet serves, with the address that must accept connections.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub kind: NodeKind,
    pub mspid: String,
    pub name: String,
    pub address: String,
    pub port: u16,
}

/// The devnet's endpoints: the solo orderer, then every peer.
pub fn endpoints(c: &Consortium) -> Vec<Endpoint> {
    let oo = &c.orderer_org;
    let solo = oo.solo();
    let mut out = vec![Endpoint {
        kind: NodeKind::Orderer,
        mspid: oo.mspid.clone(),
        name: oo.fqdn(solo),
        address: c.address(solo.ports.listen),
        port: solo.ports.listen,
    }];
    for org in &c.orgs {
        for p in &org.peers {
            out.push(Endpoint {
                kind: NodeKind::Peer,
                mspid: org.mspid.clone(),
                name: org.fqdn(p),
                address: c.address(p.ports.listen),
                port: p.ports.listen,
            });
        }
    }
    out
}

/// Starts the devnet unless it is already up (see [`up_with`]), waiting up to 60 s.
pub fn up(c: &Consortium, layout: &Layout, devnet_binary: &Path) -> Result<UpReport, ProcessError> {
    up_with(c, layout, devnet_binary, &UpOptions::default())
}

/// Starts the devnet and waits until it is ready.
///
/// Idempotent: a live devnet named by the pid file is reported as already up.
/// A stale pid file (the process died) is cleared and the devnet started
/// again on the same data dir, so the ledger resumes.
pub fn up_with(
    c: &Consortium,
    layout: &Layout,
    devnet_binary: &Path,
    opts: &UpOptions,
) -> Result<UpReport, ProcessError> {
    let started = Instant::now();
    let pid_file = layout.devnet_pid_file();
    let config_file = layout.devnet_config_file();
    let log_file = layout.devnet_log();
    let eps = endpoints(c);
    let mut recovered_stale_pid = None;
    if let Some(pid) = pid::read(&pid_file)? {
        if pid::is_running(pid, &config_file) {
            wait_for_ports(&eps, started + opts.ready_timeout, || Ok(true))
                .map_err(|w| timeout(opts, w, &log_file))?;
            return Ok(UpReport {
                pid,
                already_up: true,
                recovered_stale_pid: None,
                elapsed: started.elapsed(),
                config_file,
                log_file,
            });
        }
        pid::remove(&pid_file)?;
        recovered_stale_pid = Some(pid);
    }
    check_material(c, layout)?;
    check_ports_free(&eps)?;
    write_config(c, layout, &config_file)?;
    fsutil::create_dir(&layout.devnet_data_dir())?;
    let (mut child, log_offset) = spawn(devnet_binary, &config_file, &log_file)?;
    let pid = child.id();
    pid::write(&pid_file, pid)?;
    let ready = wait_for_ports(&eps, started + opts.ready_timeout, || {
        check_alive(&mut child, &log_file)?;
        Ok(log_has_ready_line(&log_file, log_offset))
    });
    if let Err(failure) = ready {
        // Do not leave a half-started devnet behind.
        let _ = stop(pid, &config_file, Duration::from_secs(5));
        let _ = child.try_wait();
        pid::remove(&pid_file)?;
        return Err(match failure {
            WaitFailure::Process(e) => e,
            other => timeout(opts, other, &log_file),
        });
    }
    Ok(UpReport {
        pid,
        already_up: false,
        recovered_stale_pid,
        elapsed: started.elapsed(),
        config_file,
        log_file,
    })
}

/// What [`down`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DownReport {
    /// The pid that was stopped, if a devnet was running.
    pub stopped: Option<u32>,
    /// SIGTERM was not enough within the grace period; SIGKILL was sent.
    pub killed: bool,
    /// The home dir (identity material, ledgers, logs, wallet) was removed.
    pub purged: bool,
}

/// Stops the devnet (SIGTERM, SIGKILL after 10 s). With `purge`, removes everything
/// under the home dir; without it, ledgers and identity material stay for the next `up`.
pub fn down(layout: &Layout, purge: bool) -> Result<DownReport, ProcessError> {
    down_with(layout, purge, Duration::from_secs(10))
}

/// [`down`] with an explicit grace period before SIGKILL.
pub fn down_with(
    layout: &Layout,
    purge: bool,
    grace: Duration,
) -> Result<DownReport, ProcessError> {
    let pid_file = layout.devnet_pid_file();
    let mut report = DownReport {
        stopped: None,
        killed: false,
        purged: false,
    };
    if let Some(pid) = pid::read(&pid_file)? {
        if pid::is_running(pid, &layout.devnet_config_file()) {
            report.killed = stop(pid, &layout.devnet_config_file(), grace)?;
            report.stopped = Some(pid);
        }
        pid::remove(&pid_file)?;
    }
    if purge {
        fsutil::remove_dir_if_exists(layout.home())?;
        report.purged = true;
    }
    Ok(report)
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns whether SIGKILL was needed.
fn stop(pid: u32, marker: &Path, grace: Duration) -> Result<bool, ProcessError> {
    pid::stop(pid, grace, |p| pid::is_running(p, marker)).map_err(|e| ProcessError::Signal {
        pid,
        message: e.desc().to_owned(),
    })
}

fn check_material(c: &Consortium, layout: &Layout) -> Result<(), ProcessError> {
    let cfg = devnet_config(c, layout);
    let mut required = vec![
        cfg.orderer.msp_dir,
        cfg.orderer.tls.key,
        cfg.orderer.org_msp_dir,
    ];
    for p in cfg.peers {
        required.extend([p.msp_dir, p.tls.cert, p.tls.key]);
    }
    required.extend(cfg.orgs.into_iter().map(|o| o.msp_dir));
    match required.into_iter().find(|p| !p.exists()) {
        Some(missing) => Err(ProcessError::MissingMaterial(missing)),
        None => Ok(()),
    }
}

/// Fails early, with the port's user named, when something else holds one of our ports.
fn check_ports_free(eps: &[Endpoint]) -> Result<(), ProcessError> {
    // Right after a crash (kill -9, then `up`) the dead process's sockets may
    // still be closing for a moment; wait briefly before calling a port taken.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match eps.iter().find(|ep| port_in_use(&ep.address)) {
            None => return Ok(()),
            Some(ep) if Instant::now() >= deadline => {
                return Err(ProcessError::PortInUse {
                    port: ep.port,
                    user: format!("{} listen", ep.name),
                })
            }
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn port_in_use(address: &str) -> bool {
    matches!(TcpListener::bind(address), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

fn write_config(c: &Consortium, layout: &Layout, path: &Path) -> Result<(), ProcessError> {
    let json = serde_json::to_vec_pretty(&devnet_config(c, layout))
        .map_err(|e| ProcessError::Config(e.to_string()))?;
    fsutil::create_dir(&layout.devnet_dir())?;
    std::fs::write(path, json).map_err(|e| IoError::new(path, e))?;
    Ok(())
}

/// Starts `<binary> --config <file>` detached; returns the child and the log offset it starts at.
fn spawn(binary: &Path, config: &Path, log_path: &Path) -> Result<(Child, u64), ProcessError> {
    if let Some(dir) = log_path.parent() {
        fsutil::create_dir(dir)?;
    }
    let io = |e| ProcessError::Io(IoError::new(log_path, e));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(io)?;
    let offset = log.metadata().map_err(io)?.len();
    let child = Command::new(binary)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal that ran `up` does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            binary: binary.to_owned(),
            source,
        })?;
    Ok((child, offset))
}

fn check_alive(child: &mut Child, log: &Path) -> Result<(), ProcessError> {
    match child.try_wait() {
        Ok(Some(status)) => Err(ProcessError::Exited {
            status: status.to_string(),
            log: log.to_owned(),
            tail: log_tail(log),
        }),
        Ok(None) => Ok(()),
        Err(e) => Err(ProcessError::Io(IoError::new(log, e))),
    }
}

/// Why waiting for readiness stopped short.
enum WaitFailure {
    /// Still waiting for these (ports or the ready line) at the deadline.
    Pending(String),
    Process(ProcessError),
}

/// Polls until every endpoint accepts TCP and `extra` reports ready (or fails).
fn wait_for_ports(
    eps: &[Endpoint],
    deadline: Instant,
    mut extra: impl FnMut() -> Result<bool, ProcessError>,
) -> Result<(), WaitFailure> {
    loop {
        let extra_ready = extra().map_err(WaitFailure::Process)?;
        let closed: Vec<&Endpoint> = eps.iter().filter(|e| !accepts_tcp(&e.address)).collect();
        if extra_ready && closed.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut waiting: Vec<String> = closed
                .iter()
                .map(|e| format!("{} on {}", e.name, e.address))
                .collect();
            if !extra_ready {
                waiting.push(format!("the line {READY_LINE:?} in the log"));
            }
            return Err(WaitFailure::Pending(waiting.join(", ")));
        }
        std::thread::sleep(POLL);
    }
}

fn timeout(opts: &UpOptions, failure: WaitFailure, log: &Path) -> ProcessError {
    match failure {
        WaitFailure::Process(e) => e,
        WaitFailure::Pending(waiting_for) => ProcessError::Timeout {
            timeout: opts.ready_timeout,
            waiting_for,
            log: log.to_owned(),
            tail: log_tail(log),
        },
    }
}

/// Whether something accepts TCP connections at `address` (host:port).
pub(crate) fn accepts_tcp(address: &str) -> bool {
    let Ok(addrs) = address.to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, PROBE_TIMEOUT).is_ok())
}

/// Whether the log, from `offset` on (this run's output), holds the ready line.
fn log_has_ready_line(log: &Path, offset: u64) -> bool {
    let Ok(mut file) = std::fs::File::open(log) else {
        return false;
    };
    let mut text = String::new();
    if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_string(&mut text).is_err() {
        return false;
    }
    text.lines().any(|l| l.contains(READY_LINE))
}

/// The last lines of the log, for error messages.
fn log_tail(log: &Path) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return String::from("(log is empty or unreadable)");
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests;

/// Sends one request to the running devnet's control socket and returns its outcome.
pub fn control(
    c: &Consortium,
    layout: &Layout,
    request: &crate::devnet_control::ControlRequest,
) -> Result<(), ProcessError> {
    use std::io::{BufRead, BufReader, Write};
    let socket = devnet_config(c, layout)
        .control_socket
        .ok_or_else(|| ProcessError::Control {
            socket: PathBuf::new(),
            message: "this devnet has no control socket configured".into(),
        })?;
    let failed = |message: String| ProcessError::Control {
        socket: socket.clone(),
        message,
    };
    let mut stream = std::os::unix::net::UnixStream::connect(&socket)
        .map_err(|e| failed(format!("cannot connect (is the devnet up?): {e}")))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| failed(e.to_string()))?;
    writeln!(stream, "{}", request.to_line()).map_err(|e| failed(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| failed(format!("no answer: {e}")))?;
    crate::devnet_control::parse_answer(&answer).map_err(ProcessError::Refused)
}
