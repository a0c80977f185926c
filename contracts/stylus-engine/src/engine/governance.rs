//! Governance changes: tightening at once, loosening behind the timelock; the constructor's
//! initial state under the same bounds; instruments and the pause switch.

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use stylus_sdk::abi::Bytes;
use stylus_sdk::alloy_primitives::{Address, B256, U256};
use stylus_sdk::prelude::*;

use crate::abi::{ParamChange, RiskParams};
use crate::errors::{overflow, EngineResult};
use crate::governance::{bumps_epoch, change_id, check_bounds, kind, GRACE_PERIOD};
use crate::MarginEngine;

impl MarginEngine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn _init(
        &mut self,
        admin: Address,
        risk_council: Address,
        pause_guardian: Address,
        keepers: &[Address],
        quorum: u8,
        params: &RiskParams,
        assets: &[Address],
        decimals: &[u8],
        weights: &[u16],
        venues: &[Address],
    ) -> EngineResult<()> {
        for role in [admin, risk_council, pause_guardian] {
            _non_zero(role)?;
        }
        self.governance().init_roles(admin, risk_council, pause_guardian);
        for &keeper in keepers {
            self.keeper_set().check_add(keeper)?;
            self.keeper_set().add(keeper);
        }
        self.keeper_set().check_quorum(U256::from(quorum))?;
        self.keeper_set().set_quorum(usize::from(quorum));
        let scalars = [
            (kind::LIQUIDATION_THRESHOLD, U256::from(params.liquidationThresholdBps)),
            (kind::LIQUIDATION_PENALTY, U256::from(params.liquidationPenaltyBps)),
            (kind::MAX_REPORT_AGE, U256::from(params.maxReportAgeBlocks)),
            (kind::MAX_PRICE_AGE, U256::from(params.maxPriceAgeBlocks)),
            (kind::LIQUIDATION_NOTIONAL_CAP, U256::from(params.liquidationNotionalCapPerBlock)),
            (kind::TIMELOCK_DELAY, U256::from(params.timelockDelay)),
        ];
        for (k, value) in scalars {
            check_bounds(k, value)?;
            self.governance().set_param(k, value);
        }
        // Parallel arrays must have one entry per asset; the first is the settlement asset S.
        let n = U256::from(assets.len());
        if assets.is_empty() {
            return Err(E::ParameterOutOfBounds {
                kind: kind::LIST_COLLATERAL,
                value: U256::ZERO,
                min: U256::from(1),
                max: U256::from(crate::vault::MAX_COLLATERAL_ASSETS),
            }
            .into());
        }
        if decimals.len() != assets.len() {
            let len = U256::from(decimals.len());
            return Err(E::ParameterOutOfBounds {
                kind: kind::LIST_COLLATERAL,
                value: len,
                min: n,
                max: n,
            }
            .into());
        }
        if weights.len() != assets.len() {
            let len = U256::from(weights.len());
            return Err(E::ParameterOutOfBounds {
                kind: kind::COLLATERAL_WEIGHT,
                value: len,
                min: n,
                max: n,
            }
            .into());
        }
        for ((&asset, &dec), &weight) in assets.iter().zip(decimals).zip(weights) {
            _non_zero(asset)?;
            check_bounds(kind::LIST_COLLATERAL, U256::from(dec))?;
            check_bounds(kind::COLLATERAL_WEIGHT, U256::from(weight))?;
            self.vault().check_list(asset)?;
            self.vault().list(asset, dec, weight);
        }
        // S (non-empty, equal lengths: checked above) has at most 18 decimals.
        let (settlement, settlement_decimals) = (assets[0], decimals[0]);
        if settlement_decimals > 18 {
            return Err(E::ParameterOutOfBounds {
                kind: kind::LIST_COLLATERAL,
                value: U256::from(settlement_decimals),
                min: U256::ZERO,
                max: U256::from(18),
            }
            .into());
        }
        self.settlement().init(settlement, settlement_decimals);
        for &venue in venues {
            _non_zero(venue)?;
            self.ledger().set_venue(venue, true);
        }
        Ok(())
    }

    /// Whether `change` tightens risk (applies at once). Equal to the current value is not.
    fn _is_tightening(&self, change: &ParamChange) -> bool {
        let value = change.value;
        match change.kind {
            kind::COLLATERAL_WEIGHT => {
                value < U256::from(self.vault().info(change.target).weightBps)
            }
            kind::LIQUIDATION_THRESHOLD | kind::TIMELOCK_DELAY => {
                value > self.governance().param(change.kind)
            }
            kind::LIQUIDATOR_MARGIN => value > self.settlement().param(change.kind),
            kind::MAX_REPORT_AGE | kind::MAX_PRICE_AGE => {
                value < self.governance().param(change.kind)
            }
            kind::QUORUM => value > U256::from(self.keeper_set().quorum()),
            kind::REMOVE_KEEPER
            | kind::REMOVE_VENUE
            | kind::BUMP_RISK_EPOCH
            | kind::DELIST_COLLATERAL => true,
            _ => false,
        }
    }

    /// The kind's own rules: ZeroAddress, ParameterOutOfBounds, AssetNotListed,
    /// AssetAlreadyListed, TooManyCollateralAssets, KeeperAlreadyRegistered,
    /// KeeperNotRegistered, TooManyKeepers, QuorumOutOfRange.
    fn _check_change(&self, change: &ParamChange) -> EngineResult<()> {
        let needs_target = matches!(
            change.kind,
            kind::COLLATERAL_WEIGHT | kind::LIST_COLLATERAL | kind::ADD_KEEPER
                ..=kind::SET_PAUSE_GUARDIAN | kind::DELIST_COLLATERAL
        );
        if needs_target {
            _non_zero(change.target)?;
        }
        check_bounds(change.kind, change.value)?;
        match change.kind {
            kind::COLLATERAL_WEIGHT => self.vault().only_listed(change.target),
            kind::LIST_COLLATERAL => self.vault().check_list(change.target),
            kind::DELIST_COLLATERAL => {
                self.vault().only_listed(change.target)?;
                if change.target == self.settlement().asset() {
                    return Err(E::SettlementAssetFixed { asset: change.target }.into());
                }
                Ok(())
            }
            kind::QUORUM => self.keeper_set().check_quorum(change.value),
            kind::ADD_KEEPER => self.keeper_set().check_add(change.target),
            kind::REMOVE_KEEPER => self.keeper_set().check_remove(change.target),
            _ => Ok(()),
        }
    }

    /// Applies a checked change; ChangeApplied, then RiskEpochBumped for the kinds that bump.
    fn _apply_change(&mut self, change: &ParamChange, id: B256) -> EngineResult<()> {
        let (target, value) = (change.target, change.value);
        // Bounds were checked: every narrowing below is exact.
        let small = value.as_limbs()[0];
        match change.kind {
            kind::COLLATERAL_WEIGHT => self.vault().set_weight(target, small as u16),
            kind::LIST_COLLATERAL => self.vault().list(target, small as u8, 0),
            kind::LIQUIDATION_THRESHOLD..=kind::TIMELOCK_DELAY => {
                self.governance().set_param(change.kind, value)
            }
            kind::QUORUM => self.keeper_set().set_quorum(small as usize),
            kind::ADD_KEEPER => self.keeper_set().add(target),
            kind::REMOVE_KEEPER => self.keeper_set().remove(target),
            kind::ADD_VENUE => self.ledger().set_venue(target, true),
            kind::REMOVE_VENUE => self.ledger().set_venue(target, false),
            kind::SET_ADMIN..=kind::SET_PAUSE_GUARDIAN => {
                self.governance().set_role(change.kind, target)
            }
            kind::SEIZURE_DISCOUNT..=kind::LIQUIDATOR_MARGIN => {
                self.settlement().set_param(change.kind, value)
            }
            kind::DELIST_COLLATERAL => self.vault().delist(target),
            _ => {}
        }
        crate::words::emit(
            self.vm(),
            Ev::ChangeApplied { changeId: id, kind: change.kind, target, value },
        );
        if bumps_epoch(change.kind) {
            let epoch = self.governance().bump_epoch()?;
            crate::words::emit(self.vm(), Ev::RiskEpochBumped { riskEpoch: epoch });
        }
        Ok(())
    }

    pub(crate) fn _propose_change(&mut self, change: &ParamChange) -> EngineResult<(B256, bool)> {
        if change.kind > kind::LAST {
            return Err(E::UnknownChangeKind { kind: change.kind }.into());
        }
        let caller = self.vm().msg_sender();
        // The admin replaces the council at once: a rogue council cannot cancel its removal.
        let at_once = change.kind == kind::SET_RISK_COUNCIL || self._is_tightening(change);
        if at_once && change.kind != kind::SET_RISK_COUNCIL {
            self.governance().only_council_or_admin(caller)?;
        } else {
            self.governance().only_admin(caller)?;
        }
        self._check_change(change)?;
        let now = self.vm().block_timestamp();
        if at_once {
            let id = change_id(change.kind, change.target, change.value, now);
            self._apply_change(change, id)?;
            return Ok((id, true));
        }
        let delay = u64::from(self.governance().params().timelockDelay);
        let eta = now.checked_add(delay).ok_or_else(overflow)?;
        let id = change_id(change.kind, change.target, change.value, eta);
        self.governance().enqueue(id, change.kind, eta)?;
        crate::words::emit(
            self.vm(),
            Ev::ChangeQueued {
                changeId: id,
                kind: change.kind,
                target: change.target,
                value: change.value,
                eta,
            },
        );
        Ok((id, false))
    }

    pub(crate) fn _execute_change(&mut self, change: &ParamChange, eta: u64) -> EngineResult<()> {
        let id = change_id(change.kind, change.target, change.value, eta);
        if self.governance().queued_eta(id) == 0 {
            return Err(E::ChangeNotQueued { changeId: id }.into());
        }
        let now = self.vm().block_timestamp();
        if now < eta {
            return Err(E::TimelockNotElapsed { changeId: id, eta }.into());
        }
        if now > eta.saturating_add(GRACE_PERIOD) {
            return Err(E::ChangeExpired { changeId: id, eta }.into());
        }
        self._check_change(change)?;
        self.governance().dequeue(id)?;
        self._apply_change(change, id)
    }

    pub(crate) fn _cancel_change(&mut self, id: B256) -> EngineResult<()> {
        let caller = self.vm().msg_sender();
        self.governance().only_council_or_admin(caller)?;
        let queued_kind = self.governance().queued_kind(id);
        if self.governance().queued_eta(id) == 0 {
            return Err(E::ChangeNotQueued { changeId: id }.into());
        }
        // Only the admin cancels a role change (the council cannot keep itself or block a new
        // admin or guardian).
        if matches!(queued_kind, kind::SET_ADMIN | kind::SET_PAUSE_GUARDIAN) {
            self.governance().only_admin(caller)?;
        }
        self.governance().dequeue(id)?;
        crate::words::emit(self.vm(), Ev::ChangeCancelled { changeId: id });
        Ok(())
    }

    pub(crate) fn _list_instrument(&mut self, id: B256, spec: Bytes) -> EngineResult<()> {
        self.governance().only_admin(self.vm().msg_sender())?;
        self.ledger().list(id)?;
        crate::words::emit(
            self.vm(),
            Ev::InstrumentListed { instrumentId: id, spec: spec.0.into() },
        );
        Ok(())
    }

    pub(crate) fn _set_paused(&mut self, paused: bool) -> EngineResult<()> {
        let by = self.vm().msg_sender();
        if paused {
            self.governance().only_guardian_or_admin(by)?;
            self.governance().set_paused(true);
            crate::words::emit(self.vm(), Ev::EnginePausedBy { by });
        } else {
            self.governance().only_admin(by)?;
            self.governance().set_paused(false);
            crate::words::emit(self.vm(), Ev::EngineUnpausedBy { by });
        }
        Ok(())
    }
}

/// ZeroAddress if `address` is zero.
fn _non_zero(address: Address) -> EngineResult<()> {
    if address.is_zero() {
        return Err(E::ZeroAddress {}.into());
    }
    Ok(())
}
