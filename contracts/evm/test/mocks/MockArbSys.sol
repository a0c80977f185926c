// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A stand-in for Arbitrum's ArbSys precompile, placed at 0x64 with `vm.etch` (forge) or
///         `anvil_setCode` (keeper and host tests). `arbBlockNumber()` is the L2 block number; on
///         Arbitrum it is about 1e8 while `block.number` (the L1 estimate) is about 2e7. Here it is
///         `block.number + L2_OFFSET + extraL2Blocks`, so an engine that reads `block.number` where it
///         should read the L2 clock is off by 1e8 and every batch reverts.
/// @dev No constructor state: etched code starts with zero storage.
contract MockArbSys {
    /// @notice The distance between the mocked L2 number and `block.number`.
    uint256 public constant L2_OFFSET = 100_000_000;

    /// @notice L2 blocks produced on top of the offset without an L1 block moving (many L2 blocks
    ///         share one L1 number on Arbitrum).
    uint256 public extraL2Blocks;

    /// @notice The L2 block number.
    function arbBlockNumber() external view returns (uint256) {
        return block.number + L2_OFFSET + extraL2Blocks;
    }

    /// @notice Advances the L2 clock by `blocks` while `block.number` stays.
    function advanceL2(uint256 blocks) external {
        extraL2Blocks += blocks;
    }
}
