//! Governance state: roles, pause flag, risk epoch, scalar risk parameters with their hard
//! bounds, and the timelock queue of loosening changes.
//!
//! Which change is tightening, and the rules that involve other modules (keepers, assets,
//! venues), are decided by the engine (`engine.rs`), which owns all modules.

use alloc::vec::Vec;
use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::{keccak256, uint, Address, B256, U256};
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{
    StorageAddress, StorageBool, StorageMap, StorageU128, StorageU16, StorageU32, StorageU64,
};

use crate::abi::RiskParams;
use crate::errors::{overflow, EngineResult};

/// Executable window after a change's eta.
pub const GRACE_PERIOD: u64 = 14 * 24 * 60 * 60;

/// `ParamChange.kind` values.
pub mod kind {
    #![allow(missing_docs)]
    pub const COLLATERAL_WEIGHT: u8 = 0;
    pub const LIST_COLLATERAL: u8 = 1;
    pub const LIQUIDATION_THRESHOLD: u8 = 2;
    pub const LIQUIDATION_PENALTY: u8 = 3;
    pub const MAX_REPORT_AGE: u8 = 4;
    pub const MAX_PRICE_AGE: u8 = 5;
    pub const LIQUIDATION_NOTIONAL_CAP: u8 = 6;
    pub const TIMELOCK_DELAY: u8 = 7;
    pub const QUORUM: u8 = 8;
    pub const ADD_KEEPER: u8 = 9;
    pub const REMOVE_KEEPER: u8 = 10;
    pub const ADD_VENUE: u8 = 11;
    pub const REMOVE_VENUE: u8 = 12;
    pub const SET_ADMIN: u8 = 13;
    pub const SET_RISK_COUNCIL: u8 = 14;
    pub const SET_PAUSE_GUARDIAN: u8 = 15;
    pub const BUMP_RISK_EPOCH: u8 = 16;
    pub const LAST: u8 = BUMP_RISK_EPOCH;
}

/// Hard bounds `[min, max]` of a kind's value, for the kinds that have numeric bounds.
pub fn bounds(kind: u8) -> Option<(U256, U256)> {
    let b = |min: u64, max: u64| Some((U256::from(min), U256::from(max)));
    match kind {
        kind::COLLATERAL_WEIGHT => b(0, 10_000),
        kind::LIST_COLLATERAL => b(0, 36),
        kind::LIQUIDATION_THRESHOLD => b(10_000, 20_000),
        kind::LIQUIDATION_PENALTY => b(0, 1_500),
        kind::MAX_REPORT_AGE | kind::MAX_PRICE_AGE => b(1, 100_000),
        kind::LIQUIDATION_NOTIONAL_CAP => Some((
            uint!(1_000_000_000_000_000_000_U256),
            uint!(1_000_000_000_000_000_000_000_000_000_000_U256),
        )),
        kind::TIMELOCK_DELAY => b(60, 2_592_000),
        kind::BUMP_RISK_EPOCH => b(0, 0),
        _ => None,
    }
}

/// ParameterOutOfBounds unless `value` is within the kind's bounds.
pub fn check_bounds(kind: u8, value: U256) -> EngineResult<()> {
    if let Some((min, max)) = bounds(kind) {
        if value < min || value > max {
            return Err(E::ParameterOutOfBounds { kind, value, min, max }.into());
        }
    }
    Ok(())
}

/// Whether a change of `kind` bumps `riskEpoch` (keepers must recompute or re-attest).
pub fn bumps_epoch(kind: u8) -> bool {
    matches!(kind, kind::QUORUM | kind::REMOVE_KEEPER | kind::BUMP_RISK_EPOCH)
}

/// `keccak256(abi.encode(kind, target, value, eta))`.
pub fn change_id(kind: u8, target: Address, value: U256, eta: u64) -> B256 {
    let mut buf = [0u8; 128];
    buf[31] = kind;
    buf[44..64].copy_from_slice(target.as_slice());
    buf[64..96].copy_from_slice(&value.to_be_bytes::<32>());
    buf[120..128].copy_from_slice(&eta.to_be_bytes());
    keccak256(buf)
}

/// Roles, pause flag, risk epoch, parameters and the timelock queue.
#[storage]
pub struct Governance {
    admin: StorageAddress,
    risk_council: StorageAddress,
    pause_guardian: StorageAddress,
    paused: StorageBool,
    risk_epoch: StorageU32,
    // RiskParams, packed in one slot.
    liquidation_threshold_bps: StorageU16,
    liquidation_penalty_bps: StorageU16,
    max_report_age_blocks: StorageU32,
    max_price_age_blocks: StorageU32,
    timelock_delay: StorageU32,
    liquidation_notional_cap: StorageU128,
    queue: StorageMap<B256, StorageU64>,
}

impl Governance {
    /// (admin, risk council, pause guardian).
    pub fn roles(&self) -> (Address, Address, Address) {
        (self.admin.get(), self.risk_council.get(), self.pause_guardian.get())
    }

    /// NotAdmin unless `caller` is the admin.
    pub fn only_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.admin.get() {
            return Err(E::NotAdmin { caller }.into());
        }
        Ok(())
    }

    /// NotRiskCouncilOrAdmin unless `caller` is the risk council or the admin.
    pub fn only_council_or_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.risk_council.get() && caller != self.admin.get() {
            return Err(E::NotRiskCouncilOrAdmin { caller }.into());
        }
        Ok(())
    }

    /// NotPauseGuardianOrAdmin unless `caller` is the pause guardian or the admin.
    pub fn only_guardian_or_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.pause_guardian.get() && caller != self.admin.get() {
            return Err(E::NotPauseGuardianOrAdmin { caller }.into());
        }
        Ok(())
    }

    /// Sets a role holder: kind 13, 14 or 15.
    pub fn set_role(&mut self, kind: u8, holder: Address) {
        match kind {
            kind::SET_ADMIN => self.admin.set(holder),
            kind::SET_RISK_COUNCIL => self.risk_council.set(holder),
            _ => self.pause_guardian.set(holder),
        }
    }

    /// Whether the engine is paused.
    pub fn paused(&self) -> bool {
        self.paused.get()
    }

    /// EnginePaused if paused.
    pub fn when_not_paused(&self) -> EngineResult<()> {
        if self.paused.get() {
            return Err(E::EnginePaused {}.into());
        }
        Ok(())
    }

    /// Sets the pause flag.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused.set(paused);
    }

    /// The current risk epoch.
    pub fn risk_epoch(&self) -> u32 {
        self.risk_epoch.get().to::<u32>()
    }

    /// Increments the risk epoch; returns the new one.
    pub fn bump_epoch(&mut self) -> EngineResult<u32> {
        let next = self.risk_epoch().checked_add(1).ok_or_else(overflow)?;
        self.risk_epoch.set(U32::from(next));
        Ok(next)
    }

    /// The scalar risk parameters.
    pub fn params(&self) -> RiskParams {
        RiskParams {
            liquidationThresholdBps: self.liquidation_threshold_bps.get().to(),
            liquidationPenaltyBps: self.liquidation_penalty_bps.get().to(),
            maxReportAgeBlocks: self.max_report_age_blocks.get().to(),
            maxPriceAgeBlocks: self.max_price_age_blocks.get().to(),
            timelockDelay: self.timelock_delay.get().to(),
            liquidationNotionalCapPerBlock: self.liquidation_notional_cap.get().to(),
        }
    }

    /// The current value of scalar parameter `kind` (2..=7).
    pub fn param(&self, kind: u8) -> U256 {
        match kind {
            kind::LIQUIDATION_THRESHOLD => U256::from(self.liquidation_threshold_bps.get()),
            kind::LIQUIDATION_PENALTY => U256::from(self.liquidation_penalty_bps.get()),
            kind::MAX_REPORT_AGE => U256::from(self.max_report_age_blocks.get()),
            kind::MAX_PRICE_AGE => U256::from(self.max_price_age_blocks.get()),
            kind::TIMELOCK_DELAY => U256::from(self.timelock_delay.get()),
            _ => U256::from(self.liquidation_notional_cap.get()),
        }
    }

    /// Sets scalar parameter `kind` (2..=7) to `value` (within bounds: checked by the caller,
    /// so the narrowing casts are exact).
    pub fn set_param(&mut self, kind: u8, value: U256) {
        let v = value.as_limbs()[0];
        match kind {
            kind::LIQUIDATION_THRESHOLD => self.liquidation_threshold_bps.set(U16::from(v)),
            kind::LIQUIDATION_PENALTY => self.liquidation_penalty_bps.set(U16::from(v)),
            kind::MAX_REPORT_AGE => self.max_report_age_blocks.set(U32::from(v)),
            kind::MAX_PRICE_AGE => self.max_price_age_blocks.set(U32::from(v)),
            kind::TIMELOCK_DELAY => self.timelock_delay.set(U32::from(v)),
            _ => self.liquidation_notional_cap.set(U128::from(value)),
        }
    }

    /// Initial roles (constructor).
    pub fn init_roles(&mut self, admin: Address, council: Address, guardian: Address) {
        self.admin.set(admin);
        self.risk_council.set(council);
        self.pause_guardian.set(guardian);
    }

    /// The eta of a queued change (0 if none).
    pub fn queued_eta(&self, id: B256) -> u64 {
        self.queue.get(id).to::<u64>()
    }

    /// Queues `id` at `eta` (ChangeAlreadyQueued if present).
    pub fn enqueue(&mut self, id: B256, eta: u64) -> EngineResult<()> {
        if self.queued_eta(id) != 0 {
            return Err(E::ChangeAlreadyQueued { changeId: id }.into());
        }
        self.queue.insert(id, U64::from(eta));
        Ok(())
    }

    /// Removes a queued change (ChangeNotQueued if absent).
    pub fn dequeue(&mut self, id: B256) -> EngineResult<u64> {
        let eta = self.queued_eta(id);
        if eta == 0 {
            return Err(E::ChangeNotQueued { changeId: id }.into());
        }
        self.queue.delete(id);
        Ok(eta)
    }
}

use stylus_sdk::alloy_primitives::aliases::{U128, U16, U32, U64};
