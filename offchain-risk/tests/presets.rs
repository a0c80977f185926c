//! Grid presets and vol dynamics: each preset's parameters pinned to the config it cites (the
//! numbers are written here, traced to the lines of Derive v2-core's
//! `scripts/config-mainnet.sol` at `7736900d`), each Derive mechanism (static discount, basis
//! contingency, flat add-ons, tail rows, skew rows) shown binding on a book built to trigger it
//! and checked against a hand computation, and the three vol dynamics compared.
// Parameters are pinned exactly: they are the config's decimal literals, not computed values.
#![allow(clippy::float_cmp)]

use std::path::PathBuf;

use offchain_risk::instrument::{Portfolio, Position};
use offchain_risk::margin::basis::BasisRisk;
use offchain_risk::margin::factors::VolDynamics;
use offchain_risk::margin::grid::{
    BasisContingency, FlatAddOns, GridConfig, GridScenario, InitialMarginRule, StaticDiscount,
    UnderlyingGridMargin, WingShock, WingShockParameters,
};
use offchain_risk::margin::presets::GridPreset;
use offchain_risk::margin::{margin, MarginConfig, MarginDetail, MarginModel, ModelMargin};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::pricing::{black76, OptionKind};

mod support;
use support::{book, fixture_market, perpetual, spot, FAR, NEAR};

/// BTC at 50,000, rate 3%, a downward skew (SVI ρ = −0.4); perpetual mark 50,050.
fn market() -> MarketSnapshot {
    fixture_market()
}

/// The fixture with a flat smile: every slice's SVI `b = 0` (total variance `a` everywhere).
fn flat_market() -> MarketSnapshot {
    let mut market = market();
    let btc = market.underlyings.get_mut("BTC").unwrap();
    for slice in &mut btc.surface.as_mut().unwrap().slices {
        slice.params.b = 0.0;
    }
    market
}

fn option(kind: OptionKind, strike: f64, expiry_ms: i64, size: f64) -> Position {
    Position::linear_option("BTC", expiry_ms, strike, kind, size)
}

fn grid(portfolio: &Portfolio, market: &MarketSnapshot, grid: GridConfig) -> ModelMargin {
    let config = MarginConfig { grid, ..MarginConfig::default() };
    margin(portfolio, market, MarginModel::ScenarioGrid, &config).unwrap()
}

fn btc(outcome: &ModelMargin) -> UnderlyingGridMargin {
    let MarginDetail::ScenarioGrid { underlyings } = &outcome.detail else { panic!("grid") };
    underlyings.iter().find(|u| u.underlying == "BTC").unwrap().clone()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1.0)
}

/// (spot return, vol level, loss weight) of each row.
fn rows(config: &GridConfig) -> Vec<(f64, f64, f64, Option<WingShock>)> {
    config
        .scenarios
        .iter()
        .map(|s| (s.spot_return, s.vol_level, s.loss_weight, s.wing_shock))
        .collect()
}

fn assert_rows(config: &GridConfig, expected: &[(f64, f64, f64, Option<WingShock>)]) {
    let actual = rows(config);
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            close(a.0, e.0, 1e-12) && a.1 == e.1 && a.2 == e.2 && a.3 == e.3,
            "row {i}: {a:?} vs {e:?}"
        );
        assert_eq!(config.scenarios[i].skew_rotation, 0.0, "row {i}");
    }
}

#[test]
fn derive_pmrm2_is_config_mainnet_get_pmrm2_params_and_pm2_scenarios() {
    let c = GridPreset::DerivePmrm2.config();
    // getDefaultPM2Scenarios (lines 55-92): spotShock − 1, Up = +volRangeUp 0.5, Down =
    // −volRangeDown 0.3, dampeningFactor.
    let (u, d, n) = (0.5, -0.3, 0.0);
    let mut expected = vec![(0.18, u, 1.0, None)];
    for spot in [0.135, 0.09, 0.045, 0.0, -0.045, -0.09, -0.135] {
        for vol in [u, n, d] {
            expected.push((spot, vol, 1.0, None));
        }
    }
    expected.extend([
        (-0.18, u, 1.0, None),
        (-0.66, u, 0.21, None), // scenarios[23]: spotShock 0.34e18, dampening 0.21e18
        (-0.33, u, 0.42, None),
        (0.5, u, 0.2772, None),
        (1.0, u, 0.1386, None),
        (2.0, u, 0.0693, None),
        (3.0, u, 0.0462, None),
        (4.0, u, 0.03465, None),
        (5.0, u, 0.02772, None),
        (0.0, 0.0, 1.0, Some(WingShock::Linear)), // scenarios[31]: VolShockDirection.Linear
        (0.0, 0.0, 1.0, Some(WingShock::Abs)),    // scenarios[32]: VolShockDirection.Abs
    ]);
    assert_rows(&c, &expected);
    // volShockParams (lines 169-176).
    assert_eq!(
        (c.vol_term.reference_days, c.vol_term.short_power, c.vol_term.long_power),
        (30.0, 0.3, 0.13)
    );
    assert_eq!(c.vol_term.floor_days, 1.0); // dteFloor 1 days
    assert_eq!(c.min_vol_up, 0.4); // minVolUpShock 0.4e18
                                   // marginParams (lines 158-167).
    assert_eq!((c.maintenance_factor, c.initial_factor), (0.8, 1.0));
    assert_eq!(c.initial_margin, InitialMarginRule::ScaledLossPlusAddOns);
    assert_eq!(
        c.static_discount,
        Some(StaticDiscount {
            long_base: 1.05,
            long_rate_mult: 0.0,
            long_rate_add: 0.16,
            short_base: 0.95,
            short_rate_mult: 0.0,
            short_rate_add: 0.16,
            cap_short_at_inverse_discount: true,
        })
    );
    // basisContParams (lines 140-145).
    assert_eq!(
        c.basis_contingency,
        Some(BasisContingency {
            spot_up: 1.045,
            spot_down: 0.955,
            add_factor: 0.5,
            mult_factor: 2.0
        })
    );
    // otherContParams (lines 147-156): MM/IM perp 3%/1%, MM/IM option 0.3%/0.2%.
    assert_eq!(
        c.add_ons,
        FlatAddOns {
            perpetual: 0.03,
            spot: 0.0,
            naked_short_option: 0.003,
            initial_perpetual: 0.01,
            initial_spot: 0.0,
            initial_naked_short_option: 0.002,
        }
    );
    // skewShockParams (lines 178-187).
    assert_eq!(
        c.wing_shock,
        Some(WingShockParameters {
            linear_base_cap: 0.25,
            abs_base_cap: 0.25,
            linear_c_base: -0.1,
            abs_c_base: -0.1,
            min_k_star: 0.01,
            width_scale: 4.0,
            vol_param_static: 0.6,
            vol_param_scale: 0.0,
        })
    );
    // PMRM_2 reads each option's vol once from the vol feed and only scales it.
    assert_eq!(c.vol_dynamics, VolDynamics::StickyStrike);
    assert_eq!((c.short_option_minimum, c.basis), (0.0, BasisRisk::ZERO));
}

#[test]
fn derive_pmrm1_is_config_mainnet_get_pmrm_params_and_default_scenarios() {
    let c = GridPreset::DerivePmrm1.config();
    // getDefaultScenarios (lines 27-53): Up = +volRangeUp 0.6, Down = −volRangeDown 0.3.
    let (u, d, n) = (0.6, -0.3, 0.0);
    let mut expected = vec![(0.20, u, 1.0, None)];
    for spot in [0.15, 0.10, 0.05, 0.0, -0.05, -0.10, -0.15] {
        for vol in [u, n, d] {
            expected.push((spot, vol, 1.0, None));
        }
    }
    expected.push((-0.20, u, 1.0, None));
    assert_rows(&c, &expected);
    // volShockParams (lines 124-130): no vol-up floor in v1.
    assert_eq!(
        (c.vol_term.reference_days, c.vol_term.short_power, c.vol_term.long_power),
        (30.0, 0.3, 0.13)
    );
    assert_eq!((c.vol_term.floor_days, c.min_vol_up), (1.0, 0.0));
    // marginParams (lines 117-122): imFactor 1.25 on MM; static discount 0.95, rate × 1 + 0.12
    // on positive expiry values only.
    assert_eq!((c.maintenance_factor, c.initial_factor), (1.0, 1.25));
    assert_eq!(c.initial_margin, InitialMarginRule::ScaledMaintenance);
    let discount = c.static_discount.unwrap();
    assert_eq!(
        (discount.long_base, discount.long_rate_mult, discount.long_rate_add),
        (0.95, 1.0, 0.12)
    );
    assert_eq!(discount.factors(0.5, 0.03).1, 1.0);
    // basisContParams (lines 100-105).
    assert_eq!(
        c.basis_contingency,
        Some(BasisContingency {
            spot_up: 1.05,
            spot_down: 0.95,
            add_factor: 1.0,
            mult_factor: 1.2
        })
    );
    // otherContParams (lines 107-115): perpPercent, basePercent 3%, optionPercent 2%.
    assert_eq!(
        c.add_ons,
        FlatAddOns {
            perpetual: 0.03,
            spot: 0.03,
            naked_short_option: 0.02,
            ..FlatAddOns::default()
        }
    );
    assert_eq!(c.wing_shock, None);
    assert_eq!(c.vol_dynamics, VolDynamics::StickyStrike);
}

#[test]
fn cme_span16_and_the_project_default_are_what_they_were() {
    let span = GridPreset::CmeSpan16.config();
    assert_eq!(span, GridConfig::span(0.15, 0.25));
    assert_eq!(span.scenarios.len(), 16);
    assert_eq!(
        span.scenarios
            .iter()
            .filter(|s| s.loss_weight == 0.35)
            .map(|s| s.spot_return)
            .collect::<Vec<_>>(),
        vec![0.3, -0.3]
    );
    let default = GridPreset::ProjectDefault.config();
    assert_eq!(default, GridConfig::default());
    assert_eq!(MarginConfig::default().grid, default);
    assert_eq!(default.vol_dynamics, VolDynamics::StickyMoneyness);
    assert_eq!(default.scenarios.len(), 28);
    // Its core rows are PMRM_2's 23 (in another order); its tails and skew rows are its own.
    let pmrm2 = GridPreset::DerivePmrm2.config();
    for row in &pmrm2.scenarios[..23] {
        assert!(
            default.scenarios.iter().any(|d| close(d.spot_return, row.spot_return, 1e-12)
                && d.vol_level == row.vol_level
                && d.loss_weight == 1.0
                && d.skew_rotation == 0.0),
            "{row:?}"
        );
    }
    assert!(default.static_discount.is_none() && default.basis_contingency.is_none());
    assert_eq!(default.add_ons, FlatAddOns::default());
}

#[test]
fn presets_parse_by_name_and_unknown_names_list_the_valid_ones() {
    for preset in GridPreset::ALL {
        assert_eq!(preset.name().parse::<GridPreset>(), Ok(preset));
        let json = serde_json::to_string(&preset).unwrap();
        assert_eq!(json, format!("\"{}\"", preset.name()));
    }
    let error = "pmrm3".parse::<GridPreset>().unwrap_err();
    assert!(error.contains("pmrm3"), "{error}");
    for name in ["project-default", "derive-pmrm2", "derive-pmrm1", "cme-span16"] {
        assert!(error.contains(name), "{error}");
    }
    for dynamics in VolDynamics::ALL {
        assert_eq!(dynamics.name().parse::<VolDynamics>(), Ok(dynamics));
        let json = serde_json::to_string(&dynamics).unwrap();
        assert_eq!(json, format!("\"{}\"", dynamics.name()));
        let snake = format!("\"{}\"", dynamics.name().replace('-', "_"));
        assert_eq!(serde_json::from_str::<VolDynamics>(&snake).unwrap(), dynamics);
    }
    assert_eq!("sticky_strike".parse::<VolDynamics>(), Ok(VolDynamics::StickyStrike));
    let error = "sticky-vol".parse::<VolDynamics>().unwrap_err();
    assert!(error.contains("sticky-strike") && error.contains("sticky-delta"), "{error}");
    // A JSON grid from before the preset fields keeps its meaning (they default to off).
    let mut old = serde_json::to_value(GridConfig::pmrm()).unwrap();
    let fields = old.as_object_mut().unwrap();
    for new in ["vol_dynamics", "min_vol_up", "maintenance_factor", "initial_margin", "add_ons"] {
        fields.remove(new);
    }
    let parsed: GridConfig = serde_json::from_value(old).unwrap();
    assert_eq!(parsed, GridConfig::pmrm());
}

/// Only the unshocked row: the margin is then the static discount alone.
fn unshocked(mut config: GridConfig) -> GridConfig {
    config.scenarios = vec![GridScenario::new(0.0, 0.0, 0.0, 1.0)];
    config.basis_contingency = None;
    config
}

#[test]
fn static_discount_binds_on_long_and_short_option_value() {
    let market = market();
    // A long 1-year call: PMRM_2 values it at 1.05·e^(−0.16) of its MtM in every scenario, so
    // the unshocked row loses (1 − 1.05·e^(−0.16))·V, and maintenance is 0.8 of that.
    let long = book(vec![option(OptionKind::Call, 55_000.0, FAR, 2.0)]);
    let outcome = grid(&long, &market, unshocked(GridPreset::DerivePmrm2.config()));
    let value = outcome.result.mark_to_market;
    let factor = 1.05 * (-0.16f64).exp();
    let part = btc(&outcome);
    assert!(close(part.worst_loss, (1.0 - factor) * value, 1e-9), "{part:?} value {value}");
    assert!(close(outcome.result.maintenance_margin, 0.8 * (1.0 - factor) * value, 1e-9));
    // PMRM v1: 0.95·e^(−(0.03 + 0.12)) on the positive value; maintenance at factor 1.
    let v1 = grid(&long, &market, unshocked(GridPreset::DerivePmrm1.config()));
    let factor_v1 = 0.95 * (-(0.03 + 0.12f64)).exp();
    assert!(close(v1.result.maintenance_margin, (1.0 - factor_v1) * value, 1e-9));
    // Without the discount the unshocked row costs nothing.
    let mut plain = unshocked(GridPreset::DerivePmrm2.config());
    plain.static_discount = None;
    assert!(grid(&long, &market, plain).result.maintenance_margin < 1e-6);

    // A short put: PMRM_2 scales the shocked negative value by f = min(0.95·e^(0.16T), e^(rT)).
    // At 3 months f < 1, a credit that shrinks the crash loss; at a year the cap e^(rT) binds
    // and f > 1 adds to it. Check both against the same row without the discount.
    for (expiry_ms, credit) in [(NEAR, true), (FAR, false)] {
        let short = book(vec![option(OptionKind::Put, 45_000.0, expiry_ms, -1.0)]);
        let mut config = GridPreset::DerivePmrm2.config();
        config.scenarios = vec![GridScenario::new(-0.135, 0.0, 0.0, 1.0)];
        config.basis_contingency = None;
        let with = grid(&short, &market, config.clone());
        config.static_discount = None;
        let without = btc(&grid(&short, &market, config)).worst_loss;
        let t = market.year_fraction(expiry_ms);
        let f = (0.95 * (0.16 * t).exp()).min((0.03 * t).exp());
        assert_eq!(f < 1.0, credit, "T = {t}: f = {f}");
        let shocked_value = with.result.mark_to_market - without;
        let expected = without + (1.0 - f) * shocked_value;
        assert!(close(btc(&with).worst_loss, expected, 1e-9), "{expected} vs {:?}", btc(&with));
        assert_eq!(btc(&with).worst_loss < without, credit);
    }
}

#[test]
fn basis_contingency_binds_on_synthetic_forwards_across_expiries() {
    // Long a synthetic forward (call − put) in the near expiry, short one in the far: vol
    // shocks cancel inside each expiry and the spot move nets across them, but the basis
    // contingency charges each expiry's own loss under spot ×1.045 / ×0.955.
    let market = market();
    let strike = 50_000.0;
    let portfolio = book(vec![
        option(OptionKind::Call, strike, NEAR, 1.0),
        option(OptionKind::Put, strike, NEAR, -1.0),
        option(OptionKind::Call, strike, FAR, -1.0),
        option(OptionKind::Put, strike, FAR, 1.0),
    ]);
    let mut config = GridPreset::DerivePmrm2.config();
    // Without the static discount the scenario rows see only the residual forward delta.
    config.static_discount = None;
    let outcome = grid(&portfolio, &market, config);
    let part = btc(&outcome);
    // C − P = df·(F − K): each expiry's loss under a 4.5% move is df·0.045·F.
    let btc_market = market.underlying("BTC").unwrap();
    let expiry = |ms: i64| {
        let t = market.year_fraction(ms);
        let forward = btc_market.forward(market.timestamp_ms, t);
        ((-btc_market.rate * t).exp(), forward, t)
    };
    let (df_near, f_near, t_near) = expiry(NEAR);
    let (df_far, f_far, t_far) = expiry(FAR);
    let expected = df_near * 0.045 * f_near * (0.5 + 2.0 * t_near)
        + df_far * 0.045 * f_far * (0.5 + 2.0 * t_far);
    assert!(close(part.basis_contingency, expected, 1e-6), "{part:?} vs {expected}");
    assert!(part.basis_contingency > 3.0 * part.worst_loss, "{part:?}");
    // Calls and puts at one strike offset in Derive's naked-short count: no add-on.
    assert_eq!(part.maintenance_add_ons, 0.0);
    assert!(close(outcome.result.maintenance_margin, 0.8 * expected, 1e-6));
    assert!(close(outcome.result.initial_margin, expected, 1e-6));
    // The project default has no contingency: it charges the residual only.
    let ours = grid(&portfolio, &market, GridConfig::default());
    assert!(ours.result.maintenance_margin < 0.5 * outcome.result.maintenance_margin);
}

#[test]
fn flat_add_ons_bind_on_a_perpetual_hedged_with_spot() {
    let market = market();
    let hedged = book(vec![spot(10.0), perpetual(-10.0)]);
    let perp_notional = 10.0 * 50_050.0; // linear perpetual: size × mark
    let spot_notional = 10.0 * 50_000.0;
    // PMRM_2: MM = 0.8 × worst (≈ mark − spot residual) + 3% of perp notional; IM adds 1%.
    let v2 = grid(&hedged, &market, GridPreset::DerivePmrm2.config());
    let part = btc(&v2);
    assert!(close(part.maintenance_add_ons, 0.03 * perp_notional, 1e-12), "{part:?}");
    assert!(close(part.initial_add_ons, 0.01 * perp_notional, 1e-12));
    assert!(close(
        v2.result.maintenance_margin,
        0.8 * part.worst_loss + 0.03 * perp_notional,
        1e-12
    ));
    assert!(close(v2.result.initial_margin, part.worst_loss + 0.04 * perp_notional, 1e-12));
    assert!(part.maintenance_add_ons > 10.0 * part.worst_loss, "the add-on binds: {part:?}");
    // PMRM v1: 3% of perp and 3% of spot, IM = 1.25 × MM.
    let v1 = grid(&hedged, &market, GridPreset::DerivePmrm1.config());
    let part = btc(&v1);
    assert!(close(part.maintenance_add_ons, 0.03 * (perp_notional + spot_notional), 1e-12));
    assert!(close(v1.result.initial_margin, 1.25 * v1.result.maintenance_margin, 1e-12));
    // Naked shorts per expiry and strike: a short put is naked, one covered by a long call at
    // the same strike is not (Derive nets calls and puts per strike).
    let naked = book(vec![option(OptionKind::Put, 45_000.0, NEAR, -3.0)]);
    let part = btc(&grid(&naked, &market, GridPreset::DerivePmrm2.config()));
    assert!(close(part.maintenance_add_ons, 0.003 * 3.0 * 50_000.0, 1e-12));
    assert!(close(part.initial_add_ons, 0.002 * 3.0 * 50_000.0, 1e-12));
    let covered = book(vec![
        option(OptionKind::Put, 45_000.0, NEAR, -3.0),
        option(OptionKind::Call, 45_000.0, NEAR, 2.0),
    ]);
    let part = btc(&grid(&covered, &market, GridPreset::DerivePmrm2.config()));
    assert!(close(part.maintenance_add_ons, 0.003 * 1.0 * 50_000.0, 1e-12));
    // The project default charges the hedge only its calibrated basis add-on (BTC's own
    // perpetual premium shock on perp notional; this market's funding rate is zero, so no
    // funding is due).
    let ours = btc(&grid(&hedged, &market, GridConfig::default()));
    assert!(
        close(
            ours.basis_add_on,
            BasisRisk::default().factors("BTC").perpetual_basis_shock * perp_notional,
            1e-12
        ) && ours.maintenance_add_ons == 0.0,
        "{ours:?}"
    );
}

#[test]
fn the_minus_66_percent_tail_row_binds_on_a_far_out_of_the_money_short_put() {
    // A put struck at 40% of spot loses nothing in the ±18% rows; only the −66% × 0.21 row
    // (scenarios[23]) reaches it.
    let market = market();
    let portfolio = book(vec![option(OptionKind::Put, 20_000.0, NEAR, -10.0)]);
    let c = GridPreset::DerivePmrm2.config();
    let outcome = grid(&portfolio, &market, c.clone());
    let part = btc(&outcome);
    assert_eq!(part.worst_scenario, 23, "{part:?}");
    assert!(
        close(c.scenarios[23].spot_return, -0.66, 1e-12) && c.scenarios[23].loss_weight == 0.21
    );
    // Cross-check against a hand revaluation: forward × 0.34, vol × (1 + 0.5·s) at the option's
    // own (sticky-strike) vol, with s = (30/T_days)^0.13, loss × 0.21, the shocked value scaled
    // by the static discount.
    let t = market.year_fraction(NEAR);
    let btc_market = market.underlying("BTC").unwrap();
    let forward = btc_market.forward(market.timestamp_ms, t);
    let smile = btc_market.surface.as_ref().unwrap().smile(t).unwrap();
    let vol = smile.vol((20_000.0f64 / forward).ln()).unwrap();
    let df = (-0.03 * t).exp();
    let base = black76::price(OptionKind::Put, forward, 20_000.0, t, vol, df);
    let s = (30.0 / (t * 365.0)).powf(0.13);
    let shocked_vol = (vol * (1.0 + 0.5 * s)).max(0.4);
    let shocked = black76::price(OptionKind::Put, forward * 0.34, 20_000.0, t, shocked_vol, df);
    let discount = (0.95 * (0.16 * t).exp()).min((0.03 * t).exp());
    let loss = 0.21 * 10.0 * (shocked * discount - base);
    assert!(close(part.worst_loss, loss, 1e-9), "{part:?} vs {loss}");
    // The project default's deepest row is −36% × 0.35.
    let ours = btc(&grid(&portfolio, &market, GridConfig::default()));
    assert!(GridConfig::default().scenarios.iter().all(|s| s.spot_return >= -0.36), "{ours:?}");
}

#[test]
fn skew_rows_lift_the_wings_by_derive_formula_and_count_gains_as_losses() {
    // PMRM_2's skew rows at unchanged spot: vol × (1 + clamp(k·cap/k*, −cap, cap)), with
    // cap = 0.25 − 0.1·√T and k* = max(0.01, 4 · 0.6 · √T); k = ln(K/F) for the linear row,
    // |k| for the abs row. Each expiry counts its loss, or its gain negated.
    let market = market();
    let t = market.year_fraction(NEAR);
    let btc_market = market.underlying("BTC").unwrap();
    let forward = btc_market.forward(market.timestamp_ms, t);
    let smile = btc_market.surface.as_ref().unwrap().smile(t).unwrap();
    let df = (-0.03 * t).exp();
    let cap = 0.25 - 0.1 * t.sqrt();
    let k_star = (4.0 * 0.6 * t.sqrt()).max(0.01);
    let lifted = |kind, strike: f64, abs: bool| {
        let k = (strike / forward).ln();
        let vol = smile.vol(k).unwrap();
        let k = if abs { k.abs() } else { k };
        let lift = (k * cap / k_star).clamp(-cap, cap);
        black76::price(kind, forward, strike, t, vol * (1.0 + lift), df)
            - black76::price(kind, forward, strike, t, vol, df)
    };
    let mut c = GridPreset::DerivePmrm2.config();
    c.static_discount = None;
    c.basis_contingency = None;
    let only = |shape| GridConfig { scenarios: vec![GridScenario::wing(shape)], ..c.clone() };
    // A long OTM call gains in the linear row (its wing is lifted): the gain counts as a loss.
    let call = book(vec![option(OptionKind::Call, 60_000.0, NEAR, 2.0)]);
    let gain = 2.0 * lifted(OptionKind::Call, 60_000.0, false);
    assert!(gain > 0.0);
    let part = btc(&grid(&call, &market, only(WingShock::Linear)));
    assert!(close(part.worst_loss, gain, 1e-9), "{part:?} vs {gain}");
    // A short OTM put loses in the abs row (both wings lifted) and gains in the linear row
    // (the put wing lowered), which again counts as a loss.
    let put = book(vec![option(OptionKind::Put, 40_000.0, NEAR, -3.0)]);
    let abs_loss = 3.0 * lifted(OptionKind::Put, 40_000.0, true);
    let part = btc(&grid(&put, &market, only(WingShock::Abs)));
    assert!(abs_loss > 0.0 && close(part.worst_loss, abs_loss, 1e-9), "{part:?} vs {abs_loss}");
    let linear_gain = -3.0 * lifted(OptionKind::Put, 40_000.0, false);
    let part = btc(&grid(&put, &market, only(WingShock::Linear)));
    assert!(linear_gain > 0.0 && close(part.worst_loss, linear_gain, 1e-9), "{part:?}");
}

/// The worst loss of `portfolio` under the single `row` with each vol dynamics (in
/// [`VolDynamics::ALL`] order).
fn under_dynamics(portfolio: &Portfolio, market: &MarketSnapshot, row: GridScenario) -> [f64; 3] {
    VolDynamics::ALL.map(|dynamics| {
        let mut config = GridConfig::pmrm().with_vol_dynamics(dynamics);
        config.scenarios = vec![row];
        config.short_option_minimum = 0.0;
        btc(&grid(portfolio, market, config)).worst_loss
    })
}

#[test]
fn sticky_strike_charges_a_short_otm_put_more_than_sticky_moneyness_on_a_downward_skew() {
    // On the fixture's downward skew a crash moves the put's strike up the moneyness axis,
    // towards the lower at-the-money vol: sticky moneyness lowers its vol, sticky strike keeps
    // it, so sticky strike loses more. Sticky delta equals sticky moneyness without a vol-level
    // shock (forward delta depends on k and σ√T alone).
    let market = market();
    let put = book(vec![option(OptionKind::Put, 42_000.0, NEAR, -10.0)]);
    let [strike, moneyness, delta] =
        under_dynamics(&put, &market, GridScenario::new(-0.15, 0.0, 0.0, 1.0));
    assert!(strike > 1.02 * moneyness, "sticky strike {strike} vs moneyness {moneyness}");
    assert!(close(delta, moneyness, 1e-12), "{delta} vs {moneyness}");
    // With vol up the smile in delta space scales with the level: the put reads the smile at
    // k* = k'/m + (1 − m)·σ₀(k*)²·T/2, not at k'. Near the money the second term dominates and
    // k* < k': a higher vol on this skew, a larger loss. A second-order effect.
    let [strike_up, moneyness_up, delta_up] =
        under_dynamics(&put, &market, GridScenario::new(-0.15, 0.5, 0.0, 1.0));
    assert!(strike_up > moneyness_up, "{strike_up} vs {moneyness_up}");
    assert!(
        delta_up > moneyness_up && delta_up < 1.05 * moneyness_up,
        "{delta_up} vs {moneyness_up}"
    );
}

#[test]
fn all_three_vol_dynamics_agree_on_a_flat_smile() {
    let market = flat_market();
    let portfolio = book(vec![
        option(OptionKind::Put, 42_000.0, NEAR, -10.0),
        option(OptionKind::Call, 60_000.0, FAR, 4.0),
    ]);
    for row in [
        GridScenario::new(-0.15, 0.0, 0.0, 1.0),
        GridScenario::new(0.135, 0.5, 0.0, 1.0),
        GridScenario::new(-0.36, -0.3, 0.0, 0.35),
    ] {
        let [strike, moneyness, delta] = under_dynamics(&portfolio, &market, row);
        assert!(close(strike, moneyness, 1e-12) && close(delta, moneyness, 1e-12), "{row:?}");
    }
    // And on the whole grid of each preset.
    for preset in GridPreset::ALL {
        let margins = VolDynamics::ALL.map(|d| {
            grid(&portfolio, &market, preset.config().with_vol_dynamics(d))
                .result
                .maintenance_margin
        });
        assert!(close(margins[0], margins[1], 1e-12) && close(margins[2], margins[1], 1e-12));
    }
}

#[test]
fn each_preset_uses_its_own_vol_dynamics_unless_overridden() {
    let market = market();
    let put = book(vec![option(OptionKind::Put, 42_000.0, NEAR, -10.0)]);
    let own = grid(&put, &market, GridPreset::DerivePmrm2.config());
    let strike = grid(
        &put,
        &market,
        GridPreset::DerivePmrm2.config().with_vol_dynamics(VolDynamics::StickyStrike),
    );
    assert_eq!(own.result, strike.result);
    let moneyness = grid(
        &put,
        &market,
        GridPreset::DerivePmrm2.config().with_vol_dynamics(VolDynamics::StickyMoneyness),
    );
    assert!(moneyness.result.maintenance_margin != own.result.maintenance_margin);
}

fn xmargin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xmargin")).args(args).output().unwrap()
}

fn portfolios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("portfolios")
}

#[test]
fn xmargin_margin_preset_prints_every_canonical_portfolio_as_the_library_margins_it() {
    let dir = portfolios_dir();
    let market_path = dir.join("market.json");
    let market: MarketSnapshot =
        serde_json::from_str(&std::fs::read_to_string(&market_path).unwrap()).unwrap();
    let (market_arg, dir_arg) = (market_path.display().to_string(), dir.display().to_string());
    let stems: Vec<String> = {
        let mut stems: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .filter(|stem| stem != "market")
            .collect();
        stems.sort();
        stems
    };
    assert_eq!(stems.len(), 11);
    for preset in [GridPreset::DerivePmrm2, GridPreset::DerivePmrm1] {
        // `--preset` alone implies the grid.
        let args = ["margin", "--market", &market_arg, "--portfolio", &dir_arg, "--preset"];
        let output = xmargin(&[&args[..], &[preset.name(), "--json"]].concat());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let by_stem = json.as_object().unwrap();
        assert_eq!(by_stem.len(), stems.len());
        for stem in &stems {
            let margins = by_stem[stem].as_array().unwrap();
            assert_eq!(margins.len(), 1, "{stem}");
            assert_eq!(margins[0]["model"], "scenario_grid");
            let text = std::fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap();
            let portfolio: Portfolio = serde_json::from_str(&text).unwrap();
            let expected = grid(&portfolio, &market, preset.config()).result;
            let printed = margins[0]["maintenance_margin"].as_f64().unwrap();
            // JSON text round-trips to within an ulp or so.
            let initial = margins[0]["initial_margin"].as_f64().unwrap();
            assert!(close(printed, expected.maintenance_margin, 1e-14), "{stem} {}", preset.name());
            assert!(close(initial, expected.initial_margin, 1e-14), "{stem} {}", preset.name());
        }
        // The table names every portfolio.
        let table = xmargin(&[&args[..], &[preset.name()]].concat());
        let text = String::from_utf8_lossy(&table.stdout);
        for stem in &stems {
            assert!(text.contains(&format!("== {stem}")), "{text}");
        }
        assert!(text.contains("basis contingency"));
    }
    // `--vol-dynamics` overrides the preset's own (sticky strike for PMRM_2).
    let one = dir.join("01_naked_short_put.json").display().to_string();
    let run = |extra: &[&str]| {
        let base = ["margin", "--market", &market_arg, "--portfolio", &one, "--json"];
        let output = xmargin(&[&base[..], extra].concat());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json[0]["maintenance_margin"].as_f64().unwrap()
    };
    let own = run(&["--preset", "derive-pmrm2"]);
    let strike = run(&["--preset", "derive-pmrm2", "--vol-dynamics", "sticky-strike"]);
    let moneyness = run(&["--preset", "derive-pmrm2", "--vol-dynamics", "sticky-moneyness"]);
    assert_eq!(own, strike);
    assert!(moneyness != own);
}

#[test]
fn xmargin_names_the_valid_presets_and_vol_dynamics_on_a_bad_name() {
    let market = portfolios_dir().join("market.json").display().to_string();
    let one = portfolios_dir().join("01_naked_short_put.json").display().to_string();
    let base = ["margin", "--market", &market, "--portfolio", &one];
    let output = xmargin(&[&base[..], &["--preset", "pmrm3"]].concat());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--preset"), "{stderr}");
    for name in GridPreset::ALL.map(GridPreset::name) {
        assert!(stderr.contains(name), "{stderr}");
    }
    let output = xmargin(&[&base[..], &["--vol-dynamics", "sticky-vol"]].concat());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--vol-dynamics") && stderr.contains("sticky-delta"), "{stderr}");
}
