// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    TradeLeg,
    RiskParams,
    CollateralInfo,
    StoredMarginReport
} from "@interfaces/IMarginEngine.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EngineStorage} from "./EngineStorage.sol";
import {EngineAdmin} from "./EngineAdmin.sol";
import {EngineMath} from "./libraries/EngineMath.sol";
import {ReportHashing} from "./libraries/ReportHashing.sol";
import {TokenTransfer} from "./libraries/TokenTransfer.sol";

/// @title The cross-margin engine, Solidity twin of the Stylus contract.
/// @notice Implements `solidity-interfaces/IMarginEngine.sol` call for call: the same errors with the
///         same arguments, the same events in the same order, the same rounding and order of checks.
///         Keepers sign one `ReportBatch` per block; the engine verifies the quorum once per batch,
///         rebuilds the Merkle root from the leaves (or checks one proof against a stored root), values
///         collateral on-chain with governed weights, and gates withdrawals, risk-adding trades and
///         liquidations on fresh reports. Cash settles in the settlement asset (docs/SETTLEMENT.md).
/// @dev This contract holds the hot paths (reports, collateral, cash withdrawals, trades, position
///      liquidation); every other selector of the interface (governance, seizure, repayment, bad
///      debt, views) falls through to `EngineAdmin`, deployed by the constructor and reached by
///      delegatecall on the same storage (`EngineStorage`). The split keeps both under EIP-170.
///      Reentrancy: the Stylus contract rejects every reentrant call with empty revert data (the SDK
///      default). The twin does the same: a transient flag is raised around token calls and every
///      external function (views included) reverts with empty data while it is up.
contract MarginEngine is EngineStorage, EIP712 {
    using EngineMath for int256;

    uint256 private constant SECP256K1N_HALF = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev The governance, settlement and views module (its own storage is never used).
    address private immutable _module;

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
    ) EngineStorage(_arbSysAnswers()) EIP712("CrossMarginEngine", "1") {
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
        // Parallel arrays must have one entry per asset; the first is the settlement asset.
        uint256 n = collateralAssets_.length;
        if (n == 0) revert ParameterOutOfBounds(K_LIST_COLLATERAL, 0, 1, MAX_COLLATERAL_ASSETS);
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
        if (collateralDecimals[0] > 18) revert ParameterOutOfBounds(K_LIST_COLLATERAL, collateralDecimals[0], 0, 18);
        _settlement = SettlementConfig({
            asset: collateralAssets_[0],
            scale: uint64(10 ** (18 - uint256(collateralDecimals[0]))),
            seizureDiscountBps: 500,
            insuranceShareBps: 5_000
        });
        _shares.rate = uint96(EngineMath.E18);
        _losses.liquidatorMarginBps = 1_000;
        for (uint256 i; i < venues.length; ++i) {
            _nonZero(venues[i]);
            _venues[venues[i]] = true;
        }
        _module = address(new EngineAdmin(_ARB_SYS_CLOCK));
    }

    // ------------------------------------------------------------------ block clock

    /// @dev Whether a contract at 0x64 answers `arbBlockNumber()` with one word. On a chain without
    ///      ArbSys the call reaches an empty account: success with no return data. Pure in effect
    ///      (a static call), so the base constructor's argument can be this probe.
    function _arbSysAnswers() private view returns (bool answers) {
        assembly ("memory-safe") {
            mstore(0, shl(224, 0xa3b1b31d))
            // Two statements: Yul evaluates arguments right to left.
            let ok := staticcall(gas(), ARB_SYS, 0, 4, 0, 32)
            answers := and(ok, eq(returndatasize(), 32))
        }
    }

    /// @dev Every selector this contract does not answer runs in `EngineAdmin` on this storage; its
    ///      return or revert data is passed through unchanged.
    fallback() external {
        address module = _module;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ------------------------------------------------------------------ reports

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

    function attestRoot(ReportBatch calldata batch, bytes calldata signatures) external noReentry {
        _checkHeader(batch.riskEpoch, batch.observedBlock);
        _verifyBatch(batch, signatures);
        _storeRoot(batch);
    }

    function postMarginReport(MarginReport calldata report, bytes32 root, bytes32[] calldata proof) external noReentry {
        _checkProven(root, report.observedBlock, true, report.riskEpoch, ReportHashing.marginLeaf(report), proof);
        _applyReport(report, true);
        emit MarginReportProven(report.account, root, report.observedBlock);
    }

    function postPriceReport(PriceReport calldata price, bytes32 root, bytes32[] calldata proof) external noReentry {
        _checkProven(root, price.observedBlock, false, 0, ReportHashing.priceLeaf(price), proof);
        _applyPrice(price, true);
    }

    // ------------------------------------------------------------------ collateral

    function deposit(address asset, uint256 amount) external noReentry {
        if (amount == 0) revert ZeroAmount();
        _onlyListed(asset);
        if (_windingDown[asset]) revert AssetDelisted(asset);
        _balances[msg.sender][asset] = EngineMath.addU(_balances[msg.sender][asset], amount);
        _assetTotals[asset] = EngineMath.addU(_assetTotals[asset], amount);
        _lock(true);
        TokenTransfer.transferFrom(asset, msg.sender, address(this), amount);
        _lock(false);
        emit CollateralDeposited(msg.sender, asset, amount);
    }

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
            _requireInitial(msg.sender, asset, remaining, true, 0);
        }
        _balances[msg.sender][asset] = remaining;
        // The total includes this balance: no underflow.
        unchecked {
            _assetTotals[asset] -= amount;
        }
        _lock(true);
        TokenTransfer.transfer(asset, msg.sender, amount);
        _lock(false);
        emit CollateralWithdrawn(msg.sender, asset, amount);
    }

    // ------------------------------------------------------------------ cash

    function withdrawCash(uint256 amount) external noReentry {
        _whenNotPaused();
        if (amount == 0) revert ZeroAmount();
        SettlementConfig memory cfg = _settlement;
        uint256 cashAmount = EngineMath.mulDiv(amount, cfg.scale, 1);
        Account storage a = _accounts[msg.sender];
        Account memory old = a;
        int256 cash = _cashOf(old);
        if (cash < EngineMath.toInt256(cashAmount)) revert InsufficientCash(msg.sender, cash, cashAmount);
        Reserve memory r = _reserve;
        uint256 available = r.cashReserve > r.insuranceFund ? r.cashReserve - r.insuranceFund : 0;
        if (cashAmount > available) revert InsufficientCashReserve(available, cashAmount);
        if (old.positionsNonce != 0) _requireInitial(msg.sender, address(0), 0, false, -int256(cashAmount));
        _setCash(a, old, cash - int256(cashAmount));
        // cashAmount <= available <= cashReserve.
        _reserve.cashReserve = uint128(r.cashReserve - cashAmount);
        _lock(true);
        TokenTransfer.transfer(cfg.asset, msg.sender, amount);
        _lock(false);
        emit CashWithdrawn(msg.sender, cashAmount, amount);
    }

    // ------------------------------------------------------------------ positions

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
        // Risk-adding legs need a fresh report and equity >= initial margin, pre-trade; a reducing leg
        // of a liquidatable account is refused (it would void pending steps); cash-only legs apply.
        for (uint256 i; i < n; ++i) {
            TradeLeg calldata leg = legs[i];
            int256 before = _positions[leg.account][leg.instrumentId];
            if (_addsRisk(before, before.add(leg.sizeDelta))) {
                _requireInitial(leg.account, address(0), 0, false, 0);
            } else if (leg.sizeDelta != 0) {
                (bool fresh, int256 equity, StoredMarginReport memory s) = _liquidationEquity(leg.account);
                if (fresh && _belowThreshold(equity, s.maintenanceMargin)) revert AccountLiquidatable(leg.account);
            }
        }
        // Apply, in leg order.
        for (uint256 i; i < n; ++i) {
            TradeLeg calldata leg = legs[i];
            _moveLeg(leg.account, leg.instrumentId, leg.sizeDelta, leg.cashDelta);
        }
        emit TradeSettled(msg.sender, n);
    }

    // ------------------------------------------------------------------ liquidation

    /// @dev What a step moves, computed by the checks.
    struct StepAmounts {
        uint256 notional;
        uint256 total;
        uint256 penalty;
        uint256 fundShare;
    }

    function liquidate(LiquidationStep calldata step, bytes32 root, bytes32[] calldata proof) external noReentry {
        _whenNotPaused();
        if (msg.sender == step.account) revert SelfLiquidation(step.account);
        _checkProven(root, step.observedBlock, true, step.riskEpoch, ReportHashing.liquidationLeaf(step), proof);
        StepAmounts memory m = _checkLiquidation(step);
        _executeLiquidation(step, m);
    }

    /// @dev NonceMismatch, StepOlderThanReport, NoFreshReport, NotLiquidatable,
    ///      LiquidationAlreadyThisBlock, LiquidationIncreasesRisk, LiquidationCapExceeded, then the
    ///      liquidator's NoFreshReport, StalePrice, BelowInitialMargin, LiquidatorBelowMaintenance.
    function _checkLiquidation(LiquidationStep calldata step) private view returns (StepAmounts memory m) {
        address account = step.account;
        Account memory a = _accounts[account];
        if (step.positionsNonce != a.positionsNonce) {
            revert NonceMismatch(account, a.positionsNonce, step.positionsNonce);
        }
        uint48 reportBlock = _reports[account].observedBlock;
        if (step.observedBlock < reportBlock) revert StepOlderThanReport(account, reportBlock, step.observedBlock);
        (int256 equity,) = _requireLiquidatable(account);
        if (a.lastLiquidationBlock == uint48(_clock())) revert LiquidationAlreadyThisBlock(account);
        int256 position = _positions[account][step.instrumentId];
        int128 size = step.size;
        if (
            size == 0 || position == 0 || (position < 0) == (size < 0)
                || EngineMath.abs(size) > EngineMath.abs(position)
        ) revert LiquidationIncreasesRisk(account, step.instrumentId, position, size);
        m.notional = EngineMath.mulDiv(EngineMath.abs(size), step.markPrice, EngineMath.E18);
        uint256 cap = _params.liquidationNotionalCapPerBlock;
        uint256 used = _usedThisBlock();
        m.total = EngineMath.addU(used, m.notional);
        if (m.total > cap) revert LiquidationCapExceeded(used, m.notional, cap);
        // The penalty never takes more than the closed share of what is left of the equity.
        m.penalty = EngineMath.mulDiv(m.notional, _params.liquidationPenaltyBps, EngineMath.BPS);
        uint256 penaltyCap =
            equity > 0 ? EngineMath.mulDiv(uint256(equity), EngineMath.abs(size), EngineMath.abs(position)) : 0;
        if (m.penalty > penaltyCap) m.penalty = penaltyCap;
        m.fundShare = EngineMath.mulDiv(m.penalty, _settlement.insuranceShareBps, EngineMath.BPS);
        // The liquidator: before the step, equity >= initial margin; after it (the leg valued at its
        // mark, so only the penalty share moves the equity), equity >= maintenance plus the leg's
        // governed requirement.
        Fresh memory f = _requireInitial(msg.sender, address(0), 0, false, 0);
        int256 equityAfter = f.equity.add(EngineMath.toInt256(m.penalty - m.fundShare));
        uint256 requirementAfter = EngineMath.addU(
            f.maintenanceMargin, EngineMath.mulDiv(m.notional, _losses.liquidatorMarginBps, EngineMath.BPS)
        );
        if (equityAfter < EngineMath.toInt256(requirementAfter)) {
            revert LiquidatorBelowMaintenance(msg.sender, equityAfter, requirementAfter);
        }
    }

    /// @dev Effects: the gate, the account's last step block, both legs (cash: account pays
    ///      transfer + penalty, the liquidator receives it less the fund's share), the fund, then
    ///      LiquidationExecuted and InsuranceFundCredited.
    function _executeLiquidation(LiquidationStep calldata step, StepAmounts memory m) private {
        int256 transfer = EngineMath.signedMulDiv(step.size, step.markPrice, EngineMath.E18);
        int256 paid = transfer.add(EngineMath.toInt256(m.penalty));
        uint48 clock = uint48(_clock());
        _gate = LiquidationGate(clock, uint128(m.total));
        _accounts[step.account].lastLiquidationBlock = clock;
        _moveLeg(step.account, step.instrumentId, step.size, int256(0).sub(paid));
        _moveLeg(msg.sender, step.instrumentId, -int256(step.size), paid.sub(int256(m.fundShare)));
        emit LiquidationExecuted(
            step.account, msg.sender, step.instrumentId, step.size, step.markPrice, m.notional, m.penalty
        );
        if (m.fundShare != 0) {
            Reserve storage r = _reserve;
            uint256 fund = EngineMath.addU(r.insuranceFund, m.fundShare);
            if (fund > type(uint128).max) revert ArithmeticOverflow();
            r.insuranceFund = uint128(fund);
            emit InsuranceFundCredited(step.account, m.fundShare, fund);
        }
    }

    // ------------------------------------------------------------------ views answered here

    /// @dev The EIP-712 domain separator (its cache lives in this contract's immutables).
    function domainSeparator() external view noReentry returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev The engine's block clock (answered here: the hot path's reads and this view share `_clock`).
    function clockBlock() external view noReentry returns (uint256) {
        return _clock();
    }

    // ------------------------------------------------------------------ internals: reports

    // ------------------------------------------------------------------ internals: reports

    /// @dev WrongRiskEpoch(current, epoch), FutureReport, StaleReport.
    function _checkHeader(uint32 epoch, uint48 observed) internal view {
        uint32 current = _riskEpoch;
        if (epoch != current) revert WrongRiskEpoch(current, epoch);
        uint256 clock = _clock();
        if (observed > clock) revert FutureReport(observed, clock);
        _checkAge(observed);
    }

    /// @dev StaleReport if `observed` (never in the future here) is older than maxReportAgeBlocks.
    function _checkAge(uint48 observed) internal view {
        uint256 clock = _clock();
        if (clock > observed && clock - observed > _params.maxReportAgeBlocks) {
            revert StaleReport(observed, clock);
        }
    }

    function _checkLeafBlock(uint48 batchBlock, uint48 leafBlock) internal pure {
        if (leafBlock != batchBlock) revert LeafBlockMismatch(batchBlock, leafBlock);
    }

    function _checkLeafEpoch(uint32 batchEpoch, uint32 leafEpoch) internal pure {
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
    ) internal view {
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
    function _rootInPlace(bytes32[] memory nodes) internal pure returns (bytes32) {
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
    function _verifyBatch(ReportBatch calldata batch, bytes calldata signatures) internal view {
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

    function _storeRoot(ReportBatch calldata batch) internal {
        _roots[batch.root] = Root(batch.observedBlock, batch.riskEpoch);
        emit RootAttested(batch.root, batch.observedBlock, batch.riskEpoch, batch.count);
    }

    /// @dev AssetNotListed, InvalidPrice, then PriceNotNewer (reverts if `strict`, else skipped with
    ///      PriceSkipped). Returns whether the price was stored.
    function _applyPrice(PriceReport calldata p, bool strict) internal returns (bool) {
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
    function _applyReport(MarginReport calldata r, bool strict) internal returns (bool) {
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

    // ------------------------------------------------------------------ internals: positions

    /// @dev Whether moving a position from `before` to `after_` adds risk: its sign flips or its
    ///      absolute size grows.
    function _addsRisk(int256 before, int256 after_) private pure returns (bool) {
        bool flips = (before < 0 && after_ > 0) || (before > 0 && after_ < 0);
        return flips || EngineMath.abs(after_) > EngineMath.abs(before);
    }

    /// @dev Adds `size` to the position and `cashDelta` to the cash, bumps the nonce and counts open
    ///      positions; returns the new position and nonce (ArithmeticOverflow if any of them overflows).
    function _applyPosition(address account, bytes32 id, int256 size, int256 cashDelta)
        private
        returns (int256 position, uint48 nonce)
    {
        int256 before = _positions[account][id];
        position = before.add(size);
        Account storage a = _accounts[account];
        Account memory m = a;
        _setCash(a, m, _cashOf(m).add(cashDelta));
        nonce = m.positionsNonce;
        if (nonce == type(uint48).max) revert ArithmeticOverflow();
        unchecked {
            ++nonce;
        }
        uint16 open = m.openPositions;
        if (before == 0 && position != 0) {
            if (open == type(uint16).max) revert ArithmeticOverflow();
            unchecked {
                ++open;
            }
        } else if (before != 0 && position == 0) {
            // A non-zero position was counted when it opened.
            unchecked {
                --open;
            }
        }
        a.positionsNonce = nonce;
        a.openPositions = open;
        _positions[account][id] = position;
    }

    /// @dev Applies one leg and emits its PositionChanged.
    function _moveLeg(address account, bytes32 id, int256 size, int256 cashDelta) private {
        (int256 newSize, uint48 nonce) = _applyPosition(account, id, size, cashDelta);
        emit PositionChanged(account, id, size, cashDelta, newSize, nonce);
    }
}
