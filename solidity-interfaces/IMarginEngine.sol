// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// =============================================================================================
//  The cross-margin engine's external API: the single source of truth.
//
//  Rust binds this file with `sol!` (contracts/margin-types); the Solidity twin implements it
//  with `@inheritdoc`; the Stylus contract's exported ABI is checked against it in a test.
//
//  Units (everywhere, unless a NatSpec line says otherwise):
//  - USD amounts (cash, portfolio value, margins, notionals): signed or unsigned, 18 decimals.
//  - Collateral prices: USD per one whole token, 18 decimals (a token with `decimals` d is worth
//    `balance * price / 10**d`).
//  - Instrument sizes and mark prices: 18 decimals (1e18 = one contract unit; USD per unit).
//  - Weights, thresholds and penalties: basis points (10_000 = 100%).
//  - Block numbers: the engine's block clock, `clockBlock()`: on an Arbitrum chain the L2 block
//    number (`ArbSys(0x64).arbBlockNumber()`), elsewhere `block.number`, fixed at deployment. On
//    Arbitrum `block.number` (and Stylus's `block_number`) is an estimate of the L1 block number
//    that many L2 blocks share, so it is never used. Every observedBlock, priceBlock,
//    lastLiquidationBlock, "per block" rule and *AgeBlocks window counts in this clock, and keepers
//    sign observedBlock from `clockBlock()` (read at the block they observed), not from
//    eth_blockNumber. On Arbitrum a "block" is therefore an L2 block (produced on demand, at most
//    one per 250 ms on Arbitrum One), not ~12 s of L1 time. The freshness windows stay in clock
//    blocks: a bound in seconds would need the observation time inside the signed types (see
//    docs/stylus.md, "Block clock"). Times: seconds (`block.timestamp`).
//
//  Rounding: every product that is divided is computed at full 512-bit precision and rounded
//  toward zero (OpenZeppelin `Math.mulDiv` semantics); any result that does not fit its type
//  reverts with `ArithmeticOverflow()`.
//
//  EIP-712 domain: EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
//  with name "CrossMarginEngine", version "1", the chain id and the engine's own address.
//
//  Signed types (type strings, exactly):
//    ReportBatch(bytes32 root,uint48 observedBlock,uint32 riskEpoch,uint32 count)
//    PriceReport(address asset,uint128 price,uint48 observedBlock)
//    MarginReport(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,int128 portfolioValue,uint128 initialMargin,uint128 maintenanceMargin)
//    LiquidationStep(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,bytes32 instrumentId,int128 size,uint128 markPrice)
//
//  Keepers sign only `ReportBatch` (digest = keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct)).
//  Its `root` is a Merkle root over leaves
//      leaf = keccak256(abi.encodePacked(uint8 leafKind, bytes32 hashStruct(item)))
//  with leafKind 1 = PriceReport, 2 = MarginReport, 3 = LiquidationStep (the kind byte
//  separates leaf types; a 33-byte preimage can never collide with a 64-byte inner node).
//  Inner nodes hash the sorted pair (OpenZeppelin `Hashes.commutativeKeccak256`); a level with an
//  odd number of nodes carries its last node up unchanged; the root of one leaf is that leaf.
//  Proofs are OpenZeppelin `MerkleProof` proofs (siblings from leaf to root). The leaves of a
//  batch posted whole are ordered: price reports, then margin reports, then `otherLeaves`.
//
//  Quorum signatures: `bytes signatures` is the concatenation of 65-byte (r, s, v) signatures
//  over the batch digest, ordered by strictly ascending signer address (this makes the
//  duplicate check a single comparison and needs no bitmap in calldata). Each must have
//  v in {27, 28}, s <= secp256k1n / 2, recover to a non-zero registered keeper; at least
//  `quorum()` of them are required. Any bad signature reverts the whole call.
//
//  Validity of a batch: observedBlock <= clockBlock(), clockBlock() - observedBlock <=
//  maxReportAgeBlocks, riskEpoch == riskEpoch(), count == number of leaves; every margin report
//  and liquidation step inside carries the batch's observedBlock and riskEpoch, every price report
//  the batch's observedBlock.
//
//  Order of checks (both implementations raise the first failing one, so their reverts agree):
//  postBatch: 1 WrongRiskEpoch(current, batch) 2 FutureReport 3 StaleReport 4 CountMismatch
//    5 per leaf in leaf order: LeafBlockMismatch, then (margin reports) WrongRiskEpoch(batch, leaf)
//    6 RootMismatch 7 signatures: MalformedSignatures, then per signature in order InvalidSignatureV,
//    SignatureSHigh, InvalidSignature, SignersNotAscending, UnknownKeeper 8 QuorumNotMet
//    9 apply prices in order (AssetNotListed, InvalidPrice revert; PriceNotNewer skips)
//    10 apply reports in order (InvalidMarginReport reverts; NonceMismatch, then ReportNotNewer, skip).
//  attestRoot: steps 1, 2, 3, 7, 8 of postBatch.
//  postMarginReport / postPriceReport / liquidate (root part): UnknownRoot, WrongRiskEpoch(current,
//    root's), StaleReport (root's observedBlock), LeafBlockMismatch, WrongRiskEpoch(root's, leaf's)
//    (not for prices), InvalidProof, then the item's own rules in the order postBatch applies them,
//    reverting instead of skipping.
//  The first leaf that breaks a rule decides; signatures are checked after the cheap checks.
//
//  Liquidation valuation: wherever a rule asks whether an account is liquidatable (liquidate,
//  seizeCollateral, settleTrade's AccountLiquidatable, accountHealth.liquidatable), an asset whose
//  price is older than maxPriceAgeBlocks (or that was never priced) counts as zero; it never raises
//  StalePrice there. Withdrawals and risk-adding trades still fail closed with StalePrice.
//
//  Settlement (docs/SETTLEMENT.md is the one-screen summary): the first collateral asset given to the
//  constructor is the settlement asset S (decimals <= 18). Cash is a claim on S at par: 1e18 cash =
//  10**decimals(S) token units; scale = 10**(18 - decimals(S)). Negative cash is debt. The engine
//  keeps a cash reserve (S tokens held for cash: collected debt), an insurance fund (a cash claim)
//  and, for socialised losses, stores an account's positive cash as shares of a global rate:
//  cash = floor(shares * positiveCashRate / 1e18) (rate 1e18 until the first socialised loss; a
//  negative cash is stored as is; shares of an earlier cash epoch, see resolveBadDebt, are worth 0);
//  writing a positive cash c stores floor(c * 1e18 / rate) shares of the current epoch.
//
//  Events per call, in this order:
//  deposit: CollateralDeposited. withdraw: CollateralWithdrawn. withdrawCash: CashWithdrawn.
//  repayDebt: DebtRepaid. seizeCollateral: CollateralSeized. resolveBadDebt: BadDebtResolved.
//  settleTrade: PositionChanged per leg in leg order (newSize and positionsNonce after that leg), then TradeSettled.
//  liquidate: PositionChanged(account, id, size, -transfer - penalty, ...), PositionChanged(liquidator, id,
//    -size, transfer + penalty - fundShare, ...), then LiquidationExecuted, then InsuranceFundCredited
//    (only if fundShare > 0); transfer = size * markPrice / 1e18 (toward zero).
//  postBatch: PriceUpdated or PriceSkipped per price, MarginReportSkipped per skipped report, RootAttested
//    (only with otherLeaves), then BatchPosted. attestRoot: RootAttested. postMarginReport: MarginReportProven.
//    postPriceReport: PriceUpdated.
//  proposeChange: ChangeApplied (then RiskEpochBumped when the kind bumps it) or ChangeQueued.
//  executeChange: ChangeApplied (then RiskEpochBumped). cancelChange: ChangeCancelled.
//  listInstrument: InstrumentListed. pause / unpause: EnginePausedBy / EngineUnpausedBy (both idempotent,
//    and emit even when the state does not change).
//  Executed and cancelled changes are deleted (queuedChangeEta returns 0 for them).
// =============================================================================================

/// @notice The attestation a quorum of keepers signs once per block.
/// @param root Merkle root of the block's leaves (see the file header).
/// @param observedBlock The block whose state the keepers observed.
/// @param riskEpoch The engine's `riskEpoch()` the keepers computed under.
/// @param count Number of leaves under `root`.
struct ReportBatch {
    bytes32 root;
    uint48 observedBlock;
    uint32 riskEpoch;
    uint32 count;
}

/// @notice A collateral price. Leaf kind 1.
/// @param asset The listed collateral token.
/// @param price USD per one whole token, 18 decimals; must be non-zero.
/// @param observedBlock Equal to the batch's observedBlock.
struct PriceReport {
    address asset;
    uint128 price;
    uint48 observedBlock;
}

/// @notice The keepers' margin computation for one account. Leaf kind 2.
/// @param account The account.
/// @param positionsNonce The account's `positionsNonce` the positions were read at.
/// @param riskEpoch Equal to the batch's riskEpoch.
/// @param observedBlock Equal to the batch's observedBlock.
/// @param portfolioValue Mark-to-market of the account's positions, USD 18 decimals (signed).
/// @param initialMargin Requirement to add risk or withdraw, USD 18 decimals; >= maintenanceMargin.
/// @param maintenanceMargin Requirement below which the account is liquidatable, USD 18 decimals.
struct MarginReport {
    address account;
    uint48 positionsNonce;
    uint32 riskEpoch;
    uint48 observedBlock;
    int128 portfolioValue;
    uint128 initialMargin;
    uint128 maintenanceMargin;
}

/// @notice One partial-liquidation leg signed by the quorum. Leaf kind 3.
/// @param account The account being liquidated.
/// @param positionsNonce The account's `positionsNonce` the step was planned at.
/// @param riskEpoch Equal to the batch's riskEpoch.
/// @param observedBlock Equal to the batch's observedBlock.
/// @param instrumentId The position to reduce.
/// @param size Signed size added to the account's position (opposite sign to it, |size| <= |position|);
///        the liquidator's position changes by -size.
/// @param markPrice USD per unit, 18 decimals, at which the leg changes hands.
struct LiquidationStep {
    address account;
    uint48 positionsNonce;
    uint32 riskEpoch;
    uint48 observedBlock;
    bytes32 instrumentId;
    int128 size;
    uint128 markPrice;
}

/// @notice One leg of a venue trade. Legs of a batch are sorted by (instrumentId, account), strictly
///         ascending, so each account appears once per instrument.
/// @param account The party.
/// @param instrumentId A listed instrument.
/// @param sizeDelta Signed change of the party's position, 18 decimals.
/// @param cashDelta Signed change of the party's cash, USD 18 decimals (premium, price, fees).
struct TradeLeg {
    address account;
    bytes32 instrumentId;
    int128 sizeDelta;
    int128 cashDelta;
}

/// @notice A governance change. See `proposeChange` for the kinds and their bounds.
/// @param kind The parameter (0..20, see IMarginEngine).
/// @param target The asset, keeper, venue or role holder the change is about (zero if none).
/// @param value The new value (zero if none).
struct ParamChange {
    uint8 kind;
    address target;
    uint256 value;
}

/// @notice Scalar risk parameters (all governed, all bounded).
struct RiskParams {
    uint16 liquidationThresholdBps;
    uint16 liquidationPenaltyBps;
    uint32 maxReportAgeBlocks;
    uint32 maxPriceAgeBlocks;
    uint32 timelockDelay;
    uint128 liquidationNotionalCapPerBlock;
}

/// @notice A listed collateral asset.
struct CollateralInfo {
    bool listed;
    uint8 decimals;
    uint16 weightBps;
    uint128 price;
    uint48 priceBlock;
}

/// @notice The margin report the engine holds for an account.
struct StoredMarginReport {
    int128 portfolioValue;
    uint48 observedBlock;
    uint32 riskEpoch;
    uint48 positionsNonce;
    uint128 initialMargin;
    uint128 maintenanceMargin;
}

/// @notice An account's health as the engine sees it now.
/// @param weightedCollateralValue Σ floor(floor(balance * price / 10**decimals) * weightBps / 10_000).
/// @param cash Signed cash: realised P&L (trades, funding), liquidation transfers and penalties, debt
///        repaid or collected, cash withdrawn; a claim on the settlement asset at par (negative: debt).
/// @param equity weightedCollateralValue + cash + portfolioValue.
/// @param marginRatioBps equity * 10_000 / maintenanceMargin (0 if equity <= 0; max uint if maintenanceMargin == 0).
/// @param reportFresh The stored report matches positionsNonce and riskEpoch and is within maxReportAgeBlocks.
/// @param pricesFresh Every asset the account holds has a price within maxPriceAgeBlocks.
/// @param liquidatable reportFresh && equity' * 10_000 < maintenanceMargin * liquidationThresholdBps, where
///        equity' is equity with every asset whose price is stale or missing valued at zero.
struct AccountHealth {
    uint256 weightedCollateralValue;
    int256 cash;
    int256 portfolioValue;
    int256 equity;
    uint256 initialMargin;
    uint256 maintenanceMargin;
    uint256 marginRatioBps;
    bool reportFresh;
    bool pricesFresh;
    bool liquidatable;
}

/// @notice Settlement-wide state (see the file header and docs/SETTLEMENT.md).
/// @param settlementAsset S: the first collateral asset of the constructor; never delisted.
/// @param cashReserve S held for cash (collected debt), in cash units (18 decimals): Σ cash + insuranceFund,
///        up to rounding dust in the reserve's favour.
/// @param insuranceFund The fund's cash claim, fed by insuranceShareBps of every liquidation penalty.
/// @param socialisedLoss Cumulative bad debt the fund could not cover, spread over positive cash.
/// @param totalPositiveCash floor(Σ positive-cash shares * positiveCashRate / 1e18).
/// @param positiveCashRate Cash per share of positive cash, 18 decimals; starts at 1e18, only falls.
/// @param seizureDiscountBps Governed discount of seized collateral (kind 17), before the per-asset cap.
/// @param insuranceShareBps Governed share of each penalty paid to the fund (kind 18).
/// @param liquidatorMarginBps Governed post-step requirement of a liquidator per notional taken over (kind 19).
struct SettlementState {
    address settlementAsset;
    uint256 cashReserve;
    uint256 insuranceFund;
    uint256 socialisedLoss;
    uint256 totalPositiveCash;
    uint256 positiveCashRate;
    uint16 seizureDiscountBps;
    uint16 insuranceShareBps;
    uint16 liquidatorMarginBps;
}

/// @title Errors of the margin engine. Every revert is one of these; none carries a string.
interface IMarginEngineErrors {
    // --- access ---
    /// @notice The caller is not the admin (the governance Safe).
    error NotAdmin(address caller);
    /// @notice The caller is neither the risk council nor the admin.
    error NotRiskCouncilOrAdmin(address caller);
    /// @notice The caller is neither the pause guardian nor the admin.
    error NotPauseGuardianOrAdmin(address caller);
    /// @notice The caller is not an authorized venue.
    error NotVenue(address caller);
    /// @notice The engine is paused (trades, withdrawals and liquidations stop).
    error EnginePaused();
    /// @notice An address parameter must not be zero.
    error ZeroAddress();
    /// @notice A fixed-point result does not fit its type.
    error ArithmeticOverflow();

    // --- quorum signatures ---
    /// @notice `signatures` is empty or not a multiple of 65 bytes.
    error MalformedSignatures(uint256 length);
    /// @notice A signature's v is not 27 or 28.
    error InvalidSignatureV(uint256 index, uint8 v);
    /// @notice A signature's s is above secp256k1n / 2 (EIP-2 malleability).
    error SignatureSHigh(uint256 index, bytes32 s);
    /// @notice ecrecover returned no address (or the zero address) for a signature.
    error InvalidSignature(uint256 index);
    /// @notice Signers are not in strictly ascending order (this also rejects a repeated signer).
    error SignersNotAscending(address previous, address signer);
    /// @notice A signer is not a registered keeper.
    error UnknownKeeper(address signer);
    /// @notice Fewer valid distinct keeper signatures than the quorum.
    error QuorumNotMet(uint256 signers, uint256 quorum);

    // --- batches and reports ---
    /// @notice The batch or report was computed under another risk epoch.
    error WrongRiskEpoch(uint32 expected, uint32 provided);
    /// @notice observedBlock is older than maxReportAgeBlocks.
    error StaleReport(uint48 observedBlock, uint256 currentBlock);
    /// @notice observedBlock is in the future.
    error FutureReport(uint48 observedBlock, uint256 currentBlock);
    /// @notice A leaf's observedBlock differs from its batch's.
    error LeafBlockMismatch(uint48 batchBlock, uint48 leafBlock);
    /// @notice The batch's signed count differs from the number of leaves supplied.
    error CountMismatch(uint32 signedCount, uint256 leaves);
    /// @notice The root rebuilt from the supplied leaves differs from the signed root.
    error RootMismatch(bytes32 signedRoot, bytes32 computedRoot);
    /// @notice The root was never attested by a quorum.
    error UnknownRoot(bytes32 root);
    /// @notice The Merkle proof does not lead from the leaf to the root.
    error InvalidProof(bytes32 root, bytes32 leaf);
    /// @notice The report or step was computed for other positions than the account holds now.
    error NonceMismatch(address account, uint48 expected, uint48 provided);
    /// @notice The engine already holds a report for the account observed at the same or a later block.
    error ReportNotNewer(address account, uint48 storedBlock, uint48 observedBlock);
    /// @notice A margin report with initialMargin < maintenanceMargin.
    error InvalidMarginReport(address account);
    /// @notice The engine already holds a price for the asset observed at the same or a later block.
    error PriceNotNewer(address asset, uint48 storedBlock, uint48 observedBlock);
    /// @notice A price report with price zero.
    error InvalidPrice(address asset);
    /// @notice The account has no report matching its positionsNonce, the riskEpoch and maxReportAgeBlocks.
    error NoFreshReport(address account);
    /// @notice An asset the account holds has no price within maxPriceAgeBlocks.
    error StalePrice(address asset, uint48 priceBlock);

    // --- collateral ---
    /// @notice The asset is not listed as collateral.
    error AssetNotListed(address asset);
    /// @notice Amounts must be non-zero.
    error ZeroAmount();
    /// @notice Withdrawal above the account's balance of the asset.
    error InsufficientCollateral(address account, address asset, uint256 balance, uint256 amount);
    /// @notice The token call reverted or returned false.
    error TokenTransferFailed(address token);
    /// @notice The action would leave (or finds) equity below the initial margin.
    error BelowInitialMargin(address account, int256 equity, uint256 initialMargin);
    /// @notice The asset is winding down after a delisting: no new deposits.
    error AssetDelisted(address asset);
    /// @notice The settlement asset cannot be delisted.
    error SettlementAssetFixed(address asset);

    // --- settlement ---
    /// @notice A cash withdrawal above the account's positive cash (`amount` in cash units).
    error InsufficientCash(address account, int256 cash, uint256 amount);
    /// @notice The cash reserve above the insurance fund cannot pay `amount` (cash units) now.
    error InsufficientCashReserve(uint256 available, uint256 amount);
    /// @notice The account has no debt (its cash is not negative).
    error NoDebt(address account);
    /// @notice A repayment or seizure above the account's debt (both in cash units).
    error RepayExceedsDebt(address account, uint256 debt, uint256 amount);
    /// @notice Collateral must be seized in order: `expected` (zero if nothing is seizable).
    error SeizureOutOfOrder(address asset, address expected);
    /// @notice The account still holds positions or weighted collateral: its debt is not bad debt yet.
    error NotBadDebt(address account);

    // --- positions ---
    /// @notice A trade with no legs.
    error EmptyTrade();
    /// @notice The instrument is not listed.
    error InstrumentNotListed(bytes32 instrumentId);
    /// @notice The instrument is listed already.
    error InstrumentAlreadyListed(bytes32 instrumentId);
    /// @notice Legs are not sorted by (instrumentId, account) strictly ascending; `index` is the first offender.
    error LegsNotSorted(uint256 index);
    /// @notice The sizes of an instrument's legs do not sum to zero.
    error SizeNotConserved(bytes32 instrumentId, int256 imbalance);
    /// @notice The cash deltas of a trade do not sum to zero.
    error CashNotConserved(int256 imbalance);

    // --- liquidation ---
    /// @notice An account cannot liquidate itself.
    error SelfLiquidation(address account);
    /// @notice The account is at or above its liquidation threshold (or has no fresh report).
    error NotLiquidatable(address account, int256 equity, uint256 maintenanceRequirement);
    /// @notice The account was already liquidated in this block.
    error LiquidationAlreadyThisBlock(address account);
    /// @notice The step would not reduce the position (wrong sign, or larger than the position).
    error LiquidationIncreasesRisk(address account, bytes32 instrumentId, int256 position, int128 size);
    /// @notice The step would exceed the global per-block liquidation notional cap.
    error LiquidationCapExceeded(uint256 usedThisBlock, uint256 notional, uint256 cap);
    /// @notice The step was observed before the account's latest stored report.
    error StepOlderThanReport(address account, uint48 reportBlock, uint48 stepBlock);
    /// @notice After the step the liquidator's equity would be below its maintenance requirement plus
    ///         liquidatorMarginBps of the notional taken over.
    error LiquidatorBelowMaintenance(address liquidator, int256 equityAfter, uint256 requirementAfter);
    /// @notice The account is liquidatable: it cannot change its positions through a venue.
    error AccountLiquidatable(address account);

    // --- governance ---
    /// @notice A parameter value outside its hard bounds.
    error ParameterOutOfBounds(uint8 kind, uint256 value, uint256 min, uint256 max);
    /// @notice A change kind the engine does not know.
    error UnknownChangeKind(uint8 kind);
    /// @notice The same change with the same eta is queued already.
    error ChangeAlreadyQueued(bytes32 changeId);
    /// @notice No such change is queued.
    error ChangeNotQueued(bytes32 changeId);
    /// @notice The change's timelock has not elapsed.
    error TimelockNotElapsed(bytes32 changeId, uint64 eta);
    /// @notice The change was not executed within GRACE_PERIOD after its eta.
    error ChangeExpired(bytes32 changeId, uint64 eta);
    /// @notice The keeper is registered already.
    error KeeperAlreadyRegistered(address keeper);
    /// @notice The address is not a registered keeper.
    error KeeperNotRegistered(address keeper);
    /// @notice The keeper set is full.
    error TooManyKeepers(uint256 max);
    /// @notice The quorum must satisfy 1 <= quorum <= number of keepers.
    error QuorumOutOfRange(uint256 quorum, uint256 keepers);
    /// @notice The asset is listed already.
    error AssetAlreadyListed(address asset);
    /// @notice The collateral list is full.
    error TooManyCollateralAssets(uint256 max);
}

/// @title Events of the margin engine. Keepers index these to rebuild every account's portfolio.
interface IMarginEngineEvents {
    /// @notice Collateral credited to `account`.
    event CollateralDeposited(address indexed account, address indexed asset, uint256 amount);
    /// @notice Collateral paid out to `account`.
    event CollateralWithdrawn(address indexed account, address indexed asset, uint256 amount);
    /// @notice A position changed (venue trade or liquidation); `positionsNonce` is the account's new nonce.
    event PositionChanged(
        address indexed account,
        bytes32 indexed instrumentId,
        int256 sizeDelta,
        int256 cashDelta,
        int256 newSize,
        uint48 positionsNonce
    );
    /// @notice A venue settled a trade of `legs` legs.
    event TradeSettled(address indexed venue, uint256 legs);
    /// @notice A quorum-signed root was stored for later proofs.
    event RootAttested(bytes32 indexed root, uint48 observedBlock, uint32 riskEpoch, uint32 count);
    /// @notice A whole batch was posted; counts of what was applied and what was skipped.
    event BatchPosted(
        bytes32 indexed root, uint48 observedBlock, uint256 pricesAccepted, uint256 reportsAccepted, uint256 skipped
    );
    /// @notice A margin report proven against a stored root was accepted.
    event MarginReportProven(address indexed account, bytes32 indexed root, uint48 observedBlock);
    /// @notice A margin report inside a batch was skipped; `reason` is the selector of the error it would raise.
    event MarginReportSkipped(address indexed account, bytes4 reason);
    /// @notice A price inside a batch was skipped; `reason` is the selector of the error it would raise.
    event PriceSkipped(address indexed asset, bytes4 reason);
    /// @notice A collateral price was stored.
    event PriceUpdated(address indexed asset, uint128 price, uint48 observedBlock);
    /// @notice A liquidation step was executed.
    event LiquidationExecuted(
        address indexed account,
        address indexed liquidator,
        bytes32 indexed instrumentId,
        int128 size,
        uint128 markPrice,
        uint256 notional,
        uint256 penalty
    );
    /// @notice A loosening change was queued behind the timelock.
    event ChangeQueued(bytes32 indexed changeId, uint8 indexed kind, address target, uint256 value, uint64 eta);
    /// @notice A change took effect (at once if tightening, or on execution).
    event ChangeApplied(bytes32 indexed changeId, uint8 indexed kind, address target, uint256 value);
    /// @notice A queued change was cancelled.
    event ChangeCancelled(bytes32 indexed changeId);
    /// @notice Every stored margin report and root is void from now on; keepers must recompute.
    event RiskEpochBumped(uint32 riskEpoch);
    /// @notice An instrument was listed; `spec` is the keepers' pricing spec (JSON bytes).
    event InstrumentListed(bytes32 indexed instrumentId, bytes spec);
    /// @notice The engine was paused.
    event EnginePausedBy(address indexed by);
    /// @notice The engine was unpaused.
    event EngineUnpausedBy(address indexed by);
    /// @notice Positive cash paid out in the settlement asset (`cashAmount` 18 decimals, `tokenAmount` in S units).
    event CashWithdrawn(address indexed account, uint256 cashAmount, uint256 tokenAmount);
    /// @notice The account repaid `cashAmount` of debt from its own settlement-asset balance.
    event DebtRepaid(address indexed account, uint256 cashAmount);
    /// @notice `seized` units of `asset` left `account` (to `liquidator`, or into the cash reserve if
    ///         `asset` is the settlement asset) and `debtRepaid` (cash units) of its debt was repaid.
    event CollateralSeized(
        address indexed account, address indexed liquidator, address indexed asset, uint256 seized, uint256 debtRepaid
    );
    /// @notice A liquidation penalty paid `amount` into the insurance fund, now `fundBalance`.
    event InsuranceFundCredited(address indexed account, uint256 amount, uint256 fundBalance);
    /// @notice An account's bad debt was written off: `coveredByFund` from the insurance fund, the rest
    ///         `socialised` over positive cash pro rata (positiveCashRate is now `positiveCashRate`).
    event BadDebtResolved(
        address indexed account, uint256 debt, uint256 coveredByFund, uint256 socialised, uint256 positiveCashRate
    );
}

/// @title The cross-margin engine.
/// @notice Constructor (both implementations):
///         `constructor(address admin, address riskCouncil, address pauseGuardian, address[] keepers,
///          uint8 quorum, RiskParams params, address[] collateralAssets, uint8[] collateralDecimals,
///          uint16[] collateralWeightsBps, address[] venues)` with every bound below enforced.
///         `collateralAssets[0]` is the settlement asset: at least one asset must be given
///         (else ParameterOutOfBounds(1, 0, 1, 16)) and its decimals must be <= 18 (else
///         ParameterOutOfBounds(1, decimals, 0, 18)). The settlement parameters start at
///         seizureDiscountBps 500, insuranceShareBps 5_000, liquidatorMarginBps 1_000, positiveCashRate 1e18.
///
/// Governance change kinds (`ParamChange.kind`), their bounds and direction. "Tightening"
/// changes apply at once when the admin or the risk council proposes them; all others are queued
/// by the admin behind `timelockDelay` seconds, then executable by anyone within GRACE_PERIOD
/// (14 days), and cancellable by the admin, or by the risk council unless the change is a role
/// change (kinds 13 and 15: only the admin cancels those).
///  0 CollateralWeight(target = asset, value = bps in [0, 10_000]); tightening if lower.
///  1 ListCollateral(target = asset, value = decimals in [0, 36]); listed with weight 0; always queued
///    (admin); at most 16 assets (checked on proposal and again on execution).
///  2 LiquidationThreshold(value = bps in [10_000, 20_000]); tightening if higher.
///  3 LiquidationPenalty(value = bps in [0, 1_500]); always queued.
///  4 MaxReportAge(value = blocks in [1, 100_000]); tightening if lower.
///  5 MaxPriceAge(value = blocks in [1, 100_000]); tightening if lower.
///  6 LiquidationNotionalCap(value = USD 18 decimals in [1e18, 1e30]); always queued.
///  7 TimelockDelay(value = seconds in [60, 2_592_000]); tightening if higher.
///  8 Quorum(value in [1, keepers]); tightening if higher (bumps riskEpoch).
///  9 AddKeeper(target); queued; at most 32 keepers.
/// 10 RemoveKeeper(target); tightening (bumps riskEpoch); keepers must stay >= quorum.
/// 11 AddVenue(target); queued.   12 RemoveVenue(target); tightening.
/// 13 SetAdmin(target), 15 SetPauseGuardian(target); queued.
/// 14 SetRiskCouncil(target); admin only, applied at once (`applied` = true): the admin removes a
///    rogue council without a timelock the council could cancel.
/// 16 BumpRiskEpoch(value = 0); tightening (voids every stored report and root).
/// 17 SeizureDiscount(value = bps in [0, 2_000]); always queued.
/// 18 InsuranceShare(value = bps in [0, 10_000]); always queued.
/// 19 LiquidatorMargin(value = bps in [100, 10_000]); tightening if higher.
/// 20 DelistCollateral(target = asset, value = 0); tightening. Not the settlement asset
///    (SettlementAssetFixed). The asset winds down: deposits revert AssetDelisted; balances keep
///    their value and weight until governance lowers it (kind 0, at once); withdrawals and seizure go on.
///    If the engine holds none of it (collateralStatus), it leaves collateralAssets() at once (the
///    others keep their order), its CollateralInfo is cleared and its slot is free; otherwise proposing
///    kind 20 again once it is drained removes it.
interface IMarginEngine is IMarginEngineErrors, IMarginEngineEvents {
    // ------------------------------------------------------------------ reports (keepers, anyone)

    /// @notice Post a whole quorum-signed batch: prices and margin reports are applied, the root is
    ///         rebuilt from all leaves (no proofs in calldata). Anyone may submit.
    /// @dev Reverts on any batch-level failure (signatures, quorum, freshness, epoch, count, root,
    ///      a leaf's block or epoch, zero price, initialMargin < maintenanceMargin). A report whose
    ///      account state moved on (NonceMismatch, ReportNotNewer) or a price that is not newer
    ///      (PriceNotNewer) is skipped with MarginReportSkipped / PriceSkipped, so a trade landing
    ///      between computation and inclusion cannot void everybody else's report.
    /// @param otherLeaves Leaf hashes of items this call does not apply (liquidation steps). If any,
    ///        the root is stored as by `attestRoot`.
    function postBatch(
        ReportBatch calldata batch,
        bytes calldata signatures,
        PriceReport[] calldata prices,
        MarginReport[] calldata reports,
        bytes32[] calldata otherLeaves
    ) external;

    /// @notice Verify a quorum-signed batch and store its root, for proofs of single items.
    function attestRoot(ReportBatch calldata batch, bytes calldata signatures) external;

    /// @notice Apply one margin report proven against a stored root (current epoch, fresh).
    /// @dev Reverts (never skips) on every rule of `postBatch`, plus UnknownRoot and InvalidProof.
    function postMarginReport(MarginReport calldata report, bytes32 root, bytes32[] calldata proof) external;

    /// @notice Apply one price report proven against a stored root (fresh).
    function postPriceReport(PriceReport calldata price, bytes32 root, bytes32[] calldata proof) external;

    // ------------------------------------------------------------------ collateral (traders)

    /// @notice Move `amount` of a listed `asset` from the caller into its account. Allowed while paused.
    /// @dev Tokens that return no boolean are accepted; a false return or a revert gives TokenTransferFailed.
    ///      Fee-on-transfer tokens are not supported (governance must not list them).
    ///      Check order: ZeroAmount, AssetNotListed, AssetDelisted, TokenTransferFailed.
    function deposit(address asset, uint256 amount) external;

    /// @notice Pay `amount` of `asset` out to the caller.
    /// @dev An account whose positionsNonce is 0 (it never held a position) needs no report. Any other
    ///      account needs a fresh report, fresh prices for every asset it holds after the withdrawal,
    ///      and equity after the withdrawal >= initialMargin (else BelowInitialMargin).
    ///      Check order: EnginePaused, ZeroAmount, AssetNotListed, InsufficientCollateral, NoFreshReport,
    ///      StalePrice, BelowInitialMargin, TokenTransferFailed. Allowed for a winding-down asset.
    function withdraw(address asset, uint256 amount) external;

    // ------------------------------------------------------------------ settlement (traders, anyone)

    /// @notice Pay `amount` units of the settlement asset out of the caller's positive cash (realised
    ///         profit), debiting cashAmount = amount * scale. Margin-gated like `withdraw`.
    /// @dev Paid from the cash reserve: available = cashReserve - insuranceFund (0 if negative), so the
    ///      fund's claim stays backed and no payout ever uses collateral that belongs to an account.
    ///      An account whose positionsNonce is not 0 needs a fresh report, fresh prices for every asset
    ///      it holds and equity - cashAmount >= initialMargin.
    ///      Check order: EnginePaused, ZeroAmount, InsufficientCash(account, cash, cashAmount),
    ///      InsufficientCashReserve(available, cashAmount), NoFreshReport, StalePrice,
    ///      BelowInitialMargin(account, equity - cashAmount, initialMargin), TokenTransferFailed.
    ///      Effects: cash -= cashAmount, cashReserve -= cashAmount; CashWithdrawn.
    function withdrawCash(uint256 amount) external;

    /// @notice Repay debt with `amount` units of the caller's own settlement-asset balance, at par
    ///         (cashAmount = amount * scale). Allowed while paused; needs no report.
    /// @dev Check order: ZeroAmount, NoDebt, InsufficientCollateral(account, S, balance, amount),
    ///      RepayExceedsDebt(account, debt, cashAmount). Effects: balance -= amount, cash += cashAmount,
    ///      cashReserve += cashAmount; DebtRepaid.
    function repayDebt(uint256 amount) external;

    /// @notice Collect a liquidatable account's debt from its collateral, in order: first its own
    ///         settlement-asset balance (at par: nothing is paid to or by the caller), then the held
    ///         asset with a fresh price and the highest weightBps (earliest listed on a tie), as the
    ///         keepers' planner orders. For a non-settlement asset the caller is a liquidator: it pays
    ///         `amount` units of S (transferFrom) and receives seized = min(balance,
    ///         floor(cashAmount * 10**decimals * 10_000 / (price * (10_000 - discount)))) of `asset`,
    ///         where discount = min(seizureDiscountBps, 10_000 - weightBps): the account's equity never
    ///         falls, since the discount never exceeds the asset's haircut (taking the whole balance
    ///         for a little more is allowed, so no dust is left behind).
    /// @param amount For S: units of the account's S balance to apply. Otherwise: units of S the
    ///        caller pays. Either way cashAmount = amount * scale is repaid (<= the debt).
    /// @dev The account's stored report must be fresh (it needs no new report after a seizure: the
    ///      positions nonce does not change) and show it liquidatable (stale prices count as zero).
    ///      A non-settlement seizure is a liquidation step: one per account per block (shared with
    ///      `liquidate`), and cashAmount counts against liquidationNotionalCapPerBlock.
    ///      Check order: EnginePaused, SelfLiquidation, ZeroAmount, AssetNotListed, NoFreshReport(account),
    ///      NotLiquidatable, NoDebt, SeizureOutOfOrder(asset, expected); then for S:
    ///      InsufficientCollateral(account, S, balance, amount), RepayExceedsDebt; otherwise:
    ///      LiquidationAlreadyThisBlock, RepayExceedsDebt, LiquidationCapExceeded(used, cashAmount, cap),
    ///      TokenTransferFailed(S) (pay-in), TokenTransferFailed(asset) (pay-out).
    ///      Effects: balance -= seized, cash += cashAmount, cashReserve += cashAmount (and for a
    ///      non-settlement asset the gate and lastLiquidationBlock); CollateralSeized.
    function seizeCollateral(address account, address asset, uint256 amount) external;

    /// @notice Write off an account's bad debt: it holds no open position and no balance of any asset
    ///         with a non-zero weight (everything of value has been taken over or seized). The
    ///         insurance fund covers covered = min(debt, insuranceFund); the rest is socialised pro rata
    ///         over every positive cash: positiveCashRate -= cut, cut = ceil(socialised * 1e18 / totalShares)
    ///         (with no positive cash the rate is unchanged). If rate - cut would fall below 1e9 (the
    ///         loss leaves less than 1e9 / rate of the positive cash), a new cash epoch starts instead: every
    ///         positive cash held so far is worth 0, totalShares = 0, the rate restarts at 1e18. The
    ///         account's cash becomes 0; socialisedLoss += socialised. Anyone may call; no report is needed.
    /// @dev Check order: EnginePaused, NoDebt, NotBadDebt. BadDebtResolved.
    function resolveBadDebt(address account) external;

    // ------------------------------------------------------------------ positions (venues)

    /// @notice Settle a venue trade. Only authorized venues; not while paused.
    /// @dev Legs sorted by (instrumentId, account) strictly ascending; sizes conserved per instrument,
    ///      cash conserved over the trade. A leg adds risk if it flips the position's sign or grows
    ///      its absolute size; its account must then hold a fresh report with pre-trade equity >=
    ///      initialMargin. A reducing leg (sizeDelta != 0) of an account whose report is fresh and
    ///      shows it liquidatable is refused (AccountLiquidatable), so a dust trade cannot bump the
    ///      nonce and void pending liquidation steps. A leg with sizeDelta 0 (funding, fees: cash only)
    ///      always applies. Every leg bumps its account's positionsNonce. cashDelta is realised P&L.
    ///      Check order: NotVenue, EnginePaused, EmptyTrade; then per leg LegsNotSorted(index),
    ///      InstrumentNotListed, and SizeNotConserved when an instrument's group ends; CashNotConserved;
    ///      then per leg in leg order: if risk-adding NoFreshReport, StalePrice, BelowInitialMargin,
    ///      else if sizeDelta != 0 AccountLiquidatable (pre-trade state);
    ///      then the legs are applied in order (ArithmeticOverflow if a position or cash overflows).
    function settleTrade(TradeLeg[] calldata legs) external;

    // ------------------------------------------------------------------ liquidation (anyone)

    /// @notice Execute a quorum-signed liquidation step; the caller is the liquidator and takes the leg
    ///         over at markPrice, receiving the penalty less the insurance fund's share, in cash.
    /// @dev notional = |size| * markPrice / 1e18. Requires: not paused; caller != account; the root
    ///      stored, of the current epoch and fresh; the step's block/epoch equal the root's; a valid
    ///      proof; step.positionsNonce == the account's; step.observedBlock >= the observedBlock of the
    ///      account's stored report (a liquidator cannot pick an older step's mark); the account's fresh
    ///      report shows it liquidatable (stale prices count as zero: an unpriced asset cannot block);
    ///      no earlier step for the account in this block; size non-zero, of the opposite sign to the
    ///      position and |size| <= |position|; the block's liquidated notional plus this one within
    ///      liquidationNotionalCapPerBlock; the liquidator holding a fresh report (fresh prices) with
    ///      equity >= initialMargin, and after the step
    ///      equity + penalty - fundShare >= maintenanceMargin + notional * liquidatorMarginBps / 10_000
    ///      (the leg is valued at markPrice, so the takeover itself moves the liquidator's equity only
    ///      by its penalty share; liquidatorMarginBps stands for the leg's requirement).
    ///      Amounts: penalty = min(notional * liquidationPenaltyBps / 10_000, cap), where cap =
    ///      equity * |size| / |position| if the account's (liquidation) equity is positive, else 0
    ///      (a penalty never takes more than the closed share of what is left);
    ///      fundShare = penalty * insuranceShareBps / 10_000. Cash: account += -transfer - penalty;
    ///      liquidator += transfer + penalty - fundShare; insuranceFund += fundShare. Both accounts'
    ///      positionsNonce is bumped.
    ///      Check order: EnginePaused, SelfLiquidation, the root part (file header), InvalidProof,
    ///      NonceMismatch, StepOlderThanReport, NoFreshReport(account), NotLiquidatable,
    ///      LiquidationAlreadyThisBlock, LiquidationIncreasesRisk, LiquidationCapExceeded, then the
    ///      liquidator's NoFreshReport, StalePrice, BelowInitialMargin, LiquidatorBelowMaintenance.
    function liquidate(LiquidationStep calldata step, bytes32 root, bytes32[] calldata proof) external;

    // ------------------------------------------------------------------ governance

    /// @notice Propose a change (see the kinds above). Tightening: admin or risk council, applied at once
    ///         (`applied` = true). Otherwise: admin only, queued with eta = block.timestamp + timelockDelay.
    /// @return changeId keccak256(abi.encode(kind, target, value, eta)), eta = block.timestamp if applied.
    /// @dev Check order: UnknownChangeKind; the role for the change's direction (NotRiskCouncilOrAdmin
    ///      for tightening, NotAdmin otherwise); then the kind's own rules (ZeroAddress,
    ///      ParameterOutOfBounds, AssetNotListed, AssetAlreadyListed, TooManyCollateralAssets,
    ///      SettlementAssetFixed, KeeperAlreadyRegistered, KeeperNotRegistered, TooManyKeepers,
    ///      QuorumOutOfRange); then ChangeAlreadyQueued. A change equal to the current value is not
    ///      tightening. Kind 14 needs the admin (NotAdmin) and is applied at once.
    function proposeChange(ParamChange calldata change) external returns (bytes32 changeId, bool applied);

    /// @notice Execute a queued change once its eta has passed (anyone). Bounds are checked again.
    /// @dev Check order: ChangeNotQueued, TimelockNotElapsed (block.timestamp < eta), ChangeExpired
    ///      (block.timestamp > eta + GRACE_PERIOD), then the kind's own rules as in proposeChange.
    function executeChange(ParamChange calldata change, uint64 eta) external;

    /// @notice Cancel a queued change: the admin, or the risk council unless it is a role change.
    /// @dev Check order: NotRiskCouncilOrAdmin, ChangeNotQueued, NotAdmin (the council on kind 13 or 15).
    function cancelChange(bytes32 changeId) external;

    /// @notice List an instrument (admin, at once: trading it still needs margin reports that price it).
    function listInstrument(bytes32 instrumentId, bytes calldata spec) external;

    /// @notice Pause trades, withdrawals and liquidations (pause guardian or admin).
    function pause() external;

    /// @notice Unpause (admin).
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice The EIP-712 domain separator for this chain and this engine.
    function domainSeparator() external view returns (bytes32);
    /// @notice The current risk epoch; reports of other epochs do not count.
    function riskEpoch() external view returns (uint32);
    /// @notice Registered keepers, in registration order.
    function keepers() external view returns (address[] memory);
    /// @notice Signatures needed per batch.
    function quorum() external view returns (uint8);
    /// @notice Current scalar risk parameters.
    function riskParams() external view returns (RiskParams memory);
    /// @notice admin, risk council, pause guardian.
    function roles() external view returns (address admin, address riskCouncil, address pauseGuardian);
    /// @notice Whether the engine is paused.
    function paused() external view returns (bool);
    /// @notice Whether `venue` may settle trades.
    function isVenue(address venue) external view returns (bool);
    /// @notice Whether `instrumentId` is listed.
    function isInstrumentListed(bytes32 instrumentId) external view returns (bool);
    /// @notice Listed collateral assets, in listing order.
    function collateralAssets() external view returns (address[] memory);
    /// @notice Listing, weight and last price of `asset`.
    function collateralInfo(address asset) external view returns (CollateralInfo memory);
    /// @notice `account`'s balance of `asset`, in token units.
    function collateralBalance(address account, address asset) external view returns (uint256);
    /// @notice `account`'s signed position in `instrumentId`.
    function positionOf(address account, bytes32 instrumentId) external view returns (int256);
    /// @notice `account`'s positions nonce, signed cash and the block of its last liquidation step.
    function accountState(address account)
        external
        view
        returns (uint48 positionsNonce, int256 cash, uint48 lastLiquidationBlock);
    /// @notice The margin report stored for `account` (zeros if none).
    function marginReportOf(address account) external view returns (StoredMarginReport memory);
    /// @notice `account`'s health now (never reverts for staleness: see the flags).
    function accountHealth(address account) external view returns (AccountHealth memory);
    /// @notice Shorthand for accountHealth(account).liquidatable.
    function isLiquidatable(address account) external view returns (bool);
    /// @notice The stored attestation of `root` (zeros if none).
    function attestedRoot(bytes32 root) external view returns (uint48 observedBlock, uint32 riskEpoch);
    /// @notice The eta of a queued change (0 if none).
    function queuedChangeEta(bytes32 changeId) external view returns (uint64);
    /// @notice The liquidated notional counted in the current block.
    function liquidatedNotionalThisBlock() external view returns (uint256);
    /// @notice The engine's block clock now: the number every observedBlock, freshness window and
    ///         per-block gate is compared with (see the file header). `ArbSys(0x64).arbBlockNumber()`
    ///         (the L2 block) on an Arbitrum chain, `block.number` on any other; the Solidity twin
    ///         decides at deployment (ArbSys answers or not), the Stylus engine always reads ArbSys.
    ///         Keepers sign observedBlock from this view, called at the block they observed.
    function clockBlock() external view returns (uint256);
    /// @notice The settlement asset, cash reserve, insurance fund, socialised losses and settlement parameters.
    function settlementState() external view returns (SettlementState memory);
    /// @notice Whether `asset` is winding down after a delisting, and the engine-wide Σ balances of it.
    function collateralStatus(address asset) external view returns (bool windingDown, uint256 engineBalance);
    /// @notice How many instruments `account` holds a non-zero position in.
    function openPositions(address account) external view returns (uint256);
}
