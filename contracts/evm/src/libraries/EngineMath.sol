// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IMarginEngineErrors} from "@interfaces/IMarginEngine.sol";

/// @title Checked fixed-point arithmetic of the engine.
/// @notice Every overflow reverts with the interface's `ArithmeticOverflow()` rather than a
///         `Panic(0x11)`, so the Solidity twin and the Stylus contract fail with the same bytes.
///         Division is OpenZeppelin `Math.mulDiv` (full 512-bit product, rounded toward zero);
///         its own overflow panic is pre-empted by the same test it makes (`high >= d`).
library EngineMath {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant E18 = 1e18;

    /// @dev floor(x * y / d) at full precision; ArithmeticOverflow if it does not fit 256 bits.
    ///      `d` is never zero at the call sites (10**decimals, BPS, 1e18, a non-zero margin).
    function mulDiv(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        (uint256 high,) = Math.mul512(x, y);
        if (high >= d) revert IMarginEngineErrors.ArithmeticOverflow();
        return Math.mulDiv(x, y, d);
    }

    /// @dev sign(a) * floor(|a| * b / d): rounded toward zero.
    function signedMulDiv(int256 a, uint256 b, uint256 d) internal pure returns (int256) {
        int256 magnitude = toInt256(mulDiv(abs(a), b, d));
        return a < 0 ? -magnitude : magnitude;
    }

    function toInt256(uint256 x) internal pure returns (int256) {
        if (x > uint256(type(int256).max)) revert IMarginEngineErrors.ArithmeticOverflow();
        return int256(x);
    }

    function toInt128(int256 x) internal pure returns (int128) {
        if (x < type(int128).min || x > type(int128).max) revert IMarginEngineErrors.ArithmeticOverflow();
        return int128(x);
    }

    function add(int256 a, int256 b) internal pure returns (int256 c) {
        unchecked {
            c = a + b;
        }
        if ((b >= 0) != (c >= a)) revert IMarginEngineErrors.ArithmeticOverflow();
    }

    function sub(int256 a, int256 b) internal pure returns (int256 c) {
        unchecked {
            c = a - b;
        }
        if ((b >= 0) != (c <= a)) revert IMarginEngineErrors.ArithmeticOverflow();
    }

    function mul(int256 a, int256 b) internal pure returns (int256 c) {
        if (a == 0 || b == 0) return 0;
        if ((a == -1 && b == type(int256).min) || (b == -1 && a == type(int256).min)) {
            revert IMarginEngineErrors.ArithmeticOverflow();
        }
        unchecked {
            c = a * b;
        }
        if (c / b != a) revert IMarginEngineErrors.ArithmeticOverflow();
    }

    function addU(uint256 a, uint256 b) internal pure returns (uint256 c) {
        unchecked {
            c = a + b;
        }
        if (c < a) revert IMarginEngineErrors.ArithmeticOverflow();
    }

    function abs(int256 a) internal pure returns (uint256) {
        unchecked {
            // -type(int256).min wraps to itself, whose uint256 reading is 2^255: correct.
            return a < 0 ? uint256(-a) : uint256(a);
        }
    }
}
