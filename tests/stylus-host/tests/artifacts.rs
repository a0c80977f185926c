//! The real release artifacts in the host: activation checks, every shared vector through the
//! engine and its modules, and deliberately broken builds caught before they run.
#![allow(missing_docs)]

use alloy_primitives::{address, hex, Address, B256, U256};
use serde_json::Value;
use stylus_host::{activation, artifacts::artifacts, Block, Host, StylusEngine};
use wasmparser::{Parser, Payload};

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn num(v: &Value) -> u64 {
    v.as_u64().expect("number")
}

const DEPLOYER: Address = address!("00000000000000000000000000000000000d0d0d");

#[test]
fn every_artifact_passes_activation_checks() {
    for (name, wasm) in artifacts().all() {
        if let Err(problems) = activation::check(wasm) {
            panic!("the {name} WASM would not activate:\n{}", problems.join("\n"));
        }
        let mut host = Host::new();
        host.deploy(Address::repeat_byte(1), wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_shared_vector_replays_through_the_wasm() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/quorum-batches.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(file["schema"], 1);
    let chain_id = num(&file["chainId"]);
    let engine: Address = file["engine"].as_str().unwrap().parse().unwrap();
    let mut failures = Vec::new();
    let (mut steps, mut fuel, mut stack_peak) = (0usize, 0u64, 0u32);
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let deploy = &case["deploy"];
        // blockNumber is the engine's clock: ArbSys answers it, the hostio an L1 estimate.
        let block = Block::at(chain_id, num(&deploy["blockNumber"]), num(&deploy["timestamp"]));
        let mut chain =
            StylusEngine::deploy(engine, block, DEPLOYER, &bytes(&deploy["constructorArgs"]), &[])
                .unwrap_or_else(|e| panic!("{name}: constructor reverted 0x{}", hex::encode(e)));
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            steps += 1;
            let label = step["label"].as_str().unwrap();
            chain.host.set_block(Block::at(
                chain_id,
                num(&step["blockNumber"]),
                num(&step["timestamp"]),
            ));
            let sender: Address = step["sender"].as_str().unwrap().parse().unwrap();
            let outcome = chain.call(sender, &bytes(&step["calldata"]));
            fuel += outcome.fuel;
            stack_peak = stack_peak.max(outcome.stack_peak);
            let data = bytes(&step["returnData"]);
            let expected = if step["success"].as_bool().unwrap() { Ok(data) } else { Err(data) };
            let expected_logs: Vec<(Address, Vec<B256>, Vec<u8>)> = step["events"]
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
                            (engine, topics, bytes(&e["data"]))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let logs: Vec<(Address, Vec<B256>, Vec<u8>)> =
                outcome.logs.into_iter().map(|l| (l.address, l.topics, l.data)).collect();
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
            } else if logs != expected_logs {
                failures.push(format!("{name} step {i} ({label}): logs differ"));
            }
        }
    }
    assert!(steps > 50, "the vectors have steps ({steps})");
    assert!(fuel > 0, "fuel is metered");
    // Nitro's runtime stack limit: every call stays within it (a call above it traps).
    let limit = stylus_artifact::nitro::MAX_STACK_DEPTH;
    assert!(stack_peak > 0 && stack_peak < limit, "stack peak {stack_peak} of {limit} words");
    assert!(
        failures.is_empty(),
        "{} of {steps} steps failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_stock_engine_without_module_addresses_reverts_on_delegated_selectors() {
    // `scripts/build-wasm.sh` builds the engine without addresses: the constructor (delegated to
    // the admin module) reverts with empty data, as docs/stylus.md says.
    let mut host = Host::new();
    let engine = address!("00000000000000000000000000000000c0ffee00");
    host.deploy(engine, &artifacts().engine).unwrap();
    let outcome = host
        .transact(DEPLOYER, engine, &stylus_host::constructor_calldata(&[]), U256::ZERO)
        .unwrap();
    assert_eq!(outcome.result, Err(Vec::new()));
}

/// The byte range `(start, end)` of each top-level section's payload, by id.
fn sections(wasm: &[u8]) -> Vec<(u8, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.expect("a valid module");
        if let Some((id, range)) = payload.as_section() {
            out.push((id, range));
        }
    }
    out
}

fn leb(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8]) -> (u32, usize) {
    let (mut v, mut shift, mut i) = (0u32, 0, 0);
    loop {
        let b = bytes[i];
        v |= u32::from(b & 0x7f) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (v, i);
        }
        shift += 7;
    }
}

/// Rebuilds `wasm` with section `id`'s payload replaced by `f(old payload)`.
fn replace_section(wasm: &[u8], id: u8, f: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let (_, range) = sections(wasm).into_iter().find(|(i, _)| *i == id).expect("section present");
    // The header (id byte and size LEB) sits right before the payload.
    let mut header_start = range.start - 1;
    while wasm[header_start] != id || read_leb(&wasm[header_start + 1..]).0 as usize != range.len()
    {
        header_start -= 1;
    }
    let payload = f(&wasm[range.clone()]);
    let mut out = wasm[..header_start].to_vec();
    out.push(id);
    out.extend(leb(payload.len() as u32));
    out.extend(payload);
    out.extend_from_slice(&wasm[range.end..]);
    out
}

/// Appends a vector element to a section payload (`count` LEB, then elements).
fn append_element(payload: &[u8], element: &[u8]) -> Vec<u8> {
    let (count, n) = read_leb(payload);
    let mut out = leb(count + 1);
    out.extend_from_slice(&payload[n..]);
    out.extend_from_slice(element);
    out
}

/// The real engine with one more function, `() -> ()` whose body is `f64.const 0; drop`: a float
/// instruction in an otherwise unchanged, valid module.
fn with_float_function(wasm: &[u8]) -> Vec<u8> {
    // A `() -> ()` type: append one and use its index.
    let mut types = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::TypeSection(r)) = payload {
            types = r.count();
        }
    }
    let wasm = replace_section(wasm, 1, |p| append_element(p, &[0x60, 0, 0]));
    let wasm = replace_section(&wasm, 3, |p| append_element(p, &leb(types)));
    let body = [0x00, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x0b];
    let mut element = leb(body.len() as u32);
    element.extend_from_slice(&body);
    replace_section(&wasm, 10, |p| append_element(p, &element))
}

#[test]
fn broken_builds_are_refused_before_they_run() {
    let engine = &artifacts().linked_engine;

    // A float instruction in the real engine.
    let float = with_float_function(engine);
    wasmparser::validate(&float).expect("the mutated module is still valid WASM");
    let problems = activation::check(&float).expect_err("a float op is refused");
    assert!(problems.iter().any(|p| p.contains("float instruction F64Const")), "{problems:?}");
    let refused = Host::new().deploy(Address::repeat_byte(1), &float).expect_err("not deployed");
    assert!(refused.0.contains("float instruction F64Const"), "{refused}");

    // More memory than Nitro's 128 pages.
    let big = replace_section(engine, 5, |_| vec![1, 0, 200, 1]); // 1 memory, min 200, no max
    let problems = activation::check(&big).expect_err("200 pages are refused");
    assert!(problems.iter().any(|p| p.contains("memory exceeds limit: 200 > 128")), "{problems:?}");

    // A call_indirect table index in the padded 5-byte encoding rustc's reference-types
    // relocations leave (what `make wasm` used to ship): valid WASM with reference types on,
    // refused by Nitro's validator (reference types off) with wasmparser's message.
    let padded = stylus_artifact::fixtures::pad_first_call_indirect(engine).expect("has one");
    wasmparser::validate(&padded).expect("valid WASM with reference types on");
    let problems = activation::check(&padded).expect_err("the padded encoding is refused");
    assert!(problems.iter().any(|p| p.contains("zero byte expected")), "{problems:?}");
    let refused = Host::new().deploy(Address::repeat_byte(1), &padded).expect_err("not deployed");
    assert!(refused.0.contains("zero byte expected"), "{refused}");
    // cargo-stylus' processing (our canonical form) repairs it: back to the deployed bytes.
    assert_eq!(&stylus_artifact::canonical::canonicalise(&padded).unwrap(), engine);

    // An import the host does not provide: the failure names it.
    let mut renamed = engine.clone();
    let at = renamed.windows(13).position(|w| w == b"msg_reentrant").expect("imported");
    renamed[at + 12] = b'z';
    let refused = Host::new().deploy(Address::repeat_byte(1), &renamed).expect_err("refused");
    assert_eq!(
        refused.0,
        "the program imports vm_hooks.msg_reentranz, which this host does not provide"
    );
}
