//! Fabric's auth filter in front of the endorser: a proposal whose creator
//! certificate has expired is refused before the endorser looks at it, with an
//! error and no ProposalResponse. The gateway treats that answer as an
//! unavailable peer and tries the next one, so the caller sees every peer's
//! refusal (Fabric's `core/handlers/auth/filter/expiration.go` behaviour).

use crate::error::{EndorserError, Result};
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::{Header, SignatureHeader};
use fabric_proto::protos::{Proposal, SignedProposal};
use prost::Message;

/// Fabric's message for an expired creator.
pub(crate) const EXPIRED: &str = "proposal client identity expired";

/// Refuses a proposal whose creator expired before `now`. A creator valid in
/// its MSP is known not to have expired (one cache lookup); only the rest is
/// parsed. Undecodable proposals fail with Fabric's parsing messages.
pub(crate) fn check_expiration(sp: &SignedProposal, msps: &MspManager, now: i64) -> Result<()> {
    let parse = |what| move |source| EndorserError::Parse { what, source };
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice()).map_err(parse("proposal"))?;
    let header = Header::decode(proposal.header.as_slice()).map_err(parse("header"))?;
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(parse("signature header"))?;
    let creator = signature_header.creator;
    if msps.validate_serialized(&creator, now).is_ok() {
        return Ok(());
    }
    // Like Fabric, a creator whose certificate cannot be read has no expiry here:
    // the endorser's own checks refuse it.
    match Identity::from_serialized(&creator) {
        Ok(id) if now > id.not_after => Err(EndorserError::refused(EXPIRED)),
        _ => Ok(()),
    }
}
