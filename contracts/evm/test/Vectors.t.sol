// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MarginEngine} from "../src/MarginEngine.sol";
import {VmExt} from "./utils/VmExt.sol";

/// @title Replays every case of every shared vector file in tests/vectors (format: tests/vectors/README.md).
/// @notice For each case the engine is deployed at the file's `engine` address with the case's constructor
///         arguments, on the file's chain id, at the case's block and time; each step is then called with its
///         raw calldata from its sender, and success, return (or revert) data and the logs (emitter, topics,
///         data, in order) must equal the file's byte for byte. The Stylus contract replays the same files.
contract VectorsTest is Test {
    VmExt internal constant VM = VmExt(address(uint160(uint256(keccak256("hevm cheat code")))));
    string internal constant DIR = "tests/vectors";

    uint256 internal casesReplayed;
    uint256 internal stepsReplayed;

    /// @notice Every `*.json` under tests/vectors that has `cases` (eip712.json, made of `items`, is
    ///         checked by Eip712CrossCheck.t.sol).
    function test_ReplayEveryVectorFile() public {
        VmExt.DirEntry[] memory entries = VM.readDir(DIR);
        uint256 files;
        for (uint256 i; i < entries.length; ++i) {
            string memory path = entries[i].path;
            if (entries[i].isDir || !_endsWith(path, ".json")) continue;
            string memory json = VM.readFile(path);
            if (!VM.keyExistsJson(json, ".cases")) continue;
            _replayFile(path, json);
            ++files;
        }
        assertGt(files, 0);
        assertGt(casesReplayed, 0);
        emit log_named_uint("vector files", files);
        emit log_named_uint("cases", casesReplayed);
        emit log_named_uint("steps", stepsReplayed);
    }

    /// @notice The quorum-batch file the lead generates must be among them.
    function test_QuorumBatchesFileIsReplayed() public {
        string memory json = VM.readFile(string.concat(DIR, "/quorum-batches.json"));
        assertEq(VM.parseJsonUint(json, ".schema"), 1);
        assertGt(VM.parseJsonUint(json, ".caseCount"), 0);
    }

    function _replayFile(string memory path, string memory json) internal {
        assertEq(VM.parseJsonUint(json, ".schema"), 1, path);
        uint256 chainId = VM.parseJsonUint(json, ".chainId");
        address engine = VM.parseJsonAddress(json, ".engine");
        uint256 count = VM.parseJsonUint(json, ".caseCount");
        for (uint256 c; c < count; ++c) {
            uint256 snap = VM.snapshotState();
            uint256 steps = _replayCase(json, string.concat(".cases[", VM.toString(c), "]"), engine, chainId);
            // Reverting the state reverts this contract's counters too: count after it.
            VM.revertToStateAndDelete(snap);
            ++casesReplayed;
            stepsReplayed += steps;
        }
    }

    function _replayCase(string memory json, string memory key, address engine, uint256 chainId)
        internal
        returns (uint256 steps)
    {
        string memory name = VM.parseJsonString(json, string.concat(key, ".name"));
        _deploy(json, key, engine, chainId);
        steps = VM.parseJsonUint(json, string.concat(key, ".stepCount"));
        for (uint256 s; s < steps; ++s) {
            _replayStep(json, string.concat(key, ".steps[", VM.toString(s), "]"), engine, name);
        }
    }

    /// @dev deployCodeTo: run the creation code (constructor included) at `engine`, then install the
    ///      runtime it returns (immutables, such as the EIP-712 cache, baked in at that address).
    function _deploy(string memory json, string memory key, address engine, uint256 chainId) internal {
        vm.chainId(chainId);
        vm.roll(VM.parseJsonUint(json, string.concat(key, ".deploy.blockNumber")));
        vm.warp(VM.parseJsonUint(json, string.concat(key, ".deploy.timestamp")));
        bytes memory args = VM.parseJsonBytes(json, string.concat(key, ".deploy.constructorArgs"));
        vm.etch(engine, abi.encodePacked(type(MarginEngine).creationCode, args));
        (bool ok, bytes memory runtime) = engine.call("");
        assertTrue(ok, "constructor reverted");
        vm.etch(engine, runtime);
    }

    function _replayStep(string memory json, string memory key, address engine, string memory name) internal {
        string memory label = string.concat(name, " / ", VM.parseJsonString(json, string.concat(key, ".label")));
        vm.roll(VM.parseJsonUint(json, string.concat(key, ".blockNumber")));
        vm.warp(VM.parseJsonUint(json, string.concat(key, ".timestamp")));
        address sender = VM.parseJsonAddress(json, string.concat(key, ".sender"));
        bytes memory data = VM.parseJsonBytes(json, string.concat(key, ".calldata"));
        VM.recordLogs();
        vm.prank(sender);
        (bool ok, bytes memory ret) = engine.call(data);
        // forge records logs of reverted frames too; a reverted call leaves none on chain.
        VmExt.Log[] memory logs = VM.getRecordedLogs();
        if (!ok) logs = new VmExt.Log[](0);

        assertEq(ok, VM.parseJsonBool(json, string.concat(key, ".success")), string.concat(label, ": success"));
        assertEq(ret, VM.parseJsonBytes(json, string.concat(key, ".returnData")), string.concat(label, ": data"));
        uint256 events = VM.parseJsonUint(json, string.concat(key, ".eventCount"));
        assertEq(logs.length, events, string.concat(label, ": event count"));
        for (uint256 e; e < events; ++e) {
            _checkLog(json, string.concat(key, ".events[", VM.toString(e), "]"), logs[e], engine, label);
        }
    }

    function _checkLog(string memory json, string memory key, VmExt.Log memory log, address engine, string memory label)
        internal
    {
        string memory el = string.concat(label, ": ", key);
        assertEq(log.emitter, engine, el);
        bytes32[] memory topics = VM.parseJsonBytes32Array(json, string.concat(key, ".topics"));
        assertEq(log.topics.length, topics.length, el);
        for (uint256 t; t < topics.length; ++t) {
            assertEq(log.topics[t], topics[t], el);
        }
        assertEq(log.data, VM.parseJsonBytes(json, string.concat(key, ".data")), el);
    }

    function _endsWith(string memory s, string memory suffix) internal pure returns (bool) {
        bytes memory a = bytes(s);
        bytes memory b = bytes(suffix);
        if (a.length < b.length) return false;
        for (uint256 i; i < b.length; ++i) {
            if (a[a.length - b.length + i] != b[i]) return false;
        }
        return true;
    }
}
