//! End-to-end tests against real `fabric-ca-server` v1.5.21 processes (no mocks).
//!
//! The server is built (or taken from the cache) by scripts/install-fabric-ca.sh;
//! if that fails (no Go, no C compiler) these tests FAIL with the script's output.

use fabric_msp::{Identity, Msp, Role as MspRole};
use healthblock_identity::users::{self, Hospital, NewUser};
use healthblock_identity::{IdentityError, Role, PSEUDONYM_ATTR, ROLE_ATTR};
use healthblock_network::ca;
use healthblock_network::consortium::Consortium;
use healthblock_network::cryptogen::{self, CryptoConfig};
use healthblock_network::layout::Layout;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds fabric-ca-server once per test run (cached across runs by the script).
fn ca_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = repo_root();
        let out = std::process::Command::new("bash")
            .arg(root.join("scripts/install-fabric-ca.sh"))
            .output()
            .expect("cannot run bash scripts/install-fabric-ca.sh");
        assert!(
            out.status.success(),
            "scripts/install-fabric-ca.sh failed ({}): fabric-ca-server is needed for these tests\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = root.join(".cache/bin/fabric-ca-server");
        assert!(bin.is_file(), "{} missing after the install script", bin.display());
        bin
    })
    .clone()
}

/// A free TCP port on 127.0.0.1 (the OS picks it; we release it for the CA).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The shipped consortium with free CA ports, and fresh material in a temp home.
fn network() -> (tempfile::TempDir, Layout, Consortium) {
    let path = repo_root().join("network/consortium.yaml");
    let mut c = Consortium::load(&path).expect("network/consortium.yaml is valid");
    for org in &mut c.orgs {
        org.ca_port = free_port();
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path().join("home"));
    cryptogen::generate(
        &CryptoConfig::from_consortium(&c),
        &layout.crypto_dir(),
        false,
    )
    .unwrap();
    (dir, layout, c)
}

/// Stops every CA under the layout when the test ends, even when it fails.
struct StopOnDrop(Layout);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = ca::stop_all(&self.0);
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_registered_enrolled_and_a_client_of_the_hospital_msp() {
    let bin = ca_server_bin();
    let (_dir, layout, c) = network();
    let _guard = StopOnDrop(layout.clone());
    let org = &c.orgs[0];
    let t = Instant::now();
    let status = ca::start(&c, &layout, org, &bin).await.expect("CA starts");
    eprintln!("CA start (cold, fresh home): {:?}", t.elapsed());
    assert!(status.up && !status.already_up, "{status:?}");
    assert_eq!(status.version.as_deref(), Some("1.5.21"));
    assert_eq!(status.ca_name, Some(ca::ca_name(org)));

    let h = Hospital::find(&c, &layout, "Hospital1").unwrap();
    let reg = users::register(
        &h,
        &NewUser {
            name: "alice".into(),
            role: Role::Doctor,
            pseudonym: None,
            secret: None,
        },
    )
    .await
    .expect("register alice");
    assert!(reg.secret.len() >= 8, "the CA generates a secret");

    // Wrong password: a clear refusal, and nothing in the wallet.
    let err = users::enroll(&h, "alice", "not-the-secret")
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Refused { status: 401, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("Hospital1 CA refused enroll"),
        "{err}"
    );
    eprintln!("wrong password: {err}");
    assert!(!h.wallet().contains("alice", "Hospital1"));

    let id = users::enroll(&h, "alice", &reg.secret)
        .await
        .expect("enroll");
    assert_eq!(id.role, Some(Role::Doctor));
    assert_eq!(id.mspid, "Hospital1MSP");

    // The certificate chains to the hospital's root and is a client by NodeOU.
    let entry = h.wallet().get("alice", "Hospital1").unwrap();
    let msp = Msp::from_dir(&org.mspid, &layout.org_msp_dir(org)).unwrap();
    let cert = Identity::from_pem(&org.mspid, &entry.cert_pem).unwrap();
    msp.validate(&cert, now())
        .expect("valid member of Hospital1MSP");
    assert_eq!(msp.role_of(&cert), MspRole::Client);
    assert_eq!(cert.ous, vec!["client".to_owned()]);
    assert_eq!(cert.subject_cn, "alice");
    assert_eq!(
        cert.attrs.get(ROLE_ATTR).map(String::as_str),
        Some("doctor")
    );
    assert!(cert.attr(PSEUDONYM_ATTR).is_none());

    // Not a member of another hospital.
    let other = &c.orgs[1];
    let other_msp = Msp::from_dir(&other.mspid, &layout.org_msp_dir(other)).unwrap();
    let as_other = Identity::from_pem(&other.mspid, &entry.cert_pem).unwrap();
    assert!(other_msp.validate(&as_other, now()).is_err());

    // Key file 0600, and it signs for the certificate.
    let key_mode = std::fs::metadata(entry.dir.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let signer = h.wallet().signing_identity("alice", "Hospital1").unwrap();
    let sig = signer.sign(b"record");
    cert.verify(b"record", &sig).unwrap();
    // ca.pem is the hospital's root.
    let root = std::fs::read(ca::identity_ca(&layout, org).cert).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&entry.ca_pem).trim(),
        String::from_utf8_lossy(&root).trim()
    );

    // A doctor is no registrar: its (valid) token is authenticated, then refused.
    let client = h.client().unwrap();
    let reg_req = healthblock_identity::client::Registration {
        name: "mallory".into(),
        kind: "client".into(),
        secret: String::new(),
        affiliation: ".".into(),
        attributes: vec![],
        ca_name: ca::ca_name(org),
    };
    let err = client.register(&signer, &reg_req).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::Refused { status: 403, .. }),
        "{err}"
    );

    // A patient carries the pseudonym; a secret can be chosen.
    let patient = NewUser {
        name: "p-0001".into(),
        role: Role::Patient,
        pseudonym: Some("9f2c1ab0".into()),
        secret: Some("patient-secret-1".into()),
    };
    let reg = users::register(&h, &patient).await.unwrap();
    assert_eq!(reg.secret, "patient-secret-1");
    let id = users::enroll(&h, "p-0001", "patient-secret-1")
        .await
        .unwrap();
    assert_eq!(id.pseudonym.as_deref(), Some("9f2c1ab0"));
    let cert = Identity::from_pem(
        &org.mspid,
        &h.wallet().get("p-0001", "Hospital1").unwrap().cert_pem,
    )
    .unwrap();
    assert_eq!(cert.attr(ROLE_ATTR), Some("patient"));
    assert_eq!(cert.attr(PSEUDONYM_ATTR), Some("9f2c1ab0"));

    // Registering the same name twice is refused by the CA.
    let err = users::register(&h, &patient).await.unwrap_err();
    assert!(matches!(err, IdentityError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("already registered"), "{err}");

    // The registrar's secret is in no log.
    let secret = ca::registrar(&layout, org).unwrap().secret;
    let log = std::fs::read_to_string(&status.log).unwrap();
    assert!(log.contains("Listening on https://127.0.0.1:"), "{log}");
    assert!(
        !log.contains(&secret),
        "registrar secret leaked into {}",
        status.log.display()
    );

    // A second start finds it up.
    let again = ca::start(&c, &layout, org, &bin).await.unwrap();
    assert!(again.already_up && again.pid == status.pid, "{again:?}");

    // CA down: a clear error naming the hospital and the URL.
    let stopped = ca::stop_all(&layout).unwrap();
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].stopped, status.pid);
    let err = users::enroll(&h, "alice", &reg.secret).await.unwrap_err();
    assert!(matches!(err, IdentityError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    eprintln!("CA down: {text}");
    assert!(
        text.contains("Hospital1 CA at https://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("healthblock network up"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hospital_gets_its_own_ca_and_status_lists_them() {
    let bin = ca_server_bin();
    let (_dir, layout, c) = network();
    let _guard = StopOnDrop(layout.clone());
    let t = Instant::now();
    let started = ca::start_all(&c, &layout, &bin)
        .await
        .expect("all CAs start");
    eprintln!(
        "start_all of {} CAs (parallel): {:?}",
        started.len(),
        t.elapsed()
    );
    assert_eq!(started.len(), 3);

    let all = ca::status(&c, &layout).await;
    for (s, org) in all.iter().zip(&c.orgs) {
        assert!(s.up && s.pid.is_some(), "{s:?}");
        assert_eq!(s.ca_name, Some(ca::ca_name(org)));
    }
    // Each CA issues under its own hospital's root.
    let h3 = Hospital::find(&c, &layout, "Hospital3MSP").unwrap();
    let reg = users::register(
        &h3,
        &NewUser {
            name: "nina".into(),
            role: Role::Nurse,
            pseudonym: None,
            secret: None,
        },
    )
    .await
    .unwrap();
    users::enroll(&h3, "nina", &reg.secret).await.unwrap();
    let org3 = &c.orgs[2];
    let cert = h3.wallet().get("nina", "Hospital3").unwrap().cert_pem;
    let msp = Msp::from_dir(&org3.mspid, &layout.org_msp_dir(org3)).unwrap();
    msp.validate(&Identity::from_pem(&org3.mspid, &cert).unwrap(), now())
        .expect("member of Hospital3MSP");

    let stopped = ca::stop_all(&layout).unwrap();
    assert_eq!(stopped.len(), 3);
    assert!(
        stopped.iter().all(|s| s.stopped.is_some() && !s.killed),
        "{stopped:?}"
    );
    for s in ca::status(&c, &layout).await {
        assert!(!s.up && s.pid.is_none(), "{s:?}");
    }
}

#[tokio::test]
async fn patient_rules_are_checked_before_the_ca_is_asked() {
    // No server: these must fail on the arguments alone.
    let (_dir, layout, c) = network();
    let h = Hospital::find(&c, &layout, "hospital2").unwrap();
    let user = |role, pseudonym: Option<&str>| NewUser {
        name: "bob".into(),
        role,
        pseudonym: pseudonym.map(str::to_owned),
        secret: None,
    };
    let err = users::register(&h, &user(Role::Patient, None))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("a patient needs --pseudonym"),
        "{err}"
    );
    let err = users::register(&h, &user(Role::Doctor, Some("x")))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only patients have a pseudonym"),
        "{err}"
    );
    let err = users::register(&h, &user(Role::Patient, Some("bad value")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::InvalidArgument { .. }),
        "{err}"
    );
    let err = Hospital::find(&c, &layout, "Hospital9").unwrap_err();
    assert!(
        err.to_string()
            .contains("known: Hospital1, Hospital2, Hospital3"),
        "{err}"
    );
}
