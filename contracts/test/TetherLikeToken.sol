// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TetherLikeToken: an ERC-20 as USDT is, for tests only
/// @notice `transfer`, `transferFrom` and `approve` return nothing (not the standard's bool), so a
/// caller that decodes a bool reverts: TicketEvent must use SafeERC20. A blocklist (USDT and USDC
/// both keep one) makes transfers to or from a blocked account revert, which is how a seller's
/// push payment in a token can fail and fall back to a pull balance. 6 decimals; anyone mints.
contract TetherLikeToken {
    string public constant name = "Tether-like USD";
    string public constant symbol = "TUSD";
    uint8 public constant decimals = 6;

    uint256 public totalSupply;
    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;
    mapping(address account => bool) public blocked;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event BlockedSet(address indexed account, bool blocked);

    error Blocked(address account);
    error InsufficientBalance(address account);
    error InsufficientAllowance(address spender);

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
        emit BlockedSet(account, isBlocked);
    }

    function transfer(address to, uint256 amount) external {
        _transfer(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < amount) revert InsufficientAllowance(msg.sender);
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _transfer(from, to, amount);
    }

    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
    }

    function _transfer(address from, address to, uint256 amount) private {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        if (balanceOf[from] < amount) revert InsufficientBalance(from);
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
