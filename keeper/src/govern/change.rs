//! The governance changes the CLI builds, their hard bounds and direction (the table in
//! `solidity-interfaces/IMarginEngine.sol`), checked against the engine's current state before
//! anything is signed. Errors name the flag the value came from and say how to fix it.

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue};
use margin_types::abi::{CollateralInfo, IMarginEngine, ParamChange, RiskParams};
use serde::{Deserialize, Serialize};

use crate::{
    chain::Chain,
    error::{KeeperError, Result},
};

/// `ParamChange.kind` of a collateral weight.
pub const K_COLLATERAL_WEIGHT: u8 = 0;
/// `ParamChange.kind` of the liquidation threshold.
pub const K_LIQUIDATION_THRESHOLD: u8 = 2;
/// `ParamChange.kind` of the quorum.
pub const K_QUORUM: u8 = 8;
/// `ParamChange.kind` of adding a keeper.
pub const K_ADD_KEEPER: u8 = 9;
/// `ParamChange.kind` of removing a keeper.
pub const K_REMOVE_KEEPER: u8 = 10;
/// Most keepers the engine registers.
pub const MAX_KEEPERS: usize = 32;

/// A scalar risk parameter (`RiskParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RiskParam {
    /// Kind 2, bps in [10,000, 20,000]; higher is tightening.
    LiquidationThresholdBps,
    /// Kind 3, bps in [0, 1,500]; always queued.
    LiquidationPenaltyBps,
    /// Kind 4, blocks in [1, 100,000]; lower is tightening.
    MaxReportAgeBlocks,
    /// Kind 5, blocks in [1, 100,000]; lower is tightening.
    MaxPriceAgeBlocks,
    /// Kind 6, USD 18 decimals in [1e18, 1e30]; always queued.
    LiquidationNotionalCap,
    /// Kind 7, seconds in [60, 2,592,000]; higher is tightening.
    TimelockDelaySeconds,
}

impl RiskParam {
    /// Its `ParamChange.kind`.
    pub fn kind(self) -> u8 {
        match self {
            Self::LiquidationThresholdBps => 2,
            Self::LiquidationPenaltyBps => 3,
            Self::MaxReportAgeBlocks => 4,
            Self::MaxPriceAgeBlocks => 5,
            Self::LiquidationNotionalCap => 6,
            Self::TimelockDelaySeconds => 7,
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::LiquidationThresholdBps => "liquidation-threshold-bps",
            Self::LiquidationPenaltyBps => "liquidation-penalty-bps",
            Self::MaxReportAgeBlocks => "max-report-age-blocks",
            Self::MaxPriceAgeBlocks => "max-price-age-blocks",
            Self::LiquidationNotionalCap => "liquidation-notional-cap",
            Self::TimelockDelaySeconds => "timelock-delay-seconds",
        }
    }

    /// Hard bounds (inclusive).
    pub fn bounds(self) -> (U256, U256) {
        let u = U256::from;
        match self {
            Self::LiquidationThresholdBps => (u(10_000u64), u(20_000u64)),
            Self::LiquidationPenaltyBps => (u(0u64), u(1_500u64)),
            Self::MaxReportAgeBlocks | Self::MaxPriceAgeBlocks => (u(1u64), u(100_000u64)),
            Self::LiquidationNotionalCap => (u(10u64).pow(u(18u64)), u(10u64).pow(u(30u64))),
            Self::TimelockDelaySeconds => (u(60u64), u(2_592_000u64)),
        }
    }

    /// The current value.
    pub fn current(self, p: &RiskParams) -> U256 {
        match self {
            Self::LiquidationThresholdBps => U256::from(p.liquidationThresholdBps),
            Self::LiquidationPenaltyBps => U256::from(p.liquidationPenaltyBps),
            Self::MaxReportAgeBlocks => U256::from(p.maxReportAgeBlocks),
            Self::MaxPriceAgeBlocks => U256::from(p.maxPriceAgeBlocks),
            Self::LiquidationNotionalCap => U256::from(p.liquidationNotionalCapPerBlock),
            Self::TimelockDelaySeconds => U256::from(p.timelockDelay),
        }
    }

    /// Whether moving from `current` to `new` is tightening (applies at once).
    pub fn tightening(self, current: U256, new: U256) -> bool {
        match self {
            Self::LiquidationThresholdBps | Self::TimelockDelaySeconds => new > current,
            Self::MaxReportAgeBlocks | Self::MaxPriceAgeBlocks => new < current,
            Self::LiquidationPenaltyBps | Self::LiquidationNotionalCap => false,
        }
    }
}

/// One governance change, as the CLI's flags give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Change {
    /// Kind 0: `asset`'s collateral weight.
    Weight {
        /// A listed collateral asset (`--asset`).
        asset: Address,
        /// The new weight (`--weight-bps`).
        weight_bps: u64,
    },
    /// Kinds 2..=7: a scalar risk parameter.
    RiskParam {
        /// Which (`--param`).
        param: RiskParam,
        /// The new value (`--value`).
        value: U256,
    },
    /// Kind 9: register a keeper (`--keeper`).
    AddKeeper {
        /// The keeper.
        keeper: Address,
    },
    /// Kind 10: deregister a keeper (`--keeper`).
    RemoveKeeper {
        /// The keeper.
        keeper: Address,
    },
    /// Kind 8: signatures per batch (`--quorum`).
    Quorum {
        /// The new quorum.
        quorum: u64,
    },
}

/// Whether a proposed change applies at once or waits for the timelock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Tightening: applied when the Safe's `proposeChange` executes.
    AtOnce,
    /// Loosening (or always-queued): queued behind `timelockDelay` seconds.
    Queued {
        /// The engine's timelock delay.
        delay: u32,
    },
}

/// What the CLI reads from the engine before building anything.
#[derive(Debug, Clone)]
pub struct EngineState {
    /// Registered keepers.
    pub keepers: Vec<Address>,
    /// Signatures per batch.
    pub quorum: u8,
    /// Scalar risk parameters.
    pub params: RiskParams,
    /// Listed collateral, in listing order.
    pub assets: Vec<(Address, CollateralInfo)>,
    /// The admin (the governance Safe).
    pub admin: Address,
    /// The risk council.
    pub risk_council: Address,
    /// The current risk epoch.
    pub risk_epoch: u32,
}

fn decode<C: SolCall>(out: &[u8]) -> Result<C::Return> {
    C::abi_decode_returns(out).map_err(|e| KeeperError::Rpc(format!("{}: {e}", C::SIGNATURE)))
}

/// Calls an engine view.
pub async fn view<C: SolCall>(chain: &Chain, call: C) -> Result<C::Return> {
    decode::<C>(&chain.call(call.abi_encode()).await?)
}

impl EngineState {
    /// Reads the engine's governance state.
    pub async fn read(chain: &Chain) -> Result<Self> {
        let keepers = view(chain, IMarginEngine::keepersCall {}).await?;
        let quorum = view(chain, IMarginEngine::quorumCall {}).await?;
        let params = view(chain, IMarginEngine::riskParamsCall {}).await?;
        let roles = view(chain, IMarginEngine::rolesCall {}).await?;
        let risk_epoch = view(chain, IMarginEngine::riskEpochCall {}).await?;
        let mut assets = Vec::new();
        for asset in view(chain, IMarginEngine::collateralAssetsCall {}).await? {
            assets.push((asset, view(chain, IMarginEngine::collateralInfoCall { asset }).await?));
        }
        Ok(Self {
            keepers,
            quorum,
            params,
            assets,
            admin: roles.admin,
            risk_council: roles.riskCouncil,
            risk_epoch,
        })
    }

    /// A listed asset's info.
    pub fn asset(&self, asset: Address) -> Option<&CollateralInfo> {
        self.assets.iter().find(|(a, _)| *a == asset).map(|(_, info)| info)
    }
}

fn flag(flag: &'static str, value: impl ToString, reason: impl Into<String>) -> KeeperError {
    KeeperError::Flag { flag, value: value.to_string(), reason: reason.into() }
}

fn list(addresses: impl IntoIterator<Item = Address>) -> String {
    addresses.into_iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

fn bps(x: impl Into<f64>) -> String {
    format!("{:.2}%", x.into() / 100.0)
}

impl Change {
    /// The engine's `ParamChange`.
    pub fn param_change(&self) -> ParamChange {
        let (kind, target, value) = match self {
            Self::Weight { asset, weight_bps } => {
                (K_COLLATERAL_WEIGHT, *asset, U256::from(*weight_bps))
            }
            Self::RiskParam { param, value } => (param.kind(), Address::ZERO, *value),
            Self::AddKeeper { keeper } => (K_ADD_KEEPER, *keeper, U256::ZERO),
            Self::RemoveKeeper { keeper } => (K_REMOVE_KEEPER, *keeper, U256::ZERO),
            Self::Quorum { quorum } => (K_QUORUM, Address::ZERO, U256::from(*quorum)),
        };
        ParamChange { kind, target, value }
    }

    /// The engine's change id for this change queued with `eta`:
    /// `keccak256(abi.encode(kind, target, value, eta))`.
    pub fn change_id(&self, eta: u64) -> B256 {
        let c = self.param_change();
        keccak256((U256::from(c.kind), c.target, c.value, U256::from(eta)).abi_encode())
    }

    /// A one-line description with the current value.
    pub fn describe(&self, state: &EngineState) -> String {
        match self {
            Self::Weight { asset, weight_bps } => {
                let now = state.asset(*asset).map(|i| bps(i.weightBps)).unwrap_or("?".into());
                format!("collateral weight of {asset}: {now} -> {}", bps(*weight_bps as f64))
            }
            Self::RiskParam { param, value } => format!(
                "risk parameter {}: {} -> {value}",
                param.name(),
                param.current(&state.params)
            ),
            Self::AddKeeper { keeper } => {
                format!(
                    "add keeper {keeper} ({} -> {} keepers)",
                    state.keepers.len(),
                    state.keepers.len() + 1
                )
            }
            Self::RemoveKeeper { keeper } => format!(
                "remove keeper {keeper} ({} -> {} keepers, quorum {})",
                state.keepers.len(),
                state.keepers.len().saturating_sub(1),
                state.quorum
            ),
            Self::Quorum { quorum } => {
                format!("quorum: {} -> {quorum} of {} keepers", state.quorum, state.keepers.len())
            }
        }
    }

    /// Checks the change's hard bounds and preconditions against `state` (the engine checks them
    /// again) and says whether it applies at once or is queued.
    pub fn check(&self, state: &EngineState) -> Result<Direction> {
        let queued = Direction::Queued { delay: state.params.timelockDelay };
        match self {
            Self::Weight { asset, weight_bps } => {
                let Some(info) = state.asset(*asset) else {
                    return Err(flag(
                        "--asset",
                        asset,
                        format!(
                            "not a listed collateral asset (listed: {}); pass one of those",
                            list(state.assets.iter().map(|(a, _)| *a))
                        ),
                    ));
                };
                if *weight_bps > 10_000 {
                    return Err(flag(
                        "--weight-bps",
                        weight_bps,
                        "above the hard bound 10000 (100%); pass a weight in [0, 10000]",
                    ));
                }
                let current = u64::from(info.weightBps);
                if *weight_bps == current {
                    return Err(flag(
                        "--weight-bps",
                        weight_bps,
                        "equal to the current weight: nothing to change",
                    ));
                }
                Ok(if *weight_bps < current { Direction::AtOnce } else { queued })
            }
            Self::RiskParam { param, value } => {
                let (min, max) = param.bounds();
                if *value < min {
                    return Err(flag(
                        "--value",
                        value,
                        format!(
                            "below the hard bound {min} of {}; pass a value in [{min}, {max}]",
                            param.name()
                        ),
                    ));
                }
                if *value > max {
                    return Err(flag(
                        "--value",
                        value,
                        format!(
                            "above the hard bound {max} of {}; pass a value in [{min}, {max}]",
                            param.name()
                        ),
                    ));
                }
                let current = param.current(&state.params);
                if *value == current {
                    return Err(flag(
                        "--value",
                        value,
                        format!("equal to the current {}: nothing to change", param.name()),
                    ));
                }
                Ok(if param.tightening(current, *value) { Direction::AtOnce } else { queued })
            }
            Self::AddKeeper { keeper } => {
                if keeper.is_zero() {
                    return Err(flag(
                        "--keeper",
                        keeper,
                        "the zero address; pass the keeper's address",
                    ));
                }
                if state.keepers.contains(keeper) {
                    return Err(flag("--keeper", keeper, "already a registered keeper"));
                }
                if state.keepers.len() >= MAX_KEEPERS {
                    return Err(flag(
                        "--keeper",
                        keeper,
                        format!("the keeper set is full ({MAX_KEEPERS}); remove one first"),
                    ));
                }
                Ok(queued)
            }
            Self::RemoveKeeper { keeper } => {
                if !state.keepers.contains(keeper) {
                    return Err(flag(
                        "--keeper",
                        keeper,
                        format!(
                            "not a registered keeper (keepers: {})",
                            list(state.keepers.iter().copied())
                        ),
                    ));
                }
                let left = state.keepers.len() - 1;
                if left < usize::from(state.quorum) {
                    return Err(flag(
                        "--keeper",
                        keeper,
                        format!(
                            "removing it would leave {left} keepers, below the quorum {}; lower the quorum first",
                            state.quorum
                        ),
                    ));
                }
                Ok(Direction::AtOnce)
            }
            Self::Quorum { quorum } => {
                let keepers = state.keepers.len() as u64;
                if *quorum < 1 {
                    return Err(flag("--quorum", quorum, "below the hard bound 1"));
                }
                if *quorum > keepers {
                    return Err(flag(
                        "--quorum",
                        quorum,
                        format!("above the number of keepers {keepers}; add keepers first"),
                    ));
                }
                let current = u64::from(state.quorum);
                if *quorum == current {
                    return Err(flag(
                        "--quorum",
                        quorum,
                        "equal to the current quorum: nothing to change",
                    ));
                }
                Ok(if *quorum > current { Direction::AtOnce } else { queued })
            }
        }
    }

    /// Whether applying it bumps the risk epoch (voiding every stored report).
    pub fn bumps_epoch(&self, state: &EngineState) -> bool {
        match self {
            Self::RemoveKeeper { .. } => true,
            Self::Quorum { quorum } => *quorum > u64::from(state.quorum),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> EngineState {
        EngineState {
            keepers: vec![
                Address::repeat_byte(1),
                Address::repeat_byte(2),
                Address::repeat_byte(3),
            ],
            quorum: 2,
            params: RiskParams {
                liquidationThresholdBps: 10_000,
                liquidationPenaltyBps: 100,
                maxReportAgeBlocks: 50,
                maxPriceAgeBlocks: 50,
                timelockDelay: 3_600,
                liquidationNotionalCapPerBlock: 10u128.pow(22),
            },
            assets: vec![(
                Address::repeat_byte(9),
                CollateralInfo {
                    listed: true,
                    decimals: 18,
                    weightBps: 9_000,
                    price: 0,
                    priceBlock: Default::default(),
                },
            )],
            admin: Address::repeat_byte(7),
            risk_council: Address::repeat_byte(8),
            risk_epoch: 0,
        }
    }

    #[test]
    fn errors_name_the_flag_and_the_bound() {
        let s = state();
        let weth = Address::repeat_byte(9);
        let e = Change::Weight { asset: weth, weight_bps: 12_000 }.check(&s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--weight-bps 12000: above the hard bound 10000 (100%); pass a weight in [0, 10000]"
        );
        let e = Change::Quorum { quorum: 5 }.check(&s).unwrap_err().to_string();
        assert!(e.starts_with("--quorum 5: above the number of keepers 3"), "{e}");
        let e = Change::RiskParam {
            param: RiskParam::LiquidationThresholdBps,
            value: U256::from(9_000),
        }
        .check(&s)
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--value 9000: below the hard bound 10000"), "{e}");
        let e = Change::Weight { asset: Address::ZERO, weight_bps: 1 }.check(&s).unwrap_err();
        assert!(e.to_string().starts_with("--asset 0x0000"), "{e}");
    }

    #[test]
    fn direction_follows_the_interface_table() {
        let s = state();
        let weth = Address::repeat_byte(9);
        assert_eq!(
            Change::Weight { asset: weth, weight_bps: 8_000 }.check(&s).unwrap(),
            Direction::AtOnce
        );
        assert!(matches!(
            Change::Weight { asset: weth, weight_bps: 9_500 }.check(&s).unwrap(),
            Direction::Queued { delay: 3_600 }
        ));
        assert_eq!(Change::Quorum { quorum: 3 }.check(&s).unwrap(), Direction::AtOnce);
        assert!(matches!(
            Change::Quorum { quorum: 1 }.check(&s).unwrap(),
            Direction::Queued { .. }
        ));
        let penalty =
            Change::RiskParam { param: RiskParam::LiquidationPenaltyBps, value: U256::from(50) };
        assert!(matches!(penalty.check(&s).unwrap(), Direction::Queued { .. }));
        assert_eq!(
            Change::RemoveKeeper { keeper: Address::repeat_byte(1) }.check(&s).unwrap(),
            Direction::AtOnce
        );
    }

    #[test]
    fn change_id_is_the_engines() {
        let c = Change::Quorum { quorum: 1 };
        let mut words = Vec::new();
        for w in [U256::from(8), U256::ZERO, U256::from(1), U256::from(77)] {
            words.extend_from_slice(&w.to_be_bytes::<32>());
        }
        assert_eq!(c.change_id(77), keccak256(words));
    }
}
