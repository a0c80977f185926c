//! Named scenario-grid configurations: a preset name → a whole [`GridConfig`] (scenario rows
//! with their tails and skew rows, vol-shock scaling and floors, vol dynamics, maintenance and
//! initial factors, static discount, per-expiry basis contingency, flat add-ons).
//!
//! - `project-default` ([`GridConfig::pmrm`]): this project's grid, the default everywhere.
//! - `derive-pmrm2`: Derive v2-core's PMRM_2 as deployed.
//! - `derive-pmrm1`: Derive v2-core's PMRM (v1) as deployed.
//! - `cme-span16`: CME SPAN's 16 scenarios at a 15% price and 25% vol scan range.
//!
//! The Derive tables are transcribed from `scripts/config-mainnet.sol` of
//! <https://github.com/derivexyz/v2-core>, snapshot commit
//! `7736900d395703c4f675376caa4c315402943831` (the file last changed in `42a4e48c`), and the
//! method from `src/risk-managers/PMRMLib_2.sol` and `PMRMLib.sol` of the same commit:
//! - scenario P&L = Σ perps, spot and per-expiry option value changes × `dampeningFactor`, each
//!   expiry's shocked option value first multiplied by its static discount;
//! - the margin is `factor · max(worst loss, basis contingency)` plus contingencies;
//! - vol shocks multiply each option's own vol (sticky strike) by `1 + volRangeUp · s` or
//!   `1 − volRangeDown · s`, `s = (30 d / max(T, dteFloor))^p`, `p` = `shortTermPower` up to 30
//!   days and `longTermPower` beyond; PMRM_2 floors vol-up vols at `minVolUpShock`.
//!
//! What is not carried over: the oracle-confidence and stable-peg contingencies (they need feed
//! confidences we do not model), per-asset collateral haircuts (`setCollateralParameters`,
//! governance settings absent from the config: PMRM_2's spot add-on is therefore 0), and PMRM
//! v1's undiscounted option prices (it prices with a discount factor of 1; we use the market
//! rate, 0 in the canonical snapshot). Derive lists no dated futures; here they are charged as
//! perpetuals and join their expiry's basis contingency.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::margin::basis::BasisRisk;
use crate::margin::factors::{VolDynamics, VolTermScaling};
use crate::margin::grid::{
    BasisContingency, FlatAddOns, GridConfig, GridScenario, InitialMarginRule, StaticDiscount,
    WingShock, WingShockParameters,
};

/// A named grid configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GridPreset {
    /// This project's grid ([`GridConfig::pmrm`]).
    #[default]
    ProjectDefault,
    /// Derive v2-core PMRM_2 as deployed.
    DerivePmrm2,
    /// Derive v2-core PMRM v1 as deployed.
    DerivePmrm1,
    /// CME SPAN's 16 scenarios (15% price, 25% vol scan range).
    CmeSpan16,
}

impl GridPreset {
    /// Every preset, in the order tables show them.
    pub const ALL: [GridPreset; 4] =
        [Self::ProjectDefault, Self::DerivePmrm2, Self::DerivePmrm1, Self::CmeSpan16];

    /// The name used by `--preset` and configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::ProjectDefault => "project-default",
            Self::DerivePmrm2 => "derive-pmrm2",
            Self::DerivePmrm1 => "derive-pmrm1",
            Self::CmeSpan16 => "cme-span16",
        }
    }

    /// The whole configuration.
    pub fn config(self) -> GridConfig {
        match self {
            Self::ProjectDefault => GridConfig::pmrm(),
            Self::DerivePmrm2 => derive_pmrm2(),
            Self::DerivePmrm1 => derive_pmrm1(),
            Self::CmeSpan16 => GridConfig::span(0.15, 0.25),
        }
    }

    /// The names, comma-separated (for errors and help).
    pub fn names() -> String {
        Self::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
    }
}

impl FromStr for GridPreset {
    type Err = String;

    /// Accepts the names of [`GridPreset::name`]; the error lists them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| format!("unknown preset {text:?}: use one of {}", Self::names()))
    }
}

/// A vol move of a Derive scenario row (`VolShockDirection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeriveVol {
    /// Vol × `1 + volRangeUp · s`.
    Up,
    /// Vol unchanged.
    None,
    /// Vol × `1 − volRangeDown · s`.
    Down,
    /// PMRM_2 linear skew row.
    Linear,
    /// PMRM_2 abs skew row.
    Abs,
}

/// A Derive scenario row: spot factor (`spotShock`), vol move, `dampeningFactor`.
pub type DeriveScenario = (f64, DeriveVol, f64);

use DeriveVol::{Abs, Down, Linear, None as Flat, Up};

/// `Config.getDefaultPM2Scenarios()`, `scripts/config-mainnet.sol` lines 55-92 at v2-core
/// `7736900d`: 23 core rows, 8 dampened tails (−66% at 0.21, −33% at 0.42, +50% … +500%), and
/// the two skew rows.
pub const DERIVE_PMRM2_SCENARIOS: [DeriveScenario; 33] = [
    (1.18, Up, 1.0),
    (1.135, Up, 1.0),
    (1.135, Flat, 1.0),
    (1.135, Down, 1.0),
    (1.09, Up, 1.0),
    (1.09, Flat, 1.0),
    (1.09, Down, 1.0),
    (1.045, Up, 1.0),
    (1.045, Flat, 1.0),
    (1.045, Down, 1.0),
    (1.0, Up, 1.0),
    (1.0, Flat, 1.0),
    (1.0, Down, 1.0),
    (0.955, Up, 1.0),
    (0.955, Flat, 1.0),
    (0.955, Down, 1.0),
    (0.91, Up, 1.0),
    (0.91, Flat, 1.0),
    (0.91, Down, 1.0),
    (0.865, Up, 1.0),
    (0.865, Flat, 1.0),
    (0.865, Down, 1.0),
    (0.82, Up, 1.0),
    (0.34, Up, 0.21),
    (0.67, Up, 0.42),
    (1.5, Up, 0.2772),
    (2.0, Up, 0.1386),
    (3.0, Up, 0.0693),
    (4.0, Up, 0.0462),
    (5.0, Up, 0.03465),
    (6.0, Up, 0.02772),
    (1.0, Linear, 1.0),
    (1.0, Abs, 1.0),
];

/// `Config.getDefaultScenarios()`, `scripts/config-mainnet.sol` lines 27-53 at v2-core
/// `7736900d`: spot ±5%, ±10%, ±15% and 0 with vol up / unchanged / down, ±20% with vol up.
pub const DERIVE_PMRM1_SCENARIOS: [DeriveScenario; 23] = [
    (1.20, Up, 1.0),
    (1.15, Up, 1.0),
    (1.15, Flat, 1.0),
    (1.15, Down, 1.0),
    (1.10, Up, 1.0),
    (1.10, Flat, 1.0),
    (1.10, Down, 1.0),
    (1.05, Up, 1.0),
    (1.05, Flat, 1.0),
    (1.05, Down, 1.0),
    (1.0, Up, 1.0),
    (1.0, Flat, 1.0),
    (1.0, Down, 1.0),
    (0.95, Up, 1.0),
    (0.95, Flat, 1.0),
    (0.95, Down, 1.0),
    (0.90, Up, 1.0),
    (0.90, Flat, 1.0),
    (0.90, Down, 1.0),
    (0.85, Up, 1.0),
    (0.85, Flat, 1.0),
    (0.85, Down, 1.0),
    (0.80, Up, 1.0),
];

/// Our grid rows for Derive rows, given `volRangeUp` and `volRangeDown`.
pub fn grid_rows(rows: &[DeriveScenario], vol_up: f64, vol_down: f64) -> Vec<GridScenario> {
    rows.iter()
        .map(|&(spot_factor, vol, dampening)| match vol {
            Up => GridScenario::new(spot_factor - 1.0, vol_up, 0.0, dampening),
            Flat => GridScenario::new(spot_factor - 1.0, 0.0, 0.0, dampening),
            Down => GridScenario::new(spot_factor - 1.0, -vol_down, 0.0, dampening),
            Linear => {
                GridScenario { loss_weight: dampening, ..GridScenario::wing(WingShock::Linear) }
            }
            Abs => GridScenario { loss_weight: dampening, ..GridScenario::wing(WingShock::Abs) },
        })
        .collect()
}

impl WingShockParameters {
    /// `skewShockParams` of `Config.getPMRM2Params()` (config-mainnet.sol lines 178-187).
    pub const fn derive_pmrm2() -> Self {
        Self {
            linear_base_cap: 0.25,
            abs_base_cap: 0.25,
            linear_c_base: -0.1,
            abs_c_base: -0.1,
            min_k_star: 0.01,
            width_scale: 4.0,
            vol_param_static: 0.6,
            vol_param_scale: 0.0,
        }
    }
}

/// Derive's 30-day reference and day floor with the given powers (`VolShockParameters`).
fn derive_vol_term(short_power: f64, long_power: f64) -> VolTermScaling {
    VolTermScaling { reference_days: 30.0, short_power, long_power, floor_days: 1.0 }
}

/// Derive v2-core PMRM_2 as deployed: `Config.getPMRM2Params()` (config-mainnet.sol lines
/// 132-188 at `7736900d`) with `getDefaultPM2Scenarios()`.
fn derive_pmrm2() -> GridConfig {
    // volShockParams: volRangeUp 0.5, volRangeDown 0.3, shortTermPower 0.3, longTermPower 0.13,
    // dteFloor 1 day, minVolUpShock 0.4.
    let (vol_up, vol_down) = (0.5, 0.3);
    GridConfig {
        scenarios: grid_rows(&DERIVE_PMRM2_SCENARIOS, vol_up, vol_down),
        vol_term: derive_vol_term(0.3, 0.13),
        // marginParams: imFactor 1, mmFactor 0.8; IM adds IM contingencies to MM's.
        initial_factor: 1.0,
        maintenance_factor: 0.8,
        initial_margin: InitialMarginRule::ScaledLossPlusAddOns,
        short_option_minimum: 0.0,
        // Derive has no basis add-on: its basis risk is the per-expiry contingency below.
        basis: BasisRisk::ZERO,
        vol_dynamics: VolDynamics::StickyStrike,
        min_vol_up: 0.4,
        wing_shock: Some(WingShockParameters::derive_pmrm2()),
        // marginParams: longBaseStaticDiscount 1.05, longRateMultScale 0, longRateAddScale 0.16;
        // shortBaseStaticDiscount 0.95, shortRateMultScale 0, shortRateAddScale 0.16; the
        // negative-value factor capped at 1/discount (PMRMLib_2._addStaticDiscount).
        static_discount: Some(StaticDiscount {
            long_base: 1.05,
            long_rate_mult: 0.0,
            long_rate_add: 0.16,
            short_base: 0.95,
            short_rate_mult: 0.0,
            short_rate_add: 0.16,
            cap_short_at_inverse_discount: true,
        }),
        // basisContParams: scenarioSpotUp 1.045, scenarioSpotDown 0.955, basisContAddFactor 0.5,
        // basisContMultFactor 2.
        basis_contingency: Some(BasisContingency {
            spot_up: 1.045,
            spot_down: 0.955,
            add_factor: 0.5,
            mult_factor: 2.0,
        }),
        // otherContParams: MMPerpPercent 0.03, IMPerpPercent 0.01, MMOptionPercent 0.003,
        // IMOptionPercent 0.002. Spot is collateral, whose haircuts are per-asset governance
        // settings not in the config: 0.
        add_ons: FlatAddOns {
            perpetual: 0.03,
            spot: 0.0,
            naked_short_option: 0.003,
            initial_perpetual: 0.01,
            initial_spot: 0.0,
            initial_naked_short_option: 0.002,
        },
    }
}

/// Derive v2-core PMRM v1 as deployed: `Config.getPMRMParams()` (config-mainnet.sol lines
/// 94-131 at `7736900d`) with `getDefaultScenarios()`.
fn derive_pmrm1() -> GridConfig {
    // volShockParams: volRangeUp 0.6, volRangeDown 0.3, shortTermPower 0.3, longTermPower 0.13,
    // dteFloor 1 day (no vol-up floor in v1).
    let (vol_up, vol_down) = (0.6, 0.3);
    GridConfig {
        scenarios: grid_rows(&DERIVE_PMRM1_SCENARIOS, vol_up, vol_down),
        vol_term: derive_vol_term(0.3, 0.13),
        // marginParams: imFactor 1.25 on (worst loss + static contingency); MM has factor 1.
        initial_factor: 1.25,
        maintenance_factor: 1.0,
        initial_margin: InitialMarginRule::ScaledMaintenance,
        short_option_minimum: 0.0,
        // Derive has no basis add-on: its basis risk is the per-expiry contingency below.
        basis: BasisRisk::ZERO,
        vol_dynamics: VolDynamics::StickyStrike,
        min_vol_up: 0.0,
        wing_shock: None,
        // marginParams: baseStaticDiscount 0.95, rateMultScale 1, rateAddScale 0.12, on positive
        // expiry values only (PMRMLib._applyMTMDiscount).
        static_discount: Some(StaticDiscount {
            long_base: 0.95,
            long_rate_mult: 1.0,
            long_rate_add: 0.12,
            short_base: 1.0,
            short_rate_mult: 0.0,
            short_rate_add: 0.0,
            cap_short_at_inverse_discount: false,
        }),
        // basisContParams: scenarioSpotUp 1.05, scenarioSpotDown 0.95, basisContAddFactor 1,
        // basisContMultFactor 1.2.
        basis_contingency: Some(BasisContingency {
            spot_up: 1.05,
            spot_down: 0.95,
            add_factor: 1.0,
            mult_factor: 1.2,
        }),
        // otherContParams: perpPercent 0.03, basePercent 0.03, optionPercent 0.02, in the static
        // contingency that MM adds and IM scales by imFactor.
        add_ons: FlatAddOns {
            perpetual: 0.03,
            spot: 0.03,
            naked_short_option: 0.02,
            ..FlatAddOns::default()
        },
    }
}
