//! Hyperledger Caliper end to end, on each available backend: a network of its
//! own (no chaincode deployed), then `scripts/caliper.sh` exactly as
//! `make caliper` runs it, with the short benchmark
//! (`caliper/benchmarks/short.yaml`: every workload, fixed-rate and fixed-load
//! rounds). The script deploys the chaincodes, enrols the doctors, generates
//! Caliper's configuration with `healthblock caliper config` and summarises
//! every transaction's latency. Asserts: the script succeeds, Caliper's report
//! exists and names every round, no transaction failed and every checked
//! answer was the expected one, the summary's counts agree with the
//! per-transaction log, the backend is the one started, and the kv keys the
//! put round committed are on the ledger, counted by the chaincode. Then a run
//! whose round the chaincode refuses (`caliper/benchmarks/failing.yaml`) must
//! fail, with its failures counted.

use anyhow::{anyhow, bail, ensure, Context, Result};
use healthblock_network::consortium::Backend;
use healthblock_tests::backends::{self, case, Case, Suite};
use healthblock_tests::{bin_dir, repo_root, TestNet};
use std::path::Path;
use std::sync::Arc;

const DEVNET_OFFSET: u16 = 18000;
const FABRIC_OFFSET: u16 = 19000;
/// Transactions per round in the short benchmark.
const PER_ROUND: u64 = 10;
const ROUNDS: [&str; 6] = [
    "noop-fixed-rate",
    "kv-put-fixed-load",
    "kv-get-fixed-rate",
    "ehr-put-record-fixed-load",
    "ehr-request-access-fixed-rate",
    "ehr-list-by-patient-fixed-load",
];
/// Rounds whose workload checks every answer (the others only need a commit).
const CHECKED: [&str; 4] = [
    "kv-get-fixed-rate",
    "ehr-put-record-fixed-load",
    "ehr-request-access-fixed-rate",
    "ehr-list-by-patient-fixed-load",
];

fn cases() -> Vec<Case<TestNet>> {
    vec![case(
        "caliper_short_benchmark_then_a_failing_run",
        short_benchmark,
    )]
}

fn main() {
    backends::run(Suite {
        name: "caliper_e2e",
        devnet_offset: DEVNET_OFFSET,
        fabric_offset: FABRIC_OFFSET,
        start: |_, backend, offset| TestNet::start_without_chaincode_on(backend, offset),
        cases,
        needs_peer_binary: |_| false,
    })
}

async fn short_benchmark(net: Arc<TestNet>) -> Result<()> {
    let repo = repo_root();
    if !repo.join("caliper/node_modules/.bin/caliper").exists() {
        bail!("Caliper is not installed in caliper/node_modules (run `make caliper-deps`, which `make test` does)");
    }
    let offset = match net.backend {
        Backend::Fabric => FABRIC_OFFSET,
        Backend::Devnet => DEVNET_OFFSET,
    };
    let out = net.home().join("caliper-run");
    let run = caliper_sh(&net, offset, "caliper/benchmarks/short.yaml", &out).await?;
    if !run.status.success() {
        bail!(
            "scripts/caliper.sh failed ({}):\n{}\n{}",
            run.status,
            tail(&String::from_utf8_lossy(&run.stdout), 60),
            String::from_utf8_lossy(&run.stderr)
        );
    }

    let report = std::fs::read_to_string(out.join("report.html"))
        .with_context(|| format!("Caliper's report is missing in {}", out.display()))?;
    for label in ROUNDS {
        ensure!(
            report.contains(label),
            "report.html does not name round {label}"
        );
    }

    let summary = read_json(&out.join("summary.json"))?;
    ensure!(
        summary["ok"] == true,
        "the summary reports problems: {}",
        summary["problems"]
    );
    ensure!(
        summary["network"]["backend"] == net.backend.to_string().as_str(),
        "the summary's backend is {}, but the test started {}",
        summary["network"]["backend"],
        net.backend
    );
    let rounds = summary["rounds"]
        .as_array()
        .ok_or_else(|| anyhow!("summary.json has no rounds"))?;
    let labels: Vec<&str> = rounds.iter().filter_map(|r| r["label"].as_str()).collect();
    ensure!(labels == ROUNDS, "rounds in the summary: {labels:?}");
    let mut sent_total = 0;
    for r in rounds {
        let label = r["label"].as_str().unwrap_or_default();
        let count = |field: &str| r[field].as_u64().unwrap_or(u64::MAX);
        ensure!(
            count("sent") == PER_ROUND && count("succeeded") == PER_ROUND,
            "round {label}: sent {}, succeeded {}, expected {PER_ROUND} each",
            r["sent"],
            r["succeeded"]
        );
        ensure!(
            count("failed") == 0 && count("unexpected") == 0,
            "round {label}: {} failed, {} unexpected answers: {}",
            r["failed"],
            r["unexpected"],
            r["unexpected_examples"]
        );
        let checked = if CHECKED.contains(&label) {
            PER_ROUND
        } else {
            0
        };
        ensure!(
            count("checked") == checked,
            "round {label}: {} answers checked, expected {checked}",
            r["checked"]
        );
        let lat = &r["latency_ms"];
        let (p50, p95, p99) = (
            lat["p50"].as_u64(),
            lat["p95"].as_u64(),
            lat["p99"].as_u64(),
        );
        ensure!(
            matches!((p50, p95, p99), (Some(a), Some(b), Some(c)) if a <= b && b <= c),
            "round {label}: percentiles out of order or missing: {lat}"
        );
        sent_total += count("sent");
    }

    // The summary's counts come from the per-transaction log: one line per transaction.
    let mut logged = 0;
    for entry in std::fs::read_dir(out.join("tx"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            logged += std::fs::read_to_string(&path)?
                .lines()
                .filter(|l| !l.contains("\"event\":\"round\""))
                .count() as u64;
        }
    }
    ensure!(
        logged == sent_total,
        "the transaction log has {logged} transactions, the summary {sent_total}"
    );

    // The kv put round's keys are on the ledger (counted by the chaincode, on a fresh network).
    let put = rounds
        .iter()
        .find(|r| r["label"] == "kv-put-fixed-load")
        .ok_or_else(|| anyhow!("no kv put round"))?;
    let on_ledger = net.cli_ok(&[
        "tx",
        "evaluate",
        "--as",
        "Admin@Hospital1",
        "kv",
        "countrange",
        "caliper-put-",
        "caliper-put.",
        "caliper-count",
    ])?;
    let committed: u64 = on_ledger
        .trim()
        .parse()
        .with_context(|| format!("countrange answered {on_ledger:?}, not a count"))?;
    ensure!(
        put["succeeded"].as_u64() == Some(committed),
        "the ledger holds {committed} caliper-put keys, the summary says {} succeeded",
        put["succeeded"]
    );

    // A run with refused transactions fails, and the summary counts them (Caliper exits 0).
    let out = net.home().join("caliper-failing");
    let run = caliper_sh(&net, offset, "caliper/benchmarks/failing.yaml", &out).await?;
    ensure!(
        !run.status.success(),
        "scripts/caliper.sh succeeded on a run with failed transactions"
    );
    let summary = read_json(&out.join("summary.json"))?;
    ensure!(summary["ok"] == false, "the failing run's summary says ok");
    let rounds = summary["rounds"]
        .as_array()
        .ok_or_else(|| anyhow!("the failing run's summary has no rounds"))?;
    let counts: Vec<(String, u64, u64)> = rounds
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap_or_default().to_owned(),
                r["succeeded"].as_u64().unwrap_or(u64::MAX),
                r["failed"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    ensure!(
        counts
            == [
                ("noop-fixed-rate".to_owned(), 5, 0),
                ("kv-fail-fixed-rate".to_owned(), 0, 5)
            ],
        "the failing run's rounds (label, succeeded, failed): {counts:?}"
    );
    Ok(())
}

/// `scripts/caliper.sh` as `make caliper` runs it, against this test's network.
async fn caliper_sh(
    net: &TestNet,
    offset: u16,
    benchmark: &str,
    out: &Path,
) -> Result<std::process::Output> {
    tokio::process::Command::new(repo_root().join("scripts/caliper.sh"))
        .args(["--benchmark", benchmark, "--out"])
        .arg(out)
        .env("HB", bin_dir()?.join("healthblock"))
        .env("HEALTHBLOCK_HOME", net.home())
        .env("HEALTHBLOCK_PORT_OFFSET", offset.to_string())
        .env("HEALTHBLOCK_BACKEND", net.backend.to_string())
        .env_remove("HEALTHBLOCK_CONFIG")
        .current_dir(repo_root())
        .output()
        .await
        .context("cannot run scripts/caliper.sh")
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
