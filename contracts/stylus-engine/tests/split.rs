//! The deployed split (docs/stylus.md): which selectors the engine delegates to which module,
//! and the delegatecall itself (TestVM's delegate-call mock): the module's return or revert
//! data is passed through unchanged; an engine built without a module's address reverts.

use alloy_primitives::{address, Address};
use alloy_sol_types::SolCall;
use margin_engine_stylus::router::{forward, module_of, Module, SELECTORS};
use margin_types::abi::IMarginEngine as I;
use stylus_sdk::testing::TestVM;

fn sel(selector: [u8; 4]) -> u32 {
    u32::from_be_bytes(selector)
}

#[test]
fn every_selector_has_one_home() {
    let verifier = [
        I::postBatchCall::SELECTOR,
        I::attestRootCall::SELECTOR,
        I::postMarginReportCall::SELECTOR,
        I::postPriceReportCall::SELECTOR,
    ];
    let settlement = [
        I::liquidateCall::SELECTOR,
        I::seizeCollateralCall::SELECTOR,
        I::resolveBadDebtCall::SELECTOR,
    ];
    let admin = [
        I::proposeChangeCall::SELECTOR,
        I::executeChangeCall::SELECTOR,
        I::cancelChangeCall::SELECTOR,
        I::listInstrumentCall::SELECTOR,
        I::pauseCall::SELECTOR,
        I::unpauseCall::SELECTOR,
    ];
    for s in verifier {
        assert_eq!(module_of(sel(s)), Some(Module::Verifier));
    }
    for s in admin {
        assert_eq!(module_of(sel(s)), Some(Module::Admin));
    }
    for s in settlement {
        assert_eq!(module_of(sel(s)), Some(Module::Settlement));
    }
    let engine = SELECTORS.iter().filter(|&&s| module_of(s).is_none()).count();
    assert_eq!(engine, SELECTORS.len() - verifier.len() - admin.len() - settlement.len());
    assert_eq!(engine, 29, "deposit, withdraw, withdrawCash, repayDebt, settleTrade, 24 views");
}

#[test]
fn forward_passes_the_module_outcome_through() {
    let vm = TestVM::new();
    let module: Address = address!("00000000000000000000000000000000000d0d01");
    let calldata = I::pauseCall {}.abi_encode();
    vm.mock_delegate_call(module, calldata.clone(), Ok(vec![1, 2, 3]));
    assert_eq!(forward(&vm, Some(module), &calldata), Ok(vec![1, 2, 3]));
    vm.clear_mocks();
    vm.mock_delegate_call(module, calldata.clone(), Err(vec![9]));
    assert_eq!(forward(&vm, Some(module), &calldata), Err(vec![9]));
    vm.clear_mocks();
    assert_eq!(forward(&vm, None, &calldata), Err(Vec::new()), "no module address: revert");
}

#[test]
fn module_addresses_come_from_the_build() {
    // Tests build without MARGIN_ENGINE_*_MODULE set (scripts/nitro/deploy.sh sets them).
    if option_env!("MARGIN_ENGINE_VERIFIER_MODULE").is_none() {
        assert_eq!(Module::Verifier.address(), None);
    }
    if option_env!("MARGIN_ENGINE_ADMIN_MODULE").is_none() {
        assert_eq!(Module::Admin.address(), None);
    }
    if option_env!("MARGIN_ENGINE_SETTLEMENT_MODULE").is_none() {
        assert_eq!(Module::Settlement.address(), None);
    }
}
