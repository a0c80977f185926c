//! Every error the risk engine returns. One enum per stage, folded into [`RiskError`] with `From`,
//! so a caller can match on the stage and a CLI can print a message that names the field.

use thiserror::Error;

/// Invalid pricing inputs or prices outside the no-arbitrage bounds.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PricingError {
    /// A pricing input is non-finite or outside its domain (e.g. a negative strike).
    #[error("invalid pricing input `{field}` = {value}: {reason}")]
    InvalidInput {
        /// Name of the offending input.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What the input must satisfy.
        reason: &'static str,
    },
    /// The option price lies outside the no-arbitrage bounds, so no volatility reproduces it.
    #[error("price {price} is outside the no-arbitrage bounds [{lower}, {upper}]")]
    PriceOutOfBounds {
        /// The price given.
        price: f64,
        /// Intrinsic value (discounted): the lowest attainable price.
        lower: f64,
        /// The highest attainable price (the discounted forward for a call, strike for a put).
        upper: f64,
    },
}

/// A volatility surface that cannot be built, calibrated or queried.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SurfaceError {
    /// SVI parameters violate the raw-SVI constraints.
    #[error("invalid SVI parameter `{field}` = {value}: {reason}")]
    InvalidParameter {
        /// Name of the offending parameter.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What the parameter must satisfy.
        reason: &'static str,
    },
    /// Too few quotes to calibrate an expiry slice.
    #[error("expiry {expiry_years} has {quotes} usable quotes; at least {needed} are needed")]
    TooFewQuotes {
        /// Expiry of the slice in years.
        expiry_years: f64,
        /// Usable quotes found.
        quotes: usize,
        /// Quotes needed.
        needed: usize,
    },
    /// A slice admits butterfly arbitrage (Durrleman's g(k) < 0) that could not be repaired.
    #[error("butterfly arbitrage at expiry {expiry_years}: g({log_moneyness}) = {g}")]
    ButterflyArbitrage {
        /// Expiry of the slice in years.
        expiry_years: f64,
        /// Log-moneyness where g is most negative.
        log_moneyness: f64,
        /// The value of g there.
        g: f64,
    },
    /// Total variance decreases between two expiries (calendar arbitrage).
    #[error("calendar arbitrage between expiries {earlier} and {later} at k = {log_moneyness}")]
    CalendarArbitrage {
        /// Earlier expiry (years).
        earlier: f64,
        /// Later expiry (years).
        later: f64,
        /// Log-moneyness where total variance decreases.
        log_moneyness: f64,
    },
    /// The surface holds no expiry slices.
    #[error("the volatility surface has no expiry slices")]
    Empty,
    /// A query outside the surface's domain (e.g. a non-positive expiry).
    #[error("invalid surface query `{field}` = {value}: {reason}")]
    InvalidQuery {
        /// Name of the offending input.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What the input must satisfy.
        reason: &'static str,
    },
}

/// Input files and JSON documents that cannot be read or do not validate.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The document is not valid JSON of the expected shape.
    #[error("{path}: not a valid {what} document: {source}")]
    Json {
        /// The path (or `<stdin>`).
        path: String,
        /// What was expected (e.g. "market snapshot").
        what: &'static str,
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// A CSV file is malformed.
    #[error("{path}: malformed CSV: {source}")]
    Csv {
        /// The path.
        path: String,
        /// The CSV reader's error.
        source: csv::Error,
    },
    /// A required column is missing from a CSV header.
    #[error("{path}: missing column `{column}`")]
    MissingColumn {
        /// The path.
        path: String,
        /// The column expected.
        column: &'static str,
    },
    /// A value in a data file cannot be used: not a number, out of range, or unparsable.
    #[error("{path}, line {line}: bad value {value:?} in column `{column}`: {reason}")]
    BadValue {
        /// The path.
        path: String,
        /// 1-based line of the file (the header is line 1; JSON files give the record index).
        line: u64,
        /// The column or JSON field.
        column: String,
        /// The text found.
        value: String,
        /// What is expected.
        reason: &'static str,
    },
    /// The market data directory does not exist.
    #[error(
        "market data directory {path} not found; set the environment variable XMARGIN_DATA_DIR \
         to the directory holding options/ (the shared data set's root)"
    )]
    MissingDataDir {
        /// The directory looked for.
        path: String,
    },
    /// A field fails validation; the message names the field (a JSON path or a column) and the fix.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// JSON path or column of the field, e.g. `positions[3].size`.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

/// Any error of the risk engine.
#[derive(Debug, Error)]
pub enum RiskError {
    /// See [`PricingError`].
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// See [`SurfaceError`].
    #[error(transparent)]
    Surface(#[from] SurfaceError),
    /// See [`DataError`].
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Result with [`RiskError`].
pub type Result<T, E = RiskError> = std::result::Result<T, E>;
