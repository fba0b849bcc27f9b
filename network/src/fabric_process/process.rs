//! Starting and stopping one native Fabric process.
//!
//! Owns: spawning a node detached (its own process group, stdin closed,
//! output appended to `logs/fabric-<fqdn>.log`), its pid file, telling our
//! live process from a stale pid (the node's marker must be in the process's
//! environment, so a reused pid is never taken for ours) and SIGTERM then
//! SIGKILL.

use super::install::{FabricInstall, CFG_ENV};
use super::nodes::{FabricNode, MARKER_ENV};
use super::FabricError;
use crate::fsutil::{self, IoError};
use crate::layout::Layout;
use crate::pid;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn pid_file(layout: &Layout, node: &FabricNode) -> PathBuf {
    layout.pid_file(&node.process_name())
}

pub fn log_file(layout: &Layout, node: &FabricNode) -> PathBuf {
    layout
        .logs_dir()
        .join(format!("{}.log", node.process_name()))
}

/// The pid of the node's running process, if its pid file names one that is ours.
pub fn running_pid(layout: &Layout, node: &FabricNode) -> Result<Option<u32>, IoError> {
    Ok(pid::read(&pid_file(layout, node))?.filter(|p| is_ours(*p, node)))
}

/// Whether `pid` runs, is no zombie, and carries the node's marker in its
/// environment: how a pid read from a file is told from a reused one. (A
/// process this call spawned is known to be ours: check it with [`pid::is_alive`],
/// as its environment may not be readable in the first instants.)
pub fn is_ours(pid: u32, node: &FabricNode) -> bool {
    let marker = format!("{MARKER_ENV}={}", node.data_dir.display());
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    pid::is_alive(pid)
        && environ
            .split(|b| *b == 0)
            .any(|entry| entry == marker.as_bytes())
}

/// Starts the node detached and records its pid; returns the pid.
pub fn spawn(
    layout: &Layout,
    install: &FabricInstall,
    node: &FabricNode,
) -> Result<u32, FabricError> {
    fsutil::create_dir(&node.data_dir)?;
    let log_path = log_file(layout, node);
    fsutil::create_dir(&layout.logs_dir())?;
    let io = |e| FabricError::Io(IoError::new(&log_path, e));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io)?;
    let binary = install.binary(node.binary());
    let child = Command::new(&binary)
        .args(node.args())
        .env(CFG_ENV, &install.cfg)
        .envs(node.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&node.data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal that ran `up` does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|source| FabricError::Spawn {
            binary: binary.clone(),
            source,
        })?;
    let pid = child.id();
    // The child is not waited for: it outlives this command; `down` stops it by pid.
    drop(child);
    pid::write(&pid_file(layout, node), pid)?;
    Ok(pid)
}

/// Stops the node if it runs: SIGTERM, then SIGKILL after `grace`. Returns (pid, killed).
pub fn stop(
    layout: &Layout,
    node: &FabricNode,
    grace: Duration,
) -> Result<Option<(u32, bool)>, FabricError> {
    let Some(pid) = running_pid(layout, node)? else {
        pid::remove(&pid_file(layout, node))?;
        return Ok(None);
    };
    stop_pid(layout, node, pid, grace).map(Some)
}

/// Stops `pid`, known to be the node's process: SIGTERM, then SIGKILL after
/// `grace`. Returns (pid, killed).
pub fn stop_pid(
    layout: &Layout,
    node: &FabricNode,
    pid: u32,
    grace: Duration,
) -> Result<(u32, bool), FabricError> {
    let killed = pid::stop(pid, grace, pid::is_alive).map_err(|e| FabricError::Signal {
        name: node.name.clone(),
        pid,
        message: e.desc().to_owned(),
    })?;
    pid::remove(&pid_file(layout, node))?;
    Ok((pid, killed))
}
