//! Config signatures and the envelopes that carry configuration.
//!
//! Facts from Fabric:
//! - a `ConfigSignature` is a `SignatureHeader{creator, nonce}` plus the signer's
//!   signature over `signature_header || config_update` (the serialized
//!   `ConfigUpdate` bytes exactly as they sit in the `ConfigUpdateEnvelope`);
//! - a config update is submitted as an envelope of header type CONFIG_UPDATE (2)
//!   whose payload data is the `ConfigUpdateEnvelope`, signed by the submitter
//!   (`peer channel update`: message version 0, epoch 0, no txid);
//! - the orderer turns an accepted update into an envelope of type CONFIG (1)
//!   holding the `ConfigEnvelope{config, last_update}`, signed by itself.

use fabric_msp::SigningIdentity;
use fabric_proto::common::{
    ChannelHeader, ConfigEnvelope, ConfigSignature, ConfigUpdate, ConfigUpdateEnvelope, Envelope,
    Header, HeaderType, Payload, SignatureHeader,
};
use prost::Message;
use rand_core::RngCore;

/// Nonce length Fabric's crypto utilities use.
const NONCE_LEN: usize = 24;

fn nonce() -> Vec<u8> {
    let mut n = vec![0u8; NONCE_LEN];
    rand_core::OsRng.fill_bytes(&mut n);
    n
}

fn now() -> prost_types::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// `signer`'s signature over serialized `config_update` bytes.
pub fn sign_config_update(signer: &SigningIdentity, config_update: &[u8]) -> ConfigSignature {
    let signature_header = SignatureHeader {
        creator: signer.serialize(),
        nonce: nonce(),
    }
    .encode_to_vec();
    let mut signed = signature_header.clone();
    signed.extend_from_slice(config_update);
    ConfigSignature {
        signature: signer.sign(&signed),
        signature_header,
    }
}

/// A `ConfigUpdateEnvelope` for `update` (its channel id set to `channel`) signed by each of `signers`.
pub fn signed_update(
    channel: &str,
    mut update: ConfigUpdate,
    signers: &[&SigningIdentity],
) -> ConfigUpdateEnvelope {
    update.channel_id = channel.to_owned();
    let config_update = update.encode_to_vec();
    let signatures = signers
        .iter()
        .map(|s| sign_config_update(s, &config_update))
        .collect();
    ConfigUpdateEnvelope {
        config_update,
        signatures,
    }
}

fn signed_envelope(
    signer: &SigningIdentity,
    kind: HeaderType,
    channel: &str,
    data: Vec<u8>,
) -> Envelope {
    let channel_header = ChannelHeader {
        r#type: kind as i32,
        version: 0,
        timestamp: Some(now()),
        channel_id: channel.to_owned(),
        epoch: 0,
        ..Default::default()
    };
    let signature_header = SignatureHeader {
        creator: signer.serialize(),
        nonce: nonce(),
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data,
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
}

/// The CONFIG_UPDATE envelope `submitter` sends to the orderer's Broadcast.
pub fn config_update_tx(
    submitter: &SigningIdentity,
    channel: &str,
    update: &ConfigUpdateEnvelope,
) -> Envelope {
    signed_envelope(
        submitter,
        HeaderType::ConfigUpdate,
        channel,
        update.encode_to_vec(),
    )
}

/// The CONFIG envelope an orderer orders for an accepted update.
pub fn config_tx(orderer: &SigningIdentity, channel: &str, config: &ConfigEnvelope) -> Envelope {
    signed_envelope(orderer, HeaderType::Config, channel, config.encode_to_vec())
}

/// What a CONFIG_UPDATE envelope carries, decoded (Fabric's `EnvelopeToConfigUpdate`).
pub fn config_update_of(env: &Envelope) -> Result<(ChannelHeader, ConfigUpdateEnvelope), String> {
    let payload = Payload::decode(env.payload.as_slice()).map_err(|e| e.to_string())?;
    let header = payload.header.as_ref().ok_or("missing header")?;
    let chdr =
        ChannelHeader::decode(header.channel_header.as_slice()).map_err(|e| e.to_string())?;
    if chdr.r#type != HeaderType::ConfigUpdate as i32 {
        return Err(format!(
            "not a tx of type CONFIG_UPDATE (type {})",
            chdr.r#type
        ));
    }
    let update =
        ConfigUpdateEnvelope::decode(payload.data.as_slice()).map_err(|e| e.to_string())?;
    Ok((chdr, update))
}
