//! Set-up shortcuts for the crate's integration tests (feature `testing`).
//!
//! Owns: writing a chaincode definition and every org's approval straight
//! into a peer's state, as a committed `_lifecycle` transaction would leave
//! them, so endorsement tests need not run the whole lifecycle first.

use crate::lifecycle::state;
use crate::simulator::TxSimulator;
use crate::EndorserError;
use devnet_ledger::Ledger;
use fabric_proto::rwset::TxReadWriteSet;
use std::sync::Arc;

/// The state writes that define chaincode `name` (sequence 1, version 1.0,
/// the channel's default endorsement policy), approved by each of `mspids`
/// with `package_id`, as the read/write set of one transaction.
pub fn chaincode_definition(
    ledger: &Arc<Ledger>,
    mspids: &[String],
    name: &str,
    package_id: &str,
) -> Result<TxReadWriteSet, EndorserError> {
    let mut sim = TxSimulator::new(ledger.clone(), "define");
    let params = state::Parameters {
        endorsement: state::ChaincodeEndorsementInfo {
            version: "1.0".into(),
            init_required: false,
            endorsement_plugin: "escc".into(),
        },
        validation: state::ChaincodeValidationInfo {
            validation_plugin: "vscc".into(),
            validation_parameter: crate::policy::default_validation_parameter(),
        },
        collections: Vec::new(),
    };
    for mspid in mspids {
        state::write_approval(&mut sim, mspid, name, 1, &params, package_id)?;
    }
    state::write_definition(
        &mut sim,
        name,
        &state::Definition {
            sequence: 1,
            params,
        },
    )?;
    Ok(sim.results())
}
