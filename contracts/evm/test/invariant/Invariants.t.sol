// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {MockERC20} from "../mocks/MockTokens.sol";
import {
    IMarginEngine,
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    TradeLeg,
    ParamChange,
    StoredMarginReport,
    AccountHealth,
    SettlementState
} from "@interfaces/IMarginEngine.sol";

/// @title Drives the engine with random but mostly valid actions and records what must never happen.
/// @dev Inherits the fixture's helpers; its state (engine, tokens, keepers) is handed over by the test.
///      Every engine call is wrapped in try/catch: a revert is an allowed outcome, a success that breaks
///      a rule sets a ghost flag the invariants read.
contract Handler is EngineBase {
    address[4] internal actors = [ALICE, BOB, CAROL, address(0xDA7E)];
    bytes32[2] internal ids = [ETH_PERP, BTC_PERP];

    // ghosts
    bool public withdrawBelowInitial;
    bool public secondStepInABlock;
    bool public capExceeded;
    bool public loosenedEarly;
    bool public weakQuorumAccepted;
    bool public liquidatorLeftBelowMaintenance;
    bool public stepLoweredRatio;
    bool public seizureLoweredEquity;
    bool public badDebtUnaccounted;
    /// @dev Rounding the engine may leave in the cash reserve's favour after socialised losses (wei).
    uint256 public reserveDust;
    mapping(address => uint256) internal lastStepBlock;
    uint256 internal notionalBlock;
    uint256 public notionalInBlock;
    uint256 public calls;
    uint256 public liquidations;
    uint256 public trades;
    uint256 public withdrawals;
    uint256 public executed;
    uint256 public cashWithdrawals;
    uint256 public repayments;
    uint256 public seizures;
    uint256 public badDebts;

    struct Queued {
        ParamChange change;
        uint64 eta;
    }

    Queued[] internal queue;

    constructor(
        IMarginEngine engine_,
        MockERC20 usdc_,
        MockERC20 weth_,
        uint256[] memory keys,
        address[] memory addrs
    ) {
        engine = engine_;
        usdc = usdc_;
        weth = weth_;
        keeperKeys = keys;
        keeperAddrs = addrs;
    }

    function actorList() external view returns (address[4] memory) {
        return actors;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _token(uint256 seed) internal view returns (MockERC20) {
        return seed % 2 == 0 ? usdc : weth;
    }

    // ------------------------------------------------------------------ collateral

    function deposit(uint256 actorSeed, uint256 tokenSeed, uint256 amount) external {
        ++calls;
        address a = _actor(actorSeed);
        MockERC20 t = _token(tokenSeed);
        amount = 1 + amount % (t == usdc ? 50_000e6 : 20 * E18);
        t.mint(a, amount);
        vm.startPrank(a);
        t.approve(address(engine), amount);
        try engine.deposit(address(t), amount) {} catch {}
        vm.stopPrank();
    }

    function withdraw(uint256 actorSeed, uint256 tokenSeed, uint256 amount) external {
        ++calls;
        address a = _actor(actorSeed);
        MockERC20 t = _token(tokenSeed);
        uint256 bal = engine.collateralBalance(a, address(t));
        amount = 1 + amount % (bal + 1);
        vm.prank(a);
        try engine.withdraw(address(t), amount) {
            ++withdrawals;
            (uint48 nonce,,) = engine.accountState(a);
            if (nonce != 0) {
                AccountHealth memory h = engine.accountHealth(a);
                if (h.equity < int256(h.initialMargin) || !h.reportFresh) withdrawBelowInitial = true;
            }
        } catch {}
    }

    // ------------------------------------------------------------------ reports

    /// @dev Fresh prices and a report for every actor, at this block, signed by the quorum.
    function postReports(uint256 pvSeed, uint256 priceSeed) external {
        ++calls;
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18 - E18 / 100 + priceSeed % (E18 / 50));
        prices[1] = _price(address(weth), 1_000 * E18 + (priceSeed >> 64) % (2_000 * E18));
        MarginReport[] memory reports = new MarginReport[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            uint256 s = uint256(keccak256(abi.encode(pvSeed, i)));
            int256 pv = int256(s % (40_000 * E18)) - int256(20_000 * E18);
            uint256 mm = (s >> 128) % (5_000 * E18);
            reports[i] = _report(actors[i], pv, mm + mm / 4, mm);
        }
        ReportBatch memory b = _batchFor(_leaves(prices, reports, _noLeaves()));
        bytes memory sigs = _sigs(b, engine.quorum());
        try engine.postBatch(b, sigs, prices, reports, _noLeaves()) {} catch {}
    }

    /// @dev A batch with too few, repeated or unregistered signers must never be accepted.
    function postWeakBatch(uint256 mode, uint256 pvSeed) external {
        ++calls;
        MarginReport[] memory reports = _one(_report(_actor(pvSeed), -int256(pvSeed % 1e24), 0, 0));
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), reports, _noLeaves()));
        bytes32 d = _digest(b);
        uint256 q = engine.quorum();
        bytes memory sigs;
        if (mode % 3 == 0) {
            sigs = _sigs(b, q - 1); // too few (empty when q == 1: malformed)
        } else if (mode % 3 == 1) {
            for (uint256 i; i < q; ++i) {
                sigs = bytes.concat(sigs, _signWith(d, keeperKeys[0])); // one keeper repeated
            }
        } else {
            sigs = _sigs(b, q - 1);
            sigs = bytes.concat(sigs, _signWith(d, 0xBAD0 + mode % 1000)); // an outsider completes it
        }
        try engine.postBatch(b, sigs, _noPrices(), reports, _noLeaves()) {
            weakQuorumAccepted = true;
        } catch {}
    }

    // ------------------------------------------------------------------ trades

    function trade(uint256 buyerSeed, uint256 sellerSeed, uint256 idSeed, uint256 size, int256 cash) external {
        ++calls;
        address buyer = _actor(buyerSeed);
        address seller = _actor(sellerSeed);
        if (buyer == seller) seller = _actor(sellerSeed % 4 + 1);
        bytes32 id = ids[idSeed % 2];
        int256 s = int256(1 + size % (5 * E18));
        cash = cash % int256(10_000 * E18);
        TradeLeg[] memory legs = _pair(buyer, seller, id, s, cash);
        vm.prank(VENUE);
        try engine.settleTrade(legs) {
            ++trades;
            _dust(2);
        } catch {}
    }

    // ------------------------------------------------------------------ liquidation

    /// @dev Reports that may put `account` under water, a step reducing one of its positions, attested
    ///      in the same batch; then the liquidator tries it.
    function liquidate(uint256 accountSeed, uint256 liqSeed, uint256 fraction, uint256 markSeed, int256 pvSeed)
        external
    {
        ++calls;
        address account = _actor(accountSeed);
        address liquidator = _actor(liqSeed);
        if (liquidator == account) liquidator = _actor(liqSeed % 4 + 1);
        bytes32 id = ids[markSeed % 2];
        int256 position = engine.positionOf(account, id);
        if (position == 0) return;
        uint256 abs = position < 0 ? uint256(-position) : uint256(position);
        uint256 part = 1 + fraction % abs;
        int256 size = position < 0 ? int256(part) : -int256(part);
        uint256 mark = 1 + markSeed % (4_000 * E18);
        int256 pv = pvSeed % int256(30_000 * E18) - int256(25_000 * E18);
        _tryStep(account, liquidator, _step(account, id, size, mark), pv, abs);
    }

    function _tryStep(address account, address liquidator, LiquidationStep memory step, int256 pv, uint256 abs)
        internal
    {
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(account, pv, 2_000 * E18, 1_500 * E18);
        reports[1] = _report(liquidator, 0, 0, 0);
        bytes32[] memory others = _one(_stepLeaf(step));
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), reports, others));
        try engine.postBatch(b, _sigs(b, engine.quorum()), _noPrices(), reports, others) {} catch {}
        bytes32[] memory proof = _proof(_leaves(_noPrices(), reports, others), 2);
        StepCheck memory c = _beforeStep(account, liquidator);
        vm.prank(liquidator);
        try engine.liquidate(step, b.root, proof) {
            ++liquidations;
            _dust(2);
            _afterStep(c, account, liquidator, step.size, step.markPrice, abs);
            _recordStep(account, step.size, step.markPrice);
        } catch {}
    }

    function _recordStep(address account, int256 size, uint256 mark) internal {
        if (lastStepBlock[account] == block.number) secondStepInABlock = true;
        lastStepBlock[account] = block.number;
        if (notionalBlock != block.number) (notionalBlock, notionalInBlock) = (block.number, 0);
        notionalInBlock += (size < 0 ? uint256(-size) : uint256(size)) * mark / 1e18;
        // the cap in force at the step (governance may lower it later in the same block)
        uint256 used = engine.liquidatedNotionalThisBlock();
        if (used != notionalInBlock || used > engine.riskParams().liquidationNotionalCapPerBlock) {
            capExceeded = true;
        }
    }

    /// @dev What a step's checks need from before it.
    struct StepCheck {
        AccountHealth account;
        AccountHealth liquidator;
        int256 accountCash;
        int256 liquidatorCash;
        uint256 fund;
    }

    function _beforeStep(address account, address liquidator) internal view returns (StepCheck memory c) {
        c.account = engine.accountHealth(account);
        c.liquidator = engine.accountHealth(liquidator);
        (, c.accountCash,) = engine.accountState(account);
        (, c.liquidatorCash,) = engine.accountState(liquidator);
        c.fund = engine.settlementState().insuranceFund;
    }

    /// @dev The liquidator, its leg valued at the step's mark, stays at or above its maintenance plus the
    ///      leg's governed requirement; the account's margin ratio (requirement leaving with the closed
    ///      share, as the keepers report it) does not fall: penalty * |position| <= equity+ * |size|.
    function _afterStep(
        StepCheck memory c,
        address account,
        address liquidator,
        int256 size,
        uint256 mark,
        uint256 position
    ) internal {
        (, int256 accountCash,) = engine.accountState(account);
        (, int256 liquidatorCash,) = engine.accountState(liquidator);
        int256 transfer = size * int256(mark) / 1e18; // toward zero, as the engine
        // cash is read through the share rate once a loss was socialised: a wei of flooring either way
        int256 paid = -(accountCash - c.accountCash) - transfer;
        if (paid < -2) stepLoweredRatio = true;
        uint256 penalty = paid > 0 ? uint256(paid) : 0;
        uint256 fundShare = engine.settlementState().insuranceFund - c.fund;
        int256 received = liquidatorCash - c.liquidatorCash - (transfer + int256(penalty) - int256(fundShare));
        if (received > 2 || received < -2) liquidatorLeftBelowMaintenance = true;
        uint256 closed = size < 0 ? uint256(-size) : uint256(size);
        _checkLiquidator(c.liquidator, penalty - fundShare, closed * mark / 1e18);
        // the account: only a positive equity pays a penalty, within the closed share of it
        if (c.account.pricesFresh) {
            uint256 positive = c.account.equity > 0 ? uint256(c.account.equity) : 0;
            if (penalty * position > positive * closed + 2 * position) stepLoweredRatio = true;
        }
    }

    /// @dev The liquidator's prices were fresh (the engine checked): its equity at the mark after the step.
    function _checkLiquidator(AccountHealth memory before, uint256 share, uint256 notional) internal {
        int256 equityAfter = before.equity + int256(share);
        uint256 requirement =
            before.maintenanceMargin + notional * engine.settlementState().liquidatorMarginBps / 10_000;
        if (equityAfter < int256(requirement)) liquidatorLeftBelowMaintenance = true;
    }

    // ------------------------------------------------------------------ settlement

    /// @dev A cash-only (funding) leg between two actors: always applies.
    function funding(uint256 payerSeed, uint256 payeeSeed, uint256 amount) external {
        ++calls;
        address payer = _actor(payerSeed);
        address payee = _actor(payeeSeed);
        if (payer == payee) payee = _actor(payeeSeed % 4 + 1);
        TradeLeg[] memory legs = _pair(payee, payer, ETH_PERP, 0, int256(amount % (5_000 * E18)));
        vm.prank(VENUE);
        try engine.settleTrade(legs) {
            ++trades;
            _dust(2);
        } catch {}
    }

    function withdrawCash(uint256 actorSeed, uint256 amount) external {
        ++calls;
        address a = _actor(actorSeed);
        (, int256 cash,) = engine.accountState(a);
        if (cash < 1e12) return;
        amount = 1 + amount % (uint256(cash) / 1e12);
        vm.prank(a);
        try engine.withdrawCash(amount) {
            ++cashWithdrawals;
            _dust(1);
            (uint48 nonce,,) = engine.accountState(a);
            if (nonce != 0) {
                AccountHealth memory h = engine.accountHealth(a);
                if (h.equity < int256(h.initialMargin) || !h.reportFresh) withdrawBelowInitial = true;
            }
        } catch {}
    }

    function repayDebt(uint256 actorSeed, uint256 amount) external {
        ++calls;
        address a = _actor(actorSeed);
        (, int256 cash,) = engine.accountState(a);
        uint256 balance = engine.collateralBalance(a, address(usdc));
        if (cash >= 0 || balance == 0) return;
        uint256 debtUnits = uint256(-cash) / 1e12;
        uint256 cap = debtUnits < balance ? debtUnits : balance;
        if (cap == 0) return;
        vm.prank(a);
        try engine.repayDebt(1 + amount % cap) {
            ++repayments;
            _dust(1);
        } catch {}
    }

    /// @dev A liquidator collects an account's debt from its collateral (settlement asset first).
    function seize(uint256 accountSeed, uint256 liqSeed, uint256 tokenSeed, uint256 amount) external {
        ++calls;
        address account = _actor(accountSeed);
        address liquidator = _actor(liqSeed);
        if (liquidator == account) liquidator = _actor(liqSeed % 4 + 1);
        (, int256 cash,) = engine.accountState(account);
        if (cash >= 0) return;
        MockERC20 t = _token(tokenSeed);
        uint256 units = 1 + amount % (uint256(-cash) / 1e12 + 1);
        if (t == usdc) {
            uint256 balance = engine.collateralBalance(account, address(usdc));
            if (balance == 0) return;
            units = 1 + amount % balance;
        }
        usdc.mint(liquidator, units);
        vm.prank(liquidator);
        usdc.approve(address(engine), units);
        int256 equityBefore = engine.accountHealth(account).equity;
        vm.prank(liquidator);
        try engine.seizeCollateral(account, address(t), units) {
            ++seizures;
            _dust(1);
            // the discount never exceeds the asset's haircut: equity does not fall (2 wei of flooring)
            if (engine.accountHealth(account).equity < equityBefore - 2) seizureLoweredEquity = true;
        } catch {}
    }

    function resolveBadDebt(uint256 actorSeed) external {
        ++calls;
        address a = _actor(actorSeed);
        (, int256 cash,) = engine.accountState(a);
        SettlementState memory before = engine.settlementState();
        try engine.resolveBadDebt(a) {
            ++badDebts;
            SettlementState memory st = engine.settlementState();
            (, int256 after_,) = engine.accountState(a);
            uint256 covered = before.insuranceFund - st.insuranceFund;
            uint256 socialised = st.socialisedLoss - before.socialisedLoss;
            if (after_ != 0 || covered + socialised != uint256(-cash)) badDebtUnaccounted = true;
            // the rate rounded up costs a wei per 1e18 of positive cash; a wipe-out (rate - cut < 1e9) takes
            // what is left, less than 1e9 / rate of the positive cash
            if (socialised != 0) {
                _dust(before.totalPositiveCash / 1e18 + before.totalPositiveCash * 1e9 / before.positiveCashRate + 8);
            }
        } catch {}
    }

    /// @dev Once a loss was socialised, each cash write may floor a share by a wei.
    function _dust(uint256 wei_) internal {
        if (engine.settlementState().positiveCashRate != E18 || wei_ > 2) reserveDust += wei_;
    }

    // ------------------------------------------------------------------ governance

    function queueChange(uint256 kindSeed, uint256 value) external {
        ++calls;
        ParamChange memory c;
        uint256 k = kindSeed % 4;
        if (k == 0) c = ParamChange(0, address(weth), 9_000 + value % 1_001);
        else if (k == 1) c = ParamChange(6, address(0), 1e18 + value % 1e24);
        else if (k == 2) c = ParamChange(3, address(0), value % 1_501);
        else c = ParamChange(4, address(0), 50 + value % 100);
        vm.prank(ADMIN);
        try engine.proposeChange(c) returns (bytes32, bool applied) {
            if (!applied) queue.push(Queued(c, uint64(block.timestamp + engine.riskParams().timelockDelay)));
        } catch {}
    }

    function executeChange(uint256 index) external {
        ++calls;
        if (queue.length == 0) return;
        Queued memory q = queue[index % queue.length];
        try engine.executeChange(q.change, q.eta) {
            ++executed;
            if (block.timestamp < q.eta) loosenedEarly = true;
        } catch {}
    }

    function cancelChange(uint256 index) external {
        ++calls;
        if (queue.length == 0) return;
        Queued memory q = queue[index % queue.length];
        bytes32 id = keccak256(abi.encode(q.change.kind, q.change.target, q.change.value, q.eta));
        vm.prank(COUNCIL);
        try engine.cancelChange(id) {} catch {}
    }

    /// @dev The council tightens at once (these never need the timelock).
    function tighten(uint256 value) external {
        ++calls;
        uint16 current = engine.collateralInfo(address(weth)).weightBps;
        if (current == 0) return;
        vm.prank(COUNCIL);
        try engine.proposeChange(ParamChange(0, address(weth), value % current)) {} catch {}
    }

    // ------------------------------------------------------------------ time

    function advance(uint256 blocks, uint256 seconds_) external {
        ++calls;
        vm.roll(block.number + blocks % 20);
        vm.warp(block.timestamp + seconds_ % 2 hours);
    }
}

contract InvariantsTest is EngineBase {
    Handler internal handler;
    uint256 internal startEpochWeight;

    function setUp() public override {
        super.setUp();
        handler = new Handler(engine, usdc, weth, keeperKeys, keeperAddrs);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        bytes4[] memory sel = new bytes4[](16);
        sel[0] = Handler.deposit.selector;
        sel[1] = Handler.withdraw.selector;
        sel[2] = Handler.postReports.selector;
        sel[3] = Handler.postWeakBatch.selector;
        sel[4] = Handler.trade.selector;
        sel[5] = Handler.liquidate.selector;
        sel[6] = Handler.queueChange.selector;
        sel[7] = Handler.executeChange.selector;
        sel[8] = Handler.cancelChange.selector;
        sel[9] = Handler.tighten.selector;
        sel[10] = Handler.advance.selector;
        sel[11] = Handler.funding.selector;
        sel[12] = Handler.withdrawCash.selector;
        sel[13] = Handler.repayDebt.selector;
        sel[14] = Handler.seize.selector;
        sel[15] = Handler.resolveBadDebt.selector;
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(address(handler), sel);
    }

    /// @notice Issue 12, invariant 1: the tokens the engine holds are every account's balance and, for
    ///         the settlement asset, the cash reserve on top (exactly: nothing else moves tokens). The
    ///         reserve backs the insurance fund before any cash is paid out (checked by withdrawCash).
    function invariant_TokensHeldCoverBalancesAndReserve() public {
        address[4] memory actors = handler.actorList();
        MockERC20[2] memory tokens = [usdc, weth];
        SettlementState memory st = engine.settlementState();
        for (uint256 t; t < 2; ++t) {
            uint256 sum;
            for (uint256 i; i < actors.length; ++i) {
                sum += engine.collateralBalance(actors[i], address(tokens[t]));
            }
            (, uint256 total) = engine.collateralStatus(address(tokens[t]));
            assertEq(total, sum);
            if (tokens[t] == usdc) sum += st.cashReserve / 1e12;
            assertEq(tokens[t].balanceOf(address(engine)), sum);
        }
        assertEq(st.cashReserve % 1e12, 0);
    }

    /// @notice Every instrument's positions sum to zero (trades and liquidations move them between parties).
    function invariant_PositionsConserved() public {
        address[4] memory actors = handler.actorList();
        bytes32[2] memory ids = [ETH_PERP, BTC_PERP];
        for (uint256 k; k < 2; ++k) {
            int256 sum;
            for (uint256 i; i < actors.length; ++i) {
                sum += engine.positionOf(actors[i], ids[k]);
            }
            assertEq(sum, 0);
        }
    }

    /// @notice Issue 12, invariant 2: cash (positive claims and debt) and the insurance fund net to the
    ///         collected reserve: exactly until a loss is socialised, then within the rounding the engine
    ///         leaves in the reserve's favour (never above it).
    function invariant_CashAndDebtNetToTheReserve() public {
        address[4] memory actors = handler.actorList();
        SettlementState memory st = engine.settlementState();
        int256 net = int256(st.insuranceFund) - int256(st.cashReserve);
        for (uint256 i; i < actors.length; ++i) {
            (, int256 c,) = engine.accountState(actors[i]);
            net += c;
        }
        assertLe(net, 0);
        assertGe(net, -int256(handler.reserveDust()));
    }

    /// @notice Issue 12, invariant 3: no step leaves the liquidator below maintenance (its leg valued at
    ///         the step's mark, requirement = maintenance + liquidatorMarginBps of the notional).
    function invariant_NoStepLeavesTheLiquidatorBelowMaintenance() public {
        assertFalse(handler.liquidatorLeftBelowMaintenance());
    }

    /// @notice Issue 12, invariant 4: a step never lowers the liquidated account's margin ratio (a
    ///         takeover's penalty stays within the closed share of a positive equity; a seizure never
    ///         lowers equity), and bad debt is written off exactly: fund + socialised = debt.
    function invariant_StepsNeverLowerTheRatioAndBadDebtIsAccounted() public {
        assertFalse(handler.stepLoweredRatio());
        assertFalse(handler.seizureLoweredEquity());
        assertFalse(handler.badDebtUnaccounted());
    }

    /// @notice No successful withdrawal by an account with positions left it below initial margin.
    function invariant_NoWithdrawalBelowInitialMargin() public {
        assertFalse(handler.withdrawBelowInitial());
    }

    /// @notice At most one liquidation step per account per block.
    function invariant_OneStepPerAccountPerBlock() public {
        assertFalse(handler.secondStepInABlock());
    }

    /// @notice After every step, the block's liquidated notional is within the cap in force. (A cap
    ///         lowered later in the same block may sit below what was already liquidated: it binds the
    ///         next step, not the past ones.)
    function invariant_NotionalCapHolds() public {
        assertFalse(handler.capExceeded());
    }

    /// @notice No loosening change applied before its eta.
    function invariant_NoLooseningBeforeTimelock() public {
        assertFalse(handler.loosenedEarly());
    }

    /// @notice No batch with fewer than `quorum` distinct registered keepers was accepted.
    function invariant_NoWeakQuorumAccepted() public {
        assertFalse(handler.weakQuorumAccepted());
    }

    /// @notice Summary of what the run exercised (visible with -vv).
    function afterInvariant() public {
        emit log_named_uint("handler calls", handler.calls());
        emit log_named_uint("trades", handler.trades());
        emit log_named_uint("withdrawals", handler.withdrawals());
        emit log_named_uint("liquidations", handler.liquidations());
        emit log_named_uint("changes executed", handler.executed());
        emit log_named_uint("cash withdrawals", handler.cashWithdrawals());
        emit log_named_uint("repayments", handler.repayments());
        emit log_named_uint("seizures", handler.seizures());
        emit log_named_uint("bad debts resolved", handler.badDebts());
    }
}
