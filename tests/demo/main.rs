//! The `make demo` story (scripts/demo-ehr.sh) as an end-to-end test, on a
//! network of its own: users enrolled at the real Fabric CAs, records
//! encrypted and stored, consent, denial, break-glass, revocation with
//! re-keying, the audit trail and tamper detection. The script itself fails
//! on any step that does not behave as the story says.

use healthblock_tests::{bin_dir, repo_root, TestNet};
use libtest_mimic::{Arguments, Failed, Trial};

const PORT_OFFSET: u16 = 24000;

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test("demo::ehr_story_end_to_end", || {
        let net = TestNet::start_without_chaincode(PORT_OFFSET)
            .map_err(|e| Failed::from(format!("{e:#}")))?;
        let bins = bin_dir().map_err(|e| Failed::from(format!("{e:#}")))?;
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("scripts/demo-ehr.sh"))
            .env("HEALTHBLOCK_HOME", net.home())
            .env("HEALTHBLOCK_PORT_OFFSET", PORT_OFFSET.to_string())
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
    });
    libtest_mimic::run(&args, vec![trial]).exit();
}
