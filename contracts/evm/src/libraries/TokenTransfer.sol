// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarginEngineErrors} from "@interfaces/IMarginEngine.sol";

/// @title ERC-20 transfers with SafeERC20 semantics and the interface's error.
/// @notice A call succeeds iff it does not revert and either returns nothing from an account with
///         code (tokens without a boolean, e.g. USDT) or returns a first word equal to 1. A `false`,
///         a short (1..31 byte) return, a revert, or no code at `token` is `TokenTransferFailed(token)`.
/// @dev Why not OpenZeppelin `SafeERC20`: it reverts with its own `SafeERC20FailedOperation`, and the
///      interface demands `TokenTransferFailed(token)` from both implementations; it also reads a
///      short return as a word of scratch memory, where the Stylus twin fails. Only the first word
///      of the return data is copied (a token cannot make the engine pay for a huge return).
library TokenTransfer {
    function transfer(address token, address to, uint256 amount) internal {
        _call(token, abi.encodeWithSelector(0xa9059cbb, to, amount));
    }

    function transferFrom(address token, address from, address to, uint256 amount) internal {
        _call(token, abi.encodeWithSelector(0x23b872dd, from, to, amount));
    }

    function _call(address token, bytes memory data) private {
        bool ok;
        assembly ("memory-safe") {
            mstore(0, 0)
            let success := call(gas(), token, 0, add(data, 0x20), mload(data), 0, 0x20)
            let size := returndatasize()
            switch size
            case 0 { ok := and(success, gt(extcodesize(token), 0)) }
            default { ok := and(success, and(iszero(lt(size, 0x20)), eq(mload(0), 1))) }
        }
        if (!ok) revert IMarginEngineErrors.TokenTransferFailed(token);
    }
}
