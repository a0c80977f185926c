//! Reading the CLI's JSON inputs with errors that name the file and what it should hold.

use std::path::Path;

use offchain_risk::{DataError, RiskError};
use serde::de::DeserializeOwned;

/// Reads and parses a JSON document; `what` names the expected content in errors.
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, RiskError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| DataError::Io { path: display.clone(), source })?;
    serde_json::from_str(&text)
        .map_err(|source| DataError::Json { path: display, what, source }.into())
}

/// Serialises a result for `--json`.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Our output types are plain structs of numbers and strings: serialisation cannot fail.
    serde_json::to_string_pretty(value).expect("output types serialise")
}
