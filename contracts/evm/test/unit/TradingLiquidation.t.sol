// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {
    IMarginEngineErrors as E,
    TradeLeg,
    LiquidationStep,
    ParamChange,
    PriceReport,
    MarginReport
} from "@interfaces/IMarginEngine.sol";

contract TradingTest is EngineBase {
    function test_SettleTradeAppliesLegsAndEmits() public {
        _fund(ALICE, usdc, 10_000e6);
        _fund(BOB, usdc, 10_000e6);
        _postAll(ALICE, 0, 100 * E18, 50 * E18);
        _advance(1);
        _postReport(BOB, 0, 100 * E18, 50 * E18);
        TradeLeg[] memory legs = _pair(ALICE, BOB, ETH_PERP, 2 * int256(E18), -100 * int256(E18));
        // ALICE (0xA11CE) > BOB (0xB0B): Bob's leg first
        vm.expectEmit(true, true, true, true, address(engine));
        emit PositionChanged(BOB, ETH_PERP, -2 * int256(E18), 100 * int256(E18), -2 * int256(E18), 1);
        vm.expectEmit(true, true, true, true, address(engine));
        emit PositionChanged(ALICE, ETH_PERP, 2 * int256(E18), -100 * int256(E18), 2 * int256(E18), 1);
        vm.expectEmit(true, true, true, true, address(engine));
        emit TradeSettled(VENUE, 2);
        _settle(legs);
        assertEq(engine.positionOf(ALICE, ETH_PERP), 2 * int256(E18));
        (uint48 nonce, int256 cash,) = engine.accountState(BOB);
        assertEq(nonce, 1);
        assertEq(cash, 100 * int256(E18));
        // the trade voided both reports
        assertFalse(engine.accountHealth(ALICE).reportFresh);
    }

    function test_ReducingTradeNeedsNoReport() public {
        _openPositions();
        _advance(1);
        // no fresh reports (nonce moved); Alice sells 4 back to Bob: both reduce
        _settle(_pair(BOB, ALICE, ETH_PERP, 4 * int256(E18), 0));
        assertEq(engine.positionOf(ALICE, ETH_PERP), 6 * int256(E18));
    }

    function test_RevertWhen_NotVenuePausedOrEmpty() public {
        TradeLeg[] memory none = new TradeLeg[](0);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.NotVenue.selector, STRANGER));
        engine.settleTrade(none);
        vm.prank(VENUE);
        vm.expectRevert(_err(E.EmptyTrade.selector));
        engine.settleTrade(none);
        vm.prank(GUARDIAN);
        engine.pause();
        vm.prank(VENUE);
        vm.expectRevert(_err(E.EnginePaused.selector));
        engine.settleTrade(none);
    }

    function test_RevertWhen_LegsBad() public {
        TradeLeg[] memory legs = _pair(ALICE, BOB, ETH_PERP, 1, 0);
        (legs[0], legs[1]) = (legs[1], legs[0]);
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.LegsNotSorted.selector, 1));
        engine.settleTrade(legs);
        legs[1] = legs[0]; // duplicate
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.LegsNotSorted.selector, 1));
        engine.settleTrade(legs);

        bytes32 unlisted = bytes32(uint256(1));
        legs = _pair(ALICE, BOB, unlisted, 1, 0);
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.InstrumentNotListed.selector, unlisted));
        engine.settleTrade(legs);

        legs = _pair(ALICE, BOB, ETH_PERP, 1, 0);
        legs[1].sizeDelta = 2;
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.SizeNotConserved.selector, ETH_PERP, int256(1)));
        engine.settleTrade(legs);

        legs = _pair(ALICE, BOB, ETH_PERP, 1, 5);
        legs[1].cashDelta = -3;
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.CashNotConserved.selector, int256(-8))); // Bob -5, Alice -3
        engine.settleTrade(legs);
    }

    function test_SizeConservedPerInstrumentGroup() public {
        // (BTC group unbalanced, ETH group balanced): the BTC group ends first
        bytes32 lo = BTC_PERP < ETH_PERP ? BTC_PERP : ETH_PERP;
        bytes32 hi = BTC_PERP < ETH_PERP ? ETH_PERP : BTC_PERP;
        TradeLeg[] memory legs = new TradeLeg[](3);
        legs[0] = _leg(BOB, lo, 1, 0);
        legs[1] = _leg(BOB, hi, 1, 0);
        legs[2] = _leg(ALICE, hi, -2, 0);
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.SizeNotConserved.selector, lo, int256(1)));
        engine.settleTrade(legs);
    }

    function test_RevertWhen_RiskAddingLegLacksMargin() public {
        _fund(ALICE, usdc, 1_000e6);
        _fund(BOB, usdc, 1_000e6);
        TradeLeg[] memory legs = _pair(ALICE, BOB, ETH_PERP, int256(E18), 0);
        // Bob's leg comes first and adds risk: his checks decide
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, BOB));
        engine.settleTrade(legs);

        _postReport(BOB, 0, 0, 0); // no prices yet
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.StalePrice.selector, address(usdc), 0));
        engine.settleTrade(legs);

        _advance(1);
        PriceReport[] memory prices = new PriceReport[](1);
        prices[0] = _price(address(usdc), E18);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, 0, 981 * E18, 0); // 980 equity < 981
        reports[1] = _report(BOB, 0, 980 * E18, 0);
        _post(prices, reports, _noLeaves());
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.BelowInitialMargin.selector, ALICE, int256(980 * E18), 981 * E18));
        engine.settleTrade(legs);
    }

    function test_RevertWhen_CashOverflows() public {
        _fund(ALICE, usdc, 1_000e6);
        _fund(BOB, usdc, 1_000e6);
        _postAll(ALICE, 0, 0, 0);
        _advance(1);
        _postReport(BOB, 0, 0, 0);
        int256 big = type(int128).max;
        _settle(_pair(ALICE, BOB, ETH_PERP, 1, big));
        _settle(_pair(BOB, ALICE, ETH_PERP, 1, 0)); // back to flat, reduces only
        vm.prank(VENUE);
        vm.expectRevert(_err(E.ArithmeticOverflow.selector));
        engine.settleTrade(_pair(BOB, ALICE, ETH_PERP, 0, -1)); // Alice +1 cash over int128 max
    }
}

contract LiquidationTest is EngineBase {
    function _copy(LiquidationStep memory s) internal pure returns (LiquidationStep memory) {
        return
            LiquidationStep(
                s.account, s.positionsNonce, s.riskEpoch, s.observedBlock, s.instrumentId, s.size, s.markPrice
            );
    }

    function setUp() public override {
        super.setUp();
        _openPositions();
    }

    function test_LiquidationStep() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        // notional 5 * 2,000 = 10,000; penalty 5% = 500, capped at the closed half of Alice's equity
        // (9,800 - 9,500 = 300): 150, half of it to the insurance fund. Alice is long: size -5,
        // transfer -10,000.
        int256 paid = 10_000 * int256(E18) - 150 * int256(E18);
        vm.expectEmit(true, true, true, true, address(engine));
        emit PositionChanged(ALICE, ETH_PERP, -5 * int256(E18), paid, 5 * int256(E18), 2);
        vm.expectEmit(true, true, true, true, address(engine));
        emit PositionChanged(CAROL, ETH_PERP, 5 * int256(E18), -paid - 75 * int256(E18), 5 * int256(E18), 1);
        vm.expectEmit(true, true, true, true, address(engine));
        emit LiquidationExecuted(
            ALICE, CAROL, ETH_PERP, -5 * int128(int256(E18)), uint128(2_000 * E18), 10_000 * E18, 150 * E18
        );
        vm.expectEmit(true, true, true, true, address(engine));
        emit InsuranceFundCredited(ALICE, 75 * E18, 75 * E18);
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        (uint48 nonce, int256 cash, uint48 last) = engine.accountState(ALICE);
        assertEq(nonce, 2);
        assertEq(cash, paid);
        assertEq(last, block.number);
        (, int256 carolCash,) = engine.accountState(CAROL);
        assertEq(carolCash, -paid - 75 * int256(E18));
        assertEq(engine.settlementState().insuranceFund, 75 * E18);
        assertEq(engine.liquidatedNotionalThisBlock(), 10_000 * E18);
        _advance(1);
        assertEq(engine.liquidatedNotionalThisBlock(), 0);
    }

    function test_RevertWhen_PausedOrSelf() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.SelfLiquidation.selector, ALICE));
        engine.liquidate(step, root, proof);
        vm.prank(GUARDIAN);
        engine.pause();
        vm.prank(ALICE);
        vm.expectRevert(_err(E.EnginePaused.selector));
        engine.liquidate(step, root, proof);
    }

    function test_RevertWhen_RootPartFails() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.startPrank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.UnknownRoot.selector, bytes32(0)));
        engine.liquidate(step, bytes32(0), proof);
        LiquidationStep memory bad = _copy(step);
        bad.size = -4 * int128(int256(E18));
        vm.expectRevert(abi.encodeWithSelector(E.InvalidProof.selector, root, _stepLeaf(bad)));
        engine.liquidate(bad, root, proof);
        bad = _copy(step);
        bad.observedBlock -= 1;
        vm.expectRevert(abi.encodeWithSelector(E.LeafBlockMismatch.selector, block.number, block.number - 1));
        engine.liquidate(bad, root, proof);
        bad = _copy(step);
        bad.riskEpoch = 1;
        vm.expectRevert(abi.encodeWithSelector(E.WrongRiskEpoch.selector, 0, 1));
        engine.liquidate(bad, root, proof);
        vm.stopPrank();
        _advance(51);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.StaleReport.selector, step.observedBlock, block.number));
        engine.liquidate(step, root, proof);
    }

    /// @dev Issue 12 ("a dust trade cancels pending steps"): on the old code Alice's 1-wei reducing
    ///      trade was accepted, bumped her nonce and the pending step then reverted NonceMismatch.
    function test_DustTradeOfALiquidatableAccountIsRefused() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.prank(VENUE);
        vm.expectRevert(abi.encodeWithSelector(E.AccountLiquidatable.selector, ALICE));
        engine.settleTrade(_pair(BOB, ALICE, ETH_PERP, 1, 0));
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        assertEq(engine.positionOf(ALICE, ETH_PERP), 5 * int256(E18));
    }

    function test_RevertWhen_NonceOrFreshnessFails() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        // a cash-only leg (funding) always applies and moves Alice's nonce on
        _settle(_pair(BOB, ALICE, ETH_PERP, 0, 1));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.NonceMismatch.selector, ALICE, 2, 1));
        engine.liquidate(step, root, proof);
    }

    function test_RevertWhen_AccountHasNoFreshReportOrPrices() public {
        _advance(1);
        // a step attested without a new report for Alice: her report is for nonce 0
        LiquidationStep memory step = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        bytes32 root = _attest(_one(_stepLeaf(step)));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, ALICE));
        engine.liquidate(step, root, new bytes32[](0));

        // reports but stale prices: the account's stale USDC counts as zero (no StalePrice for it);
        // the liquidator's own checks still fail closed
        _advance(49);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        _post(_noPrices(), reports, _noLeaves());
        _advance(1);
        step = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        root = _attest(_one(_stepLeaf(step)));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.StalePrice.selector, address(usdc), block.number - 51));
        engine.liquidate(step, root, new bytes32[](0));
    }

    function test_RevertWhen_NotLiquidatable() public {
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](1);
        prices[0] = _price(address(usdc), E18);
        MarginReport[] memory reports = new MarginReport[](1);
        reports[0] = _report(ALICE, -8_300 * int256(E18), 2_000 * E18, 1_500 * E18); // equity 1,500 == MM
        LiquidationStep memory step = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(step));
        bytes32 root = _post(prices, reports, others).root;
        bytes32[] memory proof = _proof(_leaves(prices, reports, others), 2);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.NotLiquidatable.selector, ALICE, int256(1_500 * E18), 1_500 * E18));
        engine.liquidate(step, root, proof);
        // a higher threshold (tightening, at once) makes the same account liquidatable
        vm.prank(COUNCIL);
        engine.proposeChange(ParamChange(2, address(0), 12_000));
        assertTrue(engine.isLiquidatable(ALICE));
    }

    /// @dev Reports observed at block N-1, a step at N, then in the same block N a report for the new
    ///      nonce (observed at N, so newer) and a second step: refused by the per-block gate.
    function test_RevertWhen_SecondStepInTheSameBlock() public {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        _advance(1);
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -19_000 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory again = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(again));
        bytes32 root2 = _post(_noPrices(), reports, others).root;
        bytes32[] memory proof2 = _proof(_leaves(_noPrices(), reports, others), 2);
        assertTrue(engine.isLiquidatable(ALICE));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.LiquidationAlreadyThisBlock.selector, ALICE));
        engine.liquidate(again, root2, proof2);
        // next block: allowed again with a step from the new report's block (the re-report for the same
        // nonces makes the older step stale)
        _advance(1);
        reports[0] = _report(ALICE, -19_000 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory fresh = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        others = _one(_stepLeaf(fresh));
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        bytes32 root3 = _post(prices, reports, others).root;
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(E.StepOlderThanReport.selector, ALICE, again.observedBlock + 1, again.observedBlock)
        );
        engine.liquidate(again, root2, proof2);
        vm.prank(CAROL);
        engine.liquidate(fresh, root3, _proof(_leaves(prices, reports, others), 3));
        assertEq(engine.positionOf(ALICE, ETH_PERP), 4 * int256(E18));
    }

    function test_RevertWhen_StepIncreasesRisk() public {
        _advance(1);
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep[] memory steps = new LiquidationStep[](4);
        steps[0] = _step(ALICE, ETH_PERP, 1, 2_000 * E18); // same sign
        steps[1] = _step(ALICE, ETH_PERP, -11 * int256(E18), 2_000 * E18); // beyond the position
        steps[2] = _step(ALICE, ETH_PERP, 0, 2_000 * E18); // zero
        steps[3] = _step(ALICE, BTC_PERP, -1, 2_000 * E18); // no position
        bytes32[] memory others = new bytes32[](4);
        for (uint256 i; i < 4; ++i) {
            others[i] = _stepLeaf(steps[i]);
        }
        bytes32 root = _post(prices, reports, others).root;
        bytes32[] memory leaves = _leaves(prices, reports, others);
        for (uint256 i; i < 4; ++i) {
            int256 position = i == 3 ? int256(0) : 10 * int256(E18);
            vm.prank(CAROL);
            vm.expectRevert(
                abi.encodeWithSelector(
                    E.LiquidationIncreasesRisk.selector, ALICE, steps[i].instrumentId, position, steps[i].size
                )
            );
            engine.liquidate(steps[i], root, _proof(leaves, 3 + i));
        }
    }

    function test_RevertWhen_CapExceeded() public {
        vm.prank(ADMIN);
        (, bool applied) = engine.proposeChange(ParamChange(6, address(0), 9_999 * E18));
        assertFalse(applied);
        vm.warp(block.timestamp + 3_600);
        engine.executeChange(ParamChange(6, address(0), 9_999 * E18), uint64(block.timestamp));
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.LiquidationCapExceeded.selector, 0, 10_000 * E18, 9_999 * E18));
        engine.liquidate(step, root, proof);
    }

    function test_RevertWhen_LiquidatorLacksMargin() public {
        _advance(1);
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 98_001 * E18, 0);
        LiquidationStep memory step = _step(ALICE, ETH_PERP, -int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(step));
        bytes32 root = _post(prices, reports, others).root;
        bytes32[] memory proof = _proof(_leaves(prices, reports, others), 3);
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(E.BelowInitialMargin.selector, CAROL, int256(98_000 * E18), 98_001 * E18)
        );
        engine.liquidate(step, root, proof);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, STRANGER));
        engine.liquidate(step, root, proof);
    }
}
