//! The release WASM artifacts (the engine and its three delegatecall modules, see
//! `docs/stylus.md`): each built as `scripts/build-wasm.sh` builds it, scanned for what Nitro's
//! Stylus validator rejects (floats, reference types, multi-value, SIMD, threads, a start
//! function), and measured against the 24,576-byte compressed limit.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use support::wasm_scan;

const LIMIT: usize = 24_576;

/// The deployed artifacts: the engine (no feature) and the three modules.
const ARTIFACTS: [(&str, Option<&str>); 4] = [
    ("engine", None),
    ("verifier", Some("verifier-module")),
    ("admin", Some("admin-module")),
    ("settlement", Some("settlement-module")),
];

/// The release artifacts, built once per test binary. With `STYLUS_WASM_DIR` set (as `make test`
/// does after `scripts/build-wasm.sh` built and measured them), the files there are read instead,
/// so the WASM is built once per run.
fn release_wasms() -> &'static [(&'static str, Vec<u8>)] {
    static WASMS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    WASMS.get_or_init(|| match std::env::var_os("STYLUS_WASM_DIR") {
        Some(dir) => ARTIFACTS
            .iter()
            .map(|&(name, _)| {
                let path = PathBuf::from(&dir).join(format!("{name}.wasm"));
                let wasm = std::fs::read(&path).unwrap_or_else(|error| {
                    panic!("{}: {error}; run scripts/build-wasm.sh first", path.display())
                });
                (name, wasm)
            })
            .collect(),
        None => build_release_wasms(),
    })
}

/// Builds every artifact in turn (they share the target directory's output path).
fn build_release_wasms() -> Vec<(&'static str, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ARTIFACTS
        .iter()
        .map(|&(name, feature)| {
            let mut command = Command::new(&cargo);
            command
                .current_dir(&root)
                .env("CARGO_TARGET_DIR", &target_dir)
                .args(["build", "-q", "--release", "--lib", "-p", "margin-engine-stylus"])
                .args(["--target", "wasm32-unknown-unknown"])
                .args(["--config", "profile.release.opt-level=\"z\""]);
            if let Some(feature) = feature {
                command.args(["--features", feature]);
            }
            let status = command.status().expect("cargo runs");
            assert!(status.success(), "the release WASM of the {name} builds");
            let wasm = std::fs::read(
                target_dir.join("wasm32-unknown-unknown/release/margin_engine_stylus.wasm"),
            )
            .expect("the WASM exists");
            (name, wasm)
        })
        .collect()
}

#[test]
fn release_wasm_uses_only_what_stylus_accepts() {
    for (name, wasm) in release_wasms() {
        if let Err(problems) = wasm_scan::scan(wasm) {
            panic!("the {name} WASM uses what Stylus rejects:\n{}", problems.join("\n"));
        }
    }
}

#[test]
fn scan_rejects_floats_reference_types_and_multi_value() {
    // Hand-assembled modules: (func (result f32) f32.const 0), a two-result function type, and a
    // start function.
    let float = [
        0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 125, 3, 2, 1, 0, 10, 9, 1, 7, 0, 67, 0, 0,
        0, 0, 11,
    ];
    assert!(wasm_scan::scan(&float).is_err());
    let multi = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 0, 2, 127, 127];
    assert!(wasm_scan::scan(&multi).is_err());
    let start =
        [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 8, 1, 0, 10, 4, 1, 2, 0, 11];
    assert!(wasm_scan::scan(&start).is_err());
    let fine = [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 11];
    assert!(wasm_scan::scan(&fine).is_ok());
}

#[test]
fn release_wasm_fits_the_stylus_limit() {
    let sizes: Vec<(&str, usize)> =
        release_wasms().iter().map(|(name, wasm)| (*name, wasm_scan::brotli_size(wasm))).collect();
    assert_eq!(sizes.len(), 4, "engine, verifier, admin and settlement modules");
    for (name, size) in sizes {
        assert!(
            size <= LIMIT,
            "the {name} WASM is {size} bytes compressed, above the {LIMIT}-byte limit"
        );
    }
}
