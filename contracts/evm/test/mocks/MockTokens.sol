// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A plain ERC-20 (returns true, reverts on failure) with open minting for tests.
contract MockERC20 {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, uint8 decimals_) {
        name = name_;
        symbol = name_;
        decimals = decimals_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external virtual returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external virtual returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }

    function _spend(address from, uint256 amount) internal {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "allowance");
            allowance[from][msg.sender] = allowed - amount;
        }
    }

    function _move(address from, address to, uint256 amount) internal {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

/// @notice A USDT-style token: transfer and transferFrom return nothing (and revert on failure).
contract NoBoolToken is MockERC20 {
    constructor() MockERC20("NOBOOL", 6) {}

    function transfer(address to, uint256 amount) external override returns (bool) {
        _move(msg.sender, to, amount);
        assembly {
            return(0, 0)
        }
    }

    function transferFrom(address from, address to, uint256 amount) external override returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        assembly {
            return(0, 0)
        }
    }
}

/// @notice A token that never reverts: it returns false when the transfer cannot happen, or whenever
///         `failAll` is set (then moving nothing).
contract FalseToken is MockERC20 {
    bool public failAll;

    constructor() MockERC20("FALSE", 18) {}

    function setFailAll(bool fail) external {
        failAll = fail;
    }

    function transfer(address to, uint256 amount) external override returns (bool) {
        if (failAll || balanceOf[msg.sender] < amount) return false;
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external override returns (bool) {
        if (failAll || balanceOf[from] < amount || allowance[from][msg.sender] < amount) return false;
        _spend(from, amount);
        _move(from, to, amount);
        return true;
    }
}

/// @notice Returns a short (one-byte) answer: neither empty nor a word, so a failure.
contract ShortReturnToken is MockERC20 {
    constructor() MockERC20("SHORT", 18) {}

    function transferFrom(address from, address to, uint256 amount) external override returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        assembly {
            mstore(0, shl(248, 1))
            return(0, 1)
        }
    }
}

/// @notice Calls back into `target` with `callbackData` during a transfer (a malicious token).
contract ReentrantToken is MockERC20 {
    address public target;
    bytes public callbackData;
    bool public callbackOk;
    bytes public callbackResult;

    constructor() MockERC20("REENTER", 18) {}

    function arm(address target_, bytes calldata data) external {
        target = target_;
        callbackData = data;
    }

    function transferFrom(address from, address to, uint256 amount) external override returns (bool) {
        _spend(from, amount);
        _move(from, to, amount);
        _callback();
        return true;
    }

    function transfer(address to, uint256 amount) external override returns (bool) {
        _move(msg.sender, to, amount);
        _callback();
        return true;
    }

    function _callback() internal {
        if (target == address(0)) return;
        (callbackOk, callbackResult) = target.call(callbackData);
    }
}
