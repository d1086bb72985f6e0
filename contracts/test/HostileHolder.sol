// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

/// @title Test only: a ticket holder contract that misbehaves on purpose
/// @notice It forwards any call to a target (so it can hold, list and buy tickets), and when it
/// receives ETH or a token it replays `reentryCall` against the target, or reverts when told to.
/// The tests use it to prove that re-entering the market, refunds and withdrawals gains nothing.
contract HostileHolder is IERC721Receiver {
    address public target;
    bytes public reentryCall;
    bool public rejectPayments;
    bool public reentered;
    bool public reentrySucceeded;
    /// @notice The revert data of a failed re-entry (the custom error that stopped it).
    bytes public reentryError;

    constructor(address target_) {
        target = target_;
    }

    /// @notice Configure the misbehaviour.
    function configure(bytes calldata reentryCall_, bool rejectPayments_) external {
        reentryCall = reentryCall_;
        rejectPayments = rejectPayments_;
    }

    /// @notice Call the target with this contract as the sender.
    function act(bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }

    /// @notice Several calls to the target in one transaction, one after the other: a lock that a
    /// call failed to release would refuse the next (transient storage lasts the transaction).
    function actAll(bytes[] calldata calls) external payable {
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory ret) = target.call(calls[i]);
            if (!ok) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
    }

    /// @notice Call another contract as this one (e.g. approve the event's settlement token).
    function actOn(address to, bytes calldata data) external {
        (bool ok, bytes memory ret) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    receive() external payable {
        if (rejectPayments) revert("no thanks");
        _reenter();
    }

    /// @inheritdoc IERC721Receiver
    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _reenter();
        return IERC721Receiver.onERC721Received.selector;
    }

    function _reenter() private {
        if (reentryCall.length == 0 || reentered) return;
        reentered = true;
        (bool ok, bytes memory ret) = target.call(reentryCall);
        reentrySucceeded = ok;
        if (!ok) reentryError = ret;
    }
}
