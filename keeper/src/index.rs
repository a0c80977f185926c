//! The keeper's own view of the engine, rebuilt from its events: every account's collateral,
//! positions, cash and positions nonce, the listed instruments, the keeper set and the epoch.
//!
//! Flow: logs of a block range -> [`EngineIndex::apply_block`] (events decoded with the `sol!`
//! bindings) -> [`EngineIndex::book`]. Each block's hash is kept; when the chain's hash for an
//! indexed block differs (a reorg), [`EngineIndex::rollback_to`] drops the orphaned blocks and
//! the state is replayed from the events that remain.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::rpc::types::Log;
use alloy_primitives::{Address, Bytes, B256, I256, U256};
use alloy_sol_types::SolEventInterface;
use margin_types::abi::IMarginEngineEvents::IMarginEngineEventsEvents as Event;

/// How many recent blocks keep their hash for reorg detection.
pub const REORG_DEPTH: u64 = 64;

/// One account as the engine holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountView {
    /// Collateral balances in token units.
    pub collateral: BTreeMap<Address, U256>,
    /// Signed positions, 18 decimals, by instrument id (zero positions removed).
    pub positions: BTreeMap<B256, I256>,
    /// Signed cash, USD 18 decimals.
    pub cash: I256,
    /// The engine's positions nonce.
    pub positions_nonce: u64,
}

/// Everything the index derives from events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineBook {
    /// Accounts by address.
    pub accounts: BTreeMap<Address, AccountView>,
    /// Listed instruments and their pricing spec (JSON bytes).
    pub instruments: BTreeMap<B256, Bytes>,
    /// Collateral prices last stored on-chain, USD 18 decimals, with their block.
    pub prices: BTreeMap<Address, (u128, u64)>,
    /// The engine's risk epoch.
    pub risk_epoch: u32,
    /// Accounts touched since the last call to [`EngineBook::take_dirty`].
    dirty: BTreeSet<Address>,
}

impl EngineBook {
    /// Accounts whose collateral or positions changed since the last call.
    pub fn take_dirty(&mut self) -> BTreeSet<Address> {
        std::mem::take(&mut self.dirty)
    }

    fn account(&mut self, account: Address) -> &mut AccountView {
        self.dirty.insert(account);
        self.accounts.entry(account).or_default()
    }

    /// Applies one decoded event.
    pub fn apply(&mut self, event: &Event, block: u64) {
        match event {
            Event::CollateralDeposited(e) => {
                let balance = self.account(e.account).collateral.entry(e.asset).or_default();
                *balance = balance.saturating_add(e.amount);
            }
            Event::CollateralWithdrawn(e) => {
                let balance = self.account(e.account).collateral.entry(e.asset).or_default();
                *balance = balance.saturating_sub(e.amount);
            }
            Event::PositionChanged(e) => {
                let view = self.account(e.account);
                if e.newSize.is_zero() {
                    view.positions.remove(&e.instrumentId);
                } else {
                    view.positions.insert(e.instrumentId, e.newSize);
                }
                view.cash = view.cash.saturating_add(e.cashDelta);
                view.positions_nonce = e.positionsNonce.to::<u64>();
            }
            Event::InstrumentListed(e) => {
                self.instruments.insert(e.instrumentId, e.spec.clone());
            }
            Event::PriceUpdated(e) => {
                self.prices.insert(e.asset, (e.price, block));
            }
            Event::RiskEpochBumped(e) => {
                self.risk_epoch = e.riskEpoch;
                // Every stored report is void: every account needs a new one.
                let all: Vec<Address> = self.accounts.keys().copied().collect();
                self.dirty.extend(all);
            }
            _ => {}
        }
    }
}

/// A decoded engine event with its position in the chain.
#[derive(Debug, Clone)]
struct IndexedEvent {
    block: u64,
    event: Event,
}

/// The reorg-aware event index.
#[derive(Debug, Default)]
pub struct EngineIndex {
    events: Vec<IndexedEvent>,
    block_hashes: BTreeMap<u64, B256>,
    book: EngineBook,
    /// Highest block fully indexed.
    pub head: Option<u64>,
}

impl EngineIndex {
    /// The current book.
    pub fn book(&self) -> &EngineBook {
        &self.book
    }

    /// The current book, mutably (to take dirty accounts).
    pub fn book_mut(&mut self) -> &mut EngineBook {
        &mut self.book
    }

    /// The hash recorded for `block`, if still kept.
    pub fn block_hash(&self, block: u64) -> Option<B256> {
        self.block_hashes.get(&block).copied()
    }

    /// Indexes `block` (with its hash) and the engine's logs in it. Logs that are not engine
    /// events are ignored; unknown engine events too (forward compatible).
    pub fn apply_block(&mut self, block: u64, hash: B256, logs: &[Log]) {
        for log in logs {
            if let Ok(event) = Event::decode_log(&log.inner) {
                self.book.apply(&event.data, block);
                self.events.push(IndexedEvent { block, event: event.data });
            }
        }
        self.block_hashes.insert(block, hash);
        while self.block_hashes.len() as u64 > REORG_DEPTH {
            self.block_hashes.pop_first();
        }
        self.head = Some(block);
    }

    /// Drops everything after `block` (a reorg replaced those blocks) and replays the rest.
    pub fn rollback_to(&mut self, block: u64) {
        self.events.retain(|e| e.block <= block);
        self.block_hashes.retain(|b, _| *b <= block);
        let mut book = EngineBook::default();
        for e in &self.events {
            book.apply(&e.event, e.block);
        }
        // Everyone the replay touched must be re-margined.
        book.dirty = book.accounts.keys().copied().collect();
        self.book = book;
        self.head = Some(block);
    }

    /// Number of events held.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }
}

/// Accounts holding anything, for a full re-margin.
pub fn active_accounts(book: &EngineBook) -> Vec<Address> {
    book.accounts
        .iter()
        .filter(|(_, a)| !a.positions.is_empty() || a.collateral.values().any(|b| !b.is_zero()))
        .map(|(addr, _)| *addr)
        .collect()
}

/// Groups positions by instrument across accounts (for diagnostics and the planner).
pub fn open_interest(book: &EngineBook) -> HashMap<B256, I256> {
    let mut oi = HashMap::new();
    for account in book.accounts.values() {
        for (id, size) in &account.positions {
            if size.is_positive() {
                let entry: &mut I256 = oi.entry(*id).or_default();
                *entry = entry.saturating_add(*size);
            }
        }
    }
    oi
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{aliases::U48, keccak256, LogData};
    use alloy_sol_types::SolEvent;
    use margin_types::abi::IMarginEngineEvents;

    fn log(data: LogData) -> Log {
        Log {
            inner: alloy_primitives::Log { address: Address::repeat_byte(0xee), data },
            ..Default::default()
        }
    }

    fn position(account: Address, size: i64, nonce: u64) -> Log {
        log(IMarginEngineEvents::PositionChanged {
            account,
            instrumentId: keccak256("ETH-PERP"),
            sizeDelta: I256::try_from(size).unwrap(),
            cashDelta: I256::ZERO,
            newSize: I256::try_from(size).unwrap(),
            positionsNonce: U48::from(nonce),
        }
        .encode_log_data())
    }

    #[test]
    fn reorg_rolls_back_orphaned_events() {
        let alice = Address::repeat_byte(1);
        let mut index = EngineIndex::default();
        index.apply_block(10, B256::repeat_byte(10), &[position(alice, 5, 1)]);
        index.apply_block(11, B256::repeat_byte(11), &[position(alice, 9, 2)]);
        assert_eq!(index.book().accounts[&alice].positions_nonce, 2);
        index.rollback_to(10);
        assert_eq!(index.book().accounts[&alice].positions_nonce, 1);
        assert_eq!(
            index.book().accounts[&alice].positions[&keccak256("ETH-PERP")],
            I256::try_from(5).unwrap()
        );
        assert_eq!(index.block_hash(11), None);
        assert!(index.book_mut().take_dirty().contains(&alice));
    }

    #[test]
    fn deposits_and_withdrawals_add_up() {
        let alice = Address::repeat_byte(1);
        let usdc = Address::repeat_byte(2);
        let mut index = EngineIndex::default();
        let dep = log(IMarginEngineEvents::CollateralDeposited {
            account: alice,
            asset: usdc,
            amount: U256::from(100),
        }
        .encode_log_data());
        let wd = log(IMarginEngineEvents::CollateralWithdrawn {
            account: alice,
            asset: usdc,
            amount: U256::from(30),
        }
        .encode_log_data());
        index.apply_block(1, B256::ZERO, &[dep, wd]);
        assert_eq!(index.book().accounts[&alice].collateral[&usdc], U256::from(70));
        assert_eq!(active_accounts(index.book()), vec![alice]);
    }
}
