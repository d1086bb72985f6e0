"""EmbeddedStore and KuboStore (js-ipfs) hold the same content under the same CIDs."""

from __future__ import annotations

import random
from pathlib import Path

import ipfshttpclient
import pytest
from helpers import sample_event, sample_tiers

from fairgate.settings import Settings
from metadata.cid import CHUNK_SIZE, file_cid
from metadata.erc721 import build_event_bundle, parse_metadata
from metadata.errors import ContentNotFound, InvalidCid, MetadataError
from metadata.jsipfs import JsIpfsNode
from metadata.store import (
    ContentIsDirectory,
    ContentStore,
    EmbeddedStore,
    KuboStore,
    api_multiaddr,
    store_from_settings,
)

pytestmark = pytest.mark.ipfs


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3_000_000])
def test_same_cids_and_bytes(kubo: KuboStore, embedded: EmbeddedStore, size: int) -> None:
    data = random.Random(size + 1).randbytes(size)
    cid = embedded.put(data)
    assert kubo.put(data) == cid == file_cid(data)
    assert embedded.get(cid) == data
    assert kubo.get(str(cid)) == data


def test_event_bundle_in_both_stores(kubo: KuboStore, embedded: EmbeddedStore) -> None:
    bundle = build_event_bundle(sample_event(), sample_tiers())
    assert kubo.put_directory(bundle.files) == bundle.cid
    assert embedded.put_directory(bundle.files) == bundle.cid
    for store in (kubo, embedded):
        assert set(store.ls(bundle.cid)) == {"event.json", "image.png", "tiers"}
        assert set(store.ls(bundle.cid, "tiers")) == {"0", "1", "1.jpg", "2", "2.svg"}
        for path, content in bundle.files.items():
            assert store.get(bundle.cid, path) == content
        assert parse_metadata(store.get(bundle.cid, "tiers/1"))["name"].endswith("VIP")
        with pytest.raises(ContentIsDirectory):
            store.get(bundle.cid)
        with pytest.raises(ContentNotFound):
            store.get(bundle.cid, "tiers/99")
        with pytest.raises(MetadataError):
            store.get(bundle.cid, "tiers/../event.json")
        store.pin(bundle.cid)
    assert str(bundle.cid) in embedded.pins()


def test_missing_content(jsipfs_node: JsIpfsNode, embedded: EmbeddedStore) -> None:
    missing = file_cid(b"never stored anywhere")
    with pytest.raises(ContentNotFound):
        embedded.get(missing)
    with pytest.raises(ContentNotFound):
        embedded.pin(missing)
    # offline, the node searches until its RPC timeout: keep it short
    with KuboStore(jsipfs_node.api_url, timeout_s=1) as quick:
        with pytest.raises(ContentNotFound):
            quick.get(missing)
        with pytest.raises(ContentNotFound):
            quick.pin(missing)
    for store in (embedded,):
        with pytest.raises(InvalidCid):
            store.get("not-a-cid")


def test_size_limits(jsipfs_node: JsIpfsNode, tmp_path: Path) -> None:
    small_embedded = EmbeddedStore(tmp_path, max_bytes=1000)
    with KuboStore(jsipfs_node.api_url, max_bytes=1000) as small_kubo:
        stores: list[ContentStore] = [small_embedded, small_kubo]
        for store in stores:
            with pytest.raises(MetadataError, match="exceeds the limit of 1000 bytes"):
                store.put(b"x" * 1001)
            with pytest.raises(MetadataError, match="exceeds the limit"):
                store.put_directory({"a": b"x" * 600, "b": b"y" * 600})
        big = b"z" * 5000
        cid = EmbeddedStore(tmp_path).put(big)
        with KuboStore(jsipfs_node.api_url) as kubo:
            kubo.put(big)
        for store in stores:  # reading past the limit is refused too, not buffered
            with pytest.raises(MetadataError, match="exceeds the limit"):
                store.get(cid)


def test_embedded_store_detects_corruption(embedded: EmbeddedStore) -> None:
    cid = embedded.put(b"precious")
    block = next((embedded.root / "blocks").rglob(str(cid)))
    block.write_bytes(b"tampered")
    with pytest.raises(Exception, match="corrupted"):
        embedded.get(cid)


def test_ipfshttpclient_connect_refuses_current_daemons(jsipfs_node: JsIpfsNode) -> None:
    """Why KuboStore constructs ipfshttpclient.Client directly (documents the guarded failure)."""
    addr = api_multiaddr(jsipfs_node.api_url)
    with pytest.raises(ipfshttpclient.exceptions.VersionMismatch):
        ipfshttpclient.connect(addr)
    with ipfshttpclient.Client(addr=addr) as client:
        added = client.add_bytes(b"constructed directly, it works")
        assert client.cat(added) == b"constructed directly, it works"
        assert client.version()["Version"]


def test_store_from_settings(tmp_path: Path, jsipfs_node: JsIpfsNode) -> None:
    embedded = store_from_settings(Settings(home=tmp_path))
    assert isinstance(embedded, EmbeddedStore) and embedded.root == tmp_path / "ipfs"
    kubo = store_from_settings(Settings(home=tmp_path, ipfs_api_url=jsipfs_node.api_url))
    assert isinstance(kubo, KuboStore)
    assert kubo.version()
    kubo.close()


@pytest.mark.parametrize(
    ("url", "addr"),
    [
        ("http://127.0.0.1:5001", "/ip4/127.0.0.1/tcp/5001/http"),
        ("https://ipfs.example:443/", "/dns/ipfs.example/tcp/443/https"),
        ("http://[::1]:5001", "/ip6/::1/tcp/5001/http"),
    ],
)
def test_api_multiaddr(url: str, addr: str) -> None:
    assert api_multiaddr(url) == addr


def test_api_multiaddr_refuses_garbage() -> None:
    with pytest.raises(MetadataError):
        api_multiaddr("/ip4/127.0.0.1/tcp/5001")
