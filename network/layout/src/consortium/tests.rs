use super::*;

fn shipped_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../consortium.yaml")
}

fn shipped() -> Consortium {
    Consortium::load(&shipped_path()).expect("network/consortium.yaml is valid")
}

fn shipped_text() -> String {
    std::fs::read_to_string(shipped_path()).unwrap()
}

#[test]
fn shipped_description_has_the_agreed_shape() {
    let c = shipped();
    assert_eq!(c.backend, Backend::Devnet);
    assert_eq!(c.channel, "ehr");
    assert_eq!(c.host, "127.0.0.1");
    assert_eq!(c.batch.timeout, Duration::from_millis(250));
    assert_eq!(c.batch.max_message_count, 100);
    assert_eq!(c.batch.absolute_max_bytes, 103_809_024);
    assert_eq!(c.batch.preferred_max_bytes, 524_288);
    assert_eq!(c.policies.endorsement, "MAJORITY Endorsement");
    assert_eq!(c.policies.lifecycle_endorsement, "ALL Endorsement");
    assert_eq!(c.orderer_org.mspid, "OrdererMSP");
    let orderers: Vec<_> = c
        .orderer_org
        .orderers
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(orderers, ["orderer0", "orderer1", "orderer2"]);
    let orgs: Vec<_> = (c.orgs.iter())
        .map(|o| (o.mspid.as_str(), o.peers.len()))
        .collect();
    assert_eq!(
        orgs,
        [
            ("Hospital1MSP", 2),
            ("Hospital2MSP", 1),
            ("Hospital3MSP", 1)
        ]
    );
    assert_eq!(
        c.orgs[0].fqdn(&c.orgs[0].peers[1]),
        "peer1.hospital1.healthblock.test"
    );
    // 3 orderers x 3 ports + 4 peers x 3 ports + 3 CAs + 3 key custodians.
    assert_eq!(c.ports().len(), 27);
    let (min, max) = c.port_span();
    assert!(
        min >= 7000 && max <= 9999,
        "ports {min}..{max} leave 7000-9999"
    );
}

#[test]
fn backend_defaults_to_devnet() {
    let text = shipped_text().replace("backend: devnet\n", "");
    assert_eq!(
        Consortium::from_yaml(&text).unwrap().backend,
        Backend::Devnet
    );
    let text = shipped_text().replace("backend: devnet", "backend: fabric");
    assert_eq!(
        Consortium::from_yaml(&text).unwrap().backend,
        Backend::Fabric
    );
}

#[test]
fn unknown_backend_is_a_clear_error() {
    let text = shipped_text().replace("backend: devnet", "backend: besu");
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(
        err.contains("besu") && err.contains("devnet") && err.contains("fabric"),
        "{err}"
    );
}

#[test]
fn bad_duration_is_a_clear_error() {
    let text = shipped_text().replace("timeout: 250ms", "timeout: quickly");
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains("timeout") || err.contains("quickly"), "{err}");
    let text = shipped_text().replace("timeout: 250ms", "timeout: 0s");
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains("timeout must be greater than zero"), "{err}");
}

#[test]
fn duplicate_port_names_both_users() {
    let text = shipped_text().replace("listen: 7021", "listen: 7011");
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains("duplicate port 7011"), "{err}");
    assert!(
        err.contains("peer0.hospital1.healthblock.test listen"),
        "{err}"
    );
    assert!(
        err.contains("peer0.hospital2.healthblock.test listen"),
        "{err}"
    );
}

#[test]
fn duplicate_mspid_and_unknown_field_rejected() {
    let text = shipped_text().replace("mspid: Hospital2MSP", "mspid: Hospital1MSP");
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains("mspid Hospital1MSP is used by both"), "{err}");
    let text = shipped_text().replace("channel: ehr", "channel: ehr\nchanel: typo");
    assert!(Consortium::from_yaml(&text).is_err());
}

#[test]
fn batch_limits_are_checked() {
    let text = shipped_text().replace(
        "preferred_max_bytes: 524288",
        "preferred_max_bytes: 203809024",
    );
    let err = Consortium::from_yaml(&text).unwrap_err().to_string();
    assert!(err.contains("exceeds absolute_max_bytes"), "{err}");
}

#[test]
fn port_offset_moves_every_port() {
    let c = shipped();
    let (min, max) = c.port_span();
    let offset = max - min + 1;
    let shifted = c.with_port_offset(offset).unwrap();
    let before: Vec<u16> = c.ports().iter().map(|(p, _)| *p).collect();
    let after: Vec<u16> = shifted.ports().iter().map(|(p, _)| *p).collect();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(*a, b + offset);
        // Disjoint from the original network.
        assert!(!before.contains(a));
    }
    assert!(c.with_port_offset(u16::MAX - 100).is_err());
}

#[test]
fn load_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, "name: [").unwrap();
    let err = Consortium::load(&path).unwrap_err().to_string();
    assert!(err.contains("c.yaml"), "{err}");
    let err = Consortium::load(&dir.path().join("missing.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.yaml"), "{err}");
}
