//! The chain state a call runs against: contract storage, the in-host ERC-20 tokens, logs, the
//! block, and the deployed WASM programs. Cloned whole as a journal entry when a frame starts,
//! restored when it reverts (the state is small: one engine, a few tokens).

use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256};

/// One emitted log: emitter, topics, data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Topics (0 to 4).
    pub topics: Vec<B256>,
    /// Non-indexed data.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// Hex (`0x…`) serde for byte vectors.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `0x…`.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    /// Reads `0x…` (or bare hex).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.trim_start_matches("0x")).map_err(serde::de::Error::custom)
    }
}

/// An in-host ERC-20 with the Solidity mock's behaviour (`contracts/evm/test/mocks`): open
/// minting, `require(…, "balance")` / `"allowance"`, Transfer and Approval events.
#[derive(Debug, Clone, Default)]
pub struct Token {
    /// Balances.
    pub balances: HashMap<Address, U256>,
    /// Allowances by (owner, spender).
    pub allowances: HashMap<(Address, Address), U256>,
    /// Total supply.
    pub total_supply: U256,
}

/// The journaled state.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Committed storage words by contract.
    pub storage: HashMap<Address, HashMap<B256, B256>>,
    /// Transient storage (cleared per transaction).
    pub transient: HashMap<(Address, B256), B256>,
    /// Token ledgers by token address.
    pub tokens: HashMap<Address, Token>,
    /// Logs of the current transaction, in order.
    pub logs: Vec<Log>,
}

impl State {
    /// A committed storage word (zero if never written).
    pub fn load(&self, contract: Address, key: B256) -> B256 {
        self.storage.get(&contract).and_then(|s| s.get(&key)).copied().unwrap_or_default()
    }

    /// Commits a storage word.
    pub fn store(&mut self, contract: Address, key: B256, value: B256) {
        self.storage.entry(contract).or_default().insert(key, value);
    }
}

/// Block and chain context of the current transaction, with Arbitrum's two block numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// `chainid`.
    pub chain_id: u64,
    /// The L2 block number: what ArbSys (0x64) `arbBlockNumber()` answers, and the engine's clock.
    pub number: u64,
    /// What the `block_number` hostio answers: Nitro's estimate of the L1 block number
    /// (`arbos/programs/programs.go`), shared by many L2 blocks.
    pub l1_number: u64,
    /// `block.timestamp`.
    pub timestamp: u64,
}

/// L2 blocks per L1 block in [`Block::at`]: Arbitrum One makes up to 48 (250 ms against 12 s).
pub const L2_BLOCKS_PER_L1_BLOCK: u64 = 48;

/// How far the L1 estimate sits below the L2 number in [`Block::at`] (on Arbitrum One about 1e8
/// against 2e7), so that the two never coincide.
pub const L1_BEHIND_L2: u64 = 80_000_000;

impl Block {
    /// L2 block `number` at `timestamp`, with an L1 estimate that differs from it (a program
    /// reading the `block_number` hostio as its clock sees reports from the far future).
    pub fn at(chain_id: u64, number: u64, timestamp: u64) -> Self {
        let l1_number = number.saturating_sub(L1_BEHIND_L2) / L2_BLOCKS_PER_L1_BLOCK;
        Self { chain_id, number, l1_number, timestamp }
    }
}

impl Default for Block {
    fn default() -> Self {
        Self::at(31337, 1, 1_700_000_000)
    }
}

/// A 32-byte big-endian word of a `U256`.
pub fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes()
}

/// An address as an ABI word.
pub fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}
