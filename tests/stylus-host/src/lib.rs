//! Test support (never shipped): a Stylus host that runs the engine's compiled release WASM —
//! the engine, its verifier and admin modules — with Nitro's `vm_hooks` semantics, and a
//! differential runner against the Solidity twin on anvil. See `README.md` for what the host
//! models and what it does not.

pub mod activation;
pub mod anvil;
pub mod artifacts;
pub mod gas;
pub mod host;
pub mod precompile;
pub mod scenario;
pub mod token;
pub mod world;

use alloy_primitives::{keccak256, Address, U256};

pub use gas::GasEstimate;
pub use host::{Host, HostFault, Outcome};
pub use world::{Block, Log};

/// Calldata that runs a Stylus constructor: the SDK's constructor selector
/// (`keccak256("stylus_constructor()")[..4]`) and the ABI-encoded arguments.
pub fn constructor_calldata(args: &[u8]) -> Vec<u8> {
    [&keccak256("stylus_constructor()")[..4], args].concat()
}

/// The engine deployed as on Nitro: the linked engine at `engine`, the modules at their fixed
/// addresses, then the constructor run through the engine (which delegates it to the admin
/// module) from `deployer`.
pub struct StylusEngine {
    /// The host holding it.
    pub host: Host,
    /// The engine's address.
    pub engine: Address,
}

impl StylusEngine {
    /// Deploys and constructs; `Err` carries the constructor's revert data.
    pub fn deploy(
        engine: Address,
        block: Block,
        deployer: Address,
        constructor_args: &[u8],
        tokens: &[Address],
    ) -> Result<Self, Vec<u8>> {
        let a = artifacts::artifacts();
        let mut host = Host::new();
        host.set_block(block);
        host.deploy(engine, &a.linked_engine).unwrap_or_else(|e| panic!("engine: {e}"));
        host.deploy(artifacts::VERIFIER_MODULE, &a.verifier)
            .unwrap_or_else(|e| panic!("verifier module: {e}"));
        host.deploy(artifacts::ADMIN_MODULE, &a.admin)
            .unwrap_or_else(|e| panic!("admin module: {e}"));
        host.deploy(artifacts::SETTLEMENT_MODULE, &a.settlement)
            .unwrap_or_else(|e| panic!("settlement module: {e}"));
        for &token in tokens {
            host.add_token(token);
        }
        let outcome = host
            .transact(deployer, engine, &constructor_calldata(constructor_args), U256::ZERO)
            .unwrap_or_else(|e| panic!("host fault in the constructor: {e}"));
        outcome.result?;
        Ok(Self { host, engine })
    }

    /// A transaction to the engine from `sender` (a host fault panics: it is a test failure).
    pub fn call(&mut self, sender: Address, calldata: &[u8]) -> Outcome {
        self.host
            .transact(sender, self.engine, calldata, U256::ZERO)
            .unwrap_or_else(|e| panic!("host fault: {e}"))
    }

    /// A view call (state discarded).
    pub fn view(&mut self, calldata: &[u8]) -> Outcome {
        self.host
            .view(Address::ZERO, self.engine, calldata)
            .unwrap_or_else(|e| panic!("host fault: {e}"))
    }
}
