//! One peer's stream to one chaincode-as-a-service server.
//!
//! Owns: dialling the server (TLS when `connection.json` asks for it), the
//! REGISTER / REGISTERED / READY handshake, the single serialised sender,
//! and routing every message the chaincode sends to the transaction it
//! belongs to, by (channel id, txid). When the stream ends every waiting
//! transaction is told so; the next invocation dials again.

use crate::package::ConnectionInfo;
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
    pub fn package_id(&self) -> &str {
        &self.package_id
    }

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
    ) -> Result<(RouteGuard, mpsc::UnboundedReceiver<ChaincodeMessage>), String> {
        let key = (channel.to_string(), txid.to_string());
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut routes = self.lock_routes();
            if routes.contains_key(&key) {
                return Err(format!("txid: {txid}({channel}) exists"));
            }
            if self.is_closed() {
                return Err("chaincode stream terminated".into());
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
    pub async fn send(&self, msg: ChaincodeMessage) -> Result<(), String> {
        self.outbound
            .send(msg)
            .await
            .map_err(|_| "chaincode stream terminated".to_string())
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

async fn endpoint(info: &ConnectionInfo) -> Result<Endpoint, String> {
    let timeout = info.dial_timeout()?;
    let scheme = if info.tls_required { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", info.address))
        .map_err(|e| format!("invalid chaincode address '{}': {e}", info.address))?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    if info.tls_required {
        if info.root_cert.is_empty() {
            return Err("connection.json: tls_required is set but root_cert is empty".into());
        }
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(info.root_cert.as_bytes()));
        let domain = if info.domain.is_empty() {
            info.address
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(&info.address)
                .to_string()
        } else {
            info.domain.clone()
        };
        tls = tls.domain_name(domain);
        if info.client_auth_required || !info.client_cert.is_empty() {
            if info.client_cert.is_empty() || info.client_key.is_empty() {
                return Err(
                    "connection.json: client_auth_required needs client_cert and client_key".into(),
                );
            }
            tls = tls.identity(Identity::from_pem(&info.client_cert, &info.client_key));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| format!("chaincode TLS configuration: {e}"))?;
    }
    Ok(endpoint)
}

/// Dials the chaincode server, waits for REGISTER naming `package_id`, answers REGISTERED and READY.
pub async fn connect(package_id: &str, info: &ConnectionInfo) -> Result<Arc<Connection>, String> {
    let endpoint = endpoint(info).await?;
    let channel = endpoint.connect().await.map_err(|e| {
        format!(
            "could not connect to chaincode {package_id} at {}: {e}",
            info.address
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
        format!(
            "chaincode {package_id} at {} did not open the stream in time",
            info.address
        )
    })?
    .map_err(|e| {
        format!(
            "could not open the chaincode stream to {}: {}",
            info.address,
            e.message()
        )
    })?;
    let mut inbound = response.into_inner();

    let first = tokio::time::timeout(REGISTER_TIMEOUT, inbound.message())
        .await
        .map_err(|_| {
            format!(
                "chaincode at {} did not register within {REGISTER_TIMEOUT:?}",
                info.address
            )
        })?
        .map_err(|e| {
            format!(
                "chaincode stream to {} failed: {}",
                info.address,
                e.message()
            )
        })?
        .ok_or_else(|| {
            format!(
                "chaincode at {} closed the stream before registering",
                info.address
            )
        })?;
    if first.r#type != MsgType::Register as i32 {
        return Err(format!(
            "chaincode at {} sent {:?} before REGISTER",
            info.address,
            MsgType::try_from(first.r#type).unwrap_or(MsgType::Undefined)
        ));
    }
    let id = ChaincodeId::decode(first.payload.as_slice())
        .map_err(|e| format!("could not unmarshal the REGISTER payload: {e}"))?;
    if id.name != package_id {
        return Err(format!(
            "chaincode at {} registered as '{}' but this peer expects package id '{package_id}'",
            info.address, id.name
        ));
    }
    let reply = |kind: MsgType| ChaincodeMessage {
        r#type: kind as i32,
        ..Default::default()
    };
    for kind in [MsgType::Registered, MsgType::Ready] {
        out_tx
            .send(reply(kind))
            .await
            .map_err(|_| "chaincode stream closed during registration".to_string())?;
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
