//! End-to-end rules through the deployed router: collateral in and out (tokens with and without
//! a boolean, and failing ones), margin-gated withdrawals and trades, liquidation gating,
//! governance with its timelock and roles, pause, and the ecrecover precompile path.

mod support;

use alloy_primitives::aliases::U48;
use alloy_primitives::{address, keccak256, Address, Bytes, B256, I256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use margin_types::abi::IMarginEngine as I;
use margin_types::abi::IMarginEngineErrors as E;
use margin_types::abi::IMarginEngineEvents as Ev;
use margin_types::abi::{
    LiquidationStep, MarginReport, ParamChange, PriceReport, ReportBatch, RiskParams, TradeLeg,
};
use margin_types::eip712::{domain_separator, signing_digest, BatchLeaf, SignedStruct};
use margin_types::quorum::encode_signatures;
use margin_types::signer::KeeperSigner;
use support::{Chain, Outcome};

const CHAIN: u64 = 412_346;
const ENGINE: Address = address!("00000000000000000000000000000000c0ffee00");
const ADMIN: Address = address!("000000000000000000000000000000000000a001");
const COUNCIL: Address = address!("000000000000000000000000000000000000a002");
const GUARDIAN: Address = address!("000000000000000000000000000000000000a003");
const VENUE: Address = address!("000000000000000000000000000000000000b001");
const USDC: Address = address!("0000000000000000000000000000000000007001");
const ALICE: Address = address!("00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0000000000000000000000000000000000000b0b");
const CAROL: Address = address!("00000000000000000000000000000000000ca201");
const E18: u128 = 1_000_000_000_000_000_000;
const T0: u64 = 1_700_000_000;

fn keepers() -> Vec<KeeperSigner> {
    (0..3)
        .map(|i| KeeperSigner::from_bytes(&keccak256(format!("scenario keeper {i}"))).unwrap())
        .collect()
}

fn params() -> RiskParams {
    RiskParams {
        liquidationThresholdBps: 10_000,
        liquidationPenaltyBps: 500,
        maxReportAgeBlocks: 50,
        maxPriceAgeBlocks: 50,
        timelockDelay: 3_600,
        liquidationNotionalCapPerBlock: 1_000_000 * E18,
    }
}

fn eth() -> B256 {
    keccak256("ETH-PERP")
}

fn deploy() -> Chain {
    let args = margin_types::abi::encode_constructor_args(
        ADMIN,
        COUNCIL,
        GUARDIAN,
        keepers().iter().map(KeeperSigner::address).collect(),
        2,
        &params(),
        vec![USDC],
        vec![6],
        vec![10_000],
        vec![VENUE],
    );
    let mut chain = Chain::deploy(CHAIN, ENGINE, 100, T0, &args).expect("deploys");
    chain.vm.set_code(USDC, vec![0x60]);
    let out = chain.call(
        ADMIN,
        &I::listInstrumentCall { instrumentId: eth(), spec: Bytes::from_static(b"{}") }
            .abi_encode(),
    );
    assert!(out.result.is_ok());
    chain
}

fn revert(out: &Outcome, error: impl SolError) {
    assert_eq!(out.result, Err(error.abi_encode()), "logs: {:?}", out.logs);
}

fn ok(out: &Outcome) {
    assert!(
        out.result.is_ok(),
        "reverted with 0x{}",
        alloy_primitives::hex::encode(out.result.clone().unwrap_err())
    );
}

/// Posts prices (USDC at $1) and margin reports observed at the current block.
fn post(chain: &mut Chain, reports: &[(Address, i128, u128, u128)], other: Vec<B256>) -> Outcome {
    let block = chain.vm.snapshot().block_number;
    post_at(chain, block, reports, other).0
}

/// Posts prices and margin reports observed at `block`, signed by 2 keepers; returns the
/// outcome and the batch's leaves.
fn post_at(
    chain: &mut Chain,
    block: u64,
    reports: &[(Address, i128, u128, u128)],
    other: Vec<B256>,
) -> (Outcome, Vec<B256>) {
    let observed = U48::from(block);
    let epoch = {
        let out = chain.call(ALICE, &I::riskEpochCall {}.abi_encode());
        u32::try_from(U256::from_be_slice(&out.result.unwrap())).unwrap()
    };
    let prices = vec![PriceReport { asset: USDC, price: E18, observedBlock: observed }];
    let reports: Vec<MarginReport> = reports
        .iter()
        .map(|&(account, pv, im, mm)| {
            let nonce = nonce_of(chain, account);
            MarginReport {
                account,
                positionsNonce: nonce,
                riskEpoch: epoch,
                observedBlock: observed,
                portfolioValue: pv,
                initialMargin: im,
                maintenanceMargin: mm,
            }
        })
        .collect();
    let mut leaves: Vec<B256> = prices.iter().map(|p| p.leaf_hash()).collect();
    leaves.extend(reports.iter().map(|r| r.leaf_hash()));
    leaves.extend(other.iter().copied());
    let batch = ReportBatch {
        root: margin_types::merkle::root(&leaves),
        observedBlock: observed,
        riskEpoch: epoch,
        count: leaves.len() as u32,
    };
    let digest = signing_digest(&domain_separator(U256::from(CHAIN), ENGINE), &batch.struct_hash());
    let signatures = encode_signatures(
        keepers().iter().take(2).map(|k| (k.address(), k.sign_digest(&digest).unwrap())).collect(),
    );
    let out = chain.call(
        CAROL,
        &I::postBatchCall {
            batch,
            signatures: signatures.into(),
            prices,
            reports,
            otherLeaves: other,
        }
        .abi_encode(),
    );
    (out, leaves)
}

fn nonce_of(chain: &mut Chain, account: Address) -> U48 {
    let out = chain.call(ALICE, &I::accountStateCall { account }.abi_encode());
    I::accountStateCall::abi_decode_returns(&out.result.unwrap()).unwrap().positionsNonce
}

fn deposit(chain: &mut Chain, who: Address, amount: u128, token_returns: Vec<u8>) -> Outcome {
    let call = I::depositCall { asset: USDC, amount: U256::from(amount) }.abi_encode();
    let transfer =
        margin_engine_stylus::vault::transfer_from_calldata(who, ENGINE, U256::from(amount));
    chain.call_mocked(who, &call, |vm| vm.mock_call(USDC, transfer, U256::ZERO, Ok(token_returns)))
}

fn word(v: u64) -> Vec<u8> {
    U256::from(v).to_be_bytes::<32>().to_vec()
}

fn trade(chain: &mut Chain, size: i128, cash: i128) -> Outcome {
    // ALICE buys `size` from BOB for `cash`.
    let mut legs = vec![
        TradeLeg { account: ALICE, instrumentId: eth(), sizeDelta: size, cashDelta: -cash },
        TradeLeg { account: BOB, instrumentId: eth(), sizeDelta: -size, cashDelta: cash },
    ];
    legs.sort_by_key(|l| (l.instrumentId, l.account));
    chain.call(VENUE, &I::settleTradeCall { legs }.abi_encode())
}

#[test]
fn deposits_accept_no_bool_tokens_and_refuse_false_or_reverting_ones() {
    let mut chain = deploy();
    let out = deposit(&mut chain, ALICE, 1_000_000, word(1));
    ok(&out);
    let expected =
        Ev::CollateralDeposited { account: ALICE, asset: USDC, amount: U256::from(1_000_000) }
            .encode_log_data();
    assert_eq!(out.logs, vec![(expected.topics().to_vec(), expected.data.to_vec())]);
    ok(&deposit(&mut chain, ALICE, 5, Vec::new())); // no boolean
    revert(&deposit(&mut chain, ALICE, 5, word(0)), E::TokenTransferFailed { token: USDC });
    let call = I::depositCall { asset: USDC, amount: U256::from(7) }.abi_encode();
    let transfer =
        margin_engine_stylus::vault::transfer_from_calldata(ALICE, ENGINE, U256::from(7));
    let out =
        chain.call_mocked(ALICE, &call, |vm| vm.mock_call(USDC, transfer, U256::ZERO, Err(vec![])));
    revert(&out, E::TokenTransferFailed { token: USDC });
    revert(&deposit(&mut chain, ALICE, 0, word(1)), E::ZeroAmount {});
    let other = Address::repeat_byte(9);
    revert(
        &chain.call(ALICE, &I::depositCall { asset: other, amount: U256::from(1) }.abi_encode()),
        E::AssetNotListed { asset: other },
    );
    let balance =
        chain.call(ALICE, &I::collateralBalanceCall { account: ALICE, asset: USDC }.abi_encode());
    assert_eq!(balance.result, Ok(word(1_000_005)));
}

#[test]
fn withdrawals_and_trades_are_gated_by_fresh_margin() {
    let mut chain = deploy();
    ok(&deposit(&mut chain, ALICE, 10_000_000_000, word(1))); // $10,000
    ok(&deposit(&mut chain, BOB, 10_000_000_000, word(1)));
    // No position yet: withdrawals need no report.
    let w = |amount: u64| I::withdrawCall { asset: USDC, amount: U256::from(amount) }.abi_encode();
    let transfer = |to: Address, amount: u64| {
        margin_engine_stylus::vault::transfer_calldata(to, U256::from(amount))
    };
    let out = chain.call_mocked(ALICE, &w(1_000_000), |vm| {
        vm.mock_call(USDC, transfer(ALICE, 1_000_000), U256::ZERO, Ok(word(1)))
    });
    ok(&out);
    revert(
        &chain.call(ALICE, &w(u64::MAX)),
        E::InsufficientCollateral {
            account: ALICE,
            asset: USDC,
            balance: U256::from(9_999_000_000u64),
            amount: U256::from(u64::MAX),
        },
    );
    // Opening a position needs a fresh report.
    // Legs run in (instrument, account) order: BOB's address sorts first.
    revert(&trade(&mut chain, E18 as i128, 0), E::NoFreshReport { account: BOB });
    ok(&post(
        &mut chain,
        &[(ALICE, 0, 2_000 * E18, 1_000 * E18), (BOB, 0, 2_000 * E18, 1_000 * E18)],
        vec![],
    ));
    ok(&trade(&mut chain, E18 as i128, 0));
    assert_eq!(nonce_of(&mut chain, ALICE), U48::from(1));
    // The report is for nonce 0 now: withdrawing needs a new one.
    revert(&chain.call(ALICE, &w(1)), E::NoFreshReport { account: ALICE });
    chain.at(101, T0 + 12);
    ok(&post(&mut chain, &[(ALICE, -500 * E18 as i128, 9_000 * E18, 8_000 * E18)], vec![]));
    // Equity 9,999 - 500 = 9,499; withdrawing 500 leaves 8,999 < 9,000.
    let equity = I256::try_from(8_999i64).unwrap() * I256::try_from(E18).unwrap();
    revert(
        &chain.call(ALICE, &w(500_000_000)),
        E::BelowInitialMargin { account: ALICE, equity, initialMargin: U256::from(9_000 * E18) },
    );
    let out = chain.call_mocked(ALICE, &w(499_000_000), |vm| {
        vm.mock_call(USDC, transfer(ALICE, 499_000_000), U256::ZERO, Ok(word(1)))
    });
    ok(&out);
    // Stale prices block it too.
    chain.at(200, T0 + 1_200);
    revert(&chain.call(ALICE, &w(1)), E::NoFreshReport { account: ALICE });
}

#[test]
fn liquidation_is_gated_per_block_and_pays_the_penalty() {
    let mut chain = deploy();
    ok(&deposit(&mut chain, ALICE, 1_000_000_000, word(1))); // $1,000
    ok(&deposit(&mut chain, BOB, 100_000_000_000, word(1))); // $100,000
    ok(&deposit(&mut chain, CAROL, 100_000_000_000, word(1)));
    ok(&post_at(
        &mut chain,
        99,
        &[
            (ALICE, 0, 500 * E18, 400 * E18),
            (BOB, 0, 500 * E18, 400 * E18),
            (CAROL, 0, 100 * E18, 100 * E18),
        ],
        vec![],
    )
    .0);
    ok(&trade(&mut chain, 10 * E18 as i128, 0)); // ALICE long 10 at block 100
    let step = |block: u64, nonce: u64| LiquidationStep {
        account: ALICE,
        positionsNonce: U48::from(nonce),
        riskEpoch: 0,
        observedBlock: U48::from(block),
        instrumentId: eth(),
        size: -(2 * E18 as i128),
        markPrice: 100 * E18,
    };
    // Equity 1,000 - 800 = 200 < maintenance 400.
    let s1 = step(100, 1);
    let (out, leaves) = post_at(
        &mut chain,
        100,
        &[(ALICE, -800 * E18 as i128, 500 * E18, 400 * E18)],
        vec![s1.leaf_hash()],
    );
    ok(&out);
    let root1 = margin_types::merkle::root(&leaves);
    let proof1 = margin_types::merkle::proof(&leaves, 2).unwrap();
    let liq = |s: &LiquidationStep, root: B256, proof: &[B256]| {
        I::liquidateCall { step: s.clone(), root, proof: proof.to_vec() }.abi_encode()
    };
    chain.at(101, T0 + 12);
    revert(&chain.call(ALICE, &liq(&s1, root1, &proof1)), E::SelfLiquidation { account: ALICE });
    revert(
        &chain.call(CAROL, &liq(&s1, root1, &[])),
        E::InvalidProof { root: root1, leaf: s1.leaf_hash() },
    );
    let out = chain.call(CAROL, &liq(&s1, root1, &proof1));
    ok(&out);
    // notional 200, penalty 10 (under the closed share of equity, 200 * 2/10): ALICE cash
    // +200 - 10, CAROL -200 + 5, the insurance fund 5.
    let names: Vec<B256> = out.logs.iter().map(|l| l.0[0]).collect();
    assert_eq!(
        names,
        vec![
            Ev::PositionChanged::SIGNATURE_HASH,
            Ev::PositionChanged::SIGNATURE_HASH,
            Ev::LiquidationExecuted::SIGNATURE_HASH,
            Ev::InsuranceFundCredited::SIGNATURE_HASH
        ]
    );
    let state = I::accountStateCall::abi_decode_returns(
        &chain.call(ALICE, &I::accountStateCall { account: ALICE }.abi_encode()).result.unwrap(),
    )
    .unwrap();
    assert_eq!(state.cash, I256::try_from(190 * E18).unwrap());
    assert_eq!(state.positionsNonce, U48::from(2));
    assert_eq!(state.lastLiquidationBlock, U48::from(101));
    let used = chain.call(ALICE, &I::liquidatedNotionalThisBlockCall {}.abi_encode());
    assert_eq!(used.result, Ok(U256::from(200 * E18).to_be_bytes::<32>().to_vec()));
    // Replaying the step: its nonce is spent.
    revert(
        &chain.call(CAROL, &liq(&s1, root1, &proof1)),
        E::NonceMismatch { account: ALICE, expected: U48::from(2), provided: U48::from(1) },
    );
    // A second step in the same block is refused, in the next block it runs.
    let s2 = step(101, 2);
    let (out, leaves) = post_at(
        &mut chain,
        101,
        &[(ALICE, -800 * E18 as i128, 500 * E18, 400 * E18), (CAROL, 0, 100 * E18, 100 * E18)],
        vec![s2.leaf_hash()],
    );
    ok(&out);
    let (root2, proof2) =
        (margin_types::merkle::root(&leaves), margin_types::merkle::proof(&leaves, 3).unwrap());
    // The liquidator's nonce moved too: it needed that new report.
    revert(
        &chain.call(CAROL, &liq(&s2, root2, &proof2)),
        E::LiquidationAlreadyThisBlock { account: ALICE },
    );
    chain.at(102, T0 + 24);
    ok(&chain.call(CAROL, &liq(&s2, root2, &proof2)));
    // Now healthy enough? Report shows equity above maintenance: not liquidatable.
    let s3 = step(102, 3);
    let (out, leaves) =
        post_at(&mut chain, 102, &[(ALICE, 0, 500 * E18, 400 * E18)], vec![s3.leaf_hash()]);
    ok(&out);
    let (root3, proof3) =
        (margin_types::merkle::root(&leaves), margin_types::merkle::proof(&leaves, 2).unwrap());
    chain.at(103, T0 + 36);
    let equity = I256::try_from(1_000 * E18 + 380 * E18).unwrap();
    revert(
        &chain.call(CAROL, &liq(&s3, root3, &proof3)),
        E::NotLiquidatable {
            account: ALICE,
            equity,
            maintenanceRequirement: U256::from(400 * E18),
        },
    );
}

#[test]
fn governance_tightens_at_once_and_loosens_behind_the_timelock() {
    let mut chain = deploy();
    let propose = |kind: u8, target: Address, value: u64| {
        I::proposeChangeCall { change: ParamChange { kind, target, value: U256::from(value) } }
            .abi_encode()
    };
    // Tightening: the council may, at once.
    let out = chain.call(COUNCIL, &propose(2, Address::ZERO, 12_000));
    ok(&out);
    assert_eq!(
        I::riskParamsCall::abi_decode_returns(
            &chain.call(ALICE, &I::riskParamsCall {}.abi_encode()).result.unwrap()
        )
        .unwrap()
        .liquidationThresholdBps,
        12_000
    );
    // Loosening: admin only, queued.
    revert(
        &chain.call(COUNCIL, &propose(2, Address::ZERO, 11_000)),
        E::NotAdmin { caller: COUNCIL },
    );
    let out = chain.call(ADMIN, &propose(2, Address::ZERO, 11_000));
    ok(&out);
    let (id, applied) = {
        let r = I::proposeChangeCall::abi_decode_returns(&out.result.unwrap()).unwrap();
        (r.changeId, r.applied)
    };
    assert!(!applied);
    let eta = T0 + 3_600;
    let exec = I::executeChangeCall {
        change: ParamChange { kind: 2, target: Address::ZERO, value: U256::from(11_000) },
        eta,
    }
    .abi_encode();
    revert(&chain.call(ALICE, &exec), E::TimelockNotElapsed { changeId: id, eta });
    revert(
        &chain.call(ADMIN, &propose(2, Address::ZERO, 11_000)),
        E::ChangeAlreadyQueued { changeId: id },
    );
    chain.at(150, eta);
    ok(&chain.call(ALICE, &exec));
    revert(&chain.call(ALICE, &exec), E::ChangeNotQueued { changeId: id });
    // Bounds, kinds, roles, pause.
    revert(
        &chain.call(COUNCIL, &propose(2, Address::ZERO, 20_001)),
        E::ParameterOutOfBounds {
            kind: 2,
            value: U256::from(20_001),
            min: U256::from(10_000),
            max: U256::from(20_000),
        },
    );
    revert(&chain.call(ADMIN, &propose(21, Address::ZERO, 0)), E::UnknownChangeKind { kind: 21 });
    revert(
        &chain.call(ALICE, &I::pauseCall {}.abi_encode()),
        E::NotPauseGuardianOrAdmin { caller: ALICE },
    );
    ok(&chain.call(GUARDIAN, &I::pauseCall {}.abi_encode()));
    revert(
        &chain.call(GUARDIAN, &I::unpauseCall {}.abi_encode()),
        E::NotAdmin { caller: GUARDIAN },
    );
    revert(&trade(&mut chain, 1, 0), E::EnginePaused {});
    revert(
        &chain.call(ALICE, &I::settleTradeCall { legs: vec![] }.abi_encode()),
        E::NotVenue { caller: ALICE },
    );
    ok(&chain.call(ADMIN, &I::unpauseCall {}.abi_encode()));
    revert(&chain.call(VENUE, &I::settleTradeCall { legs: vec![] }.abi_encode()), E::EmptyTrade {});
    revert(
        &chain.call(ALICE, &I::cancelChangeCall { changeId: id }.abi_encode()),
        E::NotRiskCouncilOrAdmin { caller: ALICE },
    );
    revert(
        &chain.call(
            ALICE,
            &I::listInstrumentCall { instrumentId: eth(), spec: Bytes::new() }.abi_encode(),
        ),
        E::NotAdmin { caller: ALICE },
    );
    revert(
        &chain.call(
            ADMIN,
            &I::listInstrumentCall { instrumentId: eth(), spec: Bytes::new() }.abi_encode(),
        ),
        E::InstrumentAlreadyListed { instrumentId: eth() },
    );
}
