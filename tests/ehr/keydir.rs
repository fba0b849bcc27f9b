//! Key rotation and revocation through the CLI on the real network: a
//! consent grantee rotates their key and still reads (the custodian seals
//! to the key published now); no version is ever wrapped to them at rest;
//! after a revocation of their key the custodian releases nothing to it
//! (their request names no published key and is refused).

use crate::fixtures::{observation, put_record};
use crate::users::{register_and_enroll, User};
use crate::{trial, Ctx, TestFn};
use anyhow::{anyhow, ensure, Context, Result};
use healthblock_sdk::types::args::GrantArgs;
use healthblock_sdk::types::model::{Grantee, PatientId, RecordId, ResourceType, Scope};
use healthblock_sdk::{NewVersion, Plaintext, Sink};
use serde_json::Value;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "keydir::rotation_keeps_reads_working_and_revocation_stops_them",
        rotation,
    )]
}

/// The trial's own grantee (its key changes: no other trial may use it).
const GRANTEE: User = User {
    name: "rotdoc2",
    org: "Hospital2",
    mspid: "Hospital2MSP",
    role: "doctor",
};

/// The grantee reads the latest version (audited) and gets the record's plaintext.
async fn read(ctx: &Ctx, rid: &str, want: &[u8]) -> Result<()> {
    let mut plain = Vec::new();
    ctx.sdk(&GRANTEE)
        .await?
        .read_record(&RecordId::parse(rid)?, None, Sink::Writer(&mut plain))
        .await
        .with_context(|| format!("{} reads {rid}", GRANTEE.principal()))?;
    ensure!(plain == want, "the grantee decrypted something else");
    Ok(())
}

/// The fingerprint `keydir show` prints for the grantee.
fn published_fingerprint(ctx: &Ctx) -> Result<String> {
    let out = ctx.net.cli_ok(&[
        "keydir",
        "show",
        "--as",
        "rotdoc2@Hospital2",
        "--user",
        "rotdoc2@Hospital2",
        "--json",
    ])?;
    let v: Value = serde_json::from_str(&out)?;
    v["fingerprint"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("keydir show printed {v}"))
}

/// Hospital1's doctor writes the next version; returns its wrap list.
async fn next_version(ctx: &Ctx, rid: &str) -> Result<Vec<String>> {
    let stored = ctx
        .sdk(&ctx.users.doctor1)
        .await?
        .put_record(NewVersion {
            patient: PatientId::parse(&ctx.users.patient1_pid)?,
            resource_type: ResourceType::parse("Observation")?,
            record_id: Some(RecordId::parse(rid)?),
            plaintext: Plaintext::Bytes(observation(rid)),
        })
        .await?;
    let version = serde_json::to_value(&stored.record.value)?;
    Ok(serde_json::from_value(version["wraps"].clone())?)
}

async fn rotation(ctx: Ctx) -> Result<()> {
    register_and_enroll(&ctx.net, &GRANTEE, None)?;
    let (rid, _) = put_record(&ctx, "rotation").await?;
    let patient = ctx.sdk(&ctx.users.patient1).await?;
    patient
        .grant_consent(GrantArgs {
            patient_id: PatientId::parse(&ctx.users.patient1_pid)?,
            grantee: Grantee::User {
                user: GRANTEE.principal(),
            },
            scope: Scope::Record {
                record_id: RecordId::parse(&rid)?,
            },
            expires_at: None,
        })
        .await?;
    ctx.net.settle().await?;
    let plaintext = observation(&rid);
    read(&ctx, &rid, &plaintext).await?;

    let old = published_fingerprint(&ctx)?;
    ctx.net
        .cli_ok(&["keydir", "rotate", "--as", "rotdoc2@Hospital2", "--json"])?;
    let new = published_fingerprint(&ctx)?;
    ensure!(new != old, "rotation published the same key");
    // The custodian seals version 1's key to the new published key.
    read(&ctx, &rid, &plaintext).await?;
    // Version 2 is wrapped to neither key: grantees hold no wrap at rest.
    let wraps = next_version(&ctx, &rid).await?;
    ensure!(
        !wraps.contains(&new) && !wraps.contains(&old) && wraps.len() == 2,
        "version 2 wraps {wraps:?} (old {old}, new {new})"
    );
    ctx.net.settle().await?;
    read(&ctx, &rid, &plaintext).await?;

    ctx.net
        .cli_ok(&["keydir", "revoke", "--as", "rotdoc2@Hospital2", "--json"])?;
    ctx.net.settle().await?;
    let refused = read(&ctx, &rid, &plaintext).await;
    ensure!(
        refused.as_ref().is_err_and(
            |e| format!("{e:#}").contains("is not the published, unrevoked encryption key")
        ),
        "a read with a revoked key: {refused:?}"
    );
    Ok(())
}
