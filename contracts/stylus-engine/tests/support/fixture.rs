//! The Solidity twin's test fixture (`contracts/evm/test/utils/EngineBase.sol`) over [`Chain`]:
//! five keepers (quorum 2), USDC (6 decimals, 98%) and WETH (18 decimals, 90%) as collateral,
//! ETH-PERP and BTC-PERP listed, one venue; helpers that build, sign and post batches, trade,
//! and a mock ERC-20 ledger (`tokens`) that moves balances only when the engine's token call
//! was answered (transfers from a holder without the balance revert).

use std::collections::HashMap;

use alloy_primitives::aliases::U48;
use alloy_primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolError};
use margin_engine_stylus::vault::{transfer_calldata, transfer_from_calldata};
use margin_types::abi::IMarginEngine as I;
use margin_types::abi::{
    LiquidationStep, MarginReport, ParamChange, PriceReport, ReportBatch, RiskParams, TradeLeg,
};
use margin_types::eip712::{domain_separator, signing_digest, BatchLeaf, SignedStruct};
use margin_types::quorum::encode_signatures;
use margin_types::signer::KeeperSigner;

use super::{Chain, Outcome};

pub const CHAIN: u64 = 412_346;
pub const ENGINE: Address = address!("00000000000000000000000000000000c0ffee00");
pub const ADMIN: Address = address!("000000000000000000000000000000000000a001");
pub const COUNCIL: Address = address!("000000000000000000000000000000000000a002");
pub const GUARDIAN: Address = address!("000000000000000000000000000000000000a003");
pub const VENUE: Address = address!("000000000000000000000000000000000000b001");
pub const USDC: Address = address!("0000000000000000000000000000000000007001");
pub const WETH: Address = address!("0000000000000000000000000000000000007002");
pub const ALICE: Address = address!("00000000000000000000000000000000000a11ce");
pub const BOB: Address = address!("0000000000000000000000000000000000000b0b");
pub const CAROL: Address = address!("00000000000000000000000000000000000ca201");
pub const DAVE: Address = address!("000000000000000000000000000000000000da7e");
pub const STRANGER: Address = address!("0000000000000000000000000000000000000bad");
pub const E18: u128 = 1_000_000_000_000_000_000;
pub const START_BLOCK: u64 = 1_000;
pub const START_TIME: u64 = 1_700_000_000;
pub const GRACE_PERIOD: u64 = 14 * 24 * 60 * 60;

pub fn eth_perp() -> B256 {
    keccak256("ETH-PERP")
}

pub fn btc_perp() -> B256 {
    keccak256("BTC-PERP")
}

/// `n` keeper keys, sorted by address (ascending), as the twin's fixture.
pub fn keeper_keys(n: usize) -> Vec<KeeperSigner> {
    let mut keys: Vec<KeeperSigner> = (0..n)
        .map(|i| KeeperSigner::from_bytes(&keccak256(format!("fixture keeper {i}"))).unwrap())
        .collect();
    keys.sort_by_key(KeeperSigner::address);
    keys
}

pub fn params() -> RiskParams {
    RiskParams {
        liquidationThresholdBps: 10_000,
        liquidationPenaltyBps: 500,
        maxReportAgeBlocks: 50,
        maxPriceAgeBlocks: 50,
        timelockDelay: 3_600,
        liquidationNotionalCapPerBlock: 1_000_000 * E18,
    }
}

/// Constructor arguments, the fixture's by default.
#[derive(Clone)]
pub struct Args {
    pub roles: [Address; 3],
    pub keepers: Vec<Address>,
    pub quorum: u8,
    pub params: RiskParams,
    pub assets: Vec<Address>,
    pub decimals: Vec<u8>,
    pub weights: Vec<u16>,
    pub venues: Vec<Address>,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            roles: [ADMIN, COUNCIL, GUARDIAN],
            keepers: keeper_keys(5).iter().map(KeeperSigner::address).collect(),
            quorum: 2,
            params: params(),
            assets: vec![USDC, WETH],
            decimals: vec![6, 18],
            weights: vec![9_800, 9_000],
            venues: vec![VENUE],
        }
    }
}

impl Args {
    pub fn encode(&self) -> Vec<u8> {
        margin_types::abi::encode_constructor_args(
            self.roles[0],
            self.roles[1],
            self.roles[2],
            self.keepers.clone(),
            self.quorum,
            &self.params,
            self.assets.clone(),
            self.decimals.clone(),
            self.weights.clone(),
            self.venues.clone(),
        )
    }

    /// Deploys with these arguments at the fixture's block and time: the constructor's revert
    /// data if it reverts.
    pub fn deploy(&self) -> Result<Chain, Vec<u8>> {
        Chain::deploy(CHAIN, ENGINE, START_BLOCK, START_TIME, &self.encode())
    }
}

/// A deployed engine with the fixture's keepers and a mock ERC-20 ledger for its assets.
pub struct World {
    pub chain: Chain,
    pub keys: Vec<KeeperSigner>,
    /// Mock token balances by (token, holder).
    pub tokens: HashMap<(Address, Address), U256>,
}

impl World {
    /// The twin's `setUp`: deploy, list ETH-PERP and BTC-PERP.
    pub fn new() -> Self {
        let chain = Args::default().deploy().expect("the fixture deploys");
        let mut world = Self { chain, keys: keeper_keys(5), tokens: HashMap::new() };
        for (id, spec) in [(eth_perp(), "ETH"), (btc_perp(), "BTC")] {
            let call = I::listInstrumentCall { instrumentId: id, spec: Bytes::from(spec) };
            ok(&world.call(ADMIN, &call.abi_encode()));
        }
        world
    }

    pub fn call(&mut self, sender: Address, calldata: &[u8]) -> Outcome {
        self.chain.call(sender, calldata)
    }

    /// Calls as `sender`, ABI-encoding `call`.
    pub fn send(&mut self, sender: Address, call: impl SolCall) -> Outcome {
        self.chain.call(sender, &call.abi_encode())
    }

    /// A view's decoded return.
    pub fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = self.chain.call(STRANGER, &call.abi_encode());
        let data = out.result.unwrap_or_else(|e| panic!("view reverted: 0x{}", hex(&e)));
        C::abi_decode_returns(&data).expect("view return decodes")
    }

    pub fn block(&self) -> u64 {
        self.chain.vm.snapshot().block_number
    }

    pub fn now(&self) -> u64 {
        self.chain.vm.snapshot().block_timestamp
    }

    /// `blocks` blocks later, 12 seconds each.
    pub fn advance(&mut self, blocks: u64) {
        let (b, t) = (self.block(), self.now());
        self.chain.at(b + blocks, t + 12 * blocks);
    }

    /// To `timestamp`, same block.
    pub fn warp(&mut self, timestamp: u64) {
        let b = self.block();
        self.chain.at(b, timestamp);
    }

    pub fn epoch(&mut self) -> u32 {
        self.view(I::riskEpochCall {})
    }

    pub fn nonce(&mut self, account: Address) -> U48 {
        self.view(I::accountStateCall { account }).positionsNonce
    }

    pub fn price(&self, asset: Address, price: u128) -> PriceReport {
        PriceReport { asset, price, observedBlock: U48::from(self.block()) }
    }

    pub fn report(&mut self, account: Address, pv: i128, im: u128, mm: u128) -> MarginReport {
        MarginReport {
            account,
            positionsNonce: self.nonce(account),
            riskEpoch: self.epoch(),
            observedBlock: U48::from(self.block()),
            portfolioValue: pv,
            initialMargin: im,
            maintenanceMargin: mm,
        }
    }

    pub fn step(&mut self, account: Address, id: B256, size: i128, mark: u128) -> LiquidationStep {
        LiquidationStep {
            account,
            positionsNonce: self.nonce(account),
            riskEpoch: self.epoch(),
            observedBlock: U48::from(self.block()),
            instrumentId: id,
            size,
            markPrice: mark,
        }
    }

    pub fn batch_for(&mut self, leaves: &[B256]) -> ReportBatch {
        ReportBatch {
            root: margin_types::merkle::root(leaves),
            observedBlock: U48::from(self.block()),
            riskEpoch: self.epoch(),
            count: leaves.len() as u32,
        }
    }

    /// Signatures of `batch` by the given keys (encoded in ascending signer order).
    pub fn sign_with(&self, batch: &ReportBatch, keys: &[&KeeperSigner]) -> Vec<u8> {
        let digest =
            signing_digest(&domain_separator(U256::from(CHAIN), ENGINE), &batch.struct_hash());
        encode_signatures(
            keys.iter().map(|k| (k.address(), k.sign_digest(&digest).unwrap())).collect(),
        )
    }

    /// Signatures of `batch` by the first `n` fixture keepers.
    pub fn sigs(&self, batch: &ReportBatch, n: usize) -> Vec<u8> {
        let keys: Vec<&KeeperSigner> = self.keys.iter().take(n).collect();
        self.sign_with(batch, &keys)
    }

    /// Posts prices, reports and other leaves at the current block, signed by a quorum;
    /// returns the outcome, the batch and its leaves.
    pub fn post(
        &mut self,
        prices: Vec<PriceReport>,
        reports: Vec<MarginReport>,
        others: Vec<B256>,
    ) -> (Outcome, ReportBatch, Vec<B256>) {
        let leaves = leaves(&prices, &reports, &others);
        let batch = self.batch_for(&leaves);
        let quorum = usize::from(self.view(I::quorumCall {}));
        let signatures = self.sigs(&batch, quorum).into();
        let call = I::postBatchCall {
            batch: batch.clone(),
            signatures,
            prices,
            reports,
            otherLeaves: others,
        };
        (self.send(STRANGER, call), batch, leaves)
    }

    /// Posts and requires success; returns the root and the leaves.
    pub fn post_ok(
        &mut self,
        prices: Vec<PriceReport>,
        reports: Vec<MarginReport>,
        others: Vec<B256>,
    ) -> (B256, Vec<B256>) {
        let (out, batch, leaves) = self.post(prices, reports, others);
        ok(&out);
        (batch.root, leaves)
    }

    /// Prices: USDC $1, WETH $2,000, at the current block.
    pub fn both_prices(&self) -> Vec<PriceReport> {
        vec![self.price(USDC, E18), self.price(WETH, 2_000 * E18)]
    }

    /// Attests a root over `leaves` (attestRoot); returns it.
    pub fn attest(&mut self, leaves: &[B256]) -> B256 {
        let batch = self.batch_for(leaves);
        let signatures = self.sigs(&batch, 2).into();
        ok(&self.send(STRANGER, I::attestRootCall { batch: batch.clone(), signatures }));
        batch.root
    }

    // ------------------------------------------------------------------ tokens

    pub fn token_balance(&self, token: Address, holder: Address) -> U256 {
        self.tokens.get(&(token, holder)).copied().unwrap_or_default()
    }

    pub fn mint(&mut self, token: Address, to: Address, amount: U256) {
        let b = self.token_balance(token, to);
        self.tokens.insert((token, to), b.checked_add(amount).expect("mint fits"));
    }

    fn move_tokens(&mut self, token: Address, from: Address, to: Address, amount: U256) {
        let f = self.token_balance(token, from);
        self.tokens.insert((token, from), f - amount);
        let t = self.token_balance(token, to);
        self.tokens.insert((token, to), t + amount);
    }

    /// `deposit(asset, amount)` by `who`; the mock token's `transferFrom` succeeds (returning
    /// true) iff `who` holds the amount, and then moves it.
    pub fn deposit(&mut self, who: Address, asset: Address, amount: U256) -> Outcome {
        let call = I::depositCall { asset, amount }.abi_encode();
        let transfer = transfer_from_calldata(who, ENGINE, amount);
        let funded = self.token_balance(asset, who) >= amount;
        let answer = if funded { Ok(word(1)) } else { Err(Vec::new()) };
        let out = self.chain.call_mocked(who, &call, |vm| {
            vm.mock_call(asset, transfer, U256::ZERO, answer);
        });
        if out.result.is_ok() {
            self.move_tokens(asset, who, ENGINE, amount);
        }
        out
    }

    /// Mints and deposits (the twin's `_fund`), requiring success.
    pub fn fund(&mut self, who: Address, asset: Address, amount: U256) {
        self.mint(asset, who, amount);
        ok(&self.deposit(who, asset, amount));
    }

    /// `withdraw(asset, amount)` by `who`; the mock token's `transfer` succeeds iff the engine
    /// holds the amount, and then moves it.
    pub fn withdraw(&mut self, who: Address, asset: Address, amount: U256) -> Outcome {
        let call = I::withdrawCall { asset, amount }.abi_encode();
        let transfer = transfer_calldata(who, amount);
        let funded = self.token_balance(asset, ENGINE) >= amount;
        let answer = if funded { Ok(word(1)) } else { Err(Vec::new()) };
        let out = self.chain.call_mocked(who, &call, |vm| {
            vm.mock_call(asset, transfer, U256::ZERO, answer);
        });
        if out.result.is_ok() {
            self.move_tokens(asset, ENGINE, who, amount);
        }
        out
    }

    /// `withdrawCash(amount)` by `who`: the engine's USDC `transfer` succeeds iff it holds the
    /// amount, and then moves it.
    pub fn withdraw_cash(&mut self, who: Address, amount: U256) -> Outcome {
        let call = I::withdrawCashCall { amount }.abi_encode();
        let transfer = transfer_calldata(who, amount);
        let funded = self.token_balance(USDC, ENGINE) >= amount;
        let answer = if funded { Ok(word(1)) } else { Err(Vec::new()) };
        let out = self.chain.call_mocked(who, &call, |vm| {
            vm.mock_call(USDC, transfer, U256::ZERO, answer);
        });
        if out.result.is_ok() {
            self.move_tokens(USDC, ENGINE, who, amount);
        }
        out
    }

    /// `repayDebt(amount)` by `who` (no token moves: S changes from collateral to reserve).
    pub fn repay(&mut self, who: Address, amount: U256) -> Outcome {
        self.send(who, I::repayDebtCall { amount })
    }

    /// What `seizeCollateral(account, asset, amount)` hands over of a non-settlement asset now:
    /// min(balance, floor(amount * 1e12 * 10**decimals * 10_000 / (price * (10_000 - discount)))).
    pub fn seized_for(&mut self, account: Address, asset: Address, amount: U256) -> U256 {
        let balance = self.view(I::collateralBalanceCall { account, asset });
        let info = self.view(I::collateralInfoCall { asset });
        let state = self.view(I::settlementStateCall {});
        let discount = state.seizureDiscountBps.min(10_000 - info.weightBps);
        let cash = amount * U256::from(1_000_000_000_000u64);
        let num = cash * U256::from(10u64).pow(U256::from(info.decimals)) * U256::from(10_000);
        (num / (U256::from(info.price) * U256::from(10_000 - discount))).min(balance)
    }

    /// `seizeCollateral(account, asset, amount)` by `liquidator`. For WETH the liquidator's USDC
    /// `transferFrom` succeeds iff it holds `amount`, the engine's WETH `transfer` iff it holds
    /// what is seized (as [`Self::seized_for`] computes it); both then move.
    pub fn seize(
        &mut self,
        liquidator: Address,
        account: Address,
        asset: Address,
        amount: U256,
    ) -> Outcome {
        let call = I::seizeCollateralCall { account, asset, amount }.abi_encode();
        if asset == USDC {
            return self.chain.call(liquidator, &call);
        }
        let seized = self.seized_for(account, asset, amount);
        let pay_in = transfer_from_calldata(liquidator, ENGINE, amount);
        let pay_out = transfer_calldata(liquidator, seized);
        let answer = |ok: bool| if ok { Ok(word(1)) } else { Err(Vec::new()) };
        let (a, b) = (
            answer(self.token_balance(USDC, liquidator) >= amount),
            answer(self.token_balance(asset, ENGINE) >= seized),
        );
        let out = self.chain.call_mocked(liquidator, &call, |vm| {
            vm.mock_call(USDC, pay_in, U256::ZERO, a);
            vm.mock_call(asset, pay_out, U256::ZERO, b);
        });
        if out.result.is_ok() {
            self.move_tokens(USDC, liquidator, ENGINE, amount);
            self.move_tokens(asset, ENGINE, liquidator, seized);
        }
        out
    }

    // ------------------------------------------------------------------ trades

    pub fn settle(&mut self, legs: Vec<TradeLeg>) -> Outcome {
        self.send(VENUE, I::settleTradeCall { legs })
    }

    /// The twin's `_openPositions`: Alice and Bob with 10,000 USDC, Carol with 100,000; next
    /// block, fresh prices and reports; Alice long 10 ETH-PERP against Bob at no cash.
    pub fn open_positions(&mut self) {
        self.fund(ALICE, USDC, U256::from(10_000_000_000u64));
        self.fund(BOB, USDC, U256::from(10_000_000_000u64));
        self.fund(CAROL, USDC, U256::from(100_000_000_000u64));
        self.advance(1);
        let prices = self.both_prices();
        let reports = vec![
            self.report(ALICE, 0, 1_000 * E18, 800 * E18),
            self.report(BOB, 0, 1_000 * E18, 800 * E18),
            self.report(CAROL, 0, 0, 0),
        ];
        self.post_ok(prices, reports, vec![]);
        ok(&self.settle(pair(ALICE, BOB, eth_perp(), 10 * E18 as i128, 0)));
    }

    /// The twin's `_makeAliceLiquidatable`: next block, Alice's report puts her below
    /// maintenance (equity 300 < 1,500), Carol fresh, and a step closing half of Alice's
    /// position at $2,000 (leaf 4 of 5). Returns the step, the root and its proof.
    pub fn make_alice_liquidatable(&mut self) -> (LiquidationStep, B256, Vec<B256>) {
        self.advance(1);
        let prices = self.both_prices();
        let reports = vec![
            self.report(ALICE, -9_500 * E18 as i128, 2_000 * E18, 1_500 * E18),
            self.report(CAROL, 0, 0, 0),
        ];
        let step = self.step(ALICE, eth_perp(), -5 * E18 as i128, 2_000 * E18);
        let (root, leaves) = self.post_ok(prices, reports, vec![step.leaf_hash()]);
        (step, root, margin_types::merkle::proof(&leaves, 4).unwrap())
    }

    pub fn liquidate(
        &mut self,
        liquidator: Address,
        step: &LiquidationStep,
        root: B256,
        proof: &[B256],
    ) -> Outcome {
        let call = I::liquidateCall { step: step.clone(), root, proof: proof.to_vec() };
        self.send(liquidator, call)
    }

    // ------------------------------------------------------------------ governance

    pub fn propose(&mut self, by: Address, change: ParamChange) -> Outcome {
        self.send(by, I::proposeChangeCall { change })
    }

    /// The admin queues `change`; returns its id and eta.
    pub fn queue(&mut self, change: ParamChange) -> (B256, u64) {
        let out = self.propose(ADMIN, change);
        ok(&out);
        let r = I::proposeChangeCall::abi_decode_returns(&out.result.unwrap()).unwrap();
        assert!(!r.applied, "queued, not applied");
        let eta = self.now() + u64::from(self.view(I::riskParamsCall {}).timelockDelay);
        (r.changeId, eta)
    }

    /// Queues `change`, waits for its eta and executes it.
    pub fn execute(&mut self, change: ParamChange) {
        let (_, eta) = self.queue(change.clone());
        self.warp(eta);
        ok(&self.send(STRANGER, I::executeChangeCall { change, eta }));
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

pub fn change(kind: u8, target: Address, value: u128) -> ParamChange {
    ParamChange { kind, target, value: U256::from(value) }
}

pub fn leaves(prices: &[PriceReport], reports: &[MarginReport], others: &[B256]) -> Vec<B256> {
    let mut leaves: Vec<B256> = prices.iter().map(|p| p.leaf_hash()).collect();
    leaves.extend(reports.iter().map(|r| r.leaf_hash()));
    leaves.extend(others.iter().copied());
    leaves
}

pub fn leg(account: Address, id: B256, size: i128, cash: i128) -> TradeLeg {
    TradeLeg { account, instrumentId: id, sizeDelta: size, cashDelta: cash }
}

/// The twin's `_pair`: `buyer` +size and `buyer_cash`, `seller` the opposite, sorted by account.
pub fn pair(
    buyer: Address,
    seller: Address,
    id: B256,
    size: i128,
    buyer_cash: i128,
) -> Vec<TradeLeg> {
    let a = leg(buyer, id, size, buyer_cash);
    let b = leg(seller, id, -size, -buyer_cash);
    if buyer < seller {
        vec![a, b]
    } else {
        vec![b, a]
    }
}

pub fn word(v: u64) -> Vec<u8> {
    U256::from(v).to_be_bytes::<32>().to_vec()
}

pub fn hex(data: &[u8]) -> String {
    alloy_primitives::hex::encode(data)
}

/// Requires the call to have succeeded.
#[track_caller]
pub fn ok(out: &Outcome) {
    if let Err(data) = &out.result {
        panic!("reverted with 0x{}", hex(data));
    }
}

/// Requires the call to have reverted with exactly `error`'s ABI encoding.
#[track_caller]
pub fn reverts(out: &Outcome, error: impl SolError) {
    let expected = error.abi_encode();
    match &out.result {
        Err(data) if *data == expected => {}
        Err(data) => panic!("reverted with 0x{}, expected 0x{}", hex(data), hex(&expected)),
        Ok(_) => panic!("succeeded, expected a revert with 0x{}", hex(&expected)),
    }
}

/// Requires the constructor to have reverted with exactly `error`'s ABI encoding.
#[track_caller]
pub fn deploy_reverts(args: &Args, error: impl SolError) {
    let expected = error.abi_encode();
    match args.deploy() {
        Err(data) if data == expected => {}
        Err(data) => {
            panic!("constructor reverted with 0x{}, expected 0x{}", hex(&data), hex(&expected))
        }
        Ok(_) => panic!("constructor succeeded, expected 0x{}", hex(&expected)),
    }
}
