//! Replays every case of the shared vectors (`tests/vectors/quorum-batches.json`) against the
//! engine: deployed at the file's address and chain id, each step's raw calldata through the
//! deployed router, return/revert data and logs compared byte for byte.

mod support;

use std::path::PathBuf;

use alloy_primitives::{hex, Address, B256};
use serde_json::Value;
use support::Chain;

fn vectors_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/quorum-batches.json")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn num(v: &Value) -> u64 {
    v.as_u64().expect("number")
}

#[test]
fn every_shared_vector_replays_exactly() {
    let text = std::fs::read_to_string(vectors_file()).expect("the shared vectors exist");
    let file: Value = serde_json::from_str(&text).expect("vectors are JSON");
    assert_eq!(file["schema"], 1);
    let chain_id = num(&file["chainId"]);
    let engine: Address = file["engine"].as_str().unwrap().parse().unwrap();
    let cases = file["cases"].as_array().expect("cases");
    assert_eq!(cases.len() as u64, num(&file["caseCount"]));
    let mut failures = Vec::new();
    let mut steps_run = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let deploy = &case["deploy"];
        let mut chain = Chain::deploy(
            chain_id,
            engine,
            num(&deploy["blockNumber"]),
            num(&deploy["timestamp"]),
            &bytes(&deploy["constructorArgs"]),
        )
        .unwrap_or_else(|e| panic!("{name}: constructor reverted with 0x{}", hex::encode(e)));
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            steps_run += 1;
            let label = step["label"].as_str().unwrap();
            chain.at(num(&step["blockNumber"]), num(&step["timestamp"]));
            let sender: Address = step["sender"].as_str().unwrap().parse().unwrap();
            let outcome = chain.call(sender, &bytes(&step["calldata"]));
            let data = bytes(&step["returnData"]);
            let expected = if step["success"].as_bool().unwrap() { Ok(data) } else { Err(data) };
            let expected_logs: Vec<(Vec<B256>, Vec<u8>)> = step["events"]
                .as_array()
                .map(|events| {
                    events
                        .iter()
                        .map(|e| {
                            let topics = e["topics"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|t| t.as_str().unwrap().parse().unwrap())
                                .collect();
                            (topics, bytes(&e["data"]))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let show = |r: &Result<Vec<u8>, Vec<u8>>| match r {
                Ok(d) => format!("ok 0x{}", hex::encode(d)),
                Err(d) => format!("revert 0x{}", hex::encode(d)),
            };
            if outcome.result != expected {
                failures.push(format!(
                    "{name} step {i} ({label}): expected {}, got {}",
                    show(&expected),
                    show(&outcome.result)
                ));
            } else if outcome.logs != expected_logs {
                failures.push(format!(
                    "{name} step {i} ({label}): logs differ:\n  expected {expected_logs:?}\n  got      {:?}",
                    outcome.logs
                ));
            }
        }
    }
    assert!(steps_run > cases.len(), "every case has at least one step");
    assert!(
        failures.is_empty(),
        "{} of {steps_run} steps failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
