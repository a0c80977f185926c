// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {IMarginEngineErrors as E, ParamChange, AccountHealth} from "@interfaces/IMarginEngine.sol";
import {MockERC20, NoBoolToken, FalseToken, ShortReturnToken, ReentrantToken} from "../mocks/MockTokens.sol";

contract CollateralTest is EngineBase {
    /// @dev Listing is loosening: queued by the admin, executed after the timelock.
    function _listToken(address token, uint8 decimals) internal {
        ParamChange memory c = ParamChange(1, token, decimals);
        vm.prank(ADMIN);
        engine.proposeChange(c);
        uint64 eta = uint64(block.timestamp + engine.riskParams().timelockDelay);
        vm.warp(eta);
        engine.executeChange(c, eta);
    }

    // ------------------------------------------------------------------ deposit

    function test_Deposit() public {
        usdc.mint(ALICE, 500e6);
        vm.startPrank(ALICE);
        usdc.approve(address(engine), 500e6);
        vm.expectEmit(true, true, true, true, address(engine));
        emit CollateralDeposited(ALICE, address(usdc), 500e6);
        engine.deposit(address(usdc), 500e6);
        vm.stopPrank();
        assertEq(engine.collateralBalance(ALICE, address(usdc)), 500e6);
        assertEq(usdc.balanceOf(address(engine)), 500e6);
    }

    function test_DepositAllowedWhilePaused() public {
        vm.prank(GUARDIAN);
        engine.pause();
        _fund(ALICE, usdc, 1e6);
        assertEq(engine.collateralBalance(ALICE, address(usdc)), 1e6);
    }

    function test_RevertWhen_DepositZeroOrUnlisted() public {
        vm.expectRevert(_err(E.ZeroAmount.selector));
        engine.deposit(address(usdc), 0);
        vm.expectRevert(_err(E.ZeroAmount.selector)); // ZeroAmount before AssetNotListed
        engine.deposit(address(0x7777), 0);
        vm.expectRevert(abi.encodeWithSelector(E.AssetNotListed.selector, address(0x7777)));
        engine.deposit(address(0x7777), 1);
    }

    function test_RevertWhen_DepositTransferFails() public {
        // no allowance: the standard token reverts
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(usdc)));
        engine.deposit(address(usdc), 1);
        // listed address without code
        _listToken(address(0x7777), 18);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(0x7777)));
        engine.deposit(address(0x7777), 1);
    }

    function test_NoBoolTokenWorks() public {
        NoBoolToken t = new NoBoolToken();
        _listToken(address(t), 6);
        _fund(ALICE, t, 100e6);
        assertEq(t.balanceOf(address(engine)), 100e6);
        vm.prank(ALICE);
        engine.withdraw(address(t), 40e6);
        assertEq(t.balanceOf(ALICE), 40e6);
        // and a failing transfer of it (it reverts) is TokenTransferFailed
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(t)));
        engine.deposit(address(t), 1);
    }

    function test_FalseReturningTokenFails() public {
        FalseToken t = new FalseToken();
        _listToken(address(t), 18);
        // insufficient balance: returns false
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(t)));
        engine.deposit(address(t), 1);
        _fund(ALICE, t, 10 * E18);
        t.setFailAll(true);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(t)));
        engine.withdraw(address(t), 1);
        assertEq(engine.collateralBalance(ALICE, address(t)), 10 * E18, "state rolled back");
    }

    function test_ShortReturnFails() public {
        ShortReturnToken t = new ShortReturnToken();
        _listToken(address(t), 18);
        t.mint(ALICE, 1);
        vm.startPrank(ALICE);
        t.approve(address(engine), 1);
        vm.expectRevert(abi.encodeWithSelector(E.TokenTransferFailed.selector, address(t)));
        engine.deposit(address(t), 1);
        vm.stopPrank();
    }

    function test_RevertWhen_DepositOverflowsBalance() public {
        _fund(ALICE, usdc, type(uint256).max - 1);
        vm.prank(ALICE);
        vm.expectRevert(_err(E.ArithmeticOverflow.selector));
        engine.deposit(address(usdc), 2);
    }

    function test_ReentryIsRejectedWithEmptyData() public {
        ReentrantToken t = new ReentrantToken();
        _listToken(address(t), 18);
        t.mint(ALICE, 10);
        vm.prank(ALICE);
        t.approve(address(engine), 10);
        // a state-changing reentry and a view reentry both fail inside the token's callback
        t.arm(address(engine), abi.encodeCall(engine.deposit, (address(t), 1)));
        vm.prank(ALICE);
        engine.deposit(address(t), 5);
        assertFalse(t.callbackOk());
        assertEq(t.callbackResult().length, 0);
        t.arm(address(engine), abi.encodeCall(engine.collateralBalance, (ALICE, address(t))));
        vm.prank(ALICE);
        engine.withdraw(address(t), 1);
        assertFalse(t.callbackOk());
        // outside a token call the engine answers again
        assertEq(engine.collateralBalance(ALICE, address(t)), 4);
    }

    // ------------------------------------------------------------------ withdraw

    function test_WithdrawWithoutPositionsNeedsNoReport() public {
        _fund(ALICE, usdc, 100e6);
        vm.expectEmit(true, true, true, true, address(engine));
        emit CollateralWithdrawn(ALICE, address(usdc), 100e6);
        vm.prank(ALICE);
        engine.withdraw(address(usdc), 100e6);
        assertEq(usdc.balanceOf(ALICE), 100e6);
        assertEq(engine.collateralBalance(ALICE, address(usdc)), 0);
    }

    function test_RevertWhen_WithdrawPausedZeroUnlistedOrTooMuch() public {
        _fund(ALICE, usdc, 100e6);
        vm.prank(GUARDIAN);
        engine.pause();
        vm.prank(ALICE);
        vm.expectRevert(_err(E.EnginePaused.selector));
        engine.withdraw(address(usdc), 0); // paused before zero
        vm.prank(ADMIN);
        engine.unpause();
        vm.startPrank(ALICE);
        vm.expectRevert(_err(E.ZeroAmount.selector));
        engine.withdraw(address(usdc), 0);
        vm.expectRevert(abi.encodeWithSelector(E.AssetNotListed.selector, address(0x7777)));
        engine.withdraw(address(0x7777), 1);
        vm.expectRevert(
            abi.encodeWithSelector(E.InsufficientCollateral.selector, ALICE, address(usdc), 100e6, 100e6 + 1)
        );
        engine.withdraw(address(usdc), 100e6 + 1);
        vm.stopPrank();
    }

    function test_WithdrawWithPositionsIsMarginGated() public {
        _openPositions(); // Alice: 10,000 USDC, long 10 ETH-PERP, nonce 1
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, ALICE));
        engine.withdraw(address(usdc), 1e6);

        _advance(1);
        _postReport(ALICE, -1_000 * int256(E18), 2_000 * E18, 1_500 * E18); // report, but prices 1 block old: fine
        // equity = 9,800 - 1,000 = 8,800; IM 2,000 => may withdraw down to equity 2,000
        // withdrawing 6,939 USDC leaves 3,061 * 0.98 = 2,999.78 - 1,000 = 1,999.78 < 2,000
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                E.BelowInitialMargin.selector, ALICE, int256(1_999_780_000_000_000_000_000), 2_000 * E18
            )
        );
        engine.withdraw(address(usdc), 6_939e6);
        vm.prank(ALICE);
        engine.withdraw(address(usdc), 6_938e6);
        assertEq(engine.collateralBalance(ALICE, address(usdc)), 3_062e6);

        _advance(50); // prices now 51 blocks old; report 50 old
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.StalePrice.selector, address(usdc), block.number - 51));
        engine.withdraw(address(usdc), 1);
        _advance(1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.NoFreshReport.selector, ALICE));
        engine.withdraw(address(usdc), 1);
    }

    function test_StalePriceIgnoresAssetsNotHeldAfterWithdrawal() public {
        _openPositions();
        _fund(ALICE, weth, 1 * E18);
        _advance(1);
        _postAll(ALICE, 0, 0, 0); // both prices at this block
        uint256 wethPriceBlock = block.number;
        _advance(51);
        // only USDC re-priced: WETH's price is now 51 blocks old
        _post(_one(_price(address(usdc), E18)), _one(_report(ALICE, 0, 0, 0)), _noLeaves());
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(E.StalePrice.selector, address(weth), wethPriceBlock));
        engine.withdraw(address(weth), 1);
        // withdrawing all of it leaves only USDC held
        vm.prank(ALICE);
        engine.withdraw(address(weth), 1 * E18);
    }

    // ------------------------------------------------------------------ views

    function test_AccountHealth() public {
        _openPositions();
        _advance(1);
        _postReport(ALICE, -9_000 * int256(E18), 1_000 * E18, 800 * E18);
        AccountHealth memory h = engine.accountHealth(ALICE);
        assertEq(h.weightedCollateralValue, 9_800 * E18);
        assertEq(h.cash, 0);
        assertEq(h.portfolioValue, -9_000 * int256(E18));
        assertEq(h.equity, 800 * int256(E18));
        assertEq(h.initialMargin, 1_000 * E18);
        assertEq(h.maintenanceMargin, 800 * E18);
        assertEq(h.marginRatioBps, 10_000);
        assertTrue(h.reportFresh);
        assertTrue(h.pricesFresh);
        assertFalse(h.liquidatable); // equity == maintenance: not below
        assertFalse(engine.isLiquidatable(ALICE));

        _advance(1);
        _postReport(ALICE, -9_000 * int256(E18) - 1, 1_000 * E18, 800 * E18);
        assertTrue(engine.isLiquidatable(ALICE));
        h = engine.accountHealth(ALICE);
        assertEq(h.marginRatioBps, 9_999); // toward zero

        _advance(100);
        h = engine.accountHealth(ALICE);
        assertFalse(h.reportFresh);
        assertFalse(h.pricesFresh);
        assertFalse(h.liquidatable);

        // no report: maintenance 0 => max ratio; negative equity => 0
        h = engine.accountHealth(CAROL);
        assertEq(h.marginRatioBps, type(uint256).max);
        h = engine.accountHealth(STRANGER);
        assertEq(h.marginRatioBps, 0);
    }

    function test_WeightChangeBitesImmediately() public {
        _fund(ALICE, weth, 1 * E18);
        _postPrices();
        assertEq(engine.accountHealth(ALICE).weightedCollateralValue, 1_800 * E18);
        vm.prank(COUNCIL);
        engine.proposeChange(ParamChange(0, address(weth), 5_000));
        assertEq(engine.accountHealth(ALICE).weightedCollateralValue, 1_000 * E18);
    }

    function test_ValuationRoundsTowardZeroPerAsset() public {
        _fund(ALICE, usdc, 1); // 1e-6 USDC
        _postPrices();
        // floor(1 * 1e18 / 1e6) = 1e12; floor(1e12 * 9800 / 10000) = 98e10
        assertEq(engine.accountHealth(ALICE).weightedCollateralValue, 98e10);
    }
}
