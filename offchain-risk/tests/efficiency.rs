//! The capital-efficiency table: the committed canonical portfolios parse, validate, equal what
//! the generator builds and margin under every model; the claims docs/CAPITAL_EFFICIENCY.md makes
//! hold on fresh numbers; the committed document is what the code generates now; and the
//! `margin` / `efficiency` subcommands agree with the library and name bad fields.
//!
//! The full table runs Monte Carlo at 10,000 paths on a 1,000-position book: run with
//! `cargo test --release -p offchain-risk --test efficiency`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use offchain_risk::efficiency::{
    canonical_portfolios, claims, efficiency_table, market_maker_book, render_markdown,
    EfficiencyRow, CANONICAL, FAR_LESS, MARKET_MAKER_POSITIONS, MARKET_MAKER_SEED,
};
use offchain_risk::instrument::{Instrument, Portfolio};
use offchain_risk::margin::{margin, MarginConfig, MarginModel};
use offchain_risk::market::MarketSnapshot;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn portfolios_dir() -> PathBuf {
    crate_dir().join("portfolios")
}

fn market() -> MarketSnapshot {
    let text = std::fs::read_to_string(portfolios_dir().join("market.json")).unwrap();
    let market: MarketSnapshot = serde_json::from_str(&text).unwrap();
    market.validate().unwrap();
    market
}

/// The committed canonical portfolios, in table order.
fn committed() -> Vec<(String, Portfolio)> {
    CANONICAL
        .iter()
        .map(|c| {
            let path = portfolios_dir().join(format!("{}.json", c.stem));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let portfolio: Portfolio = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            (c.stem.to_owned(), portfolio)
        })
        .collect()
}

/// The full table at the default configuration, computed once for all tests.
fn table() -> &'static [EfficiencyRow] {
    static TABLE: OnceLock<Vec<EfficiencyRow>> = OnceLock::new();
    TABLE.get_or_init(|| {
        efficiency_table(&committed(), &market(), &MarginConfig::default()).unwrap()
    })
}

fn row(stem: &str) -> &'static EfficiencyRow {
    table().iter().find(|r| r.stem == stem).unwrap()
}

fn maintenance(stem: &str, model: MarginModel) -> f64 {
    row(stem).model(model).maintenance
}

#[test]
fn every_canonical_portfolio_parses_validates_and_margins_under_all_models() {
    let market = market();
    let mut config = MarginConfig::default();
    config.monte_carlo.paths = 1_000;
    let files = committed();
    assert_eq!(files.len(), 11);
    for (stem, portfolio) in &files {
        portfolio.validate().unwrap_or_else(|e| panic!("{stem}: {e}"));
        for model in MarginModel::ALL {
            let outcome = margin(portfolio, &market, model, &config)
                .unwrap_or_else(|e| panic!("{stem} under {}: {e}", model.label()));
            let result = &outcome.result;
            assert!(result.mark_to_market.is_finite(), "{stem}");
            assert!(result.maintenance_margin >= 0.0, "{stem} {}", model.label());
            assert!(result.initial_margin >= result.maintenance_margin, "{stem}");
            assert_eq!(result.positions.len(), portfolio.positions.len(), "{stem}");
        }
    }
    // Every expiry used is one of the snapshot's (the calibrated Deribit expiries).
    for (stem, portfolio) in &files {
        for position in &portfolio.positions {
            if let Some(expiry) = position.instrument.expiry_ms() {
                let underlying = market.underlying(position.instrument.underlying()).unwrap();
                assert!(
                    underlying.forwards.iter().any(|f| f.expiry_ms == expiry),
                    "{stem}: expiry {expiry} is not one of the snapshot's"
                );
            }
        }
    }
}

#[test]
fn committed_portfolios_are_what_the_generator_builds() {
    // Regenerate with `xmargin efficiency --write-portfolios ...` if this fails on purpose.
    // Compared as text, byte for byte, as the CLI writes them.
    let generated = canonical_portfolios(&market()).unwrap();
    assert_eq!(generated.len(), CANONICAL.len());
    for (stem, built) in &generated {
        let path = portfolios_dir().join(format!("{stem}.json"));
        let file = std::fs::read_to_string(&path).unwrap();
        let text = serde_json::to_string_pretty(built).unwrap() + "\n";
        assert!(file == text, "{} differs from canonical_portfolios()", path.display());
    }
}

#[test]
fn market_maker_book_is_seeded_and_spans_both_underlyings() {
    let market = market();
    let book = market_maker_book(&market, MARKET_MAKER_SEED, MARKET_MAKER_POSITIONS).unwrap();
    assert_eq!(book.positions.len(), 1_000);
    assert_eq!(book, market_maker_book(&market, MARKET_MAKER_SEED, 1_000).unwrap());
    assert_ne!(book, market_maker_book(&market, MARKET_MAKER_SEED + 1, 1_000).unwrap());
    for underlying in ["BTC", "ETH"] {
        let on = |p: &&offchain_risk::instrument::Position| p.instrument.underlying() == underlying;
        let options = book
            .positions
            .iter()
            .filter(on)
            .filter(|p| matches!(p.instrument, Instrument::Option { .. }))
            .count();
        let longs = book.positions.iter().filter(on).filter(|p| p.size > 0.0).count();
        let shorts = book.positions.iter().filter(on).filter(|p| p.size < 0.0).count();
        let hedges = book.positions.iter().filter(on).count() - options;
        assert!(options > 200 && hedges > 10, "{underlying}: {options} options, {hedges} hedges");
        assert!(longs > 100 && shorts > 100, "{underlying}: {longs} long, {shorts} short");
    }
}

#[test]
fn hedged_books_need_far_less_under_cross_margin_except_the_covered_call() {
    use MarginModel::{Isolated, MonteCarlo, ScenarioGrid};
    for stem in [
        "03_calendar_spread",
        "04_delta_hedged_straddle",
        "05_futures_basis",
        "06_perp_spot_hedge",
        "07_risk_reversal",
        "08_iron_condor",
        "11_market_maker",
    ] {
        let iso = maintenance(stem, Isolated);
        let grid = maintenance(stem, ScenarioGrid);
        let mc = maintenance(stem, MonteCarlo);
        assert!(grid <= FAR_LESS * iso, "{stem}: grid {grid} vs isolated {iso}");
        assert!(mc <= FAR_LESS * iso, "{stem}: Monte Carlo {mc} vs isolated {iso}");
    }
    // Pure delta-one hedges are nearly free: only the grid's basis add-on remains.
    for stem in ["05_futures_basis", "06_perp_spot_hedge"] {
        let ratio = maintenance(stem, ScenarioGrid) / maintenance(stem, Isolated);
        assert!(ratio < 0.05, "{stem}: grid/isolated {ratio}");
    }
    // The covered call keeps the spot's downside: the grid saves less than half (the doc says
    // so); Monte Carlo still saves more than half.
    let iso = maintenance("02_covered_call", Isolated);
    assert!(maintenance("02_covered_call", ScenarioGrid) > FAR_LESS * iso);
    assert!(maintenance("02_covered_call", ScenarioGrid) < iso);
    assert!(maintenance("02_covered_call", MonteCarlo) <= FAR_LESS * iso);
    // Cross margin never exceeds isolated on any canonical book.
    for row in table() {
        let iso = row.model(Isolated).maintenance;
        assert!(row.model(ScenarioGrid).maintenance <= iso * (1.0 + 1e-12), "{}", row.stem);
    }
}

#[test]
fn delta_netting_misses_gamma_and_vega_that_full_revaluation_catches() {
    use MarginModel::{DeltaNetted, MonteCarlo, ScenarioGrid};
    for stem in ["04_delta_hedged_straddle", "07_risk_reversal", "11_market_maker"] {
        let delta = maintenance(stem, DeltaNetted);
        let grid = maintenance(stem, ScenarioGrid);
        assert!(delta < 0.5 * grid, "{stem}: delta-netted {delta} vs grid {grid}");
    }
    // The risk reversal is the extreme case: flat Greeks, real risk; Monte Carlo sees it too
    // (delta netting's charge is mostly the basis add-on of the perpetual hedge).
    assert!(
        maintenance("07_risk_reversal", DeltaNetted)
            < 0.25 * maintenance("07_risk_reversal", MonteCarlo)
    );
    // Where the claim does not hold (the doc says so): delta netting over-charges the calendar.
    assert!(
        maintenance("03_calendar_spread", DeltaNetted)
            > maintenance("03_calendar_spread", ScenarioGrid)
    );
}

#[test]
fn the_documented_verdicts_match_fresh_numbers() {
    let checks = claims(table());
    assert_eq!(checks.len(), 4);
    let failing = |i: usize| {
        checks[i].fails.iter().map(|f| f.split(':').next().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(failing(0), ["covered call"]);
    assert_eq!(failing(1), ["calendar spread"]);
    assert_eq!(failing(2), ["naked short OTM put"]);
    assert!(failing(3).is_empty());
    // Cross-asset offsets: the grid margins BTC and ETH alone, Monte Carlo nets them.
    let book = row("10_btc_eth_book");
    assert!(
        book.model(MarginModel::MonteCarlo).maintenance
            < 0.5 * book.model(MarginModel::ScenarioGrid).maintenance
    );
}

#[test]
fn skew_raises_the_short_puts_liability_but_not_its_grid_margin() {
    let put = row("01_naked_short_put");
    let surface = put.model(MarginModel::ScenarioGrid).maintenance;
    let flat = put.grid_flat_vol.maintenance;
    // Sticky moneyness on a smile: the crashed put rolls down towards the at-the-money minimum.
    assert!(surface < flat, "grid {surface} vs flat {flat}");
    // The skew prices the put well above flat vol, and liability + margin ends up higher.
    assert!(-put.mark_to_market > 1.2 * -put.flat_vol_mark_to_market);
    assert!(surface - put.mark_to_market > flat - put.flat_vol_mark_to_market);
}

#[test]
fn the_committed_document_is_up_to_date() {
    let path = crate_dir().join("../docs/CAPITAL_EFFICIENCY.md");
    let committed = std::fs::read_to_string(&path).unwrap();
    let fresh = render_markdown(table(), &market(), &MarginConfig::default());
    assert!(
        committed == fresh,
        "{} is stale; regenerate with the command at its top.\n--- fresh ---\n{fresh}",
        path.display()
    );
}

/// A value as the CLI prints it, parsed back (so both sides of a comparison take the same
/// decimal round trip).
fn through_text<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::from_str(&serde_json::to_string_pretty(value).unwrap()).unwrap()
}

fn xmargin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xmargin")).args(args).output().expect("xmargin runs")
}

fn fixture(name: &str) -> String {
    crate_dir().join("fixtures").join(name).display().to_string()
}

#[test]
fn margin_cli_json_matches_the_library() {
    let market_path = fixture("market.json");
    let portfolio_path = fixture("portfolio.json");
    // The fixture's ETH has no surface, so Monte Carlo needs its spot vol from the config.
    let mut config = MarginConfig::default();
    config.monte_carlo.spot_vols.insert("ETH".to_owned(), 0.9);
    let dir = scratch("margin-json");
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, serde_json::to_string(&config).unwrap()).unwrap();
    let output = xmargin(&[
        "margin",
        "--market",
        &market_path,
        "--portfolio",
        &portfolio_path,
        "--config",
        &config_path.display().to_string(),
        "--json",
    ]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let cli: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let market: MarketSnapshot =
        serde_json::from_str(&std::fs::read_to_string(&market_path).unwrap()).unwrap();
    let portfolio: Portfolio =
        serde_json::from_str(&std::fs::read_to_string(&portfolio_path).unwrap()).unwrap();
    let library: Vec<_> = MarginModel::ALL
        .iter()
        .map(|m| margin(&portfolio, &market, *m, &config).unwrap())
        .collect();
    assert_eq!(cli, through_text(&library));

    // One model, and the table form.
    let output = xmargin(&[
        "margin",
        "--market",
        &market_path,
        "--portfolio",
        &portfolio_path,
        "--model",
        "grid",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("scenario grid") && text.contains("BTC"));
    assert!(!text.contains("Monte Carlo ES"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("xmargin-efficiency-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn margin_cli_names_the_bad_field() {
    let dir = scratch("bad");
    let bad = dir.join("portfolio.json");
    std::fs::write(
        &bad,
        r#"{"positions": [{"instrument": {"type": "spot", "underlying": "BTC"}, "size": 1},
            {"instrument": {"type": "option", "underlying": "BTC", "expiry_ms": 1707884000000,
             "strike": -5, "kind": "put"}, "size": -1}]}"#,
    )
    .unwrap();
    let market_path = fixture("market.json");
    let output =
        xmargin(&["margin", "--market", &market_path, "--portfolio", &bad.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("positions[1].instrument.strike"), "{}", stderr(&output));

    // An underlying the market lacks names the missing market entry.
    std::fs::write(
        &bad,
        r#"{"positions": [{"instrument": {"type": "spot", "underlying": "SOL"}, "size": 1}]}"#,
    )
    .unwrap();
    let output =
        xmargin(&["margin", "--market", &market_path, "--portfolio", &bad.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("underlyings.SOL"), "{}", stderr(&output));

    // A misspelt field is rejected with its name.
    std::fs::write(
        &bad,
        r#"{"positions": [{"instrument": {"type": "spot", "underlying": "BTC"}, "sise": 1}]}"#,
    )
    .unwrap();
    let output =
        xmargin(&["margin", "--market", &market_path, "--portfolio", &bad.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("sise"), "{}", stderr(&output));

    let output = xmargin(&[
        "margin",
        "--market",
        &market_path,
        "--portfolio",
        &fixture("portfolio.json"),
        "--model",
        "span",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--model"), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn efficiency_cli_writes_the_table_and_chart() {
    // Two small canonical books against the committed market, Monte Carlo cut to 500 paths.
    let dir = scratch("cli");
    let books = dir.join("books");
    std::fs::create_dir_all(&books).unwrap();
    for stem in ["02_covered_call", "06_perp_spot_hedge"] {
        std::fs::copy(
            portfolios_dir().join(format!("{stem}.json")),
            books.join(format!("{stem}.json")),
        )
        .unwrap();
    }
    let config = dir.join("config.json");
    let mut margin_config = MarginConfig::default();
    margin_config.monte_carlo.paths = 500;
    std::fs::write(&config, serde_json::to_string(&margin_config).unwrap()).unwrap();
    let out = dir.join("out");
    let market_path = portfolios_dir().join("market.json").display().to_string();
    let output = xmargin(&[
        "efficiency",
        "--market",
        &market_path,
        "--portfolios",
        &books.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--config",
        &config.display().to_string(),
        "--json",
    ]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    let library = efficiency_table(
        &[
            ("02_covered_call".to_owned(), committed()[1].1.clone()),
            ("06_perp_spot_hedge".to_owned(), committed()[5].1.clone()),
        ],
        &market(),
        &margin_config,
    )
    .unwrap();
    assert_eq!(rows, through_text(&library));
    let doc = std::fs::read_to_string(out.join("CAPITAL_EFFICIENCY.md")).unwrap();
    assert!(doc.contains("| covered call |") && doc.contains("## What the table shows"));
    let svg = std::fs::read_to_string(out.join("capital_efficiency.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("cov. call"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn efficiency_cli_names_an_empty_portfolio_directory() {
    let dir = scratch("empty");
    let output = xmargin(&[
        "efficiency",
        "--market",
        &portfolios_dir().join("market.json").display().to_string(),
        "--portfolios",
        &dir.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--portfolios"), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).ok();
}
