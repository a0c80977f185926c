//! Market data sources: what every keeper sees for a block, as a pure function of the block
//! number, so independent keepers agree bit for bit.
//!
//! Two sources, both in the offchain-risk [`MarketSnapshot`] JSON format:
//! - [`ReplaySource`]: recorded snapshots, one per block from `start_block` on (the last one
//!   holds after the recording ends);
//! - [`SimulatedSource`]: one base snapshot whose clock advances `seconds_per_block` per block,
//!   with scripted shocks (spot and implied-vol multipliers per underlying from a block on).

use std::path::Path;

use offchain_risk::market::MarketSnapshot;
use serde::{Deserialize, Serialize};

use crate::error::{KeeperError, Result};

/// Where market data comes from.
pub trait MarketSource: Send + Sync {
    /// The snapshot every keeper uses for `block`.
    fn snapshot_at(&self, block: u64) -> Result<MarketSnapshot>;
}

fn config_error(field: &'static str, reason: impl Into<String>) -> KeeperError {
    KeeperError::Config { field, reason: reason.into() }
}

/// Recorded snapshots replayed block by block.
#[derive(Debug, Clone)]
pub struct ReplaySource {
    /// Block of the first snapshot.
    pub start_block: u64,
    /// Snapshots in order.
    pub snapshots: Vec<MarketSnapshot>,
}

impl ReplaySource {
    /// Reads a JSON array of snapshots (or a single snapshot) from `path`.
    pub fn from_file(path: &Path, start_block: u64) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error("market.replay_file", format!("{}: {e}", path.display())))?;
        let snapshots: Vec<MarketSnapshot> = match serde_json::from_str(&text) {
            Ok(list) => list,
            Err(_) => vec![serde_json::from_str(&text).map_err(|e| {
                config_error(
                    "market.replay_file",
                    format!("{}: not a MarketSnapshot or a list of them: {e}", path.display()),
                )
            })?],
        };
        Self::new(start_block, snapshots)
    }

    /// A replay of `snapshots` from `start_block`; every snapshot is validated.
    pub fn new(start_block: u64, snapshots: Vec<MarketSnapshot>) -> Result<Self> {
        if snapshots.is_empty() {
            return Err(config_error("market.replay_file", "holds no snapshot"));
        }
        for s in &snapshots {
            s.validate().map_err(|e| config_error("market.replay_file", e.to_string()))?;
        }
        Ok(Self { start_block, snapshots })
    }
}

impl MarketSource for ReplaySource {
    fn snapshot_at(&self, block: u64) -> Result<MarketSnapshot> {
        let index = block.saturating_sub(self.start_block) as usize;
        Ok(self.snapshots[index.min(self.snapshots.len() - 1)].clone())
    }
}

/// A scripted market move: from `at_block` on, `underlying`'s spot (and forwards, perpetual mark)
/// is multiplied by `spot_factor` and its implied volatilities by `vol_factor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    /// First block the shock applies to.
    pub at_block: u64,
    /// Underlying symbol, e.g. `ETH`.
    pub underlying: String,
    /// Spot multiplier (0.75 = -25%).
    #[serde(default = "one")]
    pub spot_factor: f64,
    /// Implied-vol multiplier (1.5 = +50%).
    #[serde(default = "one")]
    pub vol_factor: f64,
}

fn one() -> f64 {
    1.0
}

/// A base snapshot moved by scripted shocks, its clock advancing with the blocks.
#[derive(Debug)]
pub struct SimulatedSource {
    /// The market at `start_block`.
    pub base: MarketSnapshot,
    /// Block at which `base` holds.
    pub start_block: u64,
    /// Seconds of market time per block (0 freezes the clock).
    pub seconds_per_block: u64,
    /// Shocks, cumulative (two shocks on one underlying multiply). Behind a lock so a scripted
    /// story can add one while keepers run (every keeper of the process shares the source).
    shocks: std::sync::RwLock<Vec<Shock>>,
}

impl SimulatedSource {
    /// Checks the base snapshot and the shocks.
    pub fn new(
        base: MarketSnapshot,
        start_block: u64,
        seconds_per_block: u64,
        shocks: Vec<Shock>,
    ) -> Result<Self> {
        base.validate().map_err(|e| config_error("market.base_file", e.to_string()))?;
        for s in &shocks {
            if !(s.spot_factor.is_finite() && s.spot_factor > 0.0) {
                return Err(config_error("market.shocks.spot_factor", "must be finite and > 0"));
            }
            if !(s.vol_factor.is_finite() && s.vol_factor > 0.0) {
                return Err(config_error("market.shocks.vol_factor", "must be finite and > 0"));
            }
            if !base.underlyings.contains_key(&s.underlying) {
                return Err(config_error(
                    "market.shocks.underlying",
                    format!("{} is not in the base snapshot", s.underlying),
                ));
            }
        }
        Ok(Self { base, start_block, seconds_per_block, shocks: std::sync::RwLock::new(shocks) })
    }

    /// Schedules another shock (for blocks not yet computed, or keepers will disagree).
    pub fn push_shock(&self, shock: Shock) {
        self.shocks.write().unwrap_or_else(|p| p.into_inner()).push(shock);
    }
}

impl MarketSource for SimulatedSource {
    fn snapshot_at(&self, block: u64) -> Result<MarketSnapshot> {
        let mut snapshot = self.base.clone();
        let elapsed = block.saturating_sub(self.start_block);
        snapshot.timestamp_ms += (elapsed * self.seconds_per_block * 1000) as i64;
        let shocks = self.shocks.read().unwrap_or_else(|p| p.into_inner());
        for shock in shocks.iter().filter(|s| block >= s.at_block) {
            let Some(market) = snapshot.underlyings.get_mut(&shock.underlying) else { continue };
            let k = shock.spot_factor;
            market.spot *= k;
            for quote in &mut market.forwards {
                quote.forward *= k;
            }
            if let Some(mark) = market.perpetual_mark.as_mut() {
                *mark *= k;
            }
            if let Some(surface) = market.surface.as_mut() {
                // Total variance scales with vol squared; SVI's a and b scale it exactly.
                let v = shock.vol_factor * shock.vol_factor;
                for slice in &mut surface.slices {
                    slice.forward *= k;
                    slice.params.a *= v;
                    slice.params.b *= v;
                }
            }
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> MarketSnapshot {
        serde_json::from_str(include_str!("../../offchain-risk/fixtures/market.json")).unwrap()
    }

    #[test]
    fn shocks_apply_from_their_block_and_move_spot_and_vol() {
        let source = SimulatedSource::new(
            base(),
            10,
            12,
            vec![Shock {
                at_block: 20,
                underlying: "BTC".into(),
                spot_factor: 0.75,
                vol_factor: 1.5,
            }],
        )
        .unwrap();
        let before = source.snapshot_at(19).unwrap();
        let after = source.snapshot_at(20).unwrap();
        assert_eq!(before.timestamp_ms, base().timestamp_ms + 9 * 12_000);
        let (b, a) = (&before.underlyings["BTC"], &after.underlyings["BTC"]);
        assert!((a.spot / b.spot - 0.75).abs() < 1e-12);
        let vol = |m: &offchain_risk::market::UnderlyingMarket| {
            m.surface.as_ref().unwrap().vol(0.0, 0.5).unwrap()
        };
        assert!((vol(a) / vol(b) - 1.5).abs() < 1e-9);
        assert_eq!(source.snapshot_at(20).unwrap(), after, "a pure function of the block");
    }

    #[test]
    fn replay_holds_the_last_snapshot() {
        let mut second = base();
        second.timestamp_ms += 1000;
        let replay = ReplaySource::new(5, vec![base(), second.clone()]).unwrap();
        assert_eq!(replay.snapshot_at(0).unwrap(), base());
        assert_eq!(replay.snapshot_at(6).unwrap(), second);
        assert_eq!(replay.snapshot_at(600).unwrap(), second);
    }
}
