//! Build and test tooling for the Stylus artifacts (never shipped).
//!
//! A compiled WASM flows through three steps here:
//! - [`canonical`]: the bytes cargo-stylus 0.10.10 deploys for `--wasm-file` (a text round trip,
//!   custom sections stripped, a zero `project_hash` section added). `make wasm` writes exactly
//!   these, so the deployed bytes are the tested bytes.
//! - [`nitro`]: Nitro's activation checks on them (its `wasmparser` version and feature set, its
//!   module limits, stack-frame bounds and entry-point rules), plus our stricter scan.
//! - [`ink`]: Nitro's ink prices (opcodes, hostios, program entry), and a copy of a module
//!   instrumented with Nitro's basic-block meter so a host can read the ink it spent.
//!
//! Nitro sources cited in this crate are at OffchainLabs/nitro commit
//! `6dce8d13902649a1acdfd3f2504129f1f5612358` (2026-04-23).

pub mod canonical;
mod error;
pub mod fixtures;
pub mod ink;
pub mod nitro;

pub use error::ArtifactError;
pub use wasmparser_nitro as wasmparser;

/// The OffchainLabs/nitro commit the constants and rules here were read from.
pub const NITRO_COMMIT: &str = "6dce8d13902649a1acdfd3f2504129f1f5612358";
