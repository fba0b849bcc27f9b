//! The HealthBlock consortium as data: what it is and where its files live.
//!
//! Owns: the declarative consortium description and its ports
//! ([`consortium`]), the home-directory layout ([`layout`]), the paths and
//! registrar credentials of the hospitals' CA servers ([`ca`]), the devnet's
//! run configuration ([`devnet_config`]) and the file helpers secrets need
//! ([`fsutil`]). Nothing here starts a process or links the devnet: clients
//! depend on this crate; `healthblock-network` runs the processes.

pub mod ca;
pub mod consortium;
pub mod devnet_config;
pub mod devnet_control;
pub mod fsutil;
pub mod layout;

pub use consortium::{Backend, Consortium, ConsortiumError};
pub use devnet_config::devnet_config;
pub use fsutil::IoError;
pub use layout::Layout;
