//! Audited key release, attacked through the real network: the home
//! hospital's key custodian releases a data key only for a committed,
//! VALID, granted `request_access` of the caller, for a record of its own
//! hospital, once. Every other way to ask for a key is tried and refused:
//! a decision only evaluated (endorsed, never submitted), a transaction id
//! that was never sent, a grant forged by two colluding hospitals (it
//! commits INVALID), someone else's decision, a denied decision, another
//! hospital's custodian, and a replay. No refusal yields a key wrap.

use crate::attack::{
    expect_code_on_every_peer, forge_answering, COALITION, ENDORSEMENT_POLICY_FAILURE,
};
use crate::fixtures::{observation, put_record};
use crate::users::User;
use crate::{trial, Ctx, TestFn};
use anyhow::{anyhow, ensure, Result};
use healthblock_sdk::key_release::{request_release, Release};
use healthblock_sdk::types::functions as f;
use healthblock_sdk::types::model::RecordId;
use healthblock_sdk::types::results::AccessResponse;
use healthblock_sdk::{RefusalCode, SdkError, Signer, Sink};
use healthblock_tests::wallet_identity;
use std::sync::Arc;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "release::the_custodian_releases_a_key_only_for_a_committed_grant_of_the_caller_once",
        custodian_refusals,
    )]
}

/// Asks `org`'s custodian, as `user`, for the key of decision `tx_id`.
async fn ask(ctx: &Ctx, user: &User, org: &str, tx_id: &str) -> Result<Release, SdkError> {
    let signer: Arc<dyn Signer> =
        Arc::new(wallet_identity(&ctx.net, user.name, user.org).map_err(|e| {
            SdkError::KeyRelease {
                custodian: org.to_owned(),
                reason: e.to_string(),
            }
        })?);
    let endpoint = ctx.custodian_of(org).map_err(|e| SdkError::KeyRelease {
        custodian: org.to_owned(),
        reason: e.to_string(),
    })?;
    request_release(&endpoint, signer, tx_id).await
}

/// The attempt must be refused with `want`; no release, no wrap.
fn expect_refused(what: &str, got: Result<Release, SdkError>, want: RefusalCode) -> Result<()> {
    match got {
        Err(SdkError::ReleaseRefused { refusal, .. }) if refusal.code == want => {
            println!("  {what}: refused ({want:?}): {}", refusal.message);
            Ok(())
        }
        Err(other) => Err(anyhow!("{what}: failed otherwise than {want:?}: {other}")),
        Ok(r) => Err(anyhow!("{what}: the custodian RELEASED a key: {r:?}")),
    }
}

async fn custodian_refusals(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "release").await?;
    let record = RecordId::parse(&rid)?;
    let doctor1 = ctx.users.doctor1;
    let doctor2 = ctx.users.doctor2;
    let nurse3 = ctx.users.nurse3;
    let home = doctor1.org;

    // The legitimate path works: Hospital1's own doctor commits a decision
    // (home hospital) and gets the key from Hospital1's custodian.
    let client = ctx.sdk(&doctor1).await?;
    let mut plaintext = Vec::new();
    let read = client
        .read_record(&record, None, Sink::Writer(&mut plaintext))
        .await?;
    ensure!(
        plaintext == observation(&rid),
        "the home doctor's read decrypted something else"
    );
    let redeemed = read.access.value.tx_id.clone();

    // A replay of that redeemed decision.
    expect_refused(
        "a replayed decision",
        ask(&ctx, &doctor1, home, &redeemed).await,
        RefusalCode::Redeemed,
    )?;

    // A fresh committed grant of doctor1, presented by others.
    let fresh = client.request_access(&record, None).await?;
    ctx.net.settle().await?;
    let tx = fresh.value.tx_id.clone();
    expect_refused(
        "another hospital's doctor presenting doctor1's decision",
        ask(&ctx, &doctor2, home, &tx).await,
        RefusalCode::ForeignCaller,
    )?;
    expect_refused(
        "a colleague of the same hospital presenting doctor1's decision",
        ask(&ctx, &ctx.users.nurse1, home, &tx).await,
        RefusalCode::ForeignCaller,
    )?;
    expect_refused(
        "the right caller at another hospital's custodian",
        ask(&ctx, &doctor1, "Hospital2", &tx).await,
        RefusalCode::NotHome,
    )?;
    // The refusals above did not burn it: the caller still redeems it once.
    ask(&ctx, &doctor1, home, &tx)
        .await
        .map_err(|e| anyhow!("doctor1's own fresh decision was refused: {e}"))?;

    // Endorse-and-never-submit: an evaluated request_access carries a
    // transaction id and a grant, but nothing committed.
    let contract = ctx.contract(&doctor1).await?;
    let fingerprint = client.my_public_key()?.fingerprint().to_hex();
    let answer = contract
        .evaluate(f::REQUEST_ACCESS, [rid.as_str(), "", fingerprint.as_str()])
        .await?;
    let evaluated: AccessResponse = serde_json::from_slice(&answer)?;
    ensure!(
        evaluated.granted,
        "the evaluated request was not a grant: {evaluated:?}"
    );
    expect_refused(
        "an evaluated, never submitted grant",
        ask(&ctx, &doctor1, home, &evaluated.tx_id).await,
        RefusalCode::NotCommitted,
    )?;
    expect_refused(
        "a transaction id never sent",
        ask(&ctx, &doctor1, home, &"ab".repeat(32)).await,
        RefusalCode::NotCommitted,
    )?;
    expect_refused(
        "not a transaction id",
        ask(&ctx, &doctor1, home, "../../etc/passwd").await,
        RefusalCode::Malformed,
    )?;

    // A denied decision, committed and audited, releases nothing.
    let denied = ctx
        .sdk(&nurse3)
        .await?
        .request_access(&record, None)
        .await?;
    ctx.net.settle().await?;
    ensure!(
        !denied.value.granted,
        "nurse3 was granted: {:?}",
        denied.value
    );
    expect_refused(
        "a committed denial",
        ask(&ctx, &nurse3, home, &denied.value.tx_id).await,
        RefusalCode::NotAGrant,
    )?;

    // Two colluding hospitals forge a grant for Hospital2's doctor and
    // order it: it commits INVALID (no Hospital1 endorsement) on every peer,
    // and the custodian releases nothing for it.
    let doctor2_fp = ctx
        .sdk(&doctor2)
        .await?
        .my_public_key()?
        .fingerprint()
        .to_hex();
    let mut forged = evaluated.clone();
    forged.reason = "consent forged".into();
    if let Some(grant) = forged.grant.as_mut() {
        grant.requester = format!("{}@{}", doctor2.name, doctor2.mspid);
        grant.recipient = healthblock_sdk::types::model::KeyFingerprint::parse(&doctor2_fp)?;
    }
    let forged_tx = forge_answering(
        &ctx,
        f::REQUEST_ACCESS,
        Vec::new(),
        &serde_json::to_vec(&forged)?,
        COALITION,
    )
    .await?;
    expect_code_on_every_peer(&ctx, &forged_tx, ENDORSEMENT_POLICY_FAILURE).await?;
    expect_refused(
        "a grant forged by two colluding hospitals",
        ask(&ctx, &doctor2, home, &forged_tx).await,
        RefusalCode::Invalid,
    )?;
    Ok(())
}
