// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    IMarginEngineErrors,
    IMarginEngineEvents,
    RiskParams,
    CollateralInfo,
    StoredMarginReport,
    AccountHealth
} from "@interfaces/IMarginEngine.sol";
import {EngineMath} from "./libraries/EngineMath.sol";

/// @title Storage and shared internals of the engine and its governance module.
/// @notice `MarginEngine` (reports, collateral, cash, trades, liquidation) and `EngineAdmin`
///         (governance, bad debt, views; reached by delegatecall from the engine's fallback) both
///         inherit this contract first, so they read and write the same slots. Both stay under
///         EIP-170 this way, as the Stylus engine's engine + modules split does.
/// @dev Storage is packed as the interface's struct widths suggest: one slot per account
///      ({positionsNonce, lastLiquidationBlock, cash, openPositions}), two per stored report, one per
///      collateral asset, one for the scalar risk parameters, one for {pauseGuardian, paused, quorum,
///      riskEpoch} (what a batch reads), one for the per-block liquidation gate, three for settlement.
///      Nothing may be declared here after deployment except at the end.
abstract contract EngineStorage is IMarginEngineErrors, IMarginEngineEvents {
    using EngineMath for int256;

    // ------------------------------------------------------------------ constants

    // Internal, not public: the Stylus twin exports no getters for them, and both must answer the
    // same selectors.
    /// @dev Executable window after a queued change's eta.
    uint256 internal constant GRACE_PERIOD = 14 days;
    /// @dev Most registered keepers.
    uint256 internal constant MAX_KEEPERS = 32;
    /// @dev Most listed collateral assets.
    uint256 internal constant MAX_COLLATERAL_ASSETS = 16;
    /// @dev A loss that would take positiveCashRate below this (1e-9 of a share's first value) wipes every
    ///      positive cash instead (a new cash epoch): shares then stay within int128 for any cash.
    uint256 internal constant MIN_POSITIVE_CASH_RATE = 1e9;

    /// @dev The ArbSys precompile of every Arbitrum chain; `arbBlockNumber()` (selector 0xa3b1b31d) is
    ///      the L2 block number, where `block.number` is an estimate of the L1 block number.
    uint256 internal constant ARB_SYS = 0x64;

    /// @dev Transient slot of the reentrancy flag: keccak256("CrossMarginEngine.reentrancy") - 1.
    uint256 internal constant REENTRANCY_SLOT = 0xa0e53f5979201576b04c32a1cccf8f3116a25f34d071fb7ed7bc332f3cd2ba9d;

    uint8 internal constant K_COLLATERAL_WEIGHT = 0;
    uint8 internal constant K_LIST_COLLATERAL = 1;
    uint8 internal constant K_LIQUIDATION_THRESHOLD = 2;
    uint8 internal constant K_LIQUIDATION_PENALTY = 3;
    uint8 internal constant K_MAX_REPORT_AGE = 4;
    uint8 internal constant K_MAX_PRICE_AGE = 5;
    uint8 internal constant K_NOTIONAL_CAP = 6;
    uint8 internal constant K_TIMELOCK_DELAY = 7;
    uint8 internal constant K_QUORUM = 8;
    uint8 internal constant K_ADD_KEEPER = 9;
    uint8 internal constant K_REMOVE_KEEPER = 10;
    uint8 internal constant K_ADD_VENUE = 11;
    uint8 internal constant K_REMOVE_VENUE = 12;
    uint8 internal constant K_SET_ADMIN = 13;
    uint8 internal constant K_SET_RISK_COUNCIL = 14;
    uint8 internal constant K_SET_PAUSE_GUARDIAN = 15;
    uint8 internal constant K_BUMP_RISK_EPOCH = 16;
    uint8 internal constant K_SEIZURE_DISCOUNT = 17;
    uint8 internal constant K_INSURANCE_SHARE = 18;
    uint8 internal constant K_LIQUIDATOR_MARGIN = 19;
    uint8 internal constant K_DELIST_COLLATERAL = 20;

    // ------------------------------------------------------------------ block clock

    /// @dev Whether the clock is `ArbSys(0x64).arbBlockNumber()` (an Arbitrum chain: ArbSys answered
    ///      the probe at the engine's deployment) rather than `block.number`. An immutable, so it is
    ///      part of each contract's code: the engine probes and passes the answer to the module it
    ///      deploys, whose code runs by delegatecall and cannot see the engine's immutables.
    bool internal immutable _ARB_SYS_CLOCK;

    constructor(bool arbSysClock) {
        _ARB_SYS_CLOCK = arbSysClock;
    }

    // ------------------------------------------------------------------ storage

    /// @dev One slot: an account's scalars. `cash` is the stored cash: a negative cash as is, a
    ///      positive one as shares of positiveCashRate in cash epoch `cashEpoch` (see `_cashOf`).
    struct Account {
        uint48 positionsNonce;
        uint48 lastLiquidationBlock;
        int128 cash;
        uint16 openPositions;
        uint16 cashEpoch;
    }

    /// @dev One slot: an attested root.
    struct Root {
        uint48 observedBlock;
        uint32 riskEpoch;
    }

    /// @dev One slot: the notional liquidated in `blockNumber` (never above the cap, at most 1e30).
    struct LiquidationGate {
        uint48 blockNumber;
        uint128 used;
    }

    /// @dev One slot: the settlement asset and what the hot paths read with it.
    struct SettlementConfig {
        address asset;
        uint64 scale;
        uint16 seizureDiscountBps;
        uint16 insuranceShareBps;
    }

    /// @dev One slot: S held for cash, and the insurance fund's claim (cash units).
    struct Reserve {
        uint128 cashReserve;
        uint128 insuranceFund;
    }

    /// @dev One slot: the share rate of positive cash, the shares outstanding and the cash epoch (bumped
    ///      when a socialised loss wipes every positive cash: older shares are worth nothing).
    struct CashShares {
        uint96 rate;
        uint128 totalShares;
        uint16 epoch;
    }

    /// @dev One slot: cumulative socialised loss and the liquidator's post-step requirement.
    struct Losses {
        uint128 socialisedLoss;
        uint16 liquidatorMarginBps;
    }

    address internal _admin;
    address internal _riskCouncil;
    // One slot: what a batch reads besides the parameters.
    address internal _pauseGuardian;
    bool internal _paused;
    uint8 internal _quorum;
    uint32 internal _riskEpoch;

    RiskParams internal _params;
    LiquidationGate internal _gate;

    address[] internal _keeperList;
    mapping(address => bool) internal _isKeeper;

    address[] internal _assetList;
    mapping(address => CollateralInfo) internal _assets;
    mapping(address => mapping(address => uint256)) internal _balances;

    mapping(address => Account) internal _accounts;
    mapping(address => mapping(bytes32 => int256)) internal _positions;
    mapping(address => StoredMarginReport) internal _reports;
    mapping(bytes32 => Root) internal _roots;

    mapping(bytes32 => bool) internal _instruments;
    mapping(address => bool) internal _venues;
    /// @dev eta | kind << 64 of a queued change (zero if none).
    mapping(bytes32 => uint256) internal _queue;

    SettlementConfig internal _settlement;
    Reserve internal _reserve;
    CashShares internal _shares;
    Losses internal _losses;
    /// @dev Engine-wide Σ balances per asset (what delisting waits for).
    mapping(address => uint256) internal _assetTotals;
    mapping(address => bool) internal _windingDown;

    /// @dev An account's equity on a fresh report and fresh prices.
    struct Fresh {
        int256 equity;
        uint128 initialMargin;
        uint128 maintenanceMargin;
    }

    /// @dev Collateral valued two ways: every price whatever its age, and stale prices as zero.
    struct Valuation {
        uint256 weighted;
        uint256 weightedFresh;
        address staleAsset;
        uint48 stalePriceBlock;
        bool stale;
    }

    // ------------------------------------------------------------------ block clock

    /// @dev The block number every freshness and per-block rule counts in (`clockBlock()`): the L2
    ///      block from ArbSys on Arbitrum, `block.number` elsewhere. The one place the engine and its
    ///      module read a block number.
    function _clock() internal view returns (uint256 clock) {
        if (!_ARB_SYS_CLOCK) return block.number;
        assembly ("memory-safe") {
            mstore(0, shl(224, 0xa3b1b31d))
            // ArbSys never fails on the chain it answered on at deployment; if it did, nothing
            // block-dependent can be decided: revert with empty data.
            let ok := staticcall(gas(), ARB_SYS, 0, 4, 0, 32)
            if iszero(and(ok, eq(returndatasize(), 32))) { revert(0, 0) }
            clock := mload(0)
        }
    }

    // ------------------------------------------------------------------ reentrancy

    modifier noReentry() {
        _noReentry();
        _;
    }

    function _noReentry() internal view {
        assembly ("memory-safe") {
            if tload(REENTRANCY_SLOT) { revert(0, 0) }
        }
    }

    function _lock(bool locked) internal {
        assembly ("memory-safe") {
            tstore(REENTRANCY_SLOT, locked)
        }
    }

    // ------------------------------------------------------------------ access and basics

    function _onlyAdmin() internal view {
        if (msg.sender != _admin) revert NotAdmin(msg.sender);
    }

    function _whenNotPaused() internal view {
        if (_paused) revert EnginePaused();
    }

    function _nonZero(address a) internal pure {
        if (a == address(0)) revert ZeroAddress();
    }

    function _onlyListed(address asset) internal view {
        if (!_assets[asset].listed) revert AssetNotListed(asset);
    }

    // ------------------------------------------------------------------ cash

    /// @dev An account's cash: a debt as is, positive shares at the current rate (floor), nothing if the
    ///      shares are of an earlier cash epoch.
    function _cashOf(Account memory a) internal view returns (int256) {
        int128 stored = a.cash;
        if (stored <= 0) return stored;
        CashShares memory sh = _shares;
        if (a.cashEpoch != sh.epoch) return 0;
        // Until the first socialised loss a share is one unit of cash: no division on the hot path.
        if (sh.rate == EngineMath.E18) return stored;
        return int256(EngineMath.mulDiv(uint256(int256(stored)), sh.rate, EngineMath.E18));
    }

    /// @dev Writes `cash` into `a` (whose value before is `old`): a positive cash as floor shares of the
    ///      current epoch, with the share total updated. ArithmeticOverflow if it does not fit.
    function _setCash(Account storage a, Account memory old, int256 cash) internal {
        CashShares memory sh = _shares;
        int128 stored;
        if (cash <= 0 || sh.rate == EngineMath.E18) {
            stored = cash.toInt128();
        } else {
            stored = EngineMath.toInt256(EngineMath.mulDiv(uint256(cash), EngineMath.E18, sh.rate)).toInt128();
        }
        bool oldCounts = old.cash > 0 && old.cashEpoch == sh.epoch;
        if (oldCounts || stored > 0) {
            uint256 total = sh.totalShares;
            // the old shares are part of the total: the subtraction cannot underflow.
            unchecked {
                if (oldCounts) total -= uint256(int256(old.cash));
            }
            if (stored > 0) total += uint256(int256(stored));
            if (total > type(uint128).max) revert ArithmeticOverflow();
            _shares.totalShares = uint128(total);
        }
        a.cash = stored;
        a.cashEpoch = sh.epoch;
    }

    // ------------------------------------------------------------------ margin

    /// @dev Whether the stored report of `account` is fresh now.
    function _reportFresh(StoredMarginReport memory s, uint48 nonce) internal view returns (bool) {
        if (s.observedBlock == 0 || s.positionsNonce != nonce || s.riskEpoch != _riskEpoch) return false;
        uint256 clock = _clock();
        return s.observedBlock <= clock && clock - s.observedBlock <= _params.maxReportAgeBlocks;
    }

    /// @dev Σ floor(floor(balance * price / 10**decimals) * weightBps / 10_000) over listed assets, with
    ///      `overrideAsset`'s balance replaced if `useOverride` (a withdrawal's after-state): `weighted`
    ///      counts prices whatever their age, `weightedFresh` counts a stale or missing price as zero.
    ///      The first held asset (listing order) with a price older than maxPriceAgeBlocks is returned.
    function _valuation(address account, address overrideAsset, uint256 overrideBalance, bool useOverride)
        internal
        view
        returns (Valuation memory v)
    {
        uint256 maxAge = _params.maxPriceAgeBlocks;
        uint256 clock = _clock();
        mapping(address => uint256) storage holdings = _balances[account];
        uint256 n = _assetList.length;
        for (uint256 i; i < n; ++i) {
            address asset = _assetList[i];
            uint256 balance = (useOverride && asset == overrideAsset) ? overrideBalance : holdings[asset];
            if (balance == 0) continue;
            CollateralInfo memory info = _assets[asset];
            uint256 pb = info.priceBlock;
            bool assetStale = pb == 0 || pb > clock || clock - pb > maxAge;
            if (assetStale && !v.stale) (v.stale, v.staleAsset, v.stalePriceBlock) = (true, asset, info.priceBlock);
            uint256 value = EngineMath.mulDiv(balance, info.price, 10 ** uint256(info.decimals));
            uint256 w = EngineMath.mulDiv(value, info.weightBps, EngineMath.BPS);
            v.weighted = EngineMath.addU(v.weighted, w);
            if (!assetStale) v.weightedFresh += w; // <= weighted, which did not overflow
        }
    }

    /// @dev NoFreshReport, StalePrice; then the equity (`cashDelta` added to the cash: a cash
    ///      withdrawal's after-state).
    function _freshEquity(
        address account,
        address overrideAsset,
        uint256 overrideBalance,
        bool useOverride,
        int256 cashDelta
    ) internal view returns (Fresh memory f) {
        StoredMarginReport memory s = _reports[account];
        Account memory a = _accounts[account];
        if (!_reportFresh(s, a.positionsNonce)) revert NoFreshReport(account);
        Valuation memory v = _valuation(account, overrideAsset, overrideBalance, useOverride);
        if (v.stale) revert StalePrice(v.staleAsset, v.stalePriceBlock);
        f.equity = EngineMath.toInt256(v.weighted).add(_cashOf(a)).add(cashDelta).add(s.portfolioValue);
        f.initialMargin = s.initialMargin;
        f.maintenanceMargin = s.maintenanceMargin;
    }

    /// @dev NoFreshReport, StalePrice, BelowInitialMargin.
    function _requireInitial(
        address account,
        address overrideAsset,
        uint256 overrideBalance,
        bool useOverride,
        int256 cashDelta
    ) internal view returns (Fresh memory f) {
        f = _freshEquity(account, overrideAsset, overrideBalance, useOverride, cashDelta);
        if (f.equity < int256(uint256(f.initialMargin))) {
            revert BelowInitialMargin(account, f.equity, f.initialMargin);
        }
    }

    /// @dev The liquidation view of an account: whether its report is fresh, and its equity with stale
    ///      or missing prices at zero (never reverts for staleness).
    function _liquidationEquity(address account)
        internal
        view
        returns (bool reportFresh, int256 equity, StoredMarginReport memory s)
    {
        s = _reports[account];
        Account memory a = _accounts[account];
        reportFresh = _reportFresh(s, a.positionsNonce);
        Valuation memory v = _valuation(account, address(0), 0, false);
        equity = EngineMath.toInt256(v.weightedFresh).add(_cashOf(a)).add(s.portfolioValue);
    }

    /// @dev equity * 10_000 < maintenanceMargin * liquidationThresholdBps.
    function _belowThreshold(int256 equity, uint128 maintenanceMargin) internal view returns (bool) {
        uint256 requirement = uint256(maintenanceMargin) * _params.liquidationThresholdBps;
        return equity.mul(int256(EngineMath.BPS)) < int256(requirement);
    }

    /// @dev NoFreshReport(account), then NotLiquidatable; returns the liquidation equity and report.
    function _requireLiquidatable(address account) internal view returns (int256 equity, StoredMarginReport memory s) {
        bool fresh;
        (fresh, equity, s) = _liquidationEquity(account);
        if (!fresh) revert NoFreshReport(account);
        if (!_belowThreshold(equity, s.maintenanceMargin)) {
            uint256 requirement =
                EngineMath.mulDiv(s.maintenanceMargin, _params.liquidationThresholdBps, EngineMath.BPS);
            revert NotLiquidatable(account, equity, requirement);
        }
    }

    function _usedThisBlock() internal view returns (uint256) {
        LiquidationGate memory g = _gate;
        return g.blockNumber == uint48(_clock()) ? g.used : 0;
    }

    // ------------------------------------------------------------------ governance basics

    /// @dev Hard bounds [min, max] of the kinds that have numeric ones.
    function _bounds(uint8 kind) internal pure returns (bool has, uint256 min, uint256 max) {
        if (kind == K_COLLATERAL_WEIGHT || kind == K_INSURANCE_SHARE) return (true, 0, 10_000);
        if (kind == K_LIST_COLLATERAL) return (true, 0, 36);
        if (kind == K_LIQUIDATION_THRESHOLD) return (true, 10_000, 20_000);
        if (kind == K_LIQUIDATION_PENALTY) return (true, 0, 1_500);
        if (kind == K_MAX_REPORT_AGE || kind == K_MAX_PRICE_AGE) return (true, 1, 100_000);
        if (kind == K_NOTIONAL_CAP) return (true, 1e18, 1e30);
        if (kind == K_TIMELOCK_DELAY) return (true, 60, 2_592_000);
        if (kind == K_BUMP_RISK_EPOCH || kind == K_DELIST_COLLATERAL) return (true, 0, 0);
        if (kind == K_SEIZURE_DISCOUNT) return (true, 0, 2_000);
        if (kind == K_LIQUIDATOR_MARGIN) return (true, 100, 10_000);
        return (false, 0, 0);
    }

    function _checkBounds(uint8 kind, uint256 value) internal pure {
        (bool has, uint256 min, uint256 max) = _bounds(kind);
        if (has && (value < min || value > max)) revert ParameterOutOfBounds(kind, value, min, max);
    }

    function _checkQuorum(uint256 q, uint256 keeperCount) internal pure {
        if (q == 0 || q > keeperCount) revert QuorumOutOfRange(q, keeperCount);
    }

    /// @dev ZeroAddress, KeeperAlreadyRegistered, TooManyKeepers.
    function _checkAddKeeper(address keeper) internal view {
        _nonZero(keeper);
        if (_isKeeper[keeper]) revert KeeperAlreadyRegistered(keeper);
        if (_keeperList.length >= MAX_KEEPERS) revert TooManyKeepers(MAX_KEEPERS);
    }

    /// @dev AssetAlreadyListed, TooManyCollateralAssets.
    function _checkList(address asset) internal view {
        if (_assets[asset].listed) revert AssetAlreadyListed(asset);
        if (_assetList.length >= MAX_COLLATERAL_ASSETS) revert TooManyCollateralAssets(MAX_COLLATERAL_ASSETS);
    }

    function _list(address asset, uint8 decimals, uint16 weightBps) internal {
        _assetList.push(asset);
        CollateralInfo storage info = _assets[asset];
        info.listed = true;
        info.decimals = decimals;
        info.weightBps = weightBps;
    }
}
