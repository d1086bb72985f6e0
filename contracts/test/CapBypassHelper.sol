// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketEvent} from "../interfaces/ITicketEvent.sol";

/// @title Test only: the cap bypass of issue 9, item 3, as an attacker would deploy it
/// @notice The seller reserves a gift (a price-0 listing or signed order) or a capped listing
/// for this contract; the buyer calls it with any amount. In one transaction it takes the
/// ticket through the market (to gift it on to the buyer later) and forwards the whole amount to the
/// seller, so neither party has to trust the other and the cap means nothing. TicketEvent now
/// refuses a reserved listing or order taken by a contract (`TakerNotExternallyOwned`), so each
/// of these reverts as a whole: no ticket moves and no ETH reaches the seller.
contract CapBypassHelper {
    /// @notice Take a listing reserved for this contract at `price` and pay the seller the rest.
    function takeListing(ITicketEvent ticket, uint256 tokenId, uint256 price, bytes32 commitment, address payable seller)
        external
        payable
    {
        ticket.buy{value: price}(tokenId, commitment);
        _paySeller(seller, msg.value - price);
    }

    /// @notice Take a signed order reserved for this contract and pay the seller the rest.
    function takeOrder(
        ITicketEvent ticket,
        ITicketEvent.OrderTerms calldata terms,
        bytes32 r,
        bytes32 vs,
        bytes32 commitment,
        address payable seller
    ) external payable {
        ticket.buyWithOrder{value: terms.price}(terms, r, vs, commitment);
        _paySeller(seller, msg.value - terms.price);
    }

    function _paySeller(address payable seller, uint256 amount) private {
        (bool ok,) = seller.call{value: amount}("");
        require(ok, "side payment failed");
    }
}
