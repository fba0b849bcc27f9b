//! Unit tests of the custodian processes that need no network: paths, status
//! and stop of a home where nothing runs, stale pid files, and the start-up
//! failures (address taken, binary missing, server exiting before it listens).

use super::*;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

fn consortium() -> Consortium {
    crate::test_support::description_offset()
}

/// The first hospital alone, its custodian on `port`.
fn one_hospital(port: u16) -> Consortium {
    let mut c = consortium();
    c.orgs.truncate(1);
    c.orgs[0].custodian_port = port;
    c
}

/// A port nothing listens on (free when this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn paths_and_names_follow_the_layout() {
    let layout = Layout::new("/h");
    let c = consortium();
    let org = &c.orgs[0];
    assert_eq!(
        pid_file(&layout, org),
        Path::new("/h/run/custodian-Hospital1.pid")
    );
    assert_eq!(
        log_file(&layout, org),
        Path::new("/h/logs/custodian-Hospital1.log")
    );
    assert_eq!(state_dir(&layout, org), Path::new("/h/custodian/Hospital1"));
    assert_eq!(
        tls_dir(&layout, org),
        Path::new("/h/crypto/peerOrganizations/hospital1.healthblock.test/services/custodian/tls")
    );
    assert_eq!(server_name(org), "custodian.hospital1.healthblock.test");
    assert_eq!(address(&c, org), format!("127.0.0.1:{}", 7018 + 900));
}

#[test]
fn status_of_an_empty_home_reports_every_custodian_down() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let c = consortium();
    let all = status(&c, &layout);
    assert_eq!(all.len(), c.orgs.len());
    for (s, org) in all.iter().zip(&c.orgs) {
        assert_eq!(s.org, org.name);
        assert_eq!(s.mspid, org.mspid);
        assert_eq!(s.address, c.address(org.custodian_port));
        assert_eq!(s.pid, None);
        assert!(!s.up);
        assert_eq!(s.log, log_file(&layout, org));
    }
}

#[test]
fn stop_all_on_an_empty_home_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    assert!(stop_all(&consortium(), &layout).unwrap().is_empty());
    assert!(!layout.run_dir().exists());
}

#[test]
fn a_pid_that_is_not_ours_is_not_taken_for_a_running_custodian() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let c = consortium();
    let org = &c.orgs[0];
    // A live process whose command line does not name the home: this test.
    let me = std::process::id();
    pid::write(&pid_file(&layout, org), me).unwrap();
    assert!(!is_ours(&layout, me));
    assert_eq!(status(&c, &layout)[0].pid, None);
    assert!(!status(&c, &layout)[0].up);
    // Stopping leaves it alone (this test survives) and removes the stale pid file.
    assert!(stop_all(&c, &layout).unwrap().is_empty());
    assert!(!pid_file(&layout, org).exists());
}

#[test]
fn start_refuses_an_address_another_process_listens_on() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let c = one_hospital(port);
    let e = start_all(&c, &layout, Path::new("/nonexistent/healthblock")).unwrap_err();
    assert!(matches!(e, CustodianError::AddressInUse { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "cannot start the key custodian of Hospital1: 127.0.0.1:{port} is in use by another process"
        )
    );
    assert!(!pid_file(&layout, &c.orgs[0]).exists());
}

#[test]
fn start_reports_a_missing_binary_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let c = one_hospital(free_port());
    let e = start_all(&c, &layout, &dir.path().join("no-such-healthblock")).unwrap_err();
    let CustodianError::Spawn { org, source } = &e else {
        panic!("expected a spawn error, got {e:?}");
    };
    assert_eq!(org, "Hospital1");
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(e.to_string(), "cannot start the key custodian of Hospital1");
    assert!(!pid_file(&layout, &c.orgs[0]).exists());
}

/// A stand-in `healthblock` that records how it was started and exits without listening.
fn fake_healthblock(dir: &Path) -> PathBuf {
    let path = dir.join("fake-healthblock");
    let script = format!(
        "#!/bin/sh\n\
         echo \"$@\" > {out}\n\
         echo \"HEALTHBLOCK_LOG=$HEALTHBLOCK_LOG\" >> {out}\n\
         echo \"group leader: $(cut -d' ' -f1 /proc/$$/stat) $(cut -d' ' -f5 /proc/$$/stat)\" >> {out}\n\
         echo 'custodian: giving up' >&2\n\
         exit 3\n",
        out = dir.join("started").display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_custodian_that_exits_before_listening_is_reported_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let layout = Layout::new(&home);
    let fake = fake_healthblock(dir.path());
    let port = free_port();
    let c = one_hospital(port);
    let org = &c.orgs[0];
    // Another test thread forking while the script was open for writing makes
    // exec fail with ETXTBSY for a moment.
    let e = loop {
        match start_all(&c, &layout, &fake) {
            Err(CustodianError::Spawn { source, .. }) if source.raw_os_error() == Some(26) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(matches!(e, CustodianError::NotListening { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "the key custodian of Hospital1 did not start listening on 127.0.0.1:{port}; see {}",
            log_file(&layout, org).display()
        )
    );
    // The command line, environment and process group `network up` has always used.
    let started = std::fs::read_to_string(dir.path().join("started")).unwrap();
    let mut lines = started.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("--home {} custodian serve --org Hospital1", home.display())
    );
    assert_eq!(lines.next().unwrap(), "HEALTHBLOCK_LOG=info");
    let group = lines
        .next()
        .unwrap()
        .strip_prefix("group leader: ")
        .unwrap();
    let (leader, pgid) = group.split_once(' ').unwrap();
    assert_eq!(leader, pgid, "its own process group");
    // Its output went to its log; the pid file names the process, which is gone.
    let log = std::fs::read_to_string(log_file(&layout, org)).unwrap();
    assert!(log.contains("custodian: giving up"), "{log}");
    assert_eq!(
        pid::read(&pid_file(&layout, org)).unwrap(),
        Some(leader.parse().unwrap())
    );
    let s = &status(&c, &layout)[0];
    assert_eq!((s.pid, s.up), (None, false));
    assert!(stop_all(&c, &layout).unwrap().is_empty());
    assert!(!pid_file(&layout, org).exists());
}
