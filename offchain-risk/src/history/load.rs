//! Readers for the shared daily data set: CSV files in, validated series out.
//!
//! Columns are found by header name, so extra columns (BTC's `None,code` prefix) are ignored and
//! column order does not matter. Every row is validated: a missing column is
//! [`DataError::MissingColumn`], an unparsable or out-of-domain field is [`DataError::Invalid`]
//! whose `field` names the file, line and column. Dates must strictly increase (days missing from
//! the file are allowed and kept missing: see [`super::GapPolicy`]).

use std::path::{Path, PathBuf};

use super::{Date, PriceSeries};
use crate::error::DataError;

/// The assets with a daily close history under `prices/` (file `<SYMBOL>-USD.csv`).
pub const PRICE_SYMBOLS: [&str; 7] = ["BTC", "ETH", "SOL", "BNB", "LINK", "XRP", "UNI"];

/// Days by which `prices/` dates lag the UTC close they hold (see the module docs of
/// [`crate::history`]).
pub const PRICES_DATE_LAG_DAYS: i32 = 1;

/// The Binance pairs with daily OHLCV under `ohlcv/` (file `<PAIR>_1d.csv`).
pub const OHLCV_PAIRS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

/// The perpetuals with funding history under `funding/` (file `<PAIR>_binance_funding.csv`).
pub const FUNDING_PAIRS: [&str; 2] = ["BTC-USDT", "ETH-USDT"];

/// The shared data set's root (`prices/`, `ohlcv/`, `funding/`, `vol/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// `$XMARGIN_DATA_DIR` if set, else `<repo root>/../shared/data`; a missing directory is
    /// [`DataError::MissingDataDir`], whose message names the variable.
    pub fn locate() -> Result<Self, DataError> {
        crate::data::data_dir().map(|root| DataDir { root })
    }

    /// A data set rooted at `root` (not checked until a file is read).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Daily USD closes of `symbol` (e.g. `"BTC"`), from `prices/<symbol>-USD.csv`.
    pub fn prices(&self, symbol: &str) -> Result<PriceSeries, DataError> {
        read_price_csv(&self.root.join("prices").join(format!("{symbol}-USD.csv")), symbol)
    }

    /// Daily Binance OHLCV bars of `pair` (e.g. `"BTCUSDT"`), from `ohlcv/<pair>_1d.csv`.
    pub fn ohlcv(&self, pair: &str) -> Result<OhlcvSeries, DataError> {
        read_ohlcv_csv(&self.root.join("ohlcv").join(format!("{pair}_1d.csv")), pair)
    }

    /// 8-hourly Binance funding rates of `pair` (e.g. `"BTC-USDT"`).
    pub fn funding(&self, pair: &str) -> Result<FundingSeries, DataError> {
        read_funding_csv(&self.root.join("funding").join(format!("{pair}_binance_funding.csv")))
    }

    /// Deribit's BTC DVOL index (30-day implied vol, in vol points) from `vol/dvol_btc.csv`.
    pub fn dvol_btc(&self) -> Result<PriceSeries, DataError> {
        read_dvol_csv(&self.root.join("vol").join("dvol_btc.csv"), "BTC-DVOL")
    }
}

/// One daily bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OhlcvBar {
    /// The day (UTC).
    pub date: Date,
    /// Opening price.
    pub open: f64,
    /// Highest traded price.
    pub high: f64,
    /// Lowest traded price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Traded volume in the base asset.
    pub volume: f64,
}

/// Daily bars of one pair, dates strictly increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct OhlcvSeries {
    /// The pair, e.g. `BTCUSDT`.
    pub symbol: String,
    /// The bars.
    pub bars: Vec<OhlcvBar>,
}

impl OhlcvSeries {
    /// The closes as a price series (same symbol).
    pub fn closes(&self) -> PriceSeries {
        PriceSeries {
            symbol: self.symbol.clone(),
            days: self.bars.iter().map(|bar| (bar.date, bar.close)).collect(),
        }
    }
}

/// One funding print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundingPoint {
    /// The day, as written in the file.
    pub date: Date,
    /// Seconds after midnight, as written (the file's clock looks like UTC+3: 03:00/11:00/19:00).
    pub second_of_day: u32,
    /// The rate for the 8-hour period, a fraction of notional (longs pay shorts when positive).
    pub rate: f64,
}

/// Funding prints of one perpetual, times non-decreasing.
#[derive(Debug, Clone, PartialEq)]
pub struct FundingSeries {
    /// The pair, from the file's `Symbol` column (e.g. `BTC-USDT`).
    pub symbol: String,
    /// The prints.
    pub points: Vec<FundingPoint>,
}

impl FundingSeries {
    /// Sum of the rates printed on each file date (three prints a day when none is missing).
    pub fn daily_totals(&self) -> Vec<(Date, f64)> {
        let mut totals: Vec<(Date, f64)> = Vec::new();
        for point in &self.points {
            match totals.last_mut() {
                Some((date, total)) if *date == point.date => *total += point.rate,
                _ => totals.push((point.date, point.rate)),
            }
        }
        totals
    }
}

/// A CSV file opened with its header mapped to column indices.
struct Table {
    path: String,
    headers: csv::StringRecord,
    reader: csv::Reader<std::fs::File>,
}

impl Table {
    fn open(path: &Path) -> Result<Self, DataError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|source| DataError::Io { path: shown.clone(), source })?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
        let headers = reader
            .headers()
            .map_err(|source| DataError::Csv { path: shown.clone(), source })?
            .clone();
        Ok(Table { path: shown, headers, reader })
    }

    fn column(&self, name: &'static str) -> Result<usize, DataError> {
        self.headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| DataError::MissingColumn { path: self.path.clone(), column: name })
    }

    /// Calls `row` with each record and its 1-based line number.
    fn rows(
        &mut self,
        mut row: impl FnMut(&csv::StringRecord, u64) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    row(&record, line)?;
                }
                Err(source) => return Err(DataError::Csv { path: self.path.clone(), source }),
            }
        }
    }
}

fn invalid(path: &str, line: u64, column: &str, reason: String) -> DataError {
    DataError::Invalid { field: format!("{path} line {line} column `{column}`"), reason }
}

fn field<'r>(
    record: &'r csv::StringRecord,
    index: usize,
    path: &str,
    line: u64,
    column: &str,
) -> Result<&'r str, DataError> {
    record.get(index).ok_or_else(|| invalid(path, line, column, "the row is too short".into()))
}

fn date_field(
    record: &csv::StringRecord,
    index: usize,
    path: &str,
    line: u64,
    column: &str,
) -> Result<Date, DataError> {
    let text = field(record, index, path, line, column)?;
    // Funding timestamps carry a time after the date; the day is the first ten characters.
    let day = text.get(..10).unwrap_or(text);
    Date::parse(day).ok_or_else(|| {
        invalid(path, line, column, format!("`{text}` does not start with a YYYY-MM-DD date"))
    })
}

fn number_field(
    record: &csv::StringRecord,
    index: usize,
    path: &str,
    line: u64,
    column: &str,
    positive: bool,
) -> Result<f64, DataError> {
    let text = field(record, index, path, line, column)?;
    let value: f64 = text
        .parse()
        .map_err(|_| invalid(path, line, column, format!("`{text}` is not a number")))?;
    if !value.is_finite() || (positive && value <= 0.0) {
        let domain = if positive { "a finite positive number" } else { "a finite number" };
        return Err(invalid(path, line, column, format!("`{text}` must be {domain}")));
    }
    Ok(value)
}

fn check_increasing(
    previous: Option<Date>,
    date: Date,
    path: &str,
    line: u64,
    column: &str,
) -> Result<(), DataError> {
    match previous {
        Some(previous) if date <= previous => Err(invalid(
            path,
            line,
            column,
            format!("{date} does not come after {previous}: rows must be in strictly increasing date order"),
        )),
        _ => Ok(()),
    }
}

/// Read a `date,value` daily close file (any other columns ignored); prices must be positive.
pub fn read_price_csv(path: &Path, symbol: &str) -> Result<PriceSeries, DataError> {
    read_daily_csv(path, symbol, "date", "value")
}

/// Read Deribit's DVOL file (`date,dvol`, vol points); values must be positive.
pub fn read_dvol_csv(path: &Path, symbol: &str) -> Result<PriceSeries, DataError> {
    read_daily_csv(path, symbol, "date", "dvol")
}

fn read_daily_csv(
    path: &Path,
    symbol: &str,
    date_column: &'static str,
    value_column: &'static str,
) -> Result<PriceSeries, DataError> {
    let mut table = Table::open(path)?;
    let date_at = table.column(date_column)?;
    let value_at = table.column(value_column)?;
    let shown = table.path.clone();
    let mut days: Vec<(Date, f64)> = Vec::new();
    table.rows(|record, line| {
        let date = date_field(record, date_at, &shown, line, date_column)?;
        check_increasing(days.last().map(|d| d.0), date, &shown, line, date_column)?;
        let value = number_field(record, value_at, &shown, line, value_column, true)?;
        days.push((date, value));
        Ok(())
    })?;
    Ok(PriceSeries { symbol: symbol.to_string(), days })
}

/// Read a `timestamp,open,high,low,close,volume` daily bar file (the timestamp is a date).
pub fn read_ohlcv_csv(path: &Path, symbol: &str) -> Result<OhlcvSeries, DataError> {
    let mut table = Table::open(path)?;
    let columns = [
        table.column("timestamp")?,
        table.column("open")?,
        table.column("high")?,
        table.column("low")?,
        table.column("close")?,
        table.column("volume")?,
    ];
    let shown = table.path.clone();
    let mut bars: Vec<OhlcvBar> = Vec::new();
    table.rows(|record, line| {
        let date = date_field(record, columns[0], &shown, line, "timestamp")?;
        check_increasing(bars.last().map(|b| b.date), date, &shown, line, "timestamp")?;
        let price =
            |index: usize, name: &str| number_field(record, index, &shown, line, name, true);
        let bar = OhlcvBar {
            date,
            open: price(columns[1], "open")?,
            high: price(columns[2], "high")?,
            low: price(columns[3], "low")?,
            close: price(columns[4], "close")?,
            volume: number_field(record, columns[5], &shown, line, "volume", false)?,
        };
        if bar.volume < 0.0 {
            return Err(invalid(&shown, line, "volume", format!("{} is negative", bar.volume)));
        }
        if bar.low > bar.open.min(bar.close) || bar.high < bar.open.max(bar.close) {
            return Err(invalid(
                &shown,
                line,
                "low",
                format!("low {} / high {} do not bracket open and close", bar.low, bar.high),
            ));
        }
        bars.push(bar);
        Ok(())
    })?;
    Ok(OhlcvSeries { symbol: symbol.to_string(), bars })
}

/// Read a `Symbol,Date,Funding Rate` file (`Date` is `YYYY-MM-DD HH:MM:SS[.fff]`).
pub fn read_funding_csv(path: &Path) -> Result<FundingSeries, DataError> {
    let mut table = Table::open(path)?;
    let symbol_at = table.column("Symbol")?;
    let date_at = table.column("Date")?;
    let rate_at = table.column("Funding Rate")?;
    let shown = table.path.clone();
    let mut symbol: Option<String> = None;
    let mut points: Vec<FundingPoint> = Vec::new();
    table.rows(|record, line| {
        let row_symbol = field(record, symbol_at, &shown, line, "Symbol")?;
        match &symbol {
            None => symbol = Some(row_symbol.to_string()),
            Some(first) if first != row_symbol => {
                return Err(invalid(
                    &shown,
                    line,
                    "Symbol",
                    format!("`{row_symbol}` differs from the file's first symbol `{first}`"),
                ))
            }
            Some(_) => {}
        }
        let date = date_field(record, date_at, &shown, line, "Date")?;
        let stamp = field(record, date_at, &shown, line, "Date")?;
        let second_of_day = parse_time_of_day(stamp.get(10..).unwrap_or("")).ok_or_else(|| {
            invalid(&shown, line, "Date", format!("`{stamp}` is not `YYYY-MM-DD HH:MM:SS`"))
        })?;
        if let Some(last) = points.last() {
            if (date, second_of_day) < (last.date, last.second_of_day) {
                return Err(invalid(&shown, line, "Date", format!("`{stamp}` goes back in time")));
            }
        }
        let rate = number_field(record, rate_at, &shown, line, "Funding Rate", false)?;
        points.push(FundingPoint { date, second_of_day, rate });
        Ok(())
    })?;
    Ok(FundingSeries { symbol: symbol.unwrap_or_default(), points })
}

/// `" HH:MM:SS[.fff]"` (or empty: midnight) to seconds after midnight; fractions are dropped.
fn parse_time_of_day(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    let whole = text.split('.').next()?;
    let mut parts = whole.split(':').map(|part| part.parse::<u32>().ok());
    let (hours, minutes, seconds) =
        (parts.next()??, parts.next()??, parts.next().unwrap_or(Some(0))?);
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    Some(hours * 3_600 + minutes * 60 + seconds)
}
