// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {
    IMarginEngine,
    IMarginEngineErrors,
    IMarginEngineEvents,
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    TradeLeg,
    ParamChange,
    RiskParams
} from "@interfaces/IMarginEngine.sol";
import {MockERC20} from "../mocks/MockTokens.sol";
import {VmExt} from "./VmExt.sol";

/// @title Shared fixture: an engine with 5 keepers at quorum 2, USDC (6 decimals, 98%) and WETH
///        (18 decimals, 90%) as collateral, one venue and two listed perpetuals; and independent
///        re-implementations (plain `abi.encode`, a level-by-level tree) of the hashing, Merkle tree
///        and quorum signing the engine checks.
abstract contract EngineBase is Test, IMarginEngineEvents {
    VmExt internal constant VM = VmExt(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant BATCH_TYPEHASH =
        keccak256("ReportBatch(bytes32 root,uint48 observedBlock,uint32 riskEpoch,uint32 count)");
    bytes32 internal constant PRICE_TYPEHASH =
        keccak256("PriceReport(address asset,uint128 price,uint48 observedBlock)");
    bytes32 internal constant MARGIN_TYPEHASH = keccak256(
        "MarginReport(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,int128 portfolioValue,uint128 initialMargin,uint128 maintenanceMargin)"
    );
    bytes32 internal constant STEP_TYPEHASH = keccak256(
        "LiquidationStep(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,bytes32 instrumentId,int128 size,uint128 markPrice)"
    );

    uint256 internal constant E18 = 1e18;
    uint256 internal constant START_BLOCK = 1_000;
    uint256 internal constant START_TIME = 1_700_000_000;
    uint256 internal constant SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    address internal constant ADMIN = address(0xA001);
    address internal constant COUNCIL = address(0xA002);
    address internal constant GUARDIAN = address(0xA003);
    address internal constant VENUE = address(0xB001);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA201);
    address internal constant STRANGER = address(0xBAD);

    bytes32 internal constant ETH_PERP = keccak256("ETH-PERP");
    bytes32 internal constant BTC_PERP = keccak256("BTC-PERP");

    IMarginEngine internal engine;
    MockERC20 internal usdc;
    MockERC20 internal weth;

    /// @dev Keeper keys sorted by address (ascending), so the first n sign in the engine's order.
    uint256[] internal keeperKeys;
    address[] internal keeperAddrs;

    // ------------------------------------------------------------------ fixture

    function setUp() public virtual {
        vm.roll(START_BLOCK);
        vm.warp(START_TIME);
        usdc = new MockERC20("USDC", 6);
        weth = new MockERC20("WETH", 18);
        _makeKeepers(5);
        engine = _deploy(2);
        vm.startPrank(ADMIN);
        engine.listInstrument(ETH_PERP, bytes('{"kind":"perp","underlying":"ETH"}'));
        engine.listInstrument(BTC_PERP, bytes('{"kind":"perp","underlying":"BTC"}'));
        vm.stopPrank();
    }

    function _makeKeepers(uint256 n) internal {
        delete keeperKeys;
        delete keeperAddrs;
        for (uint256 i; i < n; ++i) {
            uint256 key = uint256(keccak256(abi.encode("keeper", i))) % (SECP256K1N - 1) + 1;
            keeperKeys.push(key);
            keeperAddrs.push(vm.addr(key));
        }
        // insertion sort by address
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && keeperAddrs[j] < keeperAddrs[j - 1]; --j) {
                (keeperAddrs[j], keeperAddrs[j - 1]) = (keeperAddrs[j - 1], keeperAddrs[j]);
                (keeperKeys[j], keeperKeys[j - 1]) = (keeperKeys[j - 1], keeperKeys[j]);
            }
        }
    }

    function _params() internal pure returns (RiskParams memory) {
        return RiskParams({
            liquidationThresholdBps: 10_000,
            liquidationPenaltyBps: 500,
            maxReportAgeBlocks: 50,
            maxPriceAgeBlocks: 50,
            timelockDelay: 3_600,
            liquidationNotionalCapPerBlock: uint128(1_000_000 * E18)
        });
    }

    function _deploy(uint8 quorum_) internal returns (IMarginEngine) {
        address[] memory assets = new address[](2);
        assets[0] = address(usdc);
        assets[1] = address(weth);
        uint8[] memory decimals = new uint8[](2);
        decimals[0] = 6;
        decimals[1] = 18;
        uint16[] memory weights = new uint16[](2);
        weights[0] = 9_800;
        weights[1] = 9_000;
        address[] memory venues = new address[](1);
        venues[0] = VENUE;
        return IMarginEngine(
            address(
                new MarginEngine(
                    ADMIN, COUNCIL, GUARDIAN, keeperAddrs, quorum_, _params(), assets, decimals, weights, venues
                )
            )
        );
    }

    // ------------------------------------------------------------------ time

    /// @dev The block number keepers observe and sign: the engine's clock, read independently of it
    ///      (`block.number` here; the ArbSys clock tests override it).
    function _clockNow() internal view virtual returns (uint256) {
        return block.number;
    }

    function _advance(uint256 blocks) internal {
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
    }

    // ------------------------------------------------------------------ hashing (independent)

    function _domain(address verifying) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("CrossMarginEngine"),
                keccak256("1"),
                block.chainid,
                verifying
            )
        );
    }

    function _digest(ReportBatch memory b) internal view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(BATCH_TYPEHASH, b.root, b.observedBlock, b.riskEpoch, b.count));
        return keccak256(abi.encodePacked("\x19\x01", _domain(address(engine)), structHash));
    }

    function _priceLeaf(PriceReport memory p) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encodePacked(uint8(1), keccak256(abi.encode(PRICE_TYPEHASH, p.asset, p.price, p.observedBlock)))
            );
    }

    function _marginLeaf(MarginReport memory r) internal pure returns (bytes32) {
        bytes32 h = keccak256(
            abi.encode(
                MARGIN_TYPEHASH,
                r.account,
                r.positionsNonce,
                r.riskEpoch,
                r.observedBlock,
                r.portfolioValue,
                r.initialMargin,
                r.maintenanceMargin
            )
        );
        return keccak256(abi.encodePacked(uint8(2), h));
    }

    function _stepLeaf(LiquidationStep memory s) internal pure returns (bytes32) {
        bytes32 h = keccak256(
            abi.encode(
                STEP_TYPEHASH,
                s.account,
                s.positionsNonce,
                s.riskEpoch,
                s.observedBlock,
                s.instrumentId,
                s.size,
                s.markPrice
            )
        );
        return keccak256(abi.encodePacked(uint8(3), h));
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function _nextLevel(bytes32[] memory level) internal pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i; i < level.length; i += 2) {
            next[i / 2] = i + 1 < level.length ? _hashPair(level[i], level[i + 1]) : level[i];
        }
    }

    function _root(bytes32[] memory leaves) internal pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            level = _nextLevel(level);
        }
        return level[0];
    }

    function _proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        bytes32[] memory siblings = new bytes32[](256);
        uint256 n;
        bytes32[] memory level = leaves;
        uint256 pos = index;
        while (level.length > 1) {
            uint256 sib = pos ^ 1;
            if (sib < level.length) siblings[n++] = level[sib];
            level = _nextLevel(level);
            pos /= 2;
        }
        proof = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            proof[i] = siblings[i];
        }
    }

    function _leaves(PriceReport[] memory prices, MarginReport[] memory reports, bytes32[] memory others)
        internal
        pure
        returns (bytes32[] memory leaves)
    {
        leaves = new bytes32[](prices.length + reports.length + others.length);
        uint256 k;
        for (uint256 i; i < prices.length; ++i) {
            leaves[k++] = _priceLeaf(prices[i]);
        }
        for (uint256 i; i < reports.length; ++i) {
            leaves[k++] = _marginLeaf(reports[i]);
        }
        for (uint256 i; i < others.length; ++i) {
            leaves[k++] = others[i];
        }
    }

    // ------------------------------------------------------------------ signing

    function _signWith(bytes32 digest, uint256 key) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signatures of the first `n` keepers (ascending address).
    function _sigs(ReportBatch memory b, uint256 n) internal returns (bytes memory out) {
        bytes32 digest = _digest(b);
        for (uint256 i; i < n; ++i) {
            out = bytes.concat(out, _signWith(digest, keeperKeys[i]));
        }
    }

    function _batchFor(bytes32[] memory leaves) internal view returns (ReportBatch memory) {
        return ReportBatch({
            root: _root(leaves),
            observedBlock: uint48(_clockNow()),
            riskEpoch: engine.riskEpoch(),
            count: uint32(leaves.length)
        });
    }

    // ------------------------------------------------------------------ items

    function _price(address asset, uint256 price) internal view returns (PriceReport memory) {
        return PriceReport({asset: asset, price: uint128(price), observedBlock: uint48(_clockNow())});
    }

    function _report(address account, int256 pv, uint256 im, uint256 mm) internal view returns (MarginReport memory) {
        (uint48 nonce,,) = engine.accountState(account);
        return MarginReport({
            account: account,
            positionsNonce: nonce,
            riskEpoch: engine.riskEpoch(),
            observedBlock: uint48(_clockNow()),
            portfolioValue: int128(pv),
            initialMargin: uint128(im),
            maintenanceMargin: uint128(mm)
        });
    }

    function _step(address account, bytes32 id, int256 size, uint256 mark)
        internal
        view
        returns (LiquidationStep memory)
    {
        (uint48 nonce,,) = engine.accountState(account);
        return LiquidationStep({
            account: account,
            positionsNonce: nonce,
            riskEpoch: engine.riskEpoch(),
            observedBlock: uint48(_clockNow()),
            instrumentId: id,
            size: int128(size),
            markPrice: uint128(mark)
        });
    }

    function _noPrices() internal pure returns (PriceReport[] memory) {
        return new PriceReport[](0);
    }

    function _noReports() internal pure returns (MarginReport[] memory) {
        return new MarginReport[](0);
    }

    function _noLeaves() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    function _one(PriceReport memory p) internal pure returns (PriceReport[] memory a) {
        a = new PriceReport[](1);
        a[0] = p;
    }

    function _one(MarginReport memory r) internal pure returns (MarginReport[] memory a) {
        a = new MarginReport[](1);
        a[0] = r;
    }

    function _one(bytes32 l) internal pure returns (bytes32[] memory a) {
        a = new bytes32[](1);
        a[0] = l;
    }

    // ------------------------------------------------------------------ actions

    function _post(PriceReport[] memory prices, MarginReport[] memory reports, bytes32[] memory others)
        internal
        returns (ReportBatch memory b)
    {
        b = _batchFor(_leaves(prices, reports, others));
        engine.postBatch(b, _sigs(b, engine.quorum()), prices, reports, others);
    }

    /// @dev Fresh prices for both collateral assets: USDC $1, WETH $2,000.
    function _postPrices() internal {
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_000 * E18);
        _post(prices, _noReports(), _noLeaves());
    }

    function _postReport(address account, int256 pv, uint256 im, uint256 mm) internal {
        _post(_noPrices(), _one(_report(account, pv, im, mm)), _noLeaves());
    }

    /// @dev Prices and one report in one batch.
    function _postAll(address account, int256 pv, uint256 im, uint256 mm) internal {
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_000 * E18);
        _post(prices, _one(_report(account, pv, im, mm)), _noLeaves());
    }

    /// @dev Attests a root over `leaves`; returns it.
    function _attest(bytes32[] memory leaves) internal returns (bytes32) {
        ReportBatch memory b = _batchFor(leaves);
        engine.attestRoot(b, _sigs(b, engine.quorum()));
        return b.root;
    }

    function _fund(address account, MockERC20 token, uint256 amount) internal {
        token.mint(account, amount);
        vm.startPrank(account);
        token.approve(address(engine), type(uint256).max);
        engine.deposit(address(token), amount);
        vm.stopPrank();
    }

    function _leg(address account, bytes32 id, int256 size, int256 cash) internal pure returns (TradeLeg memory) {
        return TradeLeg({account: account, instrumentId: id, sizeDelta: int128(size), cashDelta: int128(cash)});
    }

    /// @dev A two-party trade in `id`: `buyer` +size, `seller` -size, cash `buyerCash` / -buyerCash,
    ///      legs sorted by account.
    function _pair(address buyer, address seller, bytes32 id, int256 size, int256 buyerCash)
        internal
        pure
        returns (TradeLeg[] memory legs)
    {
        legs = new TradeLeg[](2);
        TradeLeg memory a = _leg(buyer, id, size, buyerCash);
        TradeLeg memory b = _leg(seller, id, -size, -buyerCash);
        (legs[0], legs[1]) = buyer < seller ? (a, b) : (b, a);
    }

    function _settle(TradeLeg[] memory legs) internal {
        vm.prank(VENUE);
        engine.settleTrade(legs);
    }

    /// @dev Alice and Bob with 10,000 USDC each, Carol (liquidator) with 100,000; fresh prices and
    ///      reports; Alice long 10 ETH-PERP against Bob, at no cash.
    function _openPositions() internal {
        _fund(ALICE, usdc, 10_000e6);
        _fund(BOB, usdc, 10_000e6);
        _fund(CAROL, usdc, 100_000e6);
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_000 * E18);
        MarginReport[] memory reports = new MarginReport[](3);
        reports[0] = _report(ALICE, 0, 1_000 * E18, 800 * E18);
        reports[1] = _report(BOB, 0, 1_000 * E18, 800 * E18);
        reports[2] = _report(CAROL, 0, 0, 0);
        _post(prices, reports, _noLeaves());
        _settle(_pair(ALICE, BOB, ETH_PERP, 10 * int256(E18), 0));
    }

    /// @dev After _openPositions: next block, Alice's report shows a loss that puts her below
    ///      maintenance (equity 300 < 1,500); Carol fresh. The same batch attests a step that closes
    ///      half of Alice's position at $2,000 (leaf 4 of 5). Returns the step, the root and its proof.
    function _makeAliceLiquidatable()
        internal
        returns (LiquidationStep memory step, bytes32 root, bytes32[] memory proof)
    {
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_000 * E18);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, -9_500 * int256(E18), 2_000 * E18, 1_500 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        step = _step(ALICE, ETH_PERP, -5 * int256(E18), 2_000 * E18);
        bytes32[] memory others = _one(_stepLeaf(step));
        root = _post(prices, reports, others).root;
        proof = _proof(_leaves(prices, reports, others), 4);
    }

    function _err(bytes4 selector) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector);
    }
}
