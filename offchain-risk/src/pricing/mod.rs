//! Black-76 pricing on the forward with discounting: the normal distribution ([`normal`]), prices
//! and analytic Greeks for linear and inverse options ([`black76`]), and implied volatility
//! ([`implied_vol`]).

pub mod black76;
pub mod implied_vol;
pub mod normal;

pub use black76::{Greeks, OptionKind};
