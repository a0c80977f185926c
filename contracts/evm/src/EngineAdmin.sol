// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    ParamChange,
    RiskParams,
    CollateralInfo,
    StoredMarginReport,
    AccountHealth,
    SettlementState
} from "@interfaces/IMarginEngine.sol";
import {EngineStorage} from "./EngineStorage.sol";
import {EngineMath} from "./libraries/EngineMath.sol";
import {TokenTransfer} from "./libraries/TokenTransfer.sol";

/// @title The engine's module for governance, debt collection, bad debt and views.
/// @notice Deployed by `MarginEngine`'s constructor and only ever run by delegatecall from its
///         fallback, on the engine's storage, with the engine's caller as msg.sender. Called directly
///         it acts on its own empty storage (no admin, no assets): nothing to gain.
contract EngineAdmin is EngineStorage {
    using EngineMath for int256;

    /// @param arbSysClock The engine's clock mode, probed at its deployment: this module's code reads
    ///        its own immutable copy, since a delegatecalled module cannot see the engine's.
    constructor(bool arbSysClock) EngineStorage(arbSysClock) {}

    // ------------------------------------------------------------------ debt and bad debt

    function repayDebt(uint256 amount) external noReentry {
        if (amount == 0) revert ZeroAmount();
        Account memory a = _accounts[msg.sender];
        int256 cash = _cashOf(a);
        if (cash >= 0) revert NoDebt(msg.sender);
        address asset = _settlement.asset;
        uint256 balance = _balances[msg.sender][asset];
        if (amount > balance) revert InsufficientCollateral(msg.sender, asset, balance, amount);
        uint256 cashAmount = EngineMath.mulDiv(amount, _settlement.scale, 1);
        uint256 debt = uint256(-cash);
        if (cashAmount > debt) revert RepayExceedsDebt(msg.sender, debt, cashAmount);
        _collect(msg.sender, asset, amount, a, cash, cashAmount);
        emit DebtRepaid(msg.sender, cashAmount);
    }

    function seizeCollateral(address account, address asset, uint256 amount) external noReentry {
        _whenNotPaused();
        if (msg.sender == account) revert SelfLiquidation(account);
        if (amount == 0) revert ZeroAmount();
        _onlyListed(asset);
        _requireLiquidatable(account);
        Account storage a = _accounts[account];
        Account memory old = a;
        int256 cash = _cashOf(old);
        if (cash >= 0) revert NoDebt(account);
        address expected = _nextSeizable(account);
        if (asset != expected) revert SeizureOutOfOrder(asset, expected);
        SettlementConfig memory cfg = _settlement;
        uint256 cashAmount = EngineMath.mulDiv(amount, cfg.scale, 1);
        // cash < 0 and >= int128.min: its magnitude fits.
        uint256 debt = uint256(-cash);
        uint256 balance = _balances[account][asset];
        uint256 seized = amount;
        if (asset == cfg.asset) {
            if (amount > balance) revert InsufficientCollateral(account, asset, balance, amount);
            if (cashAmount > debt) revert RepayExceedsDebt(account, debt, cashAmount);
        } else {
            uint48 clock = uint48(_clock());
            if (old.lastLiquidationBlock == clock) revert LiquidationAlreadyThisBlock(account);
            if (cashAmount > debt) revert RepayExceedsDebt(account, debt, cashAmount);
            uint256 cap = _params.liquidationNotionalCapPerBlock;
            uint256 used = _usedThisBlock();
            uint256 total = EngineMath.addU(used, cashAmount);
            if (total > cap) revert LiquidationCapExceeded(used, cashAmount, cap);
            seized = _seizedAmount(asset, cashAmount, cfg.seizureDiscountBps);
            // The last units: the liquidator may pay a little more than they are worth, so no dust of
            // a weighted asset is left to hold up resolveBadDebt.
            if (seized > balance) seized = balance;
            // total <= cap <= 1e30 fits 128 bits.
            _gate = LiquidationGate(clock, uint128(total));
            a.lastLiquidationBlock = clock;
        }
        _collect(account, asset, seized, old, cash, cashAmount);
        if (asset != cfg.asset) {
            _lock(true);
            TokenTransfer.transferFrom(cfg.asset, msg.sender, address(this), amount);
            TokenTransfer.transfer(asset, msg.sender, seized);
            _lock(false);
        }
        emit CollateralSeized(account, msg.sender, asset, seized, cashAmount);
    }

    function resolveBadDebt(address account) external noReentry {
        _whenNotPaused();
        Account storage a = _accounts[account];
        Account memory old = a;
        int256 cash = _cashOf(old);
        if (cash >= 0) revert NoDebt(account);
        if (old.openPositions != 0) revert NotBadDebt(account);
        uint256 n = _assetList.length;
        for (uint256 i; i < n; ++i) {
            address asset = _assetList[i];
            if (_balances[account][asset] != 0 && _assets[asset].weightBps != 0) revert NotBadDebt(account);
        }
        uint256 debt = uint256(-cash);
        Reserve memory r = _reserve;
        uint256 covered = debt < r.insuranceFund ? debt : r.insuranceFund;
        // covered <= insuranceFund.
        _reserve.insuranceFund = uint128(r.insuranceFund - covered);
        uint256 socialised = debt - covered;
        _setCash(a, old, 0);
        CashShares memory sh = _shares;
        uint256 rate = sh.rate;
        if (socialised != 0) {
            if (sh.totalShares != 0) {
                // Rounded up: positive cash falls by at least the loss, the dust stays in the reserve.
                uint256 cut = EngineMath.mulDiv(socialised, EngineMath.E18, sh.totalShares);
                if (EngineMath.mulDiv(cut, sh.totalShares, EngineMath.E18) < socialised) ++cut;
                if (rate >= cut + MIN_POSITIVE_CASH_RATE) {
                    rate -= cut;
                    _shares.rate = uint96(rate);
                } else {
                    // The loss takes (all but dust of) every positive cash: a new cash epoch wipes them.
                    if (sh.epoch == type(uint16).max) revert ArithmeticOverflow();
                    rate = EngineMath.E18;
                    _shares = CashShares(uint96(rate), 0, sh.epoch + 1);
                }
            }
            uint256 loss = EngineMath.addU(_losses.socialisedLoss, socialised);
            if (loss > type(uint128).max) revert ArithmeticOverflow();
            _losses.socialisedLoss = uint128(loss);
        }
        emit BadDebtResolved(account, debt, covered, socialised, rate);
    }

    /// @dev Moves `units` of `asset` out of `account`'s balance (into the reserve if it is the
    ///      settlement asset) and credits `cashAmount` to its cash and to the reserve.
    function _collect(
        address account,
        address asset,
        uint256 units,
        Account memory old,
        int256 cash,
        uint256 cashAmount
    ) private {
        // units <= balance <= engine-wide total (checked by the callers).
        unchecked {
            _balances[account][asset] -= units;
            _assetTotals[asset] -= units;
        }
        _setCash(_accounts[account], old, cash + int256(cashAmount));
        uint256 reserve = EngineMath.addU(_reserve.cashReserve, cashAmount);
        if (reserve > type(uint128).max) revert ArithmeticOverflow();
        _reserve.cashReserve = uint128(reserve);
    }

    /// @dev The next asset to seize from `account`: its settlement asset if it holds any, else the held
    ///      asset with a fresh price and the highest weight (earliest listed on a tie); zero if none.
    function _nextSeizable(address account) private view returns (address best) {
        address settlementAsset = _settlement.asset;
        mapping(address => uint256) storage holdings = _balances[account];
        if (holdings[settlementAsset] != 0) return settlementAsset;
        uint256 maxAge = _params.maxPriceAgeBlocks;
        uint256 clock = _clock();
        uint256 bestWeight;
        uint256 n = _assetList.length;
        for (uint256 i; i < n; ++i) {
            address asset = _assetList[i];
            if (asset == settlementAsset || holdings[asset] == 0) continue;
            CollateralInfo memory info = _assets[asset];
            uint256 pb = info.priceBlock;
            if (pb == 0 || pb > clock || clock - pb > maxAge) continue;
            if (best == address(0) || info.weightBps > bestWeight) (best, bestWeight) = (asset, info.weightBps);
        }
    }

    /// @dev floor(cashAmount * 10**decimals * 10_000 / (price * (10_000 - discount))), discount capped
    ///      at the asset's haircut (10_000 - weightBps) so the account's equity never falls.
    function _seizedAmount(address asset, uint256 cashAmount, uint256 discountBps) private view returns (uint256) {
        CollateralInfo memory info = _assets[asset];
        uint256 haircut = EngineMath.BPS - info.weightBps;
        if (discountBps > haircut) discountBps = haircut;
        // decimals <= 36 and price < 2^128: neither product overflows 256 bits.
        return EngineMath.mulDiv(
            cashAmount,
            10 ** uint256(info.decimals) * EngineMath.BPS,
            uint256(info.price) * (EngineMath.BPS - discountBps)
        );
    }

    // ------------------------------------------------------------------ governance

    function proposeChange(ParamChange calldata change) external noReentry returns (bytes32 changeId, bool applied) {
        uint8 kind = change.kind;
        if (kind > K_DELIST_COLLATERAL) revert UnknownChangeKind(kind);
        // The admin replaces the council at once: a timelock would let the council cancel it.
        bool immediate = kind == K_SET_RISK_COUNCIL;
        bool tightening = !immediate && _isTightening(change);
        if (tightening) {
            if (msg.sender != _riskCouncil && msg.sender != _admin) revert NotRiskCouncilOrAdmin(msg.sender);
        } else {
            _onlyAdmin();
        }
        _checkChange(change);
        if (tightening || immediate) {
            changeId = _changeId(change, uint64(block.timestamp));
            _applyChange(change, changeId);
            return (changeId, true);
        }
        uint64 eta = uint64(block.timestamp) + _params.timelockDelay;
        changeId = _changeId(change, eta);
        if (_queue[changeId] != 0) revert ChangeAlreadyQueued(changeId);
        _queue[changeId] = uint256(eta) | (uint256(kind) << 64);
        emit ChangeQueued(changeId, kind, change.target, change.value, eta);
    }

    function executeChange(ParamChange calldata change, uint64 eta) external noReentry {
        bytes32 id = _changeId(change, eta);
        if (_queue[id] == 0) revert ChangeNotQueued(id);
        if (block.timestamp < eta) revert TimelockNotElapsed(id, eta);
        if (block.timestamp > uint256(eta) + GRACE_PERIOD) revert ChangeExpired(id, eta);
        _checkChange(change);
        delete _queue[id];
        _applyChange(change, id);
    }

    function cancelChange(bytes32 changeId) external noReentry {
        if (msg.sender != _riskCouncil && msg.sender != _admin) revert NotRiskCouncilOrAdmin(msg.sender);
        uint256 queued = _queue[changeId];
        if (queued == 0) revert ChangeNotQueued(changeId);
        // Only the admin cancels a role change: the council must not keep itself or block the admin.
        uint256 kind = queued >> 64;
        if ((kind == K_SET_ADMIN || kind == K_SET_PAUSE_GUARDIAN) && msg.sender != _admin) revert NotAdmin(msg.sender);
        delete _queue[changeId];
        emit ChangeCancelled(changeId);
    }

    function listInstrument(bytes32 instrumentId, bytes calldata spec) external noReentry {
        _onlyAdmin();
        if (_instruments[instrumentId]) revert InstrumentAlreadyListed(instrumentId);
        _instruments[instrumentId] = true;
        emit InstrumentListed(instrumentId, spec);
    }

    function pause() external noReentry {
        if (msg.sender != _pauseGuardian && msg.sender != _admin) revert NotPauseGuardianOrAdmin(msg.sender);
        _paused = true;
        emit EnginePausedBy(msg.sender);
    }

    function unpause() external noReentry {
        _onlyAdmin();
        _paused = false;
        emit EngineUnpausedBy(msg.sender);
    }

    // ------------------------------------------------------------------ views

    function riskEpoch() external view noReentry returns (uint32) {
        return _riskEpoch;
    }

    function keepers() external view noReentry returns (address[] memory) {
        return _keeperList;
    }

    function quorum() external view noReentry returns (uint8) {
        return _quorum;
    }

    function riskParams() external view noReentry returns (RiskParams memory) {
        return _params;
    }

    function roles() external view noReentry returns (address admin, address riskCouncil, address pauseGuardian) {
        return (_admin, _riskCouncil, _pauseGuardian);
    }

    function paused() external view noReentry returns (bool) {
        return _paused;
    }

    function isVenue(address venue) external view noReentry returns (bool) {
        return _venues[venue];
    }

    function isInstrumentListed(bytes32 instrumentId) external view noReentry returns (bool) {
        return _instruments[instrumentId];
    }

    function collateralAssets() external view noReentry returns (address[] memory) {
        return _assetList;
    }

    function collateralInfo(address asset) external view noReentry returns (CollateralInfo memory) {
        return _assets[asset];
    }

    function collateralBalance(address account, address asset) external view noReentry returns (uint256) {
        return _balances[account][asset];
    }

    function positionOf(address account, bytes32 instrumentId) external view noReentry returns (int256) {
        return _positions[account][instrumentId];
    }

    function accountState(address account)
        external
        view
        noReentry
        returns (uint48 positionsNonce, int256 cash, uint48 lastLiquidationBlock)
    {
        Account memory a = _accounts[account];
        return (a.positionsNonce, _cashOf(a), a.lastLiquidationBlock);
    }

    function marginReportOf(address account) external view noReentry returns (StoredMarginReport memory) {
        return _reports[account];
    }

    function accountHealth(address account) external view noReentry returns (AccountHealth memory) {
        return _accountHealth(account);
    }

    function isLiquidatable(address account) external view noReentry returns (bool) {
        return _accountHealth(account).liquidatable;
    }

    function attestedRoot(bytes32 root) external view noReentry returns (uint48 observedBlock, uint32 riskEpoch_) {
        Root memory r = _roots[root];
        return (r.observedBlock, r.riskEpoch);
    }

    function queuedChangeEta(bytes32 changeId) external view noReentry returns (uint64) {
        return uint64(_queue[changeId]);
    }

    function liquidatedNotionalThisBlock() external view noReentry returns (uint256) {
        return _usedThisBlock();
    }

    function settlementState() external view noReentry returns (SettlementState memory st) {
        SettlementConfig memory cfg = _settlement;
        Reserve memory r = _reserve;
        CashShares memory sh = _shares;
        Losses memory l = _losses;
        st.settlementAsset = cfg.asset;
        st.cashReserve = r.cashReserve;
        st.insuranceFund = r.insuranceFund;
        st.socialisedLoss = l.socialisedLoss;
        st.totalPositiveCash = EngineMath.mulDiv(sh.totalShares, sh.rate, EngineMath.E18);
        st.positiveCashRate = sh.rate;
        st.seizureDiscountBps = cfg.seizureDiscountBps;
        st.insuranceShareBps = cfg.insuranceShareBps;
        st.liquidatorMarginBps = l.liquidatorMarginBps;
    }

    function collateralStatus(address asset) external view noReentry returns (bool windingDown, uint256 engineBalance) {
        return (_windingDown[asset], _assetTotals[asset]);
    }

    function openPositions(address account) external view noReentry returns (uint256) {
        return _accounts[account].openPositions;
    }

    function _accountHealth(address account) internal view returns (AccountHealth memory h) {
        StoredMarginReport memory s = _reports[account];
        Account memory a = _accounts[account];
        h.reportFresh = _reportFresh(s, a.positionsNonce);
        Valuation memory v = _valuation(account, address(0), 0, false);
        int256 cash = _cashOf(a);
        h.weightedCollateralValue = v.weighted;
        h.cash = cash;
        h.portfolioValue = s.portfolioValue;
        h.equity = EngineMath.toInt256(v.weighted).add(cash).add(s.portfolioValue);
        h.initialMargin = s.initialMargin;
        h.maintenanceMargin = s.maintenanceMargin;
        if (h.equity <= 0) {
            h.marginRatioBps = 0;
        } else if (s.maintenanceMargin == 0) {
            h.marginRatioBps = type(uint256).max;
        } else {
            h.marginRatioBps = EngineMath.mulDiv(uint256(h.equity), EngineMath.BPS, s.maintenanceMargin);
        }
        h.pricesFresh = !v.stale;
        // Liquidation counts a stale or missing price as zero.
        int256 liquidationEquity = EngineMath.toInt256(v.weightedFresh).add(cash).add(s.portfolioValue);
        h.liquidatable = h.reportFresh && _belowThreshold(liquidationEquity, s.maintenanceMargin);
    }

    // ------------------------------------------------------------------ internals: governance

    /// @dev The current value of scalar parameter `kind` (2..7).
    function _param(uint8 kind) internal view returns (uint256) {
        RiskParams memory p = _params;
        if (kind == K_LIQUIDATION_THRESHOLD) return p.liquidationThresholdBps;
        if (kind == K_LIQUIDATION_PENALTY) return p.liquidationPenaltyBps;
        if (kind == K_MAX_REPORT_AGE) return p.maxReportAgeBlocks;
        if (kind == K_MAX_PRICE_AGE) return p.maxPriceAgeBlocks;
        if (kind == K_TIMELOCK_DELAY) return p.timelockDelay;
        return p.liquidationNotionalCapPerBlock;
    }

    /// @dev Whether `change` tightens risk (applies at once). A change equal to the current value is not.
    function _isTightening(ParamChange calldata change) internal view returns (bool) {
        uint8 kind = change.kind;
        uint256 value = change.value;
        if (kind == K_COLLATERAL_WEIGHT) return value < _assets[change.target].weightBps;
        if (kind == K_LIQUIDATION_THRESHOLD || kind == K_TIMELOCK_DELAY) return value > _param(kind);
        if (kind == K_MAX_REPORT_AGE || kind == K_MAX_PRICE_AGE) return value < _param(kind);
        if (kind == K_QUORUM) return value > _quorum;
        if (kind == K_LIQUIDATOR_MARGIN) return value > _losses.liquidatorMarginBps;
        return
            kind == K_REMOVE_KEEPER || kind == K_REMOVE_VENUE || kind == K_BUMP_RISK_EPOCH
                || kind == K_DELIST_COLLATERAL;
    }

    /// @dev The kind's own rules: ZeroAddress, ParameterOutOfBounds, AssetNotListed, AssetAlreadyListed,
    ///      TooManyCollateralAssets, SettlementAssetFixed, KeeperAlreadyRegistered, KeeperNotRegistered,
    ///      TooManyKeepers, QuorumOutOfRange.
    function _checkChange(ParamChange calldata change) internal view {
        uint8 kind = change.kind;
        address target = change.target;
        if (
            kind == K_COLLATERAL_WEIGHT || kind == K_LIST_COLLATERAL
                || (kind >= K_ADD_KEEPER && kind <= K_SET_PAUSE_GUARDIAN) || kind == K_DELIST_COLLATERAL
        ) _nonZero(target);
        _checkBounds(kind, change.value);
        if (kind == K_COLLATERAL_WEIGHT) {
            _onlyListed(target);
        } else if (kind == K_DELIST_COLLATERAL) {
            _onlyListed(target);
            if (target == _settlement.asset) revert SettlementAssetFixed(target);
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
    function _applyChange(ParamChange calldata change, bytes32 id) internal {
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
        } else if (kind == K_SEIZURE_DISCOUNT) {
            _settlement.seizureDiscountBps = uint16(value);
        } else if (kind == K_INSURANCE_SHARE) {
            _settlement.insuranceShareBps = uint16(value);
        } else if (kind == K_LIQUIDATOR_MARGIN) {
            _losses.liquidatorMarginBps = uint16(value);
        } else if (kind == K_DELIST_COLLATERAL) {
            _delist(target);
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
    function _removeKeeper(address keeper) internal {
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
    function _changeId(ParamChange calldata change, uint64 eta) internal pure returns (bytes32) {
        return keccak256(abi.encode(change.kind, change.target, change.value, eta));
    }

    /// @dev Winds `asset` down; once the engine holds none of it, removes it from the list (the others
    ///      keep their order) and clears its info, freeing the slot.
    function _delist(address asset) internal {
        if (_assetTotals[asset] != 0) {
            _windingDown[asset] = true;
            return;
        }
        delete _windingDown[asset];
        delete _assets[asset];
        uint256 n = _assetList.length;
        bool found;
        for (uint256 i; i < n; ++i) {
            address current = _assetList[i];
            if (found) {
                _assetList[i - 1] = current;
            } else if (current == asset) {
                found = true;
            }
        }
        _assetList.pop();
    }
}
