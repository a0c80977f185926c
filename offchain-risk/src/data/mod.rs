//! Option-chain data: files in, [`OptionChain`]s out, for the SVI calibrator.
//!
//! Readers: [`deribit`] (Deribit's book-summary / ticker records as CSV or the raw API JSON),
//! [`optionsdx`] (OptionsDX end-of-day Deribit chains), and our own JSON format,
//! [`read_chain_json`], which is simply the serde form of [`OptionChain`]:
//!
//! ```json
//! {"underlying": "BTC", "timestamp_ms": 1612877925407,
//!  "quotes": [{"instrument_name": "BTC-24SEP21-7000-P", "expiry_ms": 1632470400000,
//!              "strike": 7000.0, "kind": "put", "forward": 49869.55, "mark_iv": 1.1639,
//!              "bid_iv": 1.0713, "ask_iv": 1.2566, "mark_price": 0.00182796,
//!              "bid_price": 0.001, "ask_price": 0.003}]}
//! ```
//!
//! Volatilities are **fractions** (0.8 = 80%), not the vol points Deribit prints; `bid_iv`,
//! `ask_iv` and the prices are optional (`null` or absent when that side of the book is empty).
//! Prices are in the source's unit (coin for Deribit's inverse options). `forward` is the
//! underlying price of that expiry (Deribit's `underlying_price`: the future, or the synthetic
//! forward from put-call parity when no future is listed).
//!
//! The shared real data set lives at `<repo root>/../shared/data` ([`data_dir`]), overridable by
//! the environment variable `XMARGIN_DATA_DIR`; [`snapshot_files`] lists its option snapshots.

pub mod deribit;
pub mod optionsdx;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::market::MS_PER_YEAR;
use crate::pricing::OptionKind;

/// Environment variable overriding the data directory.
pub const DATA_DIR_ENV: &str = "XMARGIN_DATA_DIR";

/// Deribit options expire at 08:00 UTC.
pub const DERIBIT_EXPIRY_HOUR_UTC: i64 = 8;

const MS_PER_DAY: i64 = 86_400_000;

/// One option quote of a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionQuote {
    /// Exchange name, e.g. `BTC-24SEP21-7000-P`.
    pub instrument_name: String,
    /// Expiry, Unix milliseconds (UTC).
    pub expiry_ms: i64,
    /// Strike (USD).
    pub strike: f64,
    /// Call or put.
    pub kind: OptionKind,
    /// Forward of this expiry (the source's underlying price for the instrument).
    pub forward: f64,
    /// Mark implied volatility, a fraction.
    pub mark_iv: f64,
    /// Best bid's implied volatility, a fraction; `None` for an empty bid side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_iv: Option<f64>,
    /// Best ask's implied volatility, a fraction; `None` for an empty ask side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_iv: Option<f64>,
    /// Mark price in the source's unit (coin for Deribit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_price: Option<f64>,
    /// Best bid price (source's unit); `None` for an empty side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_price: Option<f64>,
    /// Best ask price (source's unit); `None` for an empty side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_price: Option<f64>,
}

/// All option quotes of one underlying at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionChain {
    /// Underlying symbol, e.g. `BTC`.
    pub underlying: String,
    /// Snapshot time, Unix milliseconds.
    pub timestamp_ms: i64,
    /// The quotes, any order.
    pub quotes: Vec<OptionQuote>,
}

impl OptionChain {
    /// Years from the snapshot to `expiry_ms`, ACT/365 (as [`crate::market`] computes them).
    pub fn year_fraction(&self, expiry_ms: i64) -> f64 {
        (expiry_ms - self.timestamp_ms) as f64 / MS_PER_YEAR
    }

    /// Distinct expiries, ascending.
    pub fn expiries(&self) -> Vec<i64> {
        let mut e: Vec<i64> = self.quotes.iter().map(|q| q.expiry_ms).collect();
        e.sort_unstable();
        e.dedup();
        e
    }

    /// Checks every field a JSON document cannot constrain; errors name the JSON path.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field: String, reason: &str| DataError::Invalid { field, reason: reason.into() };
        if self.underlying.trim().is_empty() {
            return Err(bad("underlying".into(), "must name the underlying, e.g. \"BTC\""));
        }
        if self.timestamp_ms <= 0 {
            return Err(bad("timestamp_ms".into(), "must be a Unix time in milliseconds"));
        }
        for (i, q) in self.quotes.iter().enumerate() {
            let f = |name: &str| format!("quotes[{i}].{name}");
            if !(q.strike.is_finite() && q.strike > 0.0) {
                return Err(bad(f("strike"), "must be a positive price"));
            }
            if !(q.forward.is_finite() && q.forward > 0.0) {
                return Err(bad(f("forward"), "must be a positive price"));
            }
            if !(q.mark_iv.is_finite() && q.mark_iv >= 0.0 && q.mark_iv < 20.0) {
                return Err(bad(
                    f("mark_iv"),
                    "must be a fraction in [0, 20) (0.8 = 80%; vol points must be divided by 100)",
                ));
            }
            for (name, v) in [("bid_iv", q.bid_iv), ("ask_iv", q.ask_iv)] {
                if let Some(v) = v {
                    if !(v.is_finite() && v > 0.0 && v < 20.0) {
                        return Err(bad(f(name), "must be a fraction in (0, 20) or null"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a Unix-millisecond time (UTC).
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of a Unix-millisecond time (UTC).
pub fn format_datetime(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{} {:02}:{:02}", format_date(ms), minutes / 60, minutes % 60)
}

/// A parsed Deribit option name.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentName {
    /// Underlying, e.g. `BTC` (or `BTC_USDC` for linear options).
    pub underlying: String,
    /// Expiry: 08:00 UTC of the named date, Unix milliseconds.
    pub expiry_ms: i64,
    /// Strike (a `d` in the name is a decimal point, as in `XRP_USDC-..-0d625-C`).
    pub strike: f64,
    /// Call or put.
    pub kind: OptionKind,
}

/// Parses `UNDERLYING-DMMMYY-STRIKE-C|P`, e.g. `BTC-24SEP21-7000-P` (expiry 2021-09-24 08:00
/// UTC). The error says what part is wrong.
pub fn parse_instrument_name(name: &str) -> Result<InstrumentName, String> {
    let parts: Vec<&str> = name.trim().split('-').collect();
    let [underlying, date, strike, kind] = parts[..] else {
        return Err(format!("{name:?} is not UNDERLYING-DMMMYY-STRIKE-C|P"));
    };
    let kind = match kind {
        "C" => OptionKind::Call,
        "P" => OptionKind::Put,
        _ => return Err(format!("{name:?}: option type {kind:?} is not C or P")),
    };
    let strike: f64 = strike
        .replace('d', ".")
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("{name:?}: strike {strike:?} is not a positive number"))?;
    let expiry_ms = parse_deribit_date(date)
        .ok_or_else(|| format!("{name:?}: date {date:?} is not DMMMYY (e.g. 24SEP21)"))?;
    Ok(InstrumentName { underlying: underlying.to_owned(), expiry_ms, strike, kind })
}

/// `24SEP21` -> 2021-09-24 08:00 UTC in Unix milliseconds.
fn parse_deribit_date(date: &str) -> Option<i64> {
    const MONTHS: [&str; 12] =
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    let digits = date.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) || date.len() != digits + 5 || !date.is_ascii() {
        return None;
    }
    let day: u32 = date[..digits].parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == &date[digits..digits + 3])? as u32 + 1;
    let year: i64 = 2000 + date[digits + 3..].parse::<i64>().ok()?;
    let days_in_month =
        days_from_civil(if month == 12 { year + 1 } else { year }, month % 12 + 1, 1)
            - days_from_civil(year, month, 1);
    if day == 0 || i64::from(day) > days_in_month {
        return None;
    }
    Some(days_from_civil(year, month, day) * MS_PER_DAY + DERIBIT_EXPIRY_HOUR_UTC * 3_600_000)
}

/// The shared data directory: `$XMARGIN_DATA_DIR` if set, else `<repo root>/../shared/data`
/// with the repo root the parent of this crate's manifest directory. A missing directory is a
/// [`DataError::MissingDataDir`] naming the variable.
pub fn data_dir() -> Result<PathBuf, DataError> {
    let dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared/data"),
    };
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(DataError::MissingDataDir { path: dir.display().to_string() })
    }
}

/// File formats the readers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainFormat {
    /// Deribit book summaries as CSV ([`deribit::read_book_summary_csv`]).
    DeribitCsv,
    /// Deribit API JSON ([`deribit::read_book_summary_json`]).
    DeribitJson,
    /// OptionsDX end-of-day text ([`optionsdx::read_eod`]).
    Optionsdx,
    /// Our chain JSON ([`read_chain_json`]).
    ChainJson,
}

impl ChainFormat {
    /// Guesses the format from the extension and, for JSON and CSV, the first bytes: `.txt` or
    /// a header starting with `[` is OptionsDX; `.csv` is Deribit CSV; JSON holding a
    /// `"quotes"` key is our chain JSON, other JSON Deribit's.
    pub fn detect(path: &Path) -> Result<Self, DataError> {
        let head = read_head(path, 4096)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let trimmed = head.trim_start();
        if ext == "txt" || trimmed.starts_with('[') && !trimmed.starts_with("[{") {
            return Ok(Self::Optionsdx);
        }
        if trimmed.starts_with('{') || trimmed.starts_with('[') || ext == "json" {
            return Ok(if head.contains("\"quotes\"") {
                Self::ChainJson
            } else {
                Self::DeribitJson
            });
        }
        if ext == "csv" || head.contains("instrument_name") {
            return Ok(Self::DeribitCsv);
        }
        Err(DataError::Invalid {
            field: "--format".into(),
            reason: format!(
                "cannot tell the format of {}; pass --format deribit-csv|deribit-json|optionsdx|chain-json",
                path.display()
            ),
        })
    }
}

fn read_head(path: &Path, bytes: usize) -> Result<String, DataError> {
    use std::io::Read;
    let mut buf = vec![0; bytes];
    let mut file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let n = file.read(&mut buf).map_err(|source| io_error(path, source))?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io { path: path.display().to_string(), source }
}

/// Reads our chain JSON (the serde form of [`OptionChain`]) and validates it.
pub fn read_chain_json(path: &Path) -> Result<OptionChain, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
    let chain: OptionChain = serde_json::from_str(&text).map_err(|source| DataError::Json {
        path: path.display().to_string(),
        what: "option chain",
        source,
    })?;
    chain.validate()?;
    Ok(chain)
}

/// Reads any supported file as a list of chains (OptionsDX files hold one per snapshot time).
pub fn read_chains(path: &Path, format: ChainFormat) -> Result<Vec<OptionChain>, DataError> {
    match format {
        ChainFormat::DeribitCsv => Ok(vec![deribit::read_book_summary_csv(path)?]),
        ChainFormat::DeribitJson => Ok(vec![deribit::read_book_summary_json(path)?]),
        ChainFormat::Optionsdx => optionsdx::read_eod(path),
        ChainFormat::ChainJson => Ok(vec![read_chain_json(path)?]),
    }
}

/// Every option snapshot file under `data_dir/options` (Deribit `*.csv`/`*.json` in
/// `deribit-*` folders, OptionsDX `*.txt`), sorted by path, with its format.
pub fn snapshot_files(data_dir: &Path) -> Result<Vec<(PathBuf, ChainFormat)>, DataError> {
    let options = data_dir.join("options");
    let mut files = Vec::new();
    let dirs = std::fs::read_dir(&options).map_err(|source| io_error(&options, source))?;
    for dir in dirs {
        let dir = dir.map_err(|source| io_error(&options, source))?.path();
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir).map_err(|source| io_error(&dir, source))? {
            let path = entry.map_err(|source| io_error(&dir, source))?.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let format = match ext {
                "csv" => ChainFormat::DeribitCsv,
                "json" => ChainFormat::detect(&path)?,
                "txt" => ChainFormat::Optionsdx,
                _ => continue,
            };
            files.push((path, format));
        }
    }
    files.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(files)
}

/// Column lookup by header name, shared by the CSV readers: header in, typed field access with
/// errors naming the column and line out.
pub(crate) struct Columns {
    path: String,
    index: HashMap<String, usize>,
}

impl Columns {
    /// `normalise` maps a raw header cell to the name looked up (e.g. strips OptionsDX's `[ ]`).
    pub(crate) fn new(
        path: &Path,
        header: &csv::StringRecord,
        normalise: fn(&str) -> &str,
    ) -> Self {
        let index = header.iter().enumerate().map(|(i, h)| (normalise(h).to_owned(), i)).collect();
        Self { path: path.display().to_string(), index }
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Index of a required column.
    pub(crate) fn require(&self, column: &'static str) -> Result<usize, DataError> {
        self.index
            .get(column)
            .copied()
            .ok_or_else(|| DataError::MissingColumn { path: self.path.clone(), column })
    }

    /// Index of the first present column among `names`, if any.
    pub(crate) fn optional(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.index.get(*n).copied())
    }

    pub(crate) fn bad(
        &self,
        line: u64,
        column: &str,
        value: &str,
        reason: &'static str,
    ) -> DataError {
        DataError::BadValue {
            path: self.path.clone(),
            line,
            column: column.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }

    fn name_of(&self, index: usize) -> &str {
        self.index.iter().find(|(_, i)| **i == index).map_or("?", |(n, _)| n.as_str())
    }

    /// A required finite number.
    pub(crate) fn number(
        &self,
        record: &csv::StringRecord,
        line: u64,
        index: usize,
    ) -> Result<f64, DataError> {
        let text = record.get(index).unwrap_or("").trim();
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.bad(line, self.name_of(index), text, "expected a finite number"))
    }

    /// An optional number: empty cell -> `None`; otherwise it must parse.
    pub(crate) fn optional_number(
        &self,
        record: &csv::StringRecord,
        line: u64,
        index: Option<usize>,
    ) -> Result<Option<f64>, DataError> {
        let Some(index) = index else { return Ok(None) };
        let text = record.get(index).unwrap_or("").trim();
        if text.is_empty() {
            return Ok(None);
        }
        self.number(record, line, index).map(Some)
    }
}

/// Deribit-style "0 means an empty book side": positive values only.
pub(crate) fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| *x > 0.0)
}
