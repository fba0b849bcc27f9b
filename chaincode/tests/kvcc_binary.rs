//! Runs the real `healthblock-kvcc` binary with the CCaaS environment and
//! drives it as a peer would over plaintext gRPC.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fabric_proto::protos::chaincode_client::ChaincodeClient;
use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{ChaincodeId, ChaincodeInput, ChaincodeMessage, PutState, Response};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

const PACKAGE_ID: &str = "kvcc_1.0:feedface";

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn connect_with_retry(address: &str) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let endpoint = Endpoint::from_shared(format!("http://{address}")).expect("endpoint");
        match endpoint.connect().await {
            Ok(channel) => return channel,
            Err(e) if Instant::now() > deadline => panic!("server never came up: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn next(stream: &mut tonic::Streaming<ChaincodeMessage>) -> ChaincodeMessage {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("timed out")
        .expect("stream error")
        .expect("stream ended")
}

fn typed(kind: Type) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: kind as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn binary_registers_and_serves_a_transaction() {
    let address = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_healthblock-kvcc"))
        .env("CHAINCODE_SERVER_ADDRESS", &address)
        .env("CHAINCODE_ID", PACKAGE_ID)
        .env("CHAINCODE_TLS_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start healthblock-kvcc");
    let _server = Server(child);

    let channel = connect_with_retry(&address).await;
    let (to_shim, receiver) = mpsc::channel(16);
    let mut from_shim = ChaincodeClient::new(channel)
        .connect(ReceiverStream::new(receiver))
        .await
        .expect("Connect")
        .into_inner();

    let register = next(&mut from_shim).await;
    assert_eq!(register.r#type, Type::Register as i32);
    assert_eq!(
        ChaincodeId::decode(register.payload.as_slice())
            .unwrap()
            .name,
        PACKAGE_ID
    );
    to_shim.send(typed(Type::Registered)).await.unwrap();
    to_shim.send(typed(Type::Ready)).await.unwrap();

    let input = ChaincodeInput {
        args: vec![
            b"putevent".to_vec(),
            b"event-key".to_vec(),
            b"event-value".to_vec(),
        ],
        ..Default::default()
    };
    to_shim
        .send(ChaincodeMessage {
            r#type: Type::Transaction as i32,
            payload: input.encode_to_vec(),
            txid: "tx-bin".into(),
            channel_id: "ehr".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let put = next(&mut from_shim).await;
    assert_eq!(put.r#type, Type::PutState as i32);
    let body = PutState::decode(put.payload.as_slice()).unwrap();
    assert_eq!(
        (body.key.as_str(), body.value.as_slice()),
        ("event-key", &b"event-value"[..])
    );
    to_shim
        .send(ChaincodeMessage {
            r#type: Type::Response as i32,
            txid: put.txid.clone(),
            channel_id: put.channel_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let done = next(&mut from_shim).await;
    assert_eq!(done.r#type, Type::Completed as i32);
    let response = Response::decode(done.payload.as_slice()).unwrap();
    assert_eq!(
        (response.status, response.payload.as_slice()),
        (200, &b"event-key"[..])
    );
    let event = done.chaincode_event.expect("event");
    assert_eq!(
        (event.event_name.as_str(), event.payload.as_slice()),
        ("kv_put", &b"event-key=event-value"[..])
    );
}

#[test]
fn binary_refuses_to_start_without_configuration() {
    let output = Command::new(env!("CARGO_BIN_EXE_healthblock-kvcc"))
        .env_remove("CHAINCODE_SERVER_ADDRESS")
        .env_remove("CHAINCODE_ID")
        .output()
        .expect("run healthblock-kvcc");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CHAINCODE_SERVER_ADDRESS"), "{stderr}");
}
