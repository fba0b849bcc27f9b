//! Test-only helpers shared by every crate of the workspace.
//!
//! Owns: where the repository keeps its Fabric v3.1.5 golden vectors
//! (`fabric/testdata/v3.1.5`, see its README for provenance; a missing
//! vector is a failure, never a skip), and the test certificate authorities
//! ([`ca`]).

pub mod ca;

pub use ca::{Leaf, LeafBuilder, TestCa};

/// An MSP directory's `config.yaml` enabling Fabric's NodeOUs (client, peer,
/// admin, orderer), each identified by the root certificate at `cacerts/ca.pem`.
pub const NODE_OUS_CONFIG_YAML: &str = "NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: orderer
";

use std::path::PathBuf;

/// The Fabric release the vectors were recorded on.
pub const FABRIC_VECTORS_VERSION: &str = "v3.1.5";

/// The directory of the Fabric golden vectors inside this repository.
///
/// Panics with the path it looked at when the directory is missing, so a
/// broken checkout fails loudly instead of silently testing nothing.
pub fn fabric_vectors() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fabric/testdata")
        .join(FABRIC_VECTORS_VERSION);
    assert!(
        dir.join("expected.json").is_file(),
        "the Fabric golden vectors are missing at {} (they are part of the repository: is the checkout complete?)",
        dir.display()
    );
    dir
}

/// Reads one vector file by its path relative to [`fabric_vectors`].
pub fn read_vector(relative: &str) -> Vec<u8> {
    let path = fabric_vectors().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read vector {}: {e}", path.display()))
}
