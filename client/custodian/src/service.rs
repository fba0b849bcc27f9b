//! Owns: one release, start to end. The order is the point: nothing about
//! the key is touched until the ledger has confirmed, through the
//! hospital's own peer, that the caller committed a fresh granted decision
//! for this record version; then the decision is redeemed (once), and only
//! then is the hospital's wrap opened and the key sealed to the caller's
//! published key. Every failure is a refusal: no confirmation, no key.

use std::time::{Duration, SystemTime};

use fabric_client::admin::channel::transaction_by_id;
use fabric_client::admin::Peer;
use fabric_msp::SigningIdentity;
use healthblock_sdk::key_release::{Refusal, RefusalCode, Release};
use healthblock_sdk::{Client, KeyOwner, SdkError};

use crate::decision::{self, Decision, Expect};
use crate::redeemed::Redeemed;

/// How long a transaction missing on the hospital's peer is waited for.
const COMMIT_WAIT: Duration = Duration::from_secs(3);

/// The default freshness bound of a decision.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// A hospital's key custodian.
pub struct Custodian {
    /// The hospital's SDK client: its administrator's identity, the object
    /// store and the hospital key pair.
    pub client: Client,
    /// The hospital's own peer, asked for committed transactions.
    pub peer: Peer,
    /// Who asks the peer (an identity the channel's qscc ACL admits).
    pub reader: SigningIdentity,
    /// The channel.
    pub channel: String,
    /// The oldest decision it releases a key for.
    pub max_age: Duration,
    /// Decisions already redeemed.
    pub redeemed: Redeemed,
}

impl std::fmt::Debug for Custodian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Custodian")
            .field("mspid", &self.client.mspid())
            .field("peer", &self.peer.address())
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn refuse(code: RefusalCode, message: impl Into<String>) -> Refusal {
    Refusal::new(code, message)
}

fn is_tx_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Custodian {
    /// Releases the key of decision `tx_id` to the caller whose TLS
    /// certificate is `caller_der`.
    pub async fn release(&self, caller_der: &[u8], tx_id: &str) -> Result<Release, Refusal> {
        if !is_tx_id(tx_id) {
            return Err(refuse(
                RefusalCode::Malformed,
                "tx_id must be a transaction id (64 hex digits)",
            ));
        }
        let committed = self.committed(tx_id).await?;
        let decision = decision::check(
            &committed,
            tx_id,
            caller_der,
            &Expect {
                channel: &self.channel,
                chaincode: &self.client.options().chaincode,
                mspid: self.client.mspid(),
                max_age: self.max_age,
                now: SystemTime::now(),
            },
        )?;
        let recipient = self.recipient_key(&decision).await?;
        let fresh = self.redeemed.redeem(tx_id).map_err(|e| {
            refuse(
                RefusalCode::Unavailable,
                format!("cannot record the redemption: {e}"),
            )
        })?;
        if !fresh {
            return Err(refuse(
                RefusalCode::Redeemed,
                format!("decision {tx_id} was redeemed before: request access again"),
            ));
        }
        let record_id = &decision.response.record_id;
        let version = decision.response.version;
        let wrap = self
            .client
            .release_key(record_id, version, &decision.grant, &recipient)
            .await
            .map_err(|e| {
                refuse(
                    RefusalCode::Unavailable,
                    format!("cannot open the hospital's wrap of {record_id} v{version}: {e}"),
                )
            })?
            .ok_or_else(|| {
                refuse(
                    RefusalCode::NotHome,
                    format!("the hospital holds no wrap of {record_id} v{version}"),
                )
            })?;
        use base64::Engine as _;
        Ok(Release {
            tx_id: tx_id.to_owned(),
            record_id: record_id.clone(),
            version,
            recipient: decision.grant.recipient.clone(),
            wrap: base64::engine::general_purpose::STANDARD.encode(wrap.to_bytes()),
        })
    }

    /// The transaction as the hospital's peer committed it. The caller
    /// waited for the commit on its own organisation's peer, which may be a
    /// block ahead of ours: a missing transaction is asked for again for up
    /// to [`COMMIT_WAIT`] before the refusal.
    async fn committed(
        &self,
        tx_id: &str,
    ) -> Result<fabric_client::admin::channel::ProcessedTx, Refusal> {
        let deadline = tokio::time::Instant::now() + COMMIT_WAIT;
        // Our peer is usually at most a block behind the caller's, a few
        // milliseconds: ask again soon, then back off.
        let mut pause = Duration::from_millis(5);
        loop {
            match transaction_by_id(&self.peer, &self.reader, &self.channel, tx_id).await {
                Ok(tx) => return Ok(tx),
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => {
                    return Err(refuse(
                        RefusalCode::NotCommitted,
                        format!(
                            "{} holds no committed transaction {tx_id}: {e}",
                            self.peer.address()
                        ),
                    ))
                }
            }
        }
    }

    /// The caller's published key now: still the one the decision named,
    /// and not revoked since.
    async fn recipient_key(
        &self,
        decision: &Decision,
    ) -> Result<wbcb::EncryptionPublicKey, Refusal> {
        let grant = &decision.grant;
        let owner = match grant.requester.strip_prefix("patient:") {
            Some(pid) => {
                let pid = healthblock_ehr_types::model::PatientId::parse(pid).map_err(|e| {
                    refuse(
                        RefusalCode::NotAGrant,
                        format!("the requester is no patient id: {e}"),
                    )
                })?;
                return self.lookup(KeyOwner::Patient(&pid), grant).await;
            }
            None => grant.requester.as_str(),
        };
        self.lookup(KeyOwner::User(owner), grant).await
    }

    async fn lookup(
        &self,
        owner: KeyOwner<'_>,
        grant: &healthblock_ehr_types::results::Grant,
    ) -> Result<wbcb::EncryptionPublicKey, Refusal> {
        let key = self
            .client
            .published_key(owner)
            .await
            .map_err(|e| match e {
                SdkError::KeyNotPublished(_)
                | SdkError::KeyRevoked(_)
                | SdkError::KeyMismatch(_) => refuse(
                    RefusalCode::KeyMismatch,
                    format!("{}: {e}", grant.requester),
                ),
                e => refuse(
                    RefusalCode::Unavailable,
                    format!("cannot read the key directory: {e}"),
                ),
            })?;
        if key.fingerprint().to_hex() != grant.recipient.as_str() {
            return Err(refuse(
                RefusalCode::KeyMismatch,
                format!(
                    "the decision names key {}, but {} publishes another now: request access again",
                    grant.recipient, grant.requester
                ),
            ));
        }
        Ok(key)
    }
}
