//! Valuation of positions against a market snapshot: delta-one P&L conventions (linear and
//! inverse), forward interpolation, skew-aware option deltas against finite differences of the
//! whole snapshot, and input validation that names the offending field.
// Exact equalities here are intended: the same computation on the same inputs, or a value that is
// exactly zero or the spot by construction.
#![allow(clippy::float_cmp)]

use offchain_risk::instrument::{Instrument, Portfolio, Position, Settlement};
use offchain_risk::market::{ForwardQuote, MarketSnapshot, UnderlyingMarket, MS_PER_YEAR};
use offchain_risk::pricing::OptionKind;
use offchain_risk::surface::{SviParams, SviSlice, VolSurface};
use offchain_risk::valuation::{
    value_instrument, value_position, DeltaConvention, PricingModel, SkewModel,
};
use offchain_risk::{DataError, RiskError};

const NOW_MS: i64 = 1_700_000_000_000;
const SPOT: f64 = 50_000.0;

fn expiry_ms(years: f64) -> i64 {
    NOW_MS + (years * MS_PER_YEAR).round() as i64
}

/// A BTC-like market: 5% annual carry quoted at 0.25y and 1y, a downward skew (rho < 0).
fn market(spot: f64) -> MarketSnapshot {
    let scale = spot / SPOT;
    let slice = |t: f64, forward: f64, a: f64| SviSlice {
        expiry_years: t,
        forward,
        params: SviParams { a, b: 0.12, rho: -0.4, m: 0.02, sigma: 0.25 },
    };
    let f1 = SPOT * (0.05f64 * 0.25).exp() * scale;
    let f2 = SPOT * 0.05f64.exp() * scale;
    let surface = VolSurface::new(vec![slice(0.25, f1, 0.02), slice(1.0, f2, 0.12)]).unwrap();
    let btc = UnderlyingMarket {
        spot,
        rate: 0.03,
        forwards: vec![
            ForwardQuote { expiry_ms: expiry_ms(1.0), forward: f2 },
            ForwardQuote { expiry_ms: expiry_ms(0.25), forward: f1 },
        ],
        perpetual_mark: Some(spot * 1.001),
        funding_rate_8h: 0.0001,
        surface: Some(surface),
    };
    MarketSnapshot { timestamp_ms: NOW_MS, underlyings: [("BTC".to_owned(), btc)].into() }
}

fn option(strike: f64, kind: OptionKind, years: f64, settlement: Settlement) -> Instrument {
    Instrument::Option {
        underlying: "BTC".into(),
        expiry_ms: expiry_ms(years),
        strike,
        kind,
        settlement,
    }
}

fn relative_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn forwards_interpolate_log_carry_linearly_and_extend_the_last_rate() {
    let snapshot = market(SPOT);
    let btc = snapshot.underlying("BTC").unwrap();
    // Both knots carry 5%/year, so every expiry (between, before, after) does too.
    for years in [0.1f64, 0.25, 0.5, 1.0, 2.0] {
        let expected = SPOT * (0.05 * years).exp();
        assert!(relative_error(btc.forward(NOW_MS, years), expected) < 1e-9, "T = {years}");
    }
    assert_eq!(btc.forward(NOW_MS, 0.0), SPOT);
}

#[test]
fn linear_and_inverse_futures_mark_their_pnl() {
    let snapshot = market(SPOT);
    let model = PricingModel::default();
    let future = |settlement| Instrument::Future {
        underlying: "BTC".into(),
        expiry_ms: expiry_ms(0.25),
        settlement,
    };
    let forward = SPOT * (0.05f64 * 0.25).exp();

    let linear =
        Position { instrument: future(Settlement::Linear), size: 2.0, entry_price: Some(48_000.0) };
    let valued = value_position(&linear, &snapshot, &model).unwrap();
    assert!(relative_error(valued.value, 2.0 * (forward - 48_000.0)) < 1e-12);
    assert!(relative_error(valued.delta, 2.0 * forward / SPOT) < 1e-12);

    // 10,000 USD face, short: coin P&L = -10_000 (1/entry - 1/mark), worth `spot` USD per coin.
    let inverse = Position {
        instrument: future(Settlement::Inverse),
        size: -10_000.0,
        entry_price: Some(40_000.0),
    };
    let valued = value_position(&inverse, &snapshot, &model).unwrap();
    let expected = -10_000.0 * SPOT * (1.0 / 40_000.0 - 1.0 / forward);
    assert!(relative_error(valued.value, expected) < 1e-12);
    // Finite difference of the P&L in spot (forwards scale with spot) equals the reported delta.
    let bump = 1.0;
    let up = value_position(&inverse, &market(SPOT + bump), &model).unwrap().value;
    let down = value_position(&inverse, &market(SPOT - bump), &model).unwrap().value;
    assert!(relative_error((up - down) / (2.0 * bump), valued.delta) < 1e-6);

    // No entry price: opened at the mark, no P&L.
    let fresh = Position { instrument: future(Settlement::Linear), size: 1.0, entry_price: None };
    assert_eq!(value_position(&fresh, &snapshot, &model).unwrap().value, 0.0);
}

#[test]
fn perpetual_theta_is_the_funding_a_long_pays() {
    let snapshot = market(SPOT);
    let perp = Instrument::Perpetual { underlying: "BTC".into(), settlement: Settlement::Linear };
    let valued = value_instrument(&perp, &snapshot, &PricingModel::default()).unwrap();
    let mark = SPOT * 1.001;
    assert!(relative_error(valued.greeks.theta, -0.0001 * mark * 3.0 * 365.0) < 1e-12);
    assert!(relative_error(valued.value, mark) < 1e-12);

    // An inverse perpetual is sized in USD face value: 20,000 USD long pays 0.01% of 20,000 USD
    // every 8 hours, whatever the mark; a linear one pays 0.01% of its notional.
    let inverse = Position {
        instrument: Instrument::Perpetual {
            underlying: "BTC".into(),
            settlement: Settlement::Inverse,
        },
        size: 20_000.0,
        entry_price: Some(48_000.0),
    };
    let valued = value_position(&inverse, &snapshot, &PricingModel::default()).unwrap();
    assert!(relative_error(valued.theta, -0.0001 * 20_000.0 * 3.0 * 365.0) < 1e-12);
    let linear = Position {
        instrument: Instrument::Perpetual {
            underlying: "BTC".into(),
            settlement: Settlement::Linear,
        },
        size: 0.4,
        entry_price: Some(48_000.0),
    };
    let valued = value_position(&linear, &snapshot, &PricingModel::default()).unwrap();
    assert!(relative_error(valued.theta, -0.0001 * 0.4 * mark * 3.0 * 365.0) < 1e-12);
}

#[test]
fn sticky_moneyness_delta_matches_a_bump_of_the_whole_snapshot() {
    // The surface is parametrised in k = ln(K/F): moving spot (and with it every forward and
    // slice forward) at fixed SVI parameters is exactly the sticky-moneyness dynamic.
    let model = PricingModel { skew: SkewModel::Surface, delta: DeltaConvention::StickyMoneyness };
    for (strike, kind, years) in [
        (40_000.0, OptionKind::Put, 0.25),
        (50_000.0, OptionKind::Call, 0.5),
        (65_000.0, OptionKind::Call, 1.0),
        (30_000.0, OptionKind::Put, 0.8),
    ] {
        let instrument = option(strike, kind, years, Settlement::Linear);
        let valued = value_instrument(&instrument, &market(SPOT), &model).unwrap();
        let bump = SPOT * 1e-5;
        let up = value_instrument(&instrument, &market(SPOT + bump), &model).unwrap().value;
        let down = value_instrument(&instrument, &market(SPOT - bump), &model).unwrap().value;
        let finite_difference = (up - down) / (2.0 * bump);
        assert!(
            (finite_difference - valued.delta_sticky_moneyness).abs() < 1e-6,
            "K = {strike}: fd {finite_difference} vs {}",
            valued.delta_sticky_moneyness
        );
        assert_eq!(valued.greeks.delta, valued.delta_sticky_moneyness);
        // Under sticky moneyness the strike's vol moves by dσ/dF = -σ_k/F: where the smile slopes
        // down (σ_k < 0, the put wing) the delta exceeds the sticky-strike one, where it slopes up
        // (far call wing of SVI) it falls short.
        let snapshot = market(SPOT);
        let surface = snapshot.underlyings["BTC"].surface.as_ref().unwrap();
        let slope =
            surface.dvol_dk((strike / valued.forward).ln(), valued.expiry_years.unwrap()).unwrap();
        let gap = valued.delta_sticky_moneyness - valued.delta_sticky_strike;
        assert!(gap * slope < 0.0, "K = {strike}: gap {gap}, smile slope {slope}");
    }
}

#[test]
fn skew_prices_otm_puts_above_flat_vol() {
    let snapshot = market(SPOT);
    let put = option(35_000.0, OptionKind::Put, 0.25, Settlement::Linear);
    let skewed = value_instrument(&put, &snapshot, &PricingModel::default()).unwrap();
    let flat = value_instrument(
        &put,
        &snapshot,
        &PricingModel { skew: SkewModel::FlatAtm, delta: DeltaConvention::StickyStrike },
    )
    .unwrap();
    assert!(skewed.vol.unwrap() > flat.vol.unwrap());
    assert!(skewed.value > 1.5 * flat.value, "skewed {} vs flat {}", skewed.value, flat.value);
}

#[test]
fn put_call_parity_holds_through_the_valuation() {
    let snapshot = market(SPOT);
    let model = PricingModel::default();
    for (strike, years) in [(30_000.0, 0.1), (50_000.0, 0.5), (80_000.0, 1.5)] {
        let call = value_instrument(
            &option(strike, OptionKind::Call, years, Settlement::Linear),
            &snapshot,
            &model,
        )
        .unwrap();
        let put = value_instrument(
            &option(strike, OptionKind::Put, years, Settlement::Linear),
            &snapshot,
            &model,
        )
        .unwrap();
        let t = call.expiry_years.unwrap();
        let parity = (-0.03 * t).exp() * (call.forward - strike);
        assert!((call.value - put.value - parity).abs() < 1e-8 * SPOT, "K = {strike}");
    }
}

#[test]
fn inverse_options_quote_their_premium_in_coin() {
    let snapshot = market(SPOT);
    let instrument = option(45_000.0, OptionKind::Put, 0.25, Settlement::Inverse);
    let valued = value_instrument(&instrument, &snapshot, &PricingModel::default()).unwrap();
    let coin = valued.value_coin.unwrap();
    // A payoff of max(K - S, 0)/S coin is worth max(K - S, 0) USD at expiry: same USD value as
    // the linear option, and the coin premium is that value in units of the forward.
    assert!(relative_error(coin * valued.forward, valued.value) < 1e-12);
    let linear = value_instrument(
        &option(45_000.0, OptionKind::Put, 0.25, Settlement::Linear),
        &snapshot,
        &PricingModel::default(),
    )
    .unwrap();
    assert_eq!(linear.value, valued.value);
}

fn invalid_field(error: RiskError) -> String {
    match error {
        RiskError::Data(DataError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid-field error, got {other:?}"),
    }
}

#[test]
fn bad_inputs_name_the_field() {
    let mut snapshot = market(SPOT);
    snapshot.underlyings.get_mut("BTC").unwrap().spot = -1.0;
    let error = snapshot.validate().unwrap_err();
    assert!(matches!(&error, DataError::Invalid { field, .. } if field == "underlyings.BTC.spot"));

    let mut snapshot = market(SPOT);
    snapshot.underlyings.get_mut("BTC").unwrap().forwards[1].forward = f64::NAN;
    let error = snapshot.validate().unwrap_err();
    assert!(
        matches!(&error, DataError::Invalid { field, .. } if field == "underlyings.BTC.forwards[1].forward")
    );

    let mut snapshot = market(SPOT);
    snapshot.underlyings.get_mut("BTC").unwrap().surface = None;
    let put = option(40_000.0, OptionKind::Put, 0.25, Settlement::Linear);
    let error = value_instrument(&put, &snapshot, &PricingModel::default()).unwrap_err();
    assert_eq!(invalid_field(error), "underlyings.BTC.surface");

    let sol = Instrument::Spot { underlying: "SOL".into() };
    let error = value_instrument(&sol, &market(SPOT), &PricingModel::default()).unwrap_err();
    assert_eq!(invalid_field(error), "underlyings.SOL");

    let portfolio = Portfolio {
        account: None,
        positions: vec![
            Position {
                instrument: Instrument::Spot { underlying: "BTC".into() },
                size: 1.0,
                entry_price: None,
            },
            Position {
                instrument: option(-5.0, OptionKind::Call, 0.5, Settlement::Linear),
                size: 1.0,
                entry_price: None,
            },
        ],
    };
    let error = portfolio.validate().unwrap_err();
    assert!(
        matches!(&error, DataError::Invalid { field, .. } if field == "positions[1].instrument.strike")
    );
}

#[test]
fn documented_json_shapes_parse() {
    let portfolio: Portfolio = serde_json::from_str(
        r#"{"account": "0xabc", "positions": [
            {"instrument": {"type": "spot", "underlying": "ETH"}, "size": 10},
            {"instrument": {"type": "future", "underlying": "BTC", "expiry_ms": 1632470400000,
                            "settlement": "inverse"}, "size": -10000, "entry_price": 41000},
            {"instrument": {"type": "perpetual", "underlying": "BTC"}, "size": 0.5},
            {"instrument": {"type": "option", "underlying": "BTC", "expiry_ms": 1632470400000,
                            "strike": 40000, "kind": "put", "settlement": "inverse"}, "size": -2}
        ]}"#,
    )
    .unwrap();
    portfolio.validate().unwrap();
    assert_eq!(portfolio.positions[1].instrument.settlement(), Settlement::Inverse);
    assert_eq!(portfolio.positions[2].instrument.settlement(), Settlement::Linear);
    // Unknown fields are rejected rather than silently ignored.
    let typo = serde_json::from_str::<Portfolio>(
        r#"{"positions": [{"instrument": {"type": "spot", "underlying": "ETH"}, "sise": 1}]}"#,
    );
    assert!(typo.is_err());
    // A snapshot survives a JSON round trip unchanged.
    let snapshot = market(SPOT);
    let text = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(serde_json::from_str::<MarketSnapshot>(&text).unwrap(), snapshot);
}

/// The option valuation's single variance-jet read gives the surface's vol and slope, and its
/// coin premium is the inverse pricer's, bit for bit.
#[test]
fn one_jet_read_matches_the_separate_queries() {
    let snapshot = market(SPOT);
    let surface = snapshot.underlyings["BTC"].surface.as_ref().unwrap();
    for &k in &[-0.8, -0.1, 0.0, 0.05, 0.6] {
        for &t in &[0.1, 0.25, 0.6, 1.0, 2.0] {
            let (vol, slope) = surface.vol_and_dvol_dk(k, t).unwrap();
            assert_eq!(vol.to_bits(), surface.vol(k, t).unwrap().to_bits());
            assert_eq!(slope.to_bits(), surface.dvol_dk(k, t).unwrap().to_bits());
        }
    }
    for kind in [OptionKind::Call, OptionKind::Put] {
        let instrument = option(52_000.0, kind, 0.6, Settlement::Inverse);
        let valued = value_instrument(&instrument, &snapshot, &PricingModel::default()).unwrap();
        let coin = offchain_risk::pricing::black76::inverse_greeks(
            kind,
            valued.forward,
            52_000.0,
            valued.expiry_years.unwrap(),
            valued.vol.unwrap(),
            snapshot.underlyings["BTC"].rate,
        )
        .price;
        assert_eq!(valued.value_coin.unwrap().to_bits(), coin.to_bits());
    }
}
