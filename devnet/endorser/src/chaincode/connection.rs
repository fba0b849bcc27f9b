//! One peer's stream to one chaincode-as-a-service server.
//!
//! Owns: dialling the server (TLS when `connection.json` asks for it), the
//! REGISTER / REGISTERED / READY handshake, the single serialised sender,
//! and routing every message the chaincode sends to the transaction it
//! belongs to, by (channel id, txid). When the stream ends every waiting
//! transaction is told so; the next invocation dials again.

use crate::error::{EndorserError, Result};
use crate::package::CcaasConnection;
use fabric_proto::protos::chaincode_client::ChaincodeClient;
use fabric_proto::protos::chaincode_message::Type as MsgType;
use fabric_proto::protos::{ChaincodeId, ChaincodeMessage};
use prost::Message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// Fabric peers accept messages up to 100 MiB.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

/// How long the chaincode has to send REGISTER after the stream opens.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Outbound queue depth; senders wait when the chaincode does not keep up.
const OUTBOUND_QUEUE: usize = 256;

type Route = mpsc::UnboundedSender<ChaincodeMessage>;

/// Fabric's words for a send on a stream that has ended.
pub(crate) const STREAM_TERMINATED: &str = "chaincode stream terminated";

/// A live stream to a chaincode server.
#[derive(Debug)]
pub struct Connection {
    package_id: String,
    outbound: mpsc::Sender<ChaincodeMessage>,
    routes: Mutex<HashMap<(String, String), Route>>,
    closed: AtomicBool,
}

/// Removes a transaction's route when the transaction ends, however it ends.
pub struct RouteGuard {
    conn: Arc<Connection>,
    key: (String, String),
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        self.conn.lock_routes().remove(&self.key);
    }
}

impl Connection {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.outbound.is_closed()
    }

    fn lock_routes(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Route>> {
        // A poisoned lock only means another thread panicked while holding it;
        // the map itself is still consistent (single insert/remove operations).
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a transaction; the chaincode's messages for it arrive on the returned receiver.
    pub fn register(
        self: &Arc<Self>,
        channel: &str,
        txid: &str,
    ) -> Result<(RouteGuard, mpsc::UnboundedReceiver<ChaincodeMessage>)> {
        let key = (channel.to_string(), txid.to_string());
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut routes = self.lock_routes();
            if routes.contains_key(&key) {
                return Err(EndorserError::refused(format!(
                    "txid: {txid}({channel}) exists"
                )));
            }
            if self.is_closed() {
                return Err(EndorserError::refused(STREAM_TERMINATED));
            }
            routes.insert(key.clone(), tx);
        }
        Ok((
            RouteGuard {
                conn: self.clone(),
                key,
            },
            rx,
        ))
    }

    /// Queues a message to the chaincode (all sends go through one queue, so they never interleave).
    pub async fn send(&self, msg: ChaincodeMessage) -> Result<()> {
        self.outbound
            .send(msg)
            .await
            .map_err(|_| EndorserError::refused(STREAM_TERMINATED))
    }

    fn route(&self, msg: ChaincodeMessage) {
        let key = (msg.channel_id.clone(), msg.txid.clone());
        let routes = self.lock_routes();
        match routes.get(&key) {
            Some(tx) => {
                // The receiver is gone only if the transaction already ended.
                let _ = tx.send(msg);
            }
            None => tracing::debug!(
                package_id = %self.package_id,
                txid = %key.1,
                "dropping a {:?} message for a transaction that is not running",
                MsgType::try_from(msg.r#type).unwrap_or(MsgType::Undefined)
            ),
        }
    }

    /// Marks the stream dead and wakes every waiting transaction (their receivers close).
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.lock_routes().clear();
    }
}

async fn endpoint(info: &CcaasConnection) -> Result<Endpoint> {
    let timeout = info.dial_timeout()?;
    let scheme = if info.tls_required { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", info.address))
        .map_err(|e| {
            EndorserError::transport(format!("invalid chaincode address '{}'", info.address), e)
        })?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    if info.tls_required {
        // Fabric treats an empty field like an absent one.
        let set = |field: &Option<String>| field.clone().filter(|v| !v.is_empty());
        let Some(root_cert) = set(&info.root_cert) else {
            return Err(EndorserError::refused(
                "connection.json: tls_required is set but root_cert is empty",
            ));
        };
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(root_cert.as_bytes()));
        let domain = set(&info.domain).unwrap_or_else(|| {
            info.address
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(&info.address)
                .to_string()
        });
        tls = tls.domain_name(domain);
        let (client_cert, client_key) = (set(&info.client_cert), set(&info.client_key));
        if info.client_auth_required || client_cert.is_some() {
            let (Some(cert), Some(key)) = (client_cert, client_key) else {
                return Err(EndorserError::refused(
                    "connection.json: client_auth_required needs client_cert and client_key",
                ));
            };
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| EndorserError::transport("chaincode TLS configuration", e))?;
    }
    Ok(endpoint)
}

/// Dials the chaincode server, waits for REGISTER naming `package_id`, answers REGISTERED and READY.
pub async fn connect(package_id: &str, info: &CcaasConnection) -> Result<Arc<Connection>> {
    let endpoint = endpoint(info).await?;
    let channel = endpoint.connect().await.map_err(|e| {
        EndorserError::transport(
            format!(
                "could not connect to chaincode {package_id} at {}",
                info.address
            ),
            e,
        )
    })?;
    let mut client = ChaincodeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let response = tokio::time::timeout(
        REGISTER_TIMEOUT,
        client.connect(ReceiverStream::new(out_rx)),
    )
    .await
    .map_err(|_| {
        EndorserError::refused(format!(
            "chaincode {package_id} at {} did not open the stream in time",
            info.address
        ))
    })?
    .map_err(|status| EndorserError::Stream {
        context: format!("could not open the chaincode stream to {}", info.address),
        status,
    })?;
    let mut inbound = response.into_inner();

    let first = tokio::time::timeout(REGISTER_TIMEOUT, inbound.message())
        .await
        .map_err(|_| {
            EndorserError::refused(format!(
                "chaincode at {} did not register within {REGISTER_TIMEOUT:?}",
                info.address
            ))
        })?
        .map_err(|status| EndorserError::Stream {
            context: format!("chaincode stream to {} failed", info.address),
            status,
        })?
        .ok_or_else(|| {
            EndorserError::refused(format!(
                "chaincode at {} closed the stream before registering",
                info.address
            ))
        })?;
    if first.r#type != MsgType::Register as i32 {
        return Err(EndorserError::refused(format!(
            "chaincode at {} sent {:?} before REGISTER",
            info.address,
            MsgType::try_from(first.r#type).unwrap_or(MsgType::Undefined)
        )));
    }
    let id =
        ChaincodeId::decode(first.payload.as_slice()).map_err(|source| EndorserError::Decode {
            context: "could not unmarshal the REGISTER payload".into(),
            source,
        })?;
    if id.name != package_id {
        return Err(EndorserError::refused(format!(
            "chaincode at {} registered as '{}' but this peer expects package id '{package_id}'",
            info.address, id.name
        )));
    }
    let reply = |kind: MsgType| ChaincodeMessage {
        r#type: kind as i32,
        ..Default::default()
    };
    for kind in [MsgType::Registered, MsgType::Ready] {
        out_tx
            .send(reply(kind))
            .await
            .map_err(|_| EndorserError::refused("chaincode stream closed during registration"))?;
    }

    let conn = Arc::new(Connection {
        package_id: package_id.to_string(),
        outbound: out_tx,
        routes: Mutex::new(HashMap::new()),
        closed: AtomicBool::new(false),
    });
    tokio::spawn(read_loop(conn.clone(), inbound));
    tracing::info!(package_id, address = %info.address, "chaincode registered");
    Ok(conn)
}

async fn read_loop(conn: Arc<Connection>, mut inbound: tonic::Streaming<ChaincodeMessage>) {
    loop {
        match inbound.message().await {
            Ok(Some(msg)) if msg.r#type == MsgType::Keepalive as i32 => {}
            Ok(Some(msg)) => conn.route(msg),
            Ok(None) => {
                tracing::warn!(package_id = %conn.package_id, "chaincode closed its stream");
                break;
            }
            Err(status) => {
                tracing::warn!(package_id = %conn.package_id, "chaincode stream failed: {}", status.message());
                break;
            }
        }
    }
    conn.close();
}
