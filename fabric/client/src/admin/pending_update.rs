//! A config update on its way between administrators: proposed by one, signed
//! by each admin the change's mod_policy needs on their own machine, submitted
//! by one. It travels as the file Fabric's own tools pass around: a serialized
//! `common.Envelope` of header type CONFIG_UPDATE whose data is the
//! `ConfigUpdateEnvelope` (what `configtxlator` produces and `peer channel
//! signconfigtx` / `peer channel update -f` read), so either side may be Fabric's
//! tool or ours.
//!
//! Owns: reading and writing that file, adding a signature (refusing a second
//! one by the same identity), naming who signed, and the local check that tells,
//! before anything is sent, whether the orderer would accept the update against
//! the config in force (too few or wrong signatures, a stale read set), in
//! Fabric's words.

use fabric_configtx::sign::{config_update_of, sign_config_update};
use fabric_configtx::{ConfigTxError, ROOT_GROUP};
use fabric_msp::{Identity, SigningIdentity};
use fabric_proto::common::{
    ChannelHeader, Config, ConfigUpdate, ConfigUpdateEnvelope, Envelope, Header, HeaderType,
    Payload, SignatureHeader,
};
use prost::Message;

/// Why a pending update cannot be used, or would be refused.
#[derive(Debug, thiserror::Error)]
pub enum PendingUpdateError {
    #[error("not a config update file: {0}")]
    NotAnUpdate(String),
    #[error("the update is for channel {update}, not {expected}")]
    WrongChannel { update: String, expected: String },
    #[error("{0} has already signed this update")]
    AlreadySigned(String),
    #[error("a signature in the update does not decode: {0}")]
    BadSignature(String),
    /// Computed against a config that has changed since: propose it again.
    #[error("the update is stale (the channel config changed since it was proposed; propose it again): {source}")]
    Stale {
        #[source]
        source: ConfigTxError,
    },
    /// The orderer would refuse it with this reason (for example too few or the wrong signatures).
    #[error("the orderer would refuse this update (signed by {}): {source}", signers_text(.signers))]
    WouldBeRefused {
        signers: Vec<String>,
        #[source]
        source: ConfigTxError,
    },
}

fn signers_text(signers: &[String]) -> String {
    if signers.is_empty() {
        "nobody".into()
    } else {
        signers.join(", ")
    }
}

/// A config update and the signatures collected so far.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingUpdate {
    pub channel: String,
    pub envelope: ConfigUpdateEnvelope,
}

impl PendingUpdate {
    /// A new, unsigned proposal of `update` on `channel`.
    pub fn propose(channel: &str, mut update: ConfigUpdate) -> Self {
        update.channel_id = channel.to_owned();
        Self {
            channel: channel.to_owned(),
            envelope: ConfigUpdateEnvelope {
                config_update: update.encode_to_vec(),
                signatures: Vec::new(),
            },
        }
    }

    /// Reads the file's bytes: an Envelope of type CONFIG_UPDATE, signed outside or not.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PendingUpdateError> {
        let env =
            Envelope::decode(bytes).map_err(|e| PendingUpdateError::NotAnUpdate(e.to_string()))?;
        let (header, envelope) = config_update_of(&env).map_err(PendingUpdateError::NotAnUpdate)?;
        let update = ConfigUpdate::decode(envelope.config_update.as_slice())
            .map_err(|e| PendingUpdateError::NotAnUpdate(format!("ConfigUpdate: {e}")))?;
        if update.channel_id != header.channel_id {
            return Err(PendingUpdateError::NotAnUpdate(format!(
                "the envelope is for channel {} but its ConfigUpdate for {}",
                header.channel_id, update.channel_id
            )));
        }
        Ok(Self {
            channel: header.channel_id,
            envelope,
        })
    }

    /// The file's bytes: the envelope with only a channel header (no outer signature:
    /// the submitter signs that), as `configtxlator proto_encode` users write it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let channel_header = ChannelHeader {
            r#type: HeaderType::ConfigUpdate as i32,
            channel_id: self.channel.clone(),
            ..Default::default()
        };
        Envelope {
            payload: Payload {
                header: Some(Header {
                    channel_header: channel_header.encode_to_vec(),
                    signature_header: Vec::new(),
                }),
                data: self.envelope.encode_to_vec(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        }
        .encode_to_vec()
    }

    /// Refuses an update for another channel than `expected`.
    pub fn check_channel(&self, expected: &str) -> Result<(), PendingUpdateError> {
        if self.channel == expected {
            Ok(())
        } else {
            Err(PendingUpdateError::WrongChannel {
                update: self.channel.clone(),
                expected: expected.to_owned(),
            })
        }
    }

    /// The identities that signed, in order.
    pub fn signers(&self) -> Result<Vec<Identity>, PendingUpdateError> {
        self.envelope
            .signatures
            .iter()
            .map(|s| {
                let header = SignatureHeader::decode(s.signature_header.as_slice())
                    .map_err(|e| PendingUpdateError::BadSignature(e.to_string()))?;
                Identity::from_serialized(&header.creator)
                    .map_err(|e| PendingUpdateError::BadSignature(e.to_string()))
            })
            .collect()
    }

    /// `CN@MSPID` of each signer.
    pub fn signer_names(&self) -> Result<Vec<String>, PendingUpdateError> {
        Ok(self
            .signers()?
            .iter()
            .map(|i| format!("{}@{}", i.subject_cn, i.mspid))
            .collect())
    }

    /// Adds `signer`'s signature over the update (Fabric's ConfigSignature).
    pub fn sign(&mut self, signer: &SigningIdentity) -> Result<(), PendingUpdateError> {
        let me = signer.serialize();
        let already = self.envelope.signatures.iter().any(|s| {
            SignatureHeader::decode(s.signature_header.as_slice())
                .map(|h| h.creator == me)
                .unwrap_or(false)
        });
        if already {
            let id = Identity::from_serialized(&me)
                .map(|i| format!("{}@{}", i.subject_cn, i.mspid))
                .unwrap_or_else(|_| "this identity".into());
            return Err(PendingUpdateError::AlreadySigned(id));
        }
        let signature = sign_config_update(signer, &self.envelope.config_update);
        self.envelope.signatures.push(signature);
        Ok(())
    }

    /// What the orderer will decide, decided here against `current` at unix time
    /// `now`: the next config, or why it would be refused.
    pub fn check(&self, current: &Config, now: i64) -> Result<Config, PendingUpdateError> {
        let msps = fabric_configtx::msp_manager(current).map_err(|e| {
            PendingUpdateError::NotAnUpdate(format!("the config in force has unreadable MSPs: {e}"))
        })?;
        fabric_configtx::propose_update(current, &self.channel, &self.envelope, &msps, now).map_err(
            |source| match &source {
                ConfigTxError::Authorize(a) if a.is_stale() => PendingUpdateError::Stale { source },
                _ => PendingUpdateError::WouldBeRefused {
                    signers: self.signer_names().unwrap_or_default(),
                    source,
                },
            },
        )
    }

    /// The CONFIG_UPDATE envelope `submitter` sends to the orderer.
    pub fn submission(&self, submitter: &SigningIdentity) -> Envelope {
        fabric_configtx::config_update_tx(submitter, &self.channel, &self.envelope)
    }

    /// The config paths the update writes (`/Channel/Application/...`), for people to read.
    pub fn written_paths(&self) -> Vec<String> {
        let Ok(update) = ConfigUpdate::decode(self.envelope.config_update.as_slice()) else {
            return Vec::new();
        };
        let (Some(read), Some(write)) = (update.read_set.as_ref(), update.write_set.as_ref())
        else {
            return Vec::new();
        };
        let (Ok(read), Ok(write)) = (
            fabric_configtx::map::map_config(Some(read), ROOT_GROUP),
            fabric_configtx::map::map_config(Some(write), ROOT_GROUP),
        ) else {
            return Vec::new();
        };
        write
            .iter()
            .filter(|(key, item)| read.get(*key).map(|r| r.version()) != Some(item.version()))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;

    fn update() -> ConfigUpdate {
        ConfigUpdate {
            channel_id: "ignored".into(),
            ..Default::default()
        }
    }

    #[test]
    fn file_round_trip_keeps_channel_and_signatures() {
        let mut pending = PendingUpdate::propose("ehr", update());
        pending.sign(&test_identity("Org1MSP")).unwrap();
        let back = PendingUpdate::from_bytes(&pending.to_bytes()).unwrap();
        assert_eq!(back, pending);
        assert_eq!(back.channel, "ehr");
        assert_eq!(back.signers().unwrap()[0].mspid, "Org1MSP");
        back.check_channel("ehr").unwrap();
        assert!(matches!(
            back.check_channel("other"),
            Err(PendingUpdateError::WrongChannel { .. })
        ));
    }

    #[test]
    fn one_identity_signs_once() {
        let admin = test_identity("Org1MSP");
        let mut pending = PendingUpdate::propose("ehr", update());
        pending.sign(&admin).unwrap();
        assert!(matches!(
            pending.sign(&admin),
            Err(PendingUpdateError::AlreadySigned(_))
        ));
        pending.sign(&test_identity("Org2MSP")).unwrap();
        assert_eq!(pending.envelope.signatures.len(), 2);
    }

    #[test]
    fn other_files_are_refused_clearly() {
        assert!(matches!(
            PendingUpdate::from_bytes(b"not a protobuf \xff"),
            Err(PendingUpdateError::NotAnUpdate(_))
        ));
        // A signed endorser transaction envelope is not a config update.
        let env = Envelope {
            payload: Payload {
                header: Some(Header {
                    channel_header: ChannelHeader {
                        r#type: HeaderType::EndorserTransaction as i32,
                        channel_id: "ehr".into(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                    signature_header: Vec::new(),
                }),
                data: Vec::new(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        };
        assert!(matches!(
            PendingUpdate::from_bytes(&env.encode_to_vec()),
            Err(PendingUpdateError::NotAnUpdate(_))
        ));
    }
}
