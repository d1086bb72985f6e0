"""Wallets of the command line: encrypted keystore files and password prompts.

A wallet is a Web3 Secret Storage (v3, scrypt) file ``<home>/wallets/<name>.json`` made by
:mod:`chain.keys` (mode 0600). Passwords are prompted without echo (twice when a keystore is
created), or read from the first line of ``--password-file`` for scripts and tests. The name
``dev:N`` selects account N of the local development mnemonic (Ganache's; refused when
``FAIRGATE_ENV=prod``), so a local organizer needs no keystore.

Nothing here prints or logs a password or a key: :class:`chain.keys.Signer` holds the key, and
passwords travel as :class:`pydantic.SecretStr`.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated

import typer
from eth_utils.address import is_address, to_checksum_address
from pydantic import SecretStr

from chain.keys import (
    DEFAULT_SCRYPT_N,
    Signer,
    create_keystore,
    dev_signer,
    import_private_key,
    load_keystore,
)
from fairgate.errors import KeyStoreError
from fairgate.settings import Settings

__all__ = [
    "PasswordFileOpt",
    "WalletOpt",
    "keystore_address",
    "load_signer",
    "new_wallet",
    "wallet_path",
]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MIN_SCRYPT_N = 2**10
MIN_PASSWORD_LENGTH = 8
PASSWORD_RULE = (
    f"a wallet password needs at least {MIN_PASSWORD_LENGTH} characters: it is all that protects "
    "the key if the keystore file is copied (a short one is guessed offline in minutes)"
)
_PROMPT_TRIES = 3
_CURRENT: ContextVar[tuple[str, str] | None] = ContextVar("fairgate_wallet", default=None)

WalletOpt = Annotated[
    str,
    typer.Option(
        "--wallet",
        "-w",
        envvar="FAIRGATE_WALLET",
        help="Wallet name (a keystore under FAIRGATE_HOME/wallets), or dev:N for a local dev "
        "account.",
    ),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        envvar="FAIRGATE_PASSWORD_FILE",
        help="Read the wallet password from the first line of this file instead of prompting.",
        dir_okay=False,
    ),
]
ScryptOpt = Annotated[
    int,
    typer.Option(
        "--scrypt-n",
        envvar="FAIRGATE_KEYSTORE_SCRYPT_N",
        hidden=True,
        help="scrypt cost of new keystores (tests use a small one; default geth's standard).",
    ),
]


def wallets_dir(settings: Settings) -> Path:
    return settings.home / "wallets"


def wallet_path(settings: Settings, name: str) -> Path:
    """The keystore file of wallet ``name`` (the name is checked: no paths sneak in)."""
    if not NAME_PATTERN.match(name):
        raise KeyStoreError(f"wallet name {name!r} must be 1-40 letters, digits, '-' or '_'")
    return wallets_dir(settings) / f"{name}.json"


def _read_password_file(path: Path) -> SecretStr:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyStoreError(f"cannot read password file {path}: {exc.strerror}") from None
    lines = text.splitlines()
    return SecretStr(lines[0] if lines else "")


def read_password(password_file: Path | None, prompt: str, *, confirm: bool = False) -> SecretStr:
    """The password from the file, or prompted without echo (twice when ``confirm``)."""
    if password_file is not None:
        return _read_password_file(password_file)
    value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return SecretStr(str(value))


def remember_wallet(name: str, address: str) -> None:
    """Record the wallet this command signs with (its name goes into error messages)."""
    _CURRENT.set((name, address))


def current_wallet() -> tuple[str, str] | None:
    """``(name, address)`` of the wallet this command unlocked, if any."""
    return _CURRENT.get()


def _weak(password: SecretStr) -> bool:
    return len(password.get_secret_value()) < MIN_PASSWORD_LENGTH


def read_new_password(password_file: Path | None, name: str) -> SecretStr:
    """A new wallet's password: from the file, or prompted twice; refused when too short, with
    the reason (an empty answer is refused the same way, never re-asked silently)."""
    if password_file is not None:
        password = _read_password_file(password_file)
        if _weak(password):
            raise KeyStoreError(f"the password in {password_file} is too short: {PASSWORD_RULE}")
        return password
    for _ in range(_PROMPT_TRIES):
        value = typer.prompt(
            f"New password for wallet {name} (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
            default="",
            show_default=False,
        )
        password = SecretStr(str(value))
        if not _weak(password):
            return password
        typer.echo(f"too short: {PASSWORD_RULE}", err=True)
    raise KeyStoreError(f"no wallet created: {PASSWORD_RULE}")


def _check_scrypt(scrypt_n: int) -> int:
    if scrypt_n < MIN_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise KeyStoreError(f"scrypt N must be a power of two >= {MIN_SCRYPT_N}")
    return scrypt_n


def new_wallet(
    settings: Settings,
    name: str,
    password_file: Path | None,
    *,
    private_key: SecretStr | None = None,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> Signer:
    """Create (or import ``private_key`` into) the keystore of wallet ``name``."""
    path = wallet_path(settings, name)
    if path.exists():
        raise KeyStoreError(f"wallet {name!r} already exists ({path})")
    password = read_new_password(password_file, name)
    if private_key is not None:
        return import_private_key(path, private_key, password, scrypt_n=_check_scrypt(scrypt_n))
    return create_keystore(path, password, scrypt_n=_check_scrypt(scrypt_n))


def keystore_address(settings: Settings, name: str) -> str:
    """The wallet's address, read from its keystore without decrypting it."""
    if name.startswith("dev:"):
        return dev_signer(
            _dev_index(name), mnemonic=settings.ganache_mnemonic, env=settings.env
        ).address
    path = _existing(settings, name)
    try:
        address = str(json.loads(path.read_text(encoding="utf-8"))["address"])
    except (OSError, ValueError, KeyError, TypeError):
        raise KeyStoreError(f"keystore {path} is malformed") from None
    if not is_address("0x" + address.removeprefix("0x")):
        raise KeyStoreError(f"keystore {path} has no valid address")
    return to_checksum_address("0x" + address.removeprefix("0x"))


def _dev_index(name: str) -> int:
    try:
        return int(name.removeprefix("dev:"))
    except ValueError:
        raise KeyStoreError(f"{name!r}: a development account is dev:N with N a number") from None


def _existing(settings: Settings, name: str) -> Path:
    path = wallet_path(settings, name)
    if not path.is_file():
        raise KeyStoreError(
            f"no wallet named {name!r}: create one with `fairgate fan wallet create -w {name}`"
        )
    return path


def load_signer(settings: Settings, name: str, password_file: Path | None) -> Signer:
    """Unlock wallet ``name`` (prompting for its password) or take dev account ``dev:N``."""
    if name.startswith("dev:"):
        signer = dev_signer(_dev_index(name), mnemonic=settings.ganache_mnemonic, env=settings.env)
    else:
        path = _existing(settings, name)
        password = read_password(password_file, f"Password for wallet {name}")
        signer = load_keystore(path, password)
    remember_wallet(name, signer.address)
    return signer
