// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

/// @title Test only: an ERC-721 receiver contract that accepts, answers the wrong selector, or
/// reverts, for the ERC-721 behaviour suite (tests/contracts/test_erc721_behaviour.py)
contract ERC721ReceiverMock is IERC721Receiver {
    enum Mode {
        Accept,
        WrongSelector,
        RevertWithMessage,
        RevertEmpty
    }

    Mode private immutable _mode;

    /// @notice A token arrived with these arguments (Accept and WrongSelector only).
    event Received(address operator, address from, uint256 tokenId, bytes data);

    constructor(Mode mode_) {
        _mode = mode_;
    }

    /// @inheritdoc IERC721Receiver
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4)
    {
        if (_mode == Mode.RevertWithMessage) revert("receiver refuses");
        if (_mode == Mode.RevertEmpty) revert();
        emit Received(operator, from, tokenId, data);
        return _mode == Mode.WrongSelector ? bytes4(0xdeadbeef) : IERC721Receiver.onERC721Received.selector;
    }
}
