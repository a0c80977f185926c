//! The cross-margin engine as an Arbitrum Stylus contract.
//!
//! It implements `solidity-interfaces/IMarginEngine.sol` call for call (same errors, events,
//! rounding and order of checks as the Solidity twin). Keepers compute margin off-chain and sign
//! one `ReportBatch` per block; this contract verifies the quorum through the ecrecover
//! precompile, stores reports and prices, values collateral on-chain with governed weights,
//! gates withdrawals, risk-adding trades and liquidations, and runs a timelocked governance.
//!
//! Composition (each module a view over its hand-packed storage words, layout in [`store`]):
//! - [`keepers`]: keeper set, quorum, precompile recovery;
//! - [`reports`]: stored margin reports and attested roots;
//! - [`vault`]: listed collateral, balances, weighted value, ERC-20 transfers;
//! - [`ledger`]: positions, nonces, cash, instruments, venues;
//! - [`liquidation`]: the per-block notional gate;
//! - [`settlement`]: the settlement asset, cash reserve, insurance fund and positive-cash rate;
//! - [`governance`]: roles, pause, risk epoch, parameters and their bounds, the timelock queue;
//! - `engine/*`: the operations that combine them (batches, collateral and trades, margin
//!   views, liquidation, governance changes), as `impl MarginEngine` blocks.
//!
//! Deployed, the engine is split into four contracts sharing its storage ([`router::Module`],
//! `docs/stylus.md`): the engine delegatecalls a verifier, a settlement and an admin module.
//!
//! Recovery sits behind `margin_types::quorum::Ecrecover`: on-chain the precompile
//! ([`keepers::PrecompileRecover`]), in native tests k256 through the `*_with` entry points.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![cfg_attr(feature = "contract-client-gen", allow(unused_imports))]
// Each deployed artifact (engine, verifier, admin and settlement modules) compiles only its
// share of the router's arms; the rest of the crate is then unused in that artifact, not dead.
#![cfg_attr(target_arch = "wasm32", allow(dead_code, unused_imports))]
#[cfg(any(
    all(feature = "admin-module", feature = "verifier-module"),
    all(feature = "admin-module", feature = "settlement-module"),
    all(feature = "verifier-module", feature = "settlement-module")
))]
compile_error!(
    "build one artifact at a time: `admin-module`, `verifier-module` or `settlement-module`"
);

#[macro_use]
extern crate alloc;

pub mod abi;
mod engine;
pub mod errors;
#[cfg(feature = "export-abi")]
pub mod export;
pub mod governance;
pub mod keepers;
pub mod ledger;
pub mod liquidation;
pub mod math;
pub mod reports;
pub mod router;
pub mod settlement;
pub mod store;
pub mod vault;
pub mod words;

use alloc::vec::Vec;

use stylus_sdk::abi::Bytes;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256, U256};
use stylus_sdk::prelude::*;

pub use crate::abi::{
    AccountHealth, CollateralInfo, LiquidationStep, MarginReport, ParamChange, PriceReport,
    ReportBatch, RiskParams, SettlementState, StoredMarginReport, TradeLeg,
};
pub use crate::engine::{ARB_BLOCK_NUMBER, ARB_SYS};
pub use crate::errors::{EngineError, EngineResult};
use crate::governance::Governance;
use crate::keepers::{KeeperSet, PrecompileRecover};
use crate::ledger::PositionsLedger;
use crate::liquidation::LiquidationGate;
use crate::reports::ReportStore;
use crate::settlement::SettlementBook;
use crate::vault::CollateralVault;

/// The engine: the host, over which every module reads and writes its hand-packed slots
/// (layout in [`store`]).
///
/// On-chain, calls enter through [`router`] (see `user_entrypoint` below); under the
/// `export-abi` feature, `export::ExportedEngine` wraps it in the SDK's `#[public]` router to
/// print the interface.
#[storage]
pub struct MarginEngine {}

/// The modules, each a view of its slots through the host.
impl MarginEngine {
    pub(crate) fn governance(&self) -> Governance<'_> {
        Governance(self.vm())
    }

    pub(crate) fn keeper_set(&self) -> KeeperSet<'_> {
        KeeperSet(self.vm())
    }

    pub(crate) fn reports(&self) -> ReportStore<'_> {
        ReportStore(self.vm())
    }

    pub(crate) fn vault(&self) -> CollateralVault<'_> {
        CollateralVault(self.vm())
    }

    pub(crate) fn ledger(&self) -> PositionsLedger<'_> {
        PositionsLedger(self.vm())
    }

    pub(crate) fn liquidations(&self) -> LiquidationGate<'_> {
        LiquidationGate(self.vm())
    }

    pub(crate) fn settlement(&self) -> SettlementBook<'_> {
        SettlementBook(self.vm())
    }
}

/// The external API: what the router calls, one method per interface function.
impl MarginEngine {
    // ------------------------------------------------------------------ reports

    /// Posts a whole quorum-signed batch (prices and margin reports applied, root rebuilt).
    pub fn post_batch(
        &mut self,
        batch: ReportBatch,
        signatures: Bytes,
        prices: Vec<PriceReport>,
        reports: Vec<MarginReport>,
        other_leaves: Vec<B256>,
    ) -> Result<(), EngineError> {
        let vm = self.vm().clone();
        self.post_batch_with(
            &mut PrecompileRecover(&vm),
            batch,
            &signatures,
            &prices,
            &reports,
            &other_leaves,
        )
    }

    /// Verifies a quorum-signed batch and stores its root.
    pub fn attest_root(
        &mut self,
        batch: ReportBatch,
        signatures: Bytes,
    ) -> Result<(), EngineError> {
        let vm = self.vm().clone();
        self.attest_root_with(&mut PrecompileRecover(&vm), batch, &signatures)
    }

    /// Applies one margin report proven against a stored root.
    pub fn post_margin_report(
        &mut self,
        report: MarginReport,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self._post_margin_report(&report, root, &proof)
    }

    /// Applies one price report proven against a stored root.
    pub fn post_price_report(
        &mut self,
        price: PriceReport,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self._post_price_report(&price, root, &proof)
    }

    // ------------------------------------------------------------------ collateral

    /// Moves `amount` of a listed `asset` from the caller into its account.
    pub fn deposit(&mut self, asset: Address, amount: U256) -> Result<(), EngineError> {
        self._deposit(asset, amount)
    }

    /// Pays `amount` of `asset` out to the caller, margin permitting.
    pub fn withdraw(&mut self, asset: Address, amount: U256) -> Result<(), EngineError> {
        self._withdraw(asset, amount)
    }

    // ------------------------------------------------------------------ settlement

    /// Pays `amount` units of the settlement asset out of the caller's positive cash.
    pub fn withdraw_cash(&mut self, amount: U256) -> Result<(), EngineError> {
        self._withdraw_cash(amount)
    }

    /// Repays debt with `amount` units of the caller's own settlement-asset balance.
    pub fn repay_debt(&mut self, amount: U256) -> Result<(), EngineError> {
        self._repay_debt(amount)
    }

    /// Collects a liquidatable account's debt from its collateral, in the planner's order.
    pub fn seize_collateral(
        &mut self,
        account: Address,
        asset: Address,
        amount: U256,
    ) -> Result<(), EngineError> {
        self._seize_collateral(account, asset, amount)
    }

    /// Writes off an account's bad debt (insurance fund, then socialised).
    pub fn resolve_bad_debt(&mut self, account: Address) -> Result<(), EngineError> {
        self._resolve_bad_debt(account)
    }

    // ------------------------------------------------------------------ positions

    /// Settles a venue trade.
    pub fn settle_trade(&mut self, legs: Vec<TradeLeg>) -> Result<(), EngineError> {
        self._settle_trade(&legs)
    }

    // ------------------------------------------------------------------ liquidation

    /// Executes a quorum-signed liquidation step; the caller is the liquidator.
    pub fn liquidate(
        &mut self,
        step: LiquidationStep,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self._liquidate(&step, root, &proof)
    }

    // ------------------------------------------------------------------ governance

    /// Proposes a change: tightening applies at once, loosening is queued.
    pub fn propose_change(&mut self, change: ParamChange) -> Result<(B256, bool), EngineError> {
        self._propose_change(&change)
    }

    /// Executes a queued change once its eta has passed.
    pub fn execute_change(&mut self, change: ParamChange, eta: u64) -> Result<(), EngineError> {
        self._execute_change(&change, eta)
    }

    /// Cancels a queued change.
    pub fn cancel_change(&mut self, change_id: B256) -> Result<(), EngineError> {
        self._cancel_change(change_id)
    }

    /// Lists an instrument.
    pub fn list_instrument(&mut self, instrument_id: B256, spec: Bytes) -> Result<(), EngineError> {
        self._list_instrument(instrument_id, spec)
    }

    /// Pauses trades, withdrawals and liquidations.
    pub fn pause(&mut self) -> Result<(), EngineError> {
        self._set_paused(true)
    }

    /// Unpauses.
    pub fn unpause(&mut self) -> Result<(), EngineError> {
        self._set_paused(false)
    }

    // ------------------------------------------------------------------ views

    /// The EIP-712 domain separator for this chain and this engine.
    pub fn domain_separator(&self) -> B256 {
        self._domain_separator()
    }

    /// The current risk epoch.
    pub fn risk_epoch(&self) -> u32 {
        self.governance().risk_epoch()
    }

    /// Registered keepers, in registration order.
    pub fn keepers(&self) -> Vec<Address> {
        self.keeper_set().keepers()
    }

    /// Signatures needed per batch.
    pub fn quorum(&self) -> u8 {
        self.keeper_set().quorum()
    }

    /// Current scalar risk parameters.
    pub fn risk_params(&self) -> RiskParams {
        self.governance().params()
    }

    /// admin, risk council, pause guardian.
    pub fn roles(&self) -> (Address, Address, Address) {
        self.governance().roles()
    }

    /// Whether the engine is paused.
    pub fn paused(&self) -> bool {
        self.governance().paused()
    }

    /// Whether `venue` may settle trades.
    pub fn is_venue(&self, venue: Address) -> bool {
        self.ledger().is_venue(venue)
    }

    /// Whether `instrument_id` is listed.
    pub fn is_instrument_listed(&self, instrument_id: B256) -> bool {
        self.ledger().is_listed(instrument_id)
    }

    /// Listed collateral assets, in listing order.
    pub fn collateral_assets(&self) -> Vec<Address> {
        self.vault().assets()
    }

    /// Listing, weight and last price of `asset`.
    pub fn collateral_info(&self, asset: Address) -> CollateralInfo {
        self.vault().info(asset)
    }

    /// `account`'s balance of `asset`, in token units.
    pub fn collateral_balance(&self, account: Address, asset: Address) -> U256 {
        self.vault().balance(account, asset)
    }

    /// `account`'s signed position in `instrument_id`.
    pub fn position_of(&self, account: Address, instrument_id: B256) -> I256 {
        self.ledger().position(account, instrument_id)
    }

    /// `account`'s positions nonce, signed cash and the block of its last liquidation step.
    pub fn account_state(&self, account: Address) -> Result<(U48, I256, U48), EngineError> {
        let (nonce, last) = self.ledger().account(account);
        Ok((nonce, self._cash(account)?, last))
    }

    /// The margin report stored for `account` (zeros if none).
    pub fn margin_report_of(&self, account: Address) -> StoredMarginReport {
        self.reports().report(account)
    }

    /// `account`'s health now (never reverts for staleness).
    pub fn account_health(&self, account: Address) -> Result<AccountHealth, EngineError> {
        self._account_health(account)
    }

    /// Shorthand for accountHealth(account).liquidatable.
    pub fn is_liquidatable(&self, account: Address) -> Result<bool, EngineError> {
        Ok(self._account_health(account)?.liquidatable)
    }

    /// The stored attestation of `root` (zeros if none).
    pub fn attested_root(&self, root: B256) -> (U48, u32) {
        self.reports().root(root)
    }

    /// The eta of a queued change (0 if none).
    pub fn queued_change_eta(&self, change_id: B256) -> u64 {
        self.governance().queued_eta(change_id)
    }

    /// The liquidated notional counted in the current block.
    pub fn liquidated_notional_this_block(&self) -> U256 {
        self.liquidations().used_in(self._block48())
    }

    /// The engine's block clock now: ArbSys's L2 block number.
    pub fn clock_block(&self) -> U256 {
        U256::from(self._clock())
    }

    /// The settlement asset, cash reserve, insurance fund, socialised losses and parameters.
    pub fn settlement_state(&self) -> Result<SettlementState, EngineError> {
        let s = self.settlement();
        let bps = |kind| s.param(kind).as_limbs()[0] as u16; // 16-bit fields
        Ok(SettlementState {
            settlementAsset: s.asset(),
            cashReserve: s.reserve(),
            insuranceFund: s.fund(),
            socialisedLoss: s.socialised(),
            totalPositiveCash: s.cash_of_shares(s.shares())?,
            positiveCashRate: s.rate(),
            seizureDiscountBps: bps(governance::kind::SEIZURE_DISCOUNT),
            insuranceShareBps: bps(governance::kind::INSURANCE_SHARE),
            liquidatorMarginBps: bps(governance::kind::LIQUIDATOR_MARGIN),
        })
    }

    /// Whether `asset` is winding down, and the engine-wide Σ balances of it.
    pub fn collateral_status(&self, asset: Address) -> (bool, U256) {
        (self.vault().winding_down(asset), self.vault().total(asset))
    }

    /// How many instruments `account` holds a non-zero position in.
    pub fn open_positions(&self, account: Address) -> U256 {
        U256::from(self.ledger().open_positions(account))
    }
}

// The engine is the contract's one top-level storage, rooted at slot 0: what TopLevelStorage
// asserts.
#[allow(unsafe_code)]
unsafe impl stylus_sdk::stylus_core::storage::TopLevelStorage for MarginEngine {}

/// Runs one call of the deployed contract: value is refused (nothing is payable), the
/// constructor runs once, everything else goes through [`router::dispatch`].
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
fn run(input: Vec<u8>, host: stylus_sdk::host::VM) -> Result<Vec<u8>, Vec<u8>> {
    use stylus_sdk::stylus_core::{ConstructorGuard, MessageAccess};
    if !host.msg_value().is_zero() {
        return Err(Vec::new());
    }
    // The engine's storage starts at slot 0, offset 0, and nothing else aliases it.
    #[allow(unsafe_code)]
    let mut engine = unsafe {
        <MarginEngine as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host.clone())
    };
    if input.get(..4) == Some(&stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes()[..]) {
        // The engine delegates its constructor to the admin module, which runs it on the
        // engine's storage; the verifier and settlement modules have none.
        #[cfg(engine_module)]
        return router::forward(&host, router::Module::Admin.address(), &input);
        #[cfg(feature = "admin-module")]
        {
            engine.check_constructor_slot()?;
            return router::construct(&mut engine, &input[4..]);
        }
        #[cfg(any(feature = "verifier-module", feature = "settlement-module"))]
        return Err(Vec::new());
    }
    router::dispatch(&mut engine, &mut PrecompileRecover(&host), &input)
}

/// The Stylus entry point (what the SDK's `#[entrypoint]` generates, around our router).
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[allow(unsafe_code)] // the exported symbol Stylus calls; nothing else defines it
#[no_mangle]
pub extern "C" fn user_entrypoint(len: usize) -> usize {
    use stylus_sdk::stylus_core::{CalldataAccess, MemoryAccess, MessageAccess, StorageAccess};
    let host = stylus_sdk::host::VM { host: stylus_sdk::host::WasmVM {} };
    // Reentrancy is refused at the engine's entry. A module runs only by delegatecall from the
    // engine, which Nitro does not count as a frame: its flag equals the engine's, already checked.
    #[cfg(engine_module)]
    if host.msg_reentrant() {
        return 1;
    }
    host.pay_for_memory_grow(0);
    let input = host.read_args(len);
    let (data, status) = match run(input, host.clone()) {
        Ok(data) => (data, 0),
        Err(data) => (data, 1),
    };
    host.flush_cache(false);
    host.write_result(&data);
    status
}
