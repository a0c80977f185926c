//! `xmargin iv`: option prices -> implied volatilities, one from flags or many from a JSON file.

use std::path::PathBuf;

use clap::Args;
use offchain_risk::pricing::implied_vol::implied_vol;
use offchain_risk::pricing::OptionKind;
use offchain_risk::{DataError, RiskError};
use serde::{Deserialize, Serialize};

use crate::io::{read_json, to_json};

/// Arguments of `xmargin iv`.
#[derive(Debug, Args)]
pub struct IvArgs {
    /// JSON array of quotes `{"kind", "price", "forward", "strike", "expiry_years", "rate"}`;
    /// without it, one quote comes from the flags below.
    #[arg(long, conflicts_with_all = ["kind", "price", "forward", "strike", "expiry_years"])]
    pub input: Option<PathBuf>,
    /// `call` or `put`.
    #[arg(long)]
    pub kind: Option<String>,
    /// Option price in USD (undiscounted payoff units times the discount factor, as Black-76).
    #[arg(long)]
    pub price: Option<f64>,
    /// Forward price.
    #[arg(long)]
    pub forward: Option<f64>,
    /// Strike.
    #[arg(long)]
    pub strike: Option<f64>,
    /// Years to expiry.
    #[arg(long)]
    pub expiry_years: Option<f64>,
    /// Continuously compounded rate for discounting (default 0).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One option price to invert.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceQuote {
    /// Call or put.
    pub kind: OptionKind,
    /// Price (discounted).
    pub price: f64,
    /// Forward.
    pub forward: f64,
    /// Strike.
    pub strike: f64,
    /// Years to expiry.
    pub expiry_years: f64,
    /// Continuously compounded rate.
    #[serde(default)]
    pub rate: f64,
}

/// The implied volatility of one quote, or why there is none.
#[derive(Debug, Serialize)]
struct IvResult {
    quote: PriceQuote,
    #[serde(skip_serializing_if = "Option::is_none")]
    implied_vol: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs the subcommand; a quote without an implied volatility makes it fail after printing all.
pub fn run(args: &IvArgs) -> Result<(), RiskError> {
    let quotes = match &args.input {
        Some(path) => read_json::<Vec<PriceQuote>>(path, "array of option price quotes")?,
        None => vec![quote_from_flags(args)?],
    };
    let results: Vec<IvResult> = quotes
        .into_iter()
        .map(|quote| {
            let discount_factor = (-quote.rate * quote.expiry_years).exp();
            match implied_vol(
                quote.kind,
                quote.price,
                quote.forward,
                quote.strike,
                quote.expiry_years,
                discount_factor,
            ) {
                Ok(vol) => IvResult { quote, implied_vol: Some(vol), error: None },
                Err(error) => IvResult { quote, implied_vol: None, error: Some(error.to_string()) },
            }
        })
        .collect();
    if args.json {
        println!("{}", to_json(&results));
    } else {
        println!(
            "{:>5} {:>14} {:>12} {:>12} {:>10} {:>16}",
            "kind", "price", "forward", "strike", "years", "implied vol"
        );
        for result in &results {
            let q = &result.quote;
            let shown = match (&result.implied_vol, &result.error) {
                (Some(vol), _) => format!("{vol:.12}"),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            };
            println!(
                "{:>5} {:>14.8} {:>12.4} {:>12.4} {:>10.6} {:>16}",
                format!("{:?}", q.kind).to_lowercase(),
                q.price,
                q.forward,
                q.strike,
                q.expiry_years,
                shown
            );
        }
    }
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        return Err(DataError::Invalid {
            field: "price".to_owned(),
            reason: format!(
                "{failed} of {} quotes have no implied volatility (see above)",
                results.len()
            ),
        }
        .into());
    }
    Ok(())
}

fn quote_from_flags(args: &IvArgs) -> Result<PriceQuote, RiskError> {
    fn required<T: Copy>(value: Option<T>, flag: &str) -> Result<T, RiskError> {
        value.ok_or_else(|| {
            DataError::Invalid {
                field: format!("--{flag}"),
                reason:
                    "is required without --input (or pass --input FILE with a JSON array of quotes)"
                        .to_owned(),
            }
            .into()
        })
    }
    let kind = match args.kind.as_deref() {
        Some("call") => OptionKind::Call,
        Some("put") => OptionKind::Put,
        Some(other) => {
            return Err(DataError::Invalid {
                field: "--kind".to_owned(),
                reason: format!("is `{other}`; use `call` or `put`"),
            }
            .into())
        }
        None => required(None::<OptionKind>, "kind")?,
    };
    Ok(PriceQuote {
        kind,
        price: required(args.price, "price")?,
        forward: required(args.forward, "forward")?,
        strike: required(args.strike, "strike")?,
        expiry_years: required(args.expiry_years, "expiry-years")?,
        rate: args.rate,
    })
}
