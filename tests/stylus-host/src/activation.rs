//! Nitro's activation-time checks, run before a program is deployed in the host: the stylus
//! engine's scan (no floats, reference types, multi-value, SIMD, threads or start function; the
//! same file, included by path), at most 128 initial memory pages, and the compressed-size limit.

#[path = "../../../contracts/stylus-engine/tests/support/wasm_scan.rs"]
mod wasm_scan;

use wasmparser::{Parser, Payload};

/// Nitro's limit on a program's brotli-compressed size.
pub const COMPRESSED_LIMIT: usize = 24_576;

/// Brotli size as cargo-stylus compresses for deployment.
pub fn compressed_size(wasm: &[u8]) -> usize {
    wasm_scan::brotli_size(wasm)
}

/// Every problem Nitro's activation would refuse the module for (empty: accepted).
pub fn check(wasm: &[u8]) -> Result<(), Vec<String>> {
    let mut problems = wasm_scan::scan(wasm).err().unwrap_or_default();
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { break }; // the scan reported it
        if let Payload::MemorySection(reader) = payload {
            for memory in reader.into_iter().flatten() {
                if memory.initial > u64::from(crate::host::MAX_PAGES) {
                    problems.push(format!(
                        "{} initial memory pages, above the limit of {}",
                        memory.initial,
                        crate::host::MAX_PAGES
                    ));
                }
            }
        }
    }
    let size = compressed_size(wasm);
    if size > COMPRESSED_LIMIT {
        problems.push(format!("{size} bytes compressed, above the {COMPRESSED_LIMIT}-byte limit"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
