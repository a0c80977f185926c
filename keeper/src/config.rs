//! The keeper daemon's TOML configuration. Every field not marked required has the default
//! written next to it; `keeper/keeper.example.toml` is a complete, commented example.
//!
//! ```toml
//! name = "keeper-0"                 # required: name in logs and metrics
//! private_key_env = "KEEPER_KEY"    # env var holding the hex signing key (default KEEPER_KEY)
//! listen = "127.0.0.1:9100"         # HTTP (cosign, /metrics, /steps); default 127.0.0.1:9100
//! db = "keeper-0.sqlite"            # signing journal; default "<name>.sqlite"
//! poll_ms = 500                     # round interval; default 500
//! refresh_blocks = 20               # re-report an unchanged account after this many blocks
//! change_bps = 1                    # re-report when margin or value moved this much
//! peer_timeout_ms = 5000            # wait for a peer's cosignature; default 5000
//!
//! [chain]
//! rpc_url = "http://127.0.0.1:8545" # required
//! engine = "0x..."                  # required: the MarginEngine
//! start_block = 0                   # first block to index (the engine's deployment); default 0
//! retry_attempts = 6                # RPC retries (exponential backoff from 100 ms, max 3 s)
//!
//! [[peers]]                         # every keeper, this one included
//! name = "keeper-1"
//! url = "http://127.0.0.1:9101"
//! address = "0x..."
//!
//! [market]                          # source = "simulated" (default) or "replay"
//! source = "simulated"
//! file = "keeper/fixtures/demo_market.json"  # required: base snapshot / recorded snapshots
//! start_block = 0                   # block of the first snapshot; default chain.start_block
//! seconds_per_block = 12            # simulated clock; default 12
//! shocks = [{ at_block = 100, underlying = "ETH", spot_factor = 0.75, vol_factor = 1.5 }]
//!
//! [[collateral]]                    # how each listed asset is priced
//! asset = "0x..."
//! fixed_usd = 1.0                   # or: underlying = "ETH"
//!
//! [model]
//! kind = "scenario_grid"            # isolated | delta_netted | scenario_grid | monte_carlo
//! preset = "project-default"        # grid preset: project-default | derive-pmrm2 | derive-pmrm1
//!                                   # | cme-span16; default project-default
//! vol_dynamics = "sticky-moneyness" # sticky-strike | sticky-moneyness | sticky-delta; default:
//!                                   # the preset's own
//! liquidation_step_cap_usd = 1000000  # keep at or below the engine's per-block cap
//! liquidation_penalty_bps = 100     # the engine's liquidationPenaltyBps
//! ```

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy_primitives::{Address, B256};
use offchain_risk::{
    liquidation::LiquidationConfig,
    margin::{factors::VolDynamics, presets::GridPreset, MarginConfig, MarginModel},
};
use serde::Deserialize;

use crate::{
    chain::{Chain, RetryPolicy},
    error::{KeeperError, Result},
    market::{MarketSource, ReplaySource, Shock, SimulatedSource},
    node::{Node, NodeSettings, Peer},
    risk::{CollateralPricing, OffchainRiskModel},
};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeeperConfig {
    /// Name in logs and metrics.
    pub name: String,
    /// Environment variable holding the hex private key.
    #[serde(default = "default_key_env")]
    pub private_key_env: String,
    /// HTTP listen address (loopback).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Signing journal path.
    #[serde(default)]
    pub db: Option<PathBuf>,
    /// Milliseconds between rounds.
    #[serde(default = "default_poll")]
    pub poll_ms: u64,
    /// Re-report unchanged accounts after this many blocks.
    #[serde(default = "default_refresh")]
    pub refresh_blocks: u64,
    /// Re-report when margin or value moved by this many bps.
    #[serde(default = "default_change")]
    pub change_bps: u64,
    /// Peer answer timeout, ms.
    #[serde(default = "default_peer_timeout")]
    pub peer_timeout_ms: u64,
    /// Chain access.
    pub chain: ChainConfig,
    /// Keepers (this one included).
    #[serde(default)]
    pub peers: Vec<Peer>,
    /// Market data.
    pub market: MarketConfig,
    /// Collateral pricing.
    #[serde(default)]
    pub collateral: Vec<CollateralPricing>,
    /// Margin model.
    #[serde(default)]
    pub model: ModelConfig,
}

/// `[chain]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// RPC endpoint.
    pub rpc_url: String,
    /// The engine.
    pub engine: Address,
    /// First block indexed.
    #[serde(default)]
    pub start_block: u64,
    /// RPC attempts.
    #[serde(default = "default_attempts")]
    pub retry_attempts: u32,
}

/// `[market]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// `simulated` or `replay`.
    #[serde(default = "default_source")]
    pub source: String,
    /// Base snapshot (simulated) or snapshots (replay), offchain-risk JSON.
    pub file: PathBuf,
    /// Block of the first snapshot (default: chain.start_block).
    #[serde(default)]
    pub start_block: Option<u64>,
    /// Simulated seconds per block.
    #[serde(default = "default_seconds")]
    pub seconds_per_block: u64,
    /// Scripted shocks.
    #[serde(default)]
    pub shocks: Vec<Shock>,
}

/// `[model]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The margin model.
    #[serde(default = "default_kind")]
    pub kind: MarginModel,
    /// Scenario-grid preset by name ([`GridPreset`]); the project's default if absent.
    #[serde(default)]
    pub preset: Option<String>,
    /// Vol dynamics of the grid by name ([`VolDynamics`]); the preset's own if absent.
    #[serde(default)]
    pub vol_dynamics: Option<String>,
    /// Largest liquidation step notional, USD.
    #[serde(default = "default_cap")]
    pub liquidation_step_cap_usd: f64,
    /// Liquidation penalty, bps.
    #[serde(default = "default_penalty")]
    pub liquidation_penalty_bps: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            kind: default_kind(),
            preset: None,
            vol_dynamics: None,
            liquidation_step_cap_usd: default_cap(),
            liquidation_penalty_bps: default_penalty(),
        }
    }
}

fn default_key_env() -> String {
    "KEEPER_KEY".into()
}
fn default_listen() -> String {
    "127.0.0.1:9100".into()
}
fn default_poll() -> u64 {
    500
}
fn default_refresh() -> u64 {
    20
}
fn default_change() -> u64 {
    1
}
fn default_peer_timeout() -> u64 {
    5_000
}
fn default_attempts() -> u32 {
    6
}
fn default_source() -> String {
    "simulated".into()
}
fn default_seconds() -> u64 {
    12
}
fn default_kind() -> MarginModel {
    MarginModel::ScenarioGrid
}
fn default_cap() -> f64 {
    1_000_000.0
}
fn default_penalty() -> f64 {
    100.0
}

fn bad(field: &'static str, reason: impl Into<String>) -> KeeperError {
    KeeperError::Config { field, reason: reason.into() }
}

impl ModelConfig {
    /// The margin configuration: defaults, the grid from `preset`, vol dynamics from
    /// `vol_dynamics`. Unknown names are errors that name the field and list the valid names.
    pub fn margin_config(&self) -> Result<MarginConfig> {
        let mut config = MarginConfig::default();
        if let Some(name) = &self.preset {
            let preset: GridPreset = name.parse().map_err(|e: String| bad("model.preset", e))?;
            config.grid = preset.config();
        }
        if let Some(name) = &self.vol_dynamics {
            config.grid.vol_dynamics =
                name.parse::<VolDynamics>().map_err(|e| bad("model.vol_dynamics", e))?;
        }
        Ok(config)
    }
}

impl KeeperConfig {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| bad("toml", e.to_string()))
    }

    /// The market source.
    pub fn market_source(&self) -> Result<Arc<dyn MarketSource>> {
        let start = self.market.start_block.unwrap_or(self.chain.start_block);
        match self.market.source.as_str() {
            "replay" => Ok(Arc::new(ReplaySource::from_file(&self.market.file, start)?)),
            "simulated" => {
                let text = std::fs::read_to_string(&self.market.file).map_err(|e| {
                    bad("market.file", format!("{}: {e}", self.market.file.display()))
                })?;
                let base = serde_json::from_str(&text).map_err(|e| {
                    bad("market.file", format!("{}: {e}", self.market.file.display()))
                })?;
                Ok(Arc::new(SimulatedSource::new(
                    base,
                    start,
                    self.market.seconds_per_block,
                    self.market.shocks.clone(),
                )?))
            }
            other => {
                Err(bad("market.source", format!("{other:?}: use \"simulated\" or \"replay\"")))
            }
        }
    }

    /// The risk model.
    pub fn risk_model(&self) -> Result<OffchainRiskModel> {
        let liquidation = LiquidationConfig {
            max_step_notional_usd: self.model.liquidation_step_cap_usd,
            penalty_bps: self.model.liquidation_penalty_bps,
            ..LiquidationConfig::default()
        };
        liquidation.validate().map_err(|e| bad("model", e.to_string()))?;
        Ok(OffchainRiskModel::new(
            self.market_source()?,
            self.collateral.clone(),
            self.model.kind,
            self.model.margin_config()?,
            liquidation,
        ))
    }

    /// Builds the node (key from the environment variable the config names).
    pub async fn node(&self) -> Result<Node> {
        let key_hex = std::env::var(&self.private_key_env).map_err(|_| {
            bad("private_key_env", format!("set {} to the keeper's hex key", self.private_key_env))
        })?;
        let key: B256 =
            key_hex.trim().parse().map_err(|_| bad("private_key_env", "not a 32-byte hex key"))?;
        let signer = key.to_string().parse().map_err(|e| bad("private_key_env", format!("{e}")))?;
        let chain = Chain::connect(&self.chain.rpc_url, signer, self.chain.engine)?.with_retry(
            RetryPolicy { attempts: self.chain.retry_attempts, ..RetryPolicy::default() },
        );
        let settings = NodeSettings {
            name: self.name.clone(),
            start_block: self.chain.start_block,
            peers: self.peers.clone(),
            db_path: Some(
                self.db.clone().unwrap_or_else(|| PathBuf::from(format!("{}.sqlite", self.name))),
            ),
            refresh_blocks: self.refresh_blocks,
            change_bps: self.change_bps,
            peer_timeout: Duration::from_millis(self.peer_timeout_ms),
        };
        Node::new(settings, key, chain, Arc::new(self.risk_model()?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_with_defaults() {
        let text = include_str!("../keeper.example.toml");
        let config = KeeperConfig::parse(text).unwrap();
        assert_eq!(config.poll_ms, 500);
        assert_eq!(config.model.kind, MarginModel::ScenarioGrid);
        assert_eq!(config.market.shocks.len(), 1);
        assert_eq!(config.peers.len(), 3);
        assert!(KeeperConfig::parse("name = 1").is_err());
        // The example names the project's default grid explicitly.
        assert_eq!(config.model.margin_config().unwrap(), MarginConfig::default());
    }

    #[test]
    fn model_preset_and_vol_dynamics_select_the_grid() {
        let model = |extra: &str| {
            let text = format!("[model]\nkind = \"scenario_grid\"\n{extra}");
            toml::from_str::<std::collections::BTreeMap<String, ModelConfig>>(&text)
                .unwrap()
                .remove("model")
                .unwrap()
        };
        let pmrm2 = model("preset = \"derive-pmrm2\"").margin_config().unwrap();
        assert_eq!(pmrm2.grid, GridPreset::DerivePmrm2.config());
        assert_eq!(pmrm2.grid.vol_dynamics, VolDynamics::StickyStrike);
        let moneyness = model("preset = \"derive-pmrm1\"\nvol_dynamics = \"sticky-moneyness\"")
            .margin_config()
            .unwrap();
        assert_eq!(moneyness.grid.vol_dynamics, VolDynamics::StickyMoneyness);
        assert_eq!(moneyness.grid.scenarios, GridPreset::DerivePmrm1.config().scenarios);

        let error = model("preset = \"pmrm3\"").margin_config().unwrap_err().to_string();
        assert!(error.contains("model.preset"), "{error}");
        for name in ["project-default", "derive-pmrm2", "derive-pmrm1", "cme-span16"] {
            assert!(error.contains(name), "{error}");
        }
        let error = model("vol_dynamics = \"sticky-vol\"").margin_config().unwrap_err().to_string();
        assert!(error.contains("model.vol_dynamics") && error.contains("sticky-strike"), "{error}");
    }
}
