// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

contract SmokeTest is Test {
    function testSign() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(1, keccak256("x"));
        assertEq(ecrecover(keccak256("x"), v, r, s), vm.addr(1));
    }

    function test_RevertWhen_AssertionFails() public {
        vm.expectRevert(bytes("assertion failed"));
        this.failing();
    }

    function failing() external {
        assertEq(uint256(1), uint256(2));
    }
}
