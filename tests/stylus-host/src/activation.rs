//! Nitro's activation-time checks, run before a program is deployed in the host: the same checker
//! `make wasm` and the artifact test use (`stylus_artifact::nitro::check`: Nitro's wasmparser
//! 0.245 and feature set, its module limits, frame bounds and entry-point rules, the code-size
//! limit, and our float scan).

pub use stylus_artifact::nitro::{check, PAGE_LIMIT};

/// The on-chain code size (prefix and brotli, as cargo-stylus compresses for deployment).
pub fn code_size(wasm: &[u8]) -> usize {
    stylus_artifact::canonical::code_size(wasm)
}
