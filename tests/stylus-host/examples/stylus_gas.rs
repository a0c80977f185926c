//! Prints the Stylus gas estimate (`stylus_host::gas`) of the deployed artifacts for the calls
//! docs/BENCHMARKS.md compares with the Solidity twin: postBatch of 100 reports at quorum 2
//! (first and update), one report proven against an attested root (proof of 7), and a
//! liquidation step. With anvil and the forge artifacts (`make contracts`), the twin runs the same
//! transactions in lockstep and its `gasUsed` is printed beside; otherwise the host runs alone.
//!
//! `STYLUS_WASM_DIR=$CARGO_TARGET_DIR/stylus cargo run -p stylus-host --example stylus_gas`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use alloy_primitives::Address;
use stylus_host::scenario::{Cost, Lockstep, Step};

fn accounts(n: u32) -> Vec<Address> {
    (0..n).map(|i| Address::left_padding_from(&(0x10_0000 + i).to_be_bytes())).collect()
}

fn row(label: &str, cost: &Cost) {
    let g = &cost.stylus;
    let twin = if cost.gas > 0 { format!("{}", cost.gas) } else { "-".into() };
    println!(
        "| {label} | {} | {} | {} | {} | {} | {} | {} | {twin} | {} |",
        g.intrinsic_gas,
        g.entry_gas,
        g.opcode_ink.div_ceil(10_000),
        g.hostio_ink.div_ceil(10_000),
        g.evm_gas,
        g.total(),
        if cost.success { "ok" } else { "REVERTED" },
        cost.stack_peak,
    );
}

fn main() -> Result<(), String> {
    let with_anvil = std::env::var_os("STYLUS_GAS_NO_ANVIL").is_none();
    let mut chain = Lockstep::new(with_anvil).or_else(|e| {
        eprintln!("(twin unavailable, host only: {e})");
        Lockstep::new(false)
    })?;
    println!(
        "| call | intrinsic | entry | opcodes | hostios | EVM side | Stylus total | | twin gasUsed | stack peak (words) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
    let hundred = accounts(100);
    row("postBatch, 100 reports, quorum 2 (first)", &chain.post_reports(&hundred, 1_234)?);
    row("postBatch, 100 reports, quorum 2 (update)", &chain.post_reports(&hundred, 1_241)?);
    row("postMarginReport, proof of 7 (update)", &chain.prove_report(&hundred, 1_250, 42)?);

    // The scripted liquidation scenario; the first liquidation step that succeeds.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/scripted.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let scenario = file["scenarios"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "liquidation_steps"))
        .ok_or("no liquidation_steps scenario")?;
    let steps: Vec<Step> =
        serde_json::from_value(scenario["steps"].clone()).map_err(|e| e.to_string())?;
    let mut chain = Lockstep::new(chain.differential()).map_err(|e| e.to_string())?;
    chain.run(&steps).map_err(|(i, e)| format!("step {i}: {e}"))?;
    let liquidation = chain
        .costs
        .iter()
        .find(|c| c.label == "liquidate" && c.success)
        .ok_or("no successful liquidation")?;
    row("liquidate (scripted liquidation_steps, first step)", liquidation);

    println!();
    println!("| artifact | initial pages | init gas (uncached) | cached-init gas |");
    println!("| --- | ---: | ---: | ---: |");
    let a = stylus_host::artifacts::artifacts();
    for (name, wasm) in [
        ("engine", &a.linked_engine),
        ("verifier module", &a.verifier),
        ("admin module", &a.admin),
        ("settlement module", &a.settlement),
    ] {
        let entry = stylus_artifact::ink::entry_cost(wasm).map_err(|e| e.to_string())?;
        println!("| {name} | {} | {} | {} |", entry.pages, entry.init_gas, entry.cached_gas);
    }
    Ok(())
}
