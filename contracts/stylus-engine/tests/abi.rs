//! ABI drift: the contract's `export-abi` printout (functions and errors) against
//! `solidity-interfaces/IMarginEngine.sol`, in canonical form (structs expanded to tuples, names
//! and data locations dropped, view-ness and return types kept). The deployed router's selector
//! table is checked against the interface too, and every event (export-abi leaves events out) is
//! emitted by the engine's own encoder and compared with alloy's encoding.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use alloy_primitives::aliases::U48;
use alloy_primitives::{Address, Bytes, FixedBytes, B256, I256, U256};
use alloy_sol_types::{SolEvent, SolInterface};
use margin_engine_stylus::router::SELECTORS;
use margin_engine_stylus::words::{emit, Emit};
use margin_types::abi::IMarginEngine::IMarginEngineCalls;
use margin_types::abi::IMarginEngineEvents as Ev;
use stylus_sdk::testing::TestVM;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Splits `s` at top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0, String::new(), Vec::new());
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The canonical type of a parameter declaration (`Type [location] [name]`).
fn canonical(param: &str, structs: &BTreeMap<String, String>) -> String {
    let ty = param.split_whitespace().next().unwrap_or("");
    let (base, suffix) = match ty.find('[') {
        Some(i) => (&ty[..i], &ty[i..]),
        None => (ty, ""),
    };
    let base = structs.get(base).cloned().unwrap_or_else(|| base.to_string());
    format!("{base}{suffix}")
}

fn canonical_list(params: &str, structs: &BTreeMap<String, String>) -> String {
    split_top(params).iter().map(|p| canonical(p, structs)).collect::<Vec<_>>().join(",")
}

/// `struct Name { type field; ... }` definitions, expanded (structs may nest).
fn structs_of(text: &str, known: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut structs = known.clone();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in flat.split("struct ").skip(1) {
        let Some((name, rest)) = part.split_once('{') else { continue };
        let Some((body, _)) = rest.split_once('}') else { continue };
        let fields: Vec<String> = body
            .split(';')
            .filter(|f| !f.trim().is_empty())
            .map(|f| canonical(f.trim(), &structs))
            .collect();
        structs.insert(name.trim().to_string(), format!("({})", fields.join(",")));
    }
    structs
}

/// name -> "name(params) [view] returns (rets)" for functions, "name(params)" for errors.
fn items(text: &str, structs: &BTreeMap<String, String>) -> (BTreeSet<String>, BTreeSet<String>) {
    let flat = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut functions = BTreeSet::new();
    let mut errors = BTreeSet::new();
    for decl in flat.split(';') {
        let decl = decl.trim();
        if let Some(i) = decl.find("function ") {
            let d = &decl[i + 9..];
            let (name, rest) = d.split_once('(').unwrap();
            let close = matching(rest);
            let params = &rest[..close];
            let tail = &rest[close + 1..];
            let view = tail.contains(" view");
            let rets = tail
                .split_once("returns")
                .map(|(_, r)| {
                    let r = r.trim();
                    let r = &r[1..];
                    canonical_list(&r[..matching(r)], structs)
                })
                .unwrap_or_default();
            functions.insert(format!(
                "{}({}){} returns ({rets})",
                name.trim(),
                canonical_list(params, structs),
                if view { " view" } else { "" }
            ));
        } else if let Some(i) = decl.find("error ") {
            let d = &decl[i + 6..];
            if let Some((name, rest)) = d.split_once('(') {
                let params = &rest[..matching(rest)];
                errors.insert(format!("{}({})", name.trim(), canonical_list(params, structs)));
            }
        }
    }
    (functions, errors)
}

/// Index of the `)` closing a group whose `(` was just consumed.
fn matching(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unbalanced parentheses in {s}")
}

fn export_abi() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args(["run", "-q", "-p", "margin-engine-stylus", "--features", "export-abi"])
        .args(["--bin", "margin-engine-stylus"])
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "export-abi failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The argument structs, as the contract binds them (export-abi prints only some definitions).
fn contract_structs() -> BTreeMap<String, String> {
    use margin_engine_stylus::abi::*;
    use stylus_sdk::abi::AbiType;
    let mut m = BTreeMap::new();
    macro_rules! add {
        ($($t:ident),*) => {$( m.insert(stringify!($t).to_string(), <$t as AbiType>::SELECTOR_ABI.as_str().to_string()); )*};
    }
    add!(
        ReportBatch,
        PriceReport,
        MarginReport,
        LiquidationStep,
        TradeLeg,
        ParamChange,
        RiskParams,
        CollateralInfo,
        StoredMarginReport,
        AccountHealth,
        SettlementState
    );
    m
}

#[test]
fn export_abi_matches_the_interface() {
    let interface =
        std::fs::read_to_string(root().join("solidity-interfaces/IMarginEngine.sol")).unwrap();
    let iface_structs = structs_of(&interface, &BTreeMap::new());
    let (iface_fns, iface_errors) = items(&interface, &iface_structs);

    let exported = export_abi();
    let contract_structs = structs_of(&exported, &contract_structs());
    // The contract's own struct bindings must be the interface's.
    for (name, tuple) in &contract_structs {
        assert_eq!(iface_structs.get(name), Some(tuple), "struct {name} drifted");
    }
    let (fns, errors) = items(&exported, &contract_structs);
    let missing: Vec<_> = iface_fns.difference(&fns).collect();
    let extra: Vec<_> = fns.difference(&iface_fns).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "functions drifted:\n missing {missing:#?}\n extra {extra:#?}"
    );
    let missing: Vec<_> = iface_errors.difference(&errors).collect();
    let extra: Vec<_> = errors.difference(&iface_errors).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "errors drifted:\n missing {missing:#?}\n extra {extra:#?}"
    );
    assert_eq!(fns.len(), 42);
    assert_eq!(errors.len(), 68);
}

#[test]
fn router_serves_exactly_the_interface_selectors() {
    let ours: BTreeSet<[u8; 4]> = SELECTORS.iter().map(|s| s.to_be_bytes()).collect();
    let theirs: BTreeSet<[u8; 4]> = IMarginEngineCalls::selectors().collect();
    assert_eq!(ours, theirs);
    assert_eq!(SELECTORS.len(), theirs.len(), "no selector twice");
}

fn check_event<E: SolEvent + Emit + Clone>(event: E) {
    let vm = TestVM::new();
    emit(&vm, event.clone());
    let logs = vm.get_emitted_logs();
    let expected = event.encode_log_data();
    assert_eq!(
        logs,
        vec![(expected.topics().to_vec(), expected.data.to_vec())],
        "{}",
        E::SIGNATURE
    );
}

#[test]
fn every_interface_event_is_encoded_as_alloy_does() {
    let a = Address::repeat_byte(0xa1);
    let b = Address::repeat_byte(0xb2);
    let h = B256::repeat_byte(0x5c);
    let n = U256::from(123_456_789u64);
    let neg = I256::try_from(-987_654_321i64).unwrap();
    let blk = U48::from(0xdead_beefu64);
    let reason = FixedBytes::<4>::from([1, 2, 3, 4]);
    check_event(Ev::CollateralDeposited { account: a, asset: b, amount: n });
    check_event(Ev::CollateralWithdrawn { account: a, asset: b, amount: n });
    check_event(Ev::PositionChanged {
        account: a,
        instrumentId: h,
        sizeDelta: neg,
        cashDelta: I256::MAX,
        newSize: I256::MIN,
        positionsNonce: blk,
    });
    check_event(Ev::TradeSettled { venue: a, legs: n });
    check_event(Ev::RootAttested { root: h, observedBlock: blk, riskEpoch: u32::MAX, count: 7 });
    check_event(Ev::BatchPosted {
        root: h,
        observedBlock: blk,
        pricesAccepted: n,
        reportsAccepted: U256::MAX,
        skipped: U256::ZERO,
    });
    check_event(Ev::MarginReportProven { account: a, root: h, observedBlock: blk });
    check_event(Ev::MarginReportSkipped { account: a, reason });
    check_event(Ev::PriceSkipped { asset: a, reason });
    check_event(Ev::PriceUpdated { asset: a, price: u128::MAX, observedBlock: blk });
    check_event(Ev::LiquidationExecuted {
        account: a,
        liquidator: b,
        instrumentId: h,
        size: i128::MIN,
        markPrice: 5,
        notional: n,
        penalty: n,
    });
    check_event(Ev::ChangeQueued {
        changeId: h,
        kind: 16,
        target: a,
        value: U256::MAX,
        eta: u64::MAX,
    });
    check_event(Ev::ChangeApplied { changeId: h, kind: 3, target: a, value: n });
    check_event(Ev::ChangeCancelled { changeId: h });
    check_event(Ev::RiskEpochBumped { riskEpoch: 9 });
    for spec in
        [&b""[..], b"x", &[7u8; 32][..], &[9u8; 33][..], br#"{"kind":"perp","underlying":"ETH"}"#]
    {
        check_event(Ev::InstrumentListed { instrumentId: h, spec: Bytes::copy_from_slice(spec) });
    }
    check_event(Ev::EnginePausedBy { by: a });
    check_event(Ev::EngineUnpausedBy { by: b });
    check_event(Ev::CashWithdrawn { account: a, cashAmount: n, tokenAmount: U256::MAX });
    check_event(Ev::DebtRepaid { account: a, cashAmount: n });
    check_event(Ev::CollateralSeized {
        account: a,
        liquidator: b,
        asset: a,
        seized: n,
        debtRepaid: U256::MAX,
    });
    check_event(Ev::InsuranceFundCredited { account: a, amount: n, fundBalance: U256::MAX });
    check_event(Ev::BadDebtResolved {
        account: a,
        debt: n,
        coveredByFund: U256::ZERO,
        socialised: U256::MAX,
        positiveCashRate: n,
    });
    // Every event of the interface is covered above.
    assert_eq!(
        margin_types::abi::IMarginEngineEvents::IMarginEngineEventsEvents::SELECTORS.len(),
        23
    );
}
