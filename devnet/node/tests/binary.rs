//! The `healthblock-devnet` binary: reads a JSON config, prints `devnet ready`
//! once its listeners serve, and exits cleanly on SIGTERM.

mod common;

use common::Fixture;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn runs_until_sigterm() {
    let fx = Fixture::new(2, Duration::from_millis(100), 10);
    let config_path = fx.dir.path().join("devnet.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&fx.config).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_healthblock-devnet"))
        .arg("--config")
        .arg(&config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "devnet ready");
    assert!(fx.config.data_dir.join("orderer/chain.redb").is_file());
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}
