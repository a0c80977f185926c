//! Instruments and positions: what a trader holds, independent of any market data or model.
//!
//! JSON shape (serde, `type`-tagged):
//!
//! ```json
//! {"type": "spot", "underlying": "ETH"}
//! {"type": "future", "underlying": "BTC", "expiry_ms": 1632470400000, "settlement": "inverse"}
//! {"type": "perpetual", "underlying": "BTC", "settlement": "linear"}
//! {"type": "option", "underlying": "BTC", "expiry_ms": 1632470400000, "strike": 40000,
//!  "kind": "put", "settlement": "inverse"}
//! ```
//!
//! `settlement` is `linear` (USD-settled, one unit of underlying per contract) or `inverse`
//! (coin-settled as Deribit lists BTC and ETH: futures and perpetuals have a USD face value per
//! contract and pay their P&L in coin; options pay `max(S - K, 0) / S` coin per unit). A position
//! is an instrument, a signed size and, for futures and perpetuals, the entry price it was opened
//! at. Sizes are in units of underlying for linear contracts and in USD face value for inverse
//! futures and perpetuals.

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::pricing::OptionKind;

/// How a contract settles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Settlement {
    /// USD-settled: size in units of underlying, P&L in USD.
    #[default]
    Linear,
    /// Coin-settled: futures/perpetual size in USD face value, P&L and option premium in coin.
    Inverse,
}

/// A tradable instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Instrument {
    /// The underlying itself (spot collateral or a spot position).
    Spot {
        /// Underlying symbol, e.g. `ETH`.
        underlying: String,
    },
    /// A dated future, marked at the snapshot's forward for its expiry.
    Future {
        /// Underlying symbol.
        underlying: String,
        /// Expiry, Unix milliseconds (UTC).
        expiry_ms: i64,
        /// Linear or inverse.
        #[serde(default)]
        settlement: Settlement,
    },
    /// A perpetual swap, marked at the snapshot's perpetual mark and paying funding.
    Perpetual {
        /// Underlying symbol.
        underlying: String,
        /// Linear or inverse.
        #[serde(default)]
        settlement: Settlement,
    },
    /// A European option on the forward of its expiry.
    Option {
        /// Underlying symbol.
        underlying: String,
        /// Expiry, Unix milliseconds (UTC).
        expiry_ms: i64,
        /// Strike in USD.
        strike: f64,
        /// Call or put.
        kind: OptionKind,
        /// Linear or inverse.
        #[serde(default)]
        settlement: Settlement,
    },
}

impl Instrument {
    /// The underlying symbol.
    pub fn underlying(&self) -> &str {
        match self {
            Self::Spot { underlying }
            | Self::Future { underlying, .. }
            | Self::Perpetual { underlying, .. }
            | Self::Option { underlying, .. } => underlying,
        }
    }

    /// Settlement style (spot counts as linear).
    pub fn settlement(&self) -> Settlement {
        match self {
            Self::Spot { .. } => Settlement::Linear,
            Self::Future { settlement, .. }
            | Self::Perpetual { settlement, .. }
            | Self::Option { settlement, .. } => *settlement,
        }
    }

    /// Expiry in Unix milliseconds, for dated instruments.
    pub fn expiry_ms(&self) -> Option<i64> {
        match self {
            Self::Future { expiry_ms, .. } | Self::Option { expiry_ms, .. } => Some(*expiry_ms),
            Self::Spot { .. } | Self::Perpetual { .. } => None,
        }
    }

    /// Checks the fields a JSON document cannot constrain; `path` prefixes the field names in
    /// errors (e.g. `positions[2].instrument`).
    pub fn validate(&self, path: &str) -> Result<(), DataError> {
        if self.underlying().trim().is_empty() {
            return Err(invalid(path, "underlying", "must name an underlying, e.g. \"BTC\""));
        }
        if let Self::Option { strike, .. } = self {
            if !(strike.is_finite() && *strike > 0.0) {
                return Err(invalid(
                    path,
                    "strike",
                    &format!("is {strike}; must be a positive USD price"),
                ));
            }
        }
        if let Some(expiry_ms) = self.expiry_ms() {
            if expiry_ms <= 0 {
                return Err(invalid(path, "expiry_ms", "must be a Unix time in milliseconds"));
            }
        }
        Ok(())
    }
}

/// A holding: an instrument, a signed size and (futures, perpetuals) the entry price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// What is held.
    pub instrument: Instrument,
    /// Signed size: positive long, negative short (units of underlying; USD face value for inverse
    /// futures and perpetuals).
    pub size: f64,
    /// Price the future or perpetual was opened at (USD); ignored for spot and options, whose
    /// whole value counts. Absent means "opened at the current mark" (zero P&L).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_price: Option<f64>,
}

impl Position {
    /// A USD-settled European option position (the on-chain system settles options in USD); no
    /// entry price, since an option's whole value counts.
    pub fn linear_option(
        underlying: &str,
        expiry_ms: i64,
        strike: f64,
        kind: OptionKind,
        size: f64,
    ) -> Self {
        Self {
            instrument: Instrument::Option {
                underlying: underlying.to_owned(),
                expiry_ms,
                strike,
                kind,
                settlement: Settlement::Linear,
            },
            size,
            entry_price: None,
        }
    }
}

/// An account's positions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    /// Free-form account label (an address for on-chain accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The positions.
    pub positions: Vec<Position>,
}

impl Portfolio {
    /// Validates every position; errors name the JSON path of the field.
    pub fn validate(&self) -> Result<(), DataError> {
        for (index, position) in self.positions.iter().enumerate() {
            // Field paths are built only for an error: margining many small accounts validates
            // every position, and formatting two paths each was a measurable part of it.
            let path = || format!("positions[{index}]");
            position.instrument.validate("").map_err(|error| match error {
                DataError::Invalid { field, reason } => {
                    DataError::Invalid { field: format!("{}.instrument.{field}", path()), reason }
                }
                other => other,
            })?;
            if !position.size.is_finite() {
                return Err(invalid(&path(), "size", "must be a finite number"));
            }
            if let Some(entry) = position.entry_price {
                if !(entry.is_finite() && entry > 0.0) {
                    return Err(invalid(&path(), "entry_price", "must be a positive USD price"));
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn invalid(path: &str, field: &str, reason: &str) -> DataError {
    let field = if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") };
    DataError::Invalid { field, reason: reason.to_owned() }
}
