//! The engine's operations, each combining the modules under the interface's order of checks.

mod batches;
mod governance;
mod health;
mod liquidate;
mod trading;

use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{B256, U256};
use stylus_sdk::prelude::*;

use crate::MarginEngine;

impl MarginEngine {
    /// `block.number` as the interface's uint48 (block numbers stay far below 2^48; saturating
    /// keeps this total).
    pub(crate) fn _block48(&self) -> U48 {
        U48::saturating_from(self.vm().block_number())
    }

    /// The EIP-712 domain separator for this chain and this engine.
    pub(crate) fn _domain_separator(&self) -> B256 {
        margin_types::eip712::domain_separator(
            U256::from(self.vm().chain_id()),
            self.vm().contract_address(),
        )
    }
}
