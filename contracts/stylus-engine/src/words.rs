//! ABI words by hand: the one-word encoding of every static type the engine's errors, events and
//! return values carry, and log emission. Hand-written because alloy's generic encoders cost
//! kilobytes of WASM per type; tests compare every error and event with alloy's encoding.

use alloc::vec::Vec;

use margin_types::abi::IMarginEngineEvents as Ev;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, FixedBytes, I256, U256};
use stylus_sdk::alloy_sol_types::SolEvent;
use stylus_sdk::stylus_core::RawLogAccess;

/// A value as one 32-byte ABI word.
pub trait Word {
    /// The word.
    fn word(&self) -> [u8; 32];
}

impl Word for Address {
    fn word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(self.as_slice());
        w
    }
}

impl Word for U256 {
    fn word(&self) -> [u8; 32] {
        self.to_be_bytes::<32>()
    }
}

impl Word for I256 {
    fn word(&self) -> [u8; 32] {
        self.into_raw().to_be_bytes::<32>()
    }
}

impl Word for FixedBytes<32> {
    fn word(&self) -> [u8; 32] {
        self.0
    }
}

/// `bytes4` is left-aligned.
impl Word for FixedBytes<4> {
    fn word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[..4].copy_from_slice(self.as_slice());
        w
    }
}

impl Word for U48 {
    fn word(&self) -> [u8; 32] {
        self.as_limbs()[0].word()
    }
}

impl Word for bool {
    fn word(&self) -> [u8; 32] {
        u64::from(*self).word()
    }
}

macro_rules! unsigned_word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            fn word(&self) -> [u8; 32] {
                let mut w = [0u8; 32];
                w[16..].copy_from_slice(&(*self as u128).to_be_bytes());
                w
            }
        }
    )*};
}
unsigned_word!(u8, u16, u32, u64, u128, usize);

impl Word for i128 {
    fn word(&self) -> [u8; 32] {
        // Sign-extended to 256 bits.
        let mut w = if *self < 0 { [0xffu8; 32] } else { [0u8; 32] };
        w[16..].copy_from_slice(&self.to_be_bytes());
        w
    }
}

/// An event the engine emits.
pub trait Emit {
    /// Emits the log.
    fn emit_on(&self, vm: &dyn RawLogAccess);
}

/// Emits `event` on `vm`.
pub fn emit<H: RawLogAccess>(vm: &H, event: impl Emit) {
    event.emit_on(vm);
}

/// A log: topics, then data words.
fn log(vm: &dyn RawLogAccess, topics: &[[u8; 32]], data: &[[u8; 32]]) {
    let mut bytes = Vec::with_capacity(32 * (topics.len() + data.len()));
    for word in topics.iter().chain(data) {
        bytes.extend_from_slice(word);
    }
    vm.emit_log(&bytes, topics.len());
}

macro_rules! events {
    ($($name:ident [$($topic:ident),*] [$($data:ident),*];)*) => {$(
        impl Emit for Ev::$name {
            fn emit_on(&self, vm: &dyn RawLogAccess) {
                log(vm, &[Ev::$name::SIGNATURE_HASH.0, $(self.$topic.word()),*], &[$(self.$data.word()),*]);
            }
        }
    )*};
}

events! {
    CollateralDeposited [account, asset] [amount];
    CollateralWithdrawn [account, asset] [amount];
    PositionChanged [account, instrumentId] [sizeDelta, cashDelta, newSize, positionsNonce];
    TradeSettled [venue] [legs];
    RootAttested [root] [observedBlock, riskEpoch, count];
    BatchPosted [root] [observedBlock, pricesAccepted, reportsAccepted, skipped];
    MarginReportProven [account, root] [observedBlock];
    MarginReportSkipped [account] [reason];
    PriceSkipped [asset] [reason];
    PriceUpdated [asset] [price, observedBlock];
    LiquidationExecuted [account, liquidator, instrumentId] [size, markPrice, notional, penalty];
    ChangeQueued [changeId, kind] [target, value, eta];
    ChangeApplied [changeId, kind] [target, value];
    ChangeCancelled [changeId] [];
    RiskEpochBumped [] [riskEpoch];
    EnginePausedBy [by] [];
    EngineUnpausedBy [by] [];
    CashWithdrawn [account] [cashAmount, tokenAmount];
    DebtRepaid [account] [cashAmount];
    CollateralSeized [account, liquidator, asset] [seized, debtRepaid];
    InsuranceFundCredited [account] [amount, fundBalance];
    BadDebtResolved [account] [debt, coveredByFund, socialised, positiveCashRate];
}

/// `InstrumentListed(bytes32 indexed instrumentId, bytes spec)`: the one event with dynamic data.
impl Emit for Ev::InstrumentListed {
    fn emit_on(&self, vm: &dyn RawLogAccess) {
        let spec = self.spec.as_ref();
        let mut bytes = Vec::with_capacity(32 * 4 + spec.len() + 32);
        bytes.extend_from_slice(&Ev::InstrumentListed::SIGNATURE_HASH.0);
        bytes.extend_from_slice(&self.instrumentId.0);
        bytes.extend_from_slice(&32u8.word());
        bytes.extend_from_slice(&spec.len().word());
        bytes.extend_from_slice(spec);
        bytes.resize(bytes.len() + (32 - spec.len() % 32) % 32, 0);
        vm.emit_log(&bytes, 2);
    }
}
