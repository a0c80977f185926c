// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {
    IMarginEngineErrors as E,
    ParamChange,
    RiskParams,
    CollateralInfo,
    SettlementState
} from "@interfaces/IMarginEngine.sol";

contract ConstructorTest is EngineBase {
    address[] internal assets;
    uint8[] internal decimals;
    uint16[] internal weights;
    address[] internal venues;
    RiskParams internal params;
    uint8 internal q = 2;
    address[3] internal roleHolders;

    function setUp() public override {
        super.setUp();
        assets.push(address(usdc));
        decimals.push(6);
        weights.push(9_800);
        venues.push(VENUE);
        params = _params();
        roleHolders = [ADMIN, COUNCIL, GUARDIAN];
    }

    function _try(bytes memory expected) internal {
        vm.expectRevert(expected);
        new MarginEngine(
            roleHolders[0], roleHolders[1], roleHolders[2], keeperAddrs, q, params, assets, decimals, weights, venues
        );
    }

    function test_InitialState() public {
        assertEq(engine.riskEpoch(), 0);
        assertEq(engine.quorum(), 2);
        assertEq(engine.keepers().length, 5);
        assertEq(engine.keepers()[0], keeperAddrs[0]);
        (address a, address c, address g) = engine.roles();
        assertEq(a, ADMIN);
        assertEq(c, COUNCIL);
        assertEq(g, GUARDIAN);
        assertFalse(engine.paused());
        assertTrue(engine.isVenue(VENUE));
        assertEq(engine.collateralAssets().length, 2);
        CollateralInfo memory info = engine.collateralInfo(address(weth));
        assertTrue(info.listed);
        assertEq(info.decimals, 18);
        assertEq(info.weightBps, 9_000);
        assertEq(info.price, 0);
        RiskParams memory p = engine.riskParams();
        assertEq(p.maxReportAgeBlocks, 50);
        assertEq(p.liquidationNotionalCapPerBlock, 1_000_000 * E18);
        assertEq(engine.domainSeparator(), _domain(address(engine)));
    }

    function test_ConstructorEmitsNoEvents() public {
        VM.recordLogs();
        _deploy(2);
        assertEq(VM.getRecordedLogs().length, 0);
    }

    function test_RevertWhen_RoleIsZero() public {
        for (uint256 i; i < 3; ++i) {
            roleHolders = [ADMIN, COUNCIL, GUARDIAN];
            roleHolders[i] = address(0);
            _try(_err(E.ZeroAddress.selector));
        }
    }

    function test_RevertWhen_KeeperZeroDuplicateOrTooMany() public {
        keeperAddrs.push(address(0));
        _try(_err(E.ZeroAddress.selector));
        keeperAddrs[5] = keeperAddrs[0];
        _try(abi.encodeWithSelector(E.KeeperAlreadyRegistered.selector, keeperAddrs[0]));
        keeperAddrs.pop();
        while (keeperAddrs.length < 33) {
            keeperAddrs.push(address(uint160(0x5000 + keeperAddrs.length)));
        }
        _try(abi.encodeWithSelector(E.TooManyKeepers.selector, 32));
    }

    function test_RevertWhen_QuorumOutOfRange() public {
        q = 0;
        _try(abi.encodeWithSelector(E.QuorumOutOfRange.selector, 0, 5));
        q = 6;
        _try(abi.encodeWithSelector(E.QuorumOutOfRange.selector, 6, 5));
    }

    function test_RevertWhen_ParamsOutOfBounds() public {
        params.liquidationThresholdBps = 9_999;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 2, 9_999, 10_000, 20_000));
        params = _params();
        params.liquidationPenaltyBps = 1_501;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 3, 1_501, 0, 1_500));
        params = _params();
        params.maxReportAgeBlocks = 0;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 4, 0, 1, 100_000));
        params = _params();
        params.maxPriceAgeBlocks = 100_001;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 5, 100_001, 1, 100_000));
        params = _params();
        params.liquidationNotionalCapPerBlock = 1e18 - 1;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 6, 1e18 - 1, 1e18, 1e30));
        params = _params();
        params.timelockDelay = 59;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 7, 59, 60, 2_592_000));
    }

    function test_RevertWhen_CollateralArraysOrBoundsWrong() public {
        decimals.push(18);
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 1, 2, 1, 1));
        decimals.pop();
        weights.push(1);
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 0, 2, 1, 1));
        weights.pop();
        decimals[0] = 37;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 1, 37, 0, 36));
        decimals[0] = 6;
        weights[0] = 10_001;
        _try(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 0, 10_001, 0, 10_000));
        weights[0] = 9_800;
        assets[0] = address(0);
        _try(_err(E.ZeroAddress.selector));
        assets[0] = address(usdc);
        assets.push(address(usdc));
        decimals.push(6);
        weights.push(1);
        _try(abi.encodeWithSelector(E.AssetAlreadyListed.selector, address(usdc)));
        delete assets;
        delete decimals;
        delete weights;
        for (uint256 i; i < 17; ++i) {
            assets.push(address(uint160(0x7001 + i)));
            decimals.push(6);
            weights.push(1);
        }
        _try(abi.encodeWithSelector(E.TooManyCollateralAssets.selector, 16));
    }

    function test_RevertWhen_VenueZero() public {
        venues.push(address(0));
        _try(_err(E.ZeroAddress.selector));
    }
}

contract GovernanceTest is EngineBase {
    function _change(uint8 kind, address target, uint256 value) internal pure returns (ParamChange memory) {
        return ParamChange({kind: kind, target: target, value: value});
    }

    function _id(ParamChange memory c, uint64 eta) internal pure returns (bytes32) {
        return keccak256(abi.encode(c.kind, c.target, c.value, eta));
    }

    function _queue(ParamChange memory c) internal returns (bytes32 id, uint64 eta) {
        vm.prank(ADMIN);
        bool applied;
        (id, applied) = engine.proposeChange(c);
        assertFalse(applied);
        eta = uint64(block.timestamp + engine.riskParams().timelockDelay);
        assertEq(id, _id(c, eta));
        assertEq(engine.queuedChangeEta(id), eta);
    }

    function _execute(ParamChange memory c) internal {
        (, uint64 eta) = _queue(c);
        vm.warp(eta);
        vm.prank(STRANGER); // anyone may execute
        engine.executeChange(c, eta);
    }

    // --- tightening applies at once, by council or admin

    function test_TighteningWeightAppliesAtOnceByCouncil() public {
        ParamChange memory c = _change(0, address(weth), 8_000);
        bytes32 id = _id(c, uint64(block.timestamp));
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeApplied(id, 0, address(weth), 8_000);
        vm.prank(COUNCIL);
        (bytes32 got, bool applied) = engine.proposeChange(c);
        assertTrue(applied);
        assertEq(got, id);
        assertEq(engine.collateralInfo(address(weth)).weightBps, 8_000);
        assertEq(engine.queuedChangeEta(id), 0);
    }

    function test_TighteningScalarsApplyAtOnce() public {
        vm.startPrank(ADMIN);
        engine.proposeChange(_change(2, address(0), 12_000));
        engine.proposeChange(_change(4, address(0), 10));
        engine.proposeChange(_change(5, address(0), 20));
        engine.proposeChange(_change(7, address(0), 7_200));
        vm.stopPrank();
        RiskParams memory p = engine.riskParams();
        assertEq(p.liquidationThresholdBps, 12_000);
        assertEq(p.maxReportAgeBlocks, 10);
        assertEq(p.maxPriceAgeBlocks, 20);
        assertEq(p.timelockDelay, 7_200);
    }

    function test_RaisingQuorumAppliesAndBumpsEpoch() public {
        ParamChange memory c = _change(8, address(0), 3);
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeApplied(_id(c, uint64(block.timestamp)), 8, address(0), 3);
        vm.expectEmit(true, true, true, true, address(engine));
        emit RiskEpochBumped(1);
        vm.prank(COUNCIL);
        engine.proposeChange(c);
        assertEq(engine.quorum(), 3);
        assertEq(engine.riskEpoch(), 1);
    }

    function test_RemoveKeeperKeepsOrderAndBumpsEpoch() public {
        address removed = keeperAddrs[1];
        vm.prank(COUNCIL);
        engine.proposeChange(_change(10, removed, 0));
        address[] memory k = engine.keepers();
        assertEq(k.length, 4);
        assertEq(k[0], keeperAddrs[0]);
        assertEq(k[1], keeperAddrs[2]);
        assertEq(k[3], keeperAddrs[4]);
        assertEq(engine.riskEpoch(), 1);
    }

    function test_RemoveVenueAndBumpEpochAtOnce() public {
        vm.startPrank(COUNCIL);
        engine.proposeChange(_change(12, VENUE, 0));
        engine.proposeChange(_change(16, address(0), 0));
        vm.stopPrank();
        assertFalse(engine.isVenue(VENUE));
        assertEq(engine.riskEpoch(), 1);
    }

    /// @dev Issue 12 ("listing can be exhausted"): on the old code the council listed at once
    ///      (`applied` was true and the asset was listed in the same call).
    function test_ListingIsQueuedBehindTheTimelock() public {
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.proposeChange(_change(1, address(0x7777), 8));
        _execute(_change(1, address(0x7777), 8));
        vm.prank(COUNCIL);
        engine.proposeChange(_change(16, address(0), 0));
        CollateralInfo memory info = engine.collateralInfo(address(0x7777));
        assertTrue(info.listed);
        assertEq(info.decimals, 8);
        assertEq(info.weightBps, 0);
        assertEq(engine.collateralAssets()[2], address(0x7777));
        assertEq(engine.riskEpoch(), 1);
    }

    // --- loosening is queued by the admin, executable after the timelock

    function test_LooseningIsQueuedThenExecuted() public {
        ParamChange memory c = _change(0, address(weth), 9_500);
        vm.prank(ADMIN);
        uint64 eta = uint64(block.timestamp + 3_600);
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeQueued(_id(c, eta), 0, address(weth), 9_500, eta);
        (bytes32 id, bool applied) = engine.proposeChange(c);
        assertFalse(applied);
        assertEq(engine.collateralInfo(address(weth)).weightBps, 9_000);

        vm.warp(eta - 1);
        vm.expectRevert(abi.encodeWithSelector(E.TimelockNotElapsed.selector, id, eta));
        engine.executeChange(c, eta);

        vm.warp(eta);
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeApplied(id, 0, address(weth), 9_500);
        engine.executeChange(c, eta);
        assertEq(engine.collateralInfo(address(weth)).weightBps, 9_500);
        assertEq(engine.queuedChangeEta(id), 0);
        vm.expectRevert(abi.encodeWithSelector(E.ChangeNotQueued.selector, id));
        engine.executeChange(c, eta);
    }

    function test_EqualValueIsNotTightening() public {
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.proposeChange(_change(0, address(weth), 9_000));
    }

    function test_EveryLooseningKindExecutes() public {
        _execute(_change(2, address(0), 10_000)); // equal: queued, applied
        _execute(_change(3, address(0), 1_000));
        _execute(_change(4, address(0), 100));
        _execute(_change(5, address(0), 100));
        _execute(_change(6, address(0), 5e24));
        _execute(_change(7, address(0), 60));
        _execute(_change(8, address(0), 1));
        _execute(_change(9, address(0x4444), 0));
        _execute(_change(11, address(0x5555), 0));
        vm.prank(ADMIN);
        (, bool applied) = engine.proposeChange(_change(14, address(0x6666), 0)); // at once, admin only
        assertTrue(applied);
        _execute(_change(15, address(0x7777), 0));
        _execute(_change(17, address(0), 2_000));
        _execute(_change(18, address(0), 0));
        _execute(_change(19, address(0), 100));
        RiskParams memory p = engine.riskParams();
        assertEq(p.liquidationPenaltyBps, 1_000);
        assertEq(p.maxReportAgeBlocks, 100);
        assertEq(p.maxPriceAgeBlocks, 100);
        assertEq(p.liquidationNotionalCapPerBlock, 5e24);
        assertEq(p.timelockDelay, 60);
        assertEq(engine.quorum(), 1);
        assertEq(engine.riskEpoch(), 1); // quorum change bumps
        assertEq(engine.keepers()[5], address(0x4444));
        assertTrue(engine.isVenue(address(0x5555)));
        (, address c, address g) = engine.roles();
        assertEq(c, address(0x6666));
        assertEq(g, address(0x7777));
        SettlementState memory st = engine.settlementState();
        assertEq(st.seizureDiscountBps, 2_000);
        assertEq(st.insuranceShareBps, 0);
        assertEq(st.liquidatorMarginBps, 100);
        _execute(_change(13, address(0x8888), 0));
        (address a,,) = engine.roles();
        assertEq(a, address(0x8888));
    }

    function test_RevertWhen_ChangeExpired() public {
        ParamChange memory c = _change(3, address(0), 100);
        (bytes32 id, uint64 eta) = _queue(c);
        vm.warp(uint256(eta) + 14 days);
        uint256 snap = VM.snapshotState();
        engine.executeChange(c, eta); // last second of grace
        VM.revertToState(snap);
        vm.warp(uint256(eta) + 14 days + 1);
        vm.expectRevert(abi.encodeWithSelector(E.ChangeExpired.selector, id, eta));
        engine.executeChange(c, eta);
    }

    function test_RevertWhen_ChangeAlreadyQueued() public {
        ParamChange memory c = _change(3, address(0), 100);
        (bytes32 id,) = _queue(c);
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.ChangeAlreadyQueued.selector, id));
        engine.proposeChange(c);
    }

    function test_ExecuteRechecksTheKindsRules() public {
        ParamChange memory c = _change(9, address(0x4444), 0);
        (, uint64 eta1) = _queue(c);
        vm.warp(block.timestamp + 1);
        (, uint64 eta2) = _queue(c);
        vm.warp(eta2);
        engine.executeChange(c, eta1);
        vm.expectRevert(abi.encodeWithSelector(E.KeeperAlreadyRegistered.selector, address(0x4444)));
        engine.executeChange(c, eta2);
    }

    function test_CancelChange() public {
        ParamChange memory c = _change(3, address(0), 100);
        (bytes32 id, uint64 eta) = _queue(c);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.NotRiskCouncilOrAdmin.selector, STRANGER));
        engine.cancelChange(id);
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeCancelled(id);
        vm.prank(COUNCIL);
        engine.cancelChange(id);
        assertEq(engine.queuedChangeEta(id), 0);
        vm.warp(eta);
        vm.expectRevert(abi.encodeWithSelector(E.ChangeNotQueued.selector, id));
        engine.executeChange(c, eta);
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.ChangeNotQueued.selector, id));
        engine.cancelChange(id);
    }

    // --- roles

    function test_RevertWhen_WrongCallerForEachDirection() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.NotRiskCouncilOrAdmin.selector, STRANGER));
        engine.proposeChange(_change(0, address(weth), 1));
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.proposeChange(_change(0, address(weth), 9_999));
        vm.prank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, GUARDIAN));
        engine.proposeChange(_change(9, address(0x4444), 0));
    }

    function test_RevertWhen_UnknownChangeKind() public {
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.UnknownChangeKind.selector, 21));
        engine.proposeChange(_change(21, address(0), 0));
        // the kind is checked before the role
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.UnknownChangeKind.selector, 255));
        engine.proposeChange(_change(255, address(0), 0));
    }

    function test_RevertWhen_KindRulesFail() public {
        vm.startPrank(ADMIN);
        vm.expectRevert(_err(E.ZeroAddress.selector));
        engine.proposeChange(_change(9, address(0), 0));
        vm.expectRevert(_err(E.ZeroAddress.selector));
        engine.proposeChange(_change(1, address(0), 6));
        vm.expectRevert(_err(E.ZeroAddress.selector));
        engine.proposeChange(_change(13, address(0), 0));
        vm.expectRevert(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 0, 10_001, 0, 10_000));
        engine.proposeChange(_change(0, address(weth), 10_001));
        vm.expectRevert(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 2, 20_001, 10_000, 20_000));
        engine.proposeChange(_change(2, address(0), 20_001));
        vm.expectRevert(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 16, 1, 0, 0));
        engine.proposeChange(_change(16, address(0), 1));
        vm.expectRevert(abi.encodeWithSelector(E.ParameterOutOfBounds.selector, 1, 37, 0, 36));
        engine.proposeChange(_change(1, address(0x7777), 37));
        vm.expectRevert(abi.encodeWithSelector(E.AssetNotListed.selector, address(0x7777)));
        engine.proposeChange(_change(0, address(0x7777), 0));
        vm.expectRevert(abi.encodeWithSelector(E.AssetAlreadyListed.selector, address(usdc)));
        engine.proposeChange(_change(1, address(usdc), 6));
        vm.expectRevert(abi.encodeWithSelector(E.KeeperAlreadyRegistered.selector, keeperAddrs[0]));
        engine.proposeChange(_change(9, keeperAddrs[0], 0));
        vm.expectRevert(abi.encodeWithSelector(E.KeeperNotRegistered.selector, address(0x4444)));
        engine.proposeChange(_change(10, address(0x4444), 0));
        vm.expectRevert(abi.encodeWithSelector(E.QuorumOutOfRange.selector, 6, 5));
        engine.proposeChange(_change(8, address(0), 6));
        vm.expectRevert(abi.encodeWithSelector(E.QuorumOutOfRange.selector, 0, 5));
        engine.proposeChange(_change(8, address(0), 0));
        vm.stopPrank();
    }

    function test_RevertWhen_RemovingKeeperBelowQuorum() public {
        vm.startPrank(ADMIN);
        engine.proposeChange(_change(8, address(0), 5));
        vm.expectRevert(abi.encodeWithSelector(E.QuorumOutOfRange.selector, 5, 4));
        engine.proposeChange(_change(10, keeperAddrs[0], 0));
        vm.stopPrank();
    }

    function test_RevertWhen_TooManyKeepersOrAssets() public {
        for (uint256 i; i < 27; ++i) {
            _execute(_change(9, address(uint160(0x9000 + i)), 0));
        }
        assertEq(engine.keepers().length, 32);
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.TooManyKeepers.selector, 32));
        engine.proposeChange(_change(9, address(0x4444), 0));
        for (uint256 i; i < 14; ++i) {
            _execute(_change(1, address(uint160(0x8000 + i)), 18));
        }
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.TooManyCollateralAssets.selector, 16));
        engine.proposeChange(_change(1, address(0x4444), 18));
    }

    // --- instruments and pause

    function test_ListInstrument() public {
        bytes32 id = keccak256("SOL-PERP");
        vm.prank(COUNCIL);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, COUNCIL));
        engine.listInstrument(id, "");
        vm.expectEmit(true, true, true, true, address(engine));
        emit InstrumentListed(id, bytes("{}"));
        vm.prank(ADMIN);
        engine.listInstrument(id, bytes("{}"));
        assertTrue(engine.isInstrumentListed(id));
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(E.InstrumentAlreadyListed.selector, id));
        engine.listInstrument(id, "");
    }

    function test_PauseAndUnpause() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(E.NotPauseGuardianOrAdmin.selector, STRANGER));
        engine.pause();
        vm.expectEmit(true, true, true, true, address(engine));
        emit EnginePausedBy(GUARDIAN);
        vm.prank(GUARDIAN);
        engine.pause();
        assertTrue(engine.paused());
        vm.expectEmit(true, true, true, true, address(engine));
        emit EnginePausedBy(ADMIN); // idempotent, emits again
        vm.prank(ADMIN);
        engine.pause();
        vm.prank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, GUARDIAN));
        engine.unpause();
        vm.expectEmit(true, true, true, true, address(engine));
        emit EngineUnpausedBy(ADMIN);
        vm.prank(ADMIN);
        engine.unpause();
        assertFalse(engine.paused());
        vm.prank(ADMIN);
        engine.unpause();
    }
}
