// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    IMarginEngine,
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    TradeLeg,
    ParamChange,
    RiskParams,
    CollateralInfo,
    StoredMarginReport,
    AccountHealth
} from "@interfaces/IMarginEngine.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EngineMath} from "./libraries/EngineMath.sol";
import {ReportHashing} from "./libraries/ReportHashing.sol";
import {TokenTransfer} from "./libraries/TokenTransfer.sol";

/// @title The cross-margin engine, Solidity twin of the Stylus contract.
/// @notice Implements `solidity-interfaces/IMarginEngine.sol` call for call: the same errors with the
///         same arguments, the same events in the same order, the same rounding and order of checks.
///         Keepers sign one `ReportBatch` per block; the engine verifies the quorum once per batch,
///         rebuilds the Merkle root from the leaves (or checks one proof against a stored root), values
///         collateral on-chain with governed weights, and gates withdrawals, risk-adding trades and
///         liquidations on fresh reports.
/// @dev Storage is packed as the interface's struct widths suggest: one slot per account
///      ({positionsNonce, lastLiquidationBlock, cash}), two per stored report, one per collateral asset,
///      one for the scalar risk parameters, one for {pauseGuardian, paused, quorum, riskEpoch} (what a
///      batch reads), one for the per-block liquidation gate.
///      Reentrancy: the Stylus contract rejects every reentrant call with empty revert data (the SDK
///      default). The twin does the same: a transient flag is raised around token calls and every
///      external function (views included) reverts with empty data while it is up.
contract MarginEngine is IMarginEngine, EIP712 {
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

    /// @dev The ArbSys precompile of every Arbitrum chain; `arbBlockNumber()` (selector 0xa3b1b31d) is
    ///      the L2 block number, where `block.number` is an estimate of the L1 block number.
    uint256 private constant ARB_SYS = 0x64;

    uint256 private constant SECP256K1N_HALF = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev Transient slot of the reentrancy flag: keccak256("CrossMarginEngine.reentrancy") - 1.
    uint256 private constant REENTRANCY_SLOT = 0xa0e53f5979201576b04c32a1cccf8f3116a25f34d071fb7ed7bc332f3cd2ba9d;

    uint8 private constant K_COLLATERAL_WEIGHT = 0;
    uint8 private constant K_LIST_COLLATERAL = 1;
    uint8 private constant K_LIQUIDATION_THRESHOLD = 2;
    uint8 private constant K_LIQUIDATION_PENALTY = 3;
    uint8 private constant K_MAX_REPORT_AGE = 4;
    uint8 private constant K_MAX_PRICE_AGE = 5;
    uint8 private constant K_NOTIONAL_CAP = 6;
    uint8 private constant K_TIMELOCK_DELAY = 7;
    uint8 private constant K_QUORUM = 8;
    uint8 private constant K_ADD_KEEPER = 9;
    uint8 private constant K_REMOVE_KEEPER = 10;
    uint8 private constant K_ADD_VENUE = 11;
    uint8 private constant K_REMOVE_VENUE = 12;
    uint8 private constant K_SET_ADMIN = 13;
    uint8 private constant K_SET_RISK_COUNCIL = 14;
    uint8 private constant K_SET_PAUSE_GUARDIAN = 15;
    uint8 private constant K_BUMP_RISK_EPOCH = 16;

    // ------------------------------------------------------------------ block clock

    /// @dev Whether the clock is `ArbSys(0x64).arbBlockNumber()` (an Arbitrum chain: ArbSys answered
    ///      the probe at deployment) rather than `block.number`. See `clockBlock()`.
    bool private immutable _ARB_SYS_CLOCK;

    // ------------------------------------------------------------------ storage

    /// @dev One slot: an account's scalars.
    struct Account {
        uint48 positionsNonce;
        uint48 lastLiquidationBlock;
        int128 cash;
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

    address private _admin;
    address private _riskCouncil;
    // One slot: what a batch reads besides the parameters.
    address private _pauseGuardian;
    bool private _paused;
    uint8 private _quorum;
    uint32 private _riskEpoch;

    RiskParams private _params;
    LiquidationGate private _gate;

    address[] private _keeperList;
    mapping(address => bool) private _isKeeper;

    address[] private _assetList;
    mapping(address => CollateralInfo) private _assets;
    mapping(address => mapping(address => uint256)) private _balances;

    mapping(address => Account) private _accounts;
    mapping(address => mapping(bytes32 => int256)) private _positions;
    mapping(address => StoredMarginReport) private _reports;
    mapping(bytes32 => Root) private _roots;

    mapping(bytes32 => bool) private _instruments;
    mapping(address => bool) private _venues;
    mapping(bytes32 => uint64) private _queue;

    /// @dev An account's equity on a fresh report and fresh prices.
    struct Fresh {
        int256 equity;
        uint128 initialMargin;
        uint128 maintenanceMargin;
    }

    // ------------------------------------------------------------------ constructor

    constructor(
        address admin,
        address riskCouncil,
        address pauseGuardian,
        address[] memory keepers_,
        uint8 quorum_,
        RiskParams memory params,
        address[] memory collateralAssets_,
        uint8[] memory collateralDecimals,
        uint16[] memory collateralWeightsBps,
        address[] memory venues
    ) EIP712("CrossMarginEngine", "1") {
        _ARB_SYS_CLOCK = _arbSysAnswers();
        _nonZero(admin);
        _nonZero(riskCouncil);
        _nonZero(pauseGuardian);
        _admin = admin;
        _riskCouncil = riskCouncil;
        _pauseGuardian = pauseGuardian;
        for (uint256 i; i < keepers_.length; ++i) {
            _checkAddKeeper(keepers_[i]);
            _keeperList.push(keepers_[i]);
            _isKeeper[keepers_[i]] = true;
        }
        _checkQuorum(quorum_, keepers_.length);
        _quorum = quorum_;
        _checkBounds(K_LIQUIDATION_THRESHOLD, params.liquidationThresholdBps);
        _checkBounds(K_LIQUIDATION_PENALTY, params.liquidationPenaltyBps);
        _checkBounds(K_MAX_REPORT_AGE, params.maxReportAgeBlocks);
        _checkBounds(K_MAX_PRICE_AGE, params.maxPriceAgeBlocks);
        _checkBounds(K_NOTIONAL_CAP, params.liquidationNotionalCapPerBlock);
        _checkBounds(K_TIMELOCK_DELAY, params.timelockDelay);
        _params = params;
        // Parallel arrays must have one entry per asset.
        uint256 n = collateralAssets_.length;
        if (collateralDecimals.length != n) {
            revert ParameterOutOfBounds(K_LIST_COLLATERAL, collateralDecimals.length, n, n);
        }
        if (collateralWeightsBps.length != n) {
            revert ParameterOutOfBounds(K_COLLATERAL_WEIGHT, collateralWeightsBps.length, n, n);
        }
        for (uint256 i; i < n; ++i) {
            address asset = collateralAssets_[i];
            _nonZero(asset);
            _checkBounds(K_LIST_COLLATERAL, collateralDecimals[i]);
            _checkBounds(K_COLLATERAL_WEIGHT, collateralWeightsBps[i]);
            _checkList(asset);
            _list(asset, collateralDecimals[i], collateralWeightsBps[i]);
        }
        for (uint256 i; i < venues.length; ++i) {
            _nonZero(venues[i]);
            _venues[venues[i]] = true;
        }
    }

    // ------------------------------------------------------------------ block clock

    /// @dev Whether a contract at 0x64 answers `arbBlockNumber()` with one word. On a chain without
    ///      ArbSys the call reaches an empty account: success with no return data.
    function _arbSysAnswers() private view returns (bool answers) {
        assembly ("memory-safe") {
            mstore(0, shl(224, 0xa3b1b31d))
            // Two statements: Yul evaluates arguments right to left.
            let ok := staticcall(gas(), ARB_SYS, 0, 4, 0, 32)
            answers := and(ok, eq(returndatasize(), 32))
        }
    }

    /// @dev The block number every freshness and per-block rule counts in (`clockBlock()`): the L2
    ///      block from ArbSys on Arbitrum, `block.number` elsewhere. The one place the engine reads a
    ///      block number.
    function _clock() private view returns (uint256 clock) {
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

    function _noReentry() private view {
        assembly ("memory-safe") {
            if tload(REENTRANCY_SLOT) { revert(0, 0) }
        }
    }

    function _lock(bool locked) private {
        assembly ("memory-safe") {
            tstore(REENTRANCY_SLOT, locked)
        }
    }

    // ------------------------------------------------------------------ reports

    /// @inheritdoc IMarginEngine
    function postBatch(
        ReportBatch calldata batch,
        bytes calldata signatures,
        PriceReport[] calldata prices,
        MarginReport[] calldata reports,
        bytes32[] calldata otherLeaves
    ) external noReentry {
        // 1-6: header, count, leaves, root.
        _checkBatch(batch, prices, reports, otherLeaves);
        // 7-8: signatures and quorum.
        _verifyBatch(batch, signatures);
        // 9: prices; 10: margin reports.
        uint256 pricesAccepted;
        uint256 reportsAccepted;
        for (uint256 i; i < prices.length; ++i) {
            if (_applyPrice(prices[i], false)) ++pricesAccepted;
        }
        for (uint256 i; i < reports.length; ++i) {
            if (_applyReport(reports[i], false)) ++reportsAccepted;
        }
        if (otherLeaves.length != 0) _storeRoot(batch);
        uint256 skipped = prices.length + reports.length - pricesAccepted - reportsAccepted;
        emit BatchPosted(batch.root, batch.observedBlock, pricesAccepted, reportsAccepted, skipped);
    }

    /// @dev Steps 1-6 of postBatch: WrongRiskEpoch, FutureReport, StaleReport, CountMismatch, per leaf
    ///      LeafBlockMismatch and WrongRiskEpoch, RootMismatch (the root rebuilt from the leaves).
    function _checkBatch(
        ReportBatch calldata batch,
        PriceReport[] calldata prices,
        MarginReport[] calldata reports,
        bytes32[] calldata otherLeaves
    ) private view {
        uint48 observed = batch.observedBlock;
        uint32 epoch = batch.riskEpoch;
        _checkHeader(epoch, observed);
        uint256 n = prices.length + reports.length + otherLeaves.length;
        if (batch.count != n) revert CountMismatch(batch.count, n);
        bytes32[] memory nodes = new bytes32[](n);
        uint256 k;
        for (uint256 i; i < prices.length; ++i) {
            PriceReport calldata p = prices[i];
            _checkLeafBlock(observed, p.observedBlock);
            nodes[k++] = ReportHashing.priceLeaf(p);
        }
        for (uint256 i; i < reports.length; ++i) {
            MarginReport calldata r = reports[i];
            _checkLeafBlock(observed, r.observedBlock);
            _checkLeafEpoch(epoch, r.riskEpoch);
            nodes[k++] = ReportHashing.marginLeaf(r);
        }
        for (uint256 i; i < otherLeaves.length; ++i) {
            nodes[k++] = otherLeaves[i];
        }
        bytes32 computed = _rootInPlace(nodes);
        if (computed != batch.root) revert RootMismatch(batch.root, computed);
    }

    /// @inheritdoc IMarginEngine
    function attestRoot(ReportBatch calldata batch, bytes calldata signatures) external noReentry {
        _checkHeader(batch.riskEpoch, batch.observedBlock);
        _verifyBatch(batch, signatures);
        _storeRoot(batch);
    }

    /// @inheritdoc IMarginEngine
    function postMarginReport(MarginReport calldata report, bytes32 root, bytes32[] calldata proof) external noReentry {
        _checkProven(root, report.observedBlock, true, report.riskEpoch, ReportHashing.marginLeaf(report), proof);
        _applyReport(report, true);
        emit MarginReportProven(report.account, root, report.observedBlock);
    }

    /// @inheritdoc IMarginEngine
    function postPriceReport(PriceReport calldata price, bytes32 root, bytes32[] calldata proof) external noReentry {
        _checkProven(root, price.observedBlock, false, 0, ReportHashing.priceLeaf(price), proof);
        _applyPrice(price, true);
    }

    // ------------------------------------------------------------------ collateral

    /// @inheritdoc IMarginEngine
    function deposit(address asset, uint256 amount) external noReentry {
        if (amount == 0) revert ZeroAmount();
        _onlyListed(asset);
        _balances[msg.sender][asset] = EngineMath.addU(_balances[msg.sender][asset], amount);
        _lock(true);
        TokenTransfer.transferFrom(asset, msg.sender, address(this), amount);
        _lock(false);
        emit CollateralDeposited(msg.sender, asset, amount);
    }

    /// @inheritdoc IMarginEngine
    function withdraw(address asset, uint256 amount) external noReentry {
        _whenNotPaused();
        if (amount == 0) revert ZeroAmount();
        _onlyListed(asset);
        uint256 balance = _balances[msg.sender][asset];
        if (amount > balance) revert InsufficientCollateral(msg.sender, asset, balance, amount);
        uint256 remaining;
        unchecked {
            remaining = balance - amount;
        }
        if (_accounts[msg.sender].positionsNonce != 0) {
            _requireInitial(msg.sender, asset, remaining, true);
        }
        _balances[msg.sender][asset] = remaining;
        _lock(true);
        TokenTransfer.transfer(asset, msg.sender, amount);
        _lock(false);
        emit CollateralWithdrawn(msg.sender, asset, amount);
    }

    // ------------------------------------------------------------------ positions

    /// @inheritdoc IMarginEngine
    function settleTrade(TradeLeg[] calldata legs) external noReentry {
        if (!_venues[msg.sender]) revert NotVenue(msg.sender);
        _whenNotPaused();
        uint256 n = legs.length;
        if (n == 0) revert EmptyTrade();
        // Sorting, listing and conservation, leg by leg.
        int256 groupSize;
        int256 cash;
        for (uint256 i; i < n; ++i) {
            TradeLeg calldata leg = legs[i];
            bytes32 id = leg.instrumentId;
            if (i != 0) {
                TradeLeg calldata prev = legs[i - 1];
                bytes32 prevId = prev.instrumentId;
                if (id < prevId || (id == prevId && leg.account <= prev.account)) revert LegsNotSorted(i);
            }
            if (!_instruments[id]) revert InstrumentNotListed(id);
            groupSize = groupSize.add(leg.sizeDelta);
            cash = cash.add(leg.cashDelta);
            if (i + 1 == n || legs[i + 1].instrumentId != id) {
                if (groupSize != 0) revert SizeNotConserved(id, groupSize);
            }
        }
        if (cash != 0) revert CashNotConserved(cash);
        // Risk-adding legs need a fresh report and equity >= initial margin, pre-trade.
        for (uint256 i; i < n; ++i) {
            TradeLeg calldata leg = legs[i];
            int256 before = _positions[leg.account][leg.instrumentId];
            if (_addsRisk(before, before.add(leg.sizeDelta))) _requireInitial(leg.account, address(0), 0, false);
        }
        // Apply, in leg order.
        for (uint256 i; i < n; ++i) {
            TradeLeg calldata leg = legs[i];
            _moveLeg(leg.account, leg.instrumentId, leg.sizeDelta, leg.cashDelta);
        }
        emit TradeSettled(msg.sender, n);
    }

    // ------------------------------------------------------------------ liquidation

    /// @inheritdoc IMarginEngine
    function liquidate(LiquidationStep calldata step, bytes32 root, bytes32[] calldata proof) external noReentry {
        _whenNotPaused();
        if (msg.sender == step.account) revert SelfLiquidation(step.account);
        _checkProven(root, step.observedBlock, true, step.riskEpoch, ReportHashing.liquidationLeaf(step), proof);
        (uint256 notional, uint256 total) = _checkLiquidation(step);
        _executeLiquidation(step, notional, total);
    }

    /// @dev NonceMismatch, NoFreshReport, StalePrice, NotLiquidatable, LiquidationAlreadyThisBlock,
    ///      LiquidationIncreasesRisk, LiquidationCapExceeded, then the liquidator's margin.
    function _checkLiquidation(LiquidationStep calldata step) private view returns (uint256 notional, uint256 total) {
        address account = step.account;
        Account memory a = _accounts[account];
        if (step.positionsNonce != a.positionsNonce) {
            revert NonceMismatch(account, a.positionsNonce, step.positionsNonce);
        }
        Fresh memory f = _freshEquity(account, address(0), 0, false);
        if (!_belowThreshold(f.equity, f.maintenanceMargin)) {
            uint256 requirement =
                EngineMath.mulDiv(f.maintenanceMargin, _params.liquidationThresholdBps, EngineMath.BPS);
            revert NotLiquidatable(account, f.equity, requirement);
        }
        if (a.lastLiquidationBlock == uint48(_clock())) revert LiquidationAlreadyThisBlock(account);
        int256 position = _positions[account][step.instrumentId];
        int128 size = step.size;
        if (
            size == 0 || position == 0 || (position < 0) == (size < 0)
                || EngineMath.abs(size) > EngineMath.abs(position)
        ) revert LiquidationIncreasesRisk(account, step.instrumentId, position, size);
        notional = EngineMath.mulDiv(EngineMath.abs(size), step.markPrice, EngineMath.E18);
        uint256 cap = _params.liquidationNotionalCapPerBlock;
        uint256 used = _usedThisBlock();
        total = EngineMath.addU(used, notional);
        if (total > cap) revert LiquidationCapExceeded(used, notional, cap);
        _requireInitial(msg.sender, address(0), 0, false);
    }

    /// @dev Effects: the gate, the account's last step block, both legs (cash: account pays
    ///      transfer + penalty, the liquidator receives it), then LiquidationExecuted.
    function _executeLiquidation(LiquidationStep calldata step, uint256 notional, uint256 total) private {
        uint256 penalty = EngineMath.mulDiv(notional, _params.liquidationPenaltyBps, EngineMath.BPS);
        int256 received =
            EngineMath.signedMulDiv(step.size, step.markPrice, EngineMath.E18).add(EngineMath.toInt256(penalty));
        uint48 clock = uint48(_clock());
        _gate = LiquidationGate(clock, uint128(total));
        _accounts[step.account].lastLiquidationBlock = clock;
        _moveLeg(step.account, step.instrumentId, step.size, int256(0).sub(received));
        _moveLeg(msg.sender, step.instrumentId, -int256(step.size), received);
        emit LiquidationExecuted(
            step.account, msg.sender, step.instrumentId, step.size, step.markPrice, notional, penalty
        );
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IMarginEngine
    function proposeChange(ParamChange calldata change) external noReentry returns (bytes32 changeId, bool applied) {
        uint8 kind = change.kind;
        if (kind > K_BUMP_RISK_EPOCH) revert UnknownChangeKind(kind);
        bool tightening = _isTightening(change);
        if (tightening) {
            if (msg.sender != _riskCouncil && msg.sender != _admin) revert NotRiskCouncilOrAdmin(msg.sender);
        } else {
            _onlyAdmin();
        }
        _checkChange(change);
        if (tightening) {
            changeId = _changeId(change, uint64(block.timestamp));
            _applyChange(change, changeId);
            return (changeId, true);
        }
        uint64 eta = uint64(block.timestamp) + _params.timelockDelay;
        changeId = _changeId(change, eta);
        if (_queue[changeId] != 0) revert ChangeAlreadyQueued(changeId);
        _queue[changeId] = eta;
        emit ChangeQueued(changeId, kind, change.target, change.value, eta);
    }

    /// @inheritdoc IMarginEngine
    function executeChange(ParamChange calldata change, uint64 eta) external noReentry {
        bytes32 id = _changeId(change, eta);
        if (_queue[id] == 0) revert ChangeNotQueued(id);
        if (block.timestamp < eta) revert TimelockNotElapsed(id, eta);
        if (block.timestamp > uint256(eta) + GRACE_PERIOD) revert ChangeExpired(id, eta);
        _checkChange(change);
        delete _queue[id];
        _applyChange(change, id);
    }

    /// @inheritdoc IMarginEngine
    function cancelChange(bytes32 changeId) external noReentry {
        if (msg.sender != _riskCouncil && msg.sender != _admin) revert NotRiskCouncilOrAdmin(msg.sender);
        if (_queue[changeId] == 0) revert ChangeNotQueued(changeId);
        delete _queue[changeId];
        emit ChangeCancelled(changeId);
    }

    /// @inheritdoc IMarginEngine
    function listInstrument(bytes32 instrumentId, bytes calldata spec) external noReentry {
        _onlyAdmin();
        if (_instruments[instrumentId]) revert InstrumentAlreadyListed(instrumentId);
        _instruments[instrumentId] = true;
        emit InstrumentListed(instrumentId, spec);
    }

    /// @inheritdoc IMarginEngine
    function pause() external noReentry {
        if (msg.sender != _pauseGuardian && msg.sender != _admin) revert NotPauseGuardianOrAdmin(msg.sender);
        _paused = true;
        emit EnginePausedBy(msg.sender);
    }

    /// @inheritdoc IMarginEngine
    function unpause() external noReentry {
        _onlyAdmin();
        _paused = false;
        emit EngineUnpausedBy(msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMarginEngine
    function domainSeparator() external view noReentry returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IMarginEngine
    function riskEpoch() external view noReentry returns (uint32) {
        return _riskEpoch;
    }

    /// @inheritdoc IMarginEngine
    function keepers() external view noReentry returns (address[] memory) {
        return _keeperList;
    }

    /// @inheritdoc IMarginEngine
    function quorum() external view noReentry returns (uint8) {
        return _quorum;
    }

    /// @inheritdoc IMarginEngine
    function riskParams() external view noReentry returns (RiskParams memory) {
        return _params;
    }

    /// @inheritdoc IMarginEngine
    function roles() external view noReentry returns (address admin, address riskCouncil, address pauseGuardian) {
        return (_admin, _riskCouncil, _pauseGuardian);
    }

    /// @inheritdoc IMarginEngine
    function paused() external view noReentry returns (bool) {
        return _paused;
    }

    /// @inheritdoc IMarginEngine
    function isVenue(address venue) external view noReentry returns (bool) {
        return _venues[venue];
    }

    /// @inheritdoc IMarginEngine
    function isInstrumentListed(bytes32 instrumentId) external view noReentry returns (bool) {
        return _instruments[instrumentId];
    }

    /// @inheritdoc IMarginEngine
    function collateralAssets() external view noReentry returns (address[] memory) {
        return _assetList;
    }

    /// @inheritdoc IMarginEngine
    function collateralInfo(address asset) external view noReentry returns (CollateralInfo memory) {
        return _assets[asset];
    }

    /// @inheritdoc IMarginEngine
    function collateralBalance(address account, address asset) external view noReentry returns (uint256) {
        return _balances[account][asset];
    }

    /// @inheritdoc IMarginEngine
    function positionOf(address account, bytes32 instrumentId) external view noReentry returns (int256) {
        return _positions[account][instrumentId];
    }

    /// @inheritdoc IMarginEngine
    function accountState(address account)
        external
        view
        noReentry
        returns (uint48 positionsNonce, int256 cash, uint48 lastLiquidationBlock)
    {
        Account memory a = _accounts[account];
        return (a.positionsNonce, a.cash, a.lastLiquidationBlock);
    }

    /// @inheritdoc IMarginEngine
    function marginReportOf(address account) external view noReentry returns (StoredMarginReport memory) {
        return _reports[account];
    }

    /// @inheritdoc IMarginEngine
    function accountHealth(address account) external view noReentry returns (AccountHealth memory) {
        return _accountHealth(account);
    }

    /// @inheritdoc IMarginEngine
    function isLiquidatable(address account) external view noReentry returns (bool) {
        return _accountHealth(account).liquidatable;
    }

    /// @inheritdoc IMarginEngine
    function attestedRoot(bytes32 root) external view noReentry returns (uint48 observedBlock, uint32 riskEpoch_) {
        Root memory r = _roots[root];
        return (r.observedBlock, r.riskEpoch);
    }

    /// @inheritdoc IMarginEngine
    function queuedChangeEta(bytes32 changeId) external view noReentry returns (uint64) {
        return _queue[changeId];
    }

    /// @inheritdoc IMarginEngine
    function liquidatedNotionalThisBlock() external view noReentry returns (uint256) {
        return _usedThisBlock();
    }

    /// @inheritdoc IMarginEngine
    function clockBlock() external view noReentry returns (uint256) {
        return _clock();
    }

    // ------------------------------------------------------------------ internals: reports

    /// @dev WrongRiskEpoch(current, epoch), FutureReport, StaleReport.
    function _checkHeader(uint32 epoch, uint48 observed) private view {
        uint32 current = _riskEpoch;
        if (epoch != current) revert WrongRiskEpoch(current, epoch);
        uint256 clock = _clock();
        if (observed > clock) revert FutureReport(observed, clock);
        _checkAge(observed);
    }

    /// @dev StaleReport if `observed` (never in the future here) is older than maxReportAgeBlocks.
    function _checkAge(uint48 observed) private view {
        uint256 clock = _clock();
        if (clock > observed && clock - observed > _params.maxReportAgeBlocks) {
            revert StaleReport(observed, clock);
        }
    }

    function _checkLeafBlock(uint48 batchBlock, uint48 leafBlock) private pure {
        if (leafBlock != batchBlock) revert LeafBlockMismatch(batchBlock, leafBlock);
    }

    function _checkLeafEpoch(uint32 batchEpoch, uint32 leafEpoch) private pure {
        if (leafEpoch != batchEpoch) revert WrongRiskEpoch(batchEpoch, leafEpoch);
    }

    /// @dev The root part of a proven item: UnknownRoot, WrongRiskEpoch(current, root's), StaleReport,
    ///      LeafBlockMismatch, WrongRiskEpoch(root's, leaf's) (if `hasEpoch`), InvalidProof.
    function _checkProven(
        bytes32 root,
        uint48 leafBlock,
        bool hasEpoch,
        uint32 leafEpoch,
        bytes32 leaf,
        bytes32[] calldata proof
    ) private view {
        Root memory r = _roots[root];
        if (r.observedBlock == 0) revert UnknownRoot(root);
        uint32 current = _riskEpoch;
        if (r.riskEpoch != current) revert WrongRiskEpoch(current, r.riskEpoch);
        _checkAge(r.observedBlock);
        _checkLeafBlock(r.observedBlock, leafBlock);
        if (hasEpoch) _checkLeafEpoch(r.riskEpoch, leafEpoch);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
    }

    /// @dev Root of `nodes` (overwritten): sorted-pair hashing, an odd node carried up, the root of one
    ///      leaf is that leaf, zero for none. OpenZeppelin has no whole-tree builder for this shape.
    function _rootInPlace(bytes32[] memory nodes) private pure returns (bytes32) {
        uint256 len = nodes.length;
        if (len == 0) return bytes32(0);
        while (len > 1) {
            uint256 pairs = len >> 1;
            for (uint256 i; i < pairs; ++i) {
                nodes[i] = Hashes.commutativeKeccak256(nodes[2 * i], nodes[2 * i + 1]);
            }
            if (len & 1 == 1) {
                nodes[pairs] = nodes[len - 1];
                len = pairs + 1;
            } else {
                len = pairs;
            }
        }
        return nodes[0];
    }

    /// @dev Signatures over the batch digest, then the quorum (steps 7 and 8).
    function _verifyBatch(ReportBatch calldata batch, bytes calldata signatures) private view {
        bytes32 digest = _hashTypedDataV4(ReportHashing.batchHash(batch));
        uint256 length = signatures.length;
        if (length == 0 || length % 65 != 0) revert MalformedSignatures(length);
        uint256 count = length / 65;
        address previous;
        for (uint256 i; i < count; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let p := add(signatures.offset, mul(i, 65))
                r := calldataload(p)
                s := calldataload(add(p, 0x20))
                v := byte(0, calldataload(add(p, 0x40)))
            }
            if (v != 27 && v != 28) revert InvalidSignatureV(i, v);
            if (uint256(s) > SECP256K1N_HALF) revert SignatureSHigh(i, s);
            // OpenZeppelin's recovery: its own high-s and zero-signer checks are the ones above and
            // below; the specific errors of the interface are raised here.
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
            if (err != ECDSA.RecoverError.NoError || signer == address(0)) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotAscending(previous, signer);
            if (!_isKeeper[signer]) revert UnknownKeeper(signer);
            previous = signer;
        }
        uint256 q = _quorum;
        if (count < q) revert QuorumNotMet(count, q);
    }

    function _storeRoot(ReportBatch calldata batch) private {
        _roots[batch.root] = Root(batch.observedBlock, batch.riskEpoch);
        emit RootAttested(batch.root, batch.observedBlock, batch.riskEpoch, batch.count);
    }

    /// @dev AssetNotListed, InvalidPrice, then PriceNotNewer (reverts if `strict`, else skipped with
    ///      PriceSkipped). Returns whether the price was stored.
    function _applyPrice(PriceReport calldata p, bool strict) private returns (bool) {
        address asset = p.asset;
        CollateralInfo storage info = _assets[asset];
        if (!info.listed) revert AssetNotListed(asset);
        uint128 price = p.price;
        if (price == 0) revert InvalidPrice(asset);
        uint48 observed = p.observedBlock;
        uint48 stored = info.priceBlock;
        if (stored >= observed) {
            if (strict) revert PriceNotNewer(asset, stored, observed);
            emit PriceSkipped(asset, PriceNotNewer.selector);
            return false;
        }
        info.price = price;
        info.priceBlock = observed;
        emit PriceUpdated(asset, price, observed);
        return true;
    }

    /// @dev InvalidMarginReport, then NonceMismatch and ReportNotNewer (revert if `strict`, else skipped
    ///      with MarginReportSkipped). Returns whether the report was stored.
    function _applyReport(MarginReport calldata r, bool strict) private returns (bool) {
        address account = r.account;
        uint128 initialMargin = r.initialMargin;
        uint128 maintenanceMargin = r.maintenanceMargin;
        if (initialMargin < maintenanceMargin) revert InvalidMarginReport(account);
        uint48 nonce = _accounts[account].positionsNonce;
        uint48 provided = r.positionsNonce;
        StoredMarginReport storage s = _reports[account];
        uint48 observed = r.observedBlock;
        bytes4 reason;
        if (provided != nonce) {
            if (strict) revert NonceMismatch(account, nonce, provided);
            reason = NonceMismatch.selector;
        } else {
            uint48 stored = s.observedBlock;
            if (stored >= observed) {
                if (strict) revert ReportNotNewer(account, stored, observed);
                reason = ReportNotNewer.selector;
            } else {
                // Both slots written whole (one SSTORE each): the field-by-field struct copy costs a
                // read-modify-write per packed member. Layout: see StoredMarginReport.
                uint256 w0 = uint256(uint128(r.portfolioValue)) | (uint256(observed) << 128)
                    | (uint256(r.riskEpoch) << 176) | (uint256(provided) << 208);
                uint256 w1 = uint256(initialMargin) | (uint256(maintenanceMargin) << 128);
                assembly ("memory-safe") {
                    sstore(s.slot, w0)
                    sstore(add(s.slot, 1), w1)
                }
                return true;
            }
        }
        emit MarginReportSkipped(account, reason);
        return false;
    }

    // ------------------------------------------------------------------ internals: margin

    /// @dev Whether the stored report of `account` is fresh now.
    function _reportFresh(StoredMarginReport memory s, uint48 nonce) private view returns (bool) {
        if (s.observedBlock == 0 || s.positionsNonce != nonce || s.riskEpoch != _riskEpoch) return false;
        uint256 clock = _clock();
        return s.observedBlock <= clock && clock - s.observedBlock <= _params.maxReportAgeBlocks;
    }

    /// @dev Σ floor(floor(balance * price / 10**decimals) * weightBps / 10_000) over listed assets, with
    ///      `overrideAsset`'s balance replaced if `useOverride` (a withdrawal's after-state). Prices
    ///      count whatever their age; the first held asset (listing order) with a price older than
    ///      maxPriceAgeBlocks is returned.
    function _valuation(address account, address overrideAsset, uint256 overrideBalance, bool useOverride)
        private
        view
        returns (uint256 weighted, address staleAsset, uint48 stalePriceBlock, bool stale)
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
            if (!stale && (pb == 0 || pb > clock || clock - pb > maxAge)) {
                (stale, staleAsset, stalePriceBlock) = (true, asset, info.priceBlock);
            }
            uint256 value = EngineMath.mulDiv(balance, info.price, 10 ** uint256(info.decimals));
            weighted = EngineMath.addU(weighted, EngineMath.mulDiv(value, info.weightBps, EngineMath.BPS));
        }
    }

    /// @dev NoFreshReport, StalePrice; then the equity.
    function _freshEquity(address account, address overrideAsset, uint256 overrideBalance, bool useOverride)
        private
        view
        returns (Fresh memory f)
    {
        StoredMarginReport memory s = _reports[account];
        Account memory a = _accounts[account];
        if (!_reportFresh(s, a.positionsNonce)) revert NoFreshReport(account);
        (uint256 weighted, address staleAsset, uint48 stalePriceBlock, bool stale) =
            _valuation(account, overrideAsset, overrideBalance, useOverride);
        if (stale) revert StalePrice(staleAsset, stalePriceBlock);
        f.equity = EngineMath.toInt256(weighted).add(a.cash).add(s.portfolioValue);
        f.initialMargin = s.initialMargin;
        f.maintenanceMargin = s.maintenanceMargin;
    }

    /// @dev NoFreshReport, StalePrice, BelowInitialMargin.
    function _requireInitial(address account, address overrideAsset, uint256 overrideBalance, bool useOverride)
        private
        view
    {
        Fresh memory f = _freshEquity(account, overrideAsset, overrideBalance, useOverride);
        if (f.equity < int256(uint256(f.initialMargin))) {
            revert BelowInitialMargin(account, f.equity, f.initialMargin);
        }
    }

    /// @dev equity * 10_000 < maintenanceMargin * liquidationThresholdBps.
    function _belowThreshold(int256 equity, uint128 maintenanceMargin) private view returns (bool) {
        uint256 requirement = uint256(maintenanceMargin) * _params.liquidationThresholdBps;
        return equity.mul(int256(EngineMath.BPS)) < int256(requirement);
    }

    function _accountHealth(address account) private view returns (AccountHealth memory h) {
        StoredMarginReport memory s = _reports[account];
        Account memory a = _accounts[account];
        h.reportFresh = _reportFresh(s, a.positionsNonce);
        (uint256 weighted,,, bool stale) = _valuation(account, address(0), 0, false);
        h.weightedCollateralValue = weighted;
        h.cash = a.cash;
        h.portfolioValue = s.portfolioValue;
        h.equity = EngineMath.toInt256(weighted).add(a.cash).add(s.portfolioValue);
        h.initialMargin = s.initialMargin;
        h.maintenanceMargin = s.maintenanceMargin;
        if (h.equity <= 0) {
            h.marginRatioBps = 0;
        } else if (s.maintenanceMargin == 0) {
            h.marginRatioBps = type(uint256).max;
        } else {
            h.marginRatioBps = EngineMath.mulDiv(uint256(h.equity), EngineMath.BPS, s.maintenanceMargin);
        }
        h.pricesFresh = !stale;
        h.liquidatable = h.reportFresh && h.pricesFresh && _belowThreshold(h.equity, s.maintenanceMargin);
    }

    // ------------------------------------------------------------------ internals: positions

    /// @dev Whether moving a position from `before` to `after_` adds risk: its sign flips or its
    ///      absolute size grows.
    function _addsRisk(int256 before, int256 after_) private pure returns (bool) {
        bool flips = (before < 0 && after_ > 0) || (before > 0 && after_ < 0);
        return flips || EngineMath.abs(after_) > EngineMath.abs(before);
    }

    /// @dev Adds `size` to the position and `cashDelta` to the cash, bumps the nonce; returns the new
    ///      position and nonce (ArithmeticOverflow if any of them overflows).
    function _applyPosition(address account, bytes32 id, int256 size, int256 cashDelta)
        private
        returns (int256 position, uint48 nonce)
    {
        position = _positions[account][id].add(size);
        Account storage a = _accounts[account];
        int128 cash = int256(a.cash).add(cashDelta).toInt128();
        nonce = a.positionsNonce;
        if (nonce == type(uint48).max) revert ArithmeticOverflow();
        unchecked {
            ++nonce;
        }
        a.cash = cash;
        a.positionsNonce = nonce;
        _positions[account][id] = position;
    }

    /// @dev Applies one leg and emits its PositionChanged.
    function _moveLeg(address account, bytes32 id, int256 size, int256 cashDelta) private {
        (int256 newSize, uint48 nonce) = _applyPosition(account, id, size, cashDelta);
        emit PositionChanged(account, id, size, cashDelta, newSize, nonce);
    }

    function _usedThisBlock() private view returns (uint256) {
        LiquidationGate memory g = _gate;
        return g.blockNumber == uint48(_clock()) ? g.used : 0;
    }

    // ------------------------------------------------------------------ internals: governance

    function _onlyAdmin() private view {
        if (msg.sender != _admin) revert NotAdmin(msg.sender);
    }

    function _whenNotPaused() private view {
        if (_paused) revert EnginePaused();
    }

    function _nonZero(address a) private pure {
        if (a == address(0)) revert ZeroAddress();
    }

    function _onlyListed(address asset) private view {
        if (!_assets[asset].listed) revert AssetNotListed(asset);
    }

    /// @dev Hard bounds [min, max] of the kinds that have numeric ones.
    function _bounds(uint8 kind) private pure returns (bool has, uint256 min, uint256 max) {
        if (kind == K_COLLATERAL_WEIGHT) return (true, 0, 10_000);
        if (kind == K_LIST_COLLATERAL) return (true, 0, 36);
        if (kind == K_LIQUIDATION_THRESHOLD) return (true, 10_000, 20_000);
        if (kind == K_LIQUIDATION_PENALTY) return (true, 0, 1_500);
        if (kind == K_MAX_REPORT_AGE || kind == K_MAX_PRICE_AGE) return (true, 1, 100_000);
        if (kind == K_NOTIONAL_CAP) return (true, 1e18, 1e30);
        if (kind == K_TIMELOCK_DELAY) return (true, 60, 2_592_000);
        if (kind == K_BUMP_RISK_EPOCH) return (true, 0, 0);
        return (false, 0, 0);
    }

    function _checkBounds(uint8 kind, uint256 value) private pure {
        (bool has, uint256 min, uint256 max) = _bounds(kind);
        if (has && (value < min || value > max)) revert ParameterOutOfBounds(kind, value, min, max);
    }

    function _checkQuorum(uint256 q, uint256 keeperCount) private pure {
        if (q == 0 || q > keeperCount) revert QuorumOutOfRange(q, keeperCount);
    }

    /// @dev ZeroAddress, KeeperAlreadyRegistered, TooManyKeepers.
    function _checkAddKeeper(address keeper) private view {
        _nonZero(keeper);
        if (_isKeeper[keeper]) revert KeeperAlreadyRegistered(keeper);
        if (_keeperList.length >= MAX_KEEPERS) revert TooManyKeepers(MAX_KEEPERS);
    }

    /// @dev AssetAlreadyListed, TooManyCollateralAssets.
    function _checkList(address asset) private view {
        if (_assets[asset].listed) revert AssetAlreadyListed(asset);
        if (_assetList.length >= MAX_COLLATERAL_ASSETS) revert TooManyCollateralAssets(MAX_COLLATERAL_ASSETS);
    }

    function _list(address asset, uint8 decimals, uint16 weightBps) private {
        _assetList.push(asset);
        CollateralInfo storage info = _assets[asset];
        info.listed = true;
        info.decimals = decimals;
        info.weightBps = weightBps;
    }

    /// @dev The current value of scalar parameter `kind` (2..7).
    function _param(uint8 kind) private view returns (uint256) {
        RiskParams memory p = _params;
        if (kind == K_LIQUIDATION_THRESHOLD) return p.liquidationThresholdBps;
        if (kind == K_LIQUIDATION_PENALTY) return p.liquidationPenaltyBps;
        if (kind == K_MAX_REPORT_AGE) return p.maxReportAgeBlocks;
        if (kind == K_MAX_PRICE_AGE) return p.maxPriceAgeBlocks;
        if (kind == K_TIMELOCK_DELAY) return p.timelockDelay;
        return p.liquidationNotionalCapPerBlock;
    }

    /// @dev Whether `change` tightens risk (applies at once). A change equal to the current value is not.
    function _isTightening(ParamChange calldata change) private view returns (bool) {
        uint8 kind = change.kind;
        uint256 value = change.value;
        if (kind == K_COLLATERAL_WEIGHT) return value < _assets[change.target].weightBps;
        if (kind == K_LIQUIDATION_THRESHOLD || kind == K_TIMELOCK_DELAY) return value > _param(kind);
        if (kind == K_MAX_REPORT_AGE || kind == K_MAX_PRICE_AGE) return value < _param(kind);
        if (kind == K_QUORUM) return value > _quorum;
        return
            kind == K_LIST_COLLATERAL || kind == K_REMOVE_KEEPER || kind == K_REMOVE_VENUE || kind == K_BUMP_RISK_EPOCH;
    }

    /// @dev The kind's own rules: ZeroAddress, ParameterOutOfBounds, AssetNotListed, AssetAlreadyListed,
    ///      TooManyCollateralAssets, KeeperAlreadyRegistered, KeeperNotRegistered, TooManyKeepers,
    ///      QuorumOutOfRange.
    function _checkChange(ParamChange calldata change) private view {
        uint8 kind = change.kind;
        address target = change.target;
        if (
            kind == K_COLLATERAL_WEIGHT || kind == K_LIST_COLLATERAL
                || (kind >= K_ADD_KEEPER && kind <= K_SET_PAUSE_GUARDIAN)
        ) _nonZero(target);
        _checkBounds(kind, change.value);
        if (kind == K_COLLATERAL_WEIGHT) {
            _onlyListed(target);
        } else if (kind == K_LIST_COLLATERAL) {
            _checkList(target);
        } else if (kind == K_QUORUM) {
            _checkQuorum(change.value, _keeperList.length);
        } else if (kind == K_ADD_KEEPER) {
            _checkAddKeeper(target);
        } else if (kind == K_REMOVE_KEEPER) {
            if (!_isKeeper[target]) revert KeeperNotRegistered(target);
            // The set must keep at least `quorum` keepers.
            _checkQuorum(_quorum, _keeperList.length - 1);
        }
    }

    /// @dev Applies a checked change; ChangeApplied, then RiskEpochBumped for the kinds that bump it.
    function _applyChange(ParamChange calldata change, bytes32 id) private {
        uint8 kind = change.kind;
        address target = change.target;
        uint256 value = change.value;
        // Bounds were checked: every narrowing below is exact.
        if (kind == K_COLLATERAL_WEIGHT) {
            _assets[target].weightBps = uint16(value);
        } else if (kind == K_LIST_COLLATERAL) {
            _list(target, uint8(value), 0);
        } else if (kind == K_LIQUIDATION_THRESHOLD) {
            _params.liquidationThresholdBps = uint16(value);
        } else if (kind == K_LIQUIDATION_PENALTY) {
            _params.liquidationPenaltyBps = uint16(value);
        } else if (kind == K_MAX_REPORT_AGE) {
            _params.maxReportAgeBlocks = uint32(value);
        } else if (kind == K_MAX_PRICE_AGE) {
            _params.maxPriceAgeBlocks = uint32(value);
        } else if (kind == K_NOTIONAL_CAP) {
            _params.liquidationNotionalCapPerBlock = uint128(value);
        } else if (kind == K_TIMELOCK_DELAY) {
            _params.timelockDelay = uint32(value);
        } else if (kind == K_QUORUM) {
            _quorum = uint8(value);
        } else if (kind == K_ADD_KEEPER) {
            _keeperList.push(target);
            _isKeeper[target] = true;
        } else if (kind == K_REMOVE_KEEPER) {
            _removeKeeper(target);
        } else if (kind == K_ADD_VENUE) {
            _venues[target] = true;
        } else if (kind == K_REMOVE_VENUE) {
            _venues[target] = false;
        } else if (kind == K_SET_ADMIN) {
            _admin = target;
        } else if (kind == K_SET_RISK_COUNCIL) {
            _riskCouncil = target;
        } else if (kind == K_SET_PAUSE_GUARDIAN) {
            _pauseGuardian = target;
        }
        emit ChangeApplied(id, kind, target, value);
        if (kind == K_QUORUM || kind == K_REMOVE_KEEPER || kind == K_BUMP_RISK_EPOCH) {
            uint32 epoch = _riskEpoch;
            if (epoch == type(uint32).max) revert ArithmeticOverflow();
            unchecked {
                ++epoch;
            }
            _riskEpoch = epoch;
            emit RiskEpochBumped(epoch);
        }
    }

    /// @dev Unregisters `keeper`, keeping the others in registration order.
    function _removeKeeper(address keeper) private {
        _isKeeper[keeper] = false;
        uint256 n = _keeperList.length;
        bool found;
        for (uint256 i; i < n; ++i) {
            address current = _keeperList[i];
            if (found) {
                _keeperList[i - 1] = current;
            } else if (current == keeper) {
                found = true;
            }
        }
        if (found) _keeperList.pop();
    }

    /// @dev keccak256(abi.encode(kind, target, value, eta)).
    function _changeId(ParamChange calldata change, uint64 eta) private pure returns (bytes32) {
        return keccak256(abi.encode(change.kind, change.target, change.value, eta));
    }
}
