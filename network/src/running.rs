//! Which backend is actually running under a home directory.
//!
//! Owns: telling the devnet from native Fabric by their processes, not by the
//! description or `HEALTHBLOCK_BACKEND` (which say what was asked for), so
//! `network status` and the benchmarks report what they really ran on.

use crate::consortium::{Backend, Consortium};
use crate::fabric_process::{nodes, process};
use crate::layout::Layout;
use crate::pid;

/// The backend whose processes run under `layout`: the devnet when its pid
/// file names a live devnet process started with this home's config; Fabric
/// when any native orderer or peer of this home runs; `None` when neither.
pub fn running_backend(c: &Consortium, layout: &Layout) -> Option<Backend> {
    let devnet = pid::read(&layout.devnet_pid_file())
        .ok()
        .flatten()
        .is_some_and(|p| pid::is_running(p, &layout.devnet_config_file()));
    if devnet {
        return Some(Backend::Devnet);
    }
    nodes(c, layout)
        .iter()
        .any(|n| matches!(process::running_pid(layout, n), Ok(Some(_))))
        .then_some(Backend::Fabric)
}
