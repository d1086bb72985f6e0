"""Secrets the bridge hands out (API keys, order tokens, claim links) and wallet-ownership proofs.

Only hashes are stored. API keys look like ``fg_<key_id>_<secret>``: the key id finds the row, the
secret's SHA-256 is compared in constant time. Order tokens are 192-bit random strings, stored as
SHA-256 too. Plain hashes suffice because the secrets are random and long (no dictionary to try).

A claim link's token (``cl1.<mac>``, :func:`claim_link_token`) stands in for the order token in
the e-mail that tells a fan without a wallet its tickets are issued: the bridge cannot send the
order token (it keeps only its hash), so the worker writes an HMAC of the order id under
``FAIRGATE_CLAIM_LINK_SECRET`` instead, and the bridge recomputes it to check it. It opens the
same doors as the order token (read the order, claim its tickets), nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address

KEY_PREFIX = "fg"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_hash(secret: str, stored: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored)


def new_api_key() -> tuple[str, str, str]:
    """``(full key, key id, secret hash)``: the full key is shown once and never stored."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret)


def split_api_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def new_order_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hash_secret(token)


CLAIM_LINK_PREFIX = "cl1."


def claim_link_token(secret: bytes, order_id: str) -> str:
    """The token of an order's claim link: 192 bits of HMAC-SHA256 over its id."""
    mac = hmac.new(secret, f"claim-link\x00{order_id}".encode(), hashlib.sha256).digest()
    return CLAIM_LINK_PREFIX + base64.urlsafe_b64encode(mac[:24]).decode()


def opens_order(token: str, token_hash: str, order_id: str, link_secret: bytes | None) -> bool:
    """Whether ``token`` is the order's token or (with ``link_secret``) its claim link's."""
    if link_secret is not None and token.startswith(CLAIM_LINK_PREFIX):
        return hmac.compare_digest(token, claim_link_token(link_secret, order_id))
    return same_hash(token, token_hash)


def claim_message(order_id: str, wallet: str) -> str:
    """What a fan signs (EIP-191 personal_sign) to prove they control ``wallet``."""
    address = to_checksum_address(wallet)
    return f"Fairgate: release the custody tickets of order {order_id} to {address}"


def recover_signer(message: str, signature: str) -> str | None:
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except Exception:  # malformed signature: any library error means "not proven"
        return None
