//! Chaincode lifecycle through the `_lifecycle` system chaincode, as `peer lifecycle chaincode` does it.
//!
//! Facts from Fabric's CLI: proposals go to `_lifecycle` with args
//! `[function, serialized lifecycle.<Function>Args]`; install and query
//! installed use the empty channel; approve and commit are endorsed through
//! the peers' Endorser services, turned into a transaction from the proposal
//! responses, signed by the same admin and broadcast to the orderer; the CLI
//! then watches the peers' filtered blocks for the txid.
//!
//! Owns: those calls and the decoding of their results.

use super::orderer::Orderer;
use super::peer::Peer;
use super::wait::CommitWaiter;
use crate::commit::CommitStatus;
use crate::error::{Error, Result};
use crate::proposal::{Proposal, ProposalBuilder};
use crate::transaction::signed_transaction;
use fabric_msp::SigningIdentity;
use fabric_proto::lifecycle::{
    chaincode_source, ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource,
    CheckCommitReadinessArgs, CheckCommitReadinessResult, CommitChaincodeDefinitionArgs,
    InstallChaincodeArgs, InstallChaincodeResult, QueryChaincodeDefinitionArgs,
    QueryChaincodeDefinitionResult, QueryInstalledChaincodesArgs, QueryInstalledChaincodesResult,
};
use fabric_proto::protos::CollectionConfigPackage;
use prost::Message;
use std::time::Duration;

/// The lifecycle system chaincode.
pub const LIFECYCLE_CHAINCODE: &str = "_lifecycle";

pub const INSTALL: &str = "InstallChaincode";
pub const QUERY_INSTALLED: &str = "QueryInstalledChaincodes";
pub const APPROVE: &str = "ApproveChaincodeDefinitionForMyOrg";
pub const CHECK_COMMIT_READINESS: &str = "CheckCommitReadiness";
pub const COMMIT: &str = "CommitChaincodeDefinition";
pub const QUERY_COMMITTED: &str = "QueryChaincodeDefinition";

/// A chaincode definition as approved and committed on a channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChaincodeDefinition {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    /// Empty means Fabric's default ("escc").
    pub endorsement_plugin: String,
    /// Empty means Fabric's default ("vscc").
    pub validation_plugin: String,
    /// Serialized `ApplicationPolicy`; empty means the channel's
    /// `/Channel/Application/Endorsement` policy.
    pub validation_parameter: Vec<u8>,
    pub init_required: bool,
    pub collections: Option<CollectionConfigPackage>,
}

impl ChaincodeDefinition {
    pub fn new(name: &str, version: &str, sequence: i64) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            sequence,
            ..Default::default()
        }
    }

    fn approve_args(&self, package_id: Option<&str>) -> ApproveChaincodeDefinitionForMyOrgArgs {
        // Like the CLI: a package id makes the source "local package", none makes it "unavailable".
        let source = match package_id {
            Some(id) => chaincode_source::Type::LocalPackage(chaincode_source::Local {
                package_id: id.to_owned(),
            }),
            None => chaincode_source::Type::Unavailable(chaincode_source::Unavailable {}),
        };
        ApproveChaincodeDefinitionForMyOrgArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            endorsement_plugin: self.endorsement_plugin.clone(),
            validation_plugin: self.validation_plugin.clone(),
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
            init_required: self.init_required,
            source: Some(ChaincodeSource {
                r#type: Some(source),
            }),
        }
    }

    fn commit_args(&self) -> CommitChaincodeDefinitionArgs {
        CommitChaincodeDefinitionArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            endorsement_plugin: self.endorsement_plugin.clone(),
            validation_plugin: self.validation_plugin.clone(),
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
            init_required: self.init_required,
        }
    }

    fn readiness_args(&self) -> CheckCommitReadinessArgs {
        CheckCommitReadinessArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            endorsement_plugin: self.endorsement_plugin.clone(),
            validation_plugin: self.validation_plugin.clone(),
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
            init_required: self.init_required,
        }
    }
}

/// Who endorses, orders and confirms a lifecycle transaction.
#[derive(Debug, Clone, Copy)]
pub struct SubmitTargets<'a> {
    /// Peers whose endorsements go into the transaction (approve: the org's
    /// own peer; commit: peers of a majority of orgs).
    pub endorsers: &'a [Peer],
    pub orderer: &'a Orderer,
    /// Peers watched for the commit; empty means the endorsers.
    pub commit_peers: &'a [Peer],
    pub commit_timeout: Duration,
}

/// The unsigned proposal `_lifecycle.<function>(args)` on `channel` ("" for peer-local calls).
pub fn lifecycle_proposal(
    admin: &SigningIdentity,
    channel: &str,
    function: &str,
    args: &impl Message,
) -> Proposal {
    ProposalBuilder::new(channel, LIFECYCLE_CHAINCODE, function)
        .arg(args.encode_to_vec())
        .build(admin.serialize())
}

/// Endorses on one peer and decodes the response payload as `R`.
async fn query<R: Message + Default>(
    peer: &Peer,
    proposal: Proposal,
    admin: &SigningIdentity,
) -> Result<R> {
    let response = peer.endorse(&proposal.txid, proposal.sign(admin)).await?;
    let payload = response.response.map(|r| r.payload).unwrap_or_default();
    R::decode(payload.as_slice()).map_err(Error::decode("lifecycle result"))
}

/// Installs a chaincode package on `peer`; returns the package id and label the peer computed.
pub async fn install(
    peer: &Peer,
    admin: &SigningIdentity,
    package: &[u8],
) -> Result<InstallChaincodeResult> {
    let args = InstallChaincodeArgs {
        chaincode_install_package: package.to_vec(),
    };
    query(peer, lifecycle_proposal(admin, "", INSTALL, &args), admin).await
}

/// The packages installed on `peer`.
pub async fn query_installed(
    peer: &Peer,
    admin: &SigningIdentity,
) -> Result<QueryInstalledChaincodesResult> {
    let args = QueryInstalledChaincodesArgs {};
    query(
        peer,
        lifecycle_proposal(admin, "", QUERY_INSTALLED, &args),
        admin,
    )
    .await
}

/// Which orgs have approved `definition`, and mismatches.
pub async fn check_commit_readiness(
    peer: &Peer,
    admin: &SigningIdentity,
    channel: &str,
    definition: &ChaincodeDefinition,
) -> Result<CheckCommitReadinessResult> {
    let proposal = lifecycle_proposal(
        admin,
        channel,
        CHECK_COMMIT_READINESS,
        &definition.readiness_args(),
    );
    query(peer, proposal, admin).await
}

/// The committed definition of chaincode `name` on `channel`.
pub async fn query_committed(
    peer: &Peer,
    admin: &SigningIdentity,
    channel: &str,
    name: &str,
) -> Result<QueryChaincodeDefinitionResult> {
    let args = QueryChaincodeDefinitionArgs {
        name: name.to_owned(),
    };
    query(
        peer,
        lifecycle_proposal(admin, channel, QUERY_COMMITTED, &args),
        admin,
    )
    .await
}

/// Approves `definition` for the admin's org; waits until the approval commits VALID.
pub async fn approve_for_my_org(
    targets: SubmitTargets<'_>,
    admin: &SigningIdentity,
    channel: &str,
    definition: &ChaincodeDefinition,
    package_id: Option<&str>,
) -> Result<CommitStatus> {
    let proposal = lifecycle_proposal(
        admin,
        channel,
        APPROVE,
        &definition.approve_args(package_id),
    );
    submit_without_gateway(targets, admin, channel, proposal).await
}

/// Commits `definition` on the channel; waits until the commit transaction commits VALID.
pub async fn commit(
    targets: SubmitTargets<'_>,
    admin: &SigningIdentity,
    channel: &str,
    definition: &ChaincodeDefinition,
) -> Result<CommitStatus> {
    let proposal = lifecycle_proposal(admin, channel, COMMIT, &definition.commit_args());
    submit_without_gateway(targets, admin, channel, proposal).await
}

/// Endorse on every endorser, assemble and sign the transaction, watch for
/// it, broadcast it to the orderer, and wait for a VALID commit.
pub async fn submit_without_gateway(
    targets: SubmitTargets<'_>,
    admin: &SigningIdentity,
    channel: &str,
    proposal: Proposal,
) -> Result<CommitStatus> {
    if targets.endorsers.is_empty() {
        return Err(Error::InvalidArgument("no endorsing peers given".into()));
    }
    let signed = proposal.sign(admin);
    let responses = futures::future::try_join_all(
        targets
            .endorsers
            .iter()
            .map(|peer| peer.endorse(&proposal.txid, signed.clone())),
    )
    .await?;
    let envelope = signed_transaction(&proposal.message, &responses, admin)?;

    let watched = if targets.commit_peers.is_empty() {
        targets.endorsers
    } else {
        targets.commit_peers
    };
    let waiters = futures::future::try_join_all(
        watched
            .iter()
            .map(|peer| CommitWaiter::start(peer, admin, channel, &proposal.txid)),
    )
    .await?;

    targets.orderer.broadcast(&proposal.txid, envelope).await?;

    let statuses =
        futures::future::try_join_all(waiters.into_iter().map(|w| w.wait(targets.commit_timeout)))
            .await?;
    let mut first = None;
    for status in statuses {
        let status = status.ensure_valid()?;
        first.get_or_insert(status);
    }
    first.ok_or_else(|| Error::InvalidArgument("no peer to watch for the commit".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;
    use fabric_proto::common::{ChannelHeader, Header};
    use fabric_proto::protos::{ChaincodeInvocationSpec, ChaincodeProposalPayload};

    fn decoded(p: &Proposal) -> (ChannelHeader, Vec<Vec<u8>>, String) {
        let header = Header::decode(p.message.header.as_slice()).unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        let cpp = ChaincodeProposalPayload::decode(p.message.payload.as_slice()).unwrap();
        let spec = ChaincodeInvocationSpec::decode(cpp.input.as_slice())
            .unwrap()
            .chaincode_spec
            .unwrap();
        (
            ch,
            spec.input.unwrap().args,
            spec.chaincode_id.unwrap().name,
        )
    }

    #[test]
    fn approve_proposal_carries_the_definition_and_package() {
        let admin = test_identity("Org1MSP");
        let def = ChaincodeDefinition::new("records", "1.0", 1);
        let p = lifecycle_proposal(
            &admin,
            "ehr",
            APPROVE,
            &def.approve_args(Some("records_1.0:ab")),
        );
        let (ch, args, cc) = decoded(&p);
        assert_eq!(cc, "_lifecycle");
        assert_eq!(ch.channel_id, "ehr");
        assert_eq!(args[0], b"ApproveChaincodeDefinitionForMyOrg");
        let approve = ApproveChaincodeDefinitionForMyOrgArgs::decode(args[1].as_slice()).unwrap();
        assert_eq!(
            (
                approve.name.as_str(),
                approve.version.as_str(),
                approve.sequence
            ),
            ("records", "1.0", 1)
        );
        assert_eq!(
            approve.source.unwrap().r#type,
            Some(chaincode_source::Type::LocalPackage(
                chaincode_source::Local {
                    package_id: "records_1.0:ab".into()
                }
            ))
        );
        let without = def.approve_args(None);
        assert!(matches!(
            without.source.unwrap().r#type,
            Some(chaincode_source::Type::Unavailable(_))
        ));
    }

    #[test]
    fn install_goes_to_the_empty_channel() {
        let admin = test_identity("Org1MSP");
        let args = InstallChaincodeArgs {
            chaincode_install_package: vec![1, 2, 3],
        };
        let (ch, args, _) = decoded(&lifecycle_proposal(&admin, "", INSTALL, &args));
        assert_eq!(ch.channel_id, "");
        assert_eq!(args[0], b"InstallChaincode");
        assert_eq!(
            InstallChaincodeArgs::decode(args[1].as_slice())
                .unwrap()
                .chaincode_install_package,
            vec![1, 2, 3]
        );
    }

    #[test]
    fn commit_args_mirror_the_definition() {
        let mut def = ChaincodeDefinition::new("records", "2.0", 3);
        def.validation_parameter = vec![9];
        def.init_required = true;
        let c = def.commit_args();
        assert_eq!(
            (c.sequence, c.init_required, c.validation_parameter.clone()),
            (3, true, vec![9])
        );
        let r = def.readiness_args();
        assert_eq!(
            (r.name, r.version, r.sequence),
            ("records".to_string(), "2.0".to_string(), 3)
        );
    }
}
