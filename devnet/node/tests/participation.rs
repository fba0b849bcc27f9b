//! The devnet orderer's channel participation API over mutual TLS, called by
//! our participation client (the same requests `osnadmin` sends; the Fabric
//! tool itself is run against the devnet in the end-to-end suite).

mod common;

use common::{Fixture, OrgCas};
use fabric_client::admin::participation::{ParticipationClient, ParticipationEndpoint};
use fabric_client::error::Error;
use std::time::Duration;

fn client(fx: &Fixture, admin: std::net::SocketAddr, issuer: &OrgCas) -> ParticipationClient {
    let (cert, key) = issuer.tls_client("Admin@example.com");
    ParticipationClient::new(&ParticipationEndpoint {
        address: admin.to_string(),
        tls_ca_pem: std::fs::read(&fx.config.orderer.tls.ca).unwrap(),
        client_cert_pem: cert.into_bytes(),
        client_key_pem: key.into_bytes(),
        server_name_override: Some("localhost".into()),
    })
    .unwrap()
}

fn refusal(e: Error) -> (u16, String) {
    match e {
        Error::Participation {
            status, message, ..
        } => (status, message),
        other => panic!("expected an answer from the API, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_reads_and_refuses_as_fabric() {
    let fx = Fixture::new(1, Duration::from_millis(200), 10);
    let devnet = fx.start().await;
    let admin = devnet.orderer_admin_address().expect("an admin listener");
    let api = client(&fx, admin, &fx.orderer_org);

    let list = api.list().await.unwrap();
    assert!(list.system_channel.is_none());
    let names: Vec<_> = list
        .channels
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.url))
        .collect();
    assert_eq!(
        names,
        [(
            "ehr".to_owned(),
            "/participation/v1/channels/ehr".to_owned()
        )]
    );

    let info = api.channel_info("ehr").await.unwrap();
    assert_eq!(info.status, "active");
    assert_eq!(info.consensus_relation, "consenter");
    assert!(info.height >= 1, "the genesis block at least");

    let (status, message) = refusal(api.channel_info("other").await.unwrap_err());
    assert_eq!((status, message.as_str()), (404, "channel does not exist"));

    // Joining the channel it serves again: Fabric's answer.
    let genesis = genesis_block(&fx, &devnet).await;
    let (status, message) = refusal(api.join(&genesis).await.unwrap_err());
    assert_eq!(
        (status, message.as_str()),
        (405, "cannot join: channel already exists")
    );

    // Removing the devnet's one channel is refused, with the reason.
    let (status, message) = refusal(api.remove("ehr").await.unwrap_err());
    assert_eq!(status, 405);
    assert!(message.starts_with("cannot remove"), "{message}");

    // A client whose TLS certificate another CA issued gets no answer at all.
    let foreign = OrgCas::new("Org1MSP", "org1.example.com");
    let err = client(&fx, admin, &foreign).list().await.unwrap_err();
    let (status, message) = refusal(err);
    // Status 0: no HTTP answer; the server's TLS alert names the unknown issuer.
    assert_eq!(status, 0, "{message}");
    assert!(message.contains("UnknownCA"), "{message}");
}

/// Block 0 as the peer serves it (qscc GetBlockByNumber, channel-less). The
/// peer commits the genesis block in the background after start, so "no
/// blocks" is asked again for a while (a loaded machine may take a moment).
async fn genesis_block(fx: &Fixture, devnet: &devnet::Devnet) -> Vec<u8> {
    use fabric_proto::protos::endorser_client::EndorserClient;
    let mut peer = EndorserClient::new(fx.peer_channel(devnet, 0).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (sp, _) = common::tx::proposal(
            &fx.client(0),
            "",
            "qscc",
            &[b"GetBlockByNumber", b"ehr", b"0"],
        );
        let resp = peer.process_proposal(sp).await.unwrap().into_inner();
        let r = resp.response.unwrap();
        if r.status != 200
            && r.message.contains("the channel has no blocks")
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.message);
        return r.payload;
    }
}
