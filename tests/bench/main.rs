//! The open-loop load generator against a devnet it starts: one short rate
//! step of `healthblock bench --open-loop`, whose JSON must report commits,
//! no failures, a latency histogram holding exactly the committed
//! transactions, and what ran (the devnet, read back from its processes).
//! A check that the generator works end to end, not a benchmark: it asserts
//! no timing.

use anyhow::{ensure, Context, Result};
use healthblock_tests::TestNet;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const PORT_OFFSET: u16 = 15000;

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test("bench::open_loop_step_on_the_devnet", || {
        let net = TestNet::start(PORT_OFFSET).map_err(|e| Failed::from(format!("{e:#}")))?;
        open_loop_step(&net).map_err(|e| Failed::from(format!("{e:#}")))
    });
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn number(v: &Value, path: &[&str]) -> Result<f64> {
    let mut at = v;
    for key in path {
        at = at
            .get(key)
            .with_context(|| format!("no {} in the report", path.join(".")))?;
    }
    at.as_f64()
        .with_context(|| format!("{} is not a number: {at}", path.join(".")))
}

fn open_loop_step(net: &TestNet) -> Result<()> {
    let out = net.cli_ok(&[
        "bench",
        "--open-loop",
        "--rate",
        "40",
        "--warmup",
        "1s",
        "--duration",
        "3s",
        "--workload",
        "kv-put",
        "--json",
    ])?;
    let report: Value = serde_json::from_str(&out).context("the report is not JSON")?;
    ensure!(report["mode"] == "open-loop", "mode: {}", report["mode"]);
    ensure!(
        report["backend"] == "devnet",
        "backend: {}",
        report["backend"]
    );
    ensure!(
        report["workload"] == "kv-put",
        "workload: {}",
        report["workload"]
    );
    let profile = &report["environment"]["build_profile"];
    ensure!(
        profile == "debug" || profile == "release",
        "build profile: {profile}"
    );
    let steps = report["steps"].as_array().context("no steps")?;
    ensure!(steps.len() == 1, "{} steps", steps.len());
    let step = &steps[0];
    let committed = number(step, &["committed"])?;
    let scheduled = number(step, &["scheduled"])?;
    ensure!(committed > 0.0, "nothing committed: {step}");
    ensure!(
        number(step, &["failed"])? == 0.0,
        "failures: {}",
        step["failures"]
    );
    ensure!(
        number(step, &["latency", "count"])? == committed,
        "histogram count {} != committed {committed}",
        step["latency"]["count"]
    );
    // 40/s over a 3 s window: 120 transactions due, every one committed.
    ensure!(scheduled == 120.0, "scheduled {scheduled}");
    ensure!(
        committed == scheduled,
        "committed {committed} of {scheduled}"
    );
    ensure!(
        number(step, &["blocks", "blocks"])? > 0.0,
        "no block seen: {}",
        step["blocks"]
    );
    ensure!(
        number(step, &["cpu_seconds", "devnet"])? >= 0.0,
        "no devnet CPU time: {}",
        step["cpu_seconds"]
    );
    Ok(())
}
