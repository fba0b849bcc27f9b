//! The `make demo` story (scripts/demo-ehr.sh) as an end-to-end test, on a
//! network of its own: users enrolled at the real Fabric CAs, records
//! encrypted and stored, consent, denial, break-glass, revocation with
//! re-keying, the audit trail and tamper detection. The script itself fails
//! on any step that does not behave as the story says.

use healthblock_network::consortium::Backend;
use healthblock_tests::{bin_dir, fabric_unavailable, repo_root, report_fabric_skipped, TestNet};
use libtest_mimic::{Arguments, Failed, Trial};

/// Ports of the story's network on each backend.
const DEVNET_OFFSET: u16 = 24000;
const FABRIC_OFFSET: u16 = 25000;

fn main() {
    let args = Arguments::from_args();
    let skip = fabric_unavailable();
    if let Some(reason) = &skip {
        report_fabric_skipped("demo_story", reason);
    }
    let trials = [
        (Backend::Devnet, DEVNET_OFFSET),
        (Backend::Fabric, FABRIC_OFFSET),
    ]
    .into_iter()
    .map(|(backend, offset)| {
        let name = format!("{backend}::demo::ehr_story_end_to_end");
        if backend == Backend::Fabric && skip.is_some() {
            Trial::test(name, || Ok(())).with_ignored_flag(true)
        } else {
            Trial::test(name, move || story(backend, offset))
        }
    })
    .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn story(backend: Backend, offset: u16) -> Result<(), Failed> {
    let net = TestNet::start_without_chaincode_on(backend, offset)
        .map_err(|e| Failed::from(format!("{e:#}")))?;
    let bins = bin_dir().map_err(|e| Failed::from(format!("{e:#}")))?;
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/demo-ehr.sh"))
        .env("HEALTHBLOCK_HOME", net.home())
        .env("HEALTHBLOCK_PORT_OFFSET", offset.to_string())
        .env("HEALTHBLOCK_BACKEND", backend.to_string())
        .env("HB", bins.join("healthblock"))
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
    for step in ["access denied", "TAMPERED", "the story ran end to end"] {
        if !stdout.contains(step) && !String::from_utf8_lossy(&out.stderr).contains(step) {
            return Err(Failed::from(format!(
                "the story's output lacks {step:?}:\n{stdout}"
            )));
        }
    }
    Ok(())
}
