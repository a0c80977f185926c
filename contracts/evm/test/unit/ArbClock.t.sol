// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {MockArbSys} from "../mocks/MockArbSys.sol";
import {
    IMarginEngine,
    IMarginEngineErrors as E,
    LiquidationStep,
    MarginReport,
    PriceReport,
    ReportBatch
} from "@interfaces/IMarginEngine.sol";

/// @title The block clock on an Arbitrum-like chain: ArbSys at 0x64 answers an L2 block number that
///        differs from `block.number` (Arbitrum's L1 estimate) by 1e8, as on Arbitrum One.
contract ArbClockTest is EngineBase {
    MockArbSys internal constant ARB_SYS = MockArbSys(address(0x64));

    function setUp() public override {
        // ArbSys must answer before the engine is deployed: the engine probes it in its constructor.
        vm.etch(address(ARB_SYS), type(MockArbSys).runtimeCode);
        super.setUp();
    }

    function _clockNow() internal view override returns (uint256) {
        return ARB_SYS.arbBlockNumber();
    }

    function test_ClockIsTheL2BlockNotBlockNumber() public {
        assertEq(engine.clockBlock(), block.number + 100_000_000);
        ARB_SYS.advanceL2(7);
        assertEq(engine.clockBlock(), block.number + 100_000_007);
        _advance(3);
        assertEq(engine.clockBlock(), block.number + 100_000_007);
    }

    function test_WithoutArbSysTheClockIsBlockNumber() public {
        vm.etch(address(ARB_SYS), "");
        IMarginEngine plain = _deploy(2);
        assertEq(plain.clockBlock(), block.number);
        // Decided at deployment: ArbSys appearing later does not change it.
        vm.etch(address(ARB_SYS), type(MockArbSys).runtimeCode);
        assertEq(plain.clockBlock(), block.number);
    }

    function test_BatchObservedAtTheL2BlockIsAccepted() public {
        vm.expectEmit(true, true, true, true, address(engine));
        emit PriceUpdated(address(usdc), uint128(E18), uint48(block.number + 100_000_000));
        _postPrices();
        assertEq(engine.collateralInfo(address(usdc)).priceBlock, block.number + 100_000_000);
    }

    function test_RevertWhen_BatchIsSignedWithTheL1Number() public {
        // What a keeper reading `block.number` semantics would sign: 1e8 blocks old on the L2 clock.
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        prices[0].observedBlock = uint48(block.number);
        bytes32[] memory leaves = _leaves(prices, _noReports(), _noLeaves());
        ReportBatch memory b = _batchFor(leaves);
        b.observedBlock = uint48(block.number);
        bytes memory sigs = _sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(E.StaleReport.selector, block.number, block.number + 100_000_000));
        engine.postBatch(b, sigs, prices, _noReports(), _noLeaves());
    }

    function test_RevertWhen_AnEngineOnBlockNumberGetsL2Reports() public {
        // Today's behaviour on Arbitrum (an engine counting `block.number`): keepers observing the L2
        // head sign a block 1e8 "in the future".
        vm.etch(address(ARB_SYS), "");
        engine = _deploy(2);
        vm.etch(address(ARB_SYS), type(MockArbSys).runtimeCode);
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        bytes32[] memory leaves = _leaves(prices, _noReports(), _noLeaves());
        ReportBatch memory b = _batchFor(leaves);
        bytes memory sigs = _sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(E.FutureReport.selector, b.observedBlock, block.number));
        engine.postBatch(b, sigs, prices, _noReports(), _noLeaves());
    }

    function test_RevertWhen_ObservedAfterTheL2Block() public {
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        prices[0].observedBlock = uint48(_clockNow() + 1);
        ReportBatch memory b = _batchFor(_leaves(prices, _noReports(), _noLeaves()));
        b.observedBlock = prices[0].observedBlock;
        bytes memory sigs = _sigs(b, 2);
        vm.expectRevert(abi.encodeWithSelector(E.FutureReport.selector, _clockNow() + 1, _clockNow()));
        engine.postBatch(b, sigs, prices, _noReports(), _noLeaves());
    }

    function test_ReportsAgeInL2Blocks() public {
        _openPositions(); // Alice at nonce 1: her report from before the trade no longer counts
        ARB_SYS.advanceL2(1);
        _postAll(ALICE, 0, 1_000 * E18, 800 * E18);
        assertTrue(engine.accountHealth(ALICE).reportFresh);
        // 50 L2 blocks without a single L1 block: still within maxReportAgeBlocks (50).
        ARB_SYS.advanceL2(50);
        assertTrue(engine.accountHealth(ALICE).reportFresh);
        assertTrue(engine.accountHealth(ALICE).pricesFresh);
        // One more L2 block, same `block.number`: stale.
        ARB_SYS.advanceL2(1);
        assertFalse(engine.accountHealth(ALICE).reportFresh);
        assertFalse(engine.accountHealth(ALICE).pricesFresh);
    }

    function test_OneLiquidationStepPerAccountPerL2Block() public {
        _openPositions();
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        ARB_SYS.advanceL2(1);
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        (,, uint48 last) = engine.accountState(ALICE);
        assertEq(last, _clockNow());
        assertEq(engine.liquidatedNotionalThisBlock(), 10_000 * E18);

        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -19_000 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory again = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(again));
        bytes32 root2 = _post(_noPrices(), reports, others).root;
        bytes32[] memory proof2 = _proof(_leaves(_noPrices(), reports, others), 2);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.LiquidationAlreadyThisBlock.selector, ALICE));
        engine.liquidate(again, root2, proof2);

        // The next L2 block, in the same L1 block (`block.number` unchanged): allowed, and the
        // per-block notional gate starts again.
        uint256 l1 = block.number;
        ARB_SYS.advanceL2(1);
        assertEq(block.number, l1);
        assertEq(engine.liquidatedNotionalThisBlock(), 0);
        vm.prank(CAROL);
        engine.liquidate(again, root2, proof2);
        assertEq(engine.positionOf(ALICE, ETH_PERP), 4 * int256(E18));
    }
}
