// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SettlementTest} from "./Settlement.t.sol";
import {MockArbSys} from "../mocks/MockArbSys.sol";
import {IMarginEngineErrors as E, LiquidationStep} from "@interfaces/IMarginEngine.sol";

/// @title Every settlement test again on an Arbitrum-like chain: ArbSys at 0x64 answers an L2 block
///        1e8 ahead of `block.number`. Seizure, bad debt and the liquidation rules run in the
///        delegatecalled `EngineAdmin`, whose code cannot read the engine's immutables: it must count
///        freshness, the seizure order and the per-block gate on the same L2 clock as the engine
///        (its own copy of the mode, passed by the engine at deployment), or every step here reverts.
contract SettlementArbClockTest is SettlementTest {
    MockArbSys internal constant ARB_SYS = MockArbSys(address(0x64));

    function setUp() public override {
        // ArbSys must answer before the engine is deployed: the engine probes it in its constructor.
        vm.etch(address(ARB_SYS), type(MockArbSys).runtimeCode);
        super.setUp();
    }

    function _clockNow() internal view override returns (uint256) {
        return ARB_SYS.arbBlockNumber();
    }

    /// @dev The seizure gate and `liquidatedNotionalThisBlock()` are the module's: one L2 block later
    ///      (`block.number` unchanged, as when many L2 blocks share one L1 estimate) both have moved on.
    function test_SeizureGateCountsL2Blocks() public {
        _danUnderwater();
        LiquidationStep memory step = _step(DAN, ETH_PERP, -10 * int256(E18), 1_500 * E18);
        bytes32 root = _attest(_one(_stepLeaf(step)));
        vm.prank(CAROL);
        engine.liquidate(step, root, new bytes32[](0));
        _advance(1);
        _reports(1_500 * E18, _one(_report(DAN, 0, 0, 0)));
        vm.startPrank(CAROL);
        engine.seizeCollateral(DAN, address(weth), 4_000e6);
        assertEq(engine.liquidatedNotionalThisBlock(), 4_000 * E18);
        (,, uint48 lastStep) = engine.accountState(DAN);
        assertEq(lastStep, _clockNow());
        vm.expectRevert(abi.encodeWithSelector(E.LiquidationAlreadyThisBlock.selector, DAN));
        engine.seizeCollateral(DAN, address(weth), 1e6);
        ARB_SYS.advanceL2(1);
        assertEq(engine.liquidatedNotionalThisBlock(), 0);
        engine.seizeCollateral(DAN, address(weth), 1e6);
        assertEq(engine.liquidatedNotionalThisBlock(), E18);
        vm.stopPrank();
    }
}
