//! Every revert of the engine: one variant per custom error of `IMarginEngine.sol`, carrying the
//! shared crate's `sol!` error struct, so the revert data is exactly the interface's encoding.

use margin_types::abi::IMarginEngineErrors as E;
use margin_types::ProtocolError;
use stylus_sdk::alloy_primitives::U256;
use stylus_sdk::prelude::SolidityError;

macro_rules! engine_errors {
    ($($name:ident),* $(,)?) => {
        /// A revert of the engine (one variant per interface error).
        #[derive(SolidityError, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum EngineError { $($name(E::$name)),* }
    };
}

engine_errors! {
    NotAdmin, NotRiskCouncilOrAdmin, NotPauseGuardianOrAdmin, NotVenue, EnginePaused, ZeroAddress,
    ArithmeticOverflow, MalformedSignatures, InvalidSignatureV, SignatureSHigh, InvalidSignature,
    SignersNotAscending, UnknownKeeper, QuorumNotMet, WrongRiskEpoch, StaleReport, FutureReport,
    LeafBlockMismatch, CountMismatch, RootMismatch, UnknownRoot, InvalidProof, NonceMismatch,
    ReportNotNewer, InvalidMarginReport, PriceNotNewer, InvalidPrice, NoFreshReport, StalePrice,
    AssetNotListed, ZeroAmount, InsufficientCollateral, TokenTransferFailed, BelowInitialMargin,
    EmptyTrade, InstrumentNotListed, InstrumentAlreadyListed, LegsNotSorted, SizeNotConserved,
    CashNotConserved, SelfLiquidation, NotLiquidatable, LiquidationAlreadyThisBlock,
    LiquidationIncreasesRisk, LiquidationCapExceeded, ParameterOutOfBounds, UnknownChangeKind,
    ChangeAlreadyQueued, ChangeNotQueued, TimelockNotElapsed, ChangeExpired,
    KeeperAlreadyRegistered, KeeperNotRegistered, TooManyKeepers, QuorumOutOfRange,
    AssetAlreadyListed, TooManyCollateralAssets,
}

/// Result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;

/// `ArithmeticOverflow()`: the one error every checked operation maps to.
pub fn overflow() -> EngineError {
    EngineError::ArithmeticOverflow(E::ArithmeticOverflow {})
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
