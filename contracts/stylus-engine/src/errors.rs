//! Every revert of the engine: a custom error of `IMarginEngine.sol`, built from the shared
//! crate's `sol!` error struct and held as its revert data, encoded by hand (selector, then one
//! word per field: every error parameter is a static type). Holding the bytes rather than an
//! enum of every error keeps `Result`s a pointer wide and the contract small; a test checks the
//! encoding against alloy's for every error.

use alloc::vec::Vec;

use margin_types::abi::IMarginEngineErrors as E;
use margin_types::ProtocolError;
use stylus_sdk::alloy_primitives::U256;
use stylus_sdk::alloy_sol_types::SolError;

use crate::words::Word;

macro_rules! engine_errors {
    ($($name:ident { $($field:ident),* }),* $(,)?) => {
        $(impl From<E::$name> for EngineError {
            fn from(_e: E::$name) -> Self {
                encode(E::$name::SELECTOR, &[$(_e.$field.word()),*])
            }
        })*

        /// The engine error for a decoded interface error (tests).
        #[cfg(test)]
        fn from_sol(error: E::IMarginEngineErrorsErrors) -> EngineError {
            match error {
                $(E::IMarginEngineErrorsErrors::$name(e) => e.into(),)*
            }
        }

        /// The interface signatures of every error, for `export-abi`.
        #[cfg(feature = "export-abi")]
        impl stylus_sdk::abi::export::internal::InnerTypes for EngineError {
            fn inner_types() -> Vec<stylus_sdk::abi::export::internal::InnerType> {
                use alloc::format;
                use core::any::TypeId;
                use stylus_sdk::abi::export::internal::InnerType;
                alloc::vec![$(InnerType {
                    name: format!("error {};", E::$name::SIGNATURE.replace(',', ", ")),
                    id: TypeId::of::<E::$name>(),
                }),*]
            }
        }
    };
}

engine_errors! {
    NotAdmin { caller },
    NotRiskCouncilOrAdmin { caller },
    NotPauseGuardianOrAdmin { caller },
    NotVenue { caller },
    EnginePaused {  },
    ZeroAddress {  },
    ArithmeticOverflow {  },
    MalformedSignatures { length },
    InvalidSignatureV { index, v },
    SignatureSHigh { index, s },
    InvalidSignature { index },
    SignersNotAscending { previous, signer },
    UnknownKeeper { signer },
    QuorumNotMet { signers, quorum },
    WrongRiskEpoch { expected, provided },
    StaleReport { observedBlock, currentBlock },
    FutureReport { observedBlock, currentBlock },
    LeafBlockMismatch { batchBlock, leafBlock },
    CountMismatch { signedCount, leaves },
    RootMismatch { signedRoot, computedRoot },
    UnknownRoot { root },
    InvalidProof { root, leaf },
    NonceMismatch { account, expected, provided },
    ReportNotNewer { account, storedBlock, observedBlock },
    InvalidMarginReport { account },
    PriceNotNewer { asset, storedBlock, observedBlock },
    InvalidPrice { asset },
    NoFreshReport { account },
    StalePrice { asset, priceBlock },
    AssetNotListed { asset },
    ZeroAmount {  },
    InsufficientCollateral { account, asset, balance, amount },
    TokenTransferFailed { token },
    BelowInitialMargin { account, equity, initialMargin },
    EmptyTrade {  },
    InstrumentNotListed { instrumentId },
    InstrumentAlreadyListed { instrumentId },
    LegsNotSorted { index },
    SizeNotConserved { instrumentId, imbalance },
    CashNotConserved { imbalance },
    SelfLiquidation { account },
    NotLiquidatable { account, equity, maintenanceRequirement },
    LiquidationAlreadyThisBlock { account },
    LiquidationIncreasesRisk { account, instrumentId, position, size },
    LiquidationCapExceeded { usedThisBlock, notional, cap },
    ParameterOutOfBounds { kind, value, min, max },
    UnknownChangeKind { kind },
    ChangeAlreadyQueued { changeId },
    ChangeNotQueued { changeId },
    TimelockNotElapsed { changeId, eta },
    ChangeExpired { changeId, eta },
    KeeperAlreadyRegistered { keeper },
    KeeperNotRegistered { keeper },
    TooManyKeepers { max },
    QuorumOutOfRange { quorum, keepers },
    AssetAlreadyListed { asset },
    TooManyCollateralAssets { max },
    AssetDelisted { asset },
    SettlementAssetFixed { asset },
    InsufficientCash { account, cash, amount },
    InsufficientCashReserve { available, amount },
    NoDebt { account },
    RepayExceedsDebt { account, debt, amount },
    SeizureOutOfOrder { asset, expected },
    NotBadDebt { account },
    StepOlderThanReport { account, reportBlock, stepBlock },
    LiquidatorBelowMaintenance { liquidator, equityAfter, requirementAfter },
    AccountLiquidatable { account },
}

/// A revert of the engine: the ABI-encoded custom error (selector, then its words).
#[derive(Debug, PartialEq, Eq)]
pub struct EngineError(Vec<u8>);

impl From<EngineError> for Vec<u8> {
    fn from(error: EngineError) -> Self {
        error.0
    }
}

/// Revert data: the 4-byte selector, then the words.
#[inline(never)]
fn encode(selector: [u8; 4], words: &[[u8; 32]]) -> EngineError {
    let mut out = Vec::with_capacity(4 + 32 * words.len());
    out.extend_from_slice(&selector);
    for word in words {
        out.extend_from_slice(word);
    }
    EngineError(out)
}

/// Result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;

/// `ArithmeticOverflow()`: the one error every checked operation maps to.
pub fn overflow() -> EngineError {
    E::ArithmeticOverflow {}.into()
}

impl From<ProtocolError> for EngineError {
    fn from(error: ProtocolError) -> Self {
        let n = |x: usize| U256::from(x);
        match error {
            ProtocolError::MalformedSignatures { length } => {
                E::MalformedSignatures { length: n(length) }.into()
            }
            ProtocolError::InvalidSignatureV { index, v } => {
                E::InvalidSignatureV { index: n(index), v }.into()
            }
            ProtocolError::SignatureSHigh { index, s } => {
                E::SignatureSHigh { index: n(index), s }.into()
            }
            ProtocolError::InvalidSignature { index } => {
                E::InvalidSignature { index: n(index) }.into()
            }
            ProtocolError::SignersNotAscending { previous, signer } => {
                E::SignersNotAscending { previous, signer }.into()
            }
            ProtocolError::UnknownKeeper { signer } => E::UnknownKeeper { signer }.into(),
            ProtocolError::QuorumNotMet { signers, quorum } => {
                E::QuorumNotMet { signers: n(signers), quorum: n(quorum) }.into()
            }
            // Host-side errors (proof building, key parsing) never arise on-chain.
            ProtocolError::LeafIndexOutOfRange { .. } | ProtocolError::InvalidPrivateKey => {
                overflow()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stylus_sdk::alloy_sol_types::SolInterface;

    #[test]
    fn every_error_encodes_as_alloy_does() {
        let mut checked = 0;
        for selector in E::IMarginEngineErrorsErrors::selectors() {
            // Distinct small words (valid for every parameter type): the first arity whose
            // canonical re-encoding round-trips is the error's.
            let found = (0..6).find_map(|n| {
                let mut data = selector.to_vec();
                for k in 0..n {
                    data.extend_from_slice(&(k as u64 + 1).word());
                }
                let decoded = E::IMarginEngineErrorsErrors::abi_decode_validate(&data).ok()?;
                (decoded.abi_encode() == data).then_some((decoded, data))
            });
            let (decoded, data) = found.expect("every error decodes at some arity");
            assert_eq!(Vec::<u8>::from(from_sol(decoded)), data);
            checked += 1;
        }
        assert_eq!(checked, 68);
    }
}
