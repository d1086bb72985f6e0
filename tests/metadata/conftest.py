"""Fixtures of the metadata tests: one real js-ipfs node per session, no mocks.

The node (``jsipfs_node``, in tests/conftest.py, shared with the CLI tests) comes from
``tools/ipfs-node`` (``npm ci`` there on first use, which the session fixture triggers on a fresh
clone; its progress is logged) and runs offline with its own repo and a free
API port. ``kubo`` is a :class:`KuboStore` on it; ``embedded`` a fresh embedded store per test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from metadata.jsipfs import JsIpfsNode
from metadata.store import EmbeddedStore, KuboStore

logger = logging.getLogger(__name__)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ipfs: needs the js-ipfs node (started by the fixtures)")
    # metadata.store filters this urllib3-2 warning of ipfshttpclient; pytest resets filters
    config.addinivalue_line(
        "filterwarnings", "ignore:The 'strict' parameter is no longer needed:FutureWarning"
    )


@pytest.fixture(scope="session")
def kubo(jsipfs_node: JsIpfsNode) -> Iterator[KuboStore]:
    with KuboStore(jsipfs_node.api_url, timeout_s=60) as store:
        yield store


@pytest.fixture
def embedded(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "ipfs")
