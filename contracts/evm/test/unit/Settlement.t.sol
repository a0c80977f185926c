// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {
    IMarginEngineErrors as E,
    LiquidationStep,
    ParamChange,
    PriceReport,
    MarginReport,
    SettlementState,
    AccountHealth
} from "@interfaces/IMarginEngine.sol";
import {MockERC20} from "../mocks/MockTokens.sol";

/// @title Issue 12: cash that settles in the settlement asset, liquidation that collects debt, bad debt
///        covered or socialised, and the six ways the old code let a liquidation be blocked or gamed.
/// @dev Each "Issue 12" test says what the same calls did on the code before this change.
contract SettlementTest is EngineBase {
    address internal constant DAN = address(0xDA2);
    address internal constant DAVE = address(0xDA7E);
    address internal constant EVE = address(0xE7E);

    // ------------------------------------------------------------------ helpers

    function _change(uint8 kind, address target, uint256 value) internal pure returns (ParamChange memory) {
        return ParamChange({kind: kind, target: target, value: value});
    }

    /// @dev Queue (admin) and execute after the timelock.
    function _execute(ParamChange memory c) internal {
        vm.prank(ADMIN);
        engine.proposeChange(c);
        uint64 eta = uint64(block.timestamp + engine.riskParams().timelockDelay);
        vm.warp(eta);
        engine.executeChange(c, eta);
    }

    /// @dev Prices (USDC $1, WETH at `wethPrice`) and reports in one batch, next block.
    function _reports(uint256 wethPrice, MarginReport[] memory reports) internal {
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), wethPrice);
        _post(prices, reports, _noLeaves());
    }

    function _cash(address account) internal view returns (int256 cash) {
        (, cash,) = engine.accountState(account);
    }

    /// @dev Σ cash + insurance fund - cash reserve over the accounts the tests use (<= 0, dust only).
    function _netting(address[] memory accounts) internal view returns (int256 net) {
        SettlementState memory st = engine.settlementState();
        net = int256(st.insuranceFund) - int256(st.cashReserve);
        for (uint256 i; i < accounts.length; ++i) {
            net += _cash(accounts[i]);
        }
    }

    function _everyone() internal pure returns (address[] memory a) {
        a = new address[](6);
        (a[0], a[1], a[2], a[3], a[4], a[5]) = (ALICE, BOB, CAROL, DAN, DAVE, EVE);
    }

    /// @dev A funding leg (cash only, always applies): `payer` pays `amount` to `payee`.
    function _funding(address payer, address payee, int256 amount) internal {
        _settle(_pair(payee, payer, ETH_PERP, 0, amount));
    }

    /// @dev Liquidates half of Alice's position (as in the liquidation tests): fund 75, Alice +9,850,
    ///      Carol -9,925 cash.
    function _liquidateAliceOnce() internal {
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        assertEq(engine.settlementState().insuranceFund, 75 * E18);
    }

    /// @dev Dan: 3 WETH, long 10 ETH-PERP bought from Bob for 20,000 cash (debt), then ETH at $1,500:
    ///      collateral 4,050 weighted, PV 15,000, cash -20,000: equity -950, liquidatable.
    function _danUnderwater() internal {
        _fund(DAN, weth, 3 * E18);
        _fund(BOB, usdc, 10_000e6);
        _advance(1);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(DAN, 0, 3_000 * E18, 2_000 * E18);
        reports[1] = _report(BOB, 0, 0, 0);
        _reports(2_000 * E18, reports);
        _settle(_pair(DAN, BOB, ETH_PERP, 10 * int256(E18), -20_000 * int256(E18)));
        _advance(1);
        reports[0] = _report(DAN, 15_000 * int256(E18), 3_000 * E18, 2_000 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        _reports(1_500 * E18, reports);
        assertEq(engine.accountHealth(DAN).equity, -950 * int256(E18));
        assertTrue(engine.isLiquidatable(DAN));
    }

    function setUp() public virtual override {
        super.setUp();
        _fund(CAROL, usdc, 100_000e6);
        // Carol's wallet pays for seized collateral
        usdc.mint(CAROL, 50_000e6);
    }

    // ------------------------------------------------------------------ profits are withdrawable

    /// @dev Issue 12 ("cash is never redeemable"): on the old code Alice's realised profit was paper:
    ///      `withdraw(usdc, 11_000e6)` reverted InsufficientCollateral and nothing paid cash out.
    function test_RealisedProfitIsWithdrawnOnceTheLoserRepays() public {
        _fund(ALICE, usdc, 10_000e6);
        _fund(BOB, usdc, 10_000e6);
        _advance(1);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, 0, 1_000 * E18, 800 * E18);
        reports[1] = _report(BOB, 0, 1_000 * E18, 800 * E18);
        _reports(2_000 * E18, reports);
        _settle(_pair(ALICE, BOB, ETH_PERP, 10 * int256(E18), 0));
        // Alice sells back at a profit of 1,000 (realised at the trade): Bob owes it
        _settle(_pair(BOB, ALICE, ETH_PERP, 10 * int256(E18), -1_000 * int256(E18)));
        assertEq(_cash(ALICE), 1_000 * int256(E18));
        assertEq(_cash(BOB), -1_000 * int256(E18));
        assertEq(engine.openPositions(ALICE), 0);

        // nothing collected yet: the reserve cannot pay
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.InsufficientCashReserve.selector, 0, 1_000 * E18));
        engine.withdrawCash(1_000e6);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.InsufficientCash.selector, ALICE, 1_000 * int256(E18), 1_001 * E18));
        engine.withdrawCash(1_001e6);

        // Bob repays from his own USDC, at par
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(E.RepayExceedsDebt.selector, BOB, 1_000 * E18, 1_001 * E18));
        engine.repayDebt(1_001e6);
        vm.expectEmit(true, true, true, true, address(engine));
        emit DebtRepaid(BOB, 1_000 * E18);
        vm.prank(BOB);
        engine.repayDebt(1_000e6);
        assertEq(engine.collateralBalance(BOB, address(usdc)), 9_000e6);
        assertEq(_cash(BOB), 0);
        assertEq(engine.settlementState().cashReserve, 1_000 * E18);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(E.NoDebt.selector, BOB));
        engine.repayDebt(1);

        // margin-gated: Alice needs a fresh report (her nonce moved)
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, ALICE));
        engine.withdrawCash(1_000e6);
        _advance(1);
        _reports(2_000 * E18, _one(_report(ALICE, 0, 0, 0)));
        uint256 walletBefore = usdc.balanceOf(ALICE);
        vm.expectEmit(true, true, true, true, address(engine));
        emit CashWithdrawn(ALICE, 1_000 * E18, 1_000e6);
        vm.prank(ALICE);
        engine.withdrawCash(1_000e6);
        assertEq(usdc.balanceOf(ALICE) - walletBefore, 1_000e6);
        assertEq(_cash(ALICE), 0);
        assertEq(engine.settlementState().cashReserve, 0);
        assertEq(_netting(_everyone()), 0);
        // the engine still holds every collateral balance
        assertEq(usdc.balanceOf(address(engine)), 10_000e6 + 9_000e6 + 100_000e6);
    }

    function test_CashWithdrawalIsMarginGated() public {
        _fund(ALICE, usdc, 10_000e6);
        _fund(BOB, usdc, 10_000e6);
        _advance(1);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, 0, 1_000 * E18, 800 * E18);
        reports[1] = _report(BOB, 0, 1_000 * E18, 800 * E18);
        _reports(2_000 * E18, reports);
        // Alice is paid 5,000 for a position that is worth -5,000 to her: her equity is her collateral
        _settle(_pair(BOB, ALICE, ETH_PERP, 10 * int256(E18), -5_000 * int256(E18)));
        vm.prank(BOB);
        engine.repayDebt(5_000e6);
        _advance(1);
        _reports(2_000 * E18, _one(_report(ALICE, -5_000 * int256(E18), 9_000 * E18, 8_000 * E18)));
        // equity 9,800 + 5,000 - 5,000 = 9,800; taking 1,000 leaves 8,800 < 9,000
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.BelowInitialMargin.selector, ALICE, int256(8_800 * E18), 9_000 * E18));
        engine.withdrawCash(1_000e6);
        vm.prank(ALICE);
        engine.withdrawCash(800e6);
        assertEq(_cash(ALICE), 4_200 * int256(E18));
    }

    // ------------------------------------------------------------------ liquidation collects debt

    function test_SeizureRepaysDebtInOrderAndNeverLowersEquity() public {
        _danUnderwater();
        // the position is taken over first: no penalty from a negative equity
        LiquidationStep memory step = _step(DAN, ETH_PERP, -10 * int256(E18), 1_500 * E18);
        bytes32 root = _attest(_one(_stepLeaf(step)));
        vm.prank(CAROL);
        engine.liquidate(step, root, new bytes32[](0));
        assertEq(_cash(DAN), -5_000 * int256(E18));
        assertEq(engine.openPositions(DAN), 0);
        _advance(1);
        _reports(1_500 * E18, _one(_report(DAN, 0, 0, 0)));
        assertEq(engine.accountHealth(DAN).equity, -950 * int256(E18));

        vm.startPrank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.SeizureOutOfOrder.selector, address(usdc), address(weth)));
        engine.seizeCollateral(DAN, address(usdc), 1_000e6);
        vm.expectRevert(abi.encodeWithSelector(E.RepayExceedsDebt.selector, DAN, 5_000 * E18, 5_001 * E18));
        engine.seizeCollateral(DAN, address(weth), 5_001e6);
        // 4,000 repaid at a 5% discount to $1,500 (WETH's haircut is 10%): 2.807... WETH
        uint256 seized = uint256(4_000 * E18) * 1e18 * 10_000 / (1_500 * E18 * 9_500);
        uint256 walletBefore = weth.balanceOf(CAROL);
        vm.expectEmit(true, true, true, true, address(engine));
        emit CollateralSeized(DAN, CAROL, address(weth), seized, 4_000 * E18);
        engine.seizeCollateral(DAN, address(weth), 4_000e6);
        assertEq(weth.balanceOf(CAROL) - walletBefore, seized);
        vm.expectRevert(abi.encodeWithSelector(E.LiquidationAlreadyThisBlock.selector, DAN));
        engine.seizeCollateral(DAN, address(weth), 1e6);
        vm.stopPrank();
        assertEq(_cash(DAN), -1_000 * int256(E18));
        assertEq(engine.settlementState().cashReserve, 4_000 * E18);
        // equity rose: 4,000 of debt for collateral weighted at 90% of 4,210.5
        int256 equity = engine.accountHealth(DAN).equity;
        assertTrue(equity > -950 * int256(E18));

        // next block: the rest of the WETH, paying a little more than it is worth, leaves no dust
        _advance(1);
        vm.prank(CAROL);
        engine.seizeCollateral(DAN, address(weth), 276e6);
        assertEq(engine.collateralBalance(DAN, address(weth)), 0);
        assertTrue(engine.accountHealth(DAN).equity >= equity);
        assertEq(_cash(DAN), -724 * int256(E18));
        (bool windingDown, uint256 total) = engine.collateralStatus(address(weth));
        assertFalse(windingDown);
        assertEq(total, 0);
        // tokens held cover every balance and the reserve
        assertEq(weth.balanceOf(address(engine)), 0);
        assertEq(usdc.balanceOf(address(engine)), 100_000e6 + 10_000e6 + 4_276e6);
    }

    function test_SettlementAssetIsCollectedFirstAtPar() public {
        _danUnderwater();
        _fund(DAN, usdc, 100e6);
        _advance(1);
        _reports(1_500 * E18, _one(_report(DAN, 15_000 * int256(E18), 3_000 * E18, 2_000 * E18)));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.SeizureOutOfOrder.selector, address(weth), address(usdc)));
        engine.seizeCollateral(DAN, address(weth), 1_000e6);
        vm.prank(DAN);
        vm.expectRevert(abi.encodeWithSelector(E.SelfLiquidation.selector, DAN));
        engine.seizeCollateral(DAN, address(usdc), 100e6);
        uint256 carolWallet = usdc.balanceOf(CAROL);
        vm.prank(CAROL);
        engine.seizeCollateral(DAN, address(usdc), 100e6);
        assertEq(usdc.balanceOf(CAROL), carolWallet); // nothing paid, nothing received
        assertEq(_cash(DAN), -19_900 * int256(E18));
        assertEq(engine.settlementState().cashReserve, 100 * E18);
        // not gated: WETH follows in the same block
        vm.prank(CAROL);
        engine.seizeCollateral(DAN, address(weth), 1_000e6);
    }

    function test_RevertWhen_SeizingFromAHealthyAccount() public {
        _danUnderwater();
        _advance(1);
        _reports(2_000 * E18, _one(_report(DAN, 20_000 * int256(E18), 3_000 * E18, 2_000 * E18)));
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(E.NotLiquidatable.selector, DAN, int256(5_400 * E18), 2_000 * E18));
        engine.seizeCollateral(DAN, address(weth), 1_000e6);
    }

    // ------------------------------------------------------------------ bad debt

    function test_BadDebtIsCoveredByTheInsuranceFund() public {
        _openPositions();
        _liquidateAliceOnce();
        // a venue charges Eve (no collateral, no position) 50 of funding: bad debt at once
        _funding(EVE, BOB, 50 * int256(E18));
        vm.expectRevert(abi.encodeWithSelector(E.NoDebt.selector, BOB));
        engine.resolveBadDebt(BOB);
        vm.expectEmit(true, true, true, true, address(engine));
        emit BadDebtResolved(EVE, 50 * E18, 50 * E18, 0, E18);
        engine.resolveBadDebt(EVE);
        assertEq(_cash(EVE), 0);
        SettlementState memory st = engine.settlementState();
        assertEq(st.insuranceFund, 25 * E18);
        assertEq(st.socialisedLoss, 0);
        assertEq(_netting(_everyone()), 0);
    }

    function test_BadDebtPastTheFundIsSocialisedProRata() public {
        _openPositions();
        _liquidateAliceOnce();
        _funding(EVE, BOB, 200 * int256(E18));
        int256 aliceBefore = _cash(ALICE); // 9,850
        int256 bobBefore = _cash(BOB); // 200
        // 75 from the fund, 125 over 10,050 of positive cash
        engine.resolveBadDebt(EVE);
        SettlementState memory st = engine.settlementState();
        assertEq(st.insuranceFund, 0);
        assertEq(st.socialisedLoss, 125 * E18);
        uint256 cut = (125 * E18 * E18 + 10_050 * E18 - 1) / (10_050 * E18);
        assertEq(st.positiveCashRate, E18 - cut);
        // each positive cash lost the same fraction
        assertEq(_cash(ALICE), aliceBefore * int256(E18 - cut) / int256(E18));
        assertEq(_cash(BOB), bobBefore * int256(E18 - cut) / int256(E18));
        assertApproxEqAbs(uint256(aliceBefore - _cash(ALICE)) * 1e6 / 125e18, uint256(9_850e6) / 10_050, 1);
        // claims never exceed the reserve: the rounding stays on the reserve's side, by dust (the rate
        // rounded up costs at most 1 wei per 1e18 of positive cash, plus 1 wei per account)
        int256 net = _netting(_everyone());
        assertTrue(net <= 0 && net >= -(10_050 + 6));
    }

    function test_RevertWhen_BadDebtStillHasCollateralOrPositions() public {
        _danUnderwater();
        vm.expectRevert(abi.encodeWithSelector(E.NotBadDebt.selector, DAN));
        engine.resolveBadDebt(DAN); // a position
        LiquidationStep memory step = _step(DAN, ETH_PERP, -10 * int256(E18), 1_500 * E18);
        bytes32 root = _attest(_one(_stepLeaf(step)));
        vm.prank(CAROL);
        engine.liquidate(step, root, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(E.NotBadDebt.selector, DAN));
        engine.resolveBadDebt(DAN); // 3 WETH at a non-zero weight
    }

    // ------------------------------------------------------------------ the six behaviours

    /// @dev Issue 12 ("an unpriced asset blocks liquidation"): on the old code Alice's 1 wei of a new,
    ///      never-priced listing made the step revert StalePrice(junk, 0).
    function test_UnpricedAssetDoesNotBlockLiquidation() public {
        _openPositions();
        MockERC20 junk = new MockERC20("JUNK", 18);
        _execute(_change(1, address(junk), 18));
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        _fund(ALICE, junk, 1);
        assertFalse(engine.accountHealth(ALICE).pricesFresh);
        assertTrue(engine.isLiquidatable(ALICE));
        vm.prank(CAROL);
        engine.liquidate(step, root, proof);
        assertEq(engine.positionOf(ALICE, ETH_PERP), 5 * int256(E18));
        // withdrawals still fail closed on the unpriced asset
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, ALICE));
        engine.withdraw(address(usdc), 1);
        _fund(BOB, junk, 1);
        _advance(1);
        _reports(2_000 * E18, _one(_report(BOB, 0, 0, 0)));
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(E.StalePrice.selector, address(junk), 0));
        engine.withdraw(address(usdc), 1);
    }

    /// @dev Issue 12 ("the liquidator chooses the price"): on the old code the step observed at the
    ///      earlier block (mark $2,000, better for the liquidator than $1,900) was accepted after a newer
    ///      report for the same nonce.
    function test_StepOlderThanTheLatestReportIsRefused() public {
        _openPositions();
        (LiquidationStep memory older, bytes32 olderRoot, bytes32[] memory olderProof) = _makeAliceLiquidatable();
        _advance(1);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -10_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory newer = _step(ALICE, ETH_PERP, -5 * int256(E18), 1_900 * E18);
        bytes32[] memory others = _one(_stepLeaf(newer));
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        bytes32 newerRoot = _post(prices, reports, others).root;
        vm.prank(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(E.StepOlderThanReport.selector, ALICE, uint48(_clockNow()), uint48(_clockNow() - 1))
        );
        engine.liquidate(older, olderRoot, olderProof);
        vm.prank(CAROL);
        engine.liquidate(newer, newerRoot, _proof(_leaves(prices, reports, others), 3));
    }

    /// @dev Issue 12 ("the liquidator's margin is checked only before the step"): on the old code Dave,
    ///      with 100 USDC and no positions (IM 0), took over 10,000 of notional.
    function test_LiquidatorMustStayAboveMaintenanceAfterTheStep() public {
        _openPositions();
        _fund(DAVE, usdc, 100e6);
        _advance(1);
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(DAVE, 0, 0, 0);
        LiquidationStep memory step = _step(ALICE, ETH_PERP, -5 * int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(step));
        bytes32 root = _post(prices, reports, others).root;
        bytes32[] memory proof = _proof(_leaves(prices, reports, others), 3);
        // equity 98 + penalty share 75 = 173 < 0 + 10% of 10,000
        vm.prank(DAVE);
        vm.expectRevert(
            abi.encodeWithSelector(E.LiquidatorBelowMaintenance.selector, DAVE, int256(173 * E18), 1_000 * E18)
        );
        engine.liquidate(step, root, proof);
    }

    /// @dev Issue 12 ("a rogue council cannot be removed"): on the old code SetRiskCouncil was queued
    ///      and the council cancelled it (and any role change) with cancelChange.
    function test_AdminRemovesTheCouncilAtOnceAndOnlyTheAdminCancelsRoleChanges() public {
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.proposeChange(_change(14, address(0xC0C0), 0));
        vm.prank(ADMIN);
        (bytes32 id, bool applied) = engine.proposeChange(_change(15, address(0x6A6A), 0));
        assertFalse(applied);
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.cancelChange(id);
        // a parameter change is still the council's to veto
        vm.prank(ADMIN);
        (bytes32 penaltyId,) = engine.proposeChange(_change(3, address(0), 1_000));
        vm.prank(COUNCIL);
        engine.cancelChange(penaltyId);
        // the admin replaces the council in one call
        vm.prank(ADMIN);
        (, applied) = engine.proposeChange(_change(14, address(0xC0C0), 0));
        assertTrue(applied);
        (,, address guardian) = engine.roles();
        (, address council,) = engine.roles();
        assertEq(council, address(0xC0C0));
        assertEq(guardian, GUARDIAN);
        vm.prank(ADMIN);
        engine.cancelChange(id);
        assertEq(engine.queuedChangeEta(id), 0);
    }

    /// @dev Issue 12 ("listing can be exhausted"): on the old code the council listed 14 junk assets at
    ///      once, nothing delisted, and the 17th listing reverted TooManyCollateralAssets for good.
    function test_DelistingWindsDownAndFreesTheSlot() public {
        for (uint256 i; i < 14; ++i) {
            _execute(_change(1, address(uint160(0x8000 + i)), 18));
        }
        assertEq(engine.collateralAssets().length, 16);
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.SettlementAssetFixed.selector, address(usdc)));
        engine.proposeChange(_change(20, address(usdc), 0));
        // a junk asset nobody holds leaves at once (tightening: the council may)
        vm.prank(COUNCIL);
        engine.proposeChange(_change(20, address(0x8000), 0));
        assertEq(engine.collateralAssets().length, 15);
        assertFalse(engine.collateralInfo(address(0x8000)).listed);
        _execute(_change(1, address(0x4444), 18));
        assertEq(engine.collateralAssets().length, 16);

        // WETH held by Alice winds down: no deposits, withdrawals go on, then it can leave
        _fund(ALICE, weth, 1e18);
        vm.prank(COUNCIL);
        engine.proposeChange(_change(20, address(weth), 0));
        (bool windingDown, uint256 total) = engine.collateralStatus(address(weth));
        assertTrue(windingDown);
        assertEq(total, 1e18);
        assertTrue(engine.collateralInfo(address(weth)).listed);
        weth.mint(ALICE, 1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.AssetDelisted.selector, address(weth)));
        engine.deposit(address(weth), 1);
        vm.prank(ALICE);
        engine.withdraw(address(weth), 1e18);
        vm.prank(COUNCIL);
        engine.proposeChange(_change(20, address(weth), 0));
        assertEq(engine.collateralAssets().length, 15);
        (windingDown,) = engine.collateralStatus(address(weth));
        assertFalse(windingDown);
    }

    // ------------------------------------------------------------------ views

    function test_SettlementStateAtDeployment() public {
        SettlementState memory st = engine.settlementState();
        assertEq(st.settlementAsset, address(usdc));
        assertEq(st.cashReserve, 0);
        assertEq(st.insuranceFund, 0);
        assertEq(st.socialisedLoss, 0);
        assertEq(st.totalPositiveCash, 0);
        assertEq(st.positiveCashRate, E18);
        assertEq(st.seizureDiscountBps, 500);
        assertEq(st.insuranceShareBps, 5_000);
        assertEq(st.liquidatorMarginBps, 1_000);
        AccountHealth memory h = engine.accountHealth(ALICE);
        assertFalse(h.liquidatable);
    }
}
