//! The bytes cargo-stylus deploys.
//!
//! `cargo stylus deploy --wasm-file F` (and `check`) does not upload F as it is: stylus-tools
//! 0.10.10 (`core/code/wasm.rs::process_wasm`, `utils/wasm.rs`) prints it as text and parses the
//! text back (`remove_dangling_references`: this rewrites the padded 5-byte call_indirect table
//! indices that reference-types relocations leave, which Nitro's validator refuses), strips every
//! custom and unknown section (`strip_user_metadata`), appends a custom section `project_hash`
//! (32 zero bytes for a `--wasm-file`: no project to hash), and brotli-compresses the result at
//! quality 11 behind the 4-byte prefix `EF F0 00 00`. [`canonicalise`] does the same steps with
//! the same crates, so a canonical artifact is a fixed point: cargo-stylus uploads it unchanged.

use std::borrow::Cow;
use std::io::Write;

use wasm_encoder::{CustomSection, Module, RawSection};
use wasmparser_nitro::{Parser, Payload};

use crate::ArtifactError;

/// The custom section cargo-stylus adds (`PROJECT_HASH_SECTION_NAME`).
pub const PROJECT_HASH_SECTION: &str = "project_hash";

/// The prefix of a Stylus program's on-chain code (`prefixes::EOF_NO_DICT`).
pub const CODE_PREFIX: [u8; 4] = [0xEF, 0xF0, 0x00, 0x00];

/// Brotli quality cargo-stylus compresses with (`BROTLI_COMPRESSION_LEVEL`).
const BROTLI_QUALITY: u32 = 11;
/// Brotli window of the `brotli2` encoder cargo-stylus uses (its default, 22).
const BROTLI_WINDOW: u32 = 22;

/// The deployed bytes of `wasm`: printed to text and parsed back, custom sections stripped, a zero
/// `project_hash` section appended. Idempotent.
pub fn canonicalise(wasm: &[u8]) -> Result<Vec<u8>, ArtifactError> {
    let text = wasmprinter::print_bytes(wasm).map_err(|e| ArtifactError::Print(e.to_string()))?;
    let round_tripped = wat::parse_str(text)?;
    let mut module = Module::new();
    for payload in Parser::new(0).parse_all(&round_tripped) {
        match payload? {
            Payload::CustomSection(_) | Payload::UnknownSection { .. } => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    module.section(&RawSection { id, data: &round_tripped[range] });
                }
            }
        }
    }
    module.section(&CustomSection {
        name: Cow::Borrowed(PROJECT_HASH_SECTION),
        data: Cow::Borrowed(&[0u8; 32]),
    });
    Ok(module.finish())
}

/// The brotli-compressed size (what cargo-stylus uploads after the 4-byte prefix).
pub fn compressed_size(wasm: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
        writer.write_all(wasm).expect("writing to a Vec cannot fail");
    }
    out.len()
}

/// The on-chain code size: the prefix and the compressed WASM (what EIP-170's 24,576-byte limit
/// counts; cargo-stylus splits into fragments above it, which we do not use).
pub fn code_size(wasm: &[u8]) -> usize {
    CODE_PREFIX.len() + compressed_size(wasm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::padded_call_indirect;

    #[test]
    fn canonical_form_rewrites_the_padded_table_index_and_is_a_fixed_point() {
        let padded = padded_call_indirect();
        let canonical = canonicalise(&padded).unwrap();
        let body_end = [0x11, 0x00, 0x00, 0x0b]; // call_indirect type 0, table 0 (one byte), end
        assert!(canonical.windows(4).any(|w| w == body_end), "{canonical:x?}");
        assert!(!canonical.windows(5).any(|w| w == [0x80, 0x80, 0x80, 0x80, 0x00]));
        assert_eq!(canonicalise(&canonical).unwrap(), canonical);
    }

    #[test]
    fn custom_sections_are_replaced_by_a_zero_project_hash() {
        let mut wasm = padded_call_indirect();
        wasm.extend([0, 9, 8]); // a custom section "producer" with no data
        wasm.extend(b"producer");
        let canonical = canonicalise(&wasm).unwrap();
        let customs: Vec<(String, Vec<u8>)> = Parser::new(0)
            .parse_all(&canonical)
            .filter_map(|p| match p.unwrap() {
                Payload::CustomSection(c) => Some((c.name().to_string(), c.data().to_vec())),
                _ => None,
            })
            .collect();
        assert_eq!(customs, vec![(PROJECT_HASH_SECTION.to_string(), vec![0u8; 32])]);
    }

    #[test]
    fn code_size_counts_the_prefix() {
        let wasm = padded_call_indirect();
        assert_eq!(code_size(&wasm), compressed_size(&wasm) + 4);
    }
}
