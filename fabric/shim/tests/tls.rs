//! The server over TLS and mutual TLS, with certificates from a throwaway CA.

mod common;

use common::*;
use fabric_proto::protos::chaincode_message::Type;
use fabric_shim::{ServerConfig, TlsConfig};
use healthblock_test_support::TestCa;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca = TestCa::root("tlsca.test", None);
    let leaf = |names: &[&str]| {
        let leaf = ca.leaf(names[0]).sans(names).issue();
        (leaf.cert_pem, leaf.key_pem)
    };
    Pki {
        ca_pem: ca.pem(),
        server: leaf(&["localhost", "127.0.0.1"]),
        client: leaf(&["peer0.org1.example.com"]),
    }
}

async fn start_tls_server(pki: &Pki, mutual: bool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ServerConfig::new(addr.to_string(), PACKAGE_ID).with_tls(TlsConfig {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: mutual.then(|| pki.ca_pem.clone().into_bytes()),
    });
    tokio::spawn(fabric_shim::serve_with_listener(
        TestContract,
        config,
        listener,
        std::future::pending(),
    ));
    addr
}

async fn tls_peer(
    addr: std::net::SocketAddr,
    pki: &Pki,
    with_client_cert: bool,
) -> Result<ScriptedPeer, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if with_client_cert {
        tls = tls.identity(Identity::from_pem(&pki.client.0, &pki.client.1));
    }
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(ScriptedPeer::open(channel).await)
}

async fn echo_round_trip(peer: &mut ScriptedPeer) {
    peer.handshake().await;
    peer.send(transaction(
        Type::Transaction,
        "tx-tls",
        &["echo", "secure"],
    ))
    .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"secure");
}

#[tokio::test]
async fn serves_over_tls() {
    let pki = pki();
    let addr = start_tls_server(&pki, false).await;
    let mut peer = tls_peer(addr, &pki, false).await.expect("TLS connect");
    echo_round_trip(&mut peer).await;
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let pki = pki();
    let addr = start_tls_server(&pki, true).await;
    let mut peer = tls_peer(addr, &pki, true).await.expect("mTLS connect");
    echo_round_trip(&mut peer).await;

    // Without a client certificate the server refuses the TLS handshake.
    let refused = tokio::spawn(async move { tls_peer(addr, &pki, false).await.map(|_| ()) });
    let outcome = refused.await;
    assert!(
        matches!(outcome, Err(_) | Ok(Err(_))),
        "a peer without a client certificate must not get a stream"
    );
}
