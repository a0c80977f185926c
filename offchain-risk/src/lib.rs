//! Off-chain risk engine of the cross-margin system.
//!
//! What flows through it: a [`market::MarketSnapshot`] (spot, forwards, rates and one
//! [`surface::VolSurface`] per underlying) and an [`instrument::Instrument`] go into
//! [`valuation::value`], which prices it with Black-76 ([`pricing`]) at the skewed volatility the
//! surface gives, and returns a [`valuation::Valuation`] (price and Greeks). Surfaces come from
//! option quotes ([`data`] reads Deribit's formats) through the SVI calibrator in [`surface`],
//! which checks butterfly and calendar arbitrage. Everything here is pure: no chain I/O, no clock
//! reads; time enters only through the snapshot's timestamp.

pub mod backtest;
pub mod collateral;
pub mod data;
pub mod efficiency;
pub mod error;
pub mod history;
pub mod instrument;
pub mod liquidation;
pub mod margin;
pub mod market;
pub mod pricing;
pub mod surface;
pub mod valuation;

pub use error::{DataError, PricingError, Result, RiskError, SurfaceError};
