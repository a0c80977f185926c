// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

/// @dev JSON cheatcodes newer than forge-std 1.1.2's Vm interface.
interface CrossCheckVm {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonInt(string calldata json, string calldata key) external pure returns (int256);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function toString(uint256 value) external pure returns (string memory);
    function parseUint(string calldata value) external pure returns (uint256);
    function parseInt(string calldata value) external pure returns (int256);
}

/// @title Independent cross-check of the Rust EIP-712 code and k256 keeper signer.
/// @notice tests/vectors/eip712.json is written by the Rust side (margin-types). Here Solidity's own
///         abi.encode/keccak256, forge's vm.sign and the ecrecover precompile recompute every struct
///         hash, digest and signature from the type strings and field values. A mismatch fails the build.
contract Eip712CrossCheckTest is Test {
    CrossCheckVm internal constant JSON_VM = CrossCheckVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal json;

    function setUp() public {
        json = JSON_VM.readFile("tests/vectors/eip712.json");
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("CrossMarginEngine"),
                keccak256("1"),
                JSON_VM.parseJsonUint(json, ".chainId"),
                JSON_VM.parseJsonAddress(json, ".engine")
            )
        );
    }

    function _item(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".items[", JSON_VM.toString(i), "].", field);
    }

    /// @dev typeHash, account, positionsNonce, riskEpoch, observedBlock: the shared head of
    ///      MarginReport and LiquidationStep.
    function _header(bytes32 typeHash, uint256 i) internal view returns (bytes memory) {
        return abi.encode(
            typeHash,
            JSON_VM.parseJsonAddress(json, _item(i, "fields.account")),
            uint48(JSON_VM.parseJsonUint(json, _item(i, "fields.positionsNonce"))),
            uint32(JSON_VM.parseJsonUint(json, _item(i, "fields.riskEpoch"))),
            uint48(JSON_VM.parseJsonUint(json, _item(i, "fields.observedBlock")))
        );
    }

    function _structHash(uint256 i) internal view returns (bytes32) {
        bytes32 typeHash = keccak256(bytes(JSON_VM.parseJsonString(json, _item(i, "typeString"))));
        string memory kind = JSON_VM.parseJsonString(json, _item(i, "type"));
        bytes32 k = keccak256(bytes(kind));
        if (k == keccak256("MarginReport")) {
            // Static fields encode to consecutive words: two halves keep the stack shallow.
            return keccak256(
                bytes.concat(
                    _header(typeHash, i),
                    abi.encode(
                        int128(JSON_VM.parseInt(JSON_VM.parseJsonString(json, _item(i, "fields.portfolioValue")))),
                        uint128(JSON_VM.parseUint(JSON_VM.parseJsonString(json, _item(i, "fields.initialMargin")))),
                        uint128(JSON_VM.parseUint(JSON_VM.parseJsonString(json, _item(i, "fields.maintenanceMargin"))))
                    )
                )
            );
        }
        if (k == keccak256("PriceReport")) {
            return keccak256(
                abi.encode(
                    typeHash,
                    JSON_VM.parseJsonAddress(json, _item(i, "fields.asset")),
                    uint128(JSON_VM.parseUint(JSON_VM.parseJsonString(json, _item(i, "fields.price")))),
                    uint48(JSON_VM.parseJsonUint(json, _item(i, "fields.observedBlock")))
                )
            );
        }
        if (k == keccak256("LiquidationStep")) {
            return keccak256(
                bytes.concat(
                    _header(typeHash, i),
                    abi.encode(
                        JSON_VM.parseJsonBytes32(json, _item(i, "fields.instrumentId")),
                        int128(JSON_VM.parseInt(JSON_VM.parseJsonString(json, _item(i, "fields.size")))),
                        uint128(JSON_VM.parseUint(JSON_VM.parseJsonString(json, _item(i, "fields.markPrice"))))
                    )
                )
            );
        }
        if (k == keccak256("ReportBatch")) {
            return keccak256(
                abi.encode(
                    typeHash,
                    JSON_VM.parseJsonBytes32(json, _item(i, "fields.root")),
                    uint48(JSON_VM.parseJsonUint(json, _item(i, "fields.observedBlock"))),
                    uint32(JSON_VM.parseJsonUint(json, _item(i, "fields.riskEpoch"))),
                    uint32(JSON_VM.parseJsonUint(json, _item(i, "fields.count")))
                )
            );
        }
        revert(string.concat("unknown type ", kind));
    }

    function test_DomainSeparatorMatchesRust() public {
        assertEq(_domainSeparator(), JSON_VM.parseJsonBytes32(json, ".domainSeparator"));
    }

    function test_EveryTypeHashesSignsAndRecoversLikeRust() public {
        uint256 count = JSON_VM.parseJsonUint(json, ".itemCount");
        assertEq(count, 4, "one item per signed type");
        uint256 key = JSON_VM.parseUint(JSON_VM.parseJsonString(json, ".keys[0].privateKey"));
        bytes32 domainSeparator = _domainSeparator();
        for (uint256 i = 0; i < count; i++) {
            bytes32 structHash = _structHash(i);
            assertEq(structHash, JSON_VM.parseJsonBytes32(json, _item(i, "structHash")), "struct hash");
            assertEq(
                keccak256(bytes(JSON_VM.parseJsonString(json, _item(i, "typeString")))),
                JSON_VM.parseJsonBytes32(json, _item(i, "typeHash")),
                "type hash"
            );
            bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
            assertEq(digest, JSON_VM.parseJsonBytes32(json, _item(i, "digest")), "digest");

            // forge's signer (RFC 6979, low-s) must produce the very signature k256 produced.
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            bytes memory rustSignature = JSON_VM.parseJsonBytes(json, _item(i, "signature"));
            assertEq0(rustSignature, abi.encodePacked(r, s, v));
            address signer = JSON_VM.parseJsonAddress(json, _item(i, "signer"));
            assertEq(vm.addr(key), signer, "address derivation");
            assertEq(ecrecover(digest, v, r, s), signer, "ecrecover");
        }
    }
}
