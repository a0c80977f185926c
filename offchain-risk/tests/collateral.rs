//! Collateral weights, weighted collateral value and account health: reference values, hand
//! cases, monotonicity properties and the default-weights study on real data.

use std::collections::BTreeMap;

use offchain_risk::collateral::{
    historical_covering_weight, impermanent_loss, liquidation_slippage, usd_to_wad_down,
    usd_to_wad_up, weighted_collateral_value, weights_doc_section, AccountHealth,
    CollateralBalance, CollateralConfig, CollateralWeight, HealthInputs, LpTokenRule, StakingRule,
};
use offchain_risk::history::stats::normal_quantile;
use offchain_risk::history::{DataDir, Date, GapPolicy, PriceSeries, Sampling};
use offchain_risk::DataError;
use proptest::prelude::*;

/// The JSON of the `collateral` module docs.
const CONFIG_JSON: &str = r#"{"assets": {
  "USDC": {"kind": "static", "weight_bps": 9800},
  "ETH":  {"kind": "static", "weight_bps": 9000},
  "UNI":  {"kind": "static", "weight_bps": 5000},
  "ETH-USDC-LP": {"kind": "lp_token", "cap_bps": 8000, "basket_weight_bps": 9400,
                  "relative_volatility_annual": 0.75, "liquidation_horizon_days": 1.0,
                  "confidence": 0.99, "liquidation_depth_usd": 20000000.0},
  "stETH": {"kind": "staking_derivative", "cap_bps": 8500,
            "underlying_volatility_annual": 0.75, "unbonding_days": 5.0,
            "liquidation_horizon_days": 1.0, "confidence": 0.99,
            "depeg_cost_bps": 100, "yield_apr": 0.035}}}"#;

fn config() -> CollateralConfig {
    CollateralConfig::from_json(CONFIG_JSON, "test").unwrap()
}

fn lp(vol: f64, horizon: f64) -> LpTokenRule {
    LpTokenRule {
        cap_bps: 10_000,
        basket_weight_bps: 10_000,
        relative_volatility_annual: vol,
        liquidation_horizon_days: horizon,
        confidence: 0.99,
        liquidation_depth_usd: 10_000_000.0,
    }
}

fn staking(vol: f64, unbonding: f64) -> StakingRule {
    StakingRule {
        cap_bps: 10_000,
        underlying_volatility_annual: vol,
        unbonding_days: unbonding,
        liquidation_horizon_days: 1.0,
        confidence: 0.99,
        depeg_cost_bps: 100,
        yield_apr: 0.035,
    }
}

#[test]
fn impermanent_loss_matches_reference_values() {
    // 2√r/(1 + r) − 1: r = 1.25 → −0.62%, r = 2 → −5.72%, r = 4 → 4/5 − 1 = −20%.
    assert!((impermanent_loss(1.25) + 0.006_192).abs() < 1e-6);
    assert!((impermanent_loss(2.0) + 0.057_191).abs() < 1e-6);
    assert!((impermanent_loss(4.0) + 0.2).abs() < 1e-15);
    assert!(impermanent_loss(1.0).abs() < 1e-15);
    for r in [0.1, 0.5, 0.8, 3.0] {
        assert!((impermanent_loss(r) - impermanent_loss(1.0 / r)).abs() < 1e-15, "symmetric");
        assert!(impermanent_loss(r) < 0.0);
    }
    // Selling 1m into 9m of depth costs 1/(9 + 1) = 10%.
    assert!((liquidation_slippage(1e6, 9e6) - 0.1).abs() < 1e-15);
    assert!(liquidation_slippage(0.0, 9e6).abs() < 1e-15);
}

#[test]
fn lp_weight_is_basket_weight_less_stress_il_less_slippage() {
    // σ = 80%, 1 day, 99%: z = Φ⁻¹(0.995) = 2.5758, σ√(1/365) = 0.041874, r* = e^0.107859 = 1.11389,
    // IL(r*) = −0.1454%; basket 94% → 93.863%; 1m into 20m costs 1/21 = 4.762% → 89.10% → 8910 bps.
    let rule = LpTokenRule {
        cap_bps: 10_000,
        basket_weight_bps: 9_400,
        relative_volatility_annual: 0.8,
        liquidation_horizon_days: 1.0,
        confidence: 0.99,
        liquidation_depth_usd: 20e6,
    };
    assert!((rule.stress_price_ratio().unwrap() - 1.113_89).abs() < 1e-5);
    assert!((rule.raw_weight(1e6).unwrap() - 0.891_01).abs() < 1e-5);
    assert_eq!(rule.weight_bps(1e6).unwrap(), 8_910);
    assert_eq!(LpTokenRule { cap_bps: 8_000, ..rule }.weight_bps(1e6).unwrap(), 8_000, "capped");
    // A position as large as the whole depth loses half to slippage; enormous ones floor at 0.
    assert_eq!(LpTokenRule { basket_weight_bps: 0, ..rule }.weight_bps(1e6).unwrap(), 0);
    assert_eq!(rule.weight_bps(1e12).unwrap(), 0);
    // Stress ratio for a given IL: IL = −20% needs r* = 4, i.e. z σ √(h/365) = ln 4.
    let z = normal_quantile(0.995).unwrap();
    let vol = 4f64.ln() / z; // one-year horizon
    let year = LpTokenRule {
        relative_volatility_annual: vol,
        liquidation_horizon_days: 365.0,
        ..lp(0.0, 1.0)
    };
    assert!((year.raw_weight(0.0).unwrap() - 0.8).abs() < 1e-12);
}

#[test]
fn staking_haircut_adds_price_risk_depeg_and_forgone_yield() {
    // σ = 75% over 5 + 1 days at 99%: 1 − exp(−2.326348 · 0.75 · √(6/365)) = 20.049%;
    // + 1% depeg + 3.5% · 5/365 = 0.048% → 21.097% → weight 78.90% → 7890 bps.
    let rule = staking(0.75, 5.0);
    let z = normal_quantile(0.99).unwrap();
    let expected = -(-z * 0.75 * (6.0f64 / 365.0).sqrt()).exp_m1() + 0.01 + 0.035 * 5.0 / 365.0;
    assert!((rule.haircut().unwrap() - expected).abs() < 1e-15);
    assert!((expected - 0.210_97).abs() < 1e-4);
    assert_eq!(rule.weight_bps().unwrap(), 7_890);
    assert_eq!(StakingRule { cap_bps: 7_000, ..rule }.weight_bps().unwrap(), 7_000);
    assert_eq!(staking(10.0, 365.0).weight_bps().unwrap(), 0, "floored at 0");
}

proptest! {
    #[test]
    fn lp_weight_falls_with_volatility_horizon_and_size(
        vol in 0.0f64..3.0, extra_vol in 0.0f64..2.0,
        horizon in 0.1f64..30.0, extra_days in 0.0f64..30.0,
        size in 0.0f64..1e8, extra_size in 0.0f64..1e8,
    ) {
        let base = lp(vol, horizon).weight_bps(size).unwrap();
        prop_assert!(lp(vol + extra_vol, horizon).weight_bps(size).unwrap() <= base);
        prop_assert!(lp(vol, horizon + extra_days).weight_bps(size).unwrap() <= base);
        prop_assert!(lp(vol, horizon).weight_bps(size + extra_size).unwrap() <= base);
    }

    #[test]
    fn staking_weight_falls_with_volatility_delay_and_depeg(
        vol in 0.0f64..3.0, extra_vol in 0.0f64..2.0,
        delay in 0.0f64..30.0, extra_delay in 0.0f64..30.0, depeg in 0u16..5_000,
    ) {
        let base = staking(vol, delay);
        let w = base.weight_bps().unwrap();
        prop_assert!(staking(vol + extra_vol, delay).weight_bps().unwrap() <= w);
        prop_assert!(staking(vol, delay + extra_delay).weight_bps().unwrap() <= w);
        let with_depeg = StakingRule { depeg_cost_bps: depeg, ..base }.weight_bps().unwrap();
        let without_depeg = StakingRule { depeg_cost_bps: 0, ..base }.weight_bps().unwrap();
        prop_assert!(with_depeg <= without_depeg);
    }
}

#[test]
fn config_parses_the_documented_json_and_rejects_bad_fields() {
    let config = config();
    assert_eq!(config.weight_bps("USDC", 1e6).unwrap(), 9_800);
    assert_eq!(config.weight_bps("ETH", 1e6).unwrap(), 9_000);
    assert_eq!(config.weight_bps("UNI", 1e6).unwrap(), 5_000);
    assert_eq!(config.weight_bps("stETH", 1e6).unwrap(), 7_890);
    let lp_weight = config.weight_bps("ETH-USDC-LP", 1e6).unwrap();
    assert!((7_000..=8_000).contains(&lp_weight), "{lp_weight}");
    assert!(matches!(config.assets["ETH"], CollateralWeight::Static { weight_bps: 9_000 }));
    let round_trip: CollateralConfig =
        serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(round_trip, config);

    let too_big = r#"{"assets": {"X": {"kind": "static", "weight_bps": 10001}}}"#;
    match CollateralConfig::from_json(too_big, "test") {
        Err(DataError::Invalid { field, .. }) => assert_eq!(field, "assets.X.weight_bps"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let bad_confidence = r#"{"assets": {"stETH": {"kind": "staking_derivative", "cap_bps": 8500,
        "underlying_volatility_annual": 0.75, "unbonding_days": 5.0, "liquidation_horizon_days": 1.0,
        "confidence": 1.0, "depeg_cost_bps": 100, "yield_apr": 0.035}}}"#;
    match CollateralConfig::from_json(bad_confidence, "test") {
        Err(DataError::Invalid { field, .. }) => assert_eq!(field, "assets.stETH.confidence"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let unknown = r#"{"assets": {"X": {"kind": "lp_token", "cap_bps": 1, "relative_volatility_annual": 0.5,
        "liquidation_horizon_days": 1.0, "confidence": 0.99, "liquidation_depth_usd": 1.0, "typo": 1}}}"#;
    assert!(matches!(CollateralConfig::from_json(unknown, "test"), Err(DataError::Json { .. })));
    assert!(config.weight_bps("DOGE", 1.0).is_err());
}

#[test]
fn weighted_collateral_value_sums_amount_price_weight() {
    let config = config();
    let balances = [
        CollateralBalance { asset: "USDC".into(), amount: 1_000.0 },
        CollateralBalance { asset: "ETH".into(), amount: 2.0 },
        CollateralBalance { asset: "UNI".into(), amount: 0.0 },
    ];
    let prices: BTreeMap<String, f64> =
        [("USDC", 1.0), ("ETH", 3_000.0), ("UNI", 10.0)].map(|(a, p)| (a.to_string(), p)).into();
    let wcv = weighted_collateral_value(&config, &balances, &prices).unwrap();
    // 1000 · 1 · 98% + 2 · 3000 · 90% + 0 = 980 + 5400.
    assert!((wcv.total - 6_380.0).abs() < 1e-9);
    assert_eq!(wcv.lines[1].weight_bps, 9_000);
    assert!((wcv.lines[1].market_value - 6_000.0).abs() < 1e-12);

    let mut no_eth = prices.clone();
    no_eth.remove("ETH");
    match weighted_collateral_value(&config, &balances, &no_eth) {
        Err(DataError::Invalid { field, .. }) => assert_eq!(field, "prices.ETH"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let unlisted = [CollateralBalance { asset: "DOGE".into(), amount: 1.0 }];
    let with_doge: BTreeMap<String, f64> = [("DOGE".to_string(), 0.1)].into();
    assert!(weighted_collateral_value(&config, &unlisted, &with_doge).is_err());
    let negative = [CollateralBalance { asset: "ETH".into(), amount: -1.0 }];
    assert!(weighted_collateral_value(&config, &negative, &prices).is_err());
}

fn inputs(wcv: f64, pv: f64, im: f64, mm: f64) -> HealthInputs {
    HealthInputs {
        weighted_collateral_value: wcv,
        cash: 0.0,
        portfolio_value: pv,
        initial_margin: im,
        maintenance_margin: mm,
        liquidation_threshold_bps: 10_000,
    }
}

#[test]
fn account_health_follows_the_engine_definitions() {
    // equity = 6380 − 380 = 6000; ratio 6000/4000 = 1.5; free = 6000 − 5000.
    let health = AccountHealth::assess(&inputs(6_380.0, -380.0, 5_000.0, 4_000.0)).unwrap();
    assert!((health.equity - 6_000.0).abs() < 1e-12);
    assert!((health.margin_ratio - 1.5).abs() < 1e-15);
    assert!(!health.liquidatable);
    assert!((health.free_collateral - 1_000.0).abs() < 1e-12);
    assert!(health.can_withdraw(1_000.0), "equity after = initial margin is allowed");
    assert!(!health.can_withdraw(1_000.01));

    // Liquidatable only strictly below maintenance (× threshold).
    assert!(!AccountHealth::assess(&inputs(4_000.0, 0.0, 5_000.0, 4_000.0)).unwrap().liquidatable);
    assert!(AccountHealth::assess(&inputs(3_999.99, 0.0, 5_000.0, 4_000.0)).unwrap().liquidatable);
    let threshold = HealthInputs {
        liquidation_threshold_bps: 11_000,
        ..inputs(4_300.0, 0.0, 5_000.0, 4_000.0)
    };
    assert!(AccountHealth::assess(&threshold).unwrap().liquidatable, "4300 < 4000 · 1.1");

    let underwater = AccountHealth::assess(&inputs(100.0, -200.0, 50.0, 40.0)).unwrap();
    assert_eq!((underwater.margin_ratio, underwater.free_collateral), (0.0, 0.0));
    assert!(underwater.liquidatable);
    let flat = AccountHealth::assess(&inputs(100.0, 0.0, 0.0, 0.0)).unwrap();
    assert!(flat.margin_ratio.is_infinite() && flat.margin_ratio > 0.0);
    assert!(!flat.liquidatable);

    assert!(AccountHealth::assess(&inputs(1.0, 0.0, 1.0, 2.0)).is_err(), "IM < MM");
    let bad_threshold =
        HealthInputs { liquidation_threshold_bps: 9_000, ..inputs(1.0, 0.0, 1.0, 1.0) };
    assert!(AccountHealth::assess(&bad_threshold).is_err());
}

#[test]
fn wad_conversion_rounds_toward_the_protocol() {
    // Exact cases: 1.5 and 0 are exact; the f64 0.1 is 0.1000000000000000055511151231257827…,
    // so 0.1·10¹⁸ = 100000000000000005.55…; −2.5 is exact.
    assert_eq!(usd_to_wad_down(1.5).unwrap(), 1_500_000_000_000_000_000);
    assert_eq!(usd_to_wad_up(1.5).unwrap(), 1_500_000_000_000_000_000);
    assert_eq!((usd_to_wad_down(0.0).unwrap(), usd_to_wad_up(0.0).unwrap()), (0, 0));
    assert_eq!(usd_to_wad_down(0.1).unwrap(), 100_000_000_000_000_005);
    assert_eq!(usd_to_wad_up(0.1).unwrap(), 100_000_000_000_000_006);
    assert_eq!(usd_to_wad_down(-2.5).unwrap(), -2_500_000_000_000_000_000);
    // Above 2^53 the product is a float holding an integer, yet the exact value is not one:
    // 1e9/3 as f64 is 333333333.333333313465118408203125, times 10¹⁸ = …118408.203125.
    let third = 1e9 / 3.0;
    assert_eq!(usd_to_wad_down(third).unwrap(), 333_333_333_333_333_313_465_118_408);
    assert_eq!(usd_to_wad_up(third).unwrap(), 333_333_333_333_333_313_465_118_409);
    for usd in [1e-9, 123_456.789, 7.3e4, 0.3] {
        let (down, up) = (usd_to_wad_down(usd).unwrap(), usd_to_wad_up(usd).unwrap());
        assert!(up - down <= 1, "{usd}: {down} {up}");
    }
    assert!(usd_to_wad_up(f64::NAN).is_err());
    assert!(usd_to_wad_up(1e21).is_err());
}

#[test]
fn historical_covering_weight_on_a_known_sample() {
    // 101 daily simple returns −0%, −0.1%, …, −10%: the type-7 1% quantile is the 2nd smallest,
    // h = (101 − 1)·0.01 = 1 → −9.9%; weight 90.1% → 9000 bps after rounding down to 50.
    let start = Date::parse("2024-01-01").unwrap();
    let mut price = 100.0;
    let mut days = vec![(start, price)];
    for i in 0..=100 {
        price *= 1.0 - f64::from(i) / 1000.0;
        days.push((start.add_days(i + 1), price));
    }
    let series = PriceSeries { symbol: "X".into(), days };
    let w = historical_covering_weight(&series, 1, 0.99).unwrap();
    assert_eq!(w.windows, 101);
    assert!((w.quantile_return + 0.099).abs() < 1e-12);
    assert_eq!(w.weight_bps, 9_000);
    assert!((w.worst.simple_return() + 0.1).abs() < 1e-12);
    assert_eq!(w.worst.end, start.add_days(101));
}

#[test]
fn real_covering_weights_cover_99_percent_of_moves_and_fall_with_horizon() {
    let data = DataDir::locate().unwrap();
    for symbol in ["BTC", "ETH", "SOL", "BNB", "LINK", "XRP", "UNI"] {
        let series = data.prices(symbol).unwrap();
        let weights: Vec<u16> = [1, 2, 5]
            .iter()
            .map(|h| historical_covering_weight(&series, *h, 0.99).unwrap().weight_bps)
            .collect();
        assert!(weights[0] >= weights[1] && weights[1] >= weights[2], "{symbol}: {weights:?}");
        // 1-day weights land between 80% and 92% for every asset.
        assert!((8_000..=9_200).contains(&weights[0]), "{symbol}: {weights:?}");
        // Coverage: at most 1% of 1-day windows end below the weight (rounding down only helps).
        let moves = series.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap();
        let weight = f64::from(weights[0]) / 1e4;
        let uncovered = moves.points.iter().filter(|p| 1.0 + p.simple_return() < weight).count();
        assert!(
            uncovered as f64 <= 0.01 * moves.points.len() as f64 + 1.0,
            "{symbol}: {uncovered}"
        );
    }
}

#[test]
fn the_committed_doc_matches_the_recomputed_tables() {
    let section = weights_doc_section(&DataDir::locate().unwrap()).unwrap();
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/COLLATERAL_WEIGHTS.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    assert!(
        doc.contains(&section),
        "docs/COLLATERAL_WEIGHTS.md is stale: regenerate its block with \
         `cargo run -p offchain-risk --example collateral_weights`; expected:\n{section}"
    );
}
