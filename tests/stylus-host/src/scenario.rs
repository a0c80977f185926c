//! The differential runner: one scenario format (a JSON list of [`Step`]s), executed in lockstep
//! against the Stylus WASM in the host and, when anvil is available, the Solidity twin on anvil.
//! Every transaction's return or revert data and logs, and after every step a fixed set of view
//! values, must be identical.
//!
//! Both chains are set up identically: two `MockERC20` tokens and the engine deployed by anvil's
//! first dev account at nonces 0, 1, 2 (the host uses the same addresses), keepers from fixed
//! TEST-ONLY keys, and every transaction in its own block, 12 s after the previous one.

use alloy_primitives::aliases::U48;
use alloy_primitives::{address, keccak256, Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue};
use margin_types::abi::{
    encode_constructor_args, IMarginEngine as I, LiquidationStep, MarginReport, ParamChange,
    PriceReport, ReportBatch, RiskParams, TradeLeg,
};
use margin_types::eip712::{domain_separator, signing_digest, BatchLeaf, SignedStruct};
use margin_types::merkle;
use margin_types::quorum::encode_signatures;
use margin_types::signer::KeeperSigner;
use serde::{Deserialize, Serialize};

use crate::anvil::{forge_bytecode, forge_runtime, Anvil};
use crate::precompile::ARB_SYS;
use crate::world::Log;
use crate::{Block, StylusEngine};

/// anvil's first dev account (TEST-ONLY, public key): deploys tokens and engine on both sides.
pub const DEPLOYER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const E18: u128 = 1_000_000_000_000_000_000;
const BLOCK_SECONDS: u64 = 12;

/// The L2 block numbers run this far ahead of `block.number` on both sides, as on Arbitrum
/// One (1e8 against 2e7): anvil gets `contracts/evm/test/mocks/MockArbSys.sol` at 0x64 (its
/// `L2_OFFSET`) before the twin is deployed, so the twin reads that clock; the host answers ArbSys
/// with the same number and its `block_number` hostio with anvil's `block.number`. An engine on
/// either side that read `block.number` would see every report 1e8 blocks in the future.
pub const ARB_L2_OFFSET: u64 = 100_000_000;

/// The host's block for anvil block `l1` (the `block.number` both sides report as L1).
fn arb_block(l1: u64, timestamp: u64) -> Block {
    Block { chain_id: 31337, number: l1 + ARB_L2_OFFSET, l1_number: l1, timestamp }
}

/// Actor addresses by index: admin, risk council, pause guardian, venue, then traders.
pub const ACTORS: [Address; 8] = [
    address!("000000000000000000000000000000000000a001"),
    address!("000000000000000000000000000000000000a002"),
    address!("000000000000000000000000000000000000a003"),
    address!("0000000000000000000000000000000000000e00"),
    address!("00000000000000000000000000000000000a11ce"),
    address!("0000000000000000000000000000000000000b0b"),
    address!("00000000000000000000000000000000000ca401"),
    address!("000000000000000000000000000000000000dead"),
];

/// The tokens (USDC, 6 decimals; WETH, 18), created at the deployer's nonces 0 and 1.
pub fn tokens() -> [Address; 2] {
    [DEPLOYER.create(0), DEPLOYER.create(1)]
}

/// The engine's address (deployer nonce 2).
pub fn engine() -> Address {
    DEPLOYER.create(2)
}

/// The keepers' TEST-ONLY signing keys.
pub fn keepers() -> Vec<KeeperSigner> {
    (0..3)
        .map(|i| {
            KeeperSigner::from_bytes(&keccak256(format!("stylus-host TEST-ONLY keeper {i}")))
                .expect("keccak output is a valid key")
        })
        .collect()
}

fn instrument(i: u8) -> B256 {
    keccak256(format!("INSTRUMENT-{i}"))
}

fn actor(i: u8) -> Address {
    ACTORS[usize::from(i) % ACTORS.len()]
}

fn token(i: u8) -> Address {
    tokens()[usize::from(i) % 2]
}

/// A margin report for a trader, in whole USD (scaled to 18 decimals).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportSpec {
    /// Actor index.
    pub account: u8,
    /// Portfolio value, USD.
    pub pv: i64,
    /// Maintenance margin, USD (initial margin is 5/4 of it).
    pub mm: u64,
}

/// One trade leg: size and cash in hundredths (scaled to 18 decimals).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LegSpec {
    /// Actor index.
    pub account: u8,
    /// Instrument index.
    pub instrument: u8,
    /// Size delta, hundredths of a unit.
    pub size: i64,
    /// Cash delta, hundredths of a USD.
    pub cash: i64,
}

/// One scenario step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Step {
    /// Token `token` mints `amount` base units to actor `to`.
    Mint {
        /// Token index.
        token: u8,
        /// Actor index.
        to: u8,
        /// Base units.
        amount: u64,
    },
    /// Actor `from` approves the engine for all of token `token`.
    Approve {
        /// Token index.
        token: u8,
        /// Actor index.
        from: u8,
    },
    /// `deposit(token, amount)` from `from`.
    Deposit {
        /// Actor index.
        from: u8,
        /// Token index.
        token: u8,
        /// Base units.
        amount: u64,
    },
    /// `withdraw(token, amount)` from `from`.
    Withdraw {
        /// Actor index.
        from: u8,
        /// Token index.
        token: u8,
        /// Base units.
        amount: u64,
    },
    /// `listInstrument(id, spec)` from `from`.
    ListInstrument {
        /// Actor index.
        from: u8,
        /// Instrument index.
        instrument: u8,
    },
    /// `settleTrade(legs)` from `from` (the venue is actor 3).
    Trade {
        /// Actor index.
        from: u8,
        /// Legs, in the given order.
        legs: Vec<LegSpec>,
    },
    /// A freshly signed `postBatch`: prices (USD per whole token) and reports, observed `age`
    /// blocks before the current block, at the current risk epoch and each account's nonce.
    Batch {
        /// Keeper indices that sign.
        signers: Vec<u8>,
        /// `(token, USD price)`.
        prices: Vec<(u8, u64)>,
        /// Reports.
        reports: Vec<ReportSpec>,
        /// Blocks between observation and the current block.
        age: u8,
    },
    /// A liquidation: a batch with the account's report and a liquidation-step leaf, then
    /// `liquidate(step, root, proof)` from `liquidator`.
    Liquidate {
        /// Actor index.
        liquidator: u8,
        /// The report that makes (or not) the account liquidatable.
        report: ReportSpec,
        /// Instrument index.
        instrument: u8,
        /// Size, hundredths of a unit (opposite sign to the position).
        size: i64,
        /// Mark price, USD.
        mark: u64,
    },
    /// `proposeChange({kind, target, value})` from `from`; `target` indexes actors, or tokens
    /// when `kind` is 0, 1 or 20.
    Propose {
        /// Actor index.
        from: u8,
        /// Change kind.
        kind: u8,
        /// Target index.
        target: u8,
        /// Value.
        value: u64,
    },
    /// `executeChange` of the latest queued change (or a made-up one if none) from `from`.
    Execute {
        /// Actor index.
        from: u8,
    },
    /// `cancelChange` of the latest queued change from `from`.
    Cancel {
        /// Actor index.
        from: u8,
    },
    /// `pause()` from `from`.
    Pause {
        /// Actor index.
        from: u8,
    },
    /// `unpause()` from `from`.
    Unpause {
        /// Actor index.
        from: u8,
    },
    /// `withdrawCash(amount)` from `from` (USDC base units).
    WithdrawCash {
        /// Actor index.
        from: u8,
        /// Base units of the settlement asset.
        amount: u64,
    },
    /// `repayDebt(amount)` from `from` (USDC base units).
    RepayDebt {
        /// Actor index.
        from: u8,
        /// Base units of the settlement asset.
        amount: u64,
    },
    /// `seizeCollateral(account, token, amount)` from `from`.
    Seize {
        /// Actor index (the liquidator).
        from: u8,
        /// Actor index (the liquidated account).
        account: u8,
        /// Token index.
        token: u8,
        /// Base units of the settlement asset repaid.
        amount: u64,
    },
    /// `resolveBadDebt(account)` from `from`.
    ResolveBadDebt {
        /// Actor index.
        from: u8,
        /// Actor index.
        account: u8,
    },
    /// Mines `blocks` empty blocks `seconds` apart.
    Advance {
        /// Blocks.
        blocks: u16,
        /// Seconds between them.
        seconds: u32,
    },
}

/// A call's cost on each side, by label.
#[derive(Debug, Clone)]
pub struct Cost {
    /// What was called.
    pub label: String,
    /// wasmi fuel in the host (all frames).
    pub fuel: u64,
    /// The Stylus gas estimate of the host's run ([`crate::gas`]).
    pub stylus: crate::GasEstimate,
    /// The most stack words a program call used (Nitro's depth count).
    pub stack_peak: u32,
    /// Gas used by the twin's transaction on anvil (0 without anvil).
    pub gas: u64,
    /// Whether the call succeeded.
    pub success: bool,
    /// The Stylus side's return or revert data.
    pub result: Result<Vec<u8>, Vec<u8>>,
}

struct Tx {
    label: String,
    from: Address,
    to: Address,
    data: Vec<u8>,
}

/// The two chains in lockstep.
pub struct Lockstep {
    stylus: StylusEngine,
    anvil: Option<Anvil>,
    block: u64,
    timestamp: u64,
    queued: Vec<(ParamChange, u64)>,
    /// Per-call costs so far.
    pub costs: Vec<Cost>,
}

fn params() -> RiskParams {
    RiskParams {
        liquidationThresholdBps: 10_000,
        liquidationPenaltyBps: 500,
        maxReportAgeBlocks: 100,
        maxPriceAgeBlocks: 100,
        timelockDelay: 3_600,
        liquidationNotionalCapPerBlock: 1_000_000 * E18,
    }
}

/// The engine's constructor arguments (no selector) in every scenario.
pub fn constructor_args() -> Vec<u8> {
    let [usdc, weth] = tokens();
    encode_constructor_args(
        ACTORS[0],
        ACTORS[1],
        ACTORS[2],
        keepers().iter().map(KeeperSigner::address).collect(),
        2,
        &params(),
        vec![usdc, weth],
        vec![6, 18],
        vec![9_800, 9_000],
        vec![ACTORS[3]],
    )
}

fn token_creation(name: &str, decimals: u8) -> Result<Vec<u8>, String> {
    let mut code = forge_bytecode("MockTokens.sol", "MockERC20")?;
    // abi.encode(string name, uint8 decimals): head (offset, decimals), then the string.
    code.extend(U256::from(64).to_be_bytes::<32>());
    code.extend(U256::from(decimals).to_be_bytes::<32>());
    code.extend(U256::from(name.len()).to_be_bytes::<32>());
    let mut text = name.as_bytes().to_vec();
    text.resize(32, 0);
    code.extend(text);
    Ok(code)
}

/// `keccak256(abi.encode(kind, target, value, eta))`.
fn change_id(c: &ParamChange, eta: u64) -> B256 {
    let mut buf = Vec::with_capacity(128);
    buf.extend(U256::from(c.kind).to_be_bytes::<32>());
    buf.extend(c.target.into_word());
    buf.extend(c.value.to_be_bytes::<32>());
    buf.extend(U256::from(eta).to_be_bytes::<32>());
    keccak256(buf)
}

fn show(r: &Result<Vec<u8>, Vec<u8>>) -> String {
    match r {
        Ok(d) => format!("ok 0x{}", hex::encode(d)),
        Err(d) => format!("revert 0x{}", hex::encode(d)),
    }
}

impl Lockstep {
    /// Sets both chains up (`with_anvil`: also the twin on a fresh anvil; the host alone
    /// otherwise). `Err` if anvil or the forge artifacts are unavailable.
    pub fn new(with_anvil: bool) -> Result<Self, String> {
        let mut anvil = if with_anvil { Some(Anvil::start()?) } else { None };
        let (mut block, mut timestamp) = (1, 1_700_000_000);
        if let Some(anvil) = anvil.as_mut() {
            let (b, t) = anvil.latest();
            (block, timestamp) = (b, t);
            for a in ACTORS.iter().chain([&DEPLOYER]) {
                anvil.fund(*a);
            }
            // Before the twin: it decides its clock at deployment.
            anvil.set_code(ARB_SYS, &forge_runtime("MockArbSys.sol", "MockArbSys")?);
            let codes = [
                token_creation("USDC", 6)?,
                token_creation("WETH", 18)?,
                [forge_bytecode("MarginEngine.sol", "MarginEngine")?, constructor_args()].concat(),
            ];
            for (i, code) in codes.iter().enumerate() {
                timestamp += BLOCK_SECONDS;
                let at = anvil.deploy(DEPLOYER, code, timestamp);
                assert_eq!(at, DEPLOYER.create(i as u64), "deployed at the expected nonce");
                block += 1;
            }
        }
        // With anvil, the engine's constructor ran in the latest block: the host constructs in
        // the same one.
        if anvil.is_none() {
            timestamp += BLOCK_SECONDS;
            block += 1;
        }
        let stylus = StylusEngine::deploy(
            engine(),
            arb_block(block, timestamp),
            DEPLOYER,
            &constructor_args(),
            &tokens(),
        )
        .map_err(|e| format!("the Stylus constructor reverted: 0x{}", hex::encode(e)))?;
        Ok(Self { stylus, anvil, block, timestamp, queued: Vec::new(), costs: Vec::new() })
    }

    /// Whether the twin runs alongside.
    pub fn differential(&self) -> bool {
        self.anvil.is_some()
    }

    fn view_host<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = self.stylus.view(&call.abi_encode());
        C::abi_decode_returns(&out.result.expect("a view succeeds")).expect("decodes")
    }

    /// One transaction on both sides, in the next block.
    fn transact(&mut self, tx: Tx) -> Result<(), String> {
        self.block += 1;
        self.timestamp += BLOCK_SECONDS;
        self.stylus.host.set_block(arb_block(self.block, self.timestamp));
        let ours = self
            .stylus
            .host
            .transact(tx.from, tx.to, &tx.data, U256::ZERO)
            .map_err(|e| format!("{}: host fault: {e}", tx.label))?;
        let mut gas = 0;
        if let Some(anvil) = self.anvil.as_mut() {
            let theirs = anvil.send(tx.from, Some(tx.to), &tx.data, self.timestamp);
            gas = theirs.gas_used;
            if theirs.block != self.block {
                return Err(format!("{}: anvil mined block {}", tx.label, theirs.block));
            }
            if ours.result != theirs.result {
                return Err(format!(
                    "{}: Stylus {} but Solidity {}",
                    tx.label,
                    show(&ours.result),
                    show(&theirs.result)
                ));
            }
            if ours.logs != theirs.logs {
                return Err(format!(
                    "{}: logs differ\n  Stylus:   {}\n  Solidity: {}",
                    tx.label,
                    serde_json::to_string(&ours.logs).unwrap_or_default(),
                    serde_json::to_string(&theirs.logs).unwrap_or_default()
                ));
            }
        }
        self.costs.push(Cost {
            label: tx.label,
            fuel: ours.fuel,
            stylus: ours.gas,
            stack_peak: ours.stack_peak,
            gas,
            success: ours.result.is_ok(),
            result: ours.result,
        });
        Ok(())
    }

    fn engine_tx(&mut self, label: &str, from: Address, data: Vec<u8>) -> Result<(), String> {
        self.transact(Tx { label: label.into(), from, to: engine(), data })
    }

    /// Runs one step on both sides, then compares the views.
    pub fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Mint { token: t, to, amount } => {
                let data = [
                    &keccak256("mint(address,uint256)")[..4],
                    &(actor(*to), U256::from(*amount)).abi_encode_params()[..],
                ]
                .concat();
                self.transact(Tx { label: "mint".into(), from: DEPLOYER, to: token(*t), data })?;
            }
            Step::Approve { token: t, from } => {
                let data = [
                    &keccak256("approve(address,uint256)")[..4],
                    &(engine(), U256::MAX).abi_encode_params()[..],
                ]
                .concat();
                self.transact(Tx {
                    label: "approve".into(),
                    from: actor(*from),
                    to: token(*t),
                    data,
                })?;
            }
            Step::Deposit { from, token: t, amount } => {
                let call = I::depositCall { asset: token(*t), amount: U256::from(*amount) };
                self.engine_tx("deposit", actor(*from), call.abi_encode())?;
            }
            Step::Withdraw { from, token: t, amount } => {
                let call = I::withdrawCall { asset: token(*t), amount: U256::from(*amount) };
                self.engine_tx("withdraw", actor(*from), call.abi_encode())?;
            }
            Step::ListInstrument { from, instrument: i } => {
                let call = I::listInstrumentCall {
                    instrumentId: instrument(*i),
                    spec: format!("instrument {i}").into_bytes().into(),
                };
                self.engine_tx("listInstrument", actor(*from), call.abi_encode())?;
            }
            Step::Trade { from, legs } => {
                let legs = legs
                    .iter()
                    .map(|l| TradeLeg {
                        account: actor(l.account),
                        instrumentId: instrument(l.instrument),
                        sizeDelta: i128::from(l.size) * (E18 as i128 / 100),
                        cashDelta: i128::from(l.cash) * (E18 as i128 / 100),
                    })
                    .collect::<Vec<_>>();
                // Legs sorted by (instrument, account), as a venue sends them.
                let mut legs = legs;
                legs.sort_by_key(|l| (l.instrumentId, l.account));
                self.engine_tx(
                    "settleTrade",
                    actor(*from),
                    I::settleTradeCall { legs }.abi_encode(),
                )?;
            }
            Step::Batch { signers, prices, reports, age } => {
                let prices: Vec<PriceReport> = prices
                    .iter()
                    .map(|&(t, usd)| PriceReport {
                        asset: token(t),
                        price: u128::from(usd) * E18,
                        observedBlock: U48::ZERO,
                    })
                    .collect();
                let reports: Vec<MarginReport> = reports.iter().map(|r| self.report(r)).collect();
                let data = self.batch_calldata(signers, prices, reports, Vec::new(), *age).0;
                self.engine_tx("postBatch", ACTORS[7], data)?;
            }
            Step::Liquidate { liquidator, report, instrument: i, size, mark } => {
                let margin = self.report(report);
                let step = LiquidationStep {
                    account: margin.account,
                    positionsNonce: margin.positionsNonce,
                    riskEpoch: margin.riskEpoch,
                    observedBlock: U48::ZERO,
                    instrumentId: instrument(*i),
                    size: i128::from(*size) * (E18 as i128 / 100),
                    markPrice: u128::from(*mark) * E18,
                };
                // The batch also refreshes the prices and gives the liquidator a report (it
                // needs a fresh one with equity >= initial margin).
                let mut reports = vec![margin];
                if actor(*liquidator) != actor(report.account) {
                    let spec = ReportSpec { account: *liquidator, pv: 0, mm: 10 };
                    reports.push(self.report(&spec));
                }
                let prices = (0..2)
                    .map(|t| PriceReport {
                        asset: token(t),
                        price: [1, 3_000][usize::from(t)] * E18,
                        observedBlock: U48::ZERO,
                    })
                    .collect();
                let (data, step, root, proof) =
                    self.batch_calldata(&[0, 1], prices, reports, vec![step], 1);
                self.engine_tx("postBatch", ACTORS[7], data)?;
                let step = step.expect("one step");
                let call = I::liquidateCall { step, root, proof };
                self.engine_tx("liquidate", actor(*liquidator), call.abi_encode())?;
            }
            Step::Propose { from, kind, target, value } => {
                // Kinds 0, 1 and 20 are about a collateral asset.
                let target =
                    if *kind <= 1 || *kind == 20 { token(*target) } else { actor(*target) };
                let change = ParamChange { kind: *kind, target, value: U256::from(*value) };
                let eta = self.timestamp
                    + BLOCK_SECONDS
                    + u64::from(self.view_host(I::riskParamsCall {}).timelockDelay);
                self.engine_tx(
                    "proposeChange",
                    actor(*from),
                    I::proposeChangeCall { change: change.clone() }.abi_encode(),
                )?;
                let id = change_id(&change, eta);
                if self.view_host(I::queuedChangeEtaCall { changeId: id }) == eta {
                    self.queued.push((change, eta));
                }
            }
            Step::Execute { from } => {
                let (change, eta) = self.queued.last().cloned().unwrap_or((
                    ParamChange { kind: 4, target: Address::ZERO, value: U256::from(50) },
                    self.timestamp,
                ));
                let call = I::executeChangeCall { change, eta };
                self.engine_tx("executeChange", actor(*from), call.abi_encode())?;
            }
            Step::Cancel { from } => {
                let id = self.queued.last().map(|(c, eta)| change_id(c, *eta)).unwrap_or_default();
                self.engine_tx(
                    "cancelChange",
                    actor(*from),
                    I::cancelChangeCall { changeId: id }.abi_encode(),
                )?;
            }
            Step::WithdrawCash { from, amount } => {
                let call = I::withdrawCashCall { amount: U256::from(*amount) };
                self.engine_tx("withdrawCash", actor(*from), call.abi_encode())?;
            }
            Step::RepayDebt { from, amount } => {
                let call = I::repayDebtCall { amount: U256::from(*amount) };
                self.engine_tx("repayDebt", actor(*from), call.abi_encode())?;
            }
            Step::Seize { from, account, token: t, amount } => {
                let call = I::seizeCollateralCall {
                    account: actor(*account),
                    asset: token(*t),
                    amount: U256::from(*amount),
                };
                self.engine_tx("seizeCollateral", actor(*from), call.abi_encode())?;
            }
            Step::ResolveBadDebt { from, account } => {
                let call = I::resolveBadDebtCall { account: actor(*account) };
                self.engine_tx("resolveBadDebt", actor(*from), call.abi_encode())?;
            }
            Step::Pause { from } => {
                self.engine_tx("pause", actor(*from), I::pauseCall {}.abi_encode())?
            }
            Step::Unpause { from } => {
                self.engine_tx("unpause", actor(*from), I::unpauseCall {}.abi_encode())?
            }
            Step::Advance { blocks, seconds } => {
                let (blocks, seconds) = (u64::from(*blocks), u64::from(*seconds));
                if blocks > 0 {
                    if let Some(anvil) = self.anvil.as_mut() {
                        anvil.mine(blocks, seconds);
                        (self.block, self.timestamp) = anvil.latest();
                    } else {
                        self.block += blocks;
                        self.timestamp += blocks * seconds;
                    }
                }
            }
        }
        self.compare_views()
    }

    /// The cost of the last transaction.
    fn last_cost(&self) -> Cost {
        self.costs.last().cloned().expect("a transaction was recorded")
    }

    /// Fresh reports for `accounts` (portfolio value `pv + i` USD, maintenance margin
    /// `2,000 + i` USD for the i-th), at each account's nonce and the current epoch.
    fn reports_for(&mut self, accounts: &[Address], pv: i64) -> Vec<MarginReport> {
        let epoch = self.view_host(I::riskEpochCall {});
        (0..accounts.len())
            .map(|i| {
                let account = accounts[i];
                let state = self.view_host(I::accountStateCall { account });
                let mm = (2_000 + i as u128) * E18;
                MarginReport {
                    account,
                    positionsNonce: state.positionsNonce,
                    riskEpoch: epoch,
                    observedBlock: U48::ZERO,
                    portfolioValue: (i128::from(pv) + i as i128) * E18 as i128,
                    initialMargin: mm + mm / 4,
                    maintenanceMargin: mm,
                }
            })
            .collect()
    }

    /// `postBatch` of fresh reports for `accounts` (no prices), signed by keepers 0 and 1
    /// (quorum 2), in the next block; its cost.
    pub fn post_reports(&mut self, accounts: &[Address], pv: i64) -> Result<Cost, String> {
        let reports = self.reports_for(accounts, pv);
        let data = self.batch_calldata(&[0, 1], Vec::new(), reports, Vec::new(), 1).0;
        self.engine_tx("postBatch", ACTORS[7], data)?;
        Ok(self.last_cost())
    }

    /// `attestRoot` of a quorum-2 batch of fresh reports for `accounts`, then, in the next block,
    /// `postMarginReport` of the `index`-th with its Merkle proof; the latter's cost.
    pub fn prove_report(
        &mut self,
        accounts: &[Address],
        pv: i64,
        index: usize,
    ) -> Result<Cost, String> {
        let reports = self.reports_for(accounts, pv);
        let (data, _, root, _) = self.batch_calldata(&[0, 1], Vec::new(), reports, Vec::new(), 1);
        let batch = I::postBatchCall::abi_decode(&data).map_err(|e| e.to_string())?;
        let attest = I::attestRootCall { batch: batch.batch, signatures: batch.signatures };
        self.engine_tx("attestRoot", ACTORS[7], attest.abi_encode())?;
        let leaves: Vec<B256> = batch.reports.iter().map(BatchLeaf::leaf_hash).collect();
        let proof = merkle::proof(&leaves, index).map_err(|e| e.to_string())?;
        let report = batch.reports[index].clone();
        let post = I::postMarginReportCall { report, root, proof };
        self.engine_tx("postMarginReport", ACTORS[7], post.abi_encode())?;
        Ok(self.last_cost())
    }

    /// A report for `spec` at the account's current nonce and the current epoch.
    fn report(&mut self, spec: &ReportSpec) -> MarginReport {
        let account = actor(spec.account);
        let state = self.view_host(I::accountStateCall { account });
        let epoch = self.view_host(I::riskEpochCall {});
        let mm = u128::from(spec.mm) * E18;
        MarginReport {
            account,
            positionsNonce: state.positionsNonce,
            riskEpoch: epoch,
            observedBlock: U48::ZERO,
            portfolioValue: i128::from(spec.pv) * E18 as i128,
            initialMargin: mm + mm / 4,
            maintenanceMargin: mm,
        }
    }

    /// postBatch calldata signed by `signers`, observed `age` blocks before the next block;
    /// also the first liquidation step (observed block set), the root and its proof.
    fn batch_calldata(
        &mut self,
        signers: &[u8],
        mut prices: Vec<PriceReport>,
        mut reports: Vec<MarginReport>,
        mut steps: Vec<LiquidationStep>,
        age: u8,
    ) -> (Vec<u8>, Option<LiquidationStep>, B256, Vec<B256>) {
        let observed = U48::from((self.block + 1 + ARB_L2_OFFSET).saturating_sub(u64::from(age)));
        let epoch = self.view_host(I::riskEpochCall {});
        prices.iter_mut().for_each(|p| p.observedBlock = observed);
        reports.iter_mut().for_each(|r| r.observedBlock = observed);
        steps.iter_mut().for_each(|s| s.observedBlock = observed);
        let other: Vec<B256> = steps.iter().map(BatchLeaf::leaf_hash).collect();
        let leaves: Vec<B256> = prices
            .iter()
            .map(BatchLeaf::leaf_hash)
            .chain(reports.iter().map(BatchLeaf::leaf_hash))
            .chain(other.iter().copied())
            .collect();
        let root = merkle::root(&leaves);
        let header = ReportBatch {
            root,
            observedBlock: observed,
            riskEpoch: epoch,
            count: leaves.len() as u32,
        };
        let digest =
            signing_digest(&domain_separator(U256::from(31337), engine()), &header.struct_hash());
        let keys = keepers();
        let mut chosen: Vec<u8> = signers.to_vec();
        chosen.sort_unstable();
        chosen.dedup();
        let signatures = encode_signatures(
            chosen
                .iter()
                .map(|&i| {
                    let k = &keys[usize::from(i) % keys.len()];
                    (k.address(), k.sign_digest(&digest).expect("signing a digest"))
                })
                .collect(),
        );
        let proof = if steps.is_empty() {
            Vec::new()
        } else {
            merkle::proof(&leaves, leaves.len() - 1).expect("a leaf of the tree")
        };
        let call = I::postBatchCall {
            batch: header,
            signatures: signatures.into(),
            prices,
            reports,
            otherLeaves: other,
        };
        (call.abi_encode(), steps.first().cloned(), root, proof)
    }

    /// The views compared after every step: per trader account state, health, balances,
    /// report and positions; the globals; token balances.
    fn views() -> Vec<(String, Address, Vec<u8>)> {
        let mut out = Vec::new();
        let e = engine();
        let mut add = |label: String, data: Vec<u8>| out.push((label, e, data));
        for a in [4u8, 5, 6] {
            let account = actor(a);
            add(format!("accountState({a})"), I::accountStateCall { account }.abi_encode());
            add(format!("accountHealth({a})"), I::accountHealthCall { account }.abi_encode());
            add(format!("marginReportOf({a})"), I::marginReportOfCall { account }.abi_encode());
            add(format!("openPositions({a})"), I::openPositionsCall { account }.abi_encode());
            for t in 0..2 {
                let asset = token(t);
                add(
                    format!("collateralBalance({a},{t})"),
                    I::collateralBalanceCall { account, asset }.abi_encode(),
                );
            }
            for i in 0..2 {
                let id = instrument(i);
                add(
                    format!("positionOf({a},{i})"),
                    I::positionOfCall { account, instrumentId: id }.abi_encode(),
                );
            }
        }
        add("settlementState".into(), I::settlementStateCall {}.abi_encode());
        for t in 0..2 {
            add(
                format!("collateralStatus({t})"),
                I::collateralStatusCall { asset: token(t) }.abi_encode(),
            );
        }
        add("paused".into(), I::pausedCall {}.abi_encode());
        add("riskEpoch".into(), I::riskEpochCall {}.abi_encode());
        add("riskParams".into(), I::riskParamsCall {}.abi_encode());
        add("roles".into(), I::rolesCall {}.abi_encode());
        add("keepers".into(), I::keepersCall {}.abi_encode());
        add("quorum".into(), I::quorumCall {}.abi_encode());
        add("collateralAssets".into(), I::collateralAssetsCall {}.abi_encode());
        for t in 0..2 {
            add(
                format!("collateralInfo({t})"),
                I::collateralInfoCall { asset: token(t) }.abi_encode(),
            );
        }
        add(
            "isInstrumentListed(0)".into(),
            I::isInstrumentListedCall { instrumentId: instrument(0) }.abi_encode(),
        );
        add(
            "liquidatedNotionalThisBlock".into(),
            I::liquidatedNotionalThisBlockCall {}.abi_encode(),
        );
        add("domainSeparator".into(), I::domainSeparatorCall {}.abi_encode());
        add("clockBlock".into(), I::clockBlockCall {}.abi_encode());
        let balance_of = &keccak256("balanceOf(address)")[..4];
        for t in 0..2 {
            for who in [engine(), ACTORS[4], ACTORS[5]] {
                out.push((
                    format!("token{t}.balanceOf({who})"),
                    token(t),
                    [balance_of, &who.abi_encode()[..]].concat(),
                ));
            }
        }
        out
    }

    fn compare_views(&mut self) -> Result<(), String> {
        let Some(anvil) = self.anvil.as_mut() else {
            // Host only: the views must still run without a host fault.
            for (label, to, data) in Self::views() {
                self.stylus
                    .host
                    .view(Address::ZERO, to, &data)
                    .map_err(|e| format!("view {label}: host fault: {e}"))?;
            }
            return Ok(());
        };
        // eth_call runs in the latest block's context.
        let (block, timestamp) = anvil.latest();
        self.stylus.host.set_block(arb_block(block, timestamp));
        for (label, to, data) in Self::views() {
            let ours = self
                .stylus
                .host
                .view(Address::ZERO, to, &data)
                .map_err(|e| format!("view {label}: host fault: {e}"))?;
            let theirs = anvil.call(to, &data);
            if ours.result != theirs {
                return Err(format!(
                    "view {label}: Stylus {} but Solidity {}",
                    show(&ours.result),
                    show(&theirs)
                ));
            }
        }
        Ok(())
    }

    /// Runs every step; the index and message of the first divergence.
    pub fn run(&mut self, steps: &[Step]) -> Result<(), (usize, String)> {
        for (i, step) in steps.iter().enumerate() {
            self.step(step).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Logs as `(emitter, topics, data)` for display.
pub fn describe(logs: &[Log]) -> String {
    serde_json::to_string(logs).unwrap_or_default()
}
