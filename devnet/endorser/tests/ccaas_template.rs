//! One CCaaS package, a chaincode server per peer: each peer renders the
//! package's `connection.json` templates with its own builder configuration
//! (Fabric's `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`), as Fabric's CCaaS
//! builder does, and dials the server that names.

mod support;

use fabric_package::ccaas_template::parse_config;
use fabric_package::{build_ccaas_package, CcaasConnection};
use fabric_proto::lifecycle::{InstallChaincodeArgs, InstallChaincodeResult};
use prost::Message;
use std::time::Duration;
use support::fake_chaincode::FakeChaincode;
use support::*;

const CC: &str = "kvcc";

/// A free loopback port (reserved and released; the server binds it next).
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

async fn install(peer: &Peer, admin: &fabric_msp::SigningIdentity, package: &[u8]) -> String {
    let args = InstallChaincodeArgs {
        chaincode_install_package: package.to_vec(),
    }
    .encode_to_vec();
    let prop = proposal(admin, "", "_lifecycle", &[b"InstallChaincode", &args]);
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    let r = resp.response.unwrap();
    assert_eq!(r.status, 200, "{}", r.message);
    InstallChaincodeResult::decode(r.payload.as_slice())
        .unwrap()
        .package_id
}

/// Invokes `put` on `peer`; the response's status and message.
async fn put(peer: &Peer, net: &Net, value: &str) -> (i32, String) {
    let prop = proposal(
        &net.orgs[0].client,
        CHANNEL,
        CC,
        &[b"put", b"k", value.as_bytes()],
    );
    let resp = peer.endorser.process_proposal(&prop.signed).await.unwrap();
    let r = resp.response.unwrap();
    (r.status, r.message)
}

#[tokio::test]
async fn each_peer_dials_the_server_its_config_names() {
    let net = Net::new(2);
    let connection = CcaasConnection {
        dial_timeout: "{{.timeout}}".into(),
        ..CcaasConnection::plaintext("{{.host}}:{{.ccport}}")
    };
    let package = build_ccaas_package("kvcc_1.0", &connection).unwrap().bytes;
    let (port_a, port_b) = (free_port(), free_port());
    let config = |port: u16| {
        parse_config(&format!(
            r#"{{"host":"127.0.0.1","ccport":{port},"timeout":"3s"}}"#
        ))
        .unwrap()
    };
    let timeout = Duration::from_secs(30);
    let peer_a = net.peer_with(0, timeout, config(port_a));
    let peer_b = net.peer_with(0, timeout, config(port_b));
    let package_id = install(&peer_a, &net.orgs[0].admin, &package).await;
    assert_eq!(
        install(&peer_b, &net.orgs[0].admin, &package).await,
        package_id
    );
    define_chaincode(&peer_a.ledger, &net, CC, &package_id);
    define_chaincode(&peer_b.ledger, &net, CC, &package_id);

    // Only peer A's server runs: A endorses, B cannot reach its own.
    let server_a = FakeChaincode::start(&package_id, &format!("127.0.0.1:{port_a}")).await;
    assert_eq!(put(&peer_a, &net, "from-a").await, (200, String::new()));
    let (code, message) = put(&peer_b, &net, "from-b").await;
    assert_eq!(
        code, 500,
        "peer B must not reach peer A's server: {message}"
    );

    // With B's server up too, B endorses through it.
    let _server_b = FakeChaincode::start(&package_id, &format!("127.0.0.1:{port_b}")).await;
    assert_eq!(put(&peer_b, &net, "from-b").await, (200, String::new()));
    drop(server_a);
}

#[tokio::test]
async fn a_template_key_the_peer_lacks_fails_the_proposal() {
    let net = Net::new(2);
    let connection = CcaasConnection::plaintext("{{.peername}}.kv:9999");
    let package = build_ccaas_package("kvcc_1.0", &connection).unwrap().bytes;
    let peer = net.peer_with(
        0,
        Duration::from_secs(30),
        parse_config(r#"{"other":"x"}"#).unwrap(),
    );
    let package_id = install(&peer, &net.orgs[0].admin, &package).await;
    define_chaincode(&peer.ledger, &net, CC, &package_id);
    let (code, message) = put(&peer, &net, "v").await;
    assert_eq!(code, 500);
    assert!(
        message.contains("the address field template")
            && message.contains("map has no entry for key \"peername\""),
        "{message}"
    );
}
