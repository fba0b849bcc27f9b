//! One peer's ledger on redb: blocks, world state, key history, txid index.
//! Every block commits in one redb write transaction, so kill -9 at any
//! moment leaves either the whole block or none of it.
//!
//! Tables (keys are encoded by [`keys`] so that bytewise order is the order we need):
//! - `blocks`: block number -> serialized `common.Block` (with its metadata);
//! - `state`: (namespace, key) -> value, version and metadata;
//! - `history`: (namespace, key, block, tx) -> `queryresult.KeyModification`;
//! - `txids`: txid -> (block, tx, validation code) of its first occurrence;
//! - `tx_positions`: (block, tx) -> txid, for "the last N transactions";
//! - `meta`: height and tip hash.

mod keys;
mod records;

pub use records::apply_write;

use crate::Version;
use fabric_proto::common::{Block, BlockMetadataIndex, ChannelHeader, Envelope, Payload};
use fabric_proto::queryresult::KeyModification;
use prost::Message;
use records::{StoredValue, TxLocation};
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use std::collections::BTreeMap;
use std::path::Path;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const HISTORY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("history");
const TXIDS: TableDefinition<&str, &[u8]> = TableDefinition::new("txids");
const TX_POSITIONS: TableDefinition<(u64, u64), &str> = TableDefinition::new("tx_positions");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const META_HEIGHT: &str = "height";
const META_TIP: &str = "tip_hash";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger storage: {0}")]
    Storage(String),
    #[error("block {got} does not follow height {height}")]
    OutOfOrder { got: u64, height: u64 },
    #[error("invalid block: {0}")]
    InvalidBlock(String),
}

fn storage(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

/// A key's current value, version and metadata (e.g. `VALIDATION_PARAMETER`).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    pub version: Version,
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// One state change produced by a valid transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put(Vec<u8>),
    Delete,
    /// Replace the key's metadata entries (the value is unchanged).
    Metadata(BTreeMap<String, Vec<u8>>),
}

/// The state updates of a block: (namespace, key) -> ops with the writing (tx number, txid, timestamp).
/// Applied in order; see [`apply_write`] for what each op does to a key.
#[derive(Debug, Clone, Default)]
pub struct StateUpdates {
    pub writes: Vec<(
        String,
        String,
        WriteOp,
        u64,
        String,
        Option<prost_types::Timestamp>,
    )>,
}

/// Where a committed transaction is and how it was validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxStatus {
    pub block: u64,
    pub tx_index: u64,
    /// Its TxValidationCode.
    pub code: i32,
}

/// A peer's ledger. Shared between threads (commits are serialized by redb).
pub struct Ledger {
    db: Database,
    system_state: SystemStateCache,
}

/// Reads of system namespaces (`_lifecycle`), remembered until a block writes one.
///
/// Why: every endorsement and every validated transaction reads its chaincode's
/// definition from `_lifecycle` (the metadata key and each field, about ten state
/// reads, each a redb read transaction), on every peer, while definitions change
/// only when a lifecycle transaction commits. Answers are those of the committed
/// state: a commit that writes a system namespace empties the cache, and a read
/// that raced with such a commit is not remembered (the generation changed).
#[derive(Default)]
struct SystemStateCache {
    inner: std::sync::Mutex<SystemStateEntries>,
}

#[derive(Default)]
struct SystemStateEntries {
    /// Bumped by every commit that writes a system namespace.
    generation: u64,
    /// Encoded state key -> the value then (None: absent).
    entries: std::collections::HashMap<Vec<u8>, Option<VersionedValue>>,
}

/// Beyond this many remembered keys the cache starts over.
const SYSTEM_STATE_MAX: usize = 4096;

/// Namespaces of system chaincodes (`_lifecycle`): read by every transaction, written rarely.
fn is_system_namespace(namespace: &str) -> bool {
    namespace.starts_with('_')
}

impl SystemStateCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, SystemStateEntries> {
        // A poisoned lock only means a thread panicked holding it; a clear is always sound.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered value, or the generation a read from the database must belong to.
    fn get(&self, skey: &[u8]) -> Result<Option<VersionedValue>, u64> {
        let cache = self.lock();
        match cache.entries.get(skey) {
            Some(v) => Ok(v.clone()),
            None => Err(cache.generation),
        }
    }

    /// Remembers a value read from the database, unless a system write committed since.
    fn put(&self, skey: Vec<u8>, value: &Option<VersionedValue>, generation: u64) {
        let mut cache = self.lock();
        if cache.generation != generation {
            return;
        }
        if cache.entries.len() >= SYSTEM_STATE_MAX {
            cache.entries.clear();
        }
        cache.entries.insert(skey, value.clone());
    }
}

// The node shares one Ledger between its services.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Ledger>();
};

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("height", &self.height())
            .finish()
    }
}

/// Page cache of one ledger database (the devnet runs one per peer plus the orderer's).
const CACHE_BYTES: usize = 8 * 1024 * 1024;

impl Ledger {
    /// Opens or creates the ledger at `path` (a file).
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        // redb's default page cache (1 GiB) would let every ledger of the devnet
        // keep all the pages it ever wrote; a small cache bounds memory.
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| storage(format!("open {}: {e}", path.display())))?;
        // Create every table up front so that read transactions never meet a missing table.
        let txn = db.begin_write().map_err(storage)?;
        {
            txn.open_table(BLOCKS).map_err(storage)?;
            txn.open_table(STATE).map_err(storage)?;
            txn.open_table(HISTORY).map_err(storage)?;
            txn.open_table(TXIDS).map_err(storage)?;
            txn.open_table(TX_POSITIONS).map_err(storage)?;
            txn.open_table(META).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(Self {
            db,
            system_state: SystemStateCache::default(),
        })
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let txn = self.db.begin_read().map_err(storage)?;
        f(&txn)
    }

    /// Logs a read failure and falls back to `default` (for the infallible accessors).
    fn or_log<T>(result: Result<T, LedgerError>, what: &str, default: T) -> T {
        result.unwrap_or_else(|e| {
            tracing::error!("ledger read of {what} failed: {e}");
            default
        })
    }

    /// A number that changes whenever a committed block writes a system namespace
    /// (`_lifecycle`): what is derived from that state stays current while it holds.
    pub fn system_state_generation(&self) -> u64 {
        self.system_state.lock().generation
    }

    /// Number of committed blocks.
    pub fn height(&self) -> u64 {
        Self::or_log(self.try_height(), "height", 0)
    }

    /// Number of committed blocks, or the storage error.
    pub fn try_height(&self) -> Result<u64, LedgerError> {
        self.read(|txn| {
            let meta = txn.open_table(META).map_err(storage)?;
            read_height(&meta)
        })
    }

    /// A committed block, with its TRANSACTIONS_FILTER filled in.
    pub fn block(&self, number: u64) -> Option<Block> {
        Self::or_log(self.try_block(number), "block", None)
    }

    /// A committed block, or None if `number` is not below the height.
    pub fn try_block(&self, number: u64) -> Result<Option<Block>, LedgerError> {
        self.read(|txn| {
            let blocks = txn.open_table(BLOCKS).map_err(storage)?;
            let Some(bytes) = blocks.get(number).map_err(storage)? else {
                return Ok(None);
            };
            Block::decode(bytes.value())
                .map(Some)
                .map_err(|e| storage(format!("stored block {number} is corrupt: {e}")))
        })
    }

    /// Up to `max` consecutive committed blocks starting at `start` (for deliver).
    pub fn blocks_from(&self, start: u64, max: usize) -> Result<Vec<Block>, LedgerError> {
        self.read(|txn| {
            let blocks = txn.open_table(BLOCKS).map_err(storage)?;
            let mut out = Vec::new();
            for entry in blocks.range(start..).map_err(storage)?.take(max) {
                let (number, bytes) = entry.map_err(storage)?;
                let block = Block::decode(bytes.value()).map_err(|e| {
                    storage(format!("stored block {} is corrupt: {e}", number.value()))
                })?;
                out.push(block);
            }
            Ok(out)
        })
    }

    /// Header hash of the last block (empty at height 0).
    pub fn tip_hash(&self) -> Vec<u8> {
        Self::or_log(
            self.read(|txn| {
                let meta = txn.open_table(META).map_err(storage)?;
                Ok(meta
                    .get(META_TIP)
                    .map_err(storage)?
                    .map(|v| v.value().to_vec())
                    .unwrap_or_default())
            }),
            "tip hash",
            Vec::new(),
        )
    }

    pub fn get_state(&self, namespace: &str, key: &str) -> Option<VersionedValue> {
        Self::or_log(self.try_get_state(namespace, key), "state", None)
    }

    /// The current value of a key, or None if it does not exist.
    pub fn try_get_state(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<VersionedValue>, LedgerError> {
        let skey = keys::state_key(namespace, key);
        if !is_system_namespace(namespace) {
            return self.read_state(&skey);
        }
        match self.system_state.get(&skey) {
            Ok(value) => Ok(value),
            Err(generation) => {
                let value = self.read_state(&skey)?;
                self.system_state.put(skey, &value, generation);
                Ok(value)
            }
        }
    }

    fn read_state(&self, skey: &[u8]) -> Result<Option<VersionedValue>, LedgerError> {
        self.read(|txn| {
            let state = txn.open_table(STATE).map_err(storage)?;
            let Some(bytes) = state.get(skey).map_err(storage)? else {
                return Ok(None);
            };
            decode_value(bytes.value()).map(Some)
        })
    }

    /// Keys in `[start, end)` of a namespace in key order (empty `end` = to the end of the namespace).
    pub fn range(&self, namespace: &str, start: &str, end: &str) -> Vec<(String, VersionedValue)> {
        Self::or_log(self.try_range(namespace, start, end), "range", Vec::new())
    }

    /// `range`, or the storage error. A redb range over the encoded keys: no scan outside it.
    pub fn try_range(
        &self,
        namespace: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, VersionedValue)>, LedgerError> {
        let prefix = keys::namespace_prefix(namespace);
        let lower = keys::state_key(namespace, start);
        let upper = if end.is_empty() {
            keys::prefix_successor(&prefix)
        } else {
            Some(keys::state_key(namespace, end))
        };
        if upper.as_ref().is_some_and(|u| *u <= lower) {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let state = txn.open_table(STATE).map_err(storage)?;
            let iter = match &upper {
                Some(upper) => state.range(lower.as_slice()..upper.as_slice()),
                None => state.range(lower.as_slice()..),
            }
            .map_err(storage)?;
            let mut out = Vec::new();
            for entry in iter {
                let (k, v) = entry.map_err(storage)?;
                let key = keys::state_key_suffix(k.value(), prefix.len())
                    .ok_or_else(|| storage("stored state key is not UTF-8"))?;
                out.push((key, decode_value(v.value())?));
            }
            Ok(out)
        })
    }

    /// All modifications of a key, newest first.
    pub fn history(&self, namespace: &str, key: &str) -> Vec<KeyModification> {
        Self::or_log(self.try_history(namespace, key), "history", Vec::new())
    }

    /// `history`, or the storage error.
    pub fn try_history(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Vec<KeyModification>, LedgerError> {
        let prefix = keys::history_prefix(namespace, key);
        let upper = keys::prefix_successor(&prefix);
        self.read(|txn| {
            let history = txn.open_table(HISTORY).map_err(storage)?;
            let iter = match &upper {
                Some(upper) => history.range(prefix.as_slice()..upper.as_slice()),
                None => history.range(prefix.as_slice()..),
            }
            .map_err(storage)?;
            let mut out = Vec::new();
            for entry in iter.rev() {
                let (_, v) = entry.map_err(storage)?;
                let m = KeyModification::decode(v.value())
                    .map_err(|e| storage(format!("corrupt history entry: {e}")))?;
                out.push(m);
            }
            Ok(out)
        })
    }

    /// Block number and validation code of a committed txid.
    pub fn tx_status(&self, txid: &str) -> Option<(u64, i32)> {
        self.tx_location(txid).map(|s| (s.block, s.code))
    }

    /// Block, position and validation code of a committed txid (its first occurrence).
    pub fn tx_location(&self, txid: &str) -> Option<TxStatus> {
        Self::or_log(self.try_tx_location(txid), "txid index", None)
    }

    /// `tx_location`, or the storage error.
    pub fn try_tx_location(&self, txid: &str) -> Result<Option<TxStatus>, LedgerError> {
        self.read(|txn| {
            let txids = txn.open_table(TXIDS).map_err(storage)?;
            let Some(bytes) = txids.get(txid).map_err(storage)? else {
                return Ok(None);
            };
            let loc = TxLocation::decode(bytes.value())
                .map_err(|e| storage(format!("corrupt txid entry: {e}")))?;
            Ok(Some(TxStatus {
                block: loc.block,
                tx_index: loc.tx,
                code: loc.code,
            }))
        })
    }

    /// The txids of the last `n` transactions (valid or not), newest first.
    pub fn recent_txids(&self, n: usize) -> Result<Vec<String>, LedgerError> {
        self.read(|txn| {
            let positions = txn.open_table(TX_POSITIONS).map_err(storage)?;
            let mut out = Vec::new();
            for entry in positions
                .range::<(u64, u64)>(..)
                .map_err(storage)?
                .rev()
                .take(n)
            {
                let (_, txid) = entry.map_err(storage)?;
                out.push(txid.value().to_string());
            }
            Ok(out)
        })
    }

    /// Appends `block` (whose TRANSACTIONS_FILTER is already set) and applies `updates`, atomically.
    pub fn commit(&self, block: &Block, updates: &StateUpdates) -> Result<(), LedgerError> {
        let header = block
            .header
            .as_ref()
            .ok_or_else(|| LedgerError::InvalidBlock("no header".into()))?;
        let envelopes = block
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        let filter = transactions_filter(block);
        if filter.len() != envelopes.len() {
            return Err(LedgerError::InvalidBlock(format!(
                "block {}: TRANSACTIONS_FILTER has {} entries for {} transactions",
                header.number,
                filter.len(),
                envelopes.len()
            )));
        }
        let hash = fabric_block::header_hash(header);

        let txn = self.db.begin_write().map_err(storage)?;
        check_successor(&txn, header)?;
        write_block(&txn, header.number, block)?;
        index_txids(&txn, header.number, envelopes, filter)?;
        apply_updates(&txn, header.number, updates)?;
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            meta.insert(META_HEIGHT, (header.number + 1).to_be_bytes().as_slice())
                .map_err(storage)?;
            meta.insert(META_TIP, hash.as_slice()).map_err(storage)?;
        }
        // A block that writes a system namespace commits while holding the cache, then
        // empties it: no reader is answered from the cache while the commit is under
        // way, and a read that began before it is not remembered (generation changed).
        let writes_system = updates
            .writes
            .iter()
            .any(|(ns, ..)| is_system_namespace(ns));
        let mut held = writes_system.then(|| self.system_state.lock());
        // Default durability: the commit is fsynced before this returns.
        let committed = txn.commit().map_err(storage);
        if let Some(cache) = held.as_mut() {
            cache.generation += 1;
            cache.entries.clear();
        }
        committed
    }
}

fn decode_value(bytes: &[u8]) -> Result<VersionedValue, LedgerError> {
    StoredValue::decode(bytes)
        .map(Into::into)
        .map_err(|e| storage(format!("corrupt state entry: {e}")))
}

fn read_height(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<u64, LedgerError> {
    let Some(v) = meta.get(META_HEIGHT).map_err(storage)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = v
        .value()
        .try_into()
        .map_err(|_| storage("corrupt height record"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// The TRANSACTIONS_FILTER bytes of a block (empty if the slot is missing).
pub fn transactions_filter(block: &Block) -> &[u8] {
    block
        .metadata
        .as_ref()
        .and_then(|m| {
            m.metadata
                .get(BlockMetadataIndex::TransactionsFilter as usize)
        })
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The block must be the next one: number == height and previous_hash == tip hash.
fn check_successor(
    txn: &WriteTransaction,
    header: &fabric_proto::common::BlockHeader,
) -> Result<(), LedgerError> {
    let meta = txn.open_table(META).map_err(storage)?;
    let height = read_height(&meta)?;
    if header.number != height {
        return Err(LedgerError::OutOfOrder {
            got: header.number,
            height,
        });
    }
    if height > 0 {
        let tip = meta
            .get(META_TIP)
            .map_err(storage)?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        if header.previous_hash != tip {
            return Err(LedgerError::InvalidBlock(format!(
                "block {}: previous_hash does not match the hash of block {}",
                header.number,
                height - 1
            )));
        }
    }
    Ok(())
}

fn write_block(txn: &WriteTransaction, number: u64, block: &Block) -> Result<(), LedgerError> {
    let mut blocks = txn.open_table(BLOCKS).map_err(storage)?;
    blocks
        .insert(number, block.encode_to_vec().as_slice())
        .map_err(storage)?;
    Ok(())
}

/// The txid in an envelope's channel header, if it decodes.
pub(crate) fn envelope_txid(env_bytes: &[u8]) -> Option<String> {
    let env = Envelope::decode(env_bytes).ok()?;
    let payload = Payload::decode(env.payload.as_slice()).ok()?;
    let chdr = ChannelHeader::decode(payload.header?.channel_header.as_slice()).ok()?;
    (!chdr.tx_id.is_empty()).then_some(chdr.tx_id)
}

/// Indexes every transaction that carries a txid. The first occurrence of a
/// txid keeps the index entry: a later one is a duplicate (DUPLICATE_TXID).
fn index_txids(
    txn: &WriteTransaction,
    number: u64,
    envelopes: &[Vec<u8>],
    filter: &[u8],
) -> Result<(), LedgerError> {
    let mut txids = txn.open_table(TXIDS).map_err(storage)?;
    let mut positions = txn.open_table(TX_POSITIONS).map_err(storage)?;
    for (i, env) in envelopes.iter().enumerate() {
        let Some(txid) = envelope_txid(env) else {
            continue;
        };
        positions
            .insert((number, i as u64), txid.as_str())
            .map_err(storage)?;
        if txids.get(txid.as_str()).map_err(storage)?.is_some() {
            continue;
        }
        let loc = TxLocation {
            block: number,
            tx: i as u64,
            code: i32::from(filter[i]),
        };
        txids
            .insert(txid.as_str(), loc.encode_to_vec().as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

fn apply_updates(
    txn: &WriteTransaction,
    number: u64,
    updates: &StateUpdates,
) -> Result<(), LedgerError> {
    let mut state = txn.open_table(STATE).map_err(storage)?;
    let mut history = txn.open_table(HISTORY).map_err(storage)?;
    for (ns, key, op, tx, txid, timestamp) in &updates.writes {
        let skey = keys::state_key(ns, key);
        let prev = match state.get(skey.as_slice()).map_err(storage)? {
            Some(bytes) => Some(decode_value(bytes.value())?),
            None => None,
        };
        match apply_write(prev.as_ref(), op, (number, *tx)) {
            Some(next) => state
                .insert(
                    skey.as_slice(),
                    StoredValue::from(&next).encode_to_vec().as_slice(),
                )
                .map_err(storage)?,
            None => state.remove(skey.as_slice()).map_err(storage)?,
        };
        // History records value writes and deletes, as Fabric's history database does.
        let (value, is_delete) = match op {
            WriteOp::Put(v) => (v.clone(), false),
            WriteOp::Delete => (Vec::new(), true),
            WriteOp::Metadata(_) => continue,
        };
        let entry = KeyModification {
            tx_id: txid.clone(),
            value,
            timestamp: *timestamp,
            is_delete,
        };
        history
            .insert(
                keys::history_key(ns, key, number, *tx).as_slice(),
                entry.encode_to_vec().as_slice(),
            )
            .map_err(storage)?;
    }
    Ok(())
}
