"""Signing keys: one :class:`Signer` type whatever the key came from.

Where keys come from, and why each source exists:

* encrypted keystore files (Web3 Secret Storage v3, scrypt KDF) for humans (organizers, operators):
  :func:`create_keystore`, :func:`import_private_key`, :func:`load_keystore`;
* an environment secret for the bridge's hot wallet (``FAIRGATE_MINTER_KEY``, a ``SecretStr`` in
  the settings): :func:`signer_from_settings`, because a server cannot type a password;
* the well-known development mnemonic for local chains: :func:`dev_signer` (refused in ``prod``).

The key itself must never leak. :class:`Signer` keeps the eth-account ``LocalAccount`` in a private
slot, exposes no attribute named ``key``, has a redacting ``repr``/``str``, refuses pickling and
copying, and every error raised here is built from public data and raised *outside* the ``except``
block that caught the library error, so neither ``__context__`` nor a logged traceback carries
eth-account's frames (whose locals hold the password or the key). Passwords and keys may be passed
as :class:`pydantic.SecretStr` so that even our own frames hold only redacted wrappers.

Signing speed: eth-keys uses the ``coincurve`` (libsecp256k1) backend when it is importable, which
signs in about 0.1-1 ms instead of about 7 ms with the pure-Python backend; :func:`signing_backend`
tells which one is active so a deployment can assert it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from eth_account import Account
from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import SignableMessage
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from pydantic import SecretStr

from fairgate.errors import KeyStoreError
from fairgate.settings import DEV_MNEMONIC, Settings

__all__ = [
    "Signer",
    "create_keystore",
    "dev_signer",
    "import_private_key",
    "load_keystore",
    "signer_from_key",
    "signer_from_settings",
    "signing_backend",
]

log = logging.getLogger(__name__)

WRONG_PASSWORD = "wrong password or corrupted keystore"  # noqa: S105 - a message
# scrypt parameters of geth's "standard" profile (n=2^18 takes about 1 s and 256 MiB); callers
# that create many keystores in tests may pass a smaller ``scrypt_n``.
DEFAULT_SCRYPT_N = 2**18
Password = str | SecretStr
PrivateKey = str | bytes | SecretStr


def _wrap(secret: PrivateKey) -> SecretStr:
    """A redacted wrapper; public functions rebind their parameter to it at once, so that the
    raw value is no longer a local of any frame a traceback (or an error reporter) would show."""
    if isinstance(secret, SecretStr):
        return secret
    return SecretStr("0x" + secret.hex() if isinstance(secret, bytes) else secret)


class Signer:
    """Signs transactions and messages for one address without ever exposing the key.

    Construct it through the module's functions (keystore, settings, dev mnemonic) or
    :meth:`from_account` for a ``LocalAccount`` made elsewhere (e.g. the Ganache fixtures).
    ``source`` is a short public label ("keystore:/path", "env:FAIRGATE_MINTER_KEY", "dev:3").
    """

    __slots__ = ("__account", "address", "source")

    address: ChecksumAddress
    source: str

    def __init__(self, account: LocalAccount, source: str) -> None:
        self.__account = account  # name-mangled: no public or conventional attribute holds it
        self.address = account.address
        self.source = source

    @classmethod
    def from_account(cls, account: LocalAccount, source: str = "account") -> Signer:
        """Wrap a ``LocalAccount``; the caller should drop its own reference afterwards."""
        return cls(account, source)

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        """Sign a complete transaction dict (nonce, gas and fees already filled in)."""
        return self.__account.sign_transaction(tx)

    def sign_message(self, message: SignableMessage) -> SignedMessage:
        """Sign an EIP-191 message (``encode_defunct`` or ``encode_typed_data``)."""
        return self.__account.sign_message(message)

    def encrypt(self, password: Password, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict[str, Any]:
        """The keystore JSON (scrypt) of this key, for :func:`create_keystore` and backups."""
        password = _wrap(password)
        return Account.encrypt(
            self.__account.key, password.get_secret_value(), kdf="scrypt", iterations=scrypt_n
        )

    def __repr__(self) -> str:
        return f"Signer(address={self.address}, source={self.source!r}, key=<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer cannot be pickled or copied (it holds a private key)")

    def __copy__(self) -> NoReturn:
        self.__reduce__()

    def __deepcopy__(self, memo: object) -> NoReturn:
        self.__reduce__()


def signing_backend() -> str:
    """The class name of eth-keys' active ECC backend ("CoinCurveECCBackend" when fast)."""
    from eth_keys.backends import get_backend

    return type(get_backend()).__name__


def _write_private_file(path: Path, content: str, *, overwrite: bool) -> None:
    """Create ``path`` with mode 0600 from the first byte (no window where others can read it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyStoreError(f"keystore already exists: {path}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
    os.chmod(path, 0o600)  # O_TRUNC on an existing file keeps its old mode


def create_keystore(
    path: Path | str,
    password: Password,
    *,
    scrypt_n: int = DEFAULT_SCRYPT_N,
    overwrite: bool = False,
) -> Signer:
    """Make a new random key and store it encrypted at ``path`` (mode 0600)."""
    password = _wrap(password)
    account: LocalAccount = Account.create()
    return _store(Signer(account, f"keystore:{path}"), Path(path), password, scrypt_n, overwrite)


def import_private_key(
    path: Path | str,
    private_key: PrivateKey,
    password: Password,
    *,
    scrypt_n: int = DEFAULT_SCRYPT_N,
    overwrite: bool = False,
) -> Signer:
    """Encrypt an existing hex private key into a keystore file at ``path`` (mode 0600)."""
    private_key, password = _wrap(private_key), _wrap(password)
    signer = signer_from_key(private_key, f"keystore:{path}", "the private key to import")
    return _store(signer, Path(path), password, scrypt_n, overwrite)


def _store(
    signer: Signer, path: Path, password: SecretStr, scrypt_n: int, overwrite: bool
) -> Signer:
    if not password.get_secret_value():
        raise KeyStoreError("refusing to encrypt a keystore with an empty password")
    _write_private_file(
        path, json.dumps(signer.encrypt(password, scrypt_n=scrypt_n)), overwrite=overwrite
    )
    log.info("keystore written for %s at %s", signer.address, path)
    return signer


def load_keystore(
    path: Path | str, password: Password, *, allow_open_permissions: bool = False
) -> Signer:
    """Decrypt the keystore at ``path``.

    Like ssh with private keys, a file readable by group or others is refused unless
    ``allow_open_permissions`` (it may have been copied around already). A wrong password, a
    tampered file and a malformed file all give the same :class:`KeyStoreError`, on purpose.
    """
    path, password = Path(path), _wrap(password)
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KeyStoreError(f"cannot read keystore {path}: {reason}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not allow_open_permissions:
        raise KeyStoreError(
            f"keystore {path} is accessible by other users (mode {stat.S_IMODE(mode):o}); "
            "chmod 600 it"
        )
    account = _decrypt(raw, password)
    if account is None:
        raise KeyStoreError(WRONG_PASSWORD)
    log.info("keystore loaded for %s from %s", account.address, path)
    return Signer(account, f"keystore:{path}")


def _decrypt(raw: str, password: SecretStr) -> LocalAccount | None:
    """The account, or None on any failure: the caller raises outside this ``except``."""
    try:
        account: LocalAccount = Account.from_key(
            Account.decrypt(json.loads(raw), password.get_secret_value())
        )
        return account
    except Exception:  # every failure means the same to the user
        return None


def signer_from_key(private_key: SecretStr, source: str, what: str) -> Signer:
    """A signer of a private key; ``what`` names it in the error (never the key itself)."""
    try:
        account: LocalAccount | None = Account.from_key(private_key.get_secret_value())
    except Exception:  # the library's message may quote the key
        account = None
    if account is None:
        raise KeyStoreError(f"{what} is not a valid secp256k1 private key")
    return Signer(account, source)


def signer_from_settings(settings: Settings) -> Signer:
    """The bridge's hot wallet from ``FAIRGATE_MINTER_KEY``."""
    if settings.minter_key is None:
        raise KeyStoreError("FAIRGATE_MINTER_KEY is not set")
    return signer_from_key(settings.minter_key, "env:FAIRGATE_MINTER_KEY", "FAIRGATE_MINTER_KEY")


def dev_signer(index: int = 0, *, mnemonic: str = DEV_MNEMONIC, env: str = "dev") -> Signer:
    """Account ``index`` of a development mnemonic (Ganache's accounts), never in ``prod``.

    The default mnemonic is public knowledge: anything it holds on a real chain is lost.
    """
    if env == "prod":
        raise KeyStoreError("development accounts are refused when FAIRGATE_ENV=prod")
    if index < 0:
        raise KeyStoreError("account index must be >= 0")
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
    return Signer(account, f"dev:{index}")


def dev_signers(
    indices: Iterable[int], *, mnemonic: str = DEV_MNEMONIC, env: str = "dev"
) -> list[Signer]:
    """Several development accounts (see :func:`dev_signer`)."""
    return [dev_signer(i, mnemonic=mnemonic, env=env) for i in indices]
