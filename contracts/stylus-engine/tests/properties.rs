//! Property tests over random sequences of user actions (the Solidity twin's invariant handler,
//! `contracts/evm/test/invariant/Invariants.t.sol`): deposits and withdrawals through a mock
//! ERC-20, keeper-signed report batches, venue trades, liquidation steps, governance
//! (propose, execute, cancel) and time. After every call:
//! - collateral is conserved: the engine's balance in each mock token equals the sum of the
//!   accounts' balances the views report, plus for the settlement asset the cash reserve;
//! - positions sum to zero; cash and debt net to zero against the reserve: Σ cash + insurance
//!   fund = cash reserve (at most the reserve once a loss was socialised);
//! - a successful withdrawal by an account with positions left its equity at or above the
//!   initial margin of its (fresh) latest report;
//! - at most one liquidation step per account per block; a step's penalty is at most the closed
//!   share of the account's equity, and no step leaves the liquidator below its maintenance
//!   margin plus 10% (the starting liquidatorMarginBps) of the notional it took over;
//! - a seizure never lowers the account's equity;
//! - nothing loosened before its timelock: a loosening difference in the governed state appears
//!   only on the execution of a queued change, at or after its eta (and within the grace period).
//!
//! Deterministic: a fixed ChaCha seed and no failure persistence (the `PROPTEST_*` environment
//! does not change the cases run).

mod support;

use std::cell::RefCell;

use alloy_primitives::aliases::U48;
use alloy_primitives::{address, keccak256, Address, B256, I256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent, SolValue};
use margin_types::abi::IMarginEngine as I;
use margin_types::abi::IMarginEngineErrors as E;
use margin_types::abi::IMarginEngineEvents as Ev;
use margin_types::abi::{LiquidationStep, MarginReport, ParamChange, PriceReport, ReportBatch};
use margin_types::eip712::BatchLeaf;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use support::fixture::*;

const ACTORS: [Address; 4] = [ALICE, BOB, CAROL, DAVE];
const TOKENS: [Address; 2] = [USDC, WETH];
const VENUE2: Address = address!("000000000000000000000000000000000000b002");
const CASES: u32 = 128;
/// Cash units per USDC unit (1e18 / 1e6).
const SCALE: u128 = 1_000_000_000_000;
const SEED: [u8; 32] = *b"stylus margin engine properties!";

fn instrument(i: usize) -> B256 {
    if i.is_multiple_of(2) {
        eth_perp()
    } else {
        btc_perp()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Deposit {
        actor: usize,
        token: usize,
        amount: u128,
        mint: bool,
    },
    Withdraw {
        actor: usize,
        token: usize,
        amount: u128,
    },
    Report {
        pv: u64,
        price: u64,
    },
    Trade {
        buyer: usize,
        seller: usize,
        instrument: usize,
        size: u128,
        cash: i128,
    },
    Liquidate {
        account: usize,
        liquidator: usize,
        instrument: usize,
        part: u128,
        mark: u128,
        pv: u64,
        /// Blocks to advance first.
        pre: u64,
        /// How many blocks before the current one the batch is observed.
        lag: u64,
    },
    Propose {
        council: bool,
        kind: usize,
        value: u64,
    },
    Execute {
        index: usize,
    },
    Cancel {
        index: usize,
    },
    Advance {
        blocks: u64,
        seconds: u64,
    },
    WithdrawCash {
        actor: usize,
        amount: u128,
    },
    RepayDebt {
        actor: usize,
        amount: u128,
    },
    /// A report showing `account` liquidatable (portfolio value `pv` below zero), then a seizure
    /// of the asset the planner names, by `liquidator`.
    Seize {
        account: usize,
        liquidator: usize,
        amount: u128,
        pv: u64,
    },
    ResolveBadDebt {
        actor: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let actor = 0..ACTORS.len();
    prop_oneof![
        4 => (actor.clone(), 0..2usize, any::<u128>(), prop::bool::weighted(0.9))
            .prop_map(|(actor, token, amount, mint)| Op::Deposit { actor, token, amount, mint }),
        3 => (actor.clone(), 0..2usize, any::<u128>())
            .prop_map(|(actor, token, amount)| Op::Withdraw { actor, token, amount }),
        4 => (any::<u64>(), any::<u64>()).prop_map(|(pv, price)| Op::Report { pv, price }),
        5 => (actor.clone(), actor.clone(), 0..2usize, any::<u128>(), any::<i128>()).prop_map(
            |(buyer, seller, instrument, size, cash)| Op::Trade { buyer, seller, instrument, size, cash }
        ),
        3 => (actor.clone(), actor, 0..2usize, any::<u128>(), any::<u128>(), any::<u64>(), 0..4u64)
            .prop_map(|(account, liquidator, instrument, part, mark, pv, lag)| Op::Liquidate {
                account,
                liquidator,
                instrument,
                part,
                mark,
                pv,
                pre: lag >> 1,
                lag: lag & 1,
            }),
        3 => (any::<bool>(), 0..11usize, any::<u64>())
            .prop_map(|(council, kind, value)| Op::Propose { council, kind, value }),
        3 => any::<usize>().prop_map(|index| Op::Execute { index }),
        1 => any::<usize>().prop_map(|index| Op::Cancel { index }),
        3 => prop_oneof![
            9 => (0..20u64, 0..7_200u64),
            1 => (0..3u64, 0..(15 * 86_400u64)),
        ]
        .prop_map(|(blocks, seconds)| Op::Advance { blocks, seconds }),
        2 => (0..ACTORS.len(), any::<u128>())
            .prop_map(|(actor, amount)| Op::WithdrawCash { actor, amount }),
        2 => (0..ACTORS.len(), any::<u128>())
            .prop_map(|(actor, amount)| Op::RepayDebt { actor, amount }),
        3 => (0..ACTORS.len(), 0..ACTORS.len(), any::<u128>(), any::<u64>())
            .prop_map(|(account, liquidator, amount, pv)| Op::Seize { account, liquidator, amount, pv }),
        1 => (0..ACTORS.len()).prop_map(|actor| Op::ResolveBadDebt { actor }),
    ]
}

/// The governed state, read through the views.
#[derive(Clone, Debug, PartialEq)]
struct Gov {
    params: (u16, u16, u32, u32, u32, u128),
    weights: [u16; 2],
    quorum: u8,
    keepers: usize,
    venue2: bool,
    roles: (Address, Address, Address),
}

impl Gov {
    fn read(w: &mut World) -> Self {
        let p = w.view(I::riskParamsCall {});
        let roles = w.view(I::rolesCall {});
        Self {
            params: (
                p.liquidationThresholdBps,
                p.liquidationPenaltyBps,
                p.maxReportAgeBlocks,
                p.maxPriceAgeBlocks,
                p.timelockDelay,
                p.liquidationNotionalCapPerBlock,
            ),
            weights: TOKENS.map(|asset| w.view(I::collateralInfoCall { asset }).weightBps),
            quorum: w.view(I::quorumCall {}),
            keepers: w.view(I::keepersCall {}).len(),
            venue2: w.view(I::isVenueCall { venue: VENUE2 }),
            roles: (roles.admin, roles.riskCouncil, roles.pauseGuardian),
        }
    }

    /// What moved in the loosening direction (the interface's kinds: weight up, threshold down,
    /// penalty or cap changed, ages up, timelock down, quorum down, keepers or venues added,
    /// roles changed).
    fn loosened(&self, after: &Gov) -> Vec<&'static str> {
        let (b, a) = (&self.params, &after.params);
        let mut out = Vec::new();
        if after.weights.iter().zip(&self.weights).any(|(a, b)| a > b) {
            out.push("collateral weight raised");
        }
        if a.0 < b.0 {
            out.push("liquidation threshold lowered");
        }
        if a.1 != b.1 {
            out.push("liquidation penalty changed");
        }
        if a.2 > b.2 || a.3 > b.3 {
            out.push("max report/price age raised");
        }
        if a.4 < b.4 {
            out.push("timelock shortened");
        }
        if a.5 != b.5 {
            out.push("notional cap changed");
        }
        if after.quorum < self.quorum {
            out.push("quorum lowered");
        }
        if after.keepers > self.keepers || (after.venue2 && !self.venue2) {
            out.push("keeper or venue added");
        }
        if after.roles != self.roles {
            out.push("role changed");
        }
        out
    }
}

#[derive(Clone, Debug)]
struct Queued {
    change: ParamChange,
    eta: u64,
    id: B256,
}

/// How often each action succeeded over the whole run (the run must exercise every one).
#[derive(Default, Debug)]
struct Tally {
    deposits: u32,
    withdrawals_with_positions: u32,
    batches: u32,
    trades: u32,
    liquidations: u32,
    second_steps_refused: u32,
    applied_at_once: u32,
    queued: u32,
    executed: u32,
    cancelled: u32,
    cash_withdrawals: u32,
    repayments: u32,
    seizures: u32,
}

struct Run<'a> {
    w: World,
    queue: Vec<Queued>,
    last_step: [u64; 4],
    tally: &'a RefCell<Tally>,
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(fail(format!($($fmt)*)));
        }
    };
}

impl Run<'_> {
    fn new(tally: &RefCell<Tally>) -> Run<'_> {
        let mut w = World::new();
        // A starting point where most actions can succeed: everyone funded, priced, reported.
        for (i, &a) in ACTORS.iter().enumerate() {
            w.fund(a, USDC, U256::from(20_000_000_000u64 + 1_000_000 * i as u64));
            w.fund(a, WETH, U256::from(5 * E18));
        }
        let mut run = Run { w, queue: Vec::new(), last_step: [0; 4], tally };
        run.post_reports(0, 0, 0);
        // Positions to liquidate from the start: Alice long 3 ETH-PERP (Bob short), Carol long
        // 2 BTC-PERP (Dave short); then fresh reports for the new nonces.
        let legs = vec![
            pair(ALICE, BOB, eth_perp(), 3 * E18 as i128, 0),
            pair(CAROL, DAVE, btc_perp(), 2 * E18 as i128, 0),
        ];
        for legs in legs {
            ok(&run.w.settle(legs));
        }
        run.w.advance(1);
        run.post_reports(1, 1, 0);
        run
    }

    fn observed(&self, lag: u64) -> U48 {
        U48::from(self.w.block().saturating_sub(lag))
    }

    fn margin_report(
        &mut self,
        account: Address,
        pv: i128,
        mm: u128,
        observed: U48,
    ) -> MarginReport {
        MarginReport {
            account,
            positionsNonce: self.w.nonce(account),
            riskEpoch: self.w.epoch(),
            observedBlock: observed,
            portfolioValue: pv,
            initialMargin: mm + mm / 4,
            maintenanceMargin: mm,
        }
    }

    /// Posts prices, reports and other leaves observed `lag` blocks ago, signed by a quorum.
    fn post(
        &mut self,
        prices: Vec<PriceReport>,
        reports: Vec<MarginReport>,
        others: Vec<B256>,
        observed: U48,
    ) -> (bool, B256, Vec<B256>) {
        let all = leaves(&prices, &reports, &others);
        let batch = ReportBatch {
            root: margin_types::merkle::root(&all),
            observedBlock: observed,
            riskEpoch: self.w.epoch(),
            count: all.len() as u32,
        };
        let quorum = usize::from(self.w.view(I::quorumCall {}));
        let signatures = self.w.sigs(&batch, quorum).into();
        let call = I::postBatchCall {
            batch: batch.clone(),
            signatures,
            prices,
            reports,
            otherLeaves: others,
        };
        let posted = self.w.send(STRANGER, call).result.is_ok();
        if posted {
            self.tally.borrow_mut().batches += 1;
        }
        (posted, batch.root, all)
    }

    fn post_reports(&mut self, pv_seed: u64, price_seed: u64, lag: u64) {
        let observed = self.observed(lag);
        let usdc_price = E18 - E18 / 100 + u128::from(price_seed) % (E18 / 50);
        let weth_price = 1_000 * E18 + u128::from(price_seed >> 16) * E18 % (2_000 * E18);
        let prices = vec![
            PriceReport { asset: USDC, price: usdc_price, observedBlock: observed },
            PriceReport { asset: WETH, price: weth_price, observedBlock: observed },
        ];
        let mut reports = Vec::new();
        for (i, &a) in ACTORS.iter().enumerate() {
            let s = keccak256((pv_seed, i as u64).abi_encode());
            let x = u128::from_be_bytes(s[..16].try_into().unwrap());
            let y = u128::from_be_bytes(s[16..].try_into().unwrap());
            let pv = (x % (6_000 * E18)) as i128 - 3_000 * E18 as i128;
            let mm = y % (2_500 * E18);
            reports.push(self.margin_report(a, pv, mm, observed));
        }
        self.post(prices, reports, vec![], observed);
    }

    /// Runs one action and checks what it must not break.
    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before = Gov::read(&mut self.w);
        let mut executed: Option<Queued> = None;
        match *op {
            Op::Deposit { actor, token, amount, mint } => {
                let (a, t) = (ACTORS[actor], TOKENS[token]);
                let cap = if t == USDC { 50_000_000_000u128 } else { 20 * E18 };
                let amount = U256::from(1 + amount % cap);
                if mint {
                    self.w.mint(t, a, amount);
                }
                if self.w.deposit(a, t, amount).result.is_ok() {
                    self.tally.borrow_mut().deposits += 1;
                }
            }
            Op::Withdraw { actor, token, amount } => {
                let (a, t) = (ACTORS[actor], TOKENS[token]);
                let balance = self.w.view(I::collateralBalanceCall { account: a, asset: t });
                // 1 to one more than the balance.
                let amount = (U256::from(amount) % (balance + U256::from(1))).max(U256::from(1))
                    + U256::from(u128::from(amount % 7 == 0));
                if self.w.withdraw(a, t, amount).result.is_ok() && !self.w.nonce(a).is_zero() {
                    self.tally.borrow_mut().withdrawals_with_positions += 1;
                    let h = self.w.view(I::accountHealthCall { account: a });
                    check!(
                        h.reportFresh && h.pricesFresh && h.equity >= signed(h.initialMargin),
                        "withdrawal of {amount} {t} by {a} left {h:?}"
                    );
                }
            }
            Op::Report { pv, price } => self.post_reports(pv, price, 0),
            Op::Trade { buyer, seller, instrument: i, size, cash } => {
                let seller = if seller == buyer { (seller + 1) % ACTORS.len() } else { seller };
                let size = (1 + size % (5 * E18)) as i128;
                let cash = cash % (10_000 * E18 as i128);
                let legs = pair(ACTORS[buyer], ACTORS[seller], instrument(i), size, cash);
                if self.w.settle(legs).result.is_ok() {
                    self.tally.borrow_mut().trades += 1;
                }
            }
            Op::Liquidate { account, liquidator, instrument: i, part, mark, pv, pre, lag } => {
                if pre > 0 {
                    let (b, t) = (self.w.block(), self.w.now());
                    self.w.chain.at(b + pre, t + 12 * pre);
                }
                // The first (account, instrument) from the drawn ones with a position.
                let found = (0..8).map(|k| ((account + k / 2) % 4, (i + k) % 2)).find(|&(a, i)| {
                    let call =
                        I::positionOfCall { account: ACTORS[a], instrumentId: instrument(i) };
                    !self.w.view(call).is_zero()
                });
                let Some((account, i)) = found else {
                    return self.check_all(op, &before, None);
                };
                let liquidator =
                    if liquidator == account { (liquidator + 1) % 4 } else { liquidator };
                let stepped = self.try_step(account, liquidator, i, part, mark, pv, lag)?;
                // After a step on a report of the previous block, a report for the account's
                // new nonce in this block and a second step (another liquidator): refused.
                if stepped && lag > 0 {
                    let other = (0..4).find(|&k| k != account && k != liquidator).unwrap();
                    self.try_step(account, other, i, part >> 1, mark, pv, 0)?;
                }
            }
            Op::Propose { council, kind, value } => {
                let change = propose_change(kind, value);
                let by = if council { COUNCIL } else { ADMIN };
                let delay = u64::from(self.w.view(I::riskParamsCall {}).timelockDelay);
                let eta = self.w.now() + delay;
                let out = self.w.propose(by, change.clone());
                if let Ok(data) = &out.result {
                    let r = I::proposeChangeCall::abi_decode_returns(data).unwrap();
                    if r.applied {
                        self.tally.borrow_mut().applied_at_once += 1;
                    } else {
                        let id = keccak256(
                            (U256::from(change.kind), change.target, change.value, U256::from(eta))
                                .abi_encode(),
                        );
                        check!(
                            r.changeId == id,
                            "queued id {} for {change:?} at eta {eta}",
                            r.changeId
                        );
                        check!(by == ADMIN, "the council queued {change:?}");
                        let stored = self.w.view(I::queuedChangeEtaCall { changeId: id });
                        check!(stored == eta, "queued eta {stored}, expected {eta}");
                        self.queue.push(Queued { change, eta, id });
                        self.tally.borrow_mut().queued += 1;
                    }
                }
            }
            Op::Execute { index } => {
                if !self.queue.is_empty() {
                    let k = index % self.queue.len();
                    let q = self.queue[k].clone();
                    let call = I::executeChangeCall { change: q.change.clone(), eta: q.eta };
                    if self.w.send(STRANGER, call).result.is_ok() {
                        let now = self.w.now();
                        check!(
                            now >= q.eta && now <= q.eta + GRACE_PERIOD,
                            "{:?} executed at {now}, eta {}",
                            q.change,
                            q.eta
                        );
                        self.queue.remove(k);
                        self.tally.borrow_mut().executed += 1;
                        executed = Some(q);
                    }
                }
            }
            Op::Cancel { index } => {
                if !self.queue.is_empty() {
                    let k = index % self.queue.len();
                    let id = self.queue[k].id;
                    if self.w.send(COUNCIL, I::cancelChangeCall { changeId: id }).result.is_ok() {
                        self.queue.remove(k);
                        self.tally.borrow_mut().cancelled += 1;
                    }
                }
            }
            Op::Advance { blocks, seconds } => {
                let (b, t) = (self.w.block(), self.w.now());
                self.w.chain.at(b + blocks, t + 12 * blocks + seconds);
            }
            Op::WithdrawCash { actor, amount } => {
                let a = ACTORS[actor];
                let cash = self.w.view(I::accountStateCall { account: a }).cash;
                let units = (cash.max(I256::ZERO).unsigned_abs() / U256::from(SCALE)).to::<u128>();
                let amount = U256::from(1 + amount % (units + 2));
                if self.w.withdraw_cash(a, amount).result.is_ok() {
                    self.tally.borrow_mut().cash_withdrawals += 1;
                    if !self.w.nonce(a).is_zero() {
                        let h = self.w.view(I::accountHealthCall { account: a });
                        check!(
                            h.reportFresh && h.pricesFresh && h.equity >= signed(h.initialMargin),
                            "cash withdrawal of {amount} by {a} left {h:?}"
                        );
                    }
                }
            }
            Op::RepayDebt { actor, amount } => {
                let a = ACTORS[actor];
                let cash = self.w.view(I::accountStateCall { account: a }).cash;
                let units = (cash.min(I256::ZERO).unsigned_abs() / U256::from(SCALE)).to::<u128>();
                let amount = U256::from(1 + amount % (units + 2));
                if self.w.repay(a, amount).result.is_ok() {
                    self.tally.borrow_mut().repayments += 1;
                }
            }
            Op::Seize { account, liquidator, amount, pv } => {
                let (acc, liq) =
                    (ACTORS[account], ACTORS[(liquidator + (liquidator == account) as usize) % 4]);
                let observed = self.observed(0);
                let pv = -((u128::from(pv) % (60_000 * E18)) as i128) - 30_000 * E18 as i128;
                let report = MarginReport {
                    initialMargin: 2_000 * E18,
                    maintenanceMargin: 1_500 * E18,
                    ..self.margin_report(acc, pv, 0, observed)
                };
                self.post(vec![], vec![report], vec![], observed);
                let cash = self.w.view(I::accountStateCall { account: acc }).cash;
                let debt = (cash.min(I256::ZERO).unsigned_abs() / U256::from(SCALE)).to::<u128>();
                let usdc = self.w.view(I::collateralBalanceCall { account: acc, asset: USDC });
                let asset = if usdc.is_zero() { WETH } else { USDC };
                let amount = U256::from(1 + amount % debt.max(1));
                let weth_before =
                    self.w.view(I::collateralBalanceCall { account: acc, asset: WETH });
                let h_before = self.w.view(I::accountHealthCall { account: acc });
                if self.w.seize(liq, acc, asset, amount).result.is_ok() {
                    self.tally.borrow_mut().seizures += 1;
                    // Seizure never lowers the account's equity (the discount is within the haircut).
                    let h = self.w.view(I::accountHealthCall { account: acc });
                    check!(
                        h.equity >= h_before.equity,
                        "seizure lowered equity: {h_before:?} -> {h:?}"
                    );
                    if asset == WETH {
                        let weth =
                            self.w.view(I::collateralBalanceCall { account: acc, asset: WETH });
                        check!(weth < weth_before, "nothing seized");
                    }
                }
            }
            Op::ResolveBadDebt { actor } => {
                let _ = self.w.send(STRANGER, I::resolveBadDebtCall { account: ACTORS[actor] });
            }
        }
        self.check_all(op, &before, executed.as_ref())
    }

    /// One liquidation step of `account` by `liquidator` in `instrument(i)`, with a batch observed
    /// `lag` blocks ago carrying their reports and the step. Returns whether it ran.
    #[allow(clippy::too_many_arguments)]
    fn try_step(
        &mut self,
        account: usize,
        liquidator: usize,
        i: usize,
        part: u128,
        mark: u128,
        pv: u64,
        lag: u64,
    ) -> Result<bool, TestCaseError> {
        let (acc, liq, id) = (ACTORS[account], ACTORS[liquidator], instrument(i));
        let position = self.w.view(I::positionOfCall { account: acc, instrumentId: id });
        if position.is_zero() {
            return Ok(false);
        }
        let abs: u128 = position.unsigned_abs().to();
        let part = 1 + part % abs;
        let size = if position.is_negative() { part as i128 } else { -(part as i128) };
        let mark = 1 + mark % (4_000 * E18);
        // Mostly under water: equity = collateral (about 30,000) + cash + pv.
        let pv = (u128::from(pv) * 1_000_000 % (60_000 * E18)) as i128 - 70_000 * E18 as i128;
        let observed = self.observed(lag);
        let reports = vec![
            MarginReport {
                initialMargin: 2_000 * E18,
                maintenanceMargin: 1_500 * E18,
                ..self.margin_report(acc, pv, 0, observed)
            },
            self.margin_report(liq, 0, 0, observed),
        ];
        let step = LiquidationStep {
            account: acc,
            positionsNonce: self.w.nonce(acc),
            riskEpoch: self.w.epoch(),
            observedBlock: observed,
            instrumentId: id,
            size,
            markPrice: mark,
        };
        let (_, root, all) = self.post(vec![], reports, vec![step.leaf_hash()], observed);
        let proof = margin_types::merkle::proof(&all, 2).unwrap();
        // Before the step: both health views (the reports just posted are fresh if accepted).
        let (acc_before, liq_before) = (
            self.w.view(I::accountHealthCall { account: acc }),
            self.w.view(I::accountHealthCall { account: liq }),
        );
        let fund_before = self.w.view(I::settlementStateCall {}).insuranceFund;
        let out = self.w.liquidate(liq, &step, root, &proof);
        let block = self.w.block();
        if out.result.is_ok() {
            let executed = out
                .logs
                .iter()
                .find(|l| l.0[0] == Ev::LiquidationExecuted::SIGNATURE_HASH)
                .map(|l| Ev::LiquidationExecuted::decode_raw_log(l.0.clone(), &l.1).unwrap())
                .expect("LiquidationExecuted");
            let fund_share = self.w.view(I::settlementStateCall {}).insuranceFund - fund_before;
            // The account gives up at most the closed share of its (liquidation) equity.
            let closed = U256::from(step.size.unsigned_abs());
            let share = if acc_before.equity.is_positive() {
                acc_before.equity.unsigned_abs() * closed / position.unsigned_abs()
            } else {
                U256::ZERO
            };
            check!(
                executed.penalty <= share,
                "penalty {} over the closed share {share}",
                executed.penalty
            );
            // No step leaves the liquidator below maintenance (plus its margin per notional).
            let kept = executed.penalty - fund_share;
            let after = liq_before.equity + signed(kept);
            let requirement = liq_before.maintenanceMargin + executed.notional / U256::from(10);
            check!(
                after >= signed(requirement),
                "liquidator {liq} at {after} after the step, requirement {requirement}"
            );
            self.tally.borrow_mut().liquidations += 1;
            check!(
                self.last_step[account] != block,
                "a second liquidation step of {acc} in block {block}"
            );
            self.last_step[account] = block;
            let state = self.w.view(I::accountStateCall { account: acc });
            check!(state.lastLiquidationBlock == U48::from(block), "last block {state:?}");
            let used = self.w.view(I::liquidatedNotionalThisBlockCall {});
            let cap = self.w.view(I::riskParamsCall {}).liquidationNotionalCapPerBlock;
            check!(used <= U256::from(cap), "used {used} over the cap {cap}");
        }
        let refused = E::LiquidationAlreadyThisBlock { account: acc }.abi_encode();
        if out.result == Err(refused) {
            check!(self.last_step[account] == block, "{acc} refused a first step");
            self.tally.borrow_mut().second_steps_refused += 1;
        }
        Ok(out.result.is_ok())
    }

    /// The invariants that hold after any action.
    fn check_all(
        &mut self,
        op: &Op,
        before: &Gov,
        executed: Option<&Queued>,
    ) -> Result<(), TestCaseError> {
        // Collateral conserved; the settlement asset also backs the cash reserve.
        let state = self.w.view(I::settlementStateCall {});
        for t in TOKENS {
            let mut sum = U256::ZERO;
            for a in ACTORS {
                sum += self.w.view(I::collateralBalanceCall { account: a, asset: t });
            }
            if t == USDC {
                check!(state.cashReserve % U256::from(SCALE) == U256::ZERO, "reserve {state:?}");
                sum += state.cashReserve / U256::from(SCALE);
            }
            let held = self.w.token_balance(t, ENGINE);
            check!(
                held == sum,
                "after {op:?}: the engine holds {held} of {t}, accounts and reserve {sum}"
            );
        }
        // Positions and cash move between parties only.
        for i in 0..2 {
            let mut sum = I256::ZERO;
            for a in ACTORS {
                sum += self.w.view(I::positionOfCall { account: a, instrumentId: instrument(i) });
            }
            check!(sum.is_zero(), "after {op:?}: positions in {} sum to {sum}", instrument(i));
        }
        let mut cash = I256::ZERO;
        for a in ACTORS {
            cash += self.w.view(I::accountStateCall { account: a }).cash;
        }
        let claims = cash + signed(state.insuranceFund);
        let reserve = signed(state.cashReserve);
        if state.positiveCashRate == U256::from(E18) {
            check!(claims == reserve, "after {op:?}: cash + fund {claims}, reserve {reserve}");
        } else {
            check!(claims <= reserve, "after {op:?}: cash + fund {claims} over reserve {reserve}");
        }
        // Nothing loosened except by executing a queued change on time.
        let after = Gov::read(&mut self.w);
        let loosened = before.loosened(&after);
        if !loosened.is_empty() {
            check!(
                executed.is_some(),
                "after {op:?}: {loosened:?} without a timelocked execution ({before:?} -> {after:?})"
            );
        }
        Ok(())
    }
}

fn signed(v: U256) -> I256 {
    I256::try_from(v).unwrap()
}

/// A change of one of the kinds the sequences govern, with a value around its bounds.
fn propose_change(kind: usize, v: u64) -> ParamChange {
    let v128 = u128::from(v);
    let (kind, target, value) = match kind {
        0 => (0, TOKENS[(v & 1) as usize], 8_000 + v128 % 2_101),
        1 => (2, Address::ZERO, 9_900 + v128 % 10_200),
        2 => (3, Address::ZERO, v128 % 1_600),
        3 => (4, Address::ZERO, 10 + v128 % 100),
        4 => (5, Address::ZERO, 10 + v128 % 100),
        5 => (6, Address::ZERO, (1 + v128 % 100_000) * E18),
        6 => (7, Address::ZERO, 30 + v128 % 7_200),
        7 => (8, Address::ZERO, v128 % 7),
        8 => (11, VENUE2, 0),
        9 => (12, VENUE2, 0),
        _ => (16, Address::ZERO, v128 % 2),
    };
    change(kind, target, value)
}

#[test]
fn invariants_hold_over_random_action_sequences() {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let tally = RefCell::new(Tally::default());
    let result = runner.run(&prop::collection::vec(op(), 1..=24), |ops| {
        let mut run = Run::new(&tally);
        let start = Gov::read(&mut run.w);
        run.check_all(&Op::Advance { blocks: 0, seconds: 0 }, &start, None)?;
        for op in &ops {
            run.apply(op)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The run exercised every action (shrinking, if any, only adds to these counts).
    let t = tally.into_inner();
    let exercised = [
        t.deposits,
        t.withdrawals_with_positions,
        t.batches,
        t.trades,
        t.liquidations,
        t.second_steps_refused,
        t.applied_at_once,
        t.queued,
        t.executed,
        t.cancelled,
        t.repayments,
        t.seizures,
    ];
    assert!(exercised.iter().all(|&n| n > 0), "some action never succeeded: {t:?}");
}
