//! Hospital users from Fabric CA.
//!
//! Owns: a pure-Rust client of the Fabric CA REST API ([`client`]: `cainfo`,
//! `register` with token authentication ([`token`]), `enroll` with a CSR for
//! a key made here ([`csr`])); HealthBlock's roles as certificate attributes
//! ([`role`]: `hb.role`, `hb.pseudonym`); registering and enrolling a
//! hospital's users ([`users`]); the local wallet ([`wallet`]); and the
//! `healthblock user` commands ([`cli`]).
//!
//! The CA servers themselves are run by `healthblock_network::ca`; where they
//! are and their registrar credentials are `healthblock_consortium::ca`'s.

pub mod cli;
pub mod client;
pub mod csr;
pub mod error;
pub mod role;
pub mod token;
pub mod users;
pub mod wallet;

pub use client::{CaClient, CaEndpoint};
pub use error::IdentityError;
pub use role::{Role, PSEUDONYM_ATTR, ROLE_ATTR};
pub use users::{enroll, register, Hospital, NewUser, Registered};
pub use wallet::{Wallet, WalletEntry, WalletId};
