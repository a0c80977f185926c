// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {
    IMarginEngineErrors as E,
    ReportBatch,
    PriceReport,
    MarginReport,
    ParamChange,
    StoredMarginReport,
    CollateralInfo
} from "@interfaces/IMarginEngine.sol";

contract ReportsTest is EngineBase {
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev A valid batch (1 price, 2 reports) at the current block, with its items.
    function _sample()
        internal
        view
        returns (ReportBatch memory b, PriceReport[] memory prices, MarginReport[] memory reports)
    {
        prices = _one(_price(address(weth), 2_000 * E18));
        reports = new MarginReport[](2);
        reports[0] = _report(ALICE, 100 * int256(E18), 50 * E18, 40 * E18);
        reports[1] = _report(BOB, -5 * int256(E18), 10 * E18, 10 * E18);
        b = _batchFor(_leaves(prices, reports, _noLeaves()));
    }

    function _expectBatchRevert(
        ReportBatch memory b,
        bytes memory sigs,
        PriceReport[] memory prices,
        MarginReport[] memory reports,
        bytes memory err
    ) internal {
        vm.expectRevert(err);
        engine.postBatch(b, sigs, prices, reports, _noLeaves());
    }

    // ------------------------------------------------------------------ postBatch: success

    function test_PostBatchStoresPricesAndReports() public {
        (ReportBatch memory b, PriceReport[] memory prices, MarginReport[] memory reports) = _sample();
        bytes memory sigs = _sigs(b, 2);
        vm.expectEmit(true, true, true, true, address(engine));
        emit PriceUpdated(address(weth), uint128(2_000 * E18), uint48(block.number));
        vm.expectEmit(true, true, true, true, address(engine));
        emit BatchPosted(b.root, uint48(block.number), 1, 2, 0);
        vm.prank(STRANGER); // anyone may submit
        engine.postBatch(b, sigs, prices, reports, _noLeaves());

        StoredMarginReport memory s = engine.marginReportOf(ALICE);
        assertEq(s.portfolioValue, 100 * int256(E18));
        assertEq(s.observedBlock, block.number);
        assertEq(s.riskEpoch, 0);
        assertEq(s.positionsNonce, 0);
        assertEq(s.initialMargin, 50 * E18);
        assertEq(s.maintenanceMargin, 40 * E18);
        CollateralInfo memory info = engine.collateralInfo(address(weth));
        assertEq(info.price, 2_000 * E18);
        assertEq(info.priceBlock, block.number);
        (uint48 ob,) = engine.attestedRoot(b.root);
        assertEq(ob, 0, "no root stored without other leaves");
    }

    function test_PostBatchWithOtherLeavesStoresRoot() public {
        bytes32[] memory others = _one(keccak256("a liquidation leaf"));
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), _noReports(), others));
        vm.expectEmit(true, true, true, true, address(engine));
        emit RootAttested(b.root, uint48(block.number), 0, 1);
        vm.expectEmit(true, true, true, true, address(engine));
        emit BatchPosted(b.root, uint48(block.number), 0, 0, 0);
        engine.postBatch(b, _sigs(b, 2), _noPrices(), _noReports(), others);
        (uint48 ob, uint32 ep) = engine.attestedRoot(b.root);
        assertEq(ob, block.number);
        assertEq(ep, 0);
    }

    function test_MoreSignersThanQuorumAreAccepted() public {
        (ReportBatch memory b, PriceReport[] memory prices, MarginReport[] memory reports) = _sample();
        engine.postBatch(b, _sigs(b, 5), prices, reports, _noLeaves());
    }

    function test_SkipsStaleItemsInABatch() public {
        (ReportBatch memory b, PriceReport[] memory prices, MarginReport[] memory reports) = _sample();
        engine.postBatch(b, _sigs(b, 2), prices, reports, _noLeaves());
        // Replay: price and both reports are not newer.
        vm.expectEmit(true, true, true, true, address(engine));
        emit PriceSkipped(address(weth), E.PriceNotNewer.selector);
        vm.expectEmit(true, true, true, true, address(engine));
        emit MarginReportSkipped(ALICE, E.ReportNotNewer.selector);
        vm.expectEmit(true, true, true, true, address(engine));
        emit MarginReportSkipped(BOB, E.ReportNotNewer.selector);
        vm.expectEmit(true, true, true, true, address(engine));
        emit BatchPosted(b.root, uint48(block.number), 0, 0, 3);
        engine.postBatch(b, _sigs(b, 2), prices, reports, _noLeaves());
    }

    function test_SkipsNonceMismatchInABatch() public {
        _advance(1);
        MarginReport memory r = _report(ALICE, 0, 0, 0);
        r.positionsNonce = 7;
        vm.expectEmit(true, true, true, true, address(engine));
        emit MarginReportSkipped(ALICE, E.NonceMismatch.selector);
        _post(_noPrices(), _one(r), _noLeaves());
        assertEq(engine.marginReportOf(ALICE).observedBlock, 0);
    }

    function test_EmptyBatchWithZeroRoot() public {
        ReportBatch memory b = ReportBatch(bytes32(0), uint48(block.number), 0, 0);
        engine.postBatch(b, _sigs(b, 2), _noPrices(), _noReports(), _noLeaves());
    }

    // ------------------------------------------------------------------ postBatch: order of checks

    function test_RevertWhen_BatchEpochWrong() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        b.riskEpoch = 3;
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.WrongRiskEpoch.selector, 0, 3));
    }

    function test_RevertWhen_BatchFromTheFuture() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        b.observedBlock = uint48(block.number + 1);
        _expectBatchRevert(
            b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.FutureReport.selector, block.number + 1, block.number)
        );
    }

    function test_RevertWhen_BatchStale() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes memory sigs = _sigs(b, 2);
        _advance(50);
        engine.postBatch(b, sigs, p, r, _noLeaves()); // exactly maxReportAgeBlocks old: fresh
        _advance(1);
        _expectBatchRevert(b, sigs, p, r, abi.encodeWithSelector(E.StaleReport.selector, b.observedBlock, block.number));
    }

    function test_RevertWhen_CountMismatch() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        b.count = 4;
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.CountMismatch.selector, 4, 3));
    }

    function test_RevertWhen_LeafBlockMismatch() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        p[0].observedBlock -= 1;
        r[1].observedBlock += 1;
        // the first leaf in leaf order decides
        _expectBatchRevert(
            b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.LeafBlockMismatch.selector, block.number, block.number - 1)
        );
        p[0].observedBlock += 1;
        _expectBatchRevert(
            b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.LeafBlockMismatch.selector, block.number, block.number + 1)
        );
    }

    function test_RevertWhen_LeafEpochMismatch() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        r[0].riskEpoch = 9;
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.WrongRiskEpoch.selector, 0, 9));
    }

    function test_RevertWhen_RootMismatch() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        r[0].portfolioValue += 1;
        bytes32 computed = _root(_leaves(p, r, _noLeaves()));
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.RootMismatch.selector, b.root, computed));
    }

    function test_RevertWhen_MalformedSignatures() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes memory sigs = _sigs(b, 2);
        _expectBatchRevert(b, "", p, r, abi.encodeWithSelector(E.MalformedSignatures.selector, 0));
        _expectBatchRevert(
            b, bytes.concat(sigs, hex"00"), p, r, abi.encodeWithSelector(E.MalformedSignatures.selector, 131)
        );
    }

    function test_RevertWhen_SignatureVInvalid() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes memory sigs = _sigs(b, 2);
        sigs[129] = bytes1(uint8(1));
        _expectBatchRevert(b, sigs, p, r, abi.encodeWithSelector(E.InvalidSignatureV.selector, 1, 1));
    }

    function test_RevertWhen_SignatureSHigh() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes memory sigs = _sigs(b, 2);
        // flip the first signature to its high-s twin (same signer)
        bytes32 s;
        assembly {
            s := mload(add(sigs, 0x40))
        }
        bytes32 high = bytes32(SECP256K1N - uint256(s));
        uint8 v = uint8(sigs[64]) == 27 ? 28 : 27;
        assembly {
            mstore(add(sigs, 0x40), high)
        }
        sigs[64] = bytes1(v);
        _expectBatchRevert(b, sigs, p, r, abi.encodeWithSelector(E.SignatureSHigh.selector, 0, high));
    }

    function test_RevertWhen_SignatureUnrecoverable() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes memory sigs = bytes.concat(_sigs(b, 1), abi.encodePacked(bytes32(0), bytes32(uint256(1)), uint8(27)));
        _expectBatchRevert(b, sigs, p, r, abi.encodeWithSelector(E.InvalidSignature.selector, 1));
    }

    function test_RevertWhen_SignersNotAscending() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        bytes32 d = _digest(b);
        bytes memory sigs = bytes.concat(_signWith(d, keeperKeys[1]), _signWith(d, keeperKeys[0]));
        _expectBatchRevert(
            b, sigs, p, r, abi.encodeWithSelector(E.SignersNotAscending.selector, keeperAddrs[1], keeperAddrs[0])
        );
        sigs = bytes.concat(_signWith(d, keeperKeys[0]), _signWith(d, keeperKeys[0]));
        _expectBatchRevert(
            b, sigs, p, r, abi.encodeWithSelector(E.SignersNotAscending.selector, keeperAddrs[0], keeperAddrs[0])
        );
    }

    function test_RevertWhen_UnknownKeeper() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        uint256 key = 0xBEEF;
        address signer = vm.addr(key);
        bytes memory sigs = _signWith(_digest(b), key);
        _expectBatchRevert(b, sigs, p, r, abi.encodeWithSelector(E.UnknownKeeper.selector, signer));
    }

    function test_RevertWhen_QuorumNotMet() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        _expectBatchRevert(b, _sigs(b, 1), p, r, abi.encodeWithSelector(E.QuorumNotMet.selector, 1, 2));
    }

    function test_RevertWhen_SignedForAnotherChainOrEngine() public {
        (ReportBatch memory b, PriceReport[] memory p, MarginReport[] memory r) = _sample();
        uint256 chain = block.chainid;
        vm.chainId(chain + 1);
        bytes memory sigs = _sigs(b, 2);
        vm.chainId(chain);
        // recovers to some other address: an unknown keeper (never a registered one)
        vm.expectRevert();
        engine.postBatch(b, sigs, p, r, _noLeaves());
    }

    function test_RevertWhen_PriceForUnlistedAssetOrZero() public {
        (ReportBatch memory b,, MarginReport[] memory r) = _sample();
        PriceReport[] memory p = _one(_price(address(0x7777), E18));
        b = _batchFor(_leaves(p, r, _noLeaves()));
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.AssetNotListed.selector, address(0x7777)));
        p[0] = _price(address(weth), 0);
        b = _batchFor(_leaves(p, r, _noLeaves()));
        _expectBatchRevert(b, _sigs(b, 2), p, r, abi.encodeWithSelector(E.InvalidPrice.selector, address(weth)));
    }

    function test_RevertWhen_InitialBelowMaintenance() public {
        (,, MarginReport[] memory r) = _sample();
        r[1].initialMargin = uint128(r[1].maintenanceMargin - 1);
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), r, _noLeaves()));
        _expectBatchRevert(b, _sigs(b, 2), _noPrices(), r, abi.encodeWithSelector(E.InvalidMarginReport.selector, BOB));
    }

    // ------------------------------------------------------------------ attestRoot

    function test_AttestRoot() public {
        bytes32[] memory leaves = _one(keccak256("x"));
        ReportBatch memory b = _batchFor(leaves);
        vm.expectEmit(true, true, true, true, address(engine));
        emit RootAttested(b.root, uint48(block.number), 0, 1);
        engine.attestRoot(b, _sigs(b, 2));
        b.riskEpoch = 1;
        vm.expectRevert(abi.encodeWithSelector(E.WrongRiskEpoch.selector, 0, 1));
        engine.attestRoot(b, _sigs(b, 2));
        b.riskEpoch = 0;
        vm.expectRevert(abi.encodeWithSelector(E.QuorumNotMet.selector, 1, 2));
        engine.attestRoot(b, _sigs(b, 1));
    }

    // ------------------------------------------------------------------ postMarginReport

    function _attested() internal returns (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) {
        p = _one(_price(address(weth), 2_000 * E18));
        r = new MarginReport[](2);
        r[0] = _report(ALICE, 100 * int256(E18), 50 * E18, 40 * E18);
        r[1] = _report(BOB, 0, 0, 0);
        root = _attest(_leaves(p, r, _noLeaves()));
    }

    function test_PostMarginReportProven() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        bytes32[] memory proof = _proof(_leaves(p, r, _noLeaves()), 1);
        vm.expectEmit(true, true, true, true, address(engine));
        emit MarginReportProven(ALICE, root, uint48(block.number));
        vm.prank(STRANGER);
        engine.postMarginReport(r[0], root, proof);
        assertEq(engine.marginReportOf(ALICE).portfolioValue, 100 * int256(E18));
        vm.expectRevert(abi.encodeWithSelector(E.ReportNotNewer.selector, ALICE, block.number, block.number));
        engine.postMarginReport(r[0], root, proof);
    }

    function test_PostPriceReportProven() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        bytes32[] memory proof = _proof(_leaves(p, r, _noLeaves()), 0);
        vm.expectEmit(true, true, true, true, address(engine));
        emit PriceUpdated(address(weth), uint128(2_000 * E18), uint48(block.number));
        engine.postPriceReport(p[0], root, proof);
        vm.expectRevert(abi.encodeWithSelector(E.PriceNotNewer.selector, address(weth), block.number, block.number));
        engine.postPriceReport(p[0], root, proof);
    }

    function test_RevertWhen_ProvenAgainstUnknownRoot() public {
        (PriceReport[] memory p, MarginReport[] memory r,) = _attested();
        bytes32 bogus = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(E.UnknownRoot.selector, bogus));
        engine.postMarginReport(r[0], bogus, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(E.UnknownRoot.selector, bogus));
        engine.postPriceReport(p[0], bogus, new bytes32[](0));
    }

    function test_RevertWhen_ProvenRootOfOldEpoch() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        vm.prank(COUNCIL);
        engine.proposeChange(ParamChange(16, address(0), 0));
        vm.expectRevert(abi.encodeWithSelector(E.WrongRiskEpoch.selector, 1, 0));
        engine.postMarginReport(r[0], root, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(E.WrongRiskEpoch.selector, 1, 0));
        engine.postPriceReport(p[0], root, new bytes32[](0));
    }

    function test_RevertWhen_ProvenRootStale() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        uint256 observed = block.number;
        _advance(51);
        vm.expectRevert(abi.encodeWithSelector(E.StaleReport.selector, observed, block.number));
        engine.postMarginReport(r[0], root, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(E.StaleReport.selector, observed, block.number));
        engine.postPriceReport(p[0], root, new bytes32[](0));
    }

    function test_RevertWhen_ProvenLeafBlockOrEpochDiffers() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        r[0].observedBlock -= 1;
        vm.expectRevert(abi.encodeWithSelector(E.LeafBlockMismatch.selector, block.number, block.number - 1));
        engine.postMarginReport(r[0], root, new bytes32[](0));
        p[0].observedBlock += 1;
        vm.expectRevert(abi.encodeWithSelector(E.LeafBlockMismatch.selector, block.number, block.number + 1));
        engine.postPriceReport(p[0], root, new bytes32[](0));
        r[0].observedBlock += 1;
        r[0].riskEpoch = 5;
        vm.expectRevert(abi.encodeWithSelector(E.WrongRiskEpoch.selector, 0, 5));
        engine.postMarginReport(r[0], root, new bytes32[](0));
    }

    function test_RevertWhen_ProofInvalid() public {
        (PriceReport[] memory p, MarginReport[] memory r, bytes32 root) = _attested();
        bytes32[] memory proof = _proof(_leaves(p, r, _noLeaves()), 2); // Bob's proof
        vm.expectRevert(abi.encodeWithSelector(E.InvalidProof.selector, root, _marginLeaf(r[0])));
        engine.postMarginReport(r[0], root, proof);
        // a price leaf's proof does not make it a margin leaf
        vm.expectRevert(abi.encodeWithSelector(E.InvalidProof.selector, root, _priceLeaf(p[0])));
        engine.postPriceReport(p[0], root, _proof(_leaves(p, r, _noLeaves()), 1));
    }

    function test_RevertWhen_ProvenItemBreaksItsRules() public {
        PriceReport[] memory p = new PriceReport[](2);
        p[0] = _price(address(0x7777), E18);
        p[1] = _price(address(weth), 0);
        MarginReport[] memory r = new MarginReport[](2);
        r[0] = _report(ALICE, 0, 1, 2);
        r[1] = _report(BOB, 0, 0, 0);
        r[1].positionsNonce = 3;
        bytes32[] memory leaves = _leaves(p, r, _noLeaves());
        bytes32 root = _attest(leaves);
        vm.expectRevert(abi.encodeWithSelector(E.AssetNotListed.selector, address(0x7777)));
        engine.postPriceReport(p[0], root, _proof(leaves, 0));
        vm.expectRevert(abi.encodeWithSelector(E.InvalidPrice.selector, address(weth)));
        engine.postPriceReport(p[1], root, _proof(leaves, 1));
        vm.expectRevert(abi.encodeWithSelector(E.InvalidMarginReport.selector, ALICE));
        engine.postMarginReport(r[0], root, _proof(leaves, 2));
        vm.expectRevert(abi.encodeWithSelector(E.NonceMismatch.selector, BOB, 0, 3));
        engine.postMarginReport(r[1], root, _proof(leaves, 3));
    }
}
