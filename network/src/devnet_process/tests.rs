//! Process-management tests against a stand-in devnet (a small Python script
//! that listens where the config says and prints the ready line), so they do
//! not depend on the devnet crate's binary.

use super::*;
use crate::cryptogen::{generate, CryptoConfig};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A consortium on its own ports (every test uses a different offset) with identity
/// material generated under a fresh home.
struct Env {
    _home: tempfile::TempDir,
    layout: Layout,
    consortium: Consortium,
}

fn env(offset_slot: u16) -> Env {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("consortium.yaml");
    // Far above the shipped 7000-7099 block and the usual ephemeral-port floor of others' tests.
    let consortium = Consortium::load(&path)
        .unwrap()
        .with_port_offset(24_000 + offset_slot * 100)
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let layout = Layout::new(home.path().join("hb"));
    generate(
        &CryptoConfig::from_consortium(&consortium),
        &layout.crypto_dir(),
        false,
    )
    .unwrap();
    Env {
        _home: home,
        layout,
        consortium,
    }
}

/// A launcher script running the fake devnet in `mode`.
fn fake_devnet(env: &Env, mode: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_devnet.py");
    let launcher = env.layout.home().with_extension(format!("{mode}.sh"));
    let text = format!(
        "#!/bin/sh\nexec python3 {} --mode {mode} \"$@\"\n",
        script.display()
    );
    std::fs::write(&launcher, text).unwrap();
    let mut perms = std::fs::metadata(&launcher).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&launcher, perms).unwrap();
    launcher
}

fn quick() -> UpOptions {
    UpOptions {
        ready_timeout: Duration::from_secs(20),
    }
}

fn all_closed(c: &Consortium) -> bool {
    endpoints(c).iter().all(|e| !accepts_tcp(&e.address))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_idempotent_and_down_stops() {
    let env = env(0);
    let bin = fake_devnet(&env, "normal");
    let first = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap();
    assert!(!first.already_up);
    assert_eq!(first.recovered_stale_pid, None);
    assert!(first.elapsed < Duration::from_secs(20));
    assert_eq!(
        pid::read(&env.layout.devnet_pid_file()).unwrap(),
        Some(first.pid)
    );
    let cfg = crate::devnet_config::DevnetConfig::from_json_file(&env.layout.devnet_config_file())
        .unwrap();
    assert_eq!(cfg.peers.len(), 4);

    let st = status(&env.consortium, &env.layout).await;
    assert!(st.all_up(), "{st:?}");
    assert_eq!(st.pid, Some(first.pid));
    assert_eq!(st.nodes.len(), 5);
    assert_eq!(st.nodes[0].kind, NodeKind::Orderer);
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["nodes"][1]["org"], "Hospital1MSP");
    assert_eq!(json["nodes"][1]["kind"], "peer");

    let second = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap();
    assert!(second.already_up);
    assert_eq!(second.pid, first.pid);

    let down = down(&env.layout, false).unwrap();
    assert_eq!(down.stopped, Some(first.pid));
    assert!(!down.killed);
    assert!(!pid::is_running(
        first.pid,
        &env.layout.devnet_config_file()
    ));
    assert!(all_closed(&env.consortium));
    assert!(!env.layout.devnet_pid_file().exists());
    // Without purge, identity material and data stay.
    assert!(env.layout.crypto_dir().is_dir());
    assert!(env.layout.devnet_data_dir().join("boots.txt").is_file());

    let st = status(&env.consortium, &env.layout).await;
    assert_eq!(st.pid, None);
    assert!(st.nodes.iter().all(|n| !n.up));
    // Stopping twice is fine.
    assert_eq!(super::down(&env.layout, false).unwrap().stopped, None);
}

#[test]
fn crash_is_recovered_and_data_kept() {
    let env = env(1);
    let bin = fake_devnet(&env, "normal");
    let first = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap();
    kill(Pid::from_raw(first.pid as i32), Signal::SIGKILL).unwrap();
    let marker = env.layout.devnet_config_file();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid::is_running(first.pid, &marker) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    let again = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap();
    assert!(!again.already_up);
    assert_eq!(again.recovered_stale_pid, Some(first.pid));
    assert_ne!(again.pid, first.pid);
    let boots = std::fs::read_to_string(env.layout.devnet_data_dir().join("boots.txt")).unwrap();
    assert_eq!(
        boots.lines().count(),
        2,
        "the data dir must survive a crash"
    );
    let log = std::fs::read_to_string(env.layout.devnet_log()).unwrap();
    assert_eq!(log.matches(READY_LINE).count(), 2, "the log is appended to");
    down(&env.layout, false).unwrap();
}

#[test]
fn exit_at_start_points_at_the_log() {
    let env = env(2);
    let bin = fake_devnet(&env, "exit");
    let err = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProcessError::Exited { .. }), "{text}");
    assert!(text.contains("devnet.log"), "{text}");
    assert!(text.contains("failing on purpose"), "{text}");
    assert!(!env.layout.devnet_pid_file().exists());
}

#[test]
fn missing_ready_line_times_out_and_cleans_up() {
    let env = env(3);
    let bin = fake_devnet(&env, "no-ready");
    let opts = UpOptions {
        ready_timeout: Duration::from_secs(2),
    };
    let err = up_with(&env.consortium, &env.layout, &bin, &opts).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProcessError::Timeout { .. }), "{text}");
    assert!(
        text.contains(READY_LINE) && text.contains("devnet.log"),
        "{text}"
    );
    assert!(!env.layout.devnet_pid_file().exists());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !all_closed(&env.consortium) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    assert!(
        all_closed(&env.consortium),
        "the half-started devnet must be stopped"
    );
}

#[test]
fn sigkill_after_grace_and_purge() {
    let env = env(4);
    let bin = fake_devnet(&env, "ignore-term");
    let up = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap();
    let down = down_with(&env.layout, true, Duration::from_millis(500)).unwrap();
    assert_eq!(down.stopped, Some(up.pid));
    assert!(down.killed);
    assert!(down.purged);
    assert!(!env.layout.home().exists());
    assert!(all_closed(&env.consortium));
}

#[test]
fn busy_port_and_missing_material_are_reported() {
    let env = env(5);
    let bin = fake_devnet(&env, "normal");
    let busy = &env.consortium.orgs[1].peers[0];
    let _holder = TcpListener::bind(env.consortium.address(busy.ports.listen)).unwrap();
    let err = up_with(&env.consortium, &env.layout, &bin, &quick()).unwrap_err();
    assert!(
        matches!(err, ProcessError::PortInUse { port, .. } if port == busy.ports.listen),
        "{err}"
    );
    assert!(
        err.to_string().contains("peer0.hospital2.healthblock.test"),
        "{err}"
    );

    let empty = Layout::new(env.layout.home().join("empty"));
    let err = up_with(&env.consortium, &empty, &bin, &quick()).unwrap_err();
    assert!(matches!(err, ProcessError::MissingMaterial(_)), "{err}");
    assert!(!empty.devnet_pid_file().exists());
}

#[test]
fn devnet_config_points_at_generated_material() {
    let env = env(6);
    let cfg = devnet_config(&env.consortium, &env.layout);
    assert_eq!(cfg.channel, "ehr");
    assert_eq!(cfg.batch.timeout, Duration::from_millis(250));
    assert_eq!(cfg.endorsement_policy, "MAJORITY Endorsement");
    assert_eq!(cfg.orgs.len(), 3);
    assert_eq!(cfg.orgs[1].endorsement_policy, "OR('Hospital2MSP.peer')");
    assert_eq!(cfg.orderer.name, "orderer0.orderer.healthblock.test");
    assert_eq!(cfg.orderer.listen, "127.0.0.1:31650");
    let names: Vec<_> = cfg.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "peer0.hospital1.healthblock.test",
            "peer1.hospital1.healthblock.test",
            "peer0.hospital2.healthblock.test",
            "peer0.hospital3.healthblock.test"
        ]
    );
    for p in &cfg.peers {
        assert!(p.msp_dir.join("keystore/priv_sk").is_file(), "{}", p.name);
        for f in [&p.tls.cert, &p.tls.key, &p.tls.ca] {
            assert!(f.is_file(), "{}", f.display());
        }
    }
    for o in &cfg.orgs {
        assert!(o.msp_dir.join("config.yaml").is_file());
    }
    assert!(cfg.orderer.org_msp_dir.join("cacerts").is_dir());
}
