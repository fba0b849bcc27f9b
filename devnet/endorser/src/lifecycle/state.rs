//! How `_lifecycle` keeps chaincode definitions and approvals in world state.
//!
//! Owns: the key layout and value encoding (Fabric's lifecycle serializer:
//! a `namespaces/metadata/<name>` key holding `lifecycle.StateMetadata` and
//! one `namespaces/fields/<name>/<Field>` key per field holding
//! `lifecycle.StateData`), writing only the fields whose value changes, and
//! reading definitions back either through a simulator (recording reads) or
//! from committed state.
//!
//! Committed definitions live in the public `_lifecycle` namespace, exactly as
//! in Fabric. An org's approvals, which Fabric keeps in the org's implicit
//! private collection, live on the devnet in the public namespace
//! `_implicit_org_<MSPID>` with Fabric's private key layout
//! (`namespaces/.../<name>#<sequence>` and `chaincode-sources/.../<name>#<sequence>`).
//! Each approval write is also recorded, hashed, as a write to `_lifecycle`'s
//! implicit collection `_implicit_org_<MSPID>` (Fabric's rwset shape), so the
//! validator applies that org's own endorsement policy, as Fabric does, to
//! both the `_lifecycle` namespace and the public approval namespace.

use crate::error::{EndorserError, Result};
use crate::simulator::TxSimulator;
use devnet_ledger::Ledger;
use fabric_proto::lifecycle::{state_data, StateData, StateMetadata};
use prost::Message;
use std::collections::BTreeMap;

pub const LIFECYCLE: &str = "_lifecycle";
/// Prefix of the devnet's per-org approval namespaces.
pub const IMPLICIT_ORG_PREFIX: &str = "_implicit_org_";

const NAMESPACES: &str = "namespaces";
const CHAINCODE_SOURCES: &str = "chaincode-sources";
const DEFINITION_TYPE: &str = "ChaincodeDefinition";
const PARAMETERS_TYPE: &str = "ChaincodeParameters";
const LOCAL_PACKAGE_TYPE: &str = "ChaincodeLocalPackage";

/// The namespace that holds `mspid`'s approvals.
pub fn org_namespace(mspid: &str) -> String {
    format!("{IMPLICIT_ORG_PREFIX}{mspid}")
}

/// `lifecycle.ChaincodeEndorsementInfo` (Fabric's lifecycle db.proto).
#[derive(Clone, PartialEq, Message)]
pub struct ChaincodeEndorsementInfo {
    #[prost(string, tag = "1")]
    pub version: String,
    #[prost(bool, tag = "2")]
    pub init_required: bool,
    #[prost(string, tag = "3")]
    pub endorsement_plugin: String,
}

/// `lifecycle.ChaincodeValidationInfo` (Fabric's lifecycle db.proto).
#[derive(Clone, PartialEq, Message)]
pub struct ChaincodeValidationInfo {
    #[prost(string, tag = "1")]
    pub validation_plugin: String,
    /// A serialized `common.ApplicationPolicy`.
    #[prost(bytes = "vec", tag = "2")]
    pub validation_parameter: Vec<u8>,
}

/// The parameters of a definition that orgs approve (all but the sequence).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters {
    pub endorsement: ChaincodeEndorsementInfo,
    pub validation: ChaincodeValidationInfo,
    /// A serialized `protos.CollectionConfigPackage` (empty when there are none).
    pub collections: Vec<u8>,
}

impl Parameters {
    fn fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "EndorsementInfo",
                bytes_field(self.endorsement.encode_to_vec()),
            ),
            (
                "ValidationInfo",
                bytes_field(self.validation.encode_to_vec()),
            ),
            ("Collections", bytes_field(self.collections.clone())),
        ]
    }

    fn from_fields(fields: &BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let get = |name: &str| -> Result<Vec<u8>> {
            match fields.get(name) {
                Some(v) => field_bytes(v),
                None => Ok(Vec::new()),
            }
        };
        Ok(Self {
            endorsement: ChaincodeEndorsementInfo::decode(get("EndorsementInfo")?.as_slice())
                .map_err(corrupt("EndorsementInfo"))?,
            validation: ChaincodeValidationInfo::decode(get("ValidationInfo")?.as_slice())
                .map_err(corrupt("ValidationInfo"))?,
            collections: get("Collections")?,
        })
    }
}

/// A committed chaincode definition as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Definition {
    pub sequence: i64,
    pub params: Parameters,
}

fn bytes_field(bytes: Vec<u8>) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::Bytes(bytes)),
    }
    .encode_to_vec()
}

fn int_field(value: i64) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::Int64(value)),
    }
    .encode_to_vec()
}

fn string_field(value: &str) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::String(value.to_string())),
    }
    .encode_to_vec()
}

/// A decode failure of stored lifecycle state: `corrupt <what>: <cause>`.
fn corrupt(what: &'static str) -> impl Fn(prost::DecodeError) -> EndorserError {
    move |source| EndorserError::Decode {
        context: format!("corrupt {what}"),
        source,
    }
}

fn decode_field(bytes: &[u8]) -> Result<Option<state_data::Type>> {
    StateData::decode(bytes)
        .map(|d| d.r#type)
        .map_err(corrupt("lifecycle field"))
}

fn field_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    match decode_field(bytes)? {
        Some(state_data::Type::Bytes(b)) => Ok(b),
        None => Ok(Vec::new()),
        Some(other) => Err(EndorserError::refused(format!(
            "expected a bytes field, found {other:?}"
        ))),
    }
}

fn metadata_key(prefix: &str, name: &str) -> String {
    format!("{prefix}/metadata/{name}")
}

fn field_key(prefix: &str, name: &str, field: &str) -> String {
    format!("{prefix}/fields/{name}/{field}")
}

/// `<name>#<sequence>`: how Fabric names an org's approval of one sequence.
pub fn private_name(name: &str, sequence: i64) -> String {
    format!("{name}#{sequence}")
}

/// Reads lifecycle state either through a simulator (recording reads) or from committed state.
pub trait StateReader {
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>>;
}

impl StateReader for TxSimulator {
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.get_state(ns, key)
    }
}

/// Committed state, read without recording.
pub struct Committed<'a>(pub &'a Ledger);

impl StateReader for Committed<'_> {
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.0
            .try_get_state(ns, key)
            .map(|v| v.map(|v| v.value))
            .map_err(|source| EndorserError::Ledger {
                context: format!("could not read {ns}/{key}"),
                source,
            })
    }
}

fn read_metadata(
    state: &mut dyn StateReader,
    ns: &str,
    prefix: &str,
    name: &str,
) -> Result<Option<StateMetadata>> {
    match state.get(ns, &metadata_key(prefix, name))? {
        Some(bytes) if !bytes.is_empty() => StateMetadata::decode(bytes.as_slice())
            .map(Some)
            .map_err(|source| EndorserError::Decode {
                context: format!("could not deserialize metadata for {prefix}/{name}"),
                source,
            }),
        _ => Ok(None),
    }
}

/// Reads all fields of a serialized structure of type `datatype` (None if absent).
fn read_fields(
    state: &mut dyn StateReader,
    ns: &str,
    prefix: &str,
    name: &str,
    datatype: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
    let Some(metadata) = read_metadata(state, ns, prefix, name)? else {
        return Ok(None);
    };
    if metadata.datatype != datatype {
        return Err(EndorserError::refused(format!(
            "not a {datatype} type: {}",
            metadata.datatype
        )));
    }
    let mut fields = BTreeMap::new();
    for field in &metadata.fields {
        if let Some(v) = state.get(ns, &field_key(prefix, name, field))? {
            fields.insert(field.clone(), v);
        }
    }
    Ok(Some(fields))
}

/// The committed sequence of a chaincode (0 when it was never defined): one read of
/// `namespaces/fields/<name>/Sequence`, the read every invocation records.
pub fn current_sequence(state: &mut dyn StateReader, name: &str) -> Result<i64> {
    match state.get(LIFECYCLE, &field_key(NAMESPACES, name, "Sequence"))? {
        None => Ok(0),
        Some(bytes) => match decode_field(&bytes)? {
            Some(state_data::Type::Int64(v)) => Ok(v),
            None => Ok(0),
            Some(other) => Err(EndorserError::refused(format!(
                "could not get current sequence for chaincode '{name}': unexpected {other:?}"
            ))),
        },
    }
}

/// The committed definition of `name`, if any.
pub fn definition(state: &mut dyn StateReader, name: &str) -> Result<Option<Definition>> {
    let Some(fields) = read_fields(state, LIFECYCLE, NAMESPACES, name, DEFINITION_TYPE)? else {
        return Ok(None);
    };
    let sequence = match fields
        .get("Sequence")
        .map(|v| decode_field(v))
        .transpose()?
        .flatten()
    {
        Some(state_data::Type::Int64(v)) => v,
        _ => 0,
    };
    Ok(Some(Definition {
        sequence,
        params: Parameters::from_fields(&fields)?,
    }))
}

/// The names of all committed chaincode definitions, sorted.
pub fn defined_names(ledger: &Ledger) -> Result<Vec<String>> {
    let prefix = format!("{NAMESPACES}/metadata/");
    let entries = ledger
        .try_range(LIFECYCLE, &prefix, &format!("{NAMESPACES}/metadata0"))
        .map_err(|source| EndorserError::Ledger {
            context: "could not list chaincode definitions".into(),
            source,
        })?;
    let mut names = Vec::new();
    for (key, value) in entries {
        let is_definition = StateMetadata::decode(value.value.as_slice())
            .is_ok_and(|m| m.datatype == DEFINITION_TYPE);
        if let (Some(name), true) = (key.strip_prefix(&prefix), is_definition) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// What an org approved for `<name>#<sequence>`: its parameters and package id.
pub fn approval(
    state: &mut dyn StateReader,
    mspid: &str,
    name: &str,
    sequence: i64,
) -> Result<Option<(Parameters, String)>> {
    let ns = org_namespace(mspid);
    let private = private_name(name, sequence);
    let Some(fields) = read_fields(state, &ns, NAMESPACES, &private, PARAMETERS_TYPE)? else {
        return Ok(None);
    };
    let params = Parameters::from_fields(&fields)?;
    let package_id = match read_fields(state, &ns, CHAINCODE_SOURCES, &private, LOCAL_PACKAGE_TYPE)?
    {
        Some(f) => match f
            .get("PackageID")
            .map(|v| decode_field(v))
            .transpose()?
            .flatten()
        {
            Some(state_data::Type::String(s)) => s,
            _ => String::new(),
        },
        None => String::new(),
    };
    Ok(Some((params, package_id)))
}

/// Which parameter fields of an org's approval differ from `proposed` (all when it has none).
pub fn mismatches(
    state: &mut dyn StateReader,
    mspid: &str,
    name: &str,
    sequence: i64,
    proposed: &Parameters,
) -> Result<Vec<String>> {
    let ns = org_namespace(mspid);
    let approved = read_fields(
        state,
        &ns,
        NAMESPACES,
        &private_name(name, sequence),
        PARAMETERS_TYPE,
    )?;
    Ok(proposed
        .fields()
        .into_iter()
        .filter(|(field, value)| approved.as_ref().and_then(|a| a.get(*field)) != Some(value))
        .map(|(field, _)| field.to_string())
        .collect())
}

/// Writes a key; a write to an org's approval namespace is also recorded as a hashed
/// write to `_lifecycle`'s implicit collection of that org, as Fabric records approvals,
/// so the validator applies the org's own policy to `_lifecycle` for it.
fn put(sim: &mut TxSimulator, ns: &str, key: &str, value: Vec<u8>) -> Result<()> {
    if ns.starts_with(IMPLICIT_ORG_PREFIX) {
        sim.add_private_write(LIFECYCLE, ns, key, value.clone())?;
    }
    sim.set_state(ns, key, value)
}

/// Fabric's serializer: writes each field whose stored value differs, the metadata
/// when the structure's shape changes, and deletes fields no longer present.
fn serialize(
    sim: &mut TxSimulator,
    ns: &str,
    prefix: &str,
    name: &str,
    datatype: &str,
    fields: Vec<(&str, Vec<u8>)>,
) -> Result<()> {
    let existing_metadata = read_metadata(sim, ns, prefix, name)?;
    let mut existing: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    if let Some(md) = &existing_metadata {
        for field in &md.fields {
            let key = field_key(prefix, name, field);
            let value = sim.get_state(ns, &key)?;
            existing.insert(key, value);
        }
    }
    for (field, value) in &fields {
        let key = field_key(prefix, name, field);
        let unchanged = existing
            .get(&key)
            .is_some_and(|v| v.as_deref() == Some(value.as_slice()));
        if !unchanged {
            put(sim, ns, &key, value.clone())?;
        }
        existing.remove(&key);
    }
    let shape_changed = existing_metadata
        .as_ref()
        .is_none_or(|md| md.datatype != datatype || md.fields.len() != fields.len());
    if !existing.is_empty() || shape_changed {
        let metadata = StateMetadata {
            datatype: datatype.to_string(),
            fields: fields.iter().map(|(f, _)| f.to_string()).collect(),
        };
        put(
            sim,
            ns,
            &metadata_key(prefix, name),
            metadata.encode_to_vec(),
        )?;
    }
    for key in existing.keys() {
        put(sim, ns, key, Vec::new())?;
    }
    Ok(())
}

/// Writes a committed definition into `_lifecycle`.
pub fn write_definition(sim: &mut TxSimulator, name: &str, def: &Definition) -> Result<()> {
    let mut fields = vec![("Sequence", int_field(def.sequence))];
    fields.extend(def.params.fields());
    serialize(sim, LIFECYCLE, NAMESPACES, name, DEFINITION_TYPE, fields)
}

/// Writes an org's approval of `<name>#<sequence>` and the package it will run.
pub fn write_approval(
    sim: &mut TxSimulator,
    mspid: &str,
    name: &str,
    sequence: i64,
    params: &Parameters,
    package_id: &str,
) -> Result<()> {
    let ns = org_namespace(mspid);
    let private = private_name(name, sequence);
    serialize(
        sim,
        &ns,
        NAMESPACES,
        &private,
        PARAMETERS_TYPE,
        params.fields(),
    )?;
    serialize(
        sim,
        &ns,
        CHAINCODE_SOURCES,
        &private,
        LOCAL_PACKAGE_TYPE,
        vec![("PackageID", string_field(package_id))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact values Fabric v3.1.5 committed for anchorcc (expected.json, block 4).
    #[test]
    fn field_encodings_match_fabric() {
        let params = Parameters {
            endorsement: ChaincodeEndorsementInfo {
                version: "1.0".into(),
                init_required: false,
                endorsement_plugin: "escc".into(),
            },
            validation: ChaincodeValidationInfo {
                validation_plugin: "vscc".into(),
                validation_parameter: hex::decode(
                    "12202f4368616e6e656c2f4170706c69636174696f6e2f456e646f7273656d656e74",
                )
                .unwrap(),
            },
            collections: Vec::new(),
        };
        let fields: BTreeMap<_, _> = params.fields().into_iter().collect();
        assert_eq!(
            hex::encode(&fields["EndorsementInfo"]),
            "120b0a03312e301a0465736363"
        );
        assert_eq!(
            hex::encode(&fields["ValidationInfo"]),
            "122a0a0476736363122212202f4368616e6e656c2f4170706c69636174696f6e2f456e646f7273656d656e74"
        );
        assert_eq!(hex::encode(&fields["Collections"]), "1200");
        assert_eq!(hex::encode(int_field(1)), "0801");
        let md = StateMetadata {
            datatype: DEFINITION_TYPE.into(),
            fields: [
                "Sequence",
                "EndorsementInfo",
                "ValidationInfo",
                "Collections",
            ]
            .map(String::from)
            .to_vec(),
        };
        assert_eq!(
            hex::encode(md.encode_to_vec()),
            "0a13436861696e636f6465446566696e6974696f6e120853657175656e6365120f456e646f7273656d656e74496e666f120e56616c69646174696f6e496e666f120b436f6c6c656374696f6e73"
        );
    }
}
