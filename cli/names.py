"""Naming accounts on the command line: a wallet name, ``dev:N``, or an address, wherever an
address is asked (``dev fund alice``, ``fan gift NIGHT1:0 dave``, ``--to carol``).

The wallet last unlocked by a command is remembered for its error messages: a transaction that
fails for lack of ETH then says which wallet to fund, by name (``fairgate dev fund alice``).
"""

from __future__ import annotations

from eth_utils.address import is_address, to_checksum_address

from cli.wallets import (
    NAME_PATTERN,
    current_wallet,
    keystore_address,
    remember_wallet,
    wallet_path,
    wallets_dir,
)
from fairgate.errors import NotFound
from fairgate.settings import Settings

__all__ = ["current_wallet", "remember_wallet", "resolve_account", "wallet_names"]


class UnknownAccount(NotFound):
    """Neither an address nor a wallet of this device."""

    code = "unknown_account"


def wallet_names(settings: Settings) -> list[str]:
    """The names of this device's keystore wallets, sorted."""
    folder = wallets_dir(settings)
    if not folder.is_dir():
        return []
    return sorted(
        p.stem for p in folder.glob("*.json") if p.is_file() and NAME_PATTERN.match(p.stem)
    )


def resolve_account(settings: Settings, text: str, *, what: str = "account") -> str:
    """The checksummed address named by ``text``: an address, ``dev:N``, or a wallet name."""
    ref = text.strip()
    if ref.lower().startswith("0x"):
        if not is_address(ref):
            raise UnknownAccount(f"{what} {ref!r} is not a valid address (0x and 40 hex digits)")
        return to_checksum_address(ref)
    if ref.startswith("dev:"):
        return keystore_address(settings, ref)
    if NAME_PATTERN.match(ref) and wallet_path(settings, ref).is_file():
        return keystore_address(settings, ref)
    known = wallet_names(settings)
    hint = f"wallets here: {', '.join(known)}" if known else "no wallets on this device yet"
    raise UnknownAccount(
        f"{what} {ref!r} is neither an address nor a wallet of this device ({hint}; "
        "see `fairgate fan wallet list`)"
    )
