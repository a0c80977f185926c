//! Test harness: the engine in the SDK's TestVM, called through the deployed router with raw
//! calldata (k256 recovery in place of the precompile), with EVM revert semantics emulated
//! (storage restored and logs dropped when a call reverts).
#![allow(dead_code)]

pub mod fixture;

use alloy_primitives::{Address, B256};
use margin_engine_stylus::{router, MarginEngine};
use margin_types::signer::K256Recover;
use stylus_sdk::testing::TestVM;

/// A deployed engine in a TestVM.
pub struct Chain {
    pub vm: TestVM,
    pub engine: MarginEngine,
}

/// One call's outcome: return or revert data, and the logs it emitted (none if it reverted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: Result<Vec<u8>, Vec<u8>>,
    pub logs: Vec<(Vec<B256>, Vec<u8>)>,
}

impl Chain {
    /// Deploys at `engine` on `chain_id`, at `block` and `timestamp`, with constructor args.
    pub fn deploy(
        chain_id: u64,
        engine: Address,
        block: u64,
        timestamp: u64,
        args: &[u8],
    ) -> Result<Self, Vec<u8>> {
        let vm = TestVM::new();
        vm.set_chain_id(chain_id);
        vm.set_contract_address(engine);
        vm.set_block_number(block);
        vm.set_block_timestamp(timestamp);
        let mut engine = MarginEngine::from(&vm);
        router::construct(&mut engine, args)?;
        vm.clear_mocks();
        Ok(Self { vm, engine })
    }

    /// Calls the router as `sender` at the current block and time.
    pub fn call(&mut self, sender: Address, calldata: &[u8]) -> Outcome {
        self.call_mocked(sender, calldata, |_| {})
    }

    /// As [`Self::call`], with mocks installed (after the previous call's were cleared).
    pub fn call_mocked(
        &mut self,
        sender: Address,
        calldata: &[u8],
        mocks: impl FnOnce(&TestVM),
    ) -> Outcome {
        self.vm.set_sender(sender);
        let before = self.vm.snapshot().storage;
        self.vm.clear_mocks();
        mocks(&self.vm);
        let result = router::dispatch(&mut self.engine, &mut K256Recover, calldata);
        let logs = self.vm.get_emitted_logs();
        self.vm.clear_mocks();
        if result.is_err() {
            self.vm.clear_storage();
            for (k, v) in before {
                self.vm.set_storage(k, v);
            }
            return Outcome { result, logs: Vec::new() };
        }
        Outcome { result, logs }
    }

    /// Moves to `block` and `timestamp`.
    pub fn at(&mut self, block: u64, timestamp: u64) {
        self.vm.set_block_number(block);
        self.vm.set_block_timestamp(timestamp);
    }
}
