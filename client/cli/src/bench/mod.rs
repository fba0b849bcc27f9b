//! The open-loop load generator behind `healthblock bench --open-loop`.
//!
//! Owns: the logic of an open-loop run, split by concern: the arrival
//! schedule and the summary of a rate step ([`schedule`]), the workloads and
//! their setup ([`workload`]), block statistics from the gateway peer's
//! Deliver stream ([`blocks`]), CPU time of the network's processes
//! ([`cpu`]), where and how it ran ([`environment`]), and running one rate
//! step ([`open_loop`]). The CLI command
//! (`cmd::bench`) parses arguments and prints.

pub(crate) mod blocks;
pub(crate) mod cpu;
pub(crate) mod environment;
pub(crate) mod open_loop;
pub(crate) mod schedule;
pub(crate) mod workload;
