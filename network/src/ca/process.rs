//! A CA server process: start detached, pid file, liveness, stop.
//!
//! Owns: spawning `fabric-ca-server start` in its own process group with
//! output appended to its log, the pid file, telling our server from a stale
//! pid (a dead process or a pid reused by another program: the command line
//! must name the server's home), and SIGTERM-then-SIGKILL shutdown.

use super::CaError;
use crate::fsutil::{self, IoError};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);

/// What to run: the binary, its arguments and environment, where it logs.
pub(crate) struct Launch {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// Passed through the environment rather than argv, so `ps` does not show them.
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// Starts the process detached and records its pid.
pub(crate) fn spawn(launch: &Launch, pid_file: &Path) -> Result<Child, CaError> {
    if let Some(dir) = launch.log.parent() {
        fsutil::create_dir(dir)?;
    }
    let io = |e| CaError::Io(IoError::new(&launch.log, e));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(io)?;
    let child = Command::new(&launch.binary)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal that started it does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|source| CaError::Spawn {
            binary: launch.binary.clone(),
            source,
        })?;
    write_pid(pid_file, child.id())?;
    Ok(child)
}

/// Reads a pid file; `None` when absent or not a positive number.
pub(crate) fn read_pid(path: &Path) -> Result<Option<u32>, IoError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse::<u32>().ok().filter(|p| *p > 0)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoError::new(path, e)),
    }
}

fn write_pid(path: &Path, pid: u32) -> Result<(), IoError> {
    if let Some(dir) = path.parent() {
        fsutil::create_dir(dir)?;
    }
    std::fs::write(path, format!("{pid}\n")).map_err(|e| IoError::new(path, e))
}

pub(crate) fn remove_pid(path: &Path) -> Result<(), IoError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(IoError::new(path, e)),
        _ => Ok(()),
    }
}

fn nix_pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .map(Pid::from_raw)
}

/// Whether `pid` runs (not a zombie) with `marker` as one of its arguments.
pub(crate) fn is_running(pid: u32, marker: &Path) -> bool {
    let Some(p) = nix_pid(pid) else {
        return false;
    };
    // When the server is our own child (tests), reap it once it has exited.
    let _ = waitpid(p, Some(WaitPidFlag::WNOHANG));
    match kill(p, None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return false,
    }
    !is_zombie(pid) && command_line_mentions(pid, marker)
}

fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": comm may hold spaces, so read after the last ')'.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Where /proc is readable, checks the command line; elsewhere trusts the pid.
fn command_line_mentions(pid: u32, marker: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return true;
    };
    let marker = marker.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == marker)
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns whether SIGKILL was needed.
pub(crate) fn stop(pid: u32, marker: &Path, grace: Duration) -> Result<bool, CaError> {
    let Some(p) = nix_pid(pid) else {
        return Ok(false);
    };
    let send = |sig| match kill(p, sig) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(CaError::Signal {
            pid,
            message: e.desc().to_owned(),
        }),
    };
    send(Signal::SIGTERM)?;
    if wait_gone(pid, marker, grace) {
        return Ok(false);
    }
    send(Signal::SIGKILL)?;
    wait_gone(pid, marker, Duration::from_secs(5));
    Ok(true)
}

fn wait_gone(pid: u32, marker: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !is_running(pid, marker) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// The last `lines` lines of a log, for error messages.
pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let Ok(text) = std::fs::read_to_string(log) else {
        return String::new();
    };
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
