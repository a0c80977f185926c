//! The engine's operations, each combining the modules under the interface's order of checks.

mod batches;
mod governance;
mod health;
mod liquidate;
mod trading;

use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{address, Address, B256, U256};
use stylus_sdk::prelude::*;

use crate::MarginEngine;

/// Arbitrum's ArbSys precompile.
pub const ARB_SYS: Address = address!("0000000000000000000000000000000000000064");
/// `arbBlockNumber()`: the L2 block number.
pub const ARB_BLOCK_NUMBER: [u8; 4] = [0xa3, 0xb1, 0xb3, 0x1d];

impl MarginEngine {
    /// The engine's block clock (`clockBlock()`): the L2 block number from ArbSys. Stylus runs
    /// only on Arbitrum, where the `block_number` hostio is an estimate of the L1 block number
    /// (Nitro `arbos/programs/programs.go`), shared by many L2 blocks: every freshness window and
    /// per-block gate reads this instead. The one place the engine reads a block number.
    ///
    /// Native builds (the crate's own tests) read the TestVM's block number instead: the SDK's
    /// TestVM answers every mocked call with the data of the last mock installed, so an ArbSys
    /// mock beside a token mock cannot be modelled there. The WASM always reads ArbSys; the host
    /// tests (`tests/stylus-host`) run it with the `block_number` hostio at a different number.
    pub(crate) fn _clock(&self) -> u64 {
        #[cfg(target_arch = "wasm32")]
        return arb_block_number(self.vm());
        #[cfg(not(target_arch = "wasm32"))]
        return self.vm().block_number();
    }

    /// The clock as the interface's uint48 (block numbers stay far below 2^48; saturating keeps
    /// this total).
    pub(crate) fn _block48(&self) -> U48 {
        U48::saturating_from(self._clock())
    }

    /// The EIP-712 domain separator for this chain and this engine.
    pub(crate) fn _domain_separator(&self) -> B256 {
        margin_types::eip712::domain_separator(
            U256::from(self.vm().chain_id()),
            self.vm().contract_address(),
        )
    }
}

/// `ArbSys.arbBlockNumber()` by static call.
#[cfg(target_arch = "wasm32")]
fn arb_block_number(host: &stylus_sdk::host::VM) -> u64 {
    use stylus_sdk::call::static_call;
    match static_call(host, Call::new(), ARB_SYS, &ARB_BLOCK_NUMBER) {
        Ok(out) if out.len() == 32 && out[..24].iter().all(|&b| b == 0) => {
            let mut low = [0u8; 8];
            low.copy_from_slice(&out[24..]);
            u64::from_be_bytes(low)
        }
        _ => clock_unavailable(),
    }
}

/// ArbSys did not answer: nothing block-dependent can be decided, so the call reverts with empty
/// data (a trap), as the twin does.
#[cfg(target_arch = "wasm32")]
#[cold]
fn clock_unavailable() -> ! {
    core::arch::wasm32::unreachable()
}
