//! Fabric validation semantics on the devnet, each asserting the exact
//! validation code (from the commit status or the block's filter) or error.

use crate::{key, trial, Net, TestFn};
use anyhow::{ensure, Context, Result};
use fabric_client::commit::TxValidationCode;
use healthblock_network::consortium::PeerOrg;
use healthblock_tests::{broadcast, find_tx_code, KV};

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial("semantics::mvcc_read_conflict", mvcc_read_conflict),
        trial("semantics::phantom_read_conflict", phantom_read_conflict),
        trial(
            "semantics::one_org_endorsement_under_majority",
            one_org_endorsement,
        ),
        trial(
            "semantics::key_level_policy_of_another_org",
            key_level_policy,
        ),
        trial("semantics::duplicate_txid", duplicate_txid),
        trial("semantics::high_s_signature_rejected", high_s_rejected),
        trial(
            "semantics::wrong_org_certificate_rejected",
            wrong_org_rejected,
        ),
        trial("semantics::expired_certificate_rejected", expired_rejected),
    ]
}

const MVCC: TxValidationCode = TxValidationCode(11);
const PHANTOM: TxValidationCode = TxValidationCode(12);
const POLICY: TxValidationCode = TxValidationCode(10);
const DUPLICATE: i32 = 9;

async fn mvcc_read_conflict(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("mvcc");
    contract.submit("put", [k.as_str(), "v0"]).await?;
    // Both read k at the same version, then both are ordered.
    let first = contract
        .endorse(&contract.new_proposal("readwrite", [k.as_str(), "A"]), &[])
        .await?;
    let second = contract
        .endorse(&contract.new_proposal("readwrite", [k.as_str(), "B"]), &[])
        .await?;
    let id = gw.identity().clone();
    let s1 = contract
        .submit_envelope(&first.txid, first.sign(&id))
        .await?;
    let s2 = contract
        .submit_envelope(&second.txid, second.sign(&id))
        .await?;
    let (c1, c2) = (s1.status().await?, s2.status().await?);
    ensure!(c1.is_valid(), "first readwrite: {}", c1.code);
    ensure!(
        c2.code == MVCC,
        "second readwrite: {} (want MVCC_READ_CONFLICT)",
        c2.code
    );
    ensure!(
        contract.evaluate("get", [k.as_str()]).await? == b"A",
        "the invalid write changed state"
    );
    Ok(())
}

async fn phantom_read_conflict(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let p = key("ph");
    contract
        .submit("put", [format!("{p}-b").as_str(), "1"])
        .await?;
    let (start, end, out) = (format!("{p}-a"), format!("{p}-z"), format!("{p}-count"));
    let count = contract
        .endorse(
            &contract.new_proposal("countrange", [start.as_str(), end.as_str(), out.as_str()]),
            &[],
        )
        .await?;
    let insert = contract
        .endorse(
            &contract.new_proposal("put", [format!("{p}-m").as_str(), "new"]),
            &[],
        )
        .await?;
    let id = gw.identity().clone();
    let s_insert = contract
        .submit_envelope(&insert.txid, insert.sign(&id))
        .await?;
    let s_count = contract
        .submit_envelope(&count.txid, count.sign(&id))
        .await?;
    ensure!(s_insert.status().await?.is_valid());
    let c = s_count.status().await?;
    ensure!(
        c.code == PHANTOM,
        "countrange: {} (want PHANTOM_READ_CONFLICT)",
        c.code
    );
    Ok(())
}

async fn one_org_endorsement(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("one-org");
    let prepared = contract
        .endorse(
            &contract.new_proposal("put", [k.as_str(), "x"]),
            &["Hospital1MSP".to_owned()],
        )
        .await?;
    let envelope = prepared.sign(gw.identity());
    let (status, info) = broadcast(&net, envelope).await?;
    ensure!(status == 200, "broadcast status {status} {info}");
    // Filtered blocks are for peers and admins (the channel's ACLs).
    let admin = net.gateway("Admin@Hospital1").await?;
    let (_, code) = find_tx_code(&admin, &net.consortium.channel, 0, &prepared.txid, 0).await?;
    ensure!(
        code == POLICY.0,
        "one-org endorsement committed as {} (want ENDORSEMENT_POLICY_FAILURE)",
        TxValidationCode(code)
    );
    let read = contract.evaluate("get", [k.as_str()]).await?;
    ensure!(
        read.is_empty(),
        "an invalid transaction changed state: {:?}",
        read
    );
    Ok(())
}

async fn key_level_policy(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("sbe");
    // The key now needs a Hospital2 peer, whatever the chaincode policy says.
    contract
        .submit("setpolicy", [k.as_str(), "Hospital2MSP"])
        .await?;
    let orgs13 = ["Hospital1MSP".to_owned(), "Hospital3MSP".to_owned()];
    let bad = contract
        .transaction("put")
        .args([k.as_str(), "by-1-and-3"])
        .endorsing_organizations(orgs13)
        .submit_async()
        .await?;
    let code = bad.status().await?.code;
    ensure!(
        code == POLICY,
        "write endorsed by Hospital1+3: {code} (want ENDORSEMENT_POLICY_FAILURE)"
    );
    let orgs12 = ["Hospital1MSP".to_owned(), "Hospital2MSP".to_owned()];
    let good = contract
        .transaction("put")
        .args([k.as_str(), "by-1-and-2"])
        .endorsing_organizations(orgs12)
        .submit_async()
        .await?;
    let code = good.status().await?.code;
    ensure!(
        code.is_valid(),
        "control write endorsed by Hospital1+2: {code}"
    );
    ensure!(contract.evaluate("get", [k.as_str()]).await? == b"by-1-and-2");
    Ok(())
}

async fn duplicate_txid(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("dup");
    let prepared = contract
        .endorse(&contract.new_proposal("put", [k.as_str(), "once"]), &[])
        .await?;
    let envelope = prepared.sign(gw.identity());
    let first = contract
        .submit_envelope(&prepared.txid, envelope.clone())
        .await?
        .status()
        .await?;
    ensure!(first.is_valid(), "first submission: {}", first.code);
    let (status, info) = broadcast(&net, envelope).await?;
    ensure!(
        status == 200,
        "the orderer does not deduplicate, it should accept: {status} {info}"
    );
    let admin = net.gateway("Admin@Hospital1").await?;
    let (_, code) = find_tx_code(
        &admin,
        &net.consortium.channel,
        first.block_number,
        &prepared.txid,
        1,
    )
    .await?;
    ensure!(
        code == DUPLICATE,
        "replayed transaction: {} (want DUPLICATE_TXID)",
        TxValidationCode(code)
    );
    Ok(())
}

/// Flips a DER ECDSA signature's S to n - S (the same signature in its high-S form).
fn to_high_s(der: &[u8]) -> Result<Vec<u8>> {
    use p256::ecdsa::Signature;
    let sig = Signature::from_der(der).context("signature DER")?;
    let (r, s) = sig.split_scalars();
    let high = Signature::from_scalars(r, -*s).context("high-S scalars")?;
    Ok(high.to_der().as_bytes().to_vec())
}

async fn high_s_rejected(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let proposal = contract.new_proposal("get", ["anything"]);
    let mut signed = proposal.sign(gw.identity());
    signed.signature = to_high_s(&signed.signature)?;
    let err = contract
        .endorse_signed(&proposal.txid, signed, &[])
        .await
        .err()
        .context("a high-S proposal was endorsed")?;
    let text = format!("{err} {:?}", err.details()).to_lowercase();
    ensure_generic_denial(&net, &text, "hospital1msp")?;
    // The gateway's own peer answers in-process; the next peer of the org over gRPC.
    ensure!(
        text.contains("rpc error: code = unknown desc = error validating proposal: access denied"),
        "want the remote peer's gRPC refusal too: {text}"
    );
    Ok(())
}

/// Evaluates as `identity` on `org`'s first peer, expects a refusal and returns its text (lower case).
async fn refusal(
    net: &Net,
    identity: fabric_msp::SigningIdentity,
    org: &PeerOrg,
    what: &str,
) -> Result<String> {
    let gw = net.gateway_on(identity, org, &org.peers[0]).await?;
    let err = gw
        .network(&net.consortium.channel)
        .contract(KV)
        .evaluate("get", ["x"])
        .await
        .err()
        .with_context(|| format!("{what} was served"))?;
    Ok(format!("{err} {:?}", err.details()).to_lowercase())
}

/// The only file of a directory (an MSP's signcerts/ or keystore/).
fn only_file(dir: std::path::PathBuf) -> Result<Vec<u8>> {
    let entry = dir
        .read_dir()?
        .next()
        .with_context(|| format!("{} is empty", dir.display()))??;
    Ok(std::fs::read(entry.path())?)
}

async fn wrong_org_rejected(net: Net) -> Result<()> {
    // Hospital1's user certificate and key presented as a member of Hospital2MSP.
    let user_dir = net.layout.user_msp_dir(net.org("Hospital1")?, "User1");
    let (cert, key) = (
        only_file(user_dir.join("signcerts"))?,
        only_file(user_dir.join("keystore"))?,
    );
    let org2 = net.org("Hospital2")?;
    let impostor = fabric_msp::SigningIdentity::from_pem(&org2.mspid, &cert, &key)?;
    let text = refusal(&net, impostor, org2, "a wrong-org identity").await?;
    // Fabric cannot even deserialize a certificate that does not chain to the
    // claimed MSP (it sanitizes the signature against the issuing CA).
    let want = format!(
        "failedprecondition (9): evaluate call to endorser returned error: error validating proposal: \
         access denied: channel [{}] creator org unknown, creator is malformed",
        net.consortium.channel
    );
    ensure!(text.contains(&want), "want {want:?} in: {text}");
    Ok(())
}

async fn expired_rejected(net: Net) -> Result<()> {
    let org = net.org("Hospital1")?;
    let identity = healthblock_tests::expired_identity(&net, org)?;
    let text = refusal(&net, identity, org, "an expired certificate").await?;
    // Fabric's auth filter refuses it before the endorser, on every peer the
    // gateway then tries: one detail per peer of the channel.
    ensure!(
        text.contains("unavailable (14): failed to evaluate transaction"),
        "want an UNAVAILABLE evaluation failure: {text}"
    );
    let refusals = text.matches("proposal client identity expired").count();
    ensure!(
        refusals >= net.peers().len(),
        "want every peer's refusal ({}), got {refusals}: {text}",
        net.peers().len()
    );
    Ok(())
}

/// Fabric's peers refuse a bad creator with one generic message naming only the
/// channel and the claimed org (the reason goes to the peer's log, not to the
/// caller); the devnet answers word for word the same.
fn ensure_generic_denial(net: &Net, text: &str, claimed_org: &str) -> Result<()> {
    let want = format!(
        "access denied: channel [{}] creator org [{claimed_org}]",
        net.consortium.channel
    );
    ensure!(text.contains(&want), "want {want:?} in: {text}");
    Ok(())
}
