//! Key custody through the clinical CLI, with real encryption, the object
//! store and the hospitals' key custodians (audited key release): a
//! version's data key is wrapped at rest only for the home hospital and the
//! patient; every other reader commits `request_access` and gets a wrap
//! sealed to their own published key from the home hospital's custodian.
//! A break-glass doctor decrypts through the custodian while the
//! break-glass is in force (`access request --out`, `record get`), with no
//! wrap for the doctor ever stored beside the blob and no delivery step;
//! the custodian refuses a replay of a redeemed decision; once the
//! break-glass is reviewed, access is denied and the custodian releases
//! nothing for the denial. Revoking one of overlapping consents leaves the
//! grantee reading through the others; revoking the last denies; no
//! grantee wrap ever exists at rest. Every access request, granted or
//! denied, leaves exactly one audit entry; a refused break-glass fails in
//! the CLI; the reviewers' work list holds a break-glass until its review.

use crate::fixtures::{custodian_release, expect_refusal, wraps_at};
use crate::{trial, Ctx, TestFn};
use anyhow::{ensure, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "custody::break_glass_doctor_decrypts_through_the_custodian",
            break_glass_decrypts,
        ),
        trial(
            "custody::revoking_one_of_overlapping_consents_keeps_access_through_the_others",
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
    wraps_at(ctx, hash)
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
    let at_rest = wraps_beside(&ctx, &rid)?;
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
    // In force at once: the doctor's audited request, then Hospital1's
    // custodian releases the key sealed to the doctor's published key.
    let (ok, granted) = access(&ctx, &doctor3, &rid, &out)?;
    ensure!(
        ok && granted["granted"] == true
            && granted["break_glass"] == true
            && granted["home_msp"] == "Hospital1MSP"
            && granted["reason"] == format!("break-glass {bg}").as_str()
            && granted["decrypted_bytes"] == plaintext.len()
            && granted["decrypt_error"].is_null(),
        "the break-glass doctor's access: {granted}"
    );
    ensure!(
        std::fs::read(&out)? == plaintext,
        "the decrypted record differs from the original"
    );
    let fingerprint = granted["recipient"]
        .as_str()
        .context("a grant names the recipient key")?
        .to_owned();
    let granted_tx = granted["tx_id"].as_str().unwrap_or_default().to_owned();
    requests.push(granted);
    // No wrap for the doctor is stored beside the blob: only the home
    // hospital's and the patient's.
    let beside = wraps_beside(&ctx, &rid)?;
    ensure!(
        beside == at_rest && !beside.contains(&fingerprint),
        "the wraps beside the blob changed with the doctor's read: {beside:?} (before {at_rest:?})"
    );
    // `record get` reads the same way.
    let got = dir.path().join("er.get");
    let read: Value = serde_json::from_str(&ctx.net.cli_ok(&[
        "record",
        "get",
        "--as",
        &doctor3,
        "--record",
        &rid,
        "--out",
        got.to_str().context("temp path")?,
        "--json",
    ])?)?;
    ensure!(
        read["break_glass"] == true
            && read["bytes"] == plaintext.len()
            && std::fs::read(&got)? == plaintext,
        "record get as the break-glass doctor: {read}"
    );
    requests.push(serde_json::json!({
        "tx_id": read["access_tx"],
        "granted": true,
        "break_glass": true,
    }));
    // A replay of a redeemed decision releases nothing.
    expect_refusal(
        custodian_release(&ctx, &doctor3, &granted_tx, "Hospital1")?,
        &format!("decision {granted_tx} was redeemed before"),
        "the replay of the doctor's granted decision",
    )?;

    // The review closes it and takes it off the reviewers' work list.
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
    // Closed: the next request is denied, and the custodian releases
    // nothing for the denial.
    let (ok, after) = access(&ctx, &doctor3, &rid, &out)?;
    ensure!(
        !ok && after["granted"] == false
            && after["decrypted_bytes"].is_null()
            && after["reason"].as_str().is_some_and(
                |r| r.contains(&format!("break-glass {bg} was reviewed and is closed"))
            ),
        "access after the review: {after}"
    );
    let after_tx = after["tx_id"].as_str().unwrap_or_default().to_owned();
    requests.push(after);
    ctx.net.settle().await?;
    expect_refusal(
        custodian_release(&ctx, &doctor3, &after_tx, "Hospital1")?,
        &format!("transaction {after_tx} denied access"),
        "the denied request after the review",
    )?;
    ensure!(
        wraps_beside(&ctx, &rid)? == at_rest,
        "the wraps beside the blob changed"
    );

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
    let obs_bytes: &[u8] = b"heart rate 72";
    let obs = put(&ctx, dir.path(), &pid, "Observation", obs_bytes)?;
    let img = put(&ctx, dir.path(), &pid, "ImagingStudy", b"imaging bytes")?;
    let (obs_before, img_before) = (wraps_beside(&ctx, &obs)?, wraps_beside(&ctx, &img)?);
    let doctor2 = who(&ctx.users.doctor2);
    let admin = "Admin@Hospital1";
    let unchanged = || -> Result<()> {
        let (o, i) = (wraps_beside(&ctx, &obs)?, wraps_beside(&ctx, &img)?);
        ensure!(
            o == obs_before && i == img_before,
            "a consent changed the wraps at rest: {o:?} / {i:?} (before {obs_before:?} / {img_before:?})"
        );
        Ok(())
    };
    let grant = |extra: &[&str]| -> Result<String> {
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
        let answer: Value = serde_json::from_str(&ctx.net.cli_ok(&args)?)?;
        ensure!(
            answer["txid"].is_string() && answer.get("wrapped_versions").is_none(),
            "a consent grant is a ledger transaction only: {answer}"
        );
        Ok(answer["consent_id"]
            .as_str()
            .context("consent id")?
            .to_owned())
    };
    let all = grant(&["--to-org", "Hospital2"])?;
    let by_type = grant(&["--to-org", "Hospital2", "--type", "Observation"])?;
    let to_user = grant(&["--to-user", &doctor2, "--type", "Observation"])?;
    unchanged()?;
    let revoke = |id: &str| -> Result<()> {
        let answer: Value = serde_json::from_str(&ctx.net.cli_ok(&[
            "consent",
            "revoke",
            "--as",
            admin,
            "--patient",
            &pid,
            "--consent",
            id,
            "--json",
        ])?)?;
        let revoked = answer["revoked"].as_array().context("revoked")?;
        ensure!(
            revoked.len() == 1 && revoked[0]["consent_id"] == id,
            "revoking {id}: {answer}"
        );
        Ok(())
    };
    // Hospital2's doctor reads the Observation: (granted, the reason).
    let read = || -> Result<(bool, String)> {
        let out = dir.path().join(format!("{obs}.out"));
        let _ = std::fs::remove_file(&out);
        let (ok, answer) = access(&ctx, &doctor2, &obs, &out)?;
        let reason = answer["reason"].as_str().unwrap_or_default().to_owned();
        if ok {
            ensure!(
                answer["granted"] == true
                    && answer["break_glass"] == false
                    && std::fs::read(&out)? == obs_bytes,
                "a granted read must decrypt the Observation: {answer}"
            );
        } else {
            ensure!(
                answer["granted"] == false && !out.exists(),
                "a failed read: {answer}"
            );
        }
        Ok((ok, reason))
    };
    let (ok, reason) = read()?;
    ensure!(ok, "Hospital2's doctor under three consents: {reason}");

    // The hospital-wide and the user's consents still cover what the type
    // consent covered.
    revoke(&by_type)?;
    let (ok, reason) = read()?;
    ensure!(
        ok && (reason == format!("consent {all}") || reason == format!("consent {to_user}")),
        "Hospital2 lost the Observation with the type consent: {reason}"
    );
    // ...and the hospital-wide one covers the hospital's user too.
    revoke(&to_user)?;
    let (ok, reason) = read()?;
    ensure!(
        ok && reason == format!("consent {all}"),
        "the hospital-wide consent must still cover its user: {reason}"
    );
    // The last consent: access is denied.
    revoke(&all)?;
    let (ok, reason) = read()?;
    ensure!(
        !ok,
        "access must be denied once every consent is revoked: {reason}"
    );
    // No grantee wrap ever existed at rest: only the home hospital's and
    // the patient's.
    unchanged()?;
    Ok(())
}
