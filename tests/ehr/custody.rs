//! Key custody through the clinical CLI, with real encryption and the object
//! store: a break-glass doctor decrypts only after the home hospital's
//! custodian delivered the keys, and loses them when the break-glass is
//! reviewed; revoking one of overlapping consents keeps the wraps the others
//! still cover. Every access request, granted or denied, leaves exactly one
//! audit entry; a refused break-glass fails in the CLI; the reviewers' work
//! list holds a break-glass until its review.

use crate::{trial, Ctx, TestFn};
use anyhow::{ensure, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "custody::break_glass_doctor_decrypts_after_custodian_delivers",
            break_glass_decrypts,
        ),
        trial(
            "custody::revoking_one_of_overlapping_consents_keeps_covered_wraps",
            overlapping_revoke,
        ),
    ]
}

/// `--as` of a suite user.
fn who(user: &crate::users::User) -> String {
    format!("{}@{}", user.name, user.org)
}

/// Runs the CLI, returns (exit success, stdout parsed as JSON or Null, stderr).
fn cli_json(ctx: &Ctx, args: &[&str]) -> Result<(bool, Value, String)> {
    let out = ctx.net.cli(args)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Ok((out.status.success(), json, stderr))
}

/// The ids on Hospital1's break-glass review work list, as `user` reads it
/// through the CLI (`breakglass unreviewed --json`).
fn unreviewed(ctx: &Ctx, user: &str) -> Result<Vec<String>> {
    let out = ctx.net.cli_ok(&[
        "breakglass",
        "unreviewed",
        "--as",
        user,
        "--hospital",
        "Hospital1",
        "--json",
    ])?;
    let items: Vec<Value> = serde_json::from_str(&out)?;
    ensure!(
        items.iter().all(|i| i["home_msp"] == "Hospital1MSP"),
        "the work list of Hospital1 holds another hospital's events: {items:?}"
    );
    Ok(items
        .iter()
        .filter_map(|i| i["event"]["break_glass_id"].as_str().map(str::to_owned))
        .collect())
}

/// A patient of Hospital1 registered through the CLI; returns the pseudonym.
fn register_patient(ctx: &Ctx, name: &str) -> Result<String> {
    let doctor1 = who(&ctx.users.doctor1);
    let out = ctx
        .net
        .cli_ok(&["patient", "register", "--as", &doctor1, "--name", name])?;
    Ok(out.trim().to_owned())
}

/// Hospital1's doctor stores `content` as a new record; returns its id.
fn put(ctx: &Ctx, dir: &Path, pid: &str, rtype: &str, content: &[u8]) -> Result<String> {
    let file = dir.join(format!("{rtype}.in"));
    std::fs::write(&file, content)?;
    let doctor1 = who(&ctx.users.doctor1);
    let out = ctx.net.cli_ok(&[
        "record",
        "put",
        "--as",
        &doctor1,
        "--patient",
        pid,
        "--type",
        rtype,
        file.to_str().context("temp path")?,
    ])?;
    Ok(out.trim().to_owned())
}

/// Names of the wraps stored beside a record's latest blob.
fn wraps_beside(ctx: &Ctx, rid: &str) -> Result<Vec<String>> {
    // Hospital1's admin: verify reads the writing transaction's block, and
    // the channel's ACLs give blocks to peers and admins.
    let out = ctx.net.cli_ok(&[
        "record",
        "verify",
        "--as",
        "Admin@Hospital1",
        "--record",
        rid,
        "--json",
    ])?;
    let v: Value = serde_json::from_str(&out)?;
    let hash = v["ledger_sha256"]
        .as_str()
        .context("verify names no hash")?;
    // The hash the state holds is the one the writing transaction's write
    // set holds in its block.
    anyhow::ensure!(
        v["verdict"] == "OK" && v["write_set_sha256_or_error"] == hash,
        "record verify: {v}"
    );
    let dir = ctx
        .net
        .home()
        .join("store/blobs")
        .join(format!("{hash}.wraps"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The record's audit trail as the auditor reads it.
fn record_trail(ctx: &Ctx, rid: &str) -> Result<Vec<Value>> {
    let auditor = who(&ctx.users.auditor);
    let out = ctx
        .net
        .cli_ok(&["audit", "--as", &auditor, "--record", rid, "--json"])?;
    Ok(serde_json::from_str::<Vec<Value>>(&out)?)
}

/// `access request --out` as `user`; returns (success, answer).
fn access(ctx: &Ctx, user: &str, rid: &str, out: &Path) -> Result<(bool, Value)> {
    let out = out.to_str().context("temp path")?;
    let (ok, answer, stderr) = cli_json(
        ctx,
        &[
            "access", "request", "--as", user, "--record", rid, "--out", out,
        ],
    )?;
    ensure!(
        answer["tx_id"].is_string(),
        "access request printed no answer: {answer} / {stderr}"
    );
    Ok((ok, answer))
}

async fn break_glass_decrypts(ctx: Ctx) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pid = register_patient(&ctx, &format!("emergency patient {}", std::process::id()))?;
    let plaintext = b"{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":41}}";
    let rid = put(&ctx, dir.path(), &pid, "Observation", plaintext)?;
    let doctor3 = who(&ctx.users.doctor3);
    let nurse3 = who(&ctx.users.nurse3);
    let out: PathBuf = dir.path().join("er.out");
    let mut requests = Vec::new();

    let (ok, denied) = access(&ctx, &nurse3, &rid, &out)?;
    ensure!(!ok && denied["granted"] == false, "nurse: {denied}");
    requests.push(denied);

    // A nurse's attempt is refused: audited by the contract, an error here.
    let (ok, _, stderr) = cli_json(
        &ctx,
        &[
            "breakglass",
            "--as",
            &nurse3,
            "--patient",
            &pid,
            "--code",
            "UNCONSCIOUS",
            "--reason",
            "patient collapsed in the corridor",
        ],
    )?;
    ensure!(
        !ok && stderr
            .contains("break-glass refused: only doctors may break the glass (caller is nurse)")
            && stderr.contains("recorded in the patient's audit trail"),
        "the nurse's break-glass must fail with the refusal: {stderr}"
    );

    let bg = ctx.net.cli_ok(&[
        "breakglass",
        "--as",
        &doctor3,
        "--patient",
        &pid,
        "--code",
        "UNCONSCIOUS",
        "--reason",
        "unconscious patient in the emergency room",
    ])?;
    let bg = bg.trim().to_owned();
    // Allowed by the contract, but no key yet: the custodian has not acted.
    let (ok, early) = access(&ctx, &doctor3, &rid, &out)?;
    ensure!(
        !ok && early["granted"] == true
            && early["break_glass"] == true
            && early["wrap"].is_null()
            && early["decrypt_error"]
                .as_str()
                .is_some_and(|e| e.contains("holds no key wrap")),
        "access before the custodian: {early}"
    );
    requests.push(early);

    // Every peer catches up first: the contract is endorsed by every
    // hospital, and a lagging peer would simulate on older state.
    ctx.net.settle().await?;
    let pass = ctx
        .net
        .cli_ok(&["breakglass", "fulfil", "--as", "Admin@Hospital1", "--json"])?;
    let pass: Vec<Value> = serde_json::from_str(&pass)?;
    let mine = pass
        .iter()
        .find(|d| d["break_glass_id"] == bg.as_str())
        .with_context(|| format!("the custodian pass did not handle {bg}: {pass:?}"))?;
    ensure!(
        mine["versions"] == 1 && mine["txids"].as_array().map(Vec::len) == Some(1),
        "delivery: {mine}"
    );

    let (ok, granted) = access(&ctx, &doctor3, &rid, &out)?;
    ensure!(
        ok && granted["granted"] == true && granted["break_glass"] == true,
        "access after the custodian: {granted}"
    );
    ensure!(
        std::fs::read(&out)? == plaintext,
        "the decrypted record differs from the original"
    );
    requests.push(granted);
    let fingerprint = requests[2]["wrap"].as_str().unwrap_or_default().to_owned();
    ensure!(
        wraps_beside(&ctx, &rid)?.contains(&fingerprint),
        "the doctor's wrap is not beside the blob"
    );

    // The review closes it and takes it off the reviewers' work list; the
    // next pass withdraws the doctor's wrap.
    let auditor = who(&ctx.users.auditor);
    ctx.net.settle().await?;
    ensure!(
        unreviewed(&ctx, &auditor)?.contains(&bg),
        "{bg} is not on the reviewers' work list"
    );
    ctx.net.cli_ok(&[
        "breakglass",
        "review",
        "--as",
        &auditor,
        "--patient",
        &pid,
        "--id",
        &bg,
        "--note",
        "justified",
    ])?;
    ensure!(
        !unreviewed(&ctx, &auditor)?.contains(&bg),
        "{bg} is still on the reviewers' work list after its review"
    );
    ctx.net.settle().await?;
    let pass: Vec<Value> = serde_json::from_str(&ctx.net.cli_ok(&[
        "breakglass",
        "fulfil",
        "--as",
        "Admin@Hospital1",
        "--json",
    ])?)?;
    let closed = pass
        .iter()
        .find(|d| d["break_glass_id"] == bg.as_str())
        .with_context(|| format!("the second pass did not close {bg}: {pass:?}"))?;
    ensure!(closed["versions"] == 1, "closure: {closed}");
    ensure!(
        !wraps_beside(&ctx, &rid)?.contains(&fingerprint),
        "the doctor's wrap survived the closure"
    );
    let (ok, after) = access(&ctx, &doctor3, &rid, &out)?;
    ensure!(
        !ok && after["granted"] == false
            && after["reason"]
                .as_str()
                .is_some_and(|r| r.contains("was reviewed and is closed")),
        "access after the review: {after}"
    );
    requests.push(after);

    // One audit entry per request, with the request's outcome.
    let trail = record_trail(&ctx, &rid)?;
    for request in &requests {
        let entries: Vec<&Value> = trail
            .iter()
            .filter(|e| e["tx_id"] == request["tx_id"])
            .collect();
        ensure!(
            entries.len() == 1
                && entries[0]["granted"] == request["granted"]
                && entries[0]["break_glass"] == request["break_glass"],
            "audit entries of {}: {entries:?}",
            request["tx_id"]
        );
    }
    ensure!(
        trail.iter().filter(|e| e["action"] == "access").count() == requests.len(),
        "the record's trail has other access entries than the {} requests: {trail:?}",
        requests.len()
    );
    Ok(())
}

async fn overlapping_revoke(ctx: Ctx) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pid = register_patient(&ctx, &format!("overlap patient {}", std::process::id()))?;
    let obs = put(&ctx, dir.path(), &pid, "Observation", b"heart rate 72")?;
    let img = put(&ctx, dir.path(), &pid, "ImagingStudy", b"imaging bytes")?;
    let (obs_before, img_before) = (wraps_beside(&ctx, &obs)?, wraps_beside(&ctx, &img)?);
    let doctor2 = who(&ctx.users.doctor2);
    let admin = "Admin@Hospital1";
    let grant = |extra: &[&str]| -> Result<Value> {
        let mut args = vec![
            "consent",
            "grant",
            "--as",
            admin,
            "--patient",
            &pid,
            "--json",
        ];
        args.extend_from_slice(extra);
        Ok(serde_json::from_str(&ctx.net.cli_ok(&args)?)?)
    };
    let all = grant(&["--to-org", "Hospital2"])?;
    ensure!(
        all["wrapped_versions"] == 2 && all["wrap_transactions"] == 1,
        "one update_wraps transaction for the whole grant: {all}"
    );
    let by_type = grant(&["--to-org", "Hospital2", "--type", "Observation"])?;
    let to_user = grant(&["--to-user", &doctor2, "--type", "Observation"])?;
    let revoke = |consent: &Value| -> Result<Value> {
        let id = consent["consent_id"].as_str().context("consent id")?;
        Ok(serde_json::from_str(&ctx.net.cli_ok(&[
            "consent",
            "revoke",
            "--as",
            admin,
            "--patient",
            &pid,
            "--consent",
            id,
            "--json",
        ])?)?)
    };
    let read = |rid: &str| -> Result<bool> {
        let out = dir.path().join(format!("{rid}.out"));
        Ok(access(&ctx, &doctor2, rid, &out)?.0)
    };

    // The hospital-wide consent still covers what the type consent covered.
    let r = revoke(&by_type)?;
    ensure!(r["wraps_deleted"] == 0, "type consent revoked: {r}");
    ensure!(read(&obs)?, "Hospital2 lost the Observation");
    // ...and it covers the hospital's user too.
    let r = revoke(&to_user)?;
    ensure!(r["wraps_deleted"] == 0, "user consent revoked: {r}");
    // The last consent: the hospital's wraps and its user's go, in one transaction.
    let r = revoke(&all)?;
    ensure!(
        r["wraps_deleted"] == 3 && r["wrap_transactions"] == 1,
        "hospital consent revoked: {r}"
    );
    ensure!(
        !read(&obs)?,
        "access must be denied once every consent is revoked"
    );
    ensure!(
        wraps_beside(&ctx, &obs)? == obs_before && wraps_beside(&ctx, &img)? == img_before,
        "only the home hospital's, the author's and the patient's wraps must remain"
    );
    Ok(())
}
