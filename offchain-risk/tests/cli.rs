//! The `xmargin` binary as a user runs it: fixtures in, tables or JSON out, errors that name the
//! flag or field and exit with status 2.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name).display().to_string()
}

fn xmargin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xmargin")).args(args).output().expect("xmargin runs")
}

fn stdout_json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn iv_from_flags_recovers_haugs_black76_example() {
    // Haug (2007), Black-76: F = K = 19, T = 0.75, r = 10%, sigma = 28% -> 1.7011 (4 d.p.).
    let output = xmargin(&[
        "iv",
        "--kind",
        "call",
        "--price",
        "1.7011",
        "--forward",
        "19",
        "--strike",
        "19",
        "--expiry-years",
        "0.75",
        "--rate",
        "0.1",
        "--json",
    ]);
    let json = stdout_json(&output);
    let vol = json[0]["implied_vol"].as_f64().unwrap();
    // The price is rounded to 4 d.p.; at vega ~ 5.6 that is within 1e-4/5.6 of 0.28.
    assert!((vol - 0.28).abs() < 2e-5, "{vol}");
}

#[test]
fn iv_reports_every_quote_and_fails_on_out_of_bounds_prices() {
    let output = xmargin(&["iv", "--input", &fixture("iv_quotes.json"), "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["implied_vol"].as_f64().is_some());
    assert!(rows[1]["implied_vol"].as_f64().unwrap() > 0.0);
    // A call worth less than its intrinsic value (30,000) is outside the no-arbitrage bounds.
    assert!(rows[2]["error"].as_str().unwrap().contains("outside the no-arbitrage bounds"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 of 3 quotes"));
}

#[test]
fn iv_names_a_missing_flag() {
    let output = xmargin(&[
        "iv",
        "--kind",
        "call",
        "--forward",
        "19",
        "--strike",
        "19",
        "--expiry-years",
        "1",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--price") && stderr.contains("required"), "{stderr}");
}

#[test]
fn price_values_a_portfolio_as_the_library_does() {
    let output = xmargin(&[
        "price",
        "--market",
        &fixture("market.json"),
        "--instruments",
        &fixture("portfolio.json"),
        "--json",
    ]);
    let json = stdout_json(&output);
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    // 10 ETH spot at 2,500.
    assert!((rows[0]["value"].as_f64().unwrap() - 25_000.0).abs() < 1e-9);
    // The short put: negative value, positive delta; the options carry their skewed vol.
    assert!(rows[3]["value"].as_f64().unwrap() < 0.0);
    assert!(rows[3]["delta"].as_f64().unwrap() > 0.0);
    assert!(rows[3]["unit"]["vol"].as_f64().unwrap() > rows[4]["unit"]["vol"].as_f64().unwrap());
    assert!(rows[4]["unit"]["value_coin"].as_f64().is_some());

    let table = xmargin(&[
        "price",
        "--market",
        &fixture("market.json"),
        "--instruments",
        &fixture("portfolio.json"),
    ]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("total mark-to-market"));
}

#[test]
fn price_names_the_file_and_field_of_bad_input() {
    let output = xmargin(&[
        "price",
        "--market",
        "/nonexistent/market.json",
        "--instruments",
        &fixture("portfolio.json"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/market.json"));

    let dir = std::env::temp_dir().join(format!("xmargin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("portfolio.json");
    std::fs::write(
        &bad,
        r#"{"positions": [{"instrument": {"type": "option", "underlying": "BTC", "expiry_ms": 1707884000000, "strike": 0, "kind": "put"}, "size": 1}]}"#,
    )
    .unwrap();
    let output = xmargin(&[
        "price",
        "--market",
        &fixture("market.json"),
        "--instruments",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("positions[0].instrument.strike"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
