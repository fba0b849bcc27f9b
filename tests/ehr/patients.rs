//! Patient ids and the master patient index, through the CLI on the real
//! network (finding 5 of the trust model): an id is random, so two patients
//! with the same name get two ids and no one can compute a patient's id
//! from a name; the name is found only in the registering hospital's own
//! index, encrypted at rest; the ledger holds the id alone.

use crate::{trial, Ctx, TestFn};
use anyhow::{ensure, Context, Result};
use serde_json::Value;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "patients::ids_are_random_and_names_stay_in_the_home_index",
        random_ids,
    )]
}

async fn random_ids(ctx: Ctx) -> Result<()> {
    let doctor1 = format!("{}@{}", ctx.users.doctor1.name, ctx.users.doctor1.org);
    let doctor2 = format!("{}@{}", ctx.users.doctor2.name, ctx.users.doctor2.org);
    let name = format!("Ann Namesake {}", std::process::id());
    let mut ids = Vec::new();
    for birth in ["1970-01-01", "1990-12-31"] {
        let out = ctx.net.cli_ok(&[
            "patient",
            "register",
            "--as",
            &doctor1,
            "--name",
            &name,
            "--birth-date",
            birth,
            "--mrn",
            "MRN-7",
            "--json",
        ])?;
        let v: Value = serde_json::from_str(&out).context("patient register --json")?;
        let id = v["patient_id"]
            .as_str()
            .context("no patient_id")?
            .to_owned();
        ensure!(
            v["patient"]["home_msp"] == "Hospital1MSP" && v["patient"]["patient_id"] == id.as_str(),
            "register answered {v}"
        );
        ids.push(id);
    }
    ensure!(ids[0] != ids[1], "two patients with one name got one id");
    // Found by name (case and spacing ignored) at their hospital, told
    // apart by date of birth.
    let found: Vec<Value> = serde_json::from_str(&ctx.net.cli_ok(&[
        "patient",
        "find",
        "--as",
        &doctor1,
        "--name",
        &name.to_uppercase(),
        "--json",
    ])?)?;
    let found_ids: Vec<&str> = found
        .iter()
        .filter_map(|e| e["patient_id"].as_str())
        .collect();
    ensure!(
        found_ids == [ids[0].as_str(), ids[1].as_str()],
        "find: {found:?}"
    );
    let one: Vec<Value> = serde_json::from_str(&ctx.net.cli_ok(&[
        "patient",
        "find",
        "--as",
        &doctor1,
        "--name",
        &name,
        "--birth-date",
        "1990-12-31",
        "--json",
    ])?)?;
    ensure!(
        one.len() == 1 && one[0]["patient_id"] == ids[1].as_str(),
        "find by birth date: {one:?}"
    );
    // Another hospital's index does not know the name.
    let other = ctx
        .net
        .cli(&["patient", "find", "--as", &doctor2, "--name", &name])?;
    let stderr = String::from_utf8_lossy(&other.stderr);
    ensure!(
        !other.status.success() && stderr.contains("no patient named"),
        "Hospital2 found Hospital1's patient by name: {stderr}"
    );
    // The index is encrypted at rest: the name is not in its file.
    let file = ctx.net.home().join("mpi/Hospital1.mpi");
    let raw = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    ensure!(
        !String::from_utf8_lossy(&raw).contains("Namesake"),
        "the index holds the name in clear"
    );
    Ok(())
}
