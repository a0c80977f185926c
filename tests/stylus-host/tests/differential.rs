//! The scripted scenarios (`scenarios/scripted.json`) in lockstep on the Stylus WASM (this host)
//! and the Solidity twin (anvil): every call's return/revert data and logs, and the views after
//! every step, identical.
#![allow(missing_docs, clippy::print_stderr)]

use std::collections::BTreeMap;

use serde_json::Value;
use stylus_host::scenario::{Lockstep, Step};

fn scenarios() -> Vec<(String, Vec<Step>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/scripted.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let steps = serde_json::from_value(s["steps"].clone()).expect("steps parse");
            (s["name"].as_str().unwrap().to_string(), steps)
        })
        .collect()
}

#[test]
fn scripted_scenarios_match_the_solidity_twin() {
    // label -> (calls, successes, fuel of successes, gas of successes)
    let mut seen: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    for (name, steps) in scenarios() {
        let mut chains = Lockstep::new(true).unwrap_or_else(|e| panic!("setup: {e}"));
        if let Err((i, message)) = chains.run(&steps) {
            panic!(
                "{name}: divergence at step {i} {}:\n{message}",
                serde_json::to_string(&steps[i]).unwrap()
            );
        }
        for cost in &chains.costs {
            let entry = seen.entry(cost.label.clone()).or_default();
            entry.0 += 1;
            if cost.success {
                entry.1 += 1;
                entry.2 += cost.fuel;
                entry.3 += cost.gas;
            }
        }
    }
    for (label, (calls, ok, fuel, gas)) in &seen {
        let (fuel, gas) = (fuel / ok.max(&1), gas / ok.max(&1));
        eprintln!("{label:16} calls {calls:3} ok {ok:3} mean fuel {fuel:9} mean gas {gas:8}");
    }
    for label in [
        "deposit",
        "withdraw",
        "settleTrade",
        "postBatch",
        "liquidate",
        "proposeChange",
        "executeChange",
        "cancelChange",
        "pause",
        "unpause",
        "listInstrument",
        "withdrawCash",
        "repayDebt",
        "seizeCollateral",
        "resolveBadDebt",
    ] {
        let (calls, ok, ..) = seen.get(label).copied().unwrap_or_default();
        assert!(
            ok > 0 && (ok < calls || label == "listInstrument"),
            "{label}: the scenarios exercise both outcomes ({ok} of {calls} succeeded)"
        );
    }
}
