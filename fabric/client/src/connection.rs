//! gRPC connections to peers and orderers.
//!
//! Owns: the TLS setup (trust only the CA we are given, optional client
//! certificate for mutual TLS, optional server-name override), Fabric-sized
//! message limits on every generated client, and the TLS certificate hash that
//! deliver requests carry when the client presents a certificate.

use crate::error::{Error, Result};
use fabric_proto::gateway::gateway_client::GatewayClient;
use fabric_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use fabric_proto::protos::deliver_client::DeliverClient;
use fabric_proto::protos::endorser_client::EndorserClient;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// Fabric peers accept messages up to 100 MiB; tonic's default decode limit is 4 MiB.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client certificate and key for mutual TLS.
#[derive(Clone)]
pub struct ClientTls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

/// Where and how to reach a peer or orderer over TLS.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port`.
    pub address: String,
    /// PEM of the TLS CA that signed the server's certificate; nothing else is trusted.
    pub tls_ca_pem: Vec<u8>,
    /// The name to check the server certificate against, if not the host of `address`.
    pub server_name_override: Option<String>,
    /// Present a client certificate (needed where the server requires client auth).
    pub client_tls: Option<ClientTls>,
    pub connect_timeout: Duration,
}

impl Endpoint {
    pub fn new(address: impl Into<String>, tls_ca_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            address: address.into(),
            tls_ca_pem: tls_ca_pem.into(),
            server_name_override: None,
            client_tls: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name_override = Some(name.into());
        self
    }

    pub fn with_client_tls(mut self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        self.client_tls = Some(ClientTls { cert_pem, key_pem });
        self
    }

    /// Opens the connection now, so that a bad address or TLS setup fails here.
    pub async fn connect(&self) -> Result<Channel> {
        let connect_err =
            |problem: &'static str, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
                Error::Connect {
                    endpoint: self.address.clone(),
                    problem,
                    source,
                }
            };
        if self.address.contains("://") {
            return Err(connect_err(
                "expected host:port without a scheme (TLS is always used)",
                None,
            ));
        }
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.tls_ca_pem));
        if let Some(name) = &self.server_name_override {
            tls = tls.domain_name(name.clone());
        }
        if let Some(client) = &self.client_tls {
            tls = tls.identity(Identity::from_pem(&client.cert_pem, &client.key_pem));
        }
        let endpoint = tonic::transport::Endpoint::from_shared(format!("https://{}", self.address))
            .map_err(|e| connect_err("invalid address", Some(e.into())))?
            .tls_config(tls)
            .map_err(|e| connect_err("TLS configuration", Some(e.into())))?
            .connect_timeout(self.connect_timeout)
            // Keepalives let long event streams notice a dead peer.
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(20))
            .keep_alive_while_idle(true);
        endpoint
            .connect()
            .await
            .map_err(|e| connect_err("dial failed", Some(e.into())))
    }

    /// SHA-256 of the client TLS certificate (DER), which Fabric's deliver
    /// service compares with the TLS session when client auth is on.
    pub fn tls_cert_hash(&self) -> Result<Option<Vec<u8>>> {
        let Some(client) = &self.client_tls else {
            return Ok(None);
        };
        let block = pem::parse(&client.cert_pem)
            .map_err(|e| Error::InvalidArgument(format!("client TLS certificate: {e}")))?;
        Ok(Some(fabric_msp::sha256(block.contents()).to_vec()))
    }
}

/// The full cause chain of an error, since tonic's top-level message ("transport error") says little.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) fn gateway_client(channel: Channel) -> GatewayClient<Channel> {
    GatewayClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

pub(crate) fn deliver_client(channel: Channel) -> DeliverClient<Channel> {
    DeliverClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

pub(crate) fn endorser_client(channel: Channel) -> EndorserClient<Channel> {
    EndorserClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

pub(crate) fn broadcast_client(channel: Channel) -> AtomicBroadcastClient<Channel> {
    AtomicBroadcastClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Runs `call` with a deadline, mapping expiry to [`Error::Timeout`].
pub(crate) async fn with_deadline<T>(
    stage: crate::error::Stage,
    after: Duration,
    call: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(after, call).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout { stage, after }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn address_with_scheme_is_rejected() {
        let err = Endpoint::new("https://localhost:7051", b"x".to_vec())
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
    }

    #[tokio::test]
    async fn unreachable_endpoint_fails_at_connect() {
        // Port 1 on loopback: nothing listens there, the connection is refused.
        let mut ep = Endpoint::new("127.0.0.1:1", ca_pem());
        ep.connect_timeout = Duration::from_secs(2);
        let err = ep.connect().await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    }

    #[test]
    fn tls_cert_hash_is_sha256_of_the_der() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let ep = Endpoint::new("h:1", Vec::new())
            .with_client_tls(cert.pem().into_bytes(), key.serialize_pem().into_bytes());
        let hash = ep.tls_cert_hash().unwrap().unwrap();
        assert_eq!(hash, fabric_msp::sha256(cert.der()).to_vec());
        assert!(Endpoint::new("h:1", Vec::new())
            .tls_cert_hash()
            .unwrap()
            .is_none());
        assert!(!format!("{:?}", ep).contains("PRIVATE"));
    }

    fn ca_pem() -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ca".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem().into_bytes()
    }
}
