// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ITicketErrors} from "../interfaces/ITicketErrors.sol";

/// @title The one road of money in and out of an event, in its currency: ETH or an ERC-20
/// @notice `currency` is address(0) for ETH, else the ERC-20 token. Amounts are in the
/// currency's smallest unit (wei, or the token's base unit: 6 decimals for USDC).
/// - `collect`: the caller pays `amount`. ETH: `msg.value` must equal it. A token: `msg.value`
///   must be zero and the token moves from the caller (who approved this contract, or signed an
///   EIP-2612 permit, see `permit`); a token that delivers anything but the amount sent (a
///   fee-on-transfer or rebasing token) is refused with `FeeOnTransferToken`.
/// - `push`: pay without letting the receiver block the caller; false when the payment failed
///   (the caller then credits a pull balance). ETH goes with bounded gas, so a receiving contract
///   cannot re-enter; a token transfer that reverts or returns false (a blocklisted receiver)
///   fails the same way.
/// - `send`: pay or revert (`PaymentFailed`): withdrawals and refunds, to a receiver of the
///   caller's choosing.
/// - `balance`: this contract's holding of the currency.
/// Tokens that return no boolean (USDT) are handled through OpenZeppelin's SafeERC20.
library Settlement {
    using SafeERC20 for IERC20;

    /// @dev Gas forwarded with an ETH push: enough for a wallet to log, far too little to re-enter.
    uint256 internal constant PUSH_GAS = 10_000;

    function collect(address currency, address from, uint256 amount) internal {
        if (currency == address(0)) {
            if (msg.value != amount) revert ITicketErrors.WrongPayment(msg.value, amount);
            return;
        }
        if (msg.value != 0) revert ITicketErrors.WrongPayment(msg.value, 0);
        if (amount == 0) return;
        IERC20 token = IERC20(currency);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert ITicketErrors.FeeOnTransferToken(currency, amount, received);
    }

    /// @dev Let `owner`'s EIP-2612 signature approve this contract for `amount`. A failed permit
    /// is ignored (someone may have submitted the same signature first): `collect` then finds the
    /// allowance, or reverts for the lack of it.
    function permit(address currency, address owner, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        internal
    {
        if (currency == address(0)) revert ITicketErrors.UnsupportedCurrency(currency);
        try IERC20Permit(currency).permit(owner, address(this), amount, deadline, v, r, s) {} catch {}
    }

    function push(address currency, address to, uint256 amount) internal returns (bool ok) {
        if (amount == 0) return true;
        if (currency != address(0)) return IERC20(currency).trySafeTransfer(to, amount);
        assembly ("memory-safe") {
            ok := call(PUSH_GAS, to, amount, 0, 0, 0, 0)
        }
    }

    function send(address currency, address to, uint256 amount) internal {
        bool ok;
        if (currency == address(0)) {
            (ok,) = payable(to).call{value: amount}("");
        } else {
            ok = IERC20(currency).trySafeTransfer(to, amount);
        }
        if (!ok) revert ITicketErrors.PaymentFailed(to, amount);
    }

    function balance(address currency) internal view returns (uint256) {
        return currency == address(0) ? address(this).balance : IERC20(currency).balanceOf(address(this));
    }
}
