//! Deribit option records in, one [`OptionChain`] out: the CSV form of
//! `public/get_book_summary_by_currency` / ticker results (as in the shared data set) and the raw
//! API JSON (`{"result": [{...}]}` or a bare array of records).
//!
//! Field mapping (CSV columns and JSON keys alike; columns are found by header name, so their
//! order does not matter and extra columns are ignored):
//!
//! | Deribit field | [`OptionQuote`] field | notes |
//! |---|---|---|
//! | `instrument_name` (required) | `instrument_name`, `expiry_ms`, `strike`, `kind` | parsed; expiry 08:00 UTC |
//! | `underlying_price` (required) | `forward` | the expiry's future or synthetic forward |
//! | `mark_iv` (required) | `mark_iv` | vol points / 100 |
//! | `bid_iv`, `ask_iv` | `bid_iv`, `ask_iv` | vol points / 100; 0 or empty = empty side = `None` |
//! | `mark_price` | `mark_price` | coin |
//! | `best_bid_price` or `bid_price` | `bid_price` | coin; 0 = `None` |
//! | `best_ask_price` or `ask_price` | `ask_price` | coin; 0 = `None` |
//! | `timestamp` or `creation_timestamp` (required) | chain `timestamp_ms` | the latest record's |
//!
//! `underlying_index`, `interest_rate`, `index_price`, `greeks.*` and the rest are not needed by
//! the calibrator and are ignored. An instrument listed more than once (the 2021-02-11 BTC file
//! lists each twice, minutes apart) keeps its latest record. All records must share one
//! underlying (the name's prefix).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::data::{io_error, parse_instrument_name, positive, Columns, OptionChain, OptionQuote};
use crate::error::DataError;

/// One record's fields, already as numbers.
struct Record {
    line: u64,
    name: String,
    timestamp_ms: i64,
    forward: f64,
    mark_iv: f64,
    bid_iv: Option<f64>,
    ask_iv: Option<f64>,
    mark_price: Option<f64>,
    bid_price: Option<f64>,
    ask_price: Option<f64>,
}

fn bad(path: &str, line: u64, column: &str, value: &str, reason: &'static str) -> DataError {
    DataError::BadValue {
        path: path.to_owned(),
        line,
        column: column.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

/// Records in, chain out: parse names, convert vol points, dedupe, check one underlying.
fn build_chain(path: &str, records: Vec<Record>) -> Result<OptionChain, DataError> {
    let mut underlying: Option<String> = None;
    let mut latest: HashMap<String, (i64, OptionQuote)> = HashMap::new();
    let mut order = Vec::new();
    let mut timestamp_ms = i64::MIN;
    for r in records {
        let parsed = parse_instrument_name(&r.name).map_err(|_| {
            bad(path, r.line, "instrument_name", &r.name, "expected UNDERLYING-DMMMYY-STRIKE-C|P")
        })?;
        match &underlying {
            None => underlying = Some(parsed.underlying.clone()),
            Some(u) if *u != parsed.underlying => {
                return Err(bad(
                    path,
                    r.line,
                    "instrument_name",
                    &r.name,
                    "all records of a chain must have the same underlying",
                ))
            }
            Some(_) => {}
        }
        if r.forward.is_nan() || r.forward <= 0.0 {
            return Err(bad(
                path,
                r.line,
                "underlying_price",
                &r.forward.to_string(),
                "must be > 0",
            ));
        }
        if r.mark_iv.is_nan() || r.mark_iv < 0.0 {
            return Err(bad(path, r.line, "mark_iv", &r.mark_iv.to_string(), "must be >= 0"));
        }
        timestamp_ms = timestamp_ms.max(r.timestamp_ms);
        let quote = OptionQuote {
            instrument_name: r.name.clone(),
            expiry_ms: parsed.expiry_ms,
            strike: parsed.strike,
            kind: parsed.kind,
            forward: r.forward,
            mark_iv: r.mark_iv / 100.0,
            bid_iv: positive(r.bid_iv).map(|v| v / 100.0),
            ask_iv: positive(r.ask_iv).map(|v| v / 100.0),
            mark_price: r.mark_price,
            bid_price: positive(r.bid_price),
            ask_price: positive(r.ask_price),
        };
        match latest.get_mut(&r.name) {
            Some(entry) => {
                if r.timestamp_ms >= entry.0 {
                    *entry = (r.timestamp_ms, quote);
                }
            }
            None => {
                order.push(r.name.clone());
                latest.insert(r.name, (r.timestamp_ms, quote));
            }
        }
    }
    let Some(underlying) = underlying else {
        return Err(DataError::Invalid {
            field: path.to_owned(),
            reason: "no option records in the file".to_owned(),
        });
    };
    // Keep first-seen order so output is deterministic regardless of hashing.
    let quotes = order.into_iter().filter_map(|n| latest.remove(&n).map(|(_, q)| q)).collect();
    Ok(OptionChain { underlying, timestamp_ms, quotes })
}

/// Reads a Deribit book-summary CSV (see the module doc for the columns used).
pub fn read_book_summary_csv(path: &Path) -> Result<OptionChain, DataError> {
    let shown = path.display().to_string();
    let csv_error = |source| DataError::Csv { path: shown.clone(), source };
    let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let header = reader.headers().map_err(csv_error)?.clone();
    let cols = Columns::new(path, &header, str::trim);
    let name_col = cols.require("instrument_name")?;
    let forward_col = cols.require("underlying_price")?;
    let mark_iv_col = cols.require("mark_iv")?;
    let time_col = match cols.optional(&["timestamp", "creation_timestamp"]) {
        Some(i) => i,
        None => cols.require("timestamp")?,
    };
    let bid_iv_col = cols.optional(&["bid_iv"]);
    let ask_iv_col = cols.optional(&["ask_iv"]);
    let mark_price_col = cols.optional(&["mark_price"]);
    let bid_price_col = cols.optional(&["best_bid_price", "bid_price"]);
    let ask_price_col = cols.optional(&["best_ask_price", "ask_price"]);
    let mut records = Vec::new();
    for result in reader.records() {
        let record = result.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let name = record.get(name_col).unwrap_or("").trim().to_owned();
        let time = cols.number(&record, line, time_col)?;
        records.push(Record {
            line,
            name,
            timestamp_ms: time as i64,
            forward: cols.number(&record, line, forward_col)?,
            mark_iv: cols.number(&record, line, mark_iv_col)?,
            bid_iv: cols.optional_number(&record, line, bid_iv_col)?,
            ask_iv: cols.optional_number(&record, line, ask_iv_col)?,
            mark_price: cols.optional_number(&record, line, mark_price_col)?,
            bid_price: cols.optional_number(&record, line, bid_price_col)?,
            ask_price: cols.optional_number(&record, line, ask_price_col)?,
        });
    }
    build_chain(cols.path(), records)
}

/// Reads Deribit API JSON: `{"result": [...]}` or a bare array of book-summary records.
pub fn read_book_summary_json(path: &Path) -> Result<OptionChain, DataError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
    let value: Value = serde_json::from_str(&text).map_err(|source| DataError::Json {
        path: shown.clone(),
        what: "Deribit book summary",
        source,
    })?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("result") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(DataError::Invalid {
                    field: format!("{shown}: result"),
                    reason: "expected {\"result\": [...]} or a bare array of records".into(),
                })
            }
        },
        _ => {
            return Err(DataError::Invalid {
                field: shown,
                reason: "expected {\"result\": [...]} or a bare array of records".into(),
            })
        }
    };
    let mut records = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let line = i as u64 + 1;
        let get = |names: &[&str]| names.iter().find_map(|n| item.get(*n)).filter(|v| !v.is_null());
        let number = |names: &[&'static str], required: bool| -> Result<Option<f64>, DataError> {
            match get(names) {
                None if required => Err(bad(&shown, line, names[0], "", "missing required field")),
                None => Ok(None),
                Some(v) => v.as_f64().filter(|x| x.is_finite()).map(Some).ok_or_else(|| {
                    bad(&shown, line, names[0], &v.to_string(), "expected a number")
                }),
            }
        };
        let name = match get(&["instrument_name"]) {
            Some(Value::String(s)) => s.clone(),
            other => {
                return Err(bad(
                    &shown,
                    line,
                    "instrument_name",
                    &other.map_or(String::new(), Value::to_string),
                    "expected a string like BTC-24SEP21-7000-P",
                ))
            }
        };
        // `number(.., true)` never returns Ok(None): required fields error when absent.
        let required = |names: &[&'static str]| number(names, true).map(|v| v.unwrap_or(f64::NAN));
        records.push(Record {
            line,
            name,
            timestamp_ms: required(&["timestamp", "creation_timestamp"])? as i64,
            forward: required(&["underlying_price"])?,
            mark_iv: required(&["mark_iv"])?,
            bid_iv: number(&["bid_iv"], false)?,
            ask_iv: number(&["ask_iv"], false)?,
            mark_price: number(&["mark_price"], false)?,
            bid_price: number(&["best_bid_price", "bid_price"], false)?,
            ask_price: number(&["best_ask_price", "ask_price"], false)?,
        });
    }
    build_chain(&shown, records)
}
