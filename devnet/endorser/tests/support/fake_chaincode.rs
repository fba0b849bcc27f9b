//! A tiny in-process chaincode-as-a-service server speaking the shim protocol,
//! driven by the invocation's args (arg 0 = what to do).

use fabric_proto::protos::chaincode_message::Type as T;
use fabric_proto::protos::chaincode_server::{Chaincode, ChaincodeServer};
use fabric_proto::protos::{
    ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage, GetHistoryForKey,
    GetQueryResult, GetState, GetStateByRange, GetStateMetadata, PutState, PutStateMetadata,
    QueryMetadata, QueryResponse, QueryStateNext, Response, StateMetadata, StateMetadataResult,
};
use prost::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Status, Streaming};

type Out = mpsc::Sender<Result<ChaincodeMessage, Status>>;

struct Svc {
    package_id: String,
    kill: watch::Receiver<bool>,
}

/// A running fake chaincode server.
pub(crate) struct FakeChaincode {
    pub addr: SocketAddr,
    kill: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeChaincode {
    /// Starts a server registering as `package_id` on `addr` (port 0 = any).
    pub(crate) async fn start(package_id: &str, addr: &str) -> Self {
        Self::start_with_tls(package_id, addr, None).await
    }

    /// Like [`Self::start`], serving TLS with (cert PEM, key PEM) when given.
    pub(crate) async fn start_with_tls(
        package_id: &str,
        addr: &str,
        tls: Option<(String, String)>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kill, kill_rx) = watch::channel(false);
        let svc = Svc {
            package_id: package_id.to_string(),
            kill: kill_rx,
        };
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let mut builder = tonic::transport::Server::builder();
        if let Some((cert, key)) = tls {
            let identity = tonic::transport::Identity::from_pem(cert, key);
            builder = builder
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .unwrap();
        }
        let task = tokio::spawn(async move {
            let _ = builder
                .add_service(ChaincodeServer::new(svc))
                .serve_with_incoming(incoming)
                .await;
        });
        Self { addr, kill, task }
    }

    /// `connection.json` for this server (no TLS).
    pub(crate) fn connection_json(&self) -> String {
        format!(
            r#"{{"address":"{}","dial_timeout":"3s","tls_required":false}}"#,
            self.addr
        )
    }

    /// Kills the server: open streams end with an error, the port is released.
    pub(crate) async fn stop(self) {
        let _ = self.kill.send(true);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.task.abort();
        let _ = self.task.await;
    }
}

#[tonic::async_trait]
impl Chaincode for Svc {
    type ConnectStream = Pin<Box<dyn Stream<Item = Result<ChaincodeMessage, Status>> + Send>>;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Self::ConnectStream>, Status> {
        let mut inbound = request.into_inner();
        let (out, out_rx) = mpsc::channel(64);
        let register = ChaincodeMessage {
            r#type: T::Register as i32,
            payload: ChaincodeId {
                name: self.package_id.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
            ..Default::default()
        };
        out.send(Ok(register)).await.unwrap();
        let mut kill = self.kill.clone();
        tokio::spawn(async move {
            let routes: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<ChaincodeMessage>>>> =
                Default::default();
            loop {
                tokio::select! {
                    _ = kill.changed() => {
                        let _ = out.send(Err(Status::unavailable("chaincode killed"))).await;
                        break;
                    }
                    msg = inbound.message() => {
                        let Ok(Some(msg)) = msg else { break };
                        match T::try_from(msg.r#type).unwrap() {
                            T::Registered | T::Ready | T::Keepalive => {}
                            T::Transaction | T::Init => {
                                let (tx, rx) = mpsc::unbounded_channel();
                                routes.lock().unwrap().insert(msg.txid.clone(), tx);
                                let (out, routes) = (out.clone(), routes.clone());
                                tokio::spawn(async move {
                                    let txid = msg.txid.clone();
                                    run_tx(msg, out, rx).await;
                                    routes.lock().unwrap().remove(&txid);
                                });
                            }
                            _ => {
                                if let Some(tx) = routes.lock().unwrap().get(&msg.txid) {
                                    let _ = tx.send(msg);
                                }
                            }
                        }
                    }
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(out_rx))))
    }
}

struct Tx {
    out: Out,
    rx: mpsc::UnboundedReceiver<ChaincodeMessage>,
    txid: String,
    channel: String,
}

impl Tx {
    async fn call(&mut self, kind: T, payload: Vec<u8>) -> ChaincodeMessage {
        let msg = ChaincodeMessage {
            r#type: kind as i32,
            payload,
            txid: self.txid.clone(),
            channel_id: self.channel.clone(),
            ..Default::default()
        };
        self.out.send(Ok(msg)).await.unwrap();
        self.rx.recv().await.expect("peer stopped answering")
    }

    /// A call that must succeed; returns the RESPONSE payload.
    async fn ok(&mut self, kind: T, payload: Vec<u8>) -> Vec<u8> {
        let reply = self.call(kind, payload).await;
        assert_eq!(
            reply.r#type,
            T::Response as i32,
            "{}",
            String::from_utf8_lossy(&reply.payload)
        );
        reply.payload
    }

    async fn get(&mut self, key: &str) -> Vec<u8> {
        self.ok(
            T::GetState,
            GetState {
                key: key.into(),
                collection: String::new(),
            }
            .encode_to_vec(),
        )
        .await
    }

    async fn put(&mut self, key: &str, value: &[u8]) {
        let req = PutState {
            key: key.into(),
            value: value.to_vec(),
            collection: String::new(),
        };
        self.ok(T::PutState, req.encode_to_vec()).await;
    }

    /// Runs a query to the end (following has_more); returns the number of results.
    async fn drain(&mut self, first: QueryResponse) -> usize {
        let mut resp = first;
        let mut count = resp.results.len();
        while resp.has_more {
            let next = QueryStateNext {
                id: resp.id.clone(),
            };
            resp = QueryResponse::decode(
                self.ok(T::QueryStateNext, next.encode_to_vec())
                    .await
                    .as_slice(),
            )
            .unwrap();
            count += resp.results.len();
        }
        count
    }

    async fn complete(self, response: Response, event: Option<ChaincodeEvent>) {
        let msg = ChaincodeMessage {
            r#type: T::Completed as i32,
            payload: response.encode_to_vec(),
            txid: self.txid.clone(),
            channel_id: self.channel.clone(),
            chaincode_event: event,
            ..Default::default()
        };
        let _ = self.out.send(Ok(msg)).await;
    }
}

fn ok(payload: impl Into<Vec<u8>>) -> Response {
    Response {
        status: 200,
        message: String::new(),
        payload: payload.into(),
    }
}

async fn run_tx(msg: ChaincodeMessage, out: Out, rx: mpsc::UnboundedReceiver<ChaincodeMessage>) {
    let input = ChaincodeInput::decode(msg.payload.as_slice()).unwrap();
    let args: Vec<String> = input
        .args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let mut tx = Tx {
        out,
        rx,
        txid: msg.txid.clone(),
        channel: msg.channel_id.clone(),
    };
    assert!(
        msg.proposal.is_some(),
        "TRANSACTION must carry the signed proposal"
    );
    let mut event = None;
    let response = match arg(0).as_str() {
        "get" => ok(tx.get(&arg(1)).await),
        "put" => {
            tx.put(&arg(1), arg(2).as_bytes()).await;
            ok("")
        }
        "readwrite" => {
            tx.get(&arg(1)).await;
            tx.put(&arg(1), arg(2).as_bytes()).await;
            ok("")
        }
        // Writes then reads the same key: Fabric returns the committed value.
        "readyourwrite" => {
            tx.put(&arg(1), arg(2).as_bytes()).await;
            ok(tx.get(&arg(1)).await)
        }
        "del" => {
            let req = fabric_proto::protos::DelState {
                key: arg(1),
                collection: String::new(),
            };
            tx.ok(T::DelState, req.encode_to_vec()).await;
            ok("")
        }
        "range" => {
            let req = GetStateByRange {
                start_key: arg(1),
                end_key: arg(2),
                ..Default::default()
            };
            let first = QueryResponse::decode(
                tx.ok(T::GetStateByRange, req.encode_to_vec())
                    .await
                    .as_slice(),
            )
            .unwrap();
            let n = tx.drain(first).await;
            tx.put("count-out", n.to_string().as_bytes()).await;
            ok(n.to_string())
        }
        "page" => {
            let req = GetStateByRange {
                start_key: arg(1),
                end_key: arg(2),
                collection: String::new(),
                metadata: QueryMetadata {
                    page_size: arg(3).parse().unwrap(),
                    bookmark: String::new(),
                }
                .encode_to_vec(),
            };
            let resp = QueryResponse::decode(
                tx.ok(T::GetStateByRange, req.encode_to_vec())
                    .await
                    .as_slice(),
            )
            .unwrap();
            let md = fabric_proto::protos::QueryResponseMetadata::decode(resp.metadata.as_slice())
                .unwrap();
            ok(format!("{} {}", resp.results.len(), md.bookmark))
        }
        "setpolicy" => {
            let req = PutStateMetadata {
                key: arg(1),
                collection: String::new(),
                metadata: Some(StateMetadata {
                    metakey: "VALIDATION_PARAMETER".into(),
                    value: hex_decode(&arg(2)),
                }),
            };
            tx.ok(T::PutStateMetadata, req.encode_to_vec()).await;
            ok("")
        }
        "getmeta" => {
            let req = GetStateMetadata {
                key: arg(1),
                collection: String::new(),
            };
            let res = StateMetadataResult::decode(
                tx.ok(T::GetStateMetadata, req.encode_to_vec())
                    .await
                    .as_slice(),
            )
            .unwrap();
            ok(res
                .entries
                .iter()
                .map(|e| e.metakey.clone())
                .collect::<Vec<_>>()
                .join(","))
        }
        "history" => {
            let req = GetHistoryForKey { key: arg(1) };
            let first = QueryResponse::decode(
                tx.ok(T::GetHistoryForKey, req.encode_to_vec())
                    .await
                    .as_slice(),
            )
            .unwrap();
            ok(tx.drain(first).await.to_string())
        }
        "rich" => {
            let req = GetQueryResult {
                query: "{}".into(),
                ..Default::default()
            };
            let reply = tx.call(T::GetQueryResult, req.encode_to_vec()).await;
            assert_eq!(reply.r#type, T::Error as i32);
            Response {
                status: 500,
                message: String::from_utf8_lossy(&reply.payload).to_string(),
                payload: Vec::new(),
            }
        }
        "private" => {
            let req = GetState {
                key: "k".into(),
                collection: "secret".into(),
            };
            let reply = tx.call(T::GetState, req.encode_to_vec()).await;
            assert_eq!(reply.r#type, T::Error as i32);
            Response {
                status: 500,
                message: String::from_utf8_lossy(&reply.payload).to_string(),
                payload: Vec::new(),
            }
        }
        "event" => {
            tx.put(&arg(1), arg(2).as_bytes()).await;
            event = Some(ChaincodeEvent {
                event_name: "kv_put".into(),
                payload: format!("{}={}", arg(1), arg(2)).into_bytes(),
                ..Default::default()
            });
            ok("")
        }
        "fail" => Response {
            status: 500,
            message: "boom".into(),
            payload: Vec::new(),
        },
        "hang" => {
            // Never answers; the peer must give up on its own.
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return;
        }
        other => Response {
            status: 400,
            message: format!("unknown function {other}"),
            payload: Vec::new(),
        },
    };
    tx.complete(response, event).await;
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
