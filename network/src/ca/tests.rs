//! Unit tests of the CA servers' files and failure paths (the real server is
//! exercised end to end by healthblock-identity's tests).

use super::*;
use crate::cryptogen::{self, CryptoConfig};
use std::os::unix::fs::PermissionsExt;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

fn consortium() -> Consortium {
    crate::test_support::description_offset()
}

/// A layout in a temp dir with freshly generated identity material.
fn material() -> (tempfile::TempDir, Layout, Consortium) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let c = consortium();
    cryptogen::generate(
        &CryptoConfig::from_consortium(&c),
        &layout.crypto_dir(),
        false,
    )
    .unwrap();
    (dir, layout, c)
}

fn pem_der(bytes: &[u8]) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(bytes).expect("PEM certificate");
    pem.contents
}

#[test]
fn paths_live_under_the_home() {
    let layout = Layout::new("/h");
    let c = consortium();
    let org = &c.orgs[0];
    let p = CaPaths::new(&layout, org);
    assert_eq!(p.server_home, Path::new("/h/ca/hospital1.healthblock.test"));
    assert_eq!(
        p.pid_file,
        Path::new("/h/run/ca-hospital1.healthblock.test.pid")
    );
    assert_eq!(
        p.log,
        Path::new("/h/logs/ca-hospital1.healthblock.test.log")
    );
    assert_eq!(
        p.registrar_file,
        Path::new("/h/ca/hospital1.healthblock.test/registrar.json")
    );
    assert_eq!(url(&c, org), format!("https://127.0.0.1:{}", org.ca_port));
    assert_eq!(CaPaths::for_process(&layout, &process_name(org)), p);
}

#[test]
fn org_ca_files_are_found_in_generated_material() {
    let (_dir, layout, c) = material();
    let org = &c.orgs[1];
    let id = identity_ca(&layout, org);
    assert!(id.cert.is_file(), "{}", id.cert.display());
    assert!(id.key.is_file());
    let tls = tls_ca(&layout, org);
    assert!(tls
        .cert
        .ends_with(format!("tlsca/tlsca.{}-cert.pem", org.domain)));
    assert!(tls.key.is_file());
}

#[test]
fn server_tls_cert_chains_to_the_org_tls_root_and_names_the_host() {
    let (dir, layout, c) = material();
    let org = &c.orgs[0];
    let root = tls_ca(&layout, org);
    let cert_path = dir.path().join("t/server.crt");
    let key_path = dir.path().join("t/server.key");
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    tls::write_server_cert(&root, "ca.test", &names, &cert_path, &key_path).unwrap();

    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "TLS key must be owner-only");
    let leaf_der = pem_der(&std::fs::read(&cert_path).unwrap());
    let root_der = pem_der(&std::fs::read(&root.cert).unwrap());
    let (_, leaf) = X509Certificate::from_der(&leaf_der).unwrap();
    let (_, ca) = X509Certificate::from_der(&root_der).unwrap();
    leaf.verify_signature(Some(ca.public_key()))
        .expect("server certificate is signed by the org's TLS CA");
    let sans = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => Some(s.general_names.clone()),
            _ => None,
        })
        .expect("SAN extension");
    assert!(sans
        .iter()
        .any(|n| matches!(n, GeneralName::IPAddress(ip) if *ip == [127, 0, 0, 1])));
    assert!(sans
        .iter()
        .any(|n| matches!(n, GeneralName::DNSName("localhost"))));
}

#[test]
fn registrar_secret_is_random_private_and_stable() {
    let (_dir, layout, c) = material();
    let p1 = CaPaths::new(&layout, &c.orgs[0]);
    let p2 = CaPaths::new(&layout, &c.orgs[1]);
    assert!(matches!(
        registrar(&layout, &c.orgs[0]),
        Err(RegistrarError::NoRegistrar(_))
    ));
    let r1 = registrar::load_or_create(&p1).unwrap();
    let r2 = registrar::load_or_create(&p2).unwrap();
    assert_eq!(r1.name, REGISTRAR_NAME);
    assert_ne!(r1.secret, r2.secret);
    assert_eq!(r1.secret.len(), 36);
    assert_eq!(registrar(&layout, &c.orgs[0]).unwrap(), r1);
    assert!(
        !format!("{r1:?}").contains(&r1.secret),
        "Debug must not show the secret"
    );
    let mode = std::fs::metadata(&p1.registrar_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let home_mode = std::fs::metadata(&p1.server_home)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(home_mode & 0o777, 0o700);
}

#[test]
fn initialised_server_without_registrar_is_a_clear_error() {
    let (_dir, layout, c) = material();
    let p = CaPaths::new(&layout, &c.orgs[0]);
    std::fs::create_dir_all(&p.server_home).unwrap();
    std::fs::write(p.server_config(), "port: 1\n").unwrap();
    let err = registrar::load_or_create(&p).unwrap_err().to_string();
    assert!(err.contains("registrar.json is missing"), "{err}");
}

#[tokio::test]
async fn start_without_binary_or_material_fails_clearly() {
    let (_dir, layout, c) = material();
    let org = &c.orgs[0];
    let missing_bin = layout.home().join("no-such-fabric-ca-server");
    let err = start(&c, &layout, org, &missing_bin).await.unwrap_err();
    assert!(matches!(err, CaError::MissingBinary(_)), "{err}");
    assert!(err.to_string().contains("install-fabric-ca.sh"));

    let empty = tempfile::tempdir().unwrap();
    let bare = Layout::new(empty.path());
    let some_file = std::env::current_exe().unwrap();
    let err = start(&c, &bare, org, &some_file).await.unwrap_err();
    assert!(matches!(err, CaError::MissingMaterial(_)), "{err}");
    assert!(!CaPaths::new(&bare, org).pid_file.exists());
}

#[tokio::test]
async fn a_server_that_fails_is_reported_and_leaves_no_pid_file() {
    let (_dir, layout, c) = material();
    let org = &c.orgs[2];
    let paths = CaPaths::new(&layout, org);
    // `false` exits with status 1 whatever its arguments: first the one-off init fails ...
    let err = start(&c, &layout, org, Path::new("/bin/false"))
        .await
        .unwrap_err();
    assert!(matches!(err, CaError::Init { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("initialising the Hospital3 CA failed"));
    // ... and once initialised, the server itself exits during start-up.
    std::fs::write(paths.server_config(), "port: 1\n").unwrap();
    let err = start(&c, &layout, org, Path::new("/bin/false"))
        .await
        .unwrap_err();
    assert!(matches!(err, CaError::Exited { .. }), "{err}");
    assert!(!paths.pid_file.exists());
}

#[tokio::test]
async fn status_and_stop_with_nothing_running() {
    let (_dir, layout, c) = material();
    let all = status(&c, &layout).await;
    assert_eq!(all.len(), c.orgs.len());
    for s in &all {
        assert!(!s.up && s.pid.is_none(), "{s:?}");
        assert!(s.error.as_deref().unwrap_or("").starts_with("not running"));
    }
    assert!(stop_all(&layout).unwrap().is_empty());
    // A stale pid file is cleared.
    let p = CaPaths::new(&layout, &c.orgs[0]);
    std::fs::create_dir_all(layout.run_dir()).unwrap();
    std::fs::write(&p.pid_file, "999999999\n").unwrap();
    let reports = stop_all(&layout).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].stopped, None);
    assert!(!p.pid_file.exists());
}
