//! Names the share of the router each build compiles, so `src/router.rs` and `src/lib.rs` say
//! `#[cfg(engine_module)]` instead of repeating the three module features on every arm.
//!
//! The crate builds four WASM artifacts (scripts/build-wasm.sh): no module feature builds the
//! engine, `verifier-module` / `admin-module` / `settlement-module` build that module. A native
//! build (tests) with no module feature serves every selector itself.
//!
//! - `engine_module`: no module feature is on (the engine's own selectors: views, deposit, ...).
//! - `serves_verifier`, `serves_admin`, `serves_settlement`: the build runs that module's
//!   selectors: it is that module, or a native build that is no other module.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for name in ["engine_module", "serves_verifier", "serves_admin", "serves_settlement"] {
        println!("cargo::rustc-check-cfg=cfg({name})");
    }
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}_MODULE")).is_some();
    let (verifier, admin, settlement) = (on("VERIFIER"), on("ADMIN"), on("SETTLEMENT"));
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let serves = |module: bool, others: bool| module || !(wasm || others);
    let cfgs = [
        ("engine_module", !(verifier || admin || settlement)),
        ("serves_verifier", serves(verifier, admin || settlement)),
        ("serves_admin", serves(admin, verifier || settlement)),
        ("serves_settlement", serves(settlement, verifier || admin)),
    ];
    for (name, enabled) in cfgs {
        if enabled {
            println!("cargo::rustc-cfg={name}");
        }
    }
}
