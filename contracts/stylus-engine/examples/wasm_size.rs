//! Prints the brotli-compressed size of a Stylus WASM and fails above the limit; also runs the
//! feature scan (no floats, reference types, multi-value, SIMD, threads or start function).
//!
//! `cargo run -p margin-engine-stylus --example wasm_size -- <file.wasm> [limit] [budget]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

#[path = "../tests/support/wasm_scan.rs"]
mod wasm_scan;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: wasm_size <file.wasm> [limit] [budget]");
        return ExitCode::from(2);
    };
    let limit: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(24_576);
    let budget: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16_384);
    let wasm = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(problems) = wasm_scan::scan(&wasm) {
        for p in problems {
            eprintln!("error: {p}");
        }
        return ExitCode::FAILURE;
    }
    let compressed = wasm_scan::brotli_size(&wasm);
    println!(
        "stylus wasm: {} bytes raw, {} bytes brotli (limit {limit}, budget {budget}): {}",
        wasm.len(),
        compressed,
        if compressed > limit {
            "OVER THE LIMIT"
        } else if compressed > budget {
            "within the limit, over budget"
        } else {
            "within budget"
        }
    );
    if compressed > limit {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
