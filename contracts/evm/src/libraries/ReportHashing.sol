// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReportBatch, PriceReport, MarginReport, LiquidationStep} from "@interfaces/IMarginEngine.sol";

/// @title EIP-712 struct hashes and batch leaves of the signed types (see the interface header).
/// @notice leaf = keccak256(abi.encodePacked(uint8 kind, hashStruct(item))), kind 1 price, 2 margin
///         report, 3 liquidation step.
/// @dev Why assembly rather than `keccak256(abi.encode(...))`: a batch hashes one struct per leaf, and
///      `abi.encode` allocates fresh memory each time (memory grows with the batch and is never
///      reused). Here every field is first read through Solidity (so calldata is validated exactly
///      as the ABI decoder would) and then written to scratch memory past the free-memory pointer,
///      which is hashed and left unallocated. Equality with `abi.encode` is tested in
///      `test/unit/Hashing.t.sol`.
library ReportHashing {
    bytes32 internal constant REPORT_BATCH_TYPEHASH =
        keccak256("ReportBatch(bytes32 root,uint48 observedBlock,uint32 riskEpoch,uint32 count)");
    bytes32 internal constant PRICE_REPORT_TYPEHASH =
        keccak256("PriceReport(address asset,uint128 price,uint48 observedBlock)");
    bytes32 internal constant MARGIN_REPORT_TYPEHASH = keccak256(
        "MarginReport(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,int128 portfolioValue,uint128 initialMargin,uint128 maintenanceMargin)"
    );
    bytes32 internal constant LIQUIDATION_STEP_TYPEHASH = keccak256(
        "LiquidationStep(address account,uint48 positionsNonce,uint32 riskEpoch,uint48 observedBlock,bytes32 instrumentId,int128 size,uint128 markPrice)"
    );

    uint8 internal constant LEAF_PRICE = 1;
    uint8 internal constant LEAF_MARGIN = 2;
    uint8 internal constant LEAF_LIQUIDATION = 3;

    function batchHash(ReportBatch calldata b) internal pure returns (bytes32 h) {
        bytes32 root = b.root;
        uint48 observedBlock = b.observedBlock;
        uint32 riskEpoch = b.riskEpoch;
        uint32 count = b.count;
        bytes32 typehash = REPORT_BATCH_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), root)
            mstore(add(m, 0x40), observedBlock)
            mstore(add(m, 0x60), riskEpoch)
            mstore(add(m, 0x80), count)
            h := keccak256(m, 0xa0)
        }
    }

    function priceLeaf(PriceReport calldata p) internal pure returns (bytes32 leaf) {
        address asset = p.asset;
        uint128 price = p.price;
        uint48 observedBlock = p.observedBlock;
        bytes32 typehash = PRICE_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), asset)
            mstore(add(m, 0x40), price)
            mstore(add(m, 0x60), observedBlock)
            let h := keccak256(m, 0x80)
            mstore8(m, 1)
            mstore(add(m, 1), h)
            leaf := keccak256(m, 33)
        }
    }

    function marginLeaf(MarginReport calldata r) internal pure returns (bytes32 leaf) {
        address account = r.account;
        uint48 nonce = r.positionsNonce;
        uint32 epoch = r.riskEpoch;
        uint48 observedBlock = r.observedBlock;
        int128 portfolioValue = r.portfolioValue;
        uint128 initialMargin = r.initialMargin;
        uint128 maintenanceMargin = r.maintenanceMargin;
        bytes32 typehash = MARGIN_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), account)
            mstore(add(m, 0x40), nonce)
            mstore(add(m, 0x60), epoch)
            mstore(add(m, 0x80), observedBlock)
            mstore(add(m, 0xa0), signextend(15, portfolioValue))
            mstore(add(m, 0xc0), initialMargin)
            mstore(add(m, 0xe0), maintenanceMargin)
            let h := keccak256(m, 0x100)
            mstore8(m, 2)
            mstore(add(m, 1), h)
            leaf := keccak256(m, 33)
        }
    }

    function liquidationLeaf(LiquidationStep calldata s) internal pure returns (bytes32 leaf) {
        address account = s.account;
        uint48 nonce = s.positionsNonce;
        uint32 epoch = s.riskEpoch;
        uint48 observedBlock = s.observedBlock;
        bytes32 instrumentId = s.instrumentId;
        int128 size = s.size;
        uint128 markPrice = s.markPrice;
        bytes32 typehash = LIQUIDATION_STEP_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), account)
            mstore(add(m, 0x40), nonce)
            mstore(add(m, 0x60), epoch)
            mstore(add(m, 0x80), observedBlock)
            mstore(add(m, 0xa0), instrumentId)
            mstore(add(m, 0xc0), signextend(15, size))
            mstore(add(m, 0xe0), markPrice)
            let h := keccak256(m, 0x100)
            mstore8(m, 3)
            mstore(add(m, 1), h)
            leaf := keccak256(m, 33)
        }
    }
}
