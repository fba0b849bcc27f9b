//! The HealthBlock consortium and how it runs.
//!
//! Owns: the declarative consortium description ([`consortium`]), identity
//! material in Fabric's cryptogen layout ([`cryptogen`]), the home-directory
//! layout ([`layout`]), the devnet's run configuration ([`devnet_config`]),
//! the devnet background process ([`devnet_process`]), the native Fabric
//! processes of the fabric backend ([`fabric_process`]) and which of the two
//! runs ([`running`]).

pub mod ca;
pub mod consortium;
pub mod cryptogen;
pub mod devnet_config;
pub mod devnet_process;
pub mod fabric_process;
mod fsutil;
pub mod layout;
pub mod pid;
pub mod running;

pub use consortium::{Backend, Consortium, ConsortiumError};
pub use devnet_config::devnet_config;
pub use fsutil::IoError;
pub use layout::Layout;
