// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Cheatcodes of forge 1.7.1 that forge-std 1.1.2's `Vm` does not declare.
/// @dev Same address as `vm` (HEVM_ADDRESS); declare only what the tests use.
interface VmExt {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    struct DirEntry {
        string errorMessage;
        string path;
        uint64 depth;
        bool isDir;
        bool isSymlink;
    }

    // files and JSON
    function readFile(string calldata path) external view returns (string memory);
    function readDir(string calldata path) external view returns (DirEntry[] memory);
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
    function toString(uint256 value) external pure returns (string memory);
    function parseJsonKeys(string calldata json, string calldata key) external pure returns (string[] memory);

    // logs
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    function expectEmit() external;
    function expectEmit(address emitter) external;

    // state
    function snapshotState() external returns (uint256);
    function revertToState(uint256 id) external returns (bool);
    function revertToStateAndDelete(uint256 id) external returns (bool);
    function getBlockNumber() external view returns (uint256);
    function getBlockTimestamp() external view returns (uint256);

    // gas snapshots (written to snapshots/<group>.json; FORGE_SNAPSHOT_CHECK=true compares)
    function snapshotGasLastCall(string calldata group, string calldata name) external returns (uint256);
    function snapshotValue(string calldata group, string calldata name, uint256 value) external;
    function startSnapshotGas(string calldata group, string calldata name) external;
    function stopSnapshotGas() external returns (uint256);
    function pauseGasMetering() external;
    function cool(address target) external;
    function resumeGasMetering() external;

    // misc
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
}
