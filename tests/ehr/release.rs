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
    vec![
        trial(
            "release::the_custodian_releases_a_key_only_for_a_committed_grant_of_the_caller_once",
            custodian_refusals,
        ),
        trial(
            "release::no_read_path_but_the_custodian_yields_a_grantee_a_data_key",
            no_other_read_path,
        ),
        trial("release::a_stale_decision_releases_no_key", stale_decision),
    ]
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

/// A consent grantee walks every read path a client has besides the
/// custodian: each query of the contract (Evaluate, never committed), an
/// evaluated `request_access`, and every wrap in the object store. None
/// carries a wrap's bytes, and no stored wrap opens with the grantee's key.
/// (Deliver and qscc's block queries are refused to clients by the channel's
/// ACLs: `e2e acl::*`.)
async fn no_other_read_path(ctx: Ctx) -> Result<()> {
    use healthblock_sdk::types::args::GrantArgs;
    use healthblock_sdk::types::model::{Grantee, PatientId, Scope};
    use healthblock_sdk::KeyOwner;

    let (rid, stored) = put_record(&ctx, "paths").await?;
    let record = RecordId::parse(&rid)?;
    let pid = PatientId::parse(&ctx.users.patient1_pid)?;
    let grantee = ctx.users.doctor2;
    ctx.sdk(&ctx.users.patient1)
        .await?
        .grant_consent(GrantArgs {
            patient_id: pid.clone(),
            grantee: Grantee::User {
                user: grantee.principal(),
            },
            scope: Scope::Record {
                record_id: record.clone(),
            },
            expires_at: None,
        })
        .await?;
    ctx.net.settle().await?;

    // The wraps at rest: the home hospital's and the patient's, nothing else.
    let hash = stored["ciphertext_sha256"]
        .as_str()
        .ok_or_else(|| anyhow!("no hash in {stored}"))?;
    let dir = ctx
        .net
        .home()
        .join("store/blobs")
        .join(format!("{hash}.wraps"));
    let mut wraps = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        wraps.push((
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read(entry.path())?,
        ));
    }
    let client = ctx.sdk(&grantee).await?;
    let mine = client.my_public_key()?.fingerprint().to_hex();
    ensure!(
        wraps.len() == 2,
        "{} wraps at rest: {:?}",
        wraps.len(),
        wraps.iter().map(|w| &w.0).collect::<Vec<_>>()
    );
    ensure!(
        wraps.iter().all(|(name, _)| *name != mine),
        "a wrap for the grantee is stored"
    );
    // None opens with the grantee's key.
    let secret = client.keys().secret_key(KeyOwner::User(&client.user()))?;
    let context = wbcb::RecordContext::new(rid.clone(), 1, pid.to_string())?;
    for (name, bytes) in &wraps {
        let wrap = wbcb::KeyWrap::from_bytes(bytes)?;
        ensure!(
            wrap.open(&secret, &context).is_err(),
            "the wrap {name} opened with the grantee's key"
        );
    }

    // Every query the grantee can evaluate, and an evaluated request_access.
    let contract = ctx.contract(&grantee).await?;
    let fingerprint = mine.clone();
    let calls: Vec<(&str, Vec<String>)> = vec![
        (f::GET_RECORD, vec![rid.clone()]),
        (f::GET_RECORD, vec![rid.clone(), "1".into()]),
        (f::LIST_RECORDS_BY_PATIENT, vec![pid.to_string()]),
        (f::RECORD_HISTORY, vec![rid.clone()]),
        (f::VERIFY_RECORD, vec![rid.clone(), "1".into()]),
        (f::LIST_CONSENTS, vec![pid.to_string()]),
        (f::GET_KEY, vec!["hospital:Hospital1MSP".into()]),
        (
            f::REQUEST_ACCESS,
            vec![rid.clone(), String::new(), fingerprint],
        ),
    ];
    use base64::Engine as _;
    for (function, args) in calls {
        let answer = match contract
            .evaluate(function, args.iter().map(String::as_str))
            .await
        {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // A refusal is no key either; say which.
            Err(e) => {
                println!("  {function}: refused: {e}");
                continue;
            }
        };
        for (name, bytes) in &wraps {
            let forms = [
                hex::encode(bytes),
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ];
            ensure!(
                forms.iter().all(|form| !answer.contains(form.as_str())),
                "{function} answered the bytes of wrap {name}"
            );
        }
        ensure!(!answer.contains("WBCW"), "{function} answered a key wrap");
        // Only a grant names where the ciphertext lives (an evaluated
        // request_access computes one, uncommitted: its key still needs the
        // custodian, which finds no committed decision).
        ensure!(
            function == f::REQUEST_ACCESS || !answer.contains("storage_pointer"),
            "{function} answered a storage pointer: {answer}"
        );
        println!("  {function}: {} bytes, no key material", answer.len());
    }
    Ok(())
}

/// A decision older than the custodian's bound releases nothing. The
/// network's own custodians accept 5 minutes; a second custodian of
/// Hospital1 (its own port and state, the same keys and peer) accepts 2 s,
/// so the test does not wait minutes.
async fn stale_decision(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "stale").await?;
    let record = RecordId::parse(&rid)?;
    let doctor1 = ctx.users.doctor1;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let address = format!("127.0.0.1:{port}");
    let state = tempfile::tempdir()?;
    let state_dir = state.path().to_string_lossy().into_owned();
    let _strict = ctx.net.cli_spawn(&[
        "custodian",
        "serve",
        "--org",
        "Hospital1",
        "--max-age-secs",
        "2",
        "--listen",
        &address,
        "--state-dir",
        &state_dir,
    ])?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tokio::net::TcpStream::connect(&address).await.is_err() {
        ensure!(
            std::time::Instant::now() < deadline,
            "the strict custodian did not listen on {address}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut strict = ctx.custodian_of(doctor1.org)?;
    strict.address = address;
    let signer: Arc<dyn Signer> = Arc::new(wallet_identity(&ctx.net, doctor1.name, doctor1.org)?);

    let decision = ctx
        .sdk(&doctor1)
        .await?
        .request_access(&record, None)
        .await?;
    ctx.net.settle().await?;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    expect_refused(
        "a decision 5 s old at a custodian that accepts 2 s",
        request_release(&strict, signer.clone(), &decision.value.tx_id).await,
        RefusalCode::Stale,
    )?;
    // The same custodian releases a fresh one: the refusal was the age.
    let fresh = ctx
        .sdk(&doctor1)
        .await?
        .request_access(&record, None)
        .await?;
    request_release(&strict, signer, &fresh.value.tx_id)
        .await
        .map_err(|e| anyhow!("the strict custodian refused a fresh decision: {e}"))?;
    Ok(())
}
