// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineBase} from "./utils/EngineBase.sol";
import {MarginEngine} from "../src/MarginEngine.sol";
import {IMarginEngine, IMarginEngineErrors as E, ParamChange} from "@interfaces/IMarginEngine.sol";

/// @dev The parts of Safe 1.4.1 and its proxy factory the test calls.
interface ISafe {
    function setup(
        address[] calldata owners,
        uint256 threshold,
        address to,
        bytes calldata data,
        address fallbackHandler,
        address paymentToken,
        uint256 payment,
        address payable paymentReceiver
    ) external;

    function execTransaction(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address payable refundReceiver,
        bytes memory signatures
    ) external payable returns (bool);

    function getTransactionHash(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address refundReceiver,
        uint256 nonce
    ) external view returns (bytes32);

    function nonce() external view returns (uint256);
    function getThreshold() external view returns (uint256);
    function VERSION() external view returns (string memory);
}

interface ISafeProxyFactory {
    function createProxyWithNonce(address singleton, bytes memory initializer, uint256 saltNonce)
        external
        returns (address proxy);
}

/// @title A real Safe 1.4.1 (the npm package's compiled artifacts, deployed as they are) administers the
///        engine: a 2-of-3 queues and executes a weight change; one owner alone cannot.
contract SafeAdminTest is EngineBase {
    string internal constant ARTIFACTS = "node_modules/@safe-global/safe-contracts/build/artifacts/contracts/";

    ISafe internal safe;
    uint256[3] internal ownerKeys = [uint256(0x0A11), 0x0B22, 0x0C33];
    address[] internal owners;

    function _deployArtifact(string memory path) internal returns (address deployed) {
        bytes memory code = VM.parseJsonBytes(VM.readFile(string.concat(ARTIFACTS, path)), ".bytecode");
        assembly {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), "deploy failed");
    }

    function setUp() public override {
        super.setUp();
        address singleton = _deployArtifact("Safe.sol/Safe.json");
        ISafeProxyFactory factory =
            ISafeProxyFactory(_deployArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json"));
        for (uint256 i; i < 3; ++i) {
            owners.push(vm.addr(ownerKeys[i]));
        }
        bytes memory init =
            abi.encodeCall(ISafe.setup, (owners, 2, address(0), "", address(0), address(0), 0, payable(address(0))));
        safe = ISafe(factory.createProxyWithNonce(singleton, init, 0));
        assertEq(safe.VERSION(), "1.4.1");
        assertEq(safe.getThreshold(), 2);
        // the engine with the Safe as admin
        address[] memory assets = new address[](1);
        assets[0] = address(weth);
        uint8[] memory decimals = new uint8[](1);
        decimals[0] = 18;
        uint16[] memory weights = new uint16[](1);
        weights[0] = 9_000;
        engine = IMarginEngine(
            address(
                new MarginEngine(
                    address(safe),
                    COUNCIL,
                    GUARDIAN,
                    keeperAddrs,
                    2,
                    _params(),
                    assets,
                    decimals,
                    weights,
                    new address[](0)
                )
            )
        );
    }

    /// @dev Owners' ECDSA signatures over the Safe transaction hash, sorted by owner address.
    function _signatures(bytes32 txHash, uint256[] memory keys) internal returns (bytes memory sigs) {
        // sort keys by address
        for (uint256 i = 1; i < keys.length; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(keys[j]) < vm.addr(keys[j - 1]); --j) {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
        for (uint256 i; i < keys.length; ++i) {
            sigs = bytes.concat(sigs, _signWith(txHash, keys[i]));
        }
    }

    function _exec(bytes memory data, uint256[] memory keys) internal returns (bool) {
        bytes32 h = safe.getTransactionHash(address(engine), 0, data, 0, 0, 0, 0, address(0), address(0), safe.nonce());
        return safe.execTransaction(
            address(engine), 0, data, 0, 0, 0, 0, address(0), payable(address(0)), _signatures(h, keys)
        );
    }

    function _keys(uint256 a, uint256 b) internal view returns (uint256[] memory k) {
        k = new uint256[](2);
        k[0] = ownerKeys[a];
        k[1] = ownerKeys[b];
    }

    function test_SafeTwoOfThreeQueuesAndExecutesAWeightChange() public {
        ParamChange memory c = ParamChange(0, address(weth), 9_500); // raising a weight: loosening, queued
        uint64 eta = uint64(block.timestamp + 3_600);
        bytes32 id = keccak256(abi.encode(c.kind, c.target, c.value, eta));

        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeQueued(id, 0, address(weth), 9_500, eta);
        assertTrue(_exec(abi.encodeCall(IMarginEngine.proposeChange, (c)), _keys(0, 2)));
        assertEq(engine.queuedChangeEta(id), eta);

        vm.warp(eta);
        // execution is open to anyone, but here the Safe runs it too (owners 1 and 2)
        vm.expectEmit(true, true, true, true, address(engine));
        emit ChangeApplied(id, 0, address(weth), 9_500);
        assertTrue(_exec(abi.encodeCall(IMarginEngine.executeChange, (c, eta)), _keys(1, 2)));
        assertEq(engine.collateralInfo(address(weth)).weightBps, 9_500);
    }

    function test_OneOwnerAloneCannot() public {
        ParamChange memory c = ParamChange(0, address(weth), 9_500);
        bytes memory data = abi.encodeCall(IMarginEngine.proposeChange, (c));
        // directly: the owner is not the admin
        vm.prank(owners[0]);
        vm.expectRevert(abi.encodeWithSelector(E.NotAdmin.selector, owners[0]));
        engine.proposeChange(c);
        // through the Safe with one signature: below threshold (GS020: signatures too short)
        uint256[] memory one = new uint256[](1);
        one[0] = ownerKeys[0];
        bytes32 h = safe.getTransactionHash(address(engine), 0, data, 0, 0, 0, 0, address(0), address(0), safe.nonce());
        bytes memory sig = _signatures(h, one);
        vm.prank(owners[0]);
        vm.expectRevert(bytes("GS020"));
        safe.execTransaction(address(engine), 0, data, 0, 0, 0, 0, address(0), payable(address(0)), sig);
        // one owner's signature twice does not count twice (GS026: owners not ascending / duplicate)
        vm.expectRevert(bytes("GS026"));
        safe.execTransaction(
            address(engine), 0, data, 0, 0, 0, 0, address(0), payable(address(0)), bytes.concat(sig, sig)
        );
        assertEq(engine.collateralInfo(address(weth)).weightBps, 9_000);
        assertEq(safe.nonce(), 0);
    }
}
