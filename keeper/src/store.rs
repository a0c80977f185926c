//! What this keeper has signed, persisted in SQLite so that a restart can never double-sign.
//!
//! Flow: before a keeper signs a batch it records every margin report in it as
//! `(account, positionsNonce, observedBlock) -> report hash`, in one transaction with the batch
//! itself. A second, different report for the same account, nonce and block is refused, and so
//! is a second batch (another root) for an observed block already signed; the same report or
//! batch again (a resubmission) is allowed. A report for the same nonce at a later block is a
//! new observation (the market moved), not a conflict: the engine keeps the newer one.

use std::path::Path;

use alloy_primitives::{Address, B256};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{KeeperError, Result};

/// The keeper's signing journal.
#[derive(Debug)]
pub struct SignedStore {
    db: Connection,
}

/// One report of a batch about to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedReport {
    /// The account.
    pub account: Address,
    /// The positions nonce the report was computed at.
    pub positions_nonce: u64,
    /// The report's EIP-712 struct hash.
    pub report_hash: B256,
}

impl SignedStore {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory journal (tests).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Self> {
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS signed_reports (
                 account TEXT NOT NULL,
                 positions_nonce INTEGER NOT NULL,
                 report_hash TEXT NOT NULL,
                 observed_block INTEGER NOT NULL,
                 PRIMARY KEY (account, positions_nonce, observed_block)
             );
             CREATE TABLE IF NOT EXISTS signed_batches (
                 root TEXT PRIMARY KEY,
                 observed_block INTEGER NOT NULL,
                 digest TEXT NOT NULL
             );",
        )?;
        Ok(Self { db })
    }

    /// Records `reports` and the batch atomically, or refuses if any report conflicts with one
    /// signed before. Only after this returns `Ok` may the keeper sign `digest`.
    pub fn record_batch(
        &mut self,
        root: B256,
        digest: B256,
        observed_block: u64,
        reports: &[SignedReport],
    ) -> Result<()> {
        let tx = self.db.transaction()?;
        // One root per observed block: a keeper signs at most one batch per block.
        let signed_root: Option<String> = tx
            .query_row(
                "SELECT root FROM signed_batches WHERE observed_block = ?1 AND root != ?2 LIMIT 1",
                params![observed_block as i64, root.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(signed) = signed_root {
            return Err(KeeperError::BlockAlreadySigned {
                block: observed_block,
                signed: signed.parse().unwrap_or_default(),
                requested: root,
            });
        }
        for report in reports {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT report_hash FROM signed_reports
                     WHERE account = ?1 AND positions_nonce = ?2 AND observed_block = ?3",
                    params![
                        report.account.to_string(),
                        report.positions_nonce as i64,
                        observed_block as i64
                    ],
                    |row| row.get(0),
                )
                .optional()?;
            match existing {
                Some(signed) if signed != report.report_hash.to_string() => {
                    // Dropping `tx` rolls everything back.
                    return Err(KeeperError::DoubleSign {
                        account: report.account,
                        positions_nonce: report.positions_nonce,
                        signed: signed.parse().unwrap_or_default(),
                        requested: report.report_hash,
                    });
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO signed_reports (account, positions_nonce, report_hash, observed_block)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![
                            report.account.to_string(),
                            report.positions_nonce as i64,
                            report.report_hash.to_string(),
                            observed_block as i64
                        ],
                    )?;
                }
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO signed_batches (root, observed_block, digest) VALUES (?1, ?2, ?3)",
            params![root.to_string(), observed_block as i64, digest.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How many batches this keeper has signed.
    pub fn signed_batch_count(&self) -> Result<u64> {
        Ok(self
            .db
            .query_row("SELECT COUNT(*) FROM signed_batches", [], |row| row.get::<_, i64>(0))?
            as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(nonce: u64, hash: u8) -> SignedReport {
        SignedReport {
            account: Address::repeat_byte(7),
            positions_nonce: nonce,
            report_hash: B256::repeat_byte(hash),
        }
    }

    #[test]
    fn same_report_twice_is_allowed_a_different_one_is_refused() {
        let mut store = SignedStore::in_memory().unwrap();
        store.record_batch(B256::repeat_byte(1), B256::ZERO, 10, &[report(3, 0xaa)]).unwrap();
        // The same report again (a resubmission of the same batch): fine.
        store.record_batch(B256::repeat_byte(1), B256::ZERO, 10, &[report(3, 0xaa)]).unwrap();
        // The same nonce observed at a later block (the market moved): a new observation.
        store.record_batch(B256::repeat_byte(2), B256::ZERO, 11, &[report(3, 0xbb)]).unwrap();
        let refused = store.record_batch(
            B256::repeat_byte(1),
            B256::ZERO,
            10,
            &[report(4, 0xcc), report(3, 0xcc)],
        );
        assert!(matches!(refused, Err(KeeperError::DoubleSign { positions_nonce: 3, .. })));
        // The refused batch left nothing behind: nonce 4 at block 10 is still free.
        store.record_batch(B256::repeat_byte(1), B256::ZERO, 10, &[report(4, 0xdd)]).unwrap();
        assert_eq!(store.signed_batch_count().unwrap(), 2);
        // A second, different batch for block 10: refused.
        assert!(matches!(
            store.record_batch(B256::repeat_byte(5), B256::ZERO, 10, &[]),
            Err(KeeperError::BlockAlreadySigned { block: 10, .. })
        ));
    }

    #[test]
    fn survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("keeper-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("signed.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let mut store = SignedStore::open(&path).unwrap();
            store.record_batch(B256::repeat_byte(1), B256::ZERO, 10, &[report(1, 0xaa)]).unwrap();
        }
        let mut reopened = SignedStore::open(&path).unwrap();
        assert!(matches!(
            reopened.record_batch(B256::repeat_byte(1), B256::ZERO, 10, &[report(1, 0xbb)]),
            Err(KeeperError::DoubleSign { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
