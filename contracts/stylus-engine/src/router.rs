//! The deployed router: selector dispatch and a strict, allocation-light ABI decoder.
//!
//! Why by hand: the SDK's `#[public]` router decodes through alloy's generic `SolType` code,
//! which alone made the WASM about three times the 24 KiB limit. Every argument here is a static
//! word, a static struct, a `bytes`, or an array of static elements, so a word reader covers all
//! of it. Decoding is as strict as Solidity's (dirty address bits, out-of-range integers,
//! non-boolean bools, out-of-bounds offsets all revert with empty data). `#[public]` still
//! builds under the `export-abi` feature to print the ABI, and a test checks that this router
//! serves exactly the interface's selectors.

use alloc::vec::Vec;

use margin_types::abi::IMarginEngine as I;
use margin_types::quorum::Ecrecover;
use stylus_sdk::abi::Bytes;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256, U256};
use stylus_sdk::alloy_sol_types::SolCall;

use crate::abi::{
    LiquidationStep, MarginReport, ParamChange, PriceReport, ReportBatch, RiskParams, TradeLeg,
};
use crate::words::Word;
use crate::MarginEngine;

/// Malformed calldata: reverts with empty data, as Solidity's decoder does.
pub struct Malformed;

type D<T> = Result<T, Malformed>;

/// ABI words of a calldata region.
#[derive(Clone, Copy)]
pub struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    /// Word `i` of the region.
    fn word(self, i: usize) -> D<&'a [u8; 32]> {
        let start = i.checked_mul(32).ok_or(Malformed)?;
        let end = start.checked_add(32).ok_or(Malformed)?;
        self.0.get(start..end).and_then(|w| w.try_into().ok()).ok_or(Malformed)
    }

    /// Word `i` as an unsigned integer of `bits` bits (the rest must be zero).
    fn uint(self, i: usize, bits: usize) -> D<U256> {
        let v = U256::from_be_bytes(*self.word(i)?);
        if bits < 256 && v >> bits != U256::ZERO {
            return Err(Malformed);
        }
        Ok(v)
    }

    fn u64(self, i: usize, bits: usize) -> D<u64> {
        Ok(self.uint(i, bits)?.as_limbs()[0])
    }

    fn u128(self, i: usize) -> D<u128> {
        let v = self.uint(i, 128)?;
        let l = v.as_limbs();
        Ok(u128::from(l[1]) << 64 | u128::from(l[0]))
    }

    fn u48(self, i: usize) -> D<U48> {
        Ok(crate::reports::u48(u128::from(self.u64(i, 48)?))) // checked to 48 bits
    }

    fn i128(self, i: usize) -> D<i128> {
        let w = self.word(i)?;
        let mut low = [0u8; 16];
        low.copy_from_slice(&w[16..]);
        let v = i128::from_be_bytes(low);
        // The high half must be the sign extension.
        let ext = if v < 0 { 0xff } else { 0 };
        if w[..16].iter().any(|&b| b != ext) {
            return Err(Malformed);
        }
        Ok(v)
    }

    fn address(self, i: usize) -> D<Address> {
        let w = self.word(i)?;
        if w[..12].iter().any(|&b| b != 0) {
            return Err(Malformed);
        }
        Ok(Address::from_slice(&w[12..]))
    }

    fn b256(self, i: usize) -> D<B256> {
        Ok(B256::from(*self.word(i)?))
    }

    /// The tail a head offset at word `i` points to: `(len, words after the length)`, with
    /// `len * elem_words` words (or `len` bytes if `elem_words == 0`) in bounds.
    fn tail(self, i: usize, elem_words: usize) -> D<(usize, Words<'a>)> {
        let offset = usize::try_from(self.uint(i, 64)?).map_err(|_| Malformed)?;
        let len_region = Words(self.0.get(offset..).ok_or(Malformed)?);
        let len = usize::try_from(len_region.uint(0, 64)?).map_err(|_| Malformed)?;
        let body = len_region.0.get(32..).ok_or(Malformed)?;
        let needed = if elem_words == 0 {
            len
        } else {
            len.checked_mul(elem_words).and_then(|w| w.checked_mul(32)).ok_or(Malformed)?
        };
        if body.len() < needed {
            return Err(Malformed);
        }
        Ok((len, Words(body)))
    }

    /// Element `k` of an array of `elem_words`-word static elements.
    fn at(self, k: usize, elem_words: usize) -> Words<'a> {
        // In bounds: `tail` checked len * elem_words words.
        Words(&self.0[k * elem_words * 32..])
    }

    fn bytes(self, i: usize) -> D<&'a [u8]> {
        let (len, body) = self.tail(i, 0)?;
        Ok(&body.0[..len]) // tail checked len bytes
    }

    fn array<T>(self, i: usize, elem_words: usize, f: fn(Words<'a>) -> D<T>) -> D<Vec<T>> {
        let (len, body) = self.tail(i, elem_words)?;
        (0..len).map(|k| f(body.at(k, elem_words))).collect()
    }

    fn batch(self) -> D<ReportBatch> {
        Ok(ReportBatch {
            root: self.b256(0)?,
            observedBlock: self.u48(1)?,
            riskEpoch: self.u64(2, 32)? as u32, // checked to 32 bits
            count: self.u64(3, 32)? as u32,     // checked to 32 bits
        })
    }

    fn price(self) -> D<PriceReport> {
        Ok(PriceReport {
            asset: self.address(0)?,
            price: self.u128(1)?,
            observedBlock: self.u48(2)?,
        })
    }

    fn report(self) -> D<MarginReport> {
        Ok(MarginReport {
            account: self.address(0)?,
            positionsNonce: self.u48(1)?,
            riskEpoch: self.u64(2, 32)? as u32, // checked to 32 bits
            observedBlock: self.u48(3)?,
            portfolioValue: self.i128(4)?,
            initialMargin: self.u128(5)?,
            maintenanceMargin: self.u128(6)?,
        })
    }

    fn step(self) -> D<LiquidationStep> {
        Ok(LiquidationStep {
            account: self.address(0)?,
            positionsNonce: self.u48(1)?,
            riskEpoch: self.u64(2, 32)? as u32, // checked to 32 bits
            observedBlock: self.u48(3)?,
            instrumentId: self.b256(4)?,
            size: self.i128(5)?,
            markPrice: self.u128(6)?,
        })
    }

    fn leg(self) -> D<TradeLeg> {
        Ok(TradeLeg {
            account: self.address(0)?,
            instrumentId: self.b256(1)?,
            sizeDelta: self.i128(2)?,
            cashDelta: self.i128(3)?,
        })
    }

    fn change(self) -> D<ParamChange> {
        Ok(ParamChange {
            kind: self.u64(0, 8)? as u8, // checked to 8 bits
            target: self.address(1)?,
            value: self.uint(2, 256)?,
        })
    }

    fn b256_elem(self) -> D<B256> {
        self.b256(0)
    }

    fn address_elem(self) -> D<Address> {
        self.address(0)
    }

    fn u8_elem(self) -> D<u8> {
        Ok(self.u64(0, 8)? as u8) // checked to 8 bits
    }

    fn u16_elem(self) -> D<u16> {
        Ok(self.u64(0, 16)? as u16) // checked to 16 bits
    }

    fn offset(self, i: usize) -> Words<'a> {
        Words(self.0.get(i * 32..).unwrap_or_default())
    }
}

/// Return data of static words.
fn ret(words: &[[u8; 32]]) -> Vec<u8> {
    words.iter().flatten().copied().collect()
}

/// Return data of an `address[]`.
fn ret_addresses(list: &[Address]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 32 * list.len());
    out.extend_from_slice(&32u8.word());
    out.extend_from_slice(&list.len().word());
    for a in list {
        out.extend_from_slice(&a.word());
    }
    out
}

fn risk_params_words(p: &RiskParams) -> Vec<u8> {
    ret(&[
        p.liquidationThresholdBps.word(),
        p.liquidationPenaltyBps.word(),
        p.maxReportAgeBlocks.word(),
        p.maxPriceAgeBlocks.word(),
        p.timelockDelay.word(),
        p.liquidationNotionalCapPerBlock.word(),
    ])
}

const fn sel(selector: [u8; 4]) -> u32 {
    u32::from_be_bytes(selector)
}

macro_rules! selectors {
    ($($name:ident = $call:ident;)*) => {
        $(const $name: u32 = sel(I::$call::SELECTOR);)*
        /// Every selector this router serves (for the ABI test).
        pub const SELECTORS: &[u32] = &[$($name),*];
    };
}

selectors! {
    POST_BATCH = postBatchCall;
    ATTEST_ROOT = attestRootCall;
    POST_MARGIN_REPORT = postMarginReportCall;
    POST_PRICE_REPORT = postPriceReportCall;
    DEPOSIT = depositCall;
    WITHDRAW = withdrawCall;
    SETTLE_TRADE = settleTradeCall;
    LIQUIDATE = liquidateCall;
    PROPOSE_CHANGE = proposeChangeCall;
    EXECUTE_CHANGE = executeChangeCall;
    CANCEL_CHANGE = cancelChangeCall;
    LIST_INSTRUMENT = listInstrumentCall;
    PAUSE = pauseCall;
    UNPAUSE = unpauseCall;
    DOMAIN_SEPARATOR = domainSeparatorCall;
    RISK_EPOCH = riskEpochCall;
    KEEPERS = keepersCall;
    QUORUM = quorumCall;
    RISK_PARAMS = riskParamsCall;
    ROLES = rolesCall;
    PAUSED = pausedCall;
    IS_VENUE = isVenueCall;
    IS_INSTRUMENT_LISTED = isInstrumentListedCall;
    COLLATERAL_ASSETS = collateralAssetsCall;
    COLLATERAL_INFO = collateralInfoCall;
    COLLATERAL_BALANCE = collateralBalanceCall;
    POSITION_OF = positionOfCall;
    ACCOUNT_STATE = accountStateCall;
    MARGIN_REPORT_OF = marginReportOfCall;
    ACCOUNT_HEALTH = accountHealthCall;
    IS_LIQUIDATABLE = isLiquidatableCall;
    ATTESTED_ROOT = attestedRootCall;
    QUEUED_CHANGE_ETA = queuedChangeEtaCall;
    LIQUIDATED_NOTIONAL_THIS_BLOCK = liquidatedNotionalThisBlockCall;
    CLOCK_BLOCK = clockBlockCall;
    WITHDRAW_CASH = withdrawCashCall;
    REPAY_DEBT = repayDebtCall;
    SEIZE_COLLATERAL = seizeCollateralCall;
    RESOLVE_BAD_DEBT = resolveBadDebtCall;
    SETTLEMENT_STATE = settlementStateCall;
    COLLATERAL_STATUS = collateralStatusCall;
    OPEN_POSITIONS = openPositionsCall;
}

/// Runs the constructor on its ABI-encoded arguments (no selector).
pub fn construct(engine: &mut MarginEngine, args: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    let a = Words(args);
    let decoded = (|| -> D<_> {
        let params = a.offset(5);
        Ok((
            a.address(0)?,
            a.address(1)?,
            a.address(2)?,
            a.array(3, 1, Words::address_elem)?,
            a.u64(4, 8)? as u8, // checked to 8 bits
            RiskParams {
                liquidationThresholdBps: params.u64(0, 16)? as u16, // checked to 16 bits
                liquidationPenaltyBps: params.u64(1, 16)? as u16,   // checked to 16 bits
                maxReportAgeBlocks: params.u64(2, 32)? as u32,      // checked to 32 bits
                maxPriceAgeBlocks: params.u64(3, 32)? as u32,       // checked to 32 bits
                timelockDelay: params.u64(4, 32)? as u32,           // checked to 32 bits
                liquidationNotionalCapPerBlock: params.u128(5)?,
            },
            a.array(11, 1, Words::address_elem)?,
            a.array(12, 1, Words::u8_elem)?,
            a.array(13, 1, Words::u16_elem)?,
            a.array(14, 1, Words::address_elem)?,
        ))
    })();
    let Ok((admin, council, guardian, keepers, quorum, params, assets, decimals, weights, venues)) =
        decoded
    else {
        return Err(Vec::new());
    };
    engine
        ._init(
            admin, council, guardian, &keepers, quorum, &params, &assets, &decimals, &weights,
            &venues,
        )
        .map(|()| Vec::new())
        .map_err(Vec::from)
}

/// The cooperating contracts the deployed engine delegates to (see `docs/stylus.md`): the
/// engine's code serves collateral, cash, trades and every view; the verifier module the
/// quorum-signed reports (batches, roots, proven reports and prices); the settlement module
/// liquidation, seizure and bad debt; the admin module governance and the constructor. All four
/// share the engine's storage (layout in [`crate::store`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// postBatch, attestRoot, postMarginReport, postPriceReport.
    Verifier,
    /// proposeChange, executeChange, cancelChange, listInstrument, pause, unpause, constructor.
    Admin,
    /// liquidate, seizeCollateral, resolveBadDebt.
    Settlement,
}

/// The module serving `selector` in the deployed split (`None`: the engine's own code).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn module_of(selector: u32) -> Option<Module> {
    match selector {
        POST_BATCH | ATTEST_ROOT | POST_MARGIN_REPORT | POST_PRICE_REPORT => Some(Module::Verifier),
        LIQUIDATE | SEIZE_COLLATERAL | RESOLVE_BAD_DEBT => Some(Module::Settlement),
        PROPOSE_CHANGE | EXECUTE_CHANGE | CANCEL_CHANGE | LIST_INSTRUMENT | PAUSE | UNPAUSE => {
            Some(Module::Admin)
        }
        _ => None,
    }
}

/// `0x` and 40 hex digits as an address, at compile time (a malformed one fails the build).
const fn parse_address(text: Option<&str>) -> Option<Address> {
    let Some(text) = text else { return None };
    let b = text.as_bytes();
    assert!(b.len() == 42 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X'), "0x + 40 hex digits");
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 40 {
        let c = b[2 + i];
        let nibble = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("0x + 40 hex digits"),
        };
        out[i / 2] |= nibble << (4 * (1 - i % 2));
        i += 1;
    }
    Some(Address::new(out))
}

impl Module {
    /// The module's address, fixed when the engine is built (`MARGIN_ENGINE_VERIFIER_MODULE`,
    /// `MARGIN_ENGINE_ADMIN_MODULE`, `MARGIN_ENGINE_SETTLEMENT_MODULE`); `None` if the build did
    /// not set it.
    pub const fn address(self) -> Option<Address> {
        match self {
            Module::Verifier => parse_address(option_env!("MARGIN_ENGINE_VERIFIER_MODULE")),
            Module::Admin => parse_address(option_env!("MARGIN_ENGINE_ADMIN_MODULE")),
            Module::Settlement => parse_address(option_env!("MARGIN_ENGINE_SETTLEMENT_MODULE")),
        }
    }
}

/// Runs `calldata` in a module's code on the engine's storage (delegatecall, after flushing and
/// clearing the storage cache); the module's return or revert data is the call's. Reverts with
/// empty data if the engine was built without the module's address.
pub fn forward<H: stylus_sdk::stylus_core::Host + ?Sized>(
    host: &H,
    module: Option<Address>,
    calldata: &[u8],
) -> Result<Vec<u8>, Vec<u8>> {
    let Some(module) = module else {
        return Err(Vec::new());
    };
    // delegatecall: the module is the engine's own code, deployed with it, sharing its layout.
    #[allow(unsafe_code)]
    unsafe {
        stylus_sdk::call::RawCall::new_delegate(host).clear_storage_cache().call(module, calldata)
    }
}

/// Dispatches one call (selector and arguments) with the given signature recovery. In the
/// deployed engine, the modules' selectors are delegated ([`module_of`], [`forward`]).
pub fn dispatch<R: Ecrecover>(
    engine: &mut MarginEngine,
    recover: &mut R,
    calldata: &[u8],
) -> Result<Vec<u8>, Vec<u8>> {
    #[cfg(all(target_arch = "wasm32", engine_module))]
    if let Some(module) =
        calldata.get(..4).and_then(|s| s.try_into().ok()).and_then(|s| module_of(sel(s)))
    {
        use stylus_sdk::stylus_core::HostAccess;
        return forward(engine.vm(), module.address(), calldata);
    }
    match route(engine, recover, calldata) {
        Ok(result) => result.map_err(Vec::from),
        Err(Malformed) => Err(Vec::new()),
    }
}

// Each arm is compiled into the builds that serve it: `engine_module`, `serves_verifier`,
// `serves_admin`, `serves_settlement` (set by build.rs from the module features).
#[cfg_attr(target_arch = "wasm32", allow(unused_variables))] // an artifact may serve no batch
fn route<R: Ecrecover>(
    e: &mut MarginEngine,
    recover: &mut R,
    calldata: &[u8],
) -> D<Result<Vec<u8>, crate::EngineError>> {
    let selector: [u8; 4] = calldata.get(..4).and_then(|s| s.try_into().ok()).ok_or(Malformed)?;
    let a = Words(&calldata[4..]); // at least 4 bytes: checked above
    let none = |r: Result<(), crate::EngineError>| r.map(|()| Vec::new());
    Ok(match sel(selector) {
        #[cfg(serves_verifier)]
        POST_BATCH => {
            let batch = a.batch()?;
            let signatures = a.bytes(4)?;
            let prices = a.array(5, 3, Words::price)?;
            let reports = a.array(6, 7, Words::report)?;
            let other = a.array(7, 1, Words::b256_elem)?;
            none(e.post_batch_with(recover, batch, signatures, &prices, &reports, &other))
        }
        #[cfg(serves_verifier)]
        ATTEST_ROOT => {
            let batch = a.batch()?;
            let signatures = a.bytes(4)?;
            none(e.attest_root_with(recover, batch, signatures))
        }
        #[cfg(serves_verifier)]
        POST_MARGIN_REPORT => {
            let (report, root, proof) = (a.report()?, a.b256(7)?, a.array(8, 1, Words::b256_elem)?);
            none(e.post_margin_report(report, root, proof))
        }
        #[cfg(serves_verifier)]
        POST_PRICE_REPORT => {
            let (price, root, proof) = (a.price()?, a.b256(3)?, a.array(4, 1, Words::b256_elem)?);
            none(e.post_price_report(price, root, proof))
        }
        #[cfg(engine_module)]
        DEPOSIT => none(e.deposit(a.address(0)?, a.uint(1, 256)?)),
        #[cfg(engine_module)]
        WITHDRAW => none(e.withdraw(a.address(0)?, a.uint(1, 256)?)),
        #[cfg(engine_module)]
        SETTLE_TRADE => none(e.settle_trade(a.array(0, 4, Words::leg)?)),
        #[cfg(serves_settlement)]
        LIQUIDATE => {
            let (step, root, proof) = (a.step()?, a.b256(7)?, a.array(8, 1, Words::b256_elem)?);
            none(e.liquidate(step, root, proof))
        }
        #[cfg(serves_admin)]
        PROPOSE_CHANGE => {
            e.propose_change(a.change()?).map(|(id, applied)| ret(&[id.word(), applied.word()]))
        }
        #[cfg(serves_admin)]
        EXECUTE_CHANGE => none(e.execute_change(a.change()?, a.u64(3, 64)?)),
        #[cfg(serves_admin)]
        CANCEL_CHANGE => none(e.cancel_change(a.b256(0)?)),
        #[cfg(serves_admin)]
        LIST_INSTRUMENT => {
            let (id, spec) = (a.b256(0)?, a.bytes(1)?);
            none(e.list_instrument(id, Bytes::from(spec.to_vec())))
        }
        #[cfg(serves_admin)]
        PAUSE => none(e.pause()),
        #[cfg(serves_admin)]
        UNPAUSE => none(e.unpause()),
        #[cfg(engine_module)]
        DOMAIN_SEPARATOR => Ok(ret(&[e.domain_separator().word()])),
        #[cfg(engine_module)]
        RISK_EPOCH => Ok(ret(&[e.risk_epoch().word()])),
        #[cfg(engine_module)]
        KEEPERS => Ok(ret_addresses(&e.keepers())),
        #[cfg(engine_module)]
        QUORUM => Ok(ret(&[e.quorum().word()])),
        #[cfg(engine_module)]
        RISK_PARAMS => Ok(risk_params_words(&e.risk_params())),
        #[cfg(engine_module)]
        ROLES => {
            let (admin, council, guardian) = e.roles();
            Ok(ret(&[admin.word(), council.word(), guardian.word()]))
        }
        #[cfg(engine_module)]
        PAUSED => Ok(ret(&[e.paused().word()])),
        #[cfg(engine_module)]
        IS_VENUE => Ok(ret(&[e.is_venue(a.address(0)?).word()])),
        #[cfg(engine_module)]
        IS_INSTRUMENT_LISTED => Ok(ret(&[e.is_instrument_listed(a.b256(0)?).word()])),
        #[cfg(engine_module)]
        COLLATERAL_ASSETS => Ok(ret_addresses(&e.collateral_assets())),
        #[cfg(engine_module)]
        COLLATERAL_INFO => {
            let i = e.collateral_info(a.address(0)?);
            Ok(ret(&[
                i.listed.word(),
                i.decimals.word(),
                i.weightBps.word(),
                i.price.word(),
                i.priceBlock.word(),
            ]))
        }
        #[cfg(engine_module)]
        COLLATERAL_BALANCE => Ok(ret(&[e.collateral_balance(a.address(0)?, a.address(1)?).word()])),
        #[cfg(engine_module)]
        POSITION_OF => Ok(ret(&[e.position_of(a.address(0)?, a.b256(1)?).word()])),
        #[cfg(engine_module)]
        ACCOUNT_STATE => {
            e.account_state(a.address(0)?).map(|(nonce, cash, last): (U48, I256, U48)| {
                ret(&[nonce.word(), cash.word(), last.word()])
            })
        }
        #[cfg(engine_module)]
        MARGIN_REPORT_OF => {
            let r = e.margin_report_of(a.address(0)?);
            Ok(ret(&[
                r.portfolioValue.word(),
                r.observedBlock.word(),
                r.riskEpoch.word(),
                r.positionsNonce.word(),
                r.initialMargin.word(),
                r.maintenanceMargin.word(),
            ]))
        }
        #[cfg(engine_module)]
        ACCOUNT_HEALTH => e.account_health(a.address(0)?).map(|h| {
            ret(&[
                h.weightedCollateralValue.word(),
                h.cash.word(),
                h.portfolioValue.word(),
                h.equity.word(),
                h.initialMargin.word(),
                h.maintenanceMargin.word(),
                h.marginRatioBps.word(),
                h.reportFresh.word(),
                h.pricesFresh.word(),
                h.liquidatable.word(),
            ])
        }),
        #[cfg(engine_module)]
        IS_LIQUIDATABLE => e.is_liquidatable(a.address(0)?).map(|b| ret(&[b.word()])),
        #[cfg(engine_module)]
        ATTESTED_ROOT => {
            let (block, epoch) = e.attested_root(a.b256(0)?);
            Ok(ret(&[block.word(), epoch.word()]))
        }
        #[cfg(engine_module)]
        QUEUED_CHANGE_ETA => Ok(ret(&[e.queued_change_eta(a.b256(0)?).word()])),
        #[cfg(engine_module)]
        LIQUIDATED_NOTIONAL_THIS_BLOCK => Ok(ret(&[e.liquidated_notional_this_block().word()])),
        #[cfg(engine_module)]
        CLOCK_BLOCK => Ok(ret(&[e.clock_block().word()])),
        #[cfg(engine_module)]
        WITHDRAW_CASH => none(e.withdraw_cash(a.uint(0, 256)?)),
        #[cfg(engine_module)]
        REPAY_DEBT => none(e.repay_debt(a.uint(0, 256)?)),
        #[cfg(serves_settlement)]
        SEIZE_COLLATERAL => none(e.seize_collateral(a.address(0)?, a.address(1)?, a.uint(2, 256)?)),
        #[cfg(serves_settlement)]
        RESOLVE_BAD_DEBT => none(e.resolve_bad_debt(a.address(0)?)),
        #[cfg(engine_module)]
        SETTLEMENT_STATE => e.settlement_state().map(|s| {
            ret(&[
                s.settlementAsset.word(),
                s.cashReserve.word(),
                s.insuranceFund.word(),
                s.socialisedLoss.word(),
                s.totalPositiveCash.word(),
                s.positiveCashRate.word(),
                s.seizureDiscountBps.word(),
                s.insuranceShareBps.word(),
                s.liquidatorMarginBps.word(),
            ])
        }),
        #[cfg(engine_module)]
        COLLATERAL_STATUS => {
            let (winding_down, engine_balance) = e.collateral_status(a.address(0)?);
            Ok(ret(&[winding_down.word(), engine_balance.word()]))
        }
        #[cfg(engine_module)]
        OPEN_POSITIONS => Ok(ret(&[e.open_positions(a.address(0)?).word()])),
        _ => return Err(Malformed),
    })
}
