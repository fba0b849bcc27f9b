//! Server configuration, from code or from the CCaaS environment convention:
//!
//! | variable | meaning |
//! |---|---|
//! | `CHAINCODE_SERVER_ADDRESS` | listen address, e.g. `0.0.0.0:9999` (required) |
//! | `CHAINCODE_ID` | package id `<label>:<sha256>` sent in REGISTER (required) |
//! | `CHAINCODE_TLS_DISABLED` | `true`/`false`; unset = TLS iff key and cert are set |
//! | `CHAINCODE_TLS_KEY` | path of the server's PEM private key |
//! | `CHAINCODE_TLS_CERT` | path of the server's PEM certificate |
//! | `CHAINCODE_CLIENT_CA_CERT` | path of PEM CA certificate(s); set = mutual TLS |

use std::fmt;
use std::path::Path;

use crate::error::{Result, ShimError};

/// Fabric's gRPC message size limit (peer default, 100 MiB).
pub const MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// Listen address variable.
pub const ENV_SERVER_ADDRESS: &str = "CHAINCODE_SERVER_ADDRESS";
/// Package id variable.
pub const ENV_CHAINCODE_ID: &str = "CHAINCODE_ID";
/// TLS switch variable.
pub const ENV_TLS_DISABLED: &str = "CHAINCODE_TLS_DISABLED";
/// Server key path variable.
pub const ENV_TLS_KEY: &str = "CHAINCODE_TLS_KEY";
/// Server certificate path variable.
pub const ENV_TLS_CERT: &str = "CHAINCODE_TLS_CERT";
/// Client CA path variable (mutual TLS).
pub const ENV_CLIENT_CA_CERT: &str = "CHAINCODE_CLIENT_CA_CERT";

/// TLS material of the server.
#[derive(Clone)]
pub struct TlsConfig {
    /// Server certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Server private key, PEM.
    pub key_pem: Vec<u8>,
    /// CA certificates that client (peer) certificates must chain to; `Some`
    /// makes client authentication mandatory.
    pub client_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for TlsConfig {
    // Never print the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .field("mutual_tls", &self.client_ca_pem.is_some())
            .finish()
    }
}

/// How to run the chaincode server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub address: String,
    /// Package id sent to the peer in REGISTER.
    pub package_id: String,
    /// TLS, or `None` for plaintext.
    pub tls: Option<TlsConfig>,
    /// Largest message sent or accepted, in bytes.
    pub max_message_size: usize,
}

impl ServerConfig {
    /// A plaintext server configuration.
    pub fn new(address: impl Into<String>, package_id: impl Into<String>) -> Self {
        ServerConfig {
            address: address.into(),
            package_id: package_id.into(),
            tls: None,
            max_message_size: MAX_MESSAGE_SIZE,
        }
    }

    /// Enables TLS.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Reads the `CHAINCODE_*` environment variables (see module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`ServerConfig::from_env`], with variables from `lookup`.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let address = get(ENV_SERVER_ADDRESS)
            .ok_or_else(|| ShimError::Config(format!("{ENV_SERVER_ADDRESS} must be set")))?;
        let package_id = get(ENV_CHAINCODE_ID)
            .ok_or_else(|| ShimError::Config(format!("{ENV_CHAINCODE_ID} must be set")))?;
        let key = get(ENV_TLS_KEY);
        let cert = get(ENV_TLS_CERT);
        let tls_disabled = match get(ENV_TLS_DISABLED) {
            Some(value) => parse_bool(ENV_TLS_DISABLED, &value)?,
            None => key.is_none() || cert.is_none(),
        };
        let mut config = ServerConfig::new(address, package_id);
        if !tls_disabled {
            let (key, cert) = match (key, cert) {
                (Some(key), Some(cert)) => (key, cert),
                _ => {
                    return Err(ShimError::Config(format!(
                        "TLS is enabled: {ENV_TLS_KEY} and {ENV_TLS_CERT} must be set"
                    )))
                }
            };
            config.tls = Some(TlsConfig {
                cert_pem: read_file(ENV_TLS_CERT, &cert)?,
                key_pem: read_file(ENV_TLS_KEY, &key)?,
                client_ca_pem: get(ENV_CLIENT_CA_CERT)
                    .map(|path| read_file(ENV_CLIENT_CA_CERT, &path))
                    .transpose()?,
            });
        }
        Ok(config)
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(ShimError::Config(format!(
            "{name} must be true or false, got {other:?}"
        ))),
    }
}

fn read_file(variable: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(Path::new(path))
        .map_err(|e| ShimError::Config(format!("cannot read {variable} file {path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn plaintext_config_from_vars() {
        let config = ServerConfig::from_vars(vars(&[
            (ENV_SERVER_ADDRESS, "127.0.0.1:9999"),
            (ENV_CHAINCODE_ID, "kv_1.0:abcd"),
        ]))
        .unwrap();
        assert_eq!(config.address, "127.0.0.1:9999");
        assert_eq!(config.package_id, "kv_1.0:abcd");
        assert!(config.tls.is_none());
        assert_eq!(config.max_message_size, MAX_MESSAGE_SIZE);
    }

    #[test]
    fn missing_required_vars_are_errors() {
        assert!(ServerConfig::from_vars(vars(&[(ENV_CHAINCODE_ID, "x")])).is_err());
        assert!(ServerConfig::from_vars(vars(&[(ENV_SERVER_ADDRESS, "a:1")])).is_err());
    }

    #[test]
    fn tls_enabled_without_material_is_an_error() {
        let result = ServerConfig::from_vars(vars(&[
            (ENV_SERVER_ADDRESS, "a:1"),
            (ENV_CHAINCODE_ID, "x"),
            (ENV_TLS_DISABLED, "false"),
        ]));
        assert!(matches!(result, Err(ShimError::Config(_))));
        let bad_bool = ServerConfig::from_vars(vars(&[
            (ENV_SERVER_ADDRESS, "a:1"),
            (ENV_CHAINCODE_ID, "x"),
            (ENV_TLS_DISABLED, "maybe"),
        ]));
        assert!(bad_bool.is_err());
    }

    #[test]
    fn tls_files_are_read_and_key_is_not_printed() {
        let dir = std::env::temp_dir().join(format!("shim-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        std::fs::write(&key, b"SECRET-KEY").unwrap();
        std::fs::write(&cert, b"CERT").unwrap();
        let config = ServerConfig::from_vars(vars(&[
            (ENV_SERVER_ADDRESS, "a:1"),
            (ENV_CHAINCODE_ID, "x"),
            (ENV_TLS_KEY, key.to_str().unwrap()),
            (ENV_TLS_CERT, cert.to_str().unwrap()),
        ]))
        .unwrap();
        let tls = config
            .tls
            .as_ref()
            .expect("TLS on when key and cert are set");
        assert_eq!(tls.key_pem, b"SECRET-KEY");
        assert!(tls.client_ca_pem.is_none());
        assert!(!format!("{config:?}").contains("SECRET"));
        let missing = ServerConfig::from_vars(vars(&[
            (ENV_SERVER_ADDRESS, "a:1"),
            (ENV_CHAINCODE_ID, "x"),
            (ENV_TLS_KEY, "/nonexistent/key.pem"),
            (ENV_TLS_CERT, cert.to_str().unwrap()),
        ]));
        assert!(missing.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
