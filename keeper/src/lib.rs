//! The keeper network: collectors -> strategy -> executors.
//!
//! What flows through a keeper each block:
//! 1. **Collect**: the engine's events are indexed into each account's positions
//!    ([`index`]), and market data arrives from a pluggable source.
//! 2. **Compute**: accounts whose positions or market changed are re-margined with the
//!    configured model, giving a [`batch::Batch`] of price reports, margin reports and
//!    liquidation steps.
//! 3. **Cosign**: the block's leader proposes the batch; each cosigner recomputes it from its own
//!    index and signs the batch attestation only if every leaf matches, after journaling what it
//!    signs in [`store::SignedStore`] so a restart can never double-sign.
//! 4. **Execute**: the leader submits `postBatch` once a quorum of signatures is in.
pub mod batch;
pub mod bot;
pub mod chain;
pub mod cluster;
pub mod config;
pub mod cosign;
pub mod deploy;
pub mod devnet;
pub mod error;
pub mod govern;
pub mod index;
pub mod market;
pub mod metrics;
pub mod model;
pub mod node;
pub mod risk;
pub mod safe;
pub mod store;

pub use error::{KeeperError, Result};
