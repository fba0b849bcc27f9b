//! Chaincode support: the peer side of the shim protocol.
//!
//! Owns: one stream per chaincode package (dialled on first use, shared by
//! concurrent transactions, dialled again after it died), and running one
//! transaction on it: send TRANSACTION/INIT, answer the chaincode's ledger
//! calls until COMPLETED or ERROR, bounded by the execute timeout.

pub mod connection;
pub mod handler;

use crate::error::{EndorserError, Result};
use crate::package::CcaasConnection;
use crate::simulator::TxSimulator;
use connection::Connection;
use devnet_ledger::Ledger;
use fabric_proto::protos::chaincode_message::Type as MsgType;
use fabric_proto::protos::{
    ChaincodeEvent, ChaincodeInput, ChaincodeMessage, Response, SignedProposal,
};
use handler::TxContext;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Fabric's default `chaincode.executetimeout`.
pub const DEFAULT_EXECUTE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the chaincode answered.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub response: Response,
    /// The event set on COMPLETED, with the peer's chaincode and tx ids filled in.
    pub event: Option<ChaincodeEvent>,
}

/// One transaction to run on a chaincode.
pub struct Invocation<'a> {
    pub channel: &'a str,
    pub txid: &'a str,
    pub signed_proposal: &'a SignedProposal,
    pub input: ChaincodeInput,
    pub is_init: bool,
}

/// The chaincode streams of one peer.
pub struct ChaincodeSupport {
    connections: tokio::sync::Mutex<HashMap<String, Arc<Connection>>>,
    execute_timeout: Duration,
}

impl ChaincodeSupport {
    pub fn new(execute_timeout: Duration) -> Self {
        Self {
            connections: tokio::sync::Mutex::new(HashMap::new()),
            execute_timeout,
        }
    }

    /// The live stream to `package_id`, dialling it if there is none (or it died).
    async fn connection(
        &self,
        package_id: &str,
        info: &CcaasConnection,
    ) -> Result<Arc<Connection>> {
        // Holding the map lock while dialling keeps concurrent first calls from opening two streams.
        let mut conns = self.connections.lock().await;
        if let Some(conn) = conns.get(package_id) {
            if !conn.is_closed() {
                return Ok(conn.clone());
            }
            tracing::info!(package_id, "chaincode stream died; dialling again");
        }
        conns.remove(package_id);
        let conn = connection::connect(package_id, info).await?;
        conns.insert(package_id.to_string(), conn.clone());
        Ok(conn)
    }

    /// Runs one transaction on the chaincode, answering its ledger calls from `sim`.
    pub async fn execute(
        &self,
        package_id: &str,
        info: &CcaasConnection,
        namespace: &str,
        inv: Invocation<'_>,
        sim: &mut TxSimulator,
        ledger: Arc<Ledger>,
    ) -> Result<Outcome> {
        let failed =
            |e: EndorserError| e.context(format!("failed to execute transaction {}", inv.txid));
        let conn = self.connection(package_id, info).await.map_err(failed)?;
        let (_guard, mut inbound) = conn.register(inv.channel, inv.txid).map_err(failed)?;
        let kind = if inv.is_init {
            MsgType::Init
        } else {
            MsgType::Transaction
        };
        conn.send(ChaincodeMessage {
            r#type: kind as i32,
            payload: inv.input.encode_to_vec(),
            txid: inv.txid.to_string(),
            channel_id: inv.channel.to_string(),
            proposal: Some(inv.signed_proposal.clone()),
            ..Default::default()
        })
        .await
        .map_err(|e| failed(e.context("error sending")))?;

        let mut ctx = TxContext::new(sim, namespace, ledger);
        let deadline = tokio::time::Instant::now() + self.execute_timeout;
        loop {
            let msg = match tokio::time::timeout_at(deadline, inbound.recv()).await {
                Err(_) => {
                    return Err(failed(EndorserError::refused(
                        "error sending: timeout expired while executing transaction",
                    )))
                }
                Ok(None) => {
                    return Err(failed(
                        EndorserError::refused(connection::STREAM_TERMINATED)
                            .context("error sending"),
                    ))
                }
                Ok(Some(msg)) => msg,
            };
            match MsgType::try_from(msg.r#type).unwrap_or(MsgType::Undefined) {
                MsgType::Completed => return completed(msg, namespace, inv.txid),
                MsgType::Error => {
                    return Err(EndorserError::refused(format!(
                        "transaction returned with failure: {}",
                        String::from_utf8_lossy(&msg.payload)
                    )))
                }
                _ => {
                    let reply = ctx.handle(&msg);
                    conn.send(reply).await.map_err(failed)?;
                }
            }
        }
    }
}

/// Decodes COMPLETED: the payload is the chaincode's Response; its event gets the peer's ids.
fn completed(msg: ChaincodeMessage, namespace: &str, txid: &str) -> Result<Outcome> {
    let response =
        Response::decode(msg.payload.as_slice()).map_err(|source| EndorserError::Decode {
            context: format!("failed to unmarshal response for transaction {txid}"),
            source,
        })?;
    let event = msg.chaincode_event.map(|mut e| {
        e.chaincode_id = namespace.to_string();
        e.tx_id = txid.to_string();
        e
    });
    Ok(Outcome { response, event })
}
