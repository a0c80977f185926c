//! The interface's structs, bound for the Stylus router.
//!
//! `margin_types::abi` binds the same structs from `solidity-interfaces/IMarginEngine.sol`, but the
//! router needs `AbiType` on every argument and return type, which only `#[derive(AbiType)]` on
//! the `sol!` item gives (the orphan rule forbids implementing it on the shared types). So the
//! structs are re-declared here, field for field; `From` conversions (field copies) hand them to
//! the shared crate for hashing, and the ABI-drift test proves the two declarations encode alike.
#![allow(missing_docs, clippy::too_many_arguments)]

use stylus_sdk::prelude::AbiType;

alloy_sol_types::sol! {
    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct ReportBatch { bytes32 root; uint48 observedBlock; uint32 riskEpoch; uint32 count; }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct PriceReport { address asset; uint128 price; uint48 observedBlock; }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct MarginReport {
        address account; uint48 positionsNonce; uint32 riskEpoch; uint48 observedBlock;
        int128 portfolioValue; uint128 initialMargin; uint128 maintenanceMargin;
    }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct LiquidationStep {
        address account; uint48 positionsNonce; uint32 riskEpoch; uint48 observedBlock;
        bytes32 instrumentId; int128 size; uint128 markPrice;
    }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct TradeLeg { address account; bytes32 instrumentId; int128 sizeDelta; int128 cashDelta; }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct ParamChange { uint8 kind; address target; uint256 value; }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct RiskParams {
        uint16 liquidationThresholdBps; uint16 liquidationPenaltyBps; uint32 maxReportAgeBlocks;
        uint32 maxPriceAgeBlocks; uint32 timelockDelay; uint128 liquidationNotionalCapPerBlock;
    }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct CollateralInfo { bool listed; uint8 decimals; uint16 weightBps; uint128 price; uint48 priceBlock; }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct StoredMarginReport {
        int128 portfolioValue; uint48 observedBlock; uint32 riskEpoch; uint48 positionsNonce;
        uint128 initialMargin; uint128 maintenanceMargin;
    }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct SettlementState {
        address settlementAsset; uint256 cashReserve; uint256 insuranceFund; uint256 socialisedLoss;
        uint256 totalPositiveCash; uint256 positiveCashRate; uint16 seizureDiscountBps;
        uint16 insuranceShareBps; uint16 liquidatorMarginBps;
    }

    #[derive(Debug, PartialEq, Eq, AbiType)]
    struct AccountHealth {
        uint256 weightedCollateralValue; int256 cash; int256 portfolioValue; int256 equity;
        uint256 initialMargin; uint256 maintenanceMargin; uint256 marginRatioBps;
        bool reportFresh; bool pricesFresh; bool liquidatable;
    }
}

/// Field-for-field conversions in both directions between these structs and the shared ones.
macro_rules! same_fields {
    ($($name:ident { $($field:ident),* $(,)? })*) => {$(
        impl From<&$name> for margin_types::abi::$name {
            fn from(v: &$name) -> Self { Self { $($field: v.$field),* } }
        }
        impl From<margin_types::abi::$name> for $name {
            fn from(v: margin_types::abi::$name) -> Self { Self { $($field: v.$field),* } }
        }
        impl From<$name> for margin_types::abi::$name {
            fn from(v: $name) -> Self { Self { $($field: v.$field),* } }
        }
    )*};
}

same_fields! {
    ReportBatch { root, observedBlock, riskEpoch, count }
    PriceReport { asset, price, observedBlock }
    MarginReport { account, positionsNonce, riskEpoch, observedBlock, portfolioValue, initialMargin, maintenanceMargin }
    LiquidationStep { account, positionsNonce, riskEpoch, observedBlock, instrumentId, size, markPrice }
    TradeLeg { account, instrumentId, sizeDelta, cashDelta }
    ParamChange { kind, target, value }
    RiskParams { liquidationThresholdBps, liquidationPenaltyBps, maxReportAgeBlocks, maxPriceAgeBlocks, timelockDelay, liquidationNotionalCapPerBlock }
    CollateralInfo { listed, decimals, weightBps, price, priceBlock }
    StoredMarginReport { portfolioValue, observedBlock, riskEpoch, positionsNonce, initialMargin, maintenanceMargin }
    SettlementState { settlementAsset, cashReserve, insuranceFund, socialisedLoss, totalPositiveCash, positiveCashRate, seizureDiscountBps, insuranceShareBps, liquidatorMarginBps }
    AccountHealth { weightedCollateralValue, cash, portfolioValue, equity, initialMargin, maintenanceMargin, marginRatioBps, reportFresh, pricesFresh, liquidatable }
}
