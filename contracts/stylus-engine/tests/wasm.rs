//! The deployed WASM artifacts (the engine and its three delegatecall modules, see
//! `docs/stylus.md`), as `scripts/build-wasm.sh` writes them: canonical (cargo-stylus' processing
//! leaves them unchanged, so these are the bytes deployed), accepted by Nitro's activation checks
//! (`stylus_artifact::nitro`: Nitro's wasmparser 0.245 and feature set, its module limits and
//! entry-point rules), and within the 24,576-byte code-size limit.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use stylus_artifact::{canonical, nitro};

/// The deployed artifacts: the engine (no feature) and the three modules.
const ARTIFACTS: [(&str, Option<&str>); 4] = [
    ("engine", None),
    ("verifier", Some("verifier-module")),
    ("admin", Some("admin-module")),
    ("settlement", Some("settlement-module")),
];

/// The artifacts, loaded once per test binary. With `STYLUS_WASM_DIR` set (as `make test` does
/// after `scripts/build-wasm.sh` built, canonicalised and checked them), the files there are
/// read, so the WASM is built once per run; otherwise they are built and canonicalised here.
fn artifacts() -> &'static [(&'static str, Vec<u8>)] {
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
        None => build_artifacts(),
    })
}

/// Builds every artifact in turn (they share the target directory's output path) and
/// canonicalises it as `scripts/build-wasm.sh` does.
fn build_artifacts() -> Vec<(&'static str, Vec<u8>)> {
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
            let compiled = std::fs::read(
                target_dir.join("wasm32-unknown-unknown/release/margin_engine_stylus.wasm"),
            )
            .expect("the WASM exists");
            (name, canonical::canonicalise(&compiled).expect("the compiled WASM canonicalises"))
        })
        .collect()
}

#[test]
fn deployed_artifacts_pass_nitros_activation_checks() {
    for (name, wasm) in artifacts() {
        if let Err(problems) = nitro::check(wasm) {
            panic!("the {name} WASM would not activate on Nitro:\n{}", problems.join("\n"));
        }
    }
}

#[test]
fn deployed_artifacts_are_what_cargo_stylus_uploads() {
    // `cargo stylus deploy --wasm-file` re-runs the same processing: a canonical artifact is a
    // fixed point, so the bytes uploaded are the bytes tested.
    for (name, wasm) in artifacts() {
        let processed = canonical::canonicalise(wasm).expect("canonicalises");
        assert!(&processed == wasm, "the {name} WASM is not in canonical form: run make wasm");
    }
}

#[test]
fn deployed_artifacts_fit_the_code_size_limit() {
    assert_eq!(artifacts().len(), 4, "engine, verifier, admin and settlement modules");
    for (name, wasm) in artifacts() {
        let code = canonical::code_size(wasm);
        assert!(
            code <= nitro::MAX_CODE_SIZE,
            "the {name} WASM is {code} bytes of code (prefix and brotli), above the {}-byte limit",
            nitro::MAX_CODE_SIZE
        );
    }
}
