//! The keeper's errors. Every failure is typed, logged with its fields and either retried
//! (transport) or surfaced (everything else); none is swallowed.

use alloy_primitives::{Address, B256};

/// Why a keeper operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The configuration file is missing a field or holds a bad value.
    #[error("config: field `{field}`: {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The signed-report database failed.
    #[error("signed-report store: {0}")]
    Store(#[from] rusqlite::Error),
    /// Refused: signing this would contradict something already signed.
    #[error(
        "refusing to double-sign: account {account} at positionsNonce {positions_nonce} already has report {signed}, asked to sign {requested}"
    )]
    DoubleSign {
        /// The account.
        account: Address,
        /// Its positions nonce.
        positions_nonce: u64,
        /// The report hash signed before.
        signed: B256,
        /// The conflicting report hash.
        requested: B256,
    },
    /// Refused: this keeper already signed another batch for the block.
    #[error("refusing to double-sign: block {block} already signed with root {signed}, asked to sign {requested}")]
    BlockAlreadySigned {
        /// The observed block.
        block: u64,
        /// The root signed before.
        signed: B256,
        /// The conflicting root.
        requested: B256,
    },
    /// A protocol-level failure (signature, Merkle proof, key).
    #[error(transparent)]
    Protocol(#[from] margin_types::ProtocolError),
    /// The RPC endpoint failed (after retries).
    #[error("rpc: {0}")]
    Rpc(String),
    /// A transaction reverted; `revert` is the decoded custom error if known.
    #[error("transaction reverted: {revert}")]
    Reverted {
        /// The decoded revert reason.
        revert: String,
    },
    /// A peer keeper failed or disagreed.
    #[error("peer {peer}: {reason}")]
    Peer {
        /// The peer's name.
        peer: String,
        /// What happened.
        reason: String,
    },
    /// The margin model failed for an account.
    #[error("margin model for {account}: {reason}")]
    Model {
        /// The account.
        account: Address,
        /// The model's error.
        reason: String,
    },
    /// A command-line flag holds a bad value (the governance CLI): names the flag, its value,
    /// what is wrong and the fix.
    #[error("{flag} {value}: {reason}")]
    Flag {
        /// The flag, e.g. `--weight-bps`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias for the keeper.
pub type Result<T, E = KeeperError> = std::result::Result<T, E>;
