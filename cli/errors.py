"""Plain one-line messages for the errors a user meets, contract reverts first.

The contract's custom errors (``chain.errors``) carry their arguments; here they become sentences
("price 0.1 ETH is above this ticket's resale cap of 0.055 ETH"). Anything unmapped keeps the
error's own message, which Fairgate builds from public data only (never a key or a secret).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cli.output import format_amount, format_eth
from cli.wallets import current_wallet
from fairgate.errors import ChainError, ContractRevert, TicketError

__all__ = ["explain", "no_funds", "sold_out", "unreachable"]

_ROLES = {0: "the organizer", 1: "a minter (or the organizer)", 2: "a gate (or the organizer)"}


def _v(exc: ContractRevert, name: str) -> Any:
    values: dict[str, Any] = getattr(exc, "values", {})
    return values.get(name)


_MESSAGES: dict[str, Callable[[ContractRevert], str]] = {
    "PriceAboveCap": lambda e: (
        f"price {format_amount(_v(e, 'price'))} is above this ticket's resale cap of "
        f"{format_amount(_v(e, 'cap'))}"
    ),
    "ResaleClosed": lambda e: f"resale of ticket {_v(e, 'tokenId')} is closed",
    "SoldOut": lambda e: sold_out(
        f"tier {_v(e, 'tierId')}", int(_v(e, "requested")), int(_v(e, "remaining"))
    ),
    "UnknownTier": lambda e: f"tier {_v(e, 'tierId')} does not exist in this event",
    "NonexistentTicket": lambda e: f"ticket {_v(e, 'tokenId')} does not exist",
    "NotTicketHolder": lambda e: f"ticket {_v(e, 'tokenId')} is not held by {_v(e, 'caller')}",
    "NotAuthorized": lambda e: f"{_v(e, 'caller')} may not move ticket {_v(e, 'tokenId')}",
    "NotListed": lambda e: f"ticket {_v(e, 'tokenId')} is not listed for sale",
    "ReservedForAnother": lambda e: (
        f"ticket {_v(e, 'tokenId')} is reserved for {_v(e, 'reservedFor')}"
    ),
    "WrongPayment": lambda e: (
        f"payment of {format_eth(_v(e, 'sent'))} does not match the price "
        f"{format_eth(_v(e, 'expected'))}"
        if int(_v(e, "expected")) or int(_v(e, "sent")) == 0
        else f"no ETH is due here (a gift, or an event paid in a token) but "
        f"{format_eth(_v(e, 'sent'))} was sent"
    ),
    "FeeOnTransferToken": lambda e: (
        f"the event's token {_v(e, 'token')} delivered {_v(e, 'received')} of "
        f"{_v(e, 'expected')} units sent: a fee-on-transfer token cannot back refunds, so the "
        "contract refuses it"
    ),
    "PaymentFailed": lambda e: (
        f"paying {format_amount(_v(e, 'amount'))} to {_v(e, 'to')} failed (the receiver or the "
        "token refused it)"
    ),
    "UnsupportedCurrency": lambda e: (
        "this event is paid in ETH: a token permit does not apply"
        if int(str(_v(e, "currency")), 16) == 0
        else f"{_v(e, 'currency')} is not an ERC-20 token this event can settle in"
    ),
    "MissingRole": lambda e: (
        f"{_v(e, 'account')} is not allowed to do this: it needs to be "
        f"{_ROLES.get(int(_v(e, 'role')), 'a role holder')} of the event"
    ),
    "EventCancelled": lambda e: "the event is cancelled",
    "EventNotCancelled": lambda e: "the event is not cancelled: refunds are closed",
    "SalesClosed": lambda e: "sales are closed: the event has ended",
    "SelfPurchase": lambda e: "you cannot buy your own ticket",
    "GiftNeedsRecipient": lambda e: "a price of 0 is only allowed as a gift to a named address",
    "TicketLocked": lambda e: f"ticket {_v(e, 'tokenId')} is locked",
    "TransferOutsideMarket": lambda e: "this event allows moving tickets only through its market",
    "NothingToWithdraw": lambda e: "nothing to withdraw",
    "NotRefundable": lambda e: (
        f"ticket {_v(e, 'tokenId')} was not bought with ETH or on the market: card buyers are "
        "refunded by the bridge"
    ),
    "PriceBelowFace": lambda e: (
        f"a card ticket's first resale must be at least at face value "
        f"({format_amount(_v(e, 'faceValue'))}): its price is held until the event has happened"
    ),
    "TakerNotExternallyOwned": lambda e: (
        "a reserved listing or gift is taken by its own wallet, not through a contract"
    ),
    "StillHeld": lambda e: (
        f"the sale price of ticket {_v(e, 'tokenId')} is held until the event has happened"
    ),
    "RefundDeadlinePassed": lambda e: "the refund deadline of this cancelled event has passed",
    "UnknownRoot": lambda e: "that gate tree root is not published (or expired)",
    "NullifierUsed": lambda e: "this ticket has already entered",
    "InvalidParameter": lambda e: f"the contract refused the parameter: {_v(e, 'what')}",
    "InvalidReceiver": lambda e: f"{_v(e, 'receiver')} cannot receive tickets",
}


FUND_HINT = "fund this wallet: fairgate dev fund {name}"
START_HINT = "start the stack: fairgate dev up"
_NO_FUNDS = ("insufficient funds", "sender doesn't have enough funds", "exceeds balance")
_UNREACHABLE = ("unreachable", "connection refused", "max retries exceeded")


def sold_out(tier: str, requested: int, remaining: int) -> str:
    """ "only 3 left" when some are left, "sold out" when none are (``tier``: its label)."""
    if remaining <= 0:
        return f"{tier} is sold out"
    return f"only {remaining} left in {tier} ({requested} asked): ask for {remaining} or fewer"


def no_funds() -> str:
    """The line for a transaction the wallet cannot pay for, naming the wallet to fund."""
    wallet = current_wallet()
    if wallet is None:
        return "this wallet has not enough ETH for the transaction and its gas"
    name, address = wallet
    return (
        f"wallet {name} ({address}) has not enough ETH for this transaction and its gas: "
        + FUND_HINT.format(name=name)
    )


def unreachable(what: str) -> str:
    return f'{what}: {START_HINT} (and eval "$(fairgate dev env)")'


def explain(exc: TicketError) -> str:
    """One plain line for ``exc``."""
    text = exc.message.lower()
    chain_failure = isinstance(exc, ChainError) and not isinstance(exc, ContractRevert)
    if chain_failure and any(marker in text for marker in _NO_FUNDS):
        return no_funds()
    network = isinstance(exc, ChainError) or exc.code == "bridge_error"
    if network and any(marker in text for marker in _UNREACHABLE):
        return unreachable(exc.message)
    if isinstance(exc, ContractRevert):
        name = getattr(exc, "error_name", "")
        render = _MESSAGES.get(name)
        if render is not None:
            try:
                return render(exc)
            except (TypeError, ValueError):
                pass
        return f"the contract refused: {exc.message}"
    return exc.message
