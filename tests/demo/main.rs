//! The `make demo` story (scripts/demo-ehr.sh) as an end-to-end test, on a
//! network of its own: users enrolled at the real Fabric CAs, records
//! encrypted and stored, consent, denial, break-glass, revocation with
//! re-keying, the audit trail and tamper detection. The script itself fails
//! on any step that does not behave as the story says.
//!
//! On the devnet the story also runs on the real MinIO (started by
//! scripts/s3-server.sh, as for the object-store tests) with one bucket and
//! one credential per hospital: every client and custodian uses its own
//! hospital's credential, Hospital1 writes into its own bucket, the other
//! hospitals read from it.

use healthblock_network::consortium::Backend;
use healthblock_tests::{
    bin_dir, fabric_unavailable, repo_root, report_fabric_skipped, skipped_trial, TestNet,
};
use libtest_mimic::{Arguments, Failed, Trial};

/// Ports of the story's network on each backend.
const DEVNET_OFFSET: u16 = 24000;
const FABRIC_OFFSET: u16 = 25000;
/// Ports of the devnet story on per-hospital MinIO buckets (31500-31599:
/// between the two above, below the ephemeral range from 32768).
const DEVNET_S3_OFFSET: u16 = 24500;
/// The story's refusals (scripts/demo-ehr.sh `expect_fail`): the nurse, the
/// custodian refusing a replayed decision and someone else's decision, the
/// revoked doctor, the emergency doctor after the review, the tampered blob.
const EXPECTED_REFUSALS: usize = 6;
/// Of those, the ones the contract answers with "access denied".
const EXPECTED_DENIALS: usize = 3;
/// Decrypted files compared with their originals (`same` in the script).
const PLAINTEXT_CHECKS: usize = 4;

fn main() {
    let args = Arguments::from_args();
    let skip = fabric_unavailable();
    if let Some(reason) = &skip {
        report_fabric_skipped("demo_story", reason);
    }
    let mut trials: Vec<Trial> = [
        (Backend::Devnet, DEVNET_OFFSET),
        (Backend::Fabric, FABRIC_OFFSET),
    ]
    .into_iter()
    .map(|(backend, offset)| {
        let name = format!("{backend}::demo::ehr_story_end_to_end");
        match &skip {
            Some(reason) if backend == Backend::Fabric => skipped_trial(name, reason.clone()),
            _ => Trial::test(name, move || story(backend, offset, Vec::new())),
        }
    })
    .collect();
    trials.push(Trial::test(
        format!(
            "{}::demo::ehr_story_on_per_hospital_minio_buckets",
            Backend::Devnet
        ),
        || story(Backend::Devnet, DEVNET_S3_OFFSET, per_hospital_s3()),
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// The object store of every client and custodian: MinIO with one bucket
/// per hospital, each acting user's hospital's own credential
/// (`env.<MSPID>` in the directory scripts/s3-server.sh writes).
fn per_hospital_s3() -> Vec<(String, String)> {
    let dir = std::env::var_os("HEALTHBLOCK_S3_ENV_FILE")
        .map(std::path::PathBuf::from)
        .and_then(|f| f.parent().map(std::path::PathBuf::from))
        .unwrap_or_else(|| repo_root().join(".cache/s3"));
    vec![
        ("HEALTHBLOCK_STORE".into(), "s3".into()),
        (
            "HEALTHBLOCK_S3_ENV_DIR".into(),
            dir.to_string_lossy().into_owned(),
        ),
    ]
}

fn story(backend: Backend, offset: u16, env: Vec<(String, String)>) -> Result<(), Failed> {
    if let Some((_, dir)) = env.iter().find(|(k, _)| k == "HEALTHBLOCK_S3_ENV_DIR") {
        if !std::path::Path::new(dir).join("env.Hospital1MSP").exists() {
            return Err(Failed::from(format!(
                "the per-hospital MinIO story needs a running MinIO with per-hospital users \
                 (no {dir}/env.Hospital1MSP).\nStart one with: scripts/s3-server.sh start"
            )));
        }
    }
    let net = TestNet::start_without_chaincode_with_env(backend, offset, env.clone())
        .map_err(|e| Failed::from(format!("{e:#}")))?;
    let bins = bin_dir().map_err(|e| Failed::from(format!("{e:#}")))?;
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/demo-ehr.sh"))
        .env("HEALTHBLOCK_HOME", net.home())
        .env("HEALTHBLOCK_PORT_OFFSET", offset.to_string())
        .env("HEALTHBLOCK_BACKEND", backend.to_string())
        .env("HB", bins.join("healthblock"))
        .envs(env)
        .output()
        .map_err(|e| Failed::from(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Failed::from(format!(
            "the story failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    check_story(&stdout).map_err(|e| {
        Failed::from(format!(
            "{e}\n--- stdout:\n{stdout}\n--- stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// What the story's own commands printed, not its headings: `record verify`'s
/// verdict lines, each expected refusal with its error, each plaintext check.
fn check_story(stdout: &str) -> Result<(), String> {
    let lines: Vec<&str> = stdout.lines().map(str::trim_end).collect();
    let count = |pred: &dyn Fn(&str) -> bool| lines.iter().filter(|l| pred(l)).count();
    let verdict = |v: &str| {
        count(&|l: &str| {
            l.strip_prefix("verdict:")
                .is_some_and(|rest| rest.trim() == v)
        })
    };
    // One verify of the intact blob, one of the tampered one.
    if verdict("OK") != 1 || verdict("TAMPERED") != 1 {
        return Err(format!(
            "`record verify` printed {} OK and {} TAMPERED verdicts (want 1 and 1)",
            verdict("OK"),
            verdict("TAMPERED")
        ));
    }
    let refused =
        |text: &str| count(&|l: &str| l.contains("(failed as expected)") && l.contains(text));
    for (text, want) in [
        ("access denied", EXPECTED_DENIALS),
        ("TAMPERED: the stored blob of", 1),
        ("was redeemed before", 1),
        ("created by another identity than the caller's", 1),
    ] {
        if refused(text) != want {
            return Err(format!(
                "{} expected refusals with {text:?} (want {want})",
                refused(text)
            ));
        }
    }
    let all_refusals = count(&|l: &str| l.contains("(failed as expected)"));
    if all_refusals != EXPECTED_REFUSALS {
        return Err(format!(
            "{all_refusals} expected refusals (want {EXPECTED_REFUSALS})"
        ));
    }
    let identical = count(&|l: &str| l.ends_with("plaintext identical to the original"));
    if identical != PLAINTEXT_CHECKS {
        return Err(format!(
            "{identical} plaintext comparisons passed (want {PLAINTEXT_CHECKS})"
        ));
    }
    // The script's last line: every step before it ran (set -e; the exit status is checked too).
    if !stdout.contains("Done: the story ran end to end.") {
        return Err("the story did not reach its end".into());
    }
    Ok(())
}
