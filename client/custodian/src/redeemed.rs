//! Owns: the set of decisions already redeemed, on disk (redb), so a
//! transaction id releases a key once, across restarts. redb runs one write
//! transaction at a time, so two requests racing with the same id cannot
//! both redeem it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, TableDefinition};

/// Transaction id -> unix seconds of its redemption.
const REDEEMED: TableDefinition<&str, u64> = TableDefinition::new("redeemed");

/// The redeemed decisions of one custodian.
pub struct Redeemed {
    db: Database,
}

impl std::fmt::Debug for Redeemed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redeemed").finish_non_exhaustive()
    }
}

/// The redeemed set could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the redeemed-decisions database: {0}")]
pub struct RedeemedError(String);

fn db_error(e: impl std::fmt::Display) -> RedeemedError {
    RedeemedError(e.to_string())
}

impl Redeemed {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, RedeemedError> {
        let db = Database::create(path).map_err(db_error)?;
        let txn = db.begin_write().map_err(db_error)?;
        txn.open_table(REDEEMED).map_err(db_error)?;
        txn.commit().map_err(db_error)?;
        Ok(Redeemed { db })
    }

    /// Marks `tx_id` redeemed. `false` when it was already.
    pub fn redeem(&self, tx_id: &str) -> Result<bool, RedeemedError> {
        let txn = self.db.begin_write().map_err(db_error)?;
        let fresh = {
            let mut table = txn.open_table(REDEEMED).map_err(db_error)?;
            if table.get(tx_id).map_err(db_error)?.is_some() {
                false
            } else {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                table.insert(tx_id, now).map_err(db_error)?;
                true
            }
        };
        txn.commit().map_err(db_error)?;
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_redeems_once_even_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redeemed.redb");
        let set = Redeemed::open(&path).unwrap();
        assert!(set.redeem("a").unwrap());
        assert!(!set.redeem("a").unwrap());
        assert!(set.redeem("b").unwrap());
        drop(set);
        let again = Redeemed::open(&path).unwrap();
        assert!(!again.redeem("a").unwrap());
        assert!(!again.redeem("b").unwrap());
        assert!(again.redeem("c").unwrap());
    }
}
