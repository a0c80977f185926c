//! Errors of the artifact pipeline.

/// Why a WASM could not be processed (not: why Nitro would refuse it, see [`crate::nitro`]).
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The binary could not be printed as text (it is not a WASM module).
    #[error("cannot print the WASM as text: {0}")]
    Print(String),
    /// The printed text did not parse back (a printer/parser mismatch).
    #[error("cannot parse the printed text back to WASM: {0}")]
    Text(#[from] wat::Error),
    /// The binary could not be parsed.
    #[error("cannot parse the WASM: {0}")]
    Parse(#[from] wasmparser_nitro::BinaryReaderError),
    /// The binary could not be re-encoded with the ink meter.
    #[error("cannot instrument the WASM: {0}")]
    Instrument(String),
}
