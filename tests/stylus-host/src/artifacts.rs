//! The release WASM artifacts, loaded once per test binary.
//!
//! The modules (verifier, admin) and the stock engine come from `STYLUS_WASM_DIR` when set (as
//! `make test` does after `scripts/build-wasm.sh`), otherwise they are built here exactly as that
//! script builds them. The stock engine has no module addresses (the deployment fixes them at
//! build time: `MARGIN_ENGINE_*_MODULE`), so it reverts on
//! the delegated selectors; the host also needs the engine linked to [`VERIFIER_MODULE`] and
//! [`ADMIN_MODULE`]: `scripts/build-wasm.sh` writes it as the test-only `engine-host-test.wasm`;
//! without `STYLUS_WASM_DIR` it is built once into its own target directory
//! (`$CARGO_TARGET_DIR/stylus-host`, so it never evicts the stock build; cached across runs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use alloy_primitives::{address, Address};

/// Where the host deploys the verifier module (compiled into the linked engine).
pub const VERIFIER_MODULE: Address = address!("5757000000000000000000000000000000000001");
/// Where the host deploys the admin module (compiled into the linked engine).
pub const ADMIN_MODULE: Address = address!("5757000000000000000000000000000000000002");
/// Where the host deploys the settlement module (compiled into the linked engine).
pub const SETTLEMENT_MODULE: Address = address!("5757000000000000000000000000000000000003");

/// The artifacts.
#[derive(Debug)]
pub struct Artifacts {
    /// The engine as `scripts/build-wasm.sh` builds it (no module addresses).
    pub engine: Vec<u8>,
    /// The verifier module.
    pub verifier: Vec<u8>,
    /// The admin module.
    pub admin: Vec<u8>,
    /// The settlement module.
    pub settlement: Vec<u8>,
    /// The engine built with [`VERIFIER_MODULE`] and [`ADMIN_MODULE`] (what a deployment runs).
    pub linked_engine: Vec<u8>,
}

impl Artifacts {
    /// `(name, wasm)` for every artifact.
    pub fn all(&self) -> [(&'static str, &[u8]); 5] {
        [
            ("engine", &self.engine),
            ("verifier", &self.verifier),
            ("admin", &self.admin),
            ("settlement", &self.settlement),
            ("linked engine", &self.linked_engine),
        ]
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

/// Builds one artifact (`feature`: `None` for the engine) into `target`, with `linked` module
/// addresses or none, and canonicalises it; the flags and steps are `scripts/build-wasm.sh`'s.
fn build(target: &Path, feature: Option<&str>, linked: bool) -> Vec<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target)
        .args(["build", "-q", "--locked", "--release", "--lib", "-p", "margin-engine-stylus"])
        .args(["--target", "wasm32-unknown-unknown"])
        .args(["--config", "profile.release.opt-level=\"z\""]);
    if let Some(feature) = feature {
        command.args(["--features", feature]);
    }
    if linked {
        command
            .env("MARGIN_ENGINE_VERIFIER_MODULE", VERIFIER_MODULE.to_string())
            .env("MARGIN_ENGINE_ADMIN_MODULE", ADMIN_MODULE.to_string())
            .env("MARGIN_ENGINE_SETTLEMENT_MODULE", SETTLEMENT_MODULE.to_string());
    } else {
        command
            .env_remove("MARGIN_ENGINE_VERIFIER_MODULE")
            .env_remove("MARGIN_ENGINE_ADMIN_MODULE")
            .env_remove("MARGIN_ENGINE_SETTLEMENT_MODULE");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "the release WASM ({feature:?}, linked: {linked}) builds");
    let path = target.join("wasm32-unknown-unknown/release/margin_engine_stylus.wasm");
    let compiled = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The deployed bytes, as scripts/build-wasm.sh writes them.
    stylus_artifact::canonical::canonicalise(&compiled)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The artifacts, loaded or built once per process.
pub fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| match std::env::var_os("STYLUS_WASM_DIR") {
        Some(dir) => {
            let read = |name: &str| {
                let path = PathBuf::from(&dir).join(format!("{name}.wasm"));
                std::fs::read(&path).unwrap_or_else(|e| {
                    panic!("{}: {e}; run scripts/build-wasm.sh first", path.display())
                })
            };
            Artifacts {
                engine: read("engine"),
                verifier: read("verifier"),
                admin: read("admin"),
                settlement: read("settlement"),
                // scripts/build-wasm.sh links it to VERIFIER_MODULE and ADMIN_MODULE.
                linked_engine: read("engine-host-test"),
            }
        }
        None => {
            let own = target_dir().join("stylus-host");
            let linked_engine = build(&own, None, true);
            Artifacts {
                // The modules do not read the addresses: build them with the same environment
                // as the linked engine so the cached build is reused.
                verifier: build(&own, Some("verifier-module"), true),
                admin: build(&own, Some("admin-module"), true),
                settlement: build(&own, Some("settlement-module"), true),
                engine: build(&target_dir(), None, false),
                linked_engine,
            }
        }
    })
}
