"""A real bridge for the fan page tests: SQLite database, the session's Ganache, the embedded IPFS
store, served by uvicorn on a free port in a thread (Chromium needs an HTTP origin), and an
injected EIP-6963 test wallet (``test_wallet.js``) per browser context."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, expect
from pydantic import SecretStr
from web3 import Web3

from api.accounts import BridgeAccounts
from api.app import create_app
from api.db import make_engine
from api.migrate import upgrade
from api.payments.local import LocalProvider
from api.services.locks import WorkerLocks
from api.worker import Worker
from chain.deploy import deploy_platform
from chain.ganache import GanacheRunner, free_port
from chain.keys import dev_signer
from chain.sender import TransactionSender
from fairgate.settings import Settings
from metadata import erc721
from metadata.gateway import make_gateway_router
from metadata.store import store_from_settings
from tests.web.browser import DESKTOP, PHONE

WALLET_JS = (Path(__file__).parent / "test_wallet.js").read_text()
ADMIN_KEY = "admin-fan-tests-0123456789"
ICON = (
    "data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnIHZpZXdCb3g9JzAg"
    "MCAxMCAxMCc+PHJlY3Qgd2lkdGg9JzEwJyBoZWlnaHQ9JzEwJyBmaWxsPScjMWQ0ZWQ4Jy8+PC9zdmc+"
)


@pytest.fixture(scope="module", autouse=True)
def patient_expect() -> Iterator[None]:
    """Transactions on a loaded 2-core machine take seconds: Playwright's ``expect`` waits up
    to 90 s in the modules that import this fixture, and 5 s (its default) again after them."""
    expect.set_options(timeout=90_000)
    yield
    expect.set_options(timeout=5_000)


@dataclass
class Bridge:
    url: str
    settings: Settings
    w3: Web3
    chain: BridgeAccounts
    sessions: Any
    provider: LocalProvider

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=120, **kw)

    def worker(self) -> Worker:
        """The bridge's minting worker, run in this process (``run(until_idle=True)``)."""
        engine = self.sessions.kw["bind"]
        return Worker(self.settings, self.sessions, self.chain, self.provider, WorkerLocks(engine))


@contextmanager
def running_bridge(
    ganache: GanacheRunner, w3: Web3, home: Path, **overrides: Any
) -> Iterator[Bridge]:
    """The platform deployed on ``ganache`` and a bridge serving it over HTTP (``overrides``:
    more settings, e.g. ``gate_device_url`` for the dashboard's pairing links)."""
    deploy_settings = Settings(home=home / "deploy", rpc_url=ganache.url)
    sender = TransactionSender(w3, dev_signer(0), settings=deploy_settings)
    factory = deploy_platform(sender, deploy_settings).factory
    port = free_port()
    settings = Settings(
        env="test",
        home=home,
        rpc_url=ganache.url,
        factory_address=factory,
        admin_api_key=SecretStr(ADMIN_KEY),
        public_url=f"http://127.0.0.1:{port}",
        receipt_timeout_s=60,
        **overrides,
    )
    engine = make_engine(settings)
    upgrade(engine)
    chain = BridgeAccounts(w3, settings, operator=dev_signer(0), minter=dev_signer(1))
    provider = LocalProvider(settings)
    app = create_app(settings, engine=engine, provider=provider, chain=chain)
    if not any(getattr(r, "path", "").startswith("/ipfs") for r in app.routes):
        app.include_router(make_gateway_router(lambda: store_from_settings(settings)))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the bridge did not start")
        time.sleep(0.05)
    try:
        yield Bridge(settings.public_url, settings, w3, chain, app.state.sessions, provider)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def poster() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (480, 270), (29, 78, 216)).save(out, format="PNG")
    return out.getvalue()


def create_event(
    bridge: Bridge, *, gate: str, name: str = "Night One", utc_offset_min: int = 0
) -> dict[str, Any]:
    """An organizer and an event with one tier (0.001 ETH, cap 110%, royalty 5%), its metadata
    pinned to the bridge's IPFS store; its times given in a zone ``utc_offset_min`` from UTC."""
    headers = {"X-API-Key": ADMIN_KEY}
    r = bridge.post("/admin/organizers", json={"name": "Hall Org"}, headers=headers)
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    now = datetime.now(UTC)
    starts = (now + timedelta(days=30)).astimezone(timezone(timedelta(minutes=utc_offset_min)))
    bundle = erc721.build_event_bundle(
        erc721.Event(
            name=name,
            description=f"{name} at the Hall",
            venue="The Hall",
            start_time=starts,
            image=poster(),
        ),
        [erc721.Tier(tier_id=0, name="Standing")],
    )
    cid = store_from_settings(bridge.settings).put_directory(bundle.files)
    assert str(cid) == str(bundle.cid)
    body = {
        "name": name,
        "symbol": "NIGHT",
        "venue": "The Hall",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=5)).isoformat(),
        "gate_address": gate,
        "base_uri": bundle.base_uri,
        "tiers": [
            {
                "name": "Standing",
                "price_cents": 4500,
                "face_value_wei": 10**15,
                "supply": 50,
                "resale_cap_bps": 11000,
                "royalty_bps": 500,
                "resale_opens_at": int(now.timestamp()) - 60,
                "resale_closes_at": int((now + timedelta(days=29)).timestamp()),
            }
        ],
    }
    r = bridge.post("/organizer/events", json=body, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    event: dict[str, Any] = r.json()
    event["organizer_key"] = key  # for the organizer's own calls (cancel, waiting room)
    return event


def wallet(
    name: str, account: str, ganache: GanacheRunner, *, start_chain_id: int = 1337
) -> dict[str, Any]:
    return {
        "name": name,
        "rdns": "org.fairgate.test." + name.lower().replace(" ", "-"),
        "uuid": f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
        "icon": ICON,
        "account": account,
        "rpc": ganache.url,
        "startChainId": start_chain_id,
        "nodeChainId": 1337,
    }


def wallet_context(
    browser: Browser, wallets: list[dict[str, Any]], *, phone: bool = False
) -> BrowserContext:
    """A browser context whose pages get the injected test wallets."""
    if phone:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(f"window.__FG_WALLETS__ = {json.dumps(wallets)};\n{WALLET_JS}")
    return context
