// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "../utils/EngineBase.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {
    ReportBatch,
    PriceReport,
    MarginReport,
    LiquidationStep,
    ParamChange,
    TradeLeg
} from "@interfaces/IMarginEngine.sol";

/// @title Gas figures of the Solidity twin, committed in snapshots/MarginEngineGas.json.
/// @notice Every measured call runs with the engine's account and storage cooled (`vm.cool`), as the
///         first touch of a transaction. `snapshotGasLastCall` is the callee's execution gas; the
///         transaction-level figure adds the 21,000 base and the calldata (16 gas per non-zero byte,
///         4 per zero byte, pre-EIP-7623 pricing), both recorded with `snapshotValue`.
///         Steady state ("update") means the account already holds a report: its two slots are
///         rewritten (2 x 2,900 + cold reads), which is the per-block case; "first" writes zero slots
///         (2 x 20,000) once per account.
///         `make test` compares with the committed file (`FORGE_SNAPSHOT_CHECK=true`).
contract MarginEngineGas is EngineBase {
    string internal constant GROUP = "MarginEngineGas";

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function _accounts(uint256 n) internal pure returns (address[] memory a) {
        a = new address[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = address(uint160(0x100000 + i));
        }
    }

    function _reportsFor(address[] memory accounts, int256 salt) internal view returns (MarginReport[] memory r) {
        r = new MarginReport[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            r[i] = _report(
                accounts[i], 1_234 * int256(E18) + salt + int256(i), 2_000 * E18 + i * E18, 1_500 * E18 + i * E18
            );
        }
    }

    function _postBatchCalldata(MarginReport[] memory reports, uint256 signers) internal returns (bytes memory) {
        ReportBatch memory b = _batchFor(_leaves(_noPrices(), reports, _noLeaves()));
        return abi.encodeCall(engine.postBatch, (b, _sigs(b, signers), _noPrices(), reports, _noLeaves()));
    }

    /// @dev Calls the engine with `data` from a cold start and records execution and tx-level gas.
    function _measure(string memory name, bytes memory data, uint256 items) internal returns (uint256 exec) {
        VM.cool(address(engine));
        (bool ok,) = address(engine).call(data);
        assertTrue(ok, name);
        exec = VM.snapshotGasLastCall(GROUP, name);
        uint256 cd = _calldataGas(data);
        VM.snapshotValue(GROUP, string.concat(name, "_calldataGas"), cd);
        VM.snapshotValue(GROUP, string.concat(name, "_txGas"), 21_000 + cd + exec);
        if (items > 1) {
            VM.snapshotValue(GROUP, string.concat(name, "_perItemExec"), exec / items);
            VM.snapshotValue(GROUP, string.concat(name, "_perItemTx"), (21_000 + cd + exec) / items);
        }
    }

    function _batchAtQuorum(uint8 q, uint256 n, bool update, string memory name) internal {
        engine = _deploy(q);
        address[] memory accounts = _accounts(n);
        if (update) {
            _post(_noPrices(), _reportsFor(accounts, 0), _noLeaves());
            _advance(1);
        }
        _measure(name, _postBatchCalldata(_reportsFor(accounts, 7), q), n);
    }

    // ------------------------------------------------------------------ batches

    function test_Gas_Batch1_Quorum1() public {
        _batchAtQuorum(1, 1, true, "postBatch_1report_quorum1");
    }

    function test_Gas_Batch1_Quorum2() public {
        _batchAtQuorum(2, 1, true, "postBatch_1report_quorum2");
    }

    function test_Gas_Batch1_Quorum3() public {
        _batchAtQuorum(3, 1, true, "postBatch_1report_quorum3");
    }

    function test_Gas_Batch1_Quorum2_FirstReport() public {
        _batchAtQuorum(2, 1, false, "postBatch_1report_quorum2_first");
    }

    function test_Gas_Batch10_Quorum2() public {
        _batchAtQuorum(2, 10, true, "postBatch_10reports_quorum2");
    }

    function test_Gas_Batch100_Quorum2() public {
        _batchAtQuorum(2, 100, true, "postBatch_100reports_quorum2");
    }

    function test_Gas_Batch100_Quorum2_FirstReports() public {
        _batchAtQuorum(2, 100, false, "postBatch_100reports_quorum2_first");
    }

    // ------------------------------------------------------------------ single items against a stored root

    function test_Gas_SingleReportProven() public {
        address[] memory accounts = _accounts(100);
        _post(_noPrices(), _reportsFor(accounts, 0), _noLeaves());
        _advance(1);
        MarginReport[] memory reports = _reportsFor(accounts, 7);
        bytes32[] memory leaves = _leaves(_noPrices(), reports, _noLeaves());
        bytes32 root = _attest(leaves);
        bytes32[] memory proof = _proof(leaves, 42);
        assertEq(proof.length, 7);
        _measure("postMarginReport_proof7", abi.encodeCall(engine.postMarginReport, (reports[42], root, proof)), 1);
    }

    function test_Gas_SingleReportProven_First() public {
        address[] memory accounts = _accounts(100);
        MarginReport[] memory reports = _reportsFor(accounts, 7);
        bytes32[] memory leaves = _leaves(_noPrices(), reports, _noLeaves());
        bytes32 root = _attest(leaves);
        _measure(
            "postMarginReport_proof7_first",
            abi.encodeCall(engine.postMarginReport, (reports[42], root, _proof(leaves, 42))),
            1
        );
    }

    function test_Gas_PriceReportProven() public {
        _postPrices();
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_001 * E18);
        MarginReport[] memory reports = _reportsFor(_accounts(98), 0);
        bytes32[] memory leaves = _leaves(prices, reports, _noLeaves());
        bytes32 root = _attest(leaves);
        _measure(
            "postPriceReport_proof7", abi.encodeCall(engine.postPriceReport, (prices[1], root, _proof(leaves, 1))), 1
        );
    }

    function test_Gas_PriceBatch() public {
        _postPrices();
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), 2_001 * E18);
        ReportBatch memory b = _batchFor(_leaves(prices, _noReports(), _noLeaves()));
        _measure(
            "postBatch_2prices_quorum2",
            abi.encodeCall(engine.postBatch, (b, _sigs(b, 2), prices, _noReports(), _noLeaves())),
            2
        );
    }

    // ------------------------------------------------------------------ collateral, trades, liquidation

    function test_Gas_Deposit() public {
        usdc.mint(ALICE, 1_000e6);
        vm.prank(ALICE);
        usdc.approve(address(engine), type(uint256).max);
        VM.cool(address(usdc));
        vm.prank(ALICE);
        _measure("deposit_first", abi.encodeCall(engine.deposit, (address(usdc), 1_000e6)), 1);
    }

    function test_Gas_WithdrawNoPositions() public {
        _fund(ALICE, usdc, 1_000e6);
        VM.cool(address(usdc));
        vm.prank(ALICE);
        _measure("withdraw_noPositions", abi.encodeCall(engine.withdraw, (address(usdc), 400e6)), 1);
    }

    function test_Gas_WithdrawMarginChecked() public {
        _openPositions();
        _fund(ALICE, weth, E18);
        _advance(1);
        _postAll(ALICE, 0, 1_000 * E18, 800 * E18);
        VM.cool(address(usdc));
        vm.prank(ALICE);
        _measure("withdraw_marginChecked_2assets", abi.encodeCall(engine.withdraw, (address(usdc), 400e6)), 1);
    }

    function test_Gas_SettleTrade() public {
        _openPositions();
        _advance(1);
        PriceReport[] memory prices = new PriceReport[](1);
        prices[0] = _price(address(usdc), E18);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(ALICE, 0, 1_000 * E18, 800 * E18);
        reports[1] = _report(BOB, 0, 1_000 * E18, 800 * E18);
        _post(prices, reports, _noLeaves());
        // both legs add risk: both margin checks run
        TradeLeg[] memory legs = _pair(ALICE, BOB, ETH_PERP, 2 * int256(E18), -4_000 * int256(E18));
        vm.prank(VENUE);
        _measure("settleTrade_2legs_riskAdding", abi.encodeCall(engine.settleTrade, (legs)), 1);
    }

    function test_Gas_Liquidate() public {
        _openPositions();
        (LiquidationStep memory step, bytes32 root, bytes32[] memory proof) = _makeAliceLiquidatable();
        vm.prank(CAROL);
        _measure("liquidate", abi.encodeCall(engine.liquidate, (step, root, proof)), 1);
    }

    /// @dev An account with 3 WETH whose 10 ETH-PERP were taken over at $1,500 after it paid 20,000
    ///      for them: 5,000 of debt, collateral left, a fresh report with no positions.
    function _indebted(address account) internal {
        _fund(account, weth, 3 * E18);
        _fund(BOB, usdc, 10_000e6);
        _fund(CAROL, usdc, 100_000e6);
        _advance(1);
        MarginReport[] memory reports = new MarginReport[](2);
        reports[0] = _report(account, 0, 3_000 * E18, 2_000 * E18);
        reports[1] = _report(BOB, 0, 0, 0);
        _post(_pricesAt(1_500 * E18 + E18 / 2), reports, _noLeaves());
        _settle(_pair(account, BOB, ETH_PERP, 10 * int256(E18), -20_000 * int256(E18)));
        _advance(1);
        reports[0] = _report(account, 15_000 * int256(E18), 3_000 * E18, 2_000 * E18);
        reports[1] = _report(CAROL, 0, 0, 0);
        LiquidationStep memory step = _step(account, ETH_PERP, -10 * int256(E18), 1_500 * E18);
        bytes32[] memory others = _one(_stepLeaf(step));
        bytes32 root = _post(_pricesAt(1_500 * E18), reports, others).root;
        vm.prank(CAROL);
        engine.liquidate(step, root, _proof(_leaves(_pricesAt(1_500 * E18), reports, others), 4));
        _advance(1);
        _post(_pricesAt(1_500 * E18), _one(_report(account, 0, 0, 0)), _noLeaves());
    }

    function _pricesAt(uint256 wethPrice) internal view returns (PriceReport[] memory prices) {
        prices = new PriceReport[](2);
        prices[0] = _price(address(usdc), E18);
        prices[1] = _price(address(weth), wethPrice);
    }

    function test_Gas_SeizeCollateral() public {
        address account = address(0xDA2);
        _indebted(account);
        usdc.mint(address(this), 4_000e6);
        usdc.approve(address(engine), type(uint256).max);
        _measure("seizeCollateral_weth", abi.encodeCall(engine.seizeCollateral, (account, address(weth), 4_000e6)), 1);
    }

    function test_Gas_ResolveBadDebt() public {
        address account = address(0xDA2);
        _indebted(account);
        usdc.mint(address(this), 6_000e6);
        usdc.approve(address(engine), type(uint256).max);
        engine.seizeCollateral(account, address(weth), 4_000e6);
        _advance(1);
        engine.seizeCollateral(account, address(weth), 300e6); // the rest: no dust left
        _measure("resolveBadDebt_socialised", abi.encodeCall(engine.resolveBadDebt, (account)), 1);
    }

    // ------------------------------------------------------------------ governance

    function test_Gas_GovernanceQueueAndExecute() public {
        ParamChange memory c = ParamChange(0, address(weth), 9_500);
        vm.prank(ADMIN);
        _measure("proposeChange_queue", abi.encodeCall(engine.proposeChange, (c)), 1);
        uint64 eta = uint64(block.timestamp + 3_600);
        vm.warp(eta);
        _measure("executeChange", abi.encodeCall(engine.executeChange, (c, eta)), 1);
    }

    function test_Gas_GovernanceTighteningAtOnce() public {
        vm.prank(COUNCIL);
        _measure(
            "proposeChange_tighteningApplied",
            abi.encodeCall(engine.proposeChange, (ParamChange(0, address(weth), 8_000))),
            1
        );
    }
}
