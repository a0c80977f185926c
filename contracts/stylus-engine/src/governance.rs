//! Governance state: roles, pause flag, risk epoch, scalar risk parameters with their hard
//! bounds, and the timelock queue of loosening changes.
//!
//! Which change is tightening, and the rules that involve other modules (keepers, assets,
//! venues), are decided by the engine (`engine.rs`), which owns all modules.

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::{keccak256, uint, Address, B256, U256};
use stylus_sdk::host::VM;

use crate::abi::RiskParams;
use crate::errors::{overflow, EngineResult};
use crate::store::{self, slot, tag};

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
    pub const SEIZURE_DISCOUNT: u8 = 17;
    pub const INSURANCE_SHARE: u8 = 18;
    pub const LIQUIDATOR_MARGIN: u8 = 19;
    pub const DELIST_COLLATERAL: u8 = 20;
    pub const LAST: u8 = DELIST_COLLATERAL;
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
        kind::BUMP_RISK_EPOCH | kind::DELIST_COLLATERAL => b(0, 0),
        kind::SEIZURE_DISCOUNT => b(0, 2_000),
        kind::INSURANCE_SHARE => b(0, 10_000),
        kind::LIQUIDATOR_MARGIN => b(100, 10_000),
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

/// Roles, pause flag, risk epoch, parameters (slots 0-4) and the timelock queue (map
/// [`tag::QUEUE`]: kind `[23]`, eta `[24..32]`).
pub struct Governance<'a>(pub &'a VM);

const STATE: u64 = 3;
const PARAMS: u64 = 4;

/// Byte range `(at, len)` of scalar parameter `kind` (2..=7) in the parameters word.
fn param_field(kind: u8) -> (usize, usize) {
    match kind {
        kind::LIQUIDATION_THRESHOLD => (0, 2),
        kind::LIQUIDATION_PENALTY => (2, 2),
        kind::MAX_REPORT_AGE => (4, 4),
        kind::MAX_PRICE_AGE => (8, 4),
        kind::TIMELOCK_DELAY => (12, 4),
        _ => (16, 16),
    }
}

impl Governance<'_> {
    fn role(&self, n: u64) -> Address {
        store::address(&store::load(self.0, slot(n)))
    }

    /// (admin, risk council, pause guardian).
    pub fn roles(&self) -> (Address, Address, Address) {
        (self.role(0), self.role(1), self.role(2))
    }

    /// NotAdmin unless `caller` is the admin.
    pub fn only_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.role(0) {
            return Err(E::NotAdmin { caller }.into());
        }
        Ok(())
    }

    /// NotRiskCouncilOrAdmin unless `caller` is the risk council or the admin.
    pub fn only_council_or_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.role(1) && caller != self.role(0) {
            return Err(E::NotRiskCouncilOrAdmin { caller }.into());
        }
        Ok(())
    }

    /// NotPauseGuardianOrAdmin unless `caller` is the pause guardian or the admin.
    pub fn only_guardian_or_admin(&self, caller: Address) -> EngineResult<()> {
        if caller != self.role(2) && caller != self.role(0) {
            return Err(E::NotPauseGuardianOrAdmin { caller }.into());
        }
        Ok(())
    }

    /// Sets a role holder: kind 13, 14 or 15 (slots 0, 1, 2).
    pub fn set_role(&mut self, kind: u8, holder: Address) {
        let n = u64::from(kind.saturating_sub(kind::SET_ADMIN));
        store::save(self.0, slot(n), store::address_word(holder));
    }

    /// Whether the engine is paused.
    pub fn paused(&self) -> bool {
        store::field(self.0, slot(STATE), 31, 1) != 0
    }

    /// EnginePaused if paused.
    pub fn when_not_paused(&self) -> EngineResult<()> {
        if self.paused() {
            return Err(E::EnginePaused {}.into());
        }
        Ok(())
    }

    /// Sets the pause flag.
    pub fn set_paused(&mut self, paused: bool) {
        store::set_field(self.0, slot(STATE), 31, 1, u128::from(paused));
    }

    /// The current risk epoch.
    pub fn risk_epoch(&self) -> u32 {
        store::field(self.0, slot(STATE), 27, 4) as u32 // a 4-byte field
    }

    /// Increments the risk epoch; returns the new one.
    pub fn bump_epoch(&mut self) -> EngineResult<u32> {
        let next = self.risk_epoch().checked_add(1).ok_or_else(overflow)?;
        store::set_field(self.0, slot(STATE), 27, 4, u128::from(next));
        Ok(next)
    }

    /// The scalar risk parameters.
    pub fn params(&self) -> RiskParams {
        let w = store::load(self.0, slot(PARAMS));
        // Each field is read with its own width: the casts are exact.
        RiskParams {
            liquidationThresholdBps: store::get(&w, 0, 2) as u16,
            liquidationPenaltyBps: store::get(&w, 2, 2) as u16,
            maxReportAgeBlocks: store::get(&w, 4, 4) as u32,
            maxPriceAgeBlocks: store::get(&w, 8, 4) as u32,
            timelockDelay: store::get(&w, 12, 4) as u32,
            liquidationNotionalCapPerBlock: store::get(&w, 16, 16),
        }
    }

    /// The current value of scalar parameter `kind` (2..=7).
    pub fn param(&self, kind: u8) -> U256 {
        let (at, len) = param_field(kind);
        U256::from(store::field(self.0, slot(PARAMS), at, len))
    }

    /// Sets scalar parameter `kind` (2..=7) to `value` (within bounds: checked by the caller,
    /// so it fits the field).
    pub fn set_param(&mut self, kind: u8, value: U256) {
        let (at, len) = param_field(kind);
        let l = value.as_limbs();
        store::set_field(self.0, slot(PARAMS), at, len, u128::from(l[1]) << 64 | u128::from(l[0]));
    }

    /// Initial roles (constructor).
    pub fn init_roles(&mut self, admin: Address, council: Address, guardian: Address) {
        for (n, holder) in [admin, council, guardian].into_iter().enumerate() {
            store::save(self.0, slot(n as u64), store::address_word(holder));
        }
    }

    fn queue_slot(id: B256) -> U256 {
        store::map_slot(tag::QUEUE, &id.0, &[0; 32])
    }

    /// The eta of a queued change (0 if none).
    pub fn queued_eta(&self, id: B256) -> u64 {
        store::field(self.0, Self::queue_slot(id), 24, 8) as u64 // an 8-byte field
    }

    /// The kind of a queued change (0 if none).
    pub fn queued_kind(&self, id: B256) -> u8 {
        store::field(self.0, Self::queue_slot(id), 23, 1) as u8 // a 1-byte field
    }

    /// Queues `id` of `kind` at `eta` (ChangeAlreadyQueued if present).
    pub fn enqueue(&mut self, id: B256, kind: u8, eta: u64) -> EngineResult<()> {
        if self.queued_eta(id) != 0 {
            return Err(E::ChangeAlreadyQueued { changeId: id }.into());
        }
        let mut w = [0u8; 32];
        store::put(&mut w, 23, 1, u128::from(kind));
        store::put(&mut w, 24, 8, u128::from(eta));
        store::save(self.0, Self::queue_slot(id), w);
        Ok(())
    }

    /// Removes a queued change (ChangeNotQueued if absent).
    pub fn dequeue(&mut self, id: B256) -> EngineResult<u64> {
        let eta = self.queued_eta(id);
        if eta == 0 {
            return Err(E::ChangeNotQueued { changeId: id }.into());
        }
        store::save(self.0, Self::queue_slot(id), [0; 32]);
        Ok(eta)
    }
}
