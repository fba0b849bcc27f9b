//! The orderer's channel participation API, as `osnadmin channel` and our own
//! client call it: HTTPS on the admin listener, client certificates required
//! and checked against the orderer org's TLS CA, JSON answers in Fabric's shapes
//! (`ChannelList`, `ChannelInfo`, `{"error": ...}`) and status codes.
//!
//! Owns: the routes and their answers. The devnet orderer serves one channel,
//! the one it was started with, for the life of the network: listing and
//! reading it work as on Fabric; joining that channel again is Fabric's
//! "channel already exists", while joining another channel or removing this
//! one is refused with the reason (a devnet limit, said in the README).

use crate::chain::ChainView;
use crate::config::AdminListener;
use crate::error::StartError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const CHANNELS: &str = "/participation/v1/channels";
/// Fabric's join request carries a config block; the devnet reads at most this much of a body.
const MAX_BODY: usize = 100 * 1024 * 1024;

/// What the API reports about the orderer's channel.
#[derive(Clone)]
pub(crate) struct ParticipationState {
    pub channel: String,
    pub chain: ChainView,
}

#[derive(Serialize)]
struct ChannelShort {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct ChannelList {
    #[serde(rename = "systemChannel")]
    system_channel: Option<ChannelShort>,
    channels: Vec<ChannelShort>,
}

#[derive(Serialize)]
struct ChannelInfo {
    name: String,
    url: String,
    #[serde(rename = "consensusRelation")]
    consensus_relation: &'static str,
    status: &'static str,
    height: u64,
}

fn read(what: &'static str, path: &std::path::Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|source| StartError::TlsFile {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// The TLS acceptor: the orderer's server certificate; client certificates required.
pub(crate) fn acceptor(
    tls: &crate::config::TlsFiles,
    admin: &AdminListener,
) -> Result<TlsAcceptor, StartError> {
    let bad = |e: &dyn std::fmt::Display| StartError::AdminTls(e.to_string());
    let certs = CertificateDer::pem_slice_iter(&read("certificate", &tls.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let key = PrivateKeyDer::from_pem_slice(&read("key", &tls.key)?).map_err(|e| bad(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&read("client CA", &admin.client_ca)?) {
        roots.add(ca.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| bad(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| bad(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves the API on `listener` until `shutdown` resolves. A connection that
/// fails its handshake (no or a foreign client certificate) is dropped and logged.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: ParticipationState,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let state = Arc::new(state);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("admin listener: accept failed: {e}");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            // As Go's net package does: no Nagle delay on answers.
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(%peer, "admin listener: cannot set TCP_NODELAY: {e}");
            }
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::warn!(%peer, "admin listener: TLS handshake refused: {e}");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, "admin connection ended: {e}");
            }
        });
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Response<Full<Bytes>> {
    // Go's json.Encoder ends its output with a newline.
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-store")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_default()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message.into() }))
}

fn url(name: &str) -> String {
    format!("{CHANNELS}/{name}")
}

async fn handle(state: &ParticipationState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let method = req.method().clone();
    if path == CHANNELS {
        return match method {
            Method::GET => json(
                StatusCode::OK,
                &ChannelList {
                    system_channel: None,
                    channels: vec![ChannelShort {
                        name: state.channel.clone(),
                        url: url(&state.channel),
                    }],
                },
            ),
            Method::POST => join(state, req).await,
            other => not_allowed(&other),
        };
    }
    let Some(name) = path
        .strip_prefix(CHANNELS)
        .and_then(|p| p.strip_prefix('/'))
    else {
        return error(StatusCode::NOT_FOUND, format!("no such path: {path}"));
    };
    match method {
        Method::GET if name == state.channel => json(
            StatusCode::OK,
            &ChannelInfo {
                name: name.to_owned(),
                url: url(name),
                consensus_relation: "consenter",
                status: "active",
                height: state.chain.height(),
            },
        ),
        Method::GET => error(StatusCode::NOT_FOUND, "channel does not exist"),
        Method::DELETE if name == state.channel => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("cannot remove: the devnet orderer serves channel {name} for the life of the network"),
        ),
        Method::DELETE => error(
            StatusCode::NOT_FOUND,
            "cannot remove: channel does not exist",
        ),
        other => not_allowed(&other),
    }
}

fn not_allowed(method: &Method) -> Response<Full<Bytes>> {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("invalid request method: {method}"),
    )
}

/// Joining: the body is read (bounded) and the channel named by the config block
/// is compared with the one this orderer serves.
async fn join(state: &ParticipationState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("cannot read form from request body: {e}"),
            )
        }
    };
    // The multipart form's only file is the config block; the devnet finds the
    // channel id by decoding the block out of the part.
    match channel_of_join_body(&body) {
        Some(name) if name == state.channel => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "cannot join: channel already exists",
        ),
        Some(name) => error(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "cannot join: the devnet orderer serves only channel {}, not {name}",
                state.channel
            ),
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            "invalid join block: cannot find a config block in the form part config-block",
        ),
    }
}

/// The channel id of the config block in a `config-block` multipart part.
fn channel_of_join_body(body: &[u8]) -> Option<String> {
    use prost::Message;
    let start = find(body, b"\r\n\r\n")? + 4;
    let rest = &body[start..];
    let end = rfind(rest, b"\r\n--")?;
    let block = fabric_proto::common::Block::decode(&rest[..end]).ok()?;
    let env = fabric_proto::common::Envelope::decode(block.data?.data.first()?.as_slice()).ok()?;
    let payload = fabric_proto::common::Payload::decode(env.payload.as_slice()).ok()?;
    let header =
        fabric_proto::common::ChannelHeader::decode(payload.header?.channel_header.as_slice())
            .ok()?;
    Some(header.channel_id)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
