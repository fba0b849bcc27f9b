//! Owns: the custodian's HTTPS endpoint: accept TLS connections (client
//! certificates required, see [`crate::tls`]), take `POST /v1/release`
//! with a JSON [`ReleaseRequest`], answer a release or a refusal, and log
//! each outcome (never key material).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use healthblock_sdk::key_release::{Refusal, RefusalCode, ReleaseRequest, RELEASE_PATH};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::service::Custodian;

/// The largest request body read.
const MAX_BODY: usize = 4096;

/// Serves `custodian` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    custodian: Arc<Custodian>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let custodian = custodian.clone();
        tokio::spawn(async move { connection(tcp, peer, acceptor, custodian).await });
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    custodian: Arc<Custodian>,
) {
    // The answer goes out in several TLS records: without TCP_NODELAY, Nagle
    // holds the last one back until the client's delayed ACK (40 ms on Linux).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::warn!(%peer, "cannot set TCP_NODELAY: {e}");
    }
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::warn!(%peer, "TLS handshake refused: {e}");
            return;
        }
    };
    // The verifier admitted only certificates a consortium MSP validates.
    let Some(caller) = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
    else {
        return;
    };
    let caller = Arc::new(caller);
    let service = hyper::service::service_fn(move |req| {
        let custodian = custodian.clone();
        let caller = caller.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&custodian, &caller, peer, req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

async fn handle(
    custodian: &Custodian,
    caller: &[u8],
    peer: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST || req.uri().path() != RELEASE_PATH {
        return refusal(&Refusal::new(
            RefusalCode::Malformed,
            format!("the only endpoint is POST {RELEASE_PATH}"),
        ));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return refusal(&Refusal::new(
                RefusalCode::Malformed,
                format!("the request body: {e}"),
            ))
        }
    };
    let request: ReleaseRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refusal(&Refusal::new(
                RefusalCode::Malformed,
                format!("the request is not {{\"tx_id\": ...}}: {e}"),
            ))
        }
    };
    let started = std::time::Instant::now();
    let outcome = custodian.release(caller, &request.tx_id).await;
    // The release's own time, from the parsed request to the answer (the
    // EHR benchmark reads it from the log).
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    match outcome {
        Ok(release) => {
            tracing::info!(
                %peer,
                elapsed_us,
                tx_id = %release.tx_id,
                record = %release.record_id,
                version = release.version,
                recipient = %release.recipient,
                "released"
            );
            json(StatusCode::OK, &release)
        }
        Err(r) => {
            tracing::warn!(
                %peer,
                elapsed_us,
                tx_id = %request.tx_id,
                code = ?r.code,
                "refused: {}",
                r.message
            );
            refusal(&r)
        }
    }
}

fn refusal(r: &Refusal) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(r.code.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    json(status, r)
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
