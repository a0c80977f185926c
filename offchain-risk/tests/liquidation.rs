//! The liquidation planner: restores what can be restored, never raises a scenario loss (checked
//! here independently, by revaluing the book after every step), respects the engine's step cap,
//! never flips a position, is deterministic, and rejects bad configuration by field name.

use std::path::PathBuf;

use offchain_risk::instrument::{Instrument, Portfolio, Position, Settlement};
use offchain_risk::liquidation::{
    apply_step, plan_liquidation, LiquidationConfig, LiquidationPlan, StopReason,
};
use offchain_risk::margin::basis::BasisRisk;
use offchain_risk::margin::factors::{RiskFactor, Scenario};
use offchain_risk::margin::{margin, scenario_pnl, MarginConfig, MarginModel};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::pricing::OptionKind;
use offchain_risk::valuation::{value_position, PricingModel};
use offchain_risk::{DataError, RiskError};
use proptest::prelude::*;

/// BTC at 50,000 with a downward skew, ETH at 2,500; snapshot at 1.7e12 ms.
fn market() -> MarketSnapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/market.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const NEAR: i64 = 1_707_884_000_000; // 0.25 years after the snapshot
const FAR: i64 = 1_731_536_000_000; // 1 year

fn future(size: f64) -> Position {
    Position {
        instrument: Instrument::Future {
            underlying: "BTC".into(),
            expiry_ms: NEAR,
            settlement: Settlement::Linear,
        },
        size,
        entry_price: None,
    }
}

fn perpetual(size: f64) -> Position {
    Position {
        instrument: Instrument::Perpetual {
            underlying: "BTC".into(),
            settlement: Settlement::Linear,
        },
        size,
        entry_price: Some(48_000.0),
    }
}

fn option(kind: OptionKind, strike: f64, expiry_ms: i64, size: f64) -> Position {
    Position::linear_option("BTC", expiry_ms, strike, kind, size)
}

fn book(positions: Vec<Position>) -> Portfolio {
    Portfolio { account: None, positions }
}

/// Maintenance margin and mark-to-market under the default grid.
fn grid(portfolio: &Portfolio) -> (f64, f64) {
    let result = margin(portfolio, &market(), MarginModel::ScenarioGrid, &MarginConfig::default())
        .unwrap()
        .result;
    (result.maintenance_margin, result.mark_to_market)
}

/// Collateral that puts the account's equity at `fraction` of its maintenance margin.
fn collateral_for(portfolio: &Portfolio, fraction: f64) -> f64 {
    let (maintenance, mark_to_market) = grid(portfolio);
    (fraction * maintenance - mark_to_market).max(0.0)
}

fn plan_for(portfolio: &Portfolio, collateral: f64, config: &LiquidationConfig) -> LiquidationPlan {
    plan_liquidation(
        portfolio,
        &market(),
        MarginModel::ScenarioGrid,
        &MarginConfig::default(),
        collateral,
        config,
    )
    .unwrap()
}

/// Scenario losses `max(0, −P&L)` of the positions, for every grid row applied to BTC and to
/// ETH in turn, recomputed from scratch.
fn scenario_losses(portfolio: &Portfolio) -> Vec<f64> {
    let config = MarginConfig::default();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for underlying in ["BTC", "ETH"] {
        for row in &config.grid.scenarios {
            scenarios.push(Scenario {
                label: String::new(),
                shocks: [
                    (RiskFactor::Spot(underlying.into()), row.spot_return),
                    (RiskFactor::VolLevel(underlying.into()), row.vol_level),
                    (RiskFactor::Skew(underlying.into()), row.skew_rotation),
                ]
                .into_iter()
                .collect(),
                loss_weight: row.loss_weight,
            });
        }
    }
    scenario_pnl(portfolio, &market(), &scenarios, &config.pricing, &config.grid.vol_term)
        .unwrap()
        .iter()
        .map(|row| (-row.iter().sum::<f64>()).max(0.0))
        .collect()
}

fn worst(losses: &[f64]) -> f64 {
    losses.iter().fold(0.0, |m, l| m.max(*l))
}

/// Replays `plan` on `portfolio` and checks what every plan must satisfy: legs reduce and never
/// flip, each step within the notional cap and leg count, no scenario loss rises (beyond the
/// step's cost and rounding), the worst loss weakly falls, margins and equity as reported.
/// Returns the portfolio after the plan.
fn check_plan(
    portfolio: &Portfolio,
    collateral: f64,
    plan: &LiquidationPlan,
    config: &LiquidationConfig,
) -> Portfolio {
    let mut current = portfolio.clone();
    let mut equity = collateral + grid(portfolio).1;
    for (s, step) in plan.steps.iter().enumerate() {
        assert!(!step.legs.is_empty() && step.legs.len() <= config.max_legs_per_step);
        let notional: f64 = step.legs.iter().map(|l| l.notional_usd).sum();
        assert!(
            notional <= config.max_step_notional_usd * (1.0 + 1e-12),
            "step {s}: notional {notional} above the cap {}",
            config.max_step_notional_usd
        );
        for leg in &step.legs {
            let held = current.positions[leg.position_index].size;
            assert!(leg.size_to_close != 0.0, "step {s}: empty leg");
            assert!(held * leg.size_to_close < 0.0, "step {s}: leg {leg:?} does not reduce {held}");
            assert!(leg.size_to_close.abs() <= held.abs() * (1.0 + 1e-12), "step {s}: flips");
            let expected = (leg.size_to_close * leg.mark_price).abs();
            assert!((leg.notional_usd - expected).abs() <= 1e-9 * expected.max(1.0));
            assert!(leg.estimated_cost_usd >= 0.0 && leg.penalty_usd >= 0.0);
        }
        let before = scenario_losses(&current);
        let next = apply_step(&current, step);
        for (p, (a, b)) in next.positions.iter().zip(&current.positions).enumerate() {
            assert!(a.size * b.size >= 0.0, "step {s}: position {p} flipped");
            assert!(a.size.abs() <= b.size.abs(), "step {s}: position {p} grew");
        }
        let after = scenario_losses(&next);
        let tolerance = 1e-7 * (1.0 + worst(&before));
        for (k, (post, pre)) in after.iter().zip(&before).enumerate() {
            assert!(
                *post <= pre + step.cost_usd + tolerance,
                "step {s}, scenario {k}: loss {pre} -> {post} (cost {})",
                step.cost_usd
            );
            // Stronger: the positions alone never lose more.
            assert!(*post <= pre + tolerance, "step {s}, scenario {k}: loss {pre} -> {post}");
        }
        assert!(worst(&after) <= worst(&before) + tolerance, "step {s}: worst loss rose");
        let (maintenance, _) = grid(&next);
        assert!((maintenance - step.margin_after).abs() <= 1e-9 * (1.0 + maintenance));
        equity -= step.cost_usd;
        assert!((equity - step.equity_after).abs() <= 1e-9 * (1.0 + equity.abs()));
        current = next;
    }
    let (maintenance, mark_to_market) = grid(&current);
    assert!((maintenance - plan.final_margin).abs() <= 1e-9 * (1.0 + maintenance));
    // Equity after = collateral + what remains + what was realised at the mark − costs.
    let realised = grid(portfolio).1 - mark_to_market;
    let final_equity = collateral + mark_to_market + realised - plan.total_cost;
    assert!((final_equity - plan.final_equity).abs() <= 1e-6 * (1.0 + final_equity.abs()));
    assert_eq!(plan.restored, plan.stop_reason == StopReason::Restored);
    if plan.restored {
        let target = maintenance * (1.0 + config.buffer_bps / 1e4);
        assert!(plan.final_equity >= target * (1.0 - 1e-12), "restored but below target");
    }
    current
}

#[test]
fn an_unhedged_short_put_with_little_collateral_is_restored_by_buying_it_back() {
    let portfolio = book(vec![option(OptionKind::Put, 42_000.0, NEAR, -10.0)]);
    let collateral = collateral_for(&portfolio, 0.6);
    let config = LiquidationConfig::default();
    let plan = plan_for(&portfolio, collateral, &config);
    assert!(plan.initial_equity < plan.initial_margin);
    assert!(plan.restored, "{plan:#?}");
    assert!(!plan.steps.is_empty());
    let after = check_plan(&portfolio, collateral, &plan, &config);
    // Bought back, not all of it: least cost stops once maintenance + 10% is met.
    let left = after.positions[0].size;
    assert!(left < 0.0 && left > -10.0, "left {left}");
    assert!(plan.final_margin_ratio >= 1.1 * (1.0 - 1e-12));
    assert!(plan.total_cost > 0.0 && plan.total_penalty > 0.0);
    assert!(plan.steps.iter().all(|s| s.legs[0].size_to_close > 0.0));
}

fn hedged_book() -> Portfolio {
    // Short 4 ATM calls, delta-hedged with the near future.
    let call = option(OptionKind::Call, 50_000.0, NEAR, -4.0);
    let snapshot = market();
    let model = PricingModel::default();
    let call_delta = value_position(&call, &snapshot, &model).unwrap().delta;
    let future_delta = value_position(&future(1.0), &snapshot, &model).unwrap().delta;
    book(vec![call, future(-call_delta / future_delta)])
}

#[test]
fn a_hedged_book_is_unwound_proportionally_and_never_hedge_first() {
    let portfolio = hedged_book();
    let collateral = collateral_for(&portfolio, 0.7);
    let config = LiquidationConfig { max_legs_per_step: 2, ..LiquidationConfig::default() };
    let plan = plan_for(&portfolio, collateral, &config);
    assert!(plan.restored, "{plan:#?}");
    let after = check_plan(&portfolio, collateral, &plan, &config);
    // The hedge is never closed ahead of the option it hedges.
    let mut current = portfolio.clone();
    for step in &plan.steps {
        current = apply_step(&current, step);
        let option_left = current.positions[0].size / portfolio.positions[0].size;
        let hedge_left = current.positions[1].size / portfolio.positions[1].size;
        assert!(hedge_left >= option_left - 1e-9, "hedge {hedge_left} vs option {option_left}");
    }
    assert!(after.positions[1].size > 0.0, "the hedge is kept while the option is open");
}

#[test]
fn with_one_leg_per_step_a_hedged_book_is_left_rather_than_made_riskier() {
    // Closing the short call alone leaves the long future naked in a crash; closing the future
    // alone leaves the call naked in a rally: no single leg is admissible.
    let portfolio = hedged_book();
    let collateral = collateral_for(&portfolio, 0.7);
    let config = LiquidationConfig::default();
    assert_eq!(config.max_legs_per_step, 1);
    let plan = plan_for(&portfolio, collateral, &config);
    check_plan(&portfolio, collateral, &plan, &config);
    assert!(!plan.restored);
    assert_eq!(plan.stop_reason, StopReason::NoAdmissibleLeg);
    assert!(plan.steps.is_empty(), "{plan:#?}");
    // A naked leg on another underlying beside the hedged pair is still liquidated (a naked leg
    // on BTC would not be: a short put's gain in a rally offsets the pair's loss there).
    let mut positions = portfolio.positions.clone();
    positions.push(Position {
        instrument: Instrument::Perpetual {
            underlying: "ETH".into(),
            settlement: Settlement::Linear,
        },
        size: 400.0,
        entry_price: None,
    });
    let wider = book(positions);
    let collateral = collateral_for(&wider, 0.7);
    let plan = plan_for(&wider, collateral, &config);
    check_plan(&wider, collateral, &plan, &config);
    assert!(!plan.steps.is_empty());
    assert!(plan.steps.iter().all(|s| s.legs[0].position_index == 2), "{plan:#?}");
}

#[test]
fn steps_respect_the_per_step_notional_cap() {
    // Long 40 BTC perpetual and 25 BTC future: about 3.3 M$ of notional against a 250 k$ cap.
    let portfolio = book(vec![perpetual(40.0), future(25.0)]);
    let collateral = collateral_for(&portfolio, 0.3);
    let config =
        LiquidationConfig { max_step_notional_usd: 250_000.0, ..LiquidationConfig::default() };
    let plan = plan_for(&portfolio, collateral, &config);
    assert!(plan.restored, "{plan:#?}");
    assert!(plan.steps.len() >= 2, "a capped plan takes several blocks: {plan:#?}");
    check_plan(&portfolio, collateral, &plan, &config);
    assert!(plan.steps.iter().all(|s| s.notional_usd <= 250_000.0 * (1.0 + 1e-12)));
    // With the calibrated basis risk the future goes first: closing it also releases its carry
    // add-on (4.3% a year × its 0.25 years), far more relief per dollar than the perpetual's.
    assert_eq!(plan.steps[0].legs[0].position_index, 1);
    // Without basis risk both legs relieve the same spot risk, and the deepest market
    // (perpetual, 1 bps) goes first.
    let mut no_basis = MarginConfig::default();
    no_basis.grid.basis = BasisRisk::ZERO;
    let plan = plan_liquidation(
        &portfolio,
        &market(),
        MarginModel::ScenarioGrid,
        &no_basis,
        collateral,
        &config,
    )
    .unwrap();
    assert!(plan.restored, "{plan:#?}");
    assert_eq!(plan.steps[0].legs[0].position_index, 0);
}

#[test]
fn an_account_above_maintenance_gets_an_empty_plan() {
    let portfolio = book(vec![option(OptionKind::Put, 42_000.0, NEAR, -10.0)]);
    let collateral = collateral_for(&portfolio, 1.5);
    let plan = plan_for(&portfolio, collateral, &LiquidationConfig::default());
    assert!(plan.restored);
    assert!(plan.steps.is_empty());
    assert!(plan.total_cost.abs() < 1e-12);
    assert!(plan.final_margin_ratio >= 1.5 * (1.0 - 1e-12));
}

#[test]
fn the_plan_is_deterministic() {
    let portfolio = book(vec![
        option(OptionKind::Put, 42_000.0, NEAR, -6.0),
        option(OptionKind::Call, 60_000.0, FAR, -3.0),
        perpetual(2.0),
    ]);
    let collateral = collateral_for(&portfolio, 0.5);
    let config = LiquidationConfig { max_legs_per_step: 3, ..LiquidationConfig::default() };
    let first = plan_for(&portfolio, collateral, &config);
    let second = plan_for(&portfolio, collateral, &config);
    assert_eq!(first, second);
    assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap());
    check_plan(&portfolio, collateral, &first, &config);
}

#[test]
fn a_bankrupt_account_returns_restored_false_without_panicking() {
    // No collateral at all and a short put: equity is negative, and closing everything leaves
    // a negative equity against a zero requirement.
    let portfolio = book(vec![option(OptionKind::Put, 45_000.0, NEAR, -5.0)]);
    let config = LiquidationConfig::default();
    let plan = plan_for(&portfolio, 0.0, &config);
    assert!(!plan.restored);
    assert_eq!(plan.stop_reason, StopReason::NothingLeft);
    assert!(plan.final_equity < 0.0);
    assert!(plan.final_margin_ratio.abs() < 1e-12);
    check_plan(&portfolio, 0.0, &plan, &config);
    // An empty book is trivially fine.
    let plan = plan_liquidation(
        &book(vec![]),
        &market(),
        MarginModel::ScenarioGrid,
        &MarginConfig::default(),
        0.0,
        &config,
    )
    .unwrap();
    assert!(plan.restored && plan.steps.is_empty());
}

fn invalid_field(config: &LiquidationConfig, collateral: f64) -> String {
    let portfolio = book(vec![option(OptionKind::Put, 42_000.0, NEAR, -1.0)]);
    match plan_liquidation(
        &portfolio,
        &market(),
        MarginModel::ScenarioGrid,
        &MarginConfig::default(),
        collateral,
        config,
    ) {
        Err(RiskError::Data(DataError::Invalid { field, .. })) => field,
        other => panic!("expected an invalid-field error, got {other:?}"),
    }
}

#[test]
fn bad_configuration_is_a_typed_error_naming_the_field() {
    let base = LiquidationConfig::default();
    let negative_buffer = LiquidationConfig { buffer_bps: -1.0, ..base.clone() };
    assert_eq!(invalid_field(&negative_buffer, 1.0), "liquidation.buffer_bps");
    let zero_cap = LiquidationConfig { max_step_notional_usd: 0.0, ..base.clone() };
    assert_eq!(invalid_field(&zero_cap, 1.0), "liquidation.max_step_notional_usd");
    let no_legs = LiquidationConfig { max_legs_per_step: 0, ..base.clone() };
    assert_eq!(invalid_field(&no_legs, 1.0), "liquidation.max_legs_per_step");
    let mut bad_cost = base.clone();
    bad_cost.costs.option.half_spread_bps = f64::NAN;
    assert_eq!(invalid_field(&bad_cost, 1.0), "liquidation.costs.option.half_spread_bps");
    assert_eq!(invalid_field(&base, -5.0), "weighted_collateral_value");
    // JSON: omitted fields take the defaults, unknown ones are refused.
    let json = r#"{"buffer_bps": 500,
        "costs": {"perpetual": {"half_spread_bps": 0.5, "impact_bps_per_million_usd": 0.2}}}"#;
    let parsed: LiquidationConfig = serde_json::from_str(json).unwrap();
    assert!((parsed.buffer_bps - 500.0).abs() < 1e-12);
    assert_eq!(parsed.max_legs_per_step, 1);
    assert_eq!(parsed.costs.option, base.costs.option);
    assert!(serde_json::from_str::<LiquidationConfig>(r#"{"bufer_bps": 5}"#).is_err());
}

fn any_position() -> impl Strategy<Value = Position> {
    let size = prop_oneof![-5.0..-0.1f64, 0.1..5.0f64];
    // No spot: its whole value is equity, which would leave most books well collateralised.
    (0usize..5, size, 0usize..5, any::<bool>(), any::<bool>()).prop_map(
        |(kind, size, strike, near, call)| match kind {
            0 | 1 => future(size),
            2 => perpetual(size),
            _ => option(
                if call { OptionKind::Call } else { OptionKind::Put },
                [40_000.0, 45_000.0, 50_000.0, 55_000.0, 60_000.0][strike],
                if near { NEAR } else { FAR },
                size,
            ),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_step_weakly_lowers_every_scenario_loss(
        positions in prop::collection::vec(any_position(), 1..5),
        fraction in 0.0..0.95f64,
        legs in 1usize..4,
        cap in prop_oneof![Just(1e6), 5e4..5e5],
    ) {
        let portfolio = book(positions);
        let collateral = collateral_for(&portfolio, fraction);
        let config = LiquidationConfig {
            max_legs_per_step: legs,
            max_step_notional_usd: cap,
            ..LiquidationConfig::default()
        };
        let plan = plan_for(&portfolio, collateral, &config);
        check_plan(&portfolio, collateral, &plan, &config);
        prop_assert!(plan.total_cost >= 0.0);
        prop_assert!(plan.steps.len() <= config.max_steps);
    }
}
