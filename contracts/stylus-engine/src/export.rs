//! The SDK's `#[public]` router around the engine, built only for `cargo stylus export-abi`
//! (feature `export-abi`): it prints the contract's Solidity interface, which the ABI-drift test
//! compares with `solidity-interfaces/IMarginEngine.sol`. Every method delegates to the
//! engine's own (the one the deployed router calls), so the printout describes that API.
#![allow(missing_docs, clippy::too_many_arguments)]

use alloc::vec::Vec;

use stylus_sdk::abi::Bytes;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256, U256};
use stylus_sdk::prelude::*;

use crate::abi::*;
use crate::errors::EngineError;
use crate::MarginEngine;

/// The engine at slot 0, behind the SDK router.
#[storage]
#[entrypoint]
pub struct ExportedEngine {
    engine: MarginEngine,
}

#[public]
impl ExportedEngine {
    #[constructor]
    pub fn constructor(
        &mut self,
        admin: Address,
        risk_council: Address,
        pause_guardian: Address,
        keepers: Vec<Address>,
        quorum: u8,
        params: RiskParams,
        collateral_assets: Vec<Address>,
        collateral_decimals: Vec<u8>,
        collateral_weights_bps: Vec<u16>,
        venues: Vec<Address>,
    ) -> Result<(), EngineError> {
        self.engine._init(
            admin,
            risk_council,
            pause_guardian,
            &keepers,
            quorum,
            &params,
            &collateral_assets,
            &collateral_decimals,
            &collateral_weights_bps,
            &venues,
        )
    }

    pub fn post_batch(
        &mut self,
        batch: ReportBatch,
        signatures: Bytes,
        prices: Vec<PriceReport>,
        reports: Vec<MarginReport>,
        other_leaves: Vec<B256>,
    ) -> Result<(), EngineError> {
        self.engine.post_batch(batch, signatures, prices, reports, other_leaves)
    }

    pub fn attest_root(
        &mut self,
        batch: ReportBatch,
        signatures: Bytes,
    ) -> Result<(), EngineError> {
        self.engine.attest_root(batch, signatures)
    }

    pub fn post_margin_report(
        &mut self,
        report: MarginReport,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self.engine.post_margin_report(report, root, proof)
    }

    pub fn post_price_report(
        &mut self,
        price: PriceReport,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self.engine.post_price_report(price, root, proof)
    }

    pub fn deposit(&mut self, asset: Address, amount: U256) -> Result<(), EngineError> {
        self.engine.deposit(asset, amount)
    }

    pub fn withdraw(&mut self, asset: Address, amount: U256) -> Result<(), EngineError> {
        self.engine.withdraw(asset, amount)
    }

    pub fn settle_trade(&mut self, legs: Vec<TradeLeg>) -> Result<(), EngineError> {
        self.engine.settle_trade(legs)
    }

    pub fn liquidate(
        &mut self,
        step: LiquidationStep,
        root: B256,
        proof: Vec<B256>,
    ) -> Result<(), EngineError> {
        self.engine.liquidate(step, root, proof)
    }

    pub fn propose_change(&mut self, change: ParamChange) -> Result<(B256, bool), EngineError> {
        self.engine.propose_change(change)
    }

    pub fn execute_change(&mut self, change: ParamChange, eta: u64) -> Result<(), EngineError> {
        self.engine.execute_change(change, eta)
    }

    pub fn cancel_change(&mut self, change_id: B256) -> Result<(), EngineError> {
        self.engine.cancel_change(change_id)
    }

    pub fn list_instrument(&mut self, instrument_id: B256, spec: Bytes) -> Result<(), EngineError> {
        self.engine.list_instrument(instrument_id, spec)
    }

    pub fn pause(&mut self) -> Result<(), EngineError> {
        self.engine.pause()
    }

    pub fn unpause(&mut self) -> Result<(), EngineError> {
        self.engine.unpause()
    }

    pub fn domain_separator(&self) -> B256 {
        self.engine.domain_separator()
    }

    pub fn risk_epoch(&self) -> u32 {
        self.engine.risk_epoch()
    }

    pub fn keepers(&self) -> Vec<Address> {
        self.engine.keepers()
    }

    pub fn quorum(&self) -> u8 {
        self.engine.quorum()
    }

    pub fn risk_params(&self) -> RiskParams {
        self.engine.risk_params()
    }

    pub fn roles(&self) -> (Address, Address, Address) {
        self.engine.roles()
    }

    pub fn paused(&self) -> bool {
        self.engine.paused()
    }

    pub fn is_venue(&self, venue: Address) -> bool {
        self.engine.is_venue(venue)
    }

    pub fn is_instrument_listed(&self, instrument_id: B256) -> bool {
        self.engine.is_instrument_listed(instrument_id)
    }

    pub fn collateral_assets(&self) -> Vec<Address> {
        self.engine.collateral_assets()
    }

    pub fn collateral_info(&self, asset: Address) -> CollateralInfo {
        self.engine.collateral_info(asset)
    }

    pub fn collateral_balance(&self, account: Address, asset: Address) -> U256 {
        self.engine.collateral_balance(account, asset)
    }

    pub fn position_of(&self, account: Address, instrument_id: B256) -> I256 {
        self.engine.position_of(account, instrument_id)
    }

    pub fn account_state(&self, account: Address) -> Result<(U48, I256, U48), EngineError> {
        self.engine.account_state(account)
    }

    pub fn margin_report_of(&self, account: Address) -> StoredMarginReport {
        self.engine.margin_report_of(account)
    }

    pub fn account_health(&self, account: Address) -> Result<AccountHealth, EngineError> {
        self.engine.account_health(account)
    }

    pub fn is_liquidatable(&self, account: Address) -> Result<bool, EngineError> {
        self.engine.is_liquidatable(account)
    }

    pub fn attested_root(&self, root: B256) -> (U48, u32) {
        self.engine.attested_root(root)
    }

    pub fn queued_change_eta(&self, change_id: B256) -> u64 {
        self.engine.queued_change_eta(change_id)
    }

    pub fn liquidated_notional_this_block(&self) -> U256 {
        self.engine.liquidated_notional_this_block()
    }

    pub fn clock_block(&self) -> U256 {
        self.engine.clock_block()
    }

    pub fn withdraw_cash(&mut self, amount: U256) -> Result<(), EngineError> {
        self.engine.withdraw_cash(amount)
    }

    pub fn repay_debt(&mut self, amount: U256) -> Result<(), EngineError> {
        self.engine.repay_debt(amount)
    }

    pub fn seize_collateral(
        &mut self,
        account: Address,
        asset: Address,
        amount: U256,
    ) -> Result<(), EngineError> {
        self.engine.seize_collateral(account, asset, amount)
    }

    pub fn resolve_bad_debt(&mut self, account: Address) -> Result<(), EngineError> {
        self.engine.resolve_bad_debt(account)
    }

    pub fn settlement_state(&self) -> Result<SettlementState, EngineError> {
        self.engine.settlement_state()
    }

    pub fn collateral_status(&self, asset: Address) -> (bool, U256) {
        self.engine.collateral_status(asset)
    }

    pub fn open_positions(&self, account: Address) -> U256 {
        self.engine.open_positions(account)
    }
}
