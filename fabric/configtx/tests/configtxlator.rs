//! Our `compute_update` against Fabric's own `configtxlator compute_update`, on
//! the real genesis config of the v3.1.5 vectors: a changed value, a removed
//! value (membership change: the unchanged members are listed and the group's
//! version bumped), and an added policy. Needs `FABRIC_BIN`; without it the
//! trials are listed as ignored and a `SKIPPED:` line says why.

use fabric_configtx::batch::{batch_params, with_batch_params};
use fabric_configtx::{compute_update, config_from_block, BatchUpdate};
use fabric_proto::common::{Block, Config, ConfigPolicy, ConfigUpdate};
use healthblock_test_support::read_vector;
use libtest_mimic::{Arguments, Failed, Trial};
use prost::Message;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A change of the genesis config.
type Change = fn(&Config) -> Config;

fn genesis_config() -> Config {
    let block = Block::decode(read_vector("blocks-orderer0/000000.block").as_slice()).unwrap();
    config_from_block(&block).unwrap()
}

fn changed_batch(c: &Config) -> Config {
    let p = batch_params(c).unwrap().with(&BatchUpdate {
        max_message_count: Some(5),
        timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    });
    with_batch_params(c, &p).unwrap()
}

fn removed_value(c: &Config) -> Config {
    let mut c = c.clone();
    let orderer = c
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap();
    orderer.values.remove("ChannelRestrictions");
    c
}

fn added_policy(c: &Config) -> Config {
    let mut c = c.clone();
    let app = c
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap();
    let existing: ConfigPolicy = app.policies["Admins"].clone();
    app.policies.insert("Auditors".into(), existing);
    c
}

fn check(bin: &Path, change: Change) -> Result<(), Failed> {
    let original = genesis_config();
    let updated = change(&original);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (o, u, out) = (
        dir.path().join("o.pb"),
        dir.path().join("u.pb"),
        dir.path().join("out.pb"),
    );
    std::fs::write(&o, original.encode_to_vec()).map_err(|e| e.to_string())?;
    std::fs::write(&u, updated.encode_to_vec()).map_err(|e| e.to_string())?;
    let run = std::process::Command::new(bin.join("configtxlator"))
        .args(["compute_update", "--channel_id", "ehr", "--original"])
        .arg(&o)
        .arg("--updated")
        .arg(&u)
        .arg("--output")
        .arg(&out)
        .output()
        .map_err(|e| format!("running configtxlator: {e}"))?;
    if !run.status.success() {
        return Err(format!("configtxlator: {}", String::from_utf8_lossy(&run.stderr)).into());
    }
    let theirs = ConfigUpdate::decode(std::fs::read(&out).map_err(|e| e.to_string())?.as_slice())
        .map_err(|e| e.to_string())?;
    let mut ours = compute_update(&original, &updated).map_err(|e| e.to_string())?;
    ours.channel_id = "ehr".into();
    if theirs != ours {
        return Err(format!("configtxlator: {theirs:?}\nours: {ours:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let cases: [(&str, Change); 3] = [
        ("changed_batch_values", changed_batch),
        ("removed_value", removed_value),
        ("added_policy", added_policy),
    ];
    let bin = std::env::var_os("FABRIC_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if bin.is_none() {
        println!("SKIPPED: configtxlator cross-checks: FABRIC_BIN is not set (Fabric's configtxlator is needed)");
    }
    let trials = cases
        .into_iter()
        .map(|(name, change)| match &bin {
            Some(bin) => {
                let bin = bin.clone();
                Trial::test(name, move || check(&bin, change))
            }
            // Forced with --include-ignored it fails: a skip never counts as a pass.
            None => Trial::test(name, || Err("skipped: FABRIC_BIN is not set".into()))
                .with_ignored_flag(true),
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
