//! The market fixture and position builders the basis and preset tests share: the fixture
//! snapshot (`fixtures/market.json`: BTC at 50,000, rate 3%, a downward skew with SVI ρ = −0.4,
//! perpetual mark 50,050, funding 0.01%) in, BTC positions and portfolios on it out.
// Each test binary compiles its own copy and uses a subset.
#![allow(dead_code)]

use std::path::PathBuf;

use offchain_risk::instrument::{Instrument, Portfolio, Position, Settlement};
use offchain_risk::market::MarketSnapshot;

/// An expiry 0.25 years after the fixture's snapshot (ms).
pub const NEAR: i64 = 1_707_884_000_000;
/// An expiry 1 year after it (ms).
pub const FAR: i64 = 1_731_536_000_000;

/// The fixture snapshot, as committed.
pub fn fixture_market() -> MarketSnapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/market.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `size` BTC spot.
pub fn spot(size: f64) -> Position {
    Position { instrument: Instrument::Spot { underlying: "BTC".into() }, size, entry_price: None }
}

/// `size` BTC in a linear perpetual.
pub fn perpetual(size: f64) -> Position {
    Position {
        instrument: Instrument::Perpetual {
            underlying: "BTC".into(),
            settlement: Settlement::Linear,
        },
        size,
        entry_price: None,
    }
}

/// `size` BTC in a linear future expiring at `expiry_ms`.
pub fn future(expiry_ms: i64, size: f64) -> Position {
    Position {
        instrument: Instrument::Future {
            underlying: "BTC".into(),
            expiry_ms,
            settlement: Settlement::Linear,
        },
        size,
        entry_price: None,
    }
}

/// An account-less portfolio of `positions`.
pub fn book(positions: Vec<Position>) -> Portfolio {
    Portfolio { account: None, positions }
}
