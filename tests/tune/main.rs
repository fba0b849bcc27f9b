//! `healthblock tune` on each available backend (the devnet always, real Fabric
//! where `FABRIC_BIN`/`FABRIC_CFG_PATH` are set): a short whale run on the live
//! channel stays within its budget, applies the point it found through a config
//! update (read back from the channel's config block), and measures it again;
//! its measurements, written as a replay table, feed `tune compare`, which runs
//! whale, grid and random search at a third of the table's evaluations; a
//! malformed table gets a clear error. Checks of the tuner's plumbing, not a
//! benchmark: no timing is asserted.

use anyhow::{ensure, Context, Result};
use healthblock_tests::backends::{self, case, Case, Suite};
use healthblock_tests::TestNet;
use serde_json::Value;
use std::sync::Arc;

const BUDGET: usize = 3;

fn main() {
    backends::run(Suite {
        name: "tune",
        devnet_offset: 13000,
        fabric_offset: 11000,
        start: |_, backend, offset| TestNet::start_on(backend, offset),
        cases,
        needs_peer_binary: |_| false,
    })
}

fn cases() -> Vec<Case<TestNet>> {
    vec![case(
        "whale_run_applies_its_result_and_feeds_compare",
        whale_run,
    )]
}

fn num(v: &Value, what: &str) -> Result<f64> {
    v.as_f64()
        .with_context(|| format!("{what} is not a number: {v}"))
}

async fn whale_run(net: Arc<TestNet>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let table = dir.path().join("table.json");
    let table_arg = table.to_str().context("temp path is not UTF-8")?;
    let budget = BUDGET.to_string();
    let out = net.cli_ok(&[
        "tune",
        "--method",
        "whale",
        "--budget",
        &budget,
        "--rate",
        "20",
        "--warmup",
        "1s",
        "--duration",
        "2s",
        "--seed",
        "3",
        "--table",
        table_arg,
        "--json",
    ])?;
    let report: Value = serde_json::from_str(&out).context("the tune report is not JSON")?;
    let backend = serde_json::to_value(net.backend)?;
    ensure!(
        report["backend"] == backend,
        "backend {} on a {backend} network",
        report["backend"]
    );
    let spent = num(&report["search"]["evaluations"], "search.evaluations")?;
    ensure!(
        spent >= 1.0 && spent <= BUDGET as f64,
        "the search spent {spent} of a budget of {BUDGET}"
    );
    // Every search measurement plus one before and one after, in order.
    let measurements = report["measurements"]
        .as_array()
        .context("no measurements")?;
    ensure!(
        measurements.len() == spent as usize + 2,
        "{} measurements for {spent} search evaluations",
        measurements.len()
    );
    ensure!(
        report["applied"] == true,
        "not applied: {}",
        report["applied"]
    );
    let best = &report["best"];
    let after = &report["after"];
    ensure!(
        after["timeout_ms"] == best["timeout_ms"]
            && after["max_message_count"] == best["max_message_count"],
        "measured after at {after} but the best was {best}"
    );
    for m in after["samples"].as_array().context("no samples after")? {
        ensure!(num(&m["tps"], "tps")? > 0.0, "nothing committed after: {m}");
        ensure!(num(&m["failed"], "failed")? == 0.0, "failures after: {m}");
    }
    // The channel's config block says the same.
    let config: Value = serde_json::from_str(&net.cli_ok(&["channel", "info", "--json"])?)
        .context("channel info is not JSON")?;
    ensure!(num(&config["height"], "height")? > 0.0, "{config}");
    let shown: Value = serde_json::from_str(&net.cli_ok(&["channel", "config", "show", "--json"])?)
        .context("channel config show is not JSON")?;
    let in_force = &shown["channel_group"]["groups"]["Orderer"]["values"]["BatchSize"]["value"]
        ["max_message_count"];
    ensure!(
        *in_force == best["max_message_count"],
        "the channel's MaxMessageCount is {in_force}, the tuner applied {}",
        best["max_message_count"]
    );

    // The measurements as a table, compared offline.
    let cmp: Value = serde_json::from_str(&net.cli_ok(&[
        "tune", "compare", "--table", table_arg, "--seeds", "3", "--json",
    ])?)
    .context("the comparison is not JSON")?;
    let names: Vec<&str> = cmp["methods"]
        .as_array()
        .context("no methods")?
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    ensure!(
        names == ["grid-reference", "grid", "random", "whale"],
        "methods {names:?}"
    );
    ensure!(
        num(&cmp["budget_fraction"], "budget_fraction")? <= 1.0 / 3.0 + 1e-9,
        "budget fraction {}",
        cmp["budget_fraction"]
    );

    // A malformed table: a clear error, nothing else.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"rows\": 3}")?;
    let out = net.cli(&[
        "tune",
        "compare",
        "--table",
        bad.to_str().context("temp path is not UTF-8")?,
    ])?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a malformed table was accepted");
    ensure!(
        err.contains("is not a usable table"),
        "unclear error for a malformed table: {err}"
    );
    Ok(())
}
