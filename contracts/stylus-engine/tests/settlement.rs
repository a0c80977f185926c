//! Settlement (issue 12, `docs/SETTLEMENT.md`) through the deployed router, on the twin's
//! fixture: a profit withdrawn in the settlement asset once the loser's debt is repaid (margin
//! gated), a liquidatable account's collateral seized in the planner's order (its own USDC at
//! par, then WETH at the capped discount), and bad debt covered by the insurance fund, the rest
//! socialised pro rata over positive cash. After each story the token and cash ledgers balance:
//! tokens held = Σ balances + reserve / scale, and Σ cash + insurance fund = reserve (at most).

mod support;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::SolEvent;
use margin_types::abi::IMarginEngine as I;
use margin_types::abi::IMarginEngineErrors as E;
use margin_types::abi::IMarginEngineEvents as Ev;
use support::fixture::*;

const ACCOUNTS: [Address; 4] = [ALICE, BOB, CAROL, DAVE];
/// Cash units per USDC unit.
const SCALE: u64 = 1_000_000_000_000;

fn usdc(units: u64) -> U256 {
    U256::from(units) * U256::from(1_000_000u64)
}

fn usd(v: i128) -> I256 {
    I256::try_from(v * E18 as i128).unwrap()
}

fn cash_of(w: &mut World, account: Address) -> I256 {
    w.view(I::accountStateCall { account }).cash
}

fn funding(w: &mut World, payer: Address, payee: Address, usd: i128) {
    ok(&w.settle(pair(payer, payee, eth_perp(), 0, -usd * E18 as i128)));
}

/// The two ledgers: tokens held against balances and reserve; cash and fund against reserve.
fn assert_ledgers_balance(w: &mut World) {
    let state = w.view(I::settlementStateCall {});
    for asset in [USDC, WETH] {
        let mut sum = U256::ZERO;
        for account in ACCOUNTS {
            sum += w.view(I::collateralBalanceCall { account, asset });
        }
        if asset == USDC {
            sum += state.cashReserve / U256::from(SCALE);
        }
        assert_eq!(w.token_balance(asset, ENGINE), sum, "{asset} held");
    }
    let mut claims = I256::try_from(state.insuranceFund).unwrap();
    for account in ACCOUNTS {
        claims += cash_of(w, account);
    }
    assert!(claims <= I256::try_from(state.cashReserve).unwrap(), "{claims} over {state:?}");
    if state.positiveCashRate == U256::from(E18) {
        assert_eq!(claims, I256::try_from(state.cashReserve).unwrap());
    }
}

#[test]
fn a_profit_is_withdrawn_once_the_loser_repays_and_only_above_initial_margin() {
    let mut w = World::new();
    w.fund(ALICE, USDC, usdc(10_000));
    w.fund(BOB, USDC, usdc(10_000));
    funding(&mut w, ALICE, BOB, 1_000);
    reverts(
        &w.withdraw_cash(BOB, usdc(400)),
        E::InsufficientCashReserve { available: U256::ZERO, amount: U256::from(400 * E18) },
    );
    let out = w.repay(ALICE, usdc(1_000));
    ok(&out);
    assert_eq!(out.logs[0].0[0], Ev::DebtRepaid::SIGNATURE_HASH);
    assert_eq!(cash_of(&mut w, ALICE), I256::ZERO);
    assert_eq!(w.view(I::collateralBalanceCall { account: ALICE, asset: USDC }), usdc(9_000));
    // Bob traded (funding bumped his nonce): he needs a fresh report.
    reverts(&w.withdraw_cash(BOB, usdc(400)), E::NoFreshReport { account: BOB });
    let report = w.report(BOB, 0, 10_000 * E18, 8_000 * E18);
    w.post_ok(w.both_prices(), vec![report], vec![]);
    ok(&w.withdraw_cash(BOB, usdc(400)));
    assert_eq!(w.token_balance(USDC, BOB), usdc(400));
    assert_eq!(cash_of(&mut w, BOB), usd(600));
    // Equity 9,800 + 600 less 600 would be under the initial margin of 10,000.
    reverts(
        &w.withdraw_cash(BOB, usdc(600)),
        E::BelowInitialMargin {
            account: BOB,
            equity: usd(9_800),
            initialMargin: U256::from(10_000 * E18),
        },
    );
    assert_ledgers_balance(&mut w);
}

#[test]
fn collateral_is_seized_in_order_at_a_capped_discount() {
    let mut w = World::new();
    w.open_positions();
    w.fund(ALICE, WETH, U256::from(E18));
    funding(&mut w, ALICE, BOB, 15_000);
    w.make_alice_liquidatable();
    // Her own USDC first, at par: nothing paid, no gate.
    let out = w.seize(CAROL, ALICE, USDC, usdc(10_000));
    ok(&out);
    let seized =
        Ev::CollateralSeized::decode_raw_log(out.logs[0].0.clone(), &out.logs[0].1).unwrap();
    assert_eq!((seized.seized, seized.debtRepaid), (usdc(10_000), U256::from(10_000 * E18)));
    assert_eq!(cash_of(&mut w, ALICE), usd(-5_000));
    // Then WETH ($2,000, weight 90%) at min(5%, 10%) off: 1,000 USDC buys 1000 / 1900 WETH.
    w.mint(USDC, CAROL, usdc(1_000));
    assert_eq!(w.seized_for(ALICE, WETH, usdc(1_000)), U256::from(526_315_789_473_684_210u64));
    let equity_before = w.view(I::accountHealthCall { account: ALICE }).equity;
    ok(&w.seize(CAROL, ALICE, WETH, usdc(1_000)));
    assert_eq!(w.token_balance(WETH, CAROL), U256::from(526_315_789_473_684_210u64));
    assert_eq!(cash_of(&mut w, ALICE), usd(-4_000));
    assert!(w.view(I::accountHealthCall { account: ALICE }).equity >= equity_before);
    // A non-settlement seizure is a liquidation step: one per account per block.
    reverts(
        &w.seize(CAROL, ALICE, WETH, usdc(1)),
        E::LiquidationAlreadyThisBlock { account: ALICE },
    );
    assert_eq!(w.view(I::liquidatedNotionalThisBlockCall {}), U256::from(1_000 * E18));
    assert_ledgers_balance(&mut w);
}

#[test]
fn bad_debt_is_covered_by_the_fund_then_socialised_pro_rata() {
    let mut w = World::new();
    w.open_positions();
    let (step, root, proof) = w.make_alice_liquidatable();
    // Penalty min(500, 300 * 5/10) = 150: 75 to the fund.
    let out = w.liquidate(CAROL, &step, root, &proof);
    ok(&out);
    assert_eq!(out.logs[3].0[0], Ev::InsuranceFundCredited::SIGNATURE_HASH);
    assert_eq!(w.view(I::settlementStateCall {}).insuranceFund, U256::from(75 * E18));
    // Dave owes 100 and holds nothing: 75 from the fund, 25 spread over positive cash.
    funding(&mut w, DAVE, BOB, 100);
    let before = w.view(I::settlementStateCall {});
    let out = w.send(STRANGER, I::resolveBadDebtCall { account: DAVE });
    ok(&out);
    let e = Ev::BadDebtResolved::decode_raw_log(out.logs[0].0.clone(), &out.logs[0].1).unwrap();
    assert_eq!(e.debt, U256::from(100 * E18));
    assert_eq!(e.coveredByFund, U256::from(75 * E18));
    assert_eq!(e.socialised, U256::from(25 * E18));
    let after = w.view(I::settlementStateCall {});
    assert_eq!(after.insuranceFund, U256::ZERO);
    assert_eq!(after.socialisedLoss, U256::from(25 * E18));
    assert_eq!(after.positiveCashRate, e.positiveCashRate);
    assert!(after.positiveCashRate < U256::from(E18));
    // Positive cash fell by at least the socialised loss, pro rata.
    assert!(before.totalPositiveCash - after.totalPositiveCash >= U256::from(25 * E18));
    assert_eq!(cash_of(&mut w, DAVE), I256::ZERO);
    assert_ledgers_balance(&mut w);
    reverts(
        &w.send(STRANGER, I::resolveBadDebtCall { account: DAVE }),
        E::NoDebt { account: DAVE },
    );
}

#[test]
fn a_loss_above_every_positive_cash_wipes_them_in_a_new_cash_epoch() {
    let mut w = World::new();
    funding(&mut w, ALICE, BOB, 100);
    funding(&mut w, DAVE, ALICE, 500);
    assert_eq!(w.view(I::settlementStateCall {}).totalPositiveCash, U256::from(500 * E18));
    let out = w.send(STRANGER, I::resolveBadDebtCall { account: DAVE });
    ok(&out);
    let e = Ev::BadDebtResolved::decode_raw_log(out.logs[0].0.clone(), &out.logs[0].1).unwrap();
    assert_eq!((e.coveredByFund, e.socialised), (U256::ZERO, U256::from(500 * E18)));
    assert_eq!(e.positiveCashRate, U256::from(E18), "a new epoch starts at par");
    for account in [ALICE, BOB, DAVE] {
        assert_eq!(cash_of(&mut w, account), I256::ZERO, "{account}");
    }
    let state = w.view(I::settlementStateCall {});
    assert_eq!(
        (state.totalPositiveCash, state.socialisedLoss),
        (U256::ZERO, U256::from(500 * E18))
    );
    // New positive cash counts in the new epoch.
    funding(&mut w, CAROL, BOB, 7);
    assert_eq!(cash_of(&mut w, BOB), usd(7));
    assert_ledgers_balance(&mut w);
}
