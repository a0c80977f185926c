// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {ReportHashing} from "../../src/libraries/ReportHashing.sol";
import {EngineMath} from "../../src/libraries/EngineMath.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {
    IMarginEngineErrors as E,
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    StoredMarginReport,
    ParamChange
} from "@interfaces/IMarginEngine.sol";

/// @dev Exposes the engine's hashing library on calldata, as the engine uses it.
contract HashingHarness {
    function batchHash(ReportBatch calldata b) external pure returns (bytes32) {
        return ReportHashing.batchHash(b);
    }

    function priceLeaf(PriceReport calldata p) external pure returns (bytes32) {
        return ReportHashing.priceLeaf(p);
    }

    function marginLeaf(MarginReport calldata r) external pure returns (bytes32) {
        return ReportHashing.marginLeaf(r);
    }

    function liquidationLeaf(LiquidationStep calldata s) external pure returns (bytes32) {
        return ReportHashing.liquidationLeaf(s);
    }

    function mulDiv(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return EngineMath.mulDiv(x, y, d);
    }
}

contract FuzzTest is EngineBase {
    HashingHarness internal h;

    function setUp() public override {
        super.setUp();
        h = new HashingHarness();
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return hi == type(uint256).max && lo == 0 ? x : lo + x % (hi - lo + 1);
    }

    // ------------------------------------------------------------------ hashing and trees

    function testFuzz_HashingMatchesAbiEncode(MarginReport memory r, PriceReport memory p, LiquidationStep memory s)
        public
    {
        assertEq(h.marginLeaf(r), _marginLeaf(r));
        assertEq(h.priceLeaf(p), _priceLeaf(p));
        assertEq(h.liquidationLeaf(s), _stepLeaf(s));
        ReportBatch memory b = ReportBatch(keccak256(abi.encode(r.account)), r.observedBlock, r.riskEpoch, 7);
        assertEq(h.batchHash(b), keccak256(abi.encode(BATCH_TYPEHASH, b.root, b.observedBlock, b.riskEpoch, b.count)));
    }

    /// @dev The engine accepts exactly the root the independent builder computes, and every proof of
    ///      it verifies with OpenZeppelin MerkleProof.
    function testFuzz_RootAndProofs(uint8 nSeed, uint256 salt) public {
        uint256 n = _bound(nSeed, 1, 40);
        bytes32[] memory others = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            others[i] = keccak256(abi.encode(salt, i));
        }
        ReportBatch memory b = _post(_noPrices(), _noReports(), others);
        assertEq(b.root, _root(others));
        (uint48 ob,) = engine.attestedRoot(b.root);
        assertEq(ob, block.number);
        for (uint256 i; i < n; ++i) {
            assertTrue(MerkleProof.verify(_proof(others, i), b.root, others[i]));
        }
    }

    // ------------------------------------------------------------------ report fields

    function testFuzz_ReportFields(int128 pv, uint128 im, uint128 mm, uint48 nonce, uint32 ageSeed) public {
        uint256 age = _bound(ageSeed, 0, 60);
        _advance(60);
        MarginReport memory r = _report(ALICE, pv, im, mm);
        r.positionsNonce = nonce;
        r.observedBlock = uint48(block.number - age);
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), _one(r), _noLeaves()));
        b.observedBlock = r.observedBlock;
        bytes memory sigs = _sigs(b, 2);
        if (age > 50) {
            vm.expectRevert(abi.encodeWithSelector(E.StaleReport.selector, r.observedBlock, block.number));
        } else if (im < mm) {
            vm.expectRevert(abi.encodeWithSelector(E.InvalidMarginReport.selector, ALICE));
        } else if (nonce != 0) {
            vm.expectEmit(true, true, true, true, address(engine));
            emit MarginReportSkipped(ALICE, E.NonceMismatch.selector);
        }
        engine.postBatch(b, sigs, _noPrices(), _one(r), _noLeaves());
        StoredMarginReport memory s = engine.marginReportOf(ALICE);
        if (age <= 50 && im >= mm && nonce == 0) {
            assertEq(s.portfolioValue, pv);
            assertEq(s.initialMargin, im);
            assertEq(s.maintenanceMargin, mm);
            assertEq(s.observedBlock, r.observedBlock);
        } else {
            assertEq(s.observedBlock, 0);
        }
    }

    // ------------------------------------------------------------------ signatures

    /// @dev Any key: accepted iff it is a registered keeper (quorum lowered to 1 for the test).
    function testFuzz_SignerMustBeRegistered(uint256 keySeed, bool useKeeper) public {
        engine = _deploy(1);
        uint256 key = useKeeper ? keeperKeys[keySeed % keeperKeys.length] : _bound(keySeed, 1, SECP256K1N - 1);
        address signer = vm.addr(key);
        bool registered;
        for (uint256 i; i < keeperAddrs.length; ++i) {
            registered = registered || keeperAddrs[i] == signer;
        }
        ReportBatch memory b = _batchFor(_one(keccak256("leaf")));
        bytes memory sig = _signWith(_digest(b), key);
        if (!registered) vm.expectRevert(abi.encodeWithSelector(E.UnknownKeeper.selector, signer));
        engine.attestRoot(b, sig);
    }

    /// @dev Arbitrary 65-byte garbage never passes: bad v, high s, unrecoverable or unknown signer.
    function testFuzz_GarbageSignaturesRejected(bytes32 r, bytes32 s, uint8 v) public {
        engine = _deploy(1);
        ReportBatch memory b = _batchFor(_one(keccak256("leaf")));
        bytes memory sig = abi.encodePacked(r, s, v);
        if (v != 27 && v != 28) {
            vm.expectRevert(abi.encodeWithSelector(E.InvalidSignatureV.selector, 0, v));
        } else if (uint256(s) > SECP256K1N / 2) {
            vm.expectRevert(abi.encodeWithSelector(E.SignatureSHigh.selector, 0, s));
        } else {
            vm.expectRevert(); // InvalidSignature(0) or UnknownKeeper(x): never a registered keeper
        }
        engine.attestRoot(b, sig);
    }

    /// @dev A valid signature's malleable twin (n - s, flipped v) is always refused.
    function testFuzz_HighSTwinRejected(uint256 keeperSeed, bytes32 salt) public {
        ReportBatch memory b = _batchFor(_one(salt));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keeperKeys[keeperSeed % 5], _digest(b));
        bytes32 high = bytes32(SECP256K1N - uint256(s));
        vm.expectRevert(abi.encodeWithSelector(E.SignatureSHigh.selector, 0, high));
        engine.attestRoot(b, abi.encodePacked(r, high, v == 27 ? uint8(28) : uint8(27)));
    }

    // ------------------------------------------------------------------ amounts and rounding

    function testFuzz_DepositWithdraw(uint256 amount, uint256 out) public {
        amount = _bound(amount, 1, type(uint128).max);
        _fund(ALICE, usdc, amount);
        out = _bound(out, 1, amount + 1);
        vm.prank(ALICE);
        if (out > amount) {
            vm.expectRevert(
                abi.encodeWithSelector(E.InsufficientCollateral.selector, ALICE, address(usdc), amount, out)
            );
        }
        engine.withdraw(address(usdc), out);
        uint256 left = out > amount ? amount : amount - out;
        assertEq(engine.collateralBalance(ALICE, address(usdc)), left);
        assertEq(usdc.balanceOf(address(engine)), left);
    }

    function testFuzz_WeightedValueRoundsDown(uint96 balance, uint128 price, uint16 weight) public {
        weight = uint16(_bound(weight, 0, 8_999)); // below 9,000: tightening, applied at once
        price = uint128(_bound(price, 1, type(uint128).max));
        balance = uint96(_bound(balance, 1, type(uint96).max));
        vm.prank(COUNCIL);
        engine.proposeChange(ParamChange(0, address(weth), weight));
        _fund(ALICE, weth, balance);
        _post(_one(_price(address(weth), price)), _noReports(), _noLeaves());
        uint256 value = uint256(balance) * price / 1e18;
        assertEq(engine.accountHealth(ALICE).weightedCollateralValue, value * weight / 10_000);
    }

    function testFuzz_MulDivMatchesWideMath(uint256 x, uint256 y, uint256 d) public {
        d = _bound(d, 1, type(uint256).max);
        (bool fits, uint256 expected) = _wideMulDiv(x, y, d);
        if (!fits) vm.expectRevert(_err(E.ArithmeticOverflow.selector));
        uint256 got = h.mulDiv(x, y, d);
        if (fits) assertEq(got, expected);
    }

    /// @dev Reference floor(x*y/d) via 128-bit limbs when the product is small enough, else by the
    ///      full-width check `x*y/d < 2^256` computed with the identity on quotients.
    function _wideMulDiv(uint256 x, uint256 y, uint256 d) internal pure returns (bool, uint256) {
        if (x == 0 || y == 0) return (true, 0);
        unchecked {
            if ((x * y) / y == x) return (true, (x * y) / d);
        }
        // product overflows 256 bits: fits iff high word < d (as OpenZeppelin mul512 computes)
        uint256 mm = mulmod(x, y, type(uint256).max);
        uint256 lo;
        uint256 hi;
        unchecked {
            lo = x * y;
            hi = mm - lo - (mm < lo ? 1 : 0);
        }
        if (hi >= d) return (false, 0);
        return (true, Math.mulDiv(x, y, d)); // OpenZeppelin's own, unwrapped
    }

    // ------------------------------------------------------------------ liquidation amounts

    function testFuzz_LiquidationCashAndPenalty(uint256 sizeSeed, uint256 markSeed) public {
        _openPositions();
        int256 size = -int256(_bound(sizeSeed, 1, 10 * E18));
        uint256 mark = _bound(markSeed, 1, 5_000 * E18);
        _advance(1);
        PriceReport[] memory prices = _one(_price(address(usdc), E18));
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory step = _step(ALICE, ETH_PERP, size, mark);
        bytes32[] memory others = _one(_stepLeaf(step));
        bytes32 root = _post(prices, reports, others).root;
        uint256 notional = uint256(-size) * mark / 1e18;
        // Alice's equity is 9,800 - 9,500 = 300: the penalty is capped at the closed share of it.
        uint256 penalty = notional * 500 / 10_000;
        uint256 penaltyCap = 300 * E18 * uint256(-size) / (10 * E18);
        if (penalty > penaltyCap) penalty = penaltyCap;
        uint256 fundShare = penalty * 5_000 / 10_000;
        int256 transfer = -int256(uint256(-size) * mark / 1e18); // toward zero
        vm.prank(CAROL);
        engine.liquidate(step, root, _proof(_leaves(prices, reports, others), 3));
        (, int256 aliceCash,) = engine.accountState(ALICE);
        (, int256 carolCash,) = engine.accountState(CAROL);
        assertEq(aliceCash, -(transfer + int256(penalty)));
        assertEq(carolCash, transfer + int256(penalty) - int256(fundShare));
        assertEq(engine.settlementState().insuranceFund, fundShare);
        assertEq(engine.positionOf(ALICE, ETH_PERP) + engine.positionOf(CAROL, ETH_PERP), 10 * int256(E18));
        assertEq(engine.liquidatedNotionalThisBlock(), notional);
    }
}
