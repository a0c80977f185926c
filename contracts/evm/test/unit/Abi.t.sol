// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {VmExt} from "../utils/VmExt.sol";

/// @title The engine answers exactly the interface's functions (plus OpenZeppelin EIP712's ERC-5267
///        `eip712Domain()`), read from the compiled artifacts, so no getter slips in unnoticed.
contract AbiTest is Test {
    VmExt internal constant VM = VmExt(address(uint160(uint256(keccak256("hevm cheat code")))));

    function _keys(string memory artifact) internal view returns (string[] memory) {
        return VM.parseJsonKeys(VM.readFile(artifact), ".methodIdentifiers");
    }

    function _has(string[] memory list, string memory item) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (keccak256(bytes(list[i])) == keccak256(bytes(item))) return true;
        }
        return false;
    }

    /// @dev The engine answers its own selectors and passes every other one to its module by
    ///      delegatecall: together they must be exactly the interface, with no selector in both.
    function test_SelectorsAreTheInterfacesPlusEip712Domain() public {
        string[] memory engine = _keys("out/MarginEngine.sol/MarginEngine.json");
        string[] memory module = _keys("out/EngineAdmin.sol/EngineAdmin.json");
        string[] memory iface = _keys("out/IMarginEngine.sol/IMarginEngine.json");
        assertEq(engine.length + module.length, iface.length + 1);
        for (uint256 i; i < iface.length; ++i) {
            assertTrue(_has(engine, iface[i]) != _has(module, iface[i]), iface[i]);
        }
        assertTrue(_has(engine, "eip712Domain()"));
    }
}
