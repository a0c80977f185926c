//! The [`RiskModel`] backed by the `offchain-risk` crate (the scenario grid by default).
//!
//! Flow per account and block: the engine's positions (instrument ids with the spec JSON the
//! `InstrumentListed` event carried) become an `offchain_risk::instrument::Portfolio`; it is
//! margined against the block's [`MarketSnapshot`] (from a [`MarketSource`], a pure function of
//! the block); the USD floats become the engine's 18-decimal integers, values rounded down and
//! requirements rounded up ([`usd_floor`], [`usd_ceil`]). The same inputs give bit-identical
//! numbers: no clock, no thread-dependent reduction, no hash-map iteration order.
//!
//! Conventions that bridge the two worlds:
//! - **Instrument spec**: the `InstrumentListed` spec is the offchain-risk instrument JSON, e.g.
//!   `{"type":"perpetual","underlying":"ETH"}` (also accepted: `{"kind":"perp","underlying":"ETH"}`,
//!   the forge tests' shorthand). Inverse futures and perpetuals are refused: the engine's
//!   `size × markPrice` transfer is linear.
//! - **Portfolio value**: the engine keeps trade cash separately (a buyer's cash falls by the
//!   price paid), so a position is worth its whole mark: `size × mark` for spot, futures and
//!   perpetuals, `size × premium` for options. offchain-risk values futures and perpetuals opened at
//!   the mark at zero, so `size × mark` is added for them.
//! - **Liquidation**: the planner sees equity as weighted collateral + its mark-to-market; the
//!   engine's `collateral_and_cash` plus the futures' and perpetuals' `size × mark` is that
//!   weighted collateral. The first step of the plan becomes one `LiquidationStep` (one leg),
//!   its size rounded toward zero and never above the position.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use alloy_primitives::{Address, B256, I256};
use offchain_risk::{
    instrument::{Instrument, Portfolio, Position, Settlement},
    liquidation::{plan_liquidation, LiquidationConfig},
    margin::{factors::VolDynamics, margin, presets::GridPreset, MarginConfig, MarginModel},
    market::MarketSnapshot,
    valuation::value_instrument,
};
use serde::{Deserialize, Serialize};

use crate::{
    batch::{LiquidationStepJson, PriceReportJson},
    error::{KeeperError, Result},
    index::{AccountView, EngineBook},
    market::MarketSource,
    model::{MarginNumbers, OnchainHealth, RiskModel},
};

/// 1e18 as a float.
const E18: f64 = 1e18;

/// `|x| × 1e18` rounded down (`up` false) or up, computed as whole part and fraction separately
/// (both exact for a non-negative double) so that whole numbers of USD stay exact: 25,000.0 is
/// 25,000e18, not the nearest double of 2.5e22.
fn scaled_abs(x: f64, up: bool) -> Option<i128> {
    let x = x.abs();
    if !x.is_finite() || x >= 1.0e19 {
        return None;
    }
    let whole = x.trunc();
    let fraction = (x - whole) * E18;
    let fraction = if up { fraction.ceil() } else { fraction.floor() };
    Some(whole as i128 * 1_000_000_000_000_000_000 + fraction as i128)
}

/// `usd` in 18-decimal fixed point, rounded down (toward negative infinity).
pub fn usd_floor(usd: f64) -> Option<i128> {
    if usd < 0.0 {
        scaled_abs(usd, true).map(|v| -v)
    } else {
        scaled_abs(usd, false)
    }
}

/// A non-negative requirement `usd` in 18-decimal fixed point, rounded up (negative: zero).
pub fn usd_ceil(usd: f64) -> Option<u128> {
    if usd.is_nan() {
        return None;
    }
    scaled_abs(usd.max(0.0), true).map(|v| v as u128)
}

/// A size or price in 18-decimal fixed point, rounded toward zero.
pub fn fixed_trunc(x: f64) -> Option<i128> {
    scaled_abs(x, false).map(|v| if x < 0.0 { -v } else { v })
}

/// An 18-decimal on-chain quantity as a float.
pub fn to_f64(x: I256) -> f64 {
    match i128::try_from(x) {
        Ok(v) => v as f64 / E18,
        // Beyond i128: far outside any real size; keep the sign and magnitude roughly.
        Err(_) if x.is_negative() => -1.0e20,
        Err(_) => 1.0e20,
    }
}

/// How a collateral asset is priced from the market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralPricing {
    /// The ERC-20.
    pub asset: Address,
    /// The snapshot's underlying whose spot prices it (e.g. `ETH` for WETH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlying: Option<String>,
    /// A fixed USD price instead (e.g. 1.0 for USDC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_usd: Option<f64>,
}

/// Parses an `InstrumentListed` spec.
pub fn parse_spec(spec: &[u8]) -> std::result::Result<Instrument, String> {
    let text = std::str::from_utf8(spec).map_err(|e| format!("spec is not UTF-8: {e}"))?;
    let instrument = match serde_json::from_str::<Instrument>(text) {
        Ok(instrument) => instrument,
        Err(error) => {
            // The forge fixtures' shorthand: {"kind":"perp","underlying":"ETH"}.
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("spec is not JSON: {e}"))?;
            match (value["kind"].as_str(), value["underlying"].as_str()) {
                (Some("perp" | "perpetual"), Some(u)) => Instrument::Perpetual {
                    underlying: u.to_owned(),
                    settlement: Settlement::Linear,
                },
                (Some("spot"), Some(u)) => Instrument::Spot { underlying: u.to_owned() },
                _ => return Err(format!("spec {text:?} is not an instrument: {error}")),
            }
        }
    };
    instrument.validate("spec").map_err(|e| e.to_string())?;
    if matches!(
        instrument,
        Instrument::Future { settlement: Settlement::Inverse, .. }
            | Instrument::Perpetual { settlement: Settlement::Inverse, .. }
    ) {
        return Err("inverse futures and perpetuals are not supported on-chain".into());
    }
    Ok(instrument)
}

/// The offchain-risk model with its configuration.
pub struct OffchainRiskModel {
    market: Arc<dyn MarketSource>,
    collateral: Vec<CollateralPricing>,
    /// Which margin model (scenario grid by default).
    pub model: MarginModel,
    /// Its configuration.
    pub config: MarginConfig,
    /// The liquidation planner's configuration.
    pub liquidation: LiquidationConfig,
    snapshot: Mutex<Option<(u64, Arc<MarketSnapshot>)>>,
    specs: Mutex<HashMap<B256, Arc<std::result::Result<Instrument, String>>>>,
}

impl std::fmt::Debug for OffchainRiskModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffchainRiskModel").field("model", &self.model).finish()
    }
}

/// One account's positions as an offchain-risk portfolio, with each position's instrument id and
/// on-chain size.
struct AccountBook {
    portfolio: Portfolio,
    ids: Vec<(B256, I256)>,
}

impl OffchainRiskModel {
    /// A model margining with `model` under `config`, pricing collateral as `collateral` says.
    pub fn new(
        market: Arc<dyn MarketSource>,
        collateral: Vec<CollateralPricing>,
        model: MarginModel,
        config: MarginConfig,
        liquidation: LiquidationConfig,
    ) -> Self {
        Self {
            market,
            collateral,
            model,
            config,
            liquidation,
            snapshot: Mutex::new(None),
            specs: Mutex::new(HashMap::new()),
        }
    }

    /// The scenario grid (PMRM) with default configurations.
    pub fn grid(market: Arc<dyn MarketSource>, collateral: Vec<CollateralPricing>) -> Self {
        Self::new(
            market,
            collateral,
            MarginModel::ScenarioGrid,
            MarginConfig::default(),
            LiquidationConfig::default(),
        )
    }

    /// The scenario grid under a named preset (Derive's PMRM_2, …) with the preset's own vol
    /// dynamics unless `vol_dynamics` is given.
    pub fn grid_preset(
        market: Arc<dyn MarketSource>,
        collateral: Vec<CollateralPricing>,
        preset: GridPreset,
        vol_dynamics: Option<VolDynamics>,
    ) -> Self {
        let mut config = MarginConfig { grid: preset.config(), ..MarginConfig::default() };
        if let Some(dynamics) = vol_dynamics {
            config.grid.vol_dynamics = dynamics;
        }
        Self::new(
            market,
            collateral,
            MarginModel::ScenarioGrid,
            config,
            LiquidationConfig::default(),
        )
    }

    /// The snapshot for `block` (cached for the last block asked).
    pub fn snapshot(&self, block: u64) -> Result<Arc<MarketSnapshot>> {
        let mut cache = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((b, s)) = cache.as_ref() {
            if *b == block {
                return Ok(s.clone());
            }
        }
        let snapshot = Arc::new(self.market.snapshot_at(block)?);
        *cache = Some((block, snapshot.clone()));
        Ok(snapshot)
    }

    fn instrument(
        &self,
        id: B256,
        book: &EngineBook,
    ) -> Arc<std::result::Result<Instrument, String>> {
        let mut specs = self.specs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(parsed) = specs.get(&id) {
            return parsed.clone();
        }
        let parsed = Arc::new(match book.instruments.get(&id) {
            Some(spec) => parse_spec(spec),
            None => Err(format!("instrument {id} is not listed")),
        });
        specs.insert(id, parsed.clone());
        parsed
    }

    fn account_book(
        &self,
        account: Address,
        view: &AccountView,
        book: &EngineBook,
    ) -> Result<AccountBook> {
        let mut positions = Vec::with_capacity(view.positions.len());
        let mut ids = Vec::with_capacity(view.positions.len());
        for (id, size) in &view.positions {
            let instrument = match self.instrument(*id, book).as_ref() {
                Ok(instrument) => instrument.clone(),
                Err(reason) => return Err(KeeperError::Model { account, reason: reason.clone() }),
            };
            positions.push(Position { instrument, size: to_f64(*size), entry_price: None });
            ids.push((*id, *size));
        }
        Ok(AccountBook { portfolio: Portfolio { account: None, positions }, ids })
    }

    /// Per position: USD per unit the engine transfers at (`markPrice`) and whether its whole
    /// `size × mark` is missing from offchain-risk's mark-to-market (futures and perpetuals).
    fn marks(
        &self,
        account: Address,
        portfolio: &Portfolio,
        market: &MarketSnapshot,
    ) -> Result<Vec<(f64, bool)>> {
        portfolio
            .positions
            .iter()
            .map(|p| {
                let v = value_instrument(&p.instrument, market, &self.config.pricing)
                    .map_err(|e| KeeperError::Model { account, reason: e.to_string() })?;
                Ok(match p.instrument {
                    Instrument::Future { .. } | Instrument::Perpetual { .. } => (v.forward, true),
                    Instrument::Spot { .. } | Instrument::Option { .. } => (v.value, false),
                })
            })
            .collect()
    }

    /// Margins `account` against `market`.
    pub fn margin_with(
        &self,
        account: Address,
        view: &AccountView,
        book: &EngineBook,
        market: &MarketSnapshot,
    ) -> Result<MarginNumbers> {
        if view.positions.is_empty() {
            return Ok(MarginNumbers {
                portfolio_value: 0,
                initial_margin: 0,
                maintenance_margin: 0,
            });
        }
        let AccountBook { portfolio, .. } = self.account_book(account, view, book)?;
        let result = margin(&portfolio, market, self.model, &self.config)
            .map_err(|e| KeeperError::Model { account, reason: e.to_string() })?
            .result;
        let delta_one: f64 = self
            .marks(account, &portfolio, market)?
            .iter()
            .zip(&portfolio.positions)
            .filter(|((_, delta_one), _)| *delta_one)
            .map(|((mark, _), p)| p.size * mark)
            .sum();
        let bad = |what: &str| KeeperError::Model {
            account,
            reason: format!("{what} does not fit the engine's fixed point"),
        };
        let portfolio_value =
            usd_floor(result.mark_to_market + delta_one).ok_or_else(|| bad("portfolio value"))?;
        let maintenance_margin =
            usd_ceil(result.maintenance_margin).ok_or_else(|| bad("maintenance margin"))?;
        let initial_margin = usd_ceil(result.initial_margin)
            .ok_or_else(|| bad("initial margin"))?
            .max(maintenance_margin);
        Ok(MarginNumbers { portfolio_value, initial_margin, maintenance_margin })
    }

    /// Margins many accounts at `block` (in parallel; each result depends on its account alone,
    /// so the thread count cannot change a number).
    pub fn margin_many(
        &self,
        accounts: &[Address],
        book: &EngineBook,
        block: u64,
    ) -> Result<Vec<(Address, Result<MarginNumbers>)>> {
        use rayon::prelude::*;
        let market = self.snapshot(block)?;
        let empty = AccountView::default();
        Ok(accounts
            .par_iter()
            .map(|a| {
                let view = book.accounts.get(a).unwrap_or(&empty);
                (*a, self.margin_with(*a, view, book, &market))
            })
            .collect())
    }
}

impl RiskModel for OffchainRiskModel {
    fn collateral_prices(&self, block: u64) -> Result<Vec<PriceReportJson>> {
        let market = self.snapshot(block)?;
        self.collateral
            .iter()
            .map(|c| {
                let usd = match (&c.fixed_usd, &c.underlying) {
                    (Some(fixed), _) => *fixed,
                    (None, Some(symbol)) => {
                        market
                            .underlying(symbol)
                            .map_err(|e| KeeperError::Config {
                                field: "collateral.underlying",
                                reason: e.to_string(),
                            })?
                            .spot
                    }
                    (None, None) => {
                        return Err(KeeperError::Config {
                            field: "collateral",
                            reason: format!("{} needs `underlying` or `fixed_usd`", c.asset),
                        })
                    }
                };
                let price =
                    usd_floor(usd).filter(|p| *p > 0).ok_or_else(|| KeeperError::Config {
                        field: "collateral",
                        reason: format!("{} price {usd} is not a positive USD price", c.asset),
                    })?;
                Ok(PriceReportJson { asset: c.asset, price: price as u128 })
            })
            .collect()
    }

    fn margin(
        &self,
        account: &AccountView,
        book: &EngineBook,
        block: u64,
    ) -> Result<MarginNumbers> {
        let market = self.snapshot(block)?;
        // The trait does not pass the address; it only names errors.
        self.margin_with(Address::ZERO, account, book, &market)
    }

    fn plan_liquidation(
        &self,
        account: Address,
        view: &AccountView,
        book: &EngineBook,
        health: OnchainHealth,
        block: u64,
    ) -> Result<Vec<LiquidationStepJson>> {
        if view.positions.is_empty() {
            return Ok(Vec::new());
        }
        let market = self.snapshot(block)?;
        let AccountBook { portfolio, ids } = self.account_book(account, view, book)?;
        let marks = self.marks(account, &portfolio, &market)?;
        let delta_one: f64 = marks
            .iter()
            .zip(&portfolio.positions)
            .filter(|((_, d), _)| *d)
            .map(|((mark, _), p)| p.size * mark)
            .sum();
        let collateral = (health.collateral_and_cash as f64 / E18 + delta_one).max(0.0);
        let plan = plan_liquidation(
            &portfolio,
            &market,
            self.model,
            &self.config,
            collateral,
            &self.liquidation,
        )
        .map_err(|e| KeeperError::Model { account, reason: e.to_string() })?;
        let Some(step) = plan.steps.first() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        // One leg per step: the engine's LiquidationStep carries one instrument.
        if let Some(leg) = step.legs.first() {
            let (id, position) = ids[leg.position_index];
            let position = i128::try_from(position).unwrap_or_default();
            let mut size = fixed_trunc(leg.size_to_close).unwrap_or_default();
            // Never beyond the position, never the same sign.
            if position > 0 {
                size = size.clamp(-position, 0);
            } else {
                size = size.clamp(0, -position);
            }
            let mark = usd_floor(marks[leg.position_index].0).unwrap_or_default().max(0) as u128;
            if size != 0 {
                out.push(LiquidationStepJson {
                    account,
                    positions_nonce: view.positions_nonce,
                    instrument_id: id,
                    size,
                    mark_price: mark,
                });
            }
        }
        Ok(out)
    }

    fn priced_instruments(&self, book: &EngineBook) -> Vec<B256> {
        book.instruments.keys().copied().filter(|id| self.instrument(*id, book).is_ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::ReplaySource;
    use alloy_primitives::{keccak256, Bytes, U256};

    pub(crate) fn market() -> MarketSnapshot {
        serde_json::from_str(include_str!("../../offchain-risk/fixtures/market.json")).unwrap()
    }

    fn e18(x: i64) -> I256 {
        I256::try_from(x).unwrap() * I256::try_from(10u64.pow(18)).unwrap()
    }

    fn book() -> (EngineBook, Address, Address) {
        let mut book = EngineBook::default();
        book.instruments.insert(
            keccak256("ETH-PERP"),
            Bytes::from_static(br#"{"type":"perpetual","underlying":"ETH"}"#),
        );
        book.instruments.insert(
            keccak256("ETH-SPOT"),
            Bytes::from_static(br#"{"kind":"spot","underlying":"ETH"}"#),
        );
        let hedged = Address::repeat_byte(1);
        let naked = Address::repeat_byte(2);
        let mut view = AccountView { positions_nonce: 2, ..Default::default() };
        view.positions.insert(keccak256("ETH-PERP"), e18(-10));
        view.positions.insert(keccak256("ETH-SPOT"), e18(10));
        view.cash = I256::ZERO;
        book.accounts.insert(hedged, view);
        let mut view = AccountView { positions_nonce: 1, ..Default::default() };
        view.positions.insert(keccak256("ETH-PERP"), e18(10));
        view.collateral.insert(Address::repeat_byte(9), U256::from(1));
        book.accounts.insert(naked, view);
        (book, hedged, naked)
    }

    fn model() -> OffchainRiskModel {
        let source = Arc::new(ReplaySource::new(0, vec![market()]).unwrap());
        OffchainRiskModel::grid(
            source,
            vec![CollateralPricing {
                asset: Address::repeat_byte(9),
                underlying: Some("ETH".into()),
                fixed_usd: None,
            }],
        )
    }

    #[test]
    fn a_derive_preset_charges_its_flat_perpetual_add_on_on_a_hedged_account() {
        let (book, hedged, _) = book();
        let source = Arc::new(ReplaySource::new(0, vec![market()]).unwrap());
        let derive = OffchainRiskModel::grid_preset(source, vec![], GridPreset::DerivePmrm2, None);
        assert_eq!(derive.config.grid.vol_dynamics, VolDynamics::StickyStrike);
        let numbers =
            derive.margin_with(hedged, &book.accounts[&hedged], &book, &market()).unwrap();
        // Spot and perpetual offset in every row; PMRM_2 still charges 3% of the 25,000 USD
        // perpetual for maintenance and 3% + 1% for initial.
        let whole_usd = |x: u128| x / 10u128.pow(18);
        assert!((749..=751).contains(&whole_usd(numbers.maintenance_margin)), "{numbers:?}");
        assert!((999..=1001).contains(&whole_usd(numbers.initial_margin)), "{numbers:?}");
        // The project default charges its 0.5% basis add-on instead.
        let ours = model().margin_with(hedged, &book.accounts[&hedged], &book, &market()).unwrap();
        assert!(ours.maintenance_margin < numbers.maintenance_margin / 4, "{ours:?}");
    }

    #[test]
    fn fixed_point_rounds_values_down_and_requirements_up() {
        assert_eq!(usd_floor(-0.5), Some(-500_000_000_000_000_000));
        assert_eq!(usd_floor(1.0), Some(1_000_000_000_000_000_000));
        assert_eq!(usd_ceil(1e-19), Some(1));
        assert_eq!(usd_ceil(-3.0), Some(0));
        assert_eq!(usd_floor(f64::NAN), None);
        assert_eq!(fixed_trunc(-1.5e-18), Some(-1));
        assert_eq!(to_f64(e18(-3)).to_bits(), (-3.0f64).to_bits());
    }

    #[test]
    fn hedges_net_and_numbers_are_bit_identical() {
        let (book, hedged, naked) = book();
        let m = model();
        let h = m.margin_with(hedged, &book.accounts[&hedged], &book, &market()).unwrap();
        let n = m.margin_with(naked, &book.accounts[&naked], &book, &market()).unwrap();
        assert!(h.maintenance_margin < n.maintenance_margin / 5, "{h:?} vs {n:?}");
        assert!(n.initial_margin > n.maintenance_margin);
        // Long 10 perps at a 2,500 mark: worth 25,000 USD (cash carries the entry).
        assert_eq!(n.portfolio_value, 25_000 * 10i128.pow(18));
        // Independent recomputation (a second model, another thread count) agrees bit for bit.
        let again = model().margin_many(&[hedged, naked], &book, 7).unwrap();
        assert_eq!(again[0].1.as_ref().unwrap(), &h);
        assert_eq!(again[1].1.as_ref().unwrap(), &n);
        let prices = m.collateral_prices(3).unwrap();
        assert_eq!(prices[0].price, 2_500 * 10u128.pow(18));
    }

    #[test]
    fn an_underwater_account_gets_one_reducing_leg() {
        let (book, _, naked) = book();
        let m = model();
        let view = &book.accounts[&naked];
        let numbers = m.margin_with(naked, view, &book, &market()).unwrap();
        // Cash paid for the perps at the mark, a little collateral: equity far below maintenance.
        let cash = -numbers.portfolio_value + numbers.maintenance_margin as i128 / 4;
        let steps = m
            .plan_liquidation(naked, view, &book, OnchainHealth { collateral_and_cash: cash }, 5)
            .unwrap();
        assert_eq!(steps.len(), 1);
        let step = &steps[0];
        assert_eq!(step.instrument_id, keccak256("ETH-PERP"));
        assert!(step.size < 0 && step.size >= -10 * 10i128.pow(18), "{step:?}");
        assert_eq!(step.mark_price, 2_500 * 10u128.pow(18));
        assert_eq!(step.positions_nonce, 1);
        // A healthy account: nothing to do.
        let rich =
            OnchainHealth { collateral_and_cash: cash + 10 * numbers.initial_margin as i128 };
        assert!(m.plan_liquidation(naked, view, &book, rich, 5).unwrap().is_empty());
    }

    #[test]
    fn unknown_and_inverse_specs_are_refused() {
        assert!(parse_spec(br#"{"type":"perpetual","underlying":"BTC","settlement":"inverse"}"#)
            .is_err());
        assert!(parse_spec(b"{}").is_err());
        assert!(parse_spec(br#"{"type":"spot","underlying":"ETH"}"#).is_ok());
    }
}
