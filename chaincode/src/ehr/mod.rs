//! The EHR contract (`healthblock-ehrcc`): patients, record versions,
//! consent, audited access, break-glass and the audit trail.
//!
//! The ledger holds only what proves and governs a record: ciphertext hash,
//! size and location, pseudonymous patient ids, consent, and the audit trail
//! (see `docs/design.md`, section 5 "Security goals"). Roles come from the Fabric CA
//! attributes of the caller's certificate ([`roles`]).
//!
//! Arguments are strings (JSON where structured); every result is JSON;
//! failures are status 500 with the reason as the message.
//!
//! | function | arguments | who may call |
//! |---|---|---|
//! | `whoami` | – | anyone with a role |
//! | `register_patient` | pid | admin, doctor (home = caller's MSP) |
//! | `get_patient` | pid | anyone with a role |
//! | `put_record` | JSON [`record::PutArgs`] | doctor, nurse, admin of the home hospital |
//! | `update_wraps` | JSON [`wraps::WrapArgs`] or an array of them (one transaction) | doctor, nurse, admin of the home hospital; the patient |
//! | `get_record` | rid [, version] | readers of the record* |
//! | `list_records_by_patient` | pid [, page size, bookmark] | readers (others' records left out)* |
//! | `list_records_by_token` | token [, page size, bookmark] | readers (others' records left out)* |
//! | `record_history` | rid | readers of the record* |
//! | `verify_record` | rid, version | readers of the record* |
//! | `grant_consent` | JSON [`consent::GrantArgs`] | the patient; admin of the home hospital |
//! | `revoke_consent` | pid, consent id | the patient; admin of the home hospital |
//! | `list_consents` | pid [, page size, bookmark] | the patient; home hospital staff; auditors |
//! | `request_access` | rid, version or "", key fingerprint | anyone with a role; decided by [`policy`], always audited |
//! | `break_glass` | pid, reason (`CODE: text`) | doctors (any hospital), within the rate limit; other attempts are refused and audited |
//! | `set_break_glass_limit` | n (1 to 10) | admins (any hospital) |
//! | `get_break_glass_limit` | – | anyone with a role |
//! | `list_break_glass` | pid [, page size, bookmark] | the patient; home admins and doctors; auditors |
//! | `review_break_glass` | pid, id, note | auditors; home admins; never of the opener's hospital |
//! | `list_open_break_glass` | [page size, bookmark] | admins (their hospital's open list) |
//! | `list_unreviewed_break_glass` | [home MSP or "", page size, bookmark] | auditors (one hospital, or all); admins (their hospital) |
//! | `close_break_glass` | pid, id | home admins (the custodian) |
//! | `audit_by_patient` | pid [, page size, bookmark] | the patient; home admins and doctors; auditors |
//! | `audit_by_record` | rid [, page size, bookmark] | the patient; home admins and doctors; auditors |
//!
//! \* readers of a record: the patient, the home hospital's doctors, nurses
//! and admins, auditors (metadata only), and other doctors and nurses with
//! an active consent (or, for doctors, their own break-glass in force).
//! Metadata never includes the wrap list; `request_access` answers where the
//! blob is and names the caller's published key for the custodian.
//!
//! `request_access` and `break_glass` answer a denial with status 200 and
//! `{"granted":false,"reason":...}`, so the denial's audit entry commits
//! (see [`access`], [`breakglass`]). Every function except the time-free
//! reads ([`TIME_FREE_FUNCTIONS`]) first checks that the transaction
//! timestamp is within [`clock::MAX_SKEW_SECONDS`] of the peer's clock. `verify_record` returns the stored hash and the id of
//! the transaction that wrote the version; the block number and validation
//! code are not visible to chaincode, so the client reads them from the
//! ledger by that transaction id.
//!
//! Key layout: [`keys`]. Endorsement (see [`store`]): the contract is
//! deployed with a chaincode-level policy naming a peer of every hospital, so
//! every write about a patient, creations included, carries the home
//! hospital's endorsement and no coalition of other hospitals can make one;
//! evidence keys (audit, break-glass, reviews) are sealed once written.
//! Patient identities count only at their home hospital
//! ([`roles::Caller::is_patient`]).
//!
//! Key custody (audited key release): a version's data key is wrapped at
//! rest (in the object store) only to the published keys of the home
//! hospital and the patient ([`keydir::check_wraps`]); the ledger lists the
//! wraps by fingerprint ([`wraps`]). Every other reader, consent grantees
//! and break-glass doctors alike, submits `request_access` naming their own
//! published key, and the home hospital's key custodian service releases
//! the data key to that key after checking the committed transaction
//! ([`access`], [`custodian`]).

pub mod access;
pub mod audit;
pub mod breakglass;
pub mod clock;
pub mod consent;
pub mod custodian;
pub mod error;
pub mod keydir;
pub mod keys;
pub mod patient;
pub mod policy;
pub mod record;
pub mod roles;
pub mod store;
pub mod worklist;
pub mod wraps;

/// The contract's stored documents and identifiers, shared with clients.
pub use healthblock_ehr_types::model;

use async_trait::async_trait;
use fabric_shim::{error as error_response, success, Chaincode, ChaincodeStub, Response};
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::results::WhoAmI;
use serde::Serialize;

use error::{EhrError, EhrResult};
use roles::Caller;
use store::PageRequest;

/// The EHR contract.
///
/// `Default` bounds transaction timestamps by the system clock
/// ([`clock::TimeBound`]); tests give it a clock of their own.
#[derive(Debug, Default, Clone)]
pub struct EhrContract {
    time_bound: clock::TimeBound,
}

impl EhrContract {
    /// The contract with this time bound.
    pub fn new(time_bound: clock::TimeBound) -> Self {
        EhrContract { time_bound }
    }
}

#[async_trait]
impl Chaincode for EhrContract {
    async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response {
        let (function, params) = stub.function_and_parameters();
        match dispatch(stub, &self.time_bound, &function, &params).await {
            Ok(payload) => success(payload),
            Err(e) => error_response(e.to_string()),
        }
    }
}

fn json<T: Serialize>(value: &T) -> EhrResult<Vec<u8>> {
    Ok(serde_json::to_vec(value)?)
}

/// Functions that neither write nor decide anything on time (they read no
/// clock): the only ones exempt from the time bound. Every other function,
/// including any added later, has its timestamp checked first.
pub const TIME_FREE_FUNCTIONS: &[&str] = &[
    f::WHOAMI,
    f::GET_PATIENT,
    f::LIST_BREAK_GLASS,
    f::GET_BREAK_GLASS_LIMIT,
    f::AUDIT_BY_PATIENT,
    f::AUDIT_BY_RECORD,
    f::GET_KEY,
];

async fn dispatch(
    stub: &mut dyn ChaincodeStub,
    time_bound: &clock::TimeBound,
    function: &str,
    p: &[String],
) -> EhrResult<Vec<u8>> {
    let caller = Caller::from_stub(stub)?;
    if !TIME_FREE_FUNCTIONS.contains(&function) {
        time_bound.checked_tx_time(stub)?;
    }
    let a = Params::new(function, p);
    match function {
        f::WHOAMI => {
            a.arity(0, 0)?;
            json(&WhoAmI {
                mspid: caller.mspid.clone(),
                user: caller.user.clone(),
                role: caller.role,
                pseudonym: caller.pseudonym.clone(),
            })
        }
        f::REGISTER_PATIENT => {
            a.arity(1, 1)?;
            json(&patient::register(stub, &caller, a.get(0)).await?)
        }
        f::GET_PATIENT => {
            a.arity(1, 1)?;
            json(&patient::get(stub, a.get(0)).await?)
        }
        f::PUT_RECORD => {
            a.arity(1, 1)?;
            json(&record::put(stub, &caller, a.get(0)).await?)
        }
        f::UPDATE_WRAPS => {
            a.arity(1, 1)?;
            json(&wraps::update(stub, &caller, a.get(0)).await?)
        }
        f::GET_RECORD => {
            a.arity(1, 2)?;
            json(&record::get(stub, &caller, a.get(0), a.opt(1)).await?)
        }
        f::LIST_RECORDS_BY_PATIENT => {
            let page = a.paged()?;
            json(&record::list_by_patient(stub, &caller, a.get(0), &page).await?)
        }
        f::LIST_RECORDS_BY_TOKEN => {
            let page = a.paged()?;
            json(&record::list_by_token(stub, &caller, a.get(0), &page).await?)
        }
        f::RECORD_HISTORY => {
            a.arity(1, 1)?;
            json(&record::history(stub, &caller, a.get(0)).await?)
        }
        f::VERIFY_RECORD => {
            a.arity(2, 2)?;
            json(&record::verify(stub, &caller, a.get(0), a.get(1)).await?)
        }
        f::PUBLISH_KEY => {
            a.arity(1, 2)?;
            json(&keydir::publish(stub, &caller, a.get(0), a.opt(1)).await?)
        }
        f::REVOKE_KEY => {
            a.arity(0, 1)?;
            json(&keydir::revoke(stub, &caller, a.opt(0)).await?)
        }
        f::GET_KEY => {
            a.arity(1, 1)?;
            json(&keydir::load(stub, a.get(0)).await?)
        }
        f::GRANT_CONSENT => {
            a.arity(1, 1)?;
            json(&consent::grant(stub, &caller, a.get(0)).await?)
        }
        f::REVOKE_CONSENT => {
            a.arity(2, 2)?;
            json(&consent::revoke(stub, &caller, a.get(0), a.get(1)).await?)
        }
        f::LIST_CONSENTS => {
            let page = a.paged()?;
            json(&consent::list(stub, &caller, a.get(0), &page).await?)
        }
        f::REQUEST_ACCESS => {
            a.arity(3, 3)?;
            json(&access::request(stub, &caller, a.get(0), a.opt(1), a.get(2)).await?)
        }
        f::BREAK_GLASS => {
            a.arity(2, 2)?;
            json(&breakglass::open(stub, &caller, a.get(0), a.get(1)).await?)
        }
        f::SET_BREAK_GLASS_LIMIT => {
            a.arity(1, 1)?;
            json(&breakglass::set_limit(stub, &caller, a.get(0)).await?)
        }
        f::GET_BREAK_GLASS_LIMIT => {
            a.arity(0, 0)?;
            json(&breakglass::limit(stub).await?)
        }
        f::REVIEW_BREAK_GLASS => {
            a.arity(3, 3)?;
            json(&breakglass::review(stub, &caller, a.get(0), a.get(1), a.get(2)).await?)
        }
        f::LIST_UNREVIEWED_BREAK_GLASS => {
            a.arity(0, 3)?;
            let page = PageRequest::parse(a.opt(1), a.opt(2))?;
            json(&worklist::list(stub, &caller, a.opt(0), &page).await?)
        }
        f::LIST_OPEN_BREAK_GLASS => {
            a.arity(0, 2)?;
            let page = PageRequest::parse(a.opt(0), a.opt(1))?;
            json(&custodian::list_open(stub, &caller, &page).await?)
        }
        f::CLOSE_BREAK_GLASS => {
            a.arity(2, 2)?;
            json(&custodian::close(stub, &caller, a.get(0), a.get(1)).await?)
        }
        f::LIST_BREAK_GLASS => {
            let page = a.paged()?;
            json(&breakglass::list(stub, &caller, a.get(0), &page).await?)
        }
        f::AUDIT_BY_PATIENT => {
            let page = a.paged()?;
            json(&audit::by_patient(stub, &caller, a.get(0), &page).await?)
        }
        f::AUDIT_BY_RECORD => {
            let page = a.paged()?;
            json(&audit::by_record(stub, &caller, a.get(0), &page).await?)
        }
        other => Err(EhrError::Argument(format!("unknown function {other:?}"))),
    }
}

/// A function's string parameters with arity checks.
struct Params<'a> {
    function: &'a str,
    params: &'a [String],
}

impl<'a> Params<'a> {
    fn new(function: &'a str, params: &'a [String]) -> Self {
        Params { function, params }
    }

    /// Fails unless there are `min..=max` parameters.
    fn arity(&self, min: usize, max: usize) -> EhrResult<()> {
        let got = self.params.len();
        if (min..=max).contains(&got) {
            return Ok(());
        }
        let expected = if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        };
        Err(EhrError::Arity {
            function: self.function.to_owned(),
            expected,
            got,
        })
    }

    /// Parameter `i`, empty when absent (callers check arity first).
    fn get(&self, i: usize) -> &'a str {
        self.params.get(i).map(String::as_str).unwrap_or_default()
    }

    /// Optional parameter `i`.
    fn opt(&self, i: usize) -> Option<&'a str> {
        self.params.get(i).map(String::as_str)
    }

    /// One subject parameter followed by optional page size and bookmark.
    fn paged(&self) -> EhrResult<PageRequest> {
        self.arity(1, 3)?;
        PageRequest::parse(self.opt(1), self.opt(2))
    }
}
