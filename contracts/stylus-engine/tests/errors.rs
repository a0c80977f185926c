//! One test per custom error the other Stylus tests did not trigger, through the deployed router
//! (or the constructor) as a user would, each asserting the full revert data (selector and
//! parameters) the Solidity twin's forge tests expect (`contracts/evm/test/unit/*.t.sol`, same
//! fixture); and every role gate against the wrong callers.

mod support;

use alloy_primitives::aliases::U48;
use alloy_primitives::{address, Address, Bytes, B256, I256, U256};
use alloy_sol_types::SolCall;
use margin_types::abi::IMarginEngine as I;
use margin_types::abi::IMarginEngineErrors as E;
use margin_types::abi::{LiquidationStep, ParamChange};
use margin_types::eip712::BatchLeaf;
use margin_types::signer::KeeperSigner;
use support::fixture::*;

fn int(v: i128) -> I256 {
    I256::try_from(v).unwrap()
}

fn usdc(units: u64) -> U256 {
    U256::from(units) * U256::from(1_000_000u64)
}

fn execute_call(change: &ParamChange, eta: u64) -> I::executeChangeCall {
    I::executeChangeCall { change: change.clone(), eta }
}

// ---------------------------------------------------------------------------------- arithmetic

/// Collateral.t.sol `test_RevertWhen_DepositOverflowsBalance`: the credit comes first.
#[test]
fn arithmetic_overflow_on_a_deposit_beyond_uint256() {
    let mut w = World::new();
    w.fund(ALICE, USDC, U256::MAX - U256::from(1));
    w.mint(USDC, ALICE, U256::from(2));
    reverts(&w.deposit(ALICE, USDC, U256::from(2)), E::ArithmeticOverflow {});
    assert_eq!(
        w.view(I::collateralBalanceCall { account: ALICE, asset: USDC }),
        U256::MAX - U256::from(1)
    );
}

/// TradingLiquidation.t.sol `test_RevertWhen_CashOverflows`: cash is an int128.
#[test]
fn arithmetic_overflow_on_cash_beyond_int128() {
    let mut w = World::new();
    w.fund(ALICE, USDC, usdc(1_000));
    w.fund(BOB, USDC, usdc(1_000));
    let prices = w.both_prices();
    let report = w.report(ALICE, 0, 0, 0);
    w.post_ok(prices, vec![report], vec![]);
    w.advance(1);
    let report = w.report(BOB, 0, 0, 0);
    w.post_ok(vec![], vec![report], vec![]);
    ok(&w.settle(pair(ALICE, BOB, eth_perp(), 1, i128::MAX)));
    ok(&w.settle(pair(BOB, ALICE, eth_perp(), 1, 0))); // back to flat, reduces only
                                                       // Alice +1 cash over int128 max.
    reverts(&w.settle(pair(BOB, ALICE, eth_perp(), 0, -1)), E::ArithmeticOverflow {});
    assert_eq!(w.view(I::accountStateCall { account: ALICE }).cash, int(i128::MAX));
}

// ---------------------------------------------------------------------------------- trades

/// TradingLiquidation.t.sol `test_RevertWhen_LegsBad`: out of order, then a duplicate.
#[test]
fn legs_not_sorted() {
    let mut w = World::new();
    let mut legs = pair(ALICE, BOB, eth_perp(), 1, 0);
    legs.swap(0, 1);
    reverts(&w.settle(legs.clone()), E::LegsNotSorted { index: U256::from(1) });
    legs[1] = legs[0].clone();
    reverts(&w.settle(legs), E::LegsNotSorted { index: U256::from(1) });
}

#[test]
fn instrument_not_listed() {
    let mut w = World::new();
    let unlisted = B256::with_last_byte(1);
    reverts(
        &w.settle(pair(ALICE, BOB, unlisted, 1, 0)),
        E::InstrumentNotListed { instrumentId: unlisted },
    );
}

/// `test_RevertWhen_LegsBad` and `test_SizeConservedPerInstrumentGroup`.
#[test]
fn size_not_conserved_per_instrument_group() {
    let mut w = World::new();
    let mut legs = pair(ALICE, BOB, eth_perp(), 1, 0);
    legs[1].sizeDelta = 2;
    reverts(&w.settle(legs), E::SizeNotConserved { instrumentId: eth_perp(), imbalance: int(1) });
    // (lower group unbalanced, higher group balanced): the lower group ends first.
    let (lo, hi) =
        if btc_perp() < eth_perp() { (btc_perp(), eth_perp()) } else { (eth_perp(), btc_perp()) };
    let legs = vec![leg(BOB, lo, 1, 0), leg(BOB, hi, 1, 0), leg(ALICE, hi, -2, 0)];
    reverts(&w.settle(legs), E::SizeNotConserved { instrumentId: lo, imbalance: int(1) });
}

#[test]
fn cash_not_conserved() {
    let mut w = World::new();
    let mut legs = pair(ALICE, BOB, eth_perp(), 1, 5);
    legs[1].cashDelta = -3;
    // Bob -5, Alice -3.
    reverts(&w.settle(legs), E::CashNotConserved { imbalance: int(-8) });
}

// ---------------------------------------------------------------------------------- prices

/// TradingLiquidation.t.sol `test_RevertWhen_RiskAddingLegLacksMargin`: never priced.
#[test]
fn stale_price_on_a_risk_adding_trade_without_any_price() {
    let mut w = World::new();
    w.fund(ALICE, USDC, usdc(1_000));
    w.fund(BOB, USDC, usdc(1_000));
    let legs = pair(ALICE, BOB, eth_perp(), E18 as i128, 0);
    reverts(&w.settle(legs.clone()), E::NoFreshReport { account: BOB });
    let report = w.report(BOB, 0, 0, 0);
    w.post_ok(vec![], vec![report], vec![]);
    reverts(&w.settle(legs), E::StalePrice { asset: USDC, priceBlock: U48::ZERO });
}

/// Collateral.t.sol `test_WithdrawWithPositionsIsMarginGated`: prices 51 blocks old, report 50.
#[test]
fn stale_price_on_a_withdrawal_with_positions() {
    let mut w = World::new();
    w.open_positions();
    let priced = w.block();
    w.advance(1);
    let report = w.report(ALICE, -1_000 * E18 as i128, 2_000 * E18, 1_500 * E18);
    w.post_ok(vec![], vec![report], vec![]);
    ok(&w.withdraw(ALICE, USDC, usdc(1)));
    w.advance(50);
    assert_eq!(w.block() - 51, priced);
    reverts(
        &w.withdraw(ALICE, USDC, U256::from(1)),
        E::StalePrice { asset: USDC, priceBlock: U48::from(priced) },
    );
}

/// Reports.t.sol `test_PostPriceReportProven` (a batch only skips it; a proven one reverts).
#[test]
fn price_not_newer_on_a_proven_price() {
    let mut w = World::new();
    let p = w.price(WETH, 2_000 * E18);
    let r = vec![w.report(ALICE, 100 * E18 as i128, 50 * E18, 40 * E18), w.report(BOB, 0, 0, 0)];
    let all = leaves(std::slice::from_ref(&p), &r, &[]);
    let root = w.attest(&all);
    let proof = margin_types::merkle::proof(&all, 0).unwrap();
    let call = I::postPriceReportCall { price: p, root, proof };
    ok(&w.send(STRANGER, call.clone()));
    let block = U48::from(w.block());
    reverts(
        &w.send(STRANGER, call),
        E::PriceNotNewer { asset: WETH, storedBlock: block, observedBlock: block },
    );
}

/// Reports.t.sol `test_PostMarginReportProven`.
#[test]
fn report_not_newer_on_a_proven_report() {
    let mut w = World::new();
    let p = w.price(WETH, 2_000 * E18);
    let r = vec![w.report(ALICE, 100 * E18 as i128, 50 * E18, 40 * E18), w.report(BOB, 0, 0, 0)];
    let all = leaves(&[p], &r, &[]);
    let root = w.attest(&all);
    let proof = margin_types::merkle::proof(&all, 1).unwrap();
    let call = I::postMarginReportCall { report: r[0].clone(), root, proof };
    ok(&w.send(STRANGER, call.clone()));
    let block = U48::from(w.block());
    reverts(
        &w.send(STRANGER, call),
        E::ReportNotNewer { account: ALICE, storedBlock: block, observedBlock: block },
    );
}

// ---------------------------------------------------------------------------------- liquidation

/// TradingLiquidation.t.sol `test_RevertWhen_StepIncreasesRisk`: same sign, beyond the
/// position, zero, no position.
#[test]
fn liquidation_increases_risk() {
    let mut w = World::new();
    w.open_positions();
    w.advance(1);
    let prices = vec![w.price(USDC, E18)];
    let reports = vec![
        w.report(ALICE, -9_500 * E18 as i128, 2_000 * E18, 1_500 * E18),
        w.report(CAROL, 0, 0, 0),
    ];
    let steps: Vec<LiquidationStep> = vec![
        w.step(ALICE, eth_perp(), 1, 2_000 * E18),
        w.step(ALICE, eth_perp(), -11 * E18 as i128, 2_000 * E18),
        w.step(ALICE, eth_perp(), 0, 2_000 * E18),
        w.step(ALICE, btc_perp(), -1, 2_000 * E18),
    ];
    let others: Vec<B256> = steps.iter().map(|s| s.leaf_hash()).collect();
    let (root, all) = w.post_ok(prices, reports, others);
    for (i, step) in steps.iter().enumerate() {
        let position = if i == 3 { I256::ZERO } else { int(10 * E18 as i128) };
        let proof = margin_types::merkle::proof(&all, 3 + i).unwrap();
        reverts(
            &w.liquidate(CAROL, step, root, &proof),
            E::LiquidationIncreasesRisk {
                account: ALICE,
                instrumentId: step.instrumentId,
                position,
                size: step.size,
            },
        );
    }
}

/// TradingLiquidation.t.sol `test_RevertWhen_CapExceeded`: the cap lowered behind the timelock.
#[test]
fn liquidation_cap_exceeded() {
    let mut w = World::new();
    w.execute(change(6, Address::ZERO, 9_999 * E18));
    assert_eq!(w.view(I::riskParamsCall {}).liquidationNotionalCapPerBlock, 9_999 * E18);
    w.open_positions();
    let (step, root, proof) = w.make_alice_liquidatable();
    reverts(
        &w.liquidate(CAROL, &step, root, &proof),
        E::LiquidationCapExceeded {
            usedThisBlock: U256::ZERO,
            notional: U256::from(10_000 * E18),
            cap: U256::from(9_999 * E18),
        },
    );
}

/// The cap counts what was already liquidated in the block (two liquidators, two accounts).
#[test]
fn liquidation_cap_counts_the_block_so_far() {
    let mut w = World::new();
    w.execute(change(6, Address::ZERO, 15_000 * E18));
    w.open_positions(); // Alice long 10 ETH-PERP, Bob short 10
    w.fund(DAVE, USDC, usdc(100_000));
    w.advance(1);
    let prices = w.both_prices();
    let reports = vec![
        w.report(ALICE, -9_500 * E18 as i128, 2_000 * E18, 1_500 * E18),
        w.report(BOB, -9_500 * E18 as i128, 2_000 * E18, 1_500 * E18),
        w.report(CAROL, 0, 0, 0),
        w.report(DAVE, 0, 0, 0),
    ];
    let a = w.step(ALICE, eth_perp(), -5 * E18 as i128, 2_000 * E18);
    let b = w.step(BOB, eth_perp(), 4 * E18 as i128, 2_000 * E18);
    let (root, all) = w.post_ok(prices, reports, vec![a.leaf_hash(), b.leaf_hash()]);
    ok(&w.liquidate(CAROL, &a, root, &margin_types::merkle::proof(&all, 6).unwrap()));
    reverts(
        &w.liquidate(DAVE, &b, root, &margin_types::merkle::proof(&all, 7).unwrap()),
        E::LiquidationCapExceeded {
            usedThisBlock: U256::from(10_000 * E18),
            notional: U256::from(8_000 * E18),
            cap: U256::from(15_000 * E18),
        },
    );
    // The next block starts from zero.
    w.advance(1);
    let prices = w.both_prices();
    let report = w.report(DAVE, 0, 0, 0);
    w.post_ok(prices, vec![report], vec![]);
    ok(&w.liquidate(DAVE, &b, root, &margin_types::merkle::proof(&all, 7).unwrap()));
}

// ---------------------------------------------------------------------------------- governance

/// Governance.t.sol `test_RevertWhen_ChangeExpired`: executable up to the last second of the
/// grace period, not after.
#[test]
fn change_expired() {
    let mut w = World::new();
    let first = change(3, Address::ZERO, 100);
    let second = change(3, Address::ZERO, 101);
    let (_, eta) = w.queue(first.clone());
    let (id, eta2) = w.queue(second.clone());
    assert_eq!(eta, eta2);
    w.warp(eta + GRACE_PERIOD);
    ok(&w.send(STRANGER, execute_call(&first, eta))); // last second of grace
    w.warp(eta + GRACE_PERIOD + 1);
    reverts(&w.send(STRANGER, execute_call(&second, eta)), E::ChangeExpired { changeId: id, eta });
    assert_eq!(w.view(I::queuedChangeEtaCall { changeId: id }), eta, "still queued");
}

/// Governance.t.sol `test_RevertWhen_KindRulesFail` (zero targets) and the constructor's roles,
/// keepers, assets and venues.
#[test]
fn zero_address() {
    let mut w = World::new();
    for kind in [0u8, 1, 9, 10, 11, 12, 13, 14, 15] {
        let value = if kind == 1 { 6 } else { 0 };
        reverts(&w.propose(ADMIN, change(kind, Address::ZERO, value)), E::ZeroAddress {});
    }
    // Always-tightening kinds for the council too (RemoveKeeper, RemoveVenue). (A weight for the
    // zero address is not lower than its weight 0: loosening, so the council gets NotAdmin.)
    reverts(&w.propose(COUNCIL, change(0, Address::ZERO, 0)), E::NotAdmin { caller: COUNCIL });
    for kind in [10u8, 12] {
        reverts(&w.propose(COUNCIL, change(kind, Address::ZERO, 0)), E::ZeroAddress {});
    }
    for i in 0..3 {
        let mut args = Args::default();
        args.roles[i] = Address::ZERO;
        deploy_reverts(&args, E::ZeroAddress {});
    }
    let mut args = Args::default();
    args.keepers.push(Address::ZERO);
    deploy_reverts(&args, E::ZeroAddress {});
    let mut args = Args::default();
    args.assets[0] = Address::ZERO;
    deploy_reverts(&args, E::ZeroAddress {});
    let mut args = Args::default();
    args.venues.push(Address::ZERO);
    deploy_reverts(&args, E::ZeroAddress {});
}

#[test]
fn asset_already_listed() {
    let mut w = World::new();
    reverts(&w.propose(ADMIN, change(1, USDC, 6)), E::AssetAlreadyListed { asset: USDC });
    reverts(&w.propose(ADMIN, change(1, WETH, 18)), E::AssetAlreadyListed { asset: WETH });
    let args = Args {
        assets: vec![USDC, USDC],
        decimals: vec![6, 6],
        weights: vec![9_800, 1],
        ..Args::default()
    };
    deploy_reverts(&args, E::AssetAlreadyListed { asset: USDC });
}

/// Governance.t.sol `test_RevertWhen_TooManyKeepersOrAssets` and the constructor's 17 assets.
#[test]
fn too_many_collateral_assets() {
    let mut w = World::new();
    // Listing is loosening: queued, then executed (bounds checked again on execution).
    for i in 0..14u64 {
        let asset = Address::left_padding_from(&(0x8000 + i).to_be_bytes());
        w.execute(change(1, asset, 18));
    }
    assert_eq!(w.view(I::collateralAssetsCall {}).len(), 16);
    let extra = address!("0000000000000000000000000000000000004444");
    reverts(
        &w.propose(ADMIN, change(1, extra, 18)),
        E::TooManyCollateralAssets { max: U256::from(16) },
    );
    let args = Args {
        assets: (0..17u64)
            .map(|i| Address::left_padding_from(&(0x7001 + i).to_be_bytes()))
            .collect(),
        decimals: vec![6; 17],
        weights: vec![1; 17],
        ..Args::default()
    };
    deploy_reverts(&args, E::TooManyCollateralAssets { max: U256::from(16) });
}

#[test]
fn too_many_keepers() {
    let mut w = World::new();
    for i in 0..27u64 {
        w.execute(change(9, Address::left_padding_from(&(0x9000 + i).to_be_bytes()), 0));
    }
    assert_eq!(w.view(I::keepersCall {}).len(), 32);
    let extra = address!("0000000000000000000000000000000000004444");
    reverts(&w.propose(ADMIN, change(9, extra, 0)), E::TooManyKeepers { max: U256::from(32) });
    let mut args = Args::default();
    while args.keepers.len() < 33 {
        let next = 0x5000 + args.keepers.len() as u64;
        args.keepers.push(Address::left_padding_from(&next.to_be_bytes()));
    }
    deploy_reverts(&args, E::TooManyKeepers { max: U256::from(32) });
}

/// Governance.t.sol `test_RevertWhen_KindRulesFail`, `test_ExecuteRechecksTheKindsRules` and
/// the constructor's duplicate keeper.
#[test]
fn keeper_already_registered() {
    let mut w = World::new();
    let k0 = w.keys[0].address();
    reverts(&w.propose(ADMIN, change(9, k0, 0)), E::KeeperAlreadyRegistered { keeper: k0 });
    // Queued twice (different etas), executed once: the second execution re-checks the rule.
    let newcomer = address!("0000000000000000000000000000000000004444");
    let c = change(9, newcomer, 0);
    let (_, eta1) = w.queue(c.clone());
    let t = w.now();
    w.warp(t + 1);
    let (_, eta2) = w.queue(c.clone());
    w.warp(eta2);
    ok(&w.send(STRANGER, execute_call(&c, eta1)));
    reverts(
        &w.send(STRANGER, execute_call(&c, eta2)),
        E::KeeperAlreadyRegistered { keeper: newcomer },
    );
    let mut args = Args::default();
    args.keepers.push(args.keepers[0]);
    deploy_reverts(&args, E::KeeperAlreadyRegistered { keeper: args.keepers[0] });
}

#[test]
fn keeper_not_registered() {
    let mut w = World::new();
    let stranger = address!("0000000000000000000000000000000000004444");
    reverts(
        &w.propose(ADMIN, change(10, stranger, 0)),
        E::KeeperNotRegistered { keeper: stranger },
    );
    reverts(
        &w.propose(COUNCIL, change(10, stranger, 0)),
        E::KeeperNotRegistered { keeper: stranger },
    );
}

/// Governance.t.sol `test_RevertWhen_QuorumOutOfRange` (constructor),
/// `test_RevertWhen_KindRulesFail` and `test_RevertWhen_RemovingKeeperBelowQuorum`.
#[test]
fn quorum_out_of_range() {
    let five = U256::from(5);
    let mut args = Args { quorum: 0, ..Args::default() };
    deploy_reverts(&args, E::QuorumOutOfRange { quorum: U256::ZERO, keepers: five });
    args.quorum = 6;
    deploy_reverts(&args, E::QuorumOutOfRange { quorum: U256::from(6), keepers: five });

    let mut w = World::new();
    reverts(
        &w.propose(ADMIN, change(8, Address::ZERO, 6)),
        E::QuorumOutOfRange { quorum: U256::from(6), keepers: five },
    );
    reverts(
        &w.propose(ADMIN, change(8, Address::ZERO, 0)),
        E::QuorumOutOfRange { quorum: U256::ZERO, keepers: five },
    );
    ok(&w.propose(ADMIN, change(8, Address::ZERO, 5)));
    let k0 = w.keys[0].address();
    reverts(
        &w.propose(ADMIN, change(10, k0, 0)),
        E::QuorumOutOfRange { quorum: five, keepers: U256::from(4) },
    );
}

// ---------------------------------------------------------------------------------- roles

fn assert_roles(w: &mut World, admin: Address, council: Address, guardian: Address) {
    let roles = w.view(I::rolesCall {});
    assert_eq!((roles.admin, roles.riskCouncil, roles.pauseGuardian), (admin, council, guardian));
}

/// Every role gate, with each wrong caller: proposeChange (tightening: council or admin;
/// otherwise admin), cancelChange, listInstrument, pause, unpause, settleTrade.
#[test]
fn every_role_gate_refuses_the_wrong_callers() {
    let mut w = World::new();
    let k0 = w.keys[0].address();
    let tighten = change(0, WETH, 1);
    let loosen = change(0, WETH, 9_999);
    for caller in [STRANGER, GUARDIAN, VENUE, ALICE, k0, ENGINE] {
        reverts(&w.propose(caller, tighten.clone()), E::NotRiskCouncilOrAdmin { caller });
    }
    for caller in [COUNCIL, GUARDIAN, STRANGER, VENUE, k0] {
        reverts(&w.propose(caller, loosen.clone()), E::NotAdmin { caller });
        reverts(
            &w.propose(caller, change(9, address!("0000000000000000000000000000000000004444"), 0)),
            E::NotAdmin { caller },
        );
    }
    // The queue: cancelling is the council's or the admin's.
    let (id, _) = w.queue(change(3, Address::ZERO, 100));
    for caller in [STRANGER, GUARDIAN, VENUE, k0] {
        reverts(
            &w.send(caller, I::cancelChangeCall { changeId: id }),
            E::NotRiskCouncilOrAdmin { caller },
        );
    }
    ok(&w.send(COUNCIL, I::cancelChangeCall { changeId: id }));
    let sol = keccak("SOL-PERP");
    for caller in [COUNCIL, GUARDIAN, STRANGER, VENUE] {
        let call = I::listInstrumentCall { instrumentId: sol, spec: Bytes::new() };
        reverts(&w.send(caller, call), E::NotAdmin { caller });
    }
    for caller in [COUNCIL, STRANGER, VENUE, k0] {
        reverts(&w.send(caller, I::pauseCall {}), E::NotPauseGuardianOrAdmin { caller });
    }
    ok(&w.send(ADMIN, I::pauseCall {}));
    for caller in [GUARDIAN, COUNCIL, STRANGER] {
        reverts(&w.send(caller, I::unpauseCall {}), E::NotAdmin { caller });
    }
    ok(&w.send(ADMIN, I::unpauseCall {}));
    ok(&w.send(GUARDIAN, I::pauseCall {}));
    ok(&w.send(ADMIN, I::unpauseCall {}));
    for caller in [ADMIN, COUNCIL, GUARDIAN, STRANGER, ALICE] {
        reverts(&w.send(caller, I::settleTradeCall { legs: vec![] }), E::NotVenue { caller });
    }
    // Anyone may execute a due change.
    let (_, eta) = w.queue(change(3, Address::ZERO, 100));
    w.warp(eta);
    ok(&w.send(STRANGER, execute_call(&change(3, Address::ZERO, 100), eta)));
}

/// Roles move with governance: the old holders lose the gate, the new ones pass it; a removed
/// venue is refused.
#[test]
fn role_changes_move_the_gates() {
    let mut w = World::new();
    let (admin2, council2, guardian2) = (
        address!("0000000000000000000000000000000000008888"),
        address!("0000000000000000000000000000000000006666"),
        address!("0000000000000000000000000000000000007777"),
    );
    ok(&w.propose(ADMIN, change(14, council2, 0))); // at once, admin only
    w.execute(change(15, guardian2, 0));
    w.execute(change(13, admin2, 0));
    assert_roles(&mut w, admin2, council2, guardian2);
    let sol = keccak("SOL-PERP");
    let list = I::listInstrumentCall { instrumentId: sol, spec: Bytes::new() };
    reverts(&w.send(ADMIN, list.clone()), E::NotAdmin { caller: ADMIN });
    ok(&w.send(admin2, list));
    reverts(&w.send(GUARDIAN, I::pauseCall {}), E::NotPauseGuardianOrAdmin { caller: GUARDIAN });
    reverts(&w.propose(COUNCIL, change(0, WETH, 1)), E::NotRiskCouncilOrAdmin { caller: COUNCIL });
    ok(&w.propose(council2, change(0, WETH, 1)));
    ok(&w.send(guardian2, I::pauseCall {}));
    reverts(&w.send(ADMIN, I::unpauseCall {}), E::NotAdmin { caller: ADMIN });
    ok(&w.send(admin2, I::unpauseCall {}));
    // RemoveVenue is tightening: the council, at once.
    ok(&w.propose(council2, change(12, VENUE, 0)));
    reverts(&w.settle(pair(ALICE, BOB, eth_perp(), 1, 0)), E::NotVenue { caller: VENUE });
}

/// Keeper-signed calls: a batch or root signed by a non-keeper (or a removed keeper) is refused
/// whoever posts it; a liquidator needs its own fresh report.
#[test]
fn keeper_signatures_and_liquidators_are_checked() {
    let mut w = World::new();
    let outsider = KeeperSigner::from_bytes(&keccak("outsider")).unwrap();
    let prices = w.both_prices();
    let all = leaves(&prices, &[], &[]);
    let batch = w.batch_for(&all);
    let sigs = w.sign_with(&batch, &[&w.keys[0], &outsider]);
    let post = I::postBatchCall {
        batch: batch.clone(),
        signatures: sigs.clone().into(),
        prices: prices.clone(),
        reports: vec![],
        otherLeaves: vec![],
    };
    for sender in [STRANGER, ADMIN, w.keys[1].address()] {
        reverts(&w.send(sender, post.clone()), E::UnknownKeeper { signer: outsider.address() });
    }
    let attest = I::attestRootCall { batch: batch.clone(), signatures: sigs.into() };
    reverts(&w.send(STRANGER, attest), E::UnknownKeeper { signer: outsider.address() });
    // Removing keeper 0 (tightening, bumps the epoch): its signature no longer counts.
    let k0 = w.keys[0].address();
    ok(&w.propose(COUNCIL, change(10, k0, 0)));
    let batch = w.batch_for(&all);
    assert_eq!(batch.riskEpoch, 1);
    let sigs = w.sign_with(&batch, &[&w.keys[0], &w.keys[1]]);
    let post = I::postBatchCall {
        batch: batch.clone(),
        signatures: sigs.into(),
        prices: prices.clone(),
        reports: vec![],
        otherLeaves: vec![],
    };
    reverts(&w.send(STRANGER, post), E::UnknownKeeper { signer: k0 });
    let sigs = w.sign_with(&batch, &[&w.keys[1], &w.keys[2]]);
    let post = I::postBatchCall {
        batch,
        signatures: sigs.into(),
        prices,
        reports: vec![],
        otherLeaves: vec![],
    };
    ok(&w.send(STRANGER, post));

    // TradingLiquidation.t.sol `test_RevertWhen_LiquidatorLacksMargin`: no report, no step.
    let mut w = World::new();
    w.open_positions();
    let (step, root, proof) = w.make_alice_liquidatable();
    reverts(&w.liquidate(STRANGER, &step, root, &proof), E::NoFreshReport { account: STRANGER });
    reverts(&w.liquidate(ALICE, &step, root, &proof), E::SelfLiquidation { account: ALICE });
    ok(&w.liquidate(CAROL, &step, root, &proof));
}

fn keccak(s: &str) -> B256 {
    alloy_primitives::keccak256(s)
}

// ---------------------------------------------------------------------------------- settlement

/// A listed asset with no price and no weight (listed behind the timelock).
const DOGE: Address = address!("0000000000000000000000000000000000007003");

fn cash_of(w: &mut World, account: Address) -> I256 {
    w.view(I::accountStateCall { account }).cash
}

/// A funding leg (size 0, cash only): `payer` pays `usd` to `payee`; it needs no report.
fn funding(w: &mut World, payer: Address, payee: Address, usd: i128) {
    ok(&w.settle(pair(payer, payee, eth_perp(), 0, -usd * E18 as i128)));
}

#[test]
fn asset_delisted_winds_down_and_settlement_asset_fixed() {
    let mut w = World::new();
    w.fund(CAROL, WETH, U256::from(E18));
    reverts(&w.propose(COUNCIL, change(20, USDC, 0)), E::SettlementAssetFixed { asset: USDC });
    ok(&w.propose(COUNCIL, change(20, WETH, 0)));
    let status = w.view(I::collateralStatusCall { asset: WETH });
    assert!(status.windingDown);
    assert_eq!(status.engineBalance, U256::from(E18));
    w.mint(WETH, CAROL, U256::from(1));
    reverts(&w.deposit(CAROL, WETH, U256::from(1)), E::AssetDelisted { asset: WETH });
    // Withdrawals go on; once drained, delisting again removes it and frees its slot.
    ok(&w.withdraw(CAROL, WETH, U256::from(E18)));
    ok(&w.propose(COUNCIL, change(20, WETH, 0)));
    assert_eq!(w.view(I::collateralAssetsCall {}), vec![USDC]);
    assert!(!w.view(I::collateralInfoCall { asset: WETH }).listed);
    reverts(&w.deposit(CAROL, WETH, U256::from(1)), E::AssetNotListed { asset: WETH });
}

#[test]
fn insufficient_cash_and_insufficient_cash_reserve() {
    let mut w = World::new();
    reverts(
        &w.withdraw_cash(ALICE, U256::from(1)),
        E::InsufficientCash { account: ALICE, cash: I256::ZERO, amount: U256::from(10u64.pow(12)) },
    );
    // Bob's profit is a claim on the reserve, which holds nothing until Alice's debt is paid.
    funding(&mut w, ALICE, BOB, 5_000);
    reverts(
        &w.withdraw_cash(BOB, usdc(1)),
        E::InsufficientCashReserve { available: U256::ZERO, amount: U256::from(E18) },
    );
}

#[test]
fn no_debt_and_repay_exceeds_debt() {
    let mut w = World::new();
    w.fund(ALICE, USDC, usdc(100));
    reverts(&w.repay(ALICE, usdc(1)), E::NoDebt { account: ALICE });
    funding(&mut w, ALICE, BOB, 5);
    reverts(
        &w.repay(ALICE, usdc(6)),
        E::RepayExceedsDebt {
            account: ALICE,
            debt: U256::from(5 * E18),
            amount: U256::from(6 * E18),
        },
    );
    reverts(
        &w.repay(ALICE, usdc(101)),
        E::InsufficientCollateral {
            account: ALICE,
            asset: USDC,
            balance: usdc(100),
            amount: usdc(101),
        },
    );
    ok(&w.repay(ALICE, usdc(5)));
    assert_eq!(cash_of(&mut w, ALICE), I256::ZERO);
    assert_eq!(w.view(I::settlementStateCall {}).cashReserve, U256::from(5 * E18));
}

#[test]
fn seizure_out_of_order_and_not_bad_debt() {
    let mut w = World::new();
    w.open_positions();
    w.fund(ALICE, WETH, U256::from(E18));
    funding(&mut w, ALICE, BOB, 5_000);
    w.make_alice_liquidatable();
    // Her own USDC first, at par.
    reverts(
        &w.seize(CAROL, ALICE, WETH, usdc(1)),
        E::SeizureOutOfOrder { asset: WETH, expected: USDC },
    );
    reverts(&w.seize(ALICE, ALICE, USDC, usdc(1)), E::SelfLiquidation { account: ALICE });
    // Bob's report predates his last trade.
    reverts(&w.seize(CAROL, BOB, USDC, usdc(1)), E::NoFreshReport { account: BOB });
    // She still holds a position and weighted collateral: not bad debt.
    reverts(
        &w.send(STRANGER, I::resolveBadDebtCall { account: ALICE }),
        E::NotBadDebt { account: ALICE },
    );
    reverts(&w.send(STRANGER, I::resolveBadDebtCall { account: BOB }), E::NoDebt { account: BOB });
}

// ------------------------------------------------------------- issue 12: the six regressions

/// An unpriced asset cannot block a liquidation: 1 wei of a new listing (no price) counts as
/// zero for liquidation, while withdrawals still fail closed on it.
#[test]
fn regression_an_unpriced_asset_does_not_block_liquidation() {
    let mut w = World::new();
    w.execute(change(1, DOGE, 18));
    w.open_positions();
    w.fund(ALICE, DOGE, U256::from(1));
    let (step, root, proof) = w.make_alice_liquidatable();
    let health = w.view(I::accountHealthCall { account: ALICE });
    assert!(health.liquidatable && !health.pricesFresh);
    reverts(
        &w.withdraw(ALICE, USDC, usdc(1)),
        E::StalePrice { asset: DOGE, priceBlock: U48::ZERO },
    );
    ok(&w.liquidate(CAROL, &step, root, &proof));
}

/// The liquidator cannot pick an older step's mark: a step must be observed at or after the
/// account's latest report.
#[test]
fn regression_a_step_older_than_the_latest_report_is_refused() {
    let mut w = World::new();
    w.open_positions();
    let (step, root, proof) = w.make_alice_liquidatable();
    let old = w.block();
    w.advance(1);
    let report = w.report(ALICE, -9_600 * E18 as i128, 2_000 * E18, 1_500 * E18);
    w.post_ok(w.both_prices(), vec![report], vec![]);
    reverts(
        &w.liquidate(CAROL, &step, root, &proof),
        E::StepOlderThanReport {
            account: ALICE,
            reportBlock: U48::from(old + 1),
            stepBlock: U48::from(old),
        },
    );
}

/// The liquidator's margin is checked after the step: 1 unit of collateral cannot take over a
/// large position.
#[test]
fn regression_the_liquidator_must_stay_above_maintenance_after_the_step() {
    let mut w = World::new();
    w.open_positions();
    w.fund(DAVE, USDC, U256::from(1));
    w.advance(1);
    let reports = vec![
        w.report(ALICE, -9_500 * E18 as i128, 2_000 * E18, 1_500 * E18),
        w.report(DAVE, 0, 0, 0),
    ];
    let step = w.step(ALICE, eth_perp(), -5 * E18 as i128, 2_000 * E18);
    let (root, leaves) = w.post_ok(w.both_prices(), reports, vec![step.leaf_hash()]);
    let proof = margin_types::merkle::proof(&leaves, 4).unwrap();
    // Penalty min(500, 300 * 5/10) = 150, half to the fund: Dave keeps 75 on 980,000,000,000 of
    // weighted USDC, against 10% of the 10,000 notional.
    reverts(
        &w.liquidate(DAVE, &step, root, &proof),
        E::LiquidatorBelowMaintenance {
            liquidator: DAVE,
            equityAfter: I256::try_from(75 * E18 + 980_000_000_000).unwrap(),
            requirementAfter: U256::from(1_000 * E18),
        },
    );
}

/// A dust trade cannot void pending steps: a liquidatable account's reducing leg is refused;
/// a cash-only leg still applies.
#[test]
fn regression_a_liquidatable_account_cannot_trade_down_to_void_steps() {
    let mut w = World::new();
    w.open_positions();
    let (step, root, proof) = w.make_alice_liquidatable();
    reverts(
        &w.settle(pair(BOB, ALICE, eth_perp(), 1, 0)),
        E::AccountLiquidatable { account: ALICE },
    );
    ok(&w.liquidate(CAROL, &step, root, &proof));
}

/// A rogue council cannot keep itself: the admin replaces it at once, the council cannot
/// cancel a role change, and the council cannot list.
#[test]
fn regression_the_admin_removes_the_council_and_only_the_admin_cancels_role_changes() {
    let mut w = World::new();
    let new_admin = address!("0000000000000000000000000000000000008888");
    let (id, _) = w.queue(change(13, new_admin, 0));
    reverts(
        &w.send(COUNCIL, I::cancelChangeCall { changeId: id }),
        E::NotAdmin { caller: COUNCIL },
    );
    reverts(&w.propose(COUNCIL, change(14, STRANGER, 0)), E::NotAdmin { caller: COUNCIL });
    let council2 = address!("0000000000000000000000000000000000006666");
    let out = w.propose(ADMIN, change(14, council2, 0));
    let r = I::proposeChangeCall::abi_decode_returns(&out.result.clone().unwrap()).unwrap();
    assert!(r.applied, "applied at once");
    assert_eq!(w.view(I::rolesCall {}).riskCouncil, council2);
    reverts(
        &w.send(COUNCIL, I::cancelChangeCall { changeId: id }),
        E::NotRiskCouncilOrAdmin { caller: COUNCIL },
    );
    ok(&w.send(ADMIN, I::cancelChangeCall { changeId: id }));
    // The council still cancels an ordinary queued change.
    let (other, _) = w.queue(change(3, Address::ZERO, 700));
    ok(&w.send(council2, I::cancelChangeCall { changeId: other }));
}

/// Listing is behind the timelock (the council cannot list), and delisting frees a slot.
#[test]
fn regression_listing_is_timelocked_and_delisting_frees_a_slot() {
    let mut w = World::new();
    reverts(&w.propose(COUNCIL, change(1, DOGE, 18)), E::NotAdmin { caller: COUNCIL });
    let (_, queued) = (w.queue(change(1, DOGE, 18)), w.view(I::collateralAssetsCall {}).len());
    assert_eq!(queued, 2, "not listed before the timelock");
    for i in 0..14u64 {
        w.execute(change(1, Address::left_padding_from(&(0x8000 + i).to_be_bytes()), 18));
    }
    assert_eq!(w.view(I::collateralAssetsCall {}).len(), 16);
    let first = Address::left_padding_from(&0x8000u64.to_be_bytes());
    ok(&w.propose(COUNCIL, change(20, first, 0)));
    let assets = w.view(I::collateralAssetsCall {});
    assert_eq!(assets.len(), 15);
    assert_eq!(assets[2], Address::left_padding_from(&0x8001u64.to_be_bytes()), "order kept");
    w.execute(change(1, DOGE, 18));
    assert_eq!(w.view(I::collateralAssetsCall {}).len(), 16);
}
