//! Chaincode-as-a-service install packages, as the client builds and reads them.
//!
//! Owns: nothing of its own; the format (layout, label rule, package id,
//! `connection.json`) lives in `fabric-package`, the one home shared with
//! the devnet's peers. Re-exported here so admin code finds it beside the
//! lifecycle calls that install packages.

pub use fabric_package::{
    build_ccaas_package, package_id, package_id_of, read_connection, read_metadata, validate_label,
    CcaasConnection, ChaincodePackage, PackageError,
};
