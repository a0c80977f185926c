//! `sol!` bindings generated from `solidity-interfaces/IMarginEngine.sol` itself.
//!
//! Nothing here is written by hand: a change to the interface file changes these types, and the
//! Stylus ABI-drift test compares the contract's exported ABI with the same file.
#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    "../../solidity-interfaces/IMarginEngine.sol"
);

alloy_sol_types::sol! {
    /// The engine's constructor, as a function so that its arguments can be ABI-encoded
    /// exactly (`RiskParams` spelled as its tuple: one `sol!` cannot see another's structs).
    #[sol(all_derives)]
    function constructorArgs(
        address admin,
        address riskCouncil,
        address pauseGuardian,
        address[] keepers,
        uint8 quorum,
        (uint16, uint16, uint32, uint32, uint32, uint128) params,
        address[] collateralAssets,
        uint8[] collateralDecimals,
        uint16[] collateralWeightsBps,
        address[] venues
    );
}

/// The engine's constructor arguments, ABI-encoded as Solidity's `abi.encode` of them (what
/// follows the creation code).
#[allow(clippy::too_many_arguments)]
pub fn encode_constructor_args(
    admin: alloy_primitives::Address,
    risk_council: alloy_primitives::Address,
    pause_guardian: alloy_primitives::Address,
    keepers: alloc::vec::Vec<alloy_primitives::Address>,
    quorum: u8,
    params: &RiskParams,
    collateral_assets: alloc::vec::Vec<alloy_primitives::Address>,
    collateral_decimals: alloc::vec::Vec<u8>,
    collateral_weights_bps: alloc::vec::Vec<u16>,
    venues: alloc::vec::Vec<alloy_primitives::Address>,
) -> alloc::vec::Vec<u8> {
    use alloy_sol_types::SolCall;
    let call = constructorArgsCall {
        admin,
        riskCouncil: risk_council,
        pauseGuardian: pause_guardian,
        keepers,
        quorum,
        params: (
            params.liquidationThresholdBps,
            params.liquidationPenaltyBps,
            params.maxReportAgeBlocks,
            params.maxPriceAgeBlocks,
            params.timelockDelay,
            params.liquidationNotionalCapPerBlock,
        ),
        collateralAssets: collateral_assets,
        collateralDecimals: collateral_decimals,
        collateralWeightsBps: collateral_weights_bps,
        venues,
    };
    call.abi_encode()[4..].to_vec()
}
