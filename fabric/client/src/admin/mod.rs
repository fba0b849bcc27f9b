//! Administrative calls: what `peer lifecycle`, `peer channel join` and
//! `osnadmin` do, for real Fabric and (lifecycle) the devnet.
//!
//! Owns: chaincode-as-a-service packages ([`package`]), direct connections to
//! a peer's Endorser/Deliver services and an orderer's Broadcast ([`peer`],
//! [`orderer`]), the `_lifecycle` system chaincode calls ([`lifecycle`]),
//! `cscc` JoinChain ([`channel`]), the orderer's channel participation
//! REST API ([`participation`]), channel config reads and updates
//! ([`channel_config`]) and updates signed by several admins offline
//! ([`pending_update`]).

pub mod channel;
pub mod channel_config;
pub mod lifecycle;
pub mod orderer;
pub mod package;
pub mod participation;
pub mod peer;
pub mod pending_update;
pub mod wait;

pub use lifecycle::{ChaincodeDefinition, SubmitTargets};
pub use orderer::Orderer;
pub use package::{
    build_ccaas_package, package_id, package_id_of, CcaasConnection, ChaincodePackage,
};
pub use participation::{ParticipationClient, ParticipationEndpoint};
pub use peer::Peer;
pub use pending_update::{PendingUpdate, PendingUpdateError};
