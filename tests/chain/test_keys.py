"""Signer and keystores: roundtrip, permissions, wrong password, no key where it could leak."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import stat
import traceback
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr

import chain.keys
from chain.keys import (
    WRONG_PASSWORD,
    Signer,
    create_keystore,
    dev_signer,
    import_private_key,
    load_keystore,
    signer_from_settings,
    signing_backend,
)
from fairgate.errors import KeyStoreError
from fairgate.settings import Settings

FAST_N = 2**10  # scrypt cost for tests only (the default 2^18 takes about a second)
KEY = "0x" + "4c" * 32
PASSWORD = "correct horse battery staple"


def _secret_texts(key: str = KEY) -> list[str]:
    bare = key.removeprefix("0x")
    return [bare, bare.upper(), PASSWORD]


def _assert_clean(text: str, key: str = KEY) -> None:
    for secret in _secret_texts(key):
        assert secret not in text


def _assert_frames_clean(exc: BaseException, key: str = KEY) -> None:
    """No local of our frames in the traceback (nor of chained exceptions) holds a secret.

    The test's own frame (which holds the secret it passed in) is not ours to clean.
    """
    chain_dir = str(Path(chain.keys.__file__).parent) + "/"
    seen: BaseException | None = exc
    while seen is not None:
        tb = seen.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.startswith(chain_dir):
                tb = tb.tb_next
                continue
            for name, value in tb.tb_frame.f_locals.items():
                if isinstance(value, (str, bytes)):
                    text = value.hex() if isinstance(value, bytes) else value
                    _assert_clean(text, key)
                    assert name and PASSWORD not in text
            tb = tb.tb_next
        seen = seen.__cause__ or seen.__context__


def test_keystore_roundtrip_with_0600_permissions(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "organizer.json"
    signer = import_private_key(path, KEY, PASSWORD, scrypt_n=FAST_N)
    assert signer.address == Account.from_key(KEY).address
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["crypto"]["kdf"] == "scrypt" and stored["crypto"]["kdfparams"]["n"] == FAST_N
    _assert_clean(path.read_text())
    loaded = load_keystore(path, SecretStr(PASSWORD))
    assert loaded.address == signer.address
    message = encode_defunct(text="hello")
    assert loaded.sign_message(message).signature == Account.sign_message(message, KEY).signature
    with pytest.raises(KeyStoreError, match="already exists"):
        import_private_key(path, KEY, PASSWORD, scrypt_n=FAST_N)


@pytest.mark.slow
def test_created_keystore_uses_the_default_scrypt_cost(tmp_path: Path) -> None:
    signer = create_keystore(tmp_path / "new.json", PASSWORD)
    stored = json.loads((tmp_path / "new.json").read_text())
    assert stored["crypto"]["kdfparams"]["n"] == 2**18
    assert load_keystore(tmp_path / "new.json", PASSWORD).address == signer.address


def test_wrong_password_and_corruption_give_one_opaque_error(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    import_private_key(path, KEY, PASSWORD, scrypt_n=FAST_N)
    with pytest.raises(KeyStoreError) as info:
        load_keystore(path, "wrong " + PASSWORD)
    assert str(info.value) == WRONG_PASSWORD == "wrong password or corrupted keystore"
    assert info.value.__cause__ is None and info.value.__context__ is None
    _assert_frames_clean(info.value)
    _assert_clean("".join(traceback.format_exception(info.value)))

    data = json.loads(path.read_text())
    data["crypto"]["ciphertext"] = "00" + data["crypto"]["ciphertext"][2:]
    path.write_text(json.dumps(data))
    with pytest.raises(KeyStoreError, match=WRONG_PASSWORD):
        load_keystore(path, PASSWORD)
    path.write_text("{not json")
    with pytest.raises(KeyStoreError, match=WRONG_PASSWORD):
        load_keystore(path, PASSWORD)
    with pytest.raises(KeyStoreError, match="cannot read keystore"):
        load_keystore(tmp_path / "missing.json", PASSWORD)


def test_keystore_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    import_private_key(path, KEY, PASSWORD, scrypt_n=FAST_N)
    path.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        load_keystore(path, PASSWORD)
    assert load_keystore(path, PASSWORD, allow_open_permissions=True).address


def test_no_key_in_repr_str_logs_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signer = import_private_key(tmp_path / "k.json", KEY, PASSWORD, scrypt_n=FAST_N)
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}", str([signer])):
        _assert_clean(text)
        assert "redacted" in text and signer.address in text
    assert not hasattr(signer, "key") and not hasattr(signer, "private_key")
    assert "key" not in [a for a in dir(signer) if not a.startswith("_")]
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(TypeError):
        copy.deepcopy(signer)
    load_keystore(tmp_path / "k.json", PASSWORD)
    _assert_clean(caplog.text)

    bad = "0x" + "zz" * 32
    with pytest.raises(KeyStoreError) as info:
        import_private_key(tmp_path / "bad.json", bad, PASSWORD, scrypt_n=FAST_N)
    assert "zz" not in str(info.value) and info.value.__context__ is None
    _assert_frames_clean(info.value, key=bad)


def test_hot_wallet_from_the_environment_secret() -> None:
    settings = Settings(minter_key=SecretStr(KEY))
    signer = signer_from_settings(settings)
    assert signer.address == Account.from_key(KEY).address
    assert signer.source == "env:FAIRGATE_MINTER_KEY"
    _assert_clean(repr(settings))
    with pytest.raises(KeyStoreError, match="not set"):
        signer_from_settings(Settings())
    with pytest.raises(KeyStoreError, match="not a valid") as info:
        signer_from_settings(Settings(minter_key=SecretStr("0x1234")))
    assert "1234" not in str(info.value)


def test_dev_accounts_match_ganache_and_are_refused_in_prod() -> None:
    assert dev_signer(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert dev_signer(1).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    with pytest.raises(KeyStoreError, match="prod"):
        dev_signer(0, env="prod")


def test_signing_uses_coincurve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing goes through coincurve (about 1 ms; the pure-Python backend takes about 7 ms).

    Checked without a clock: the active backend is coincurve's, a signer's transaction is signed
    by exactly one call into it, and the signature is the one coincurve itself makes."""
    import coincurve
    from eth_keys.backends.coincurve import CoinCurveECCBackend

    assert signing_backend() == "CoinCurveECCBackend"
    hashes: list[bytes] = []
    real_sign = CoinCurveECCBackend.ecdsa_sign

    def counted(self: CoinCurveECCBackend, msg_hash: bytes, private_key: Any) -> Any:
        hashes.append(msg_hash)
        return real_sign(self, msg_hash, private_key)

    monkeypatch.setattr(CoinCurveECCBackend, "ecdsa_sign", counted)
    signer = Signer.from_account(Account.from_key(KEY), "fixture")
    tx: dict[str, Any] = {
        "to": dev_signer(1).address, "value": 1, "gas": 21_000, "chainId": 1337,
        "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "nonce": 0,
    }  # fmt: skip
    signed = signer.sign_transaction(tx)
    assert len(hashes) == 1
    raw = coincurve.PrivateKey(bytes.fromhex(KEY[2:])).sign_recoverable(hashes[0], hasher=None)
    assert (signed.r, signed.s) == (int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]))
    assert signed.v == raw[64]  # typed (EIP-1559) transactions carry the recovery id as is


def test_signer_wraps_an_existing_account() -> None:
    signer = Signer.from_account(Account.from_key(KEY), "fixture")
    assert signer.source == "fixture"
    _assert_clean(repr(signer))
