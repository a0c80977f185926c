//! Turns a compiled Stylus WASM into its deployed artifact: canonicalises it as cargo-stylus
//! does, runs Nitro's activation checks on the result, writes it, and prints its sizes.
//! Fails (exit 1) if a check fails or the code is above the limit. `scripts/build-wasm.sh` runs it.
//!
//! `stylus-artifact <compiled.wasm> <artifact.wasm> [budget]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use stylus_artifact::{canonical, nitro};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: stylus-artifact <compiled.wasm> <artifact.wasm> [budget]");
        return ExitCode::from(2);
    };
    let budget: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16_384);
    let compiled = match std::fs::read(input) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {input}: {e}");
            return ExitCode::from(2);
        }
    };
    let artifact = match canonical::canonicalise(&compiled) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(output, &artifact) {
        eprintln!("error: cannot write {output}: {e}");
        return ExitCode::from(2);
    }
    let compressed = canonical::compressed_size(&artifact);
    let code = compressed + canonical::CODE_PREFIX.len();
    println!(
        "{} bytes ({} compiled), {compressed} bytes brotli, {code} bytes of code (limit {}, budget {budget}): {}",
        artifact.len(),
        compiled.len(),
        nitro::MAX_CODE_SIZE,
        if code > nitro::MAX_CODE_SIZE {
            "OVER THE LIMIT"
        } else if code > budget {
            "within the limit, over budget"
        } else {
            "within budget"
        }
    );
    // The compiled file is what Nitro would refuse (padded table indices); say so once.
    if let Err(e) = nitro::validate(&compiled) {
        println!("  (the compiled file itself would not activate: {e})");
    }
    match nitro::check(&artifact) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {output}: {p}");
            }
            ExitCode::FAILURE
        }
    }
}
