//! The HealthBlock consortium and how it runs.
//!
//! Owns: identity material in Fabric's cryptogen layout ([`cryptogen`]), the
//! hospitals' CA server processes ([`ca`]), a new channel for some of the
//! hospitals ([`channel_create`]), the hospitals' key custodian
//! processes ([`custodian`]), spawning such detached services with pid file
//! and log (`process`), the devnet background process
//! ([`devnet_process`]), the native Fabric processes of the fabric backend
//! ([`fabric_process`]), Caliper's configuration of a running network
//! ([`caliper`]), pid files ([`pid`]) and which backend actually runs ([`running`]). The consortium as data (its
//! description, layout and the devnet's run configuration) is
//! `healthblock-consortium`'s, re-exported here for the runner's callers;
//! clients that only need the layout depend on that crate alone.

pub mod ca;
pub mod caliper;
pub mod channel_create;
pub mod cryptogen;
pub mod custodian;
pub mod devnet_process;
pub mod fabric_process;
mod fsutil;
pub mod pid;
mod process;
pub mod running;

// `devnet_config` names both the module and its mapping function.
pub use healthblock_consortium::{consortium, devnet_config, devnet_control, layout};
pub use healthblock_consortium::{Backend, Consortium, ConsortiumError, IoError, Layout};

/// What the crate's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::consortium::Consortium;

    /// The repository's own description, `network/consortium.yaml`.
    pub(crate) fn description() -> Consortium {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("consortium.yaml");
        Consortium::load(&path).expect("network/consortium.yaml is valid")
    }

    /// The same, every port shifted by 900 (away from a running network's).
    pub(crate) fn description_offset() -> Consortium {
        description().with_port_offset(900).expect("offset fits")
    }
}
