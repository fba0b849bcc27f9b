//! Owns: reading an access decision out of a committed transaction and
//! every check on it that needs nothing but the transaction itself: VALID,
//! an endorser transaction of our channel, the contract's `request_access`
//! answering status 200 with a grant, created by the caller, home hospital
//! ours, fresh. Pure logic, so each refusal is unit-tested.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fabric_client::admin::channel::ProcessedTx;
use fabric_proto::common::HeaderType;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::results::{AccessResponse, Grant};
use healthblock_sdk::key_release::{Refusal, RefusalCode};

/// How far a decision's timestamp may lie ahead of the custodian's clock.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// What a decision must match.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The channel the contract runs on.
    pub channel: &'a str,
    /// The contract's chaincode name.
    pub chaincode: &'a str,
    /// This custodian's hospital.
    pub mspid: &'a str,
    /// The oldest decision released.
    pub max_age: Duration,
    /// Now.
    pub now: SystemTime,
}

/// A granted, committed access decision of the caller.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The transaction.
    pub tx_id: String,
    /// The contract's answer.
    pub response: AccessResponse,
    /// Its grant.
    pub grant: Grant,
    /// Its age when checked.
    pub age: Duration,
}

fn refuse(code: RefusalCode, message: impl Into<String>) -> Refusal {
    Refusal::new(code, message)
}

/// Checks committed transaction `tx` as the decision `tx_id` of the caller
/// whose TLS certificate is `caller_der`.
pub fn check(
    tx: &ProcessedTx,
    tx_id: &str,
    caller_der: &[u8],
    expect: &Expect<'_>,
) -> Result<Decision, Refusal> {
    use RefusalCode::*;
    if !tx.is_valid() {
        return Err(refuse(
            Invalid,
            format!(
                "transaction {tx_id} committed with validation code {}: only a VALID decision releases a key",
                tx.validation_code
            ),
        ));
    }
    let decoded = fabric_block::decode(&tx.envelope).map_err(|e| {
        refuse(
            NotAGrant,
            format!("transaction {tx_id} cannot be read: {e}"),
        )
    })?;
    if decoded.header_type != HeaderType::EndorserTransaction as i32
        || decoded.channel_id != expect.channel
        || decoded.txid != tx_id
    {
        return Err(refuse(
            NotAGrant,
            format!(
                "transaction {tx_id} is not an endorser transaction of channel {}",
                expect.channel
            ),
        ));
    }
    let creator = fabric_msp::Identity::from_serialized(&decoded.creator).map_err(|e| {
        refuse(
            NotAGrant,
            format!("the creator of {tx_id} cannot be read: {e}"),
        )
    })?;
    if creator.cert_der != caller_der {
        return Err(refuse(
            ForeignCaller,
            format!("transaction {tx_id} was created by another identity than the caller's"),
        ));
    }
    let action = decoded
        .action
        .as_ref()
        .filter(|a| a.chaincode_name == expect.chaincode && a.function() == Some(f::REQUEST_ACCESS))
        .ok_or_else(|| {
            refuse(
                NotAGrant,
                format!(
                    "transaction {tx_id} is not a {} call of {}",
                    f::REQUEST_ACCESS,
                    expect.chaincode
                ),
            )
        })?;
    let response = action
        .response
        .as_ref()
        .filter(|r| r.status == 200)
        .ok_or_else(|| {
            refuse(
                NotAGrant,
                format!("transaction {tx_id} has no successful answer"),
            )
        })?;
    let answer: AccessResponse = serde_json::from_slice(&response.payload).map_err(|e| {
        refuse(
            NotAGrant,
            format!("the answer of {tx_id} is not an access decision: {e}"),
        )
    })?;
    let grant = match (&answer.grant, answer.granted) {
        (Some(grant), true) if answer.tx_id == tx_id => grant.clone(),
        _ => {
            return Err(refuse(
                NotAGrant,
                format!("transaction {tx_id} denied access: {}", answer.reason),
            ))
        }
    };
    if grant.home_msp != expect.mspid {
        return Err(refuse(
            NotHome,
            format!(
                "record {} belongs to a patient of {}; ask its custodian, not {}'s",
                answer.record_id, grant.home_msp, expect.mspid
            ),
        ));
    }
    let age = age(decoded.timestamp.as_ref(), expect.now).ok_or_else(|| {
        refuse(
            Stale,
            format!("transaction {tx_id} carries no usable timestamp"),
        )
    })?;
    match age {
        Age::Ahead(ahead) if ahead > CLOCK_SKEW => Err(refuse(
            Stale,
            format!("transaction {tx_id} is dated {}s in the future", ahead.as_secs()),
        )),
        Age::Past(past) if past > expect.max_age => Err(refuse(
            Stale,
            format!(
                "the decision {tx_id} is {}s old; keys are released for decisions at most {}s old: request access again",
                past.as_secs(),
                expect.max_age.as_secs()
            ),
        )),
        Age::Past(past) => Ok(Decision {
            tx_id: tx_id.to_owned(),
            response: answer,
            grant,
            age: past,
        }),
        Age::Ahead(_) => Ok(Decision {
            tx_id: tx_id.to_owned(),
            response: answer,
            grant,
            age: Duration::ZERO,
        }),
    }
}

enum Age {
    Past(Duration),
    Ahead(Duration),
}

fn age(ts: Option<&prost_types::Timestamp>, now: SystemTime) -> Option<Age> {
    let ts = ts?;
    let secs = u64::try_from(ts.seconds).ok()?;
    let nanos = u32::try_from(ts.nanos).ok()?;
    let at = UNIX_EPOCH.checked_add(Duration::new(secs, nanos))?;
    Some(match now.duration_since(at) {
        Ok(past) => Age::Past(past),
        Err(ahead) => Age::Ahead(ahead.duration()),
    })
}
