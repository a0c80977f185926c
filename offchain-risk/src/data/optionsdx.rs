//! OptionsDX end-of-day Deribit chains in, one [`OptionChain`] per snapshot time out.
//!
//! The files are comma-plus-space separated with bracketed headers (`[QUOTE_UNIXTIME], ...`);
//! columns are found by name. Mapping:
//!
//! | OptionsDX column | [`OptionQuote`] field | notes |
//! |---|---|---|
//! | `QUOTE_UNIXTIME` (required) | chain `timestamp_ms` | seconds; one chain per distinct value |
//! | `INSTRUMENT_NAME` (required) | `instrument_name`, `expiry_ms`, `kind`, underlying | parsed; 08:00 UTC |
//! | `STRIKE` (required) | `strike` | |
//! | `UNDERLYING_PRICE` (required) | `forward` | |
//! | `MARK_IV` (required) | `mark_iv` | vol points / 100 |
//! | `BID_PRICE`, `ASK_PRICE` | `bid_price`, `ask_price` | BTC; 0 = empty side = `None` |
//!
//! The files carry no bid/ask implied volatilities, so `bid_iv` and `ask_iv` are `None` and the
//! calibrator falls back to the mark. `OPTION_RIGHT` is checked against the name's `C`/`P`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::data::{io_error, parse_instrument_name, positive, Columns, OptionChain, OptionQuote};
use crate::error::DataError;
use crate::pricing::OptionKind;

fn strip_brackets(h: &str) -> &str {
    h.trim().trim_start_matches('[').trim_end_matches(']')
}

/// Reads an OptionsDX EOD file; chains are sorted by snapshot time.
pub fn read_eod(path: &Path) -> Result<Vec<OptionChain>, DataError> {
    let shown = path.display().to_string();
    let csv_error = |source| DataError::Csv { path: shown.clone(), source };
    let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
    let header = reader.headers().map_err(csv_error)?.clone();
    let cols = Columns::new(path, &header, strip_brackets);
    let time_col = cols.require("QUOTE_UNIXTIME")?;
    let name_col = cols.require("INSTRUMENT_NAME")?;
    let strike_col = cols.require("STRIKE")?;
    let forward_col = cols.require("UNDERLYING_PRICE")?;
    let mark_iv_col = cols.require("MARK_IV")?;
    let right_col = cols.optional(&["OPTION_RIGHT"]);
    let bid_col = cols.optional(&["BID_PRICE"]);
    let ask_col = cols.optional(&["ASK_PRICE"]);
    let mut chains: BTreeMap<i64, OptionChain> = BTreeMap::new();
    for result in reader.records() {
        let record = result.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let seconds = cols.number(&record, line, time_col)?;
        let name = record.get(name_col).unwrap_or("").to_owned();
        let parsed = parse_instrument_name(&name).map_err(|_| {
            cols.bad(line, "INSTRUMENT_NAME", &name, "expected UNDERLYING-DMMMYY-STRIKE-C|P")
        })?;
        if let Some(i) = right_col {
            let right = record.get(i).unwrap_or("");
            let expected = match parsed.kind {
                OptionKind::Call => "call",
                OptionKind::Put => "put",
            };
            if !right.eq_ignore_ascii_case(expected) {
                return Err(cols.bad(
                    line,
                    "OPTION_RIGHT",
                    right,
                    "disagrees with INSTRUMENT_NAME",
                ));
            }
        }
        let strike = cols.number(&record, line, strike_col)?;
        if strike <= 0.0 {
            return Err(cols.bad(line, "STRIKE", &strike.to_string(), "must be > 0"));
        }
        let forward = cols.number(&record, line, forward_col)?;
        if forward <= 0.0 {
            return Err(cols.bad(line, "UNDERLYING_PRICE", &forward.to_string(), "must be > 0"));
        }
        let mark_iv = cols.number(&record, line, mark_iv_col)?;
        if mark_iv < 0.0 {
            return Err(cols.bad(line, "MARK_IV", &mark_iv.to_string(), "must be >= 0"));
        }
        let timestamp_ms = (seconds * 1000.0).round() as i64;
        let chain = chains.entry(timestamp_ms).or_insert_with(|| OptionChain {
            underlying: parsed.underlying.clone(),
            timestamp_ms,
            quotes: Vec::new(),
        });
        if chain.underlying != parsed.underlying {
            return Err(cols.bad(
                line,
                "INSTRUMENT_NAME",
                &name,
                "all rows of a snapshot must have the same underlying",
            ));
        }
        chain.quotes.push(OptionQuote {
            instrument_name: name,
            expiry_ms: parsed.expiry_ms,
            strike,
            kind: parsed.kind,
            forward,
            mark_iv: mark_iv / 100.0,
            bid_iv: None,
            ask_iv: None,
            mark_price: None,
            bid_price: positive(cols.optional_number(&record, line, bid_col)?),
            ask_price: positive(cols.optional_number(&record, line, ask_col)?),
        });
    }
    if chains.is_empty() {
        return Err(DataError::Invalid { field: shown, reason: "no rows in the file".into() });
    }
    Ok(chains.into_values().collect())
}
