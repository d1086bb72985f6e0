"""Local CIDs equal the node's: files of every layout, directories, and CID parsing.

The node's answer comes from a plain HTTP ``/api/v0/add`` (not through :mod:`metadata.store`), so
the comparison does not share code with what it checks.
"""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest

from metadata.cid import (
    CHUNK_SIZE,
    MAX_DIRECTORY_ENTRIES,
    MAX_LINKS,
    decode_pbnode,
    directory_cid,
    directory_dag,
    file_cid,
    file_dag,
    parse_cid,
)
from metadata.errors import InvalidCid, MetadataError
from metadata.jsipfs import JsIpfsNode

pytestmark = pytest.mark.ipfs

ADD_PARAMS = {"cid-version": "1", "raw-leaves": "true", "pin": "false"}


def node_add(node: JsIpfsNode, data: bytes) -> str:
    response = httpx.post(
        f"{node.api_url}/api/v0/add",
        params=ADD_PARAMS,
        files={"file": ("blob", data, "application/octet-stream")},
        timeout=600,
    )
    response.raise_for_status()
    return str(json.loads(response.text.splitlines()[-1])["Hash"])


SIZES = [
    pytest.param(0, id="empty"),
    pytest.param(1, id="1B"),
    pytest.param(CHUNK_SIZE, id="256KiB"),
    pytest.param(CHUNK_SIZE + 1, id="256KiB+1"),
    pytest.param(3_000_000, id="3MB"),
    # 200 leaves: more than MAX_LINKS, so a second level of the balanced tree
    pytest.param(50 * 1024 * 1024, id="50MiB", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("size", SIZES)
def test_local_file_cid_equals_node(jsipfs_node: JsIpfsNode, size: int) -> None:
    data = random.Random(size).randbytes(size)
    started = time.monotonic()
    local = file_cid(data)
    local_s = time.monotonic() - started
    started = time.monotonic()
    remote = node_add(jsipfs_node, data)
    node_s = time.monotonic() - started
    print(f"{size} B: local {local_s:.2f} s, node {node_s:.2f} s, {local}")
    # the node answers base58btc; compare CIDs, then the canonical base32 text
    assert parse_cid(remote) == local
    assert str(parse_cid(remote)) == str(local)
    expected_codec = "raw" if size <= CHUNK_SIZE else "dag-pb"
    assert local.codec.name == expected_codec


def test_leaf_boundary_of_the_balanced_layout(jsipfs_node: JsIpfsNode) -> None:
    """Exactly MAX_LINKS leaves fit one node; one more byte needs a second level."""
    data = random.Random(7).randbytes(MAX_LINKS * CHUNK_SIZE + 1)
    dag = file_dag(data)
    root = decode_pbnode(dag.blocks[str(dag.cid)][1])
    assert len(root.links) == 2 and root.filesize == len(data)
    assert parse_cid(node_add(jsipfs_node, data)) == dag.cid


def test_directory_cid_equals_node(jsipfs_node: JsIpfsNode) -> None:
    files = {
        "event.json": b'{"name":"x"}',
        "tiers/0": b'{"tier":0}',
        "tiers/1": b'{"tier":1}',
        "tiers/10": b'{"tier":10}',
        "tiers/2.png": random.Random(2).randbytes(CHUNK_SIZE + 5),  # a chunked file inside
        "\u00e9v\u00e9nement": b"utf-8 names sort by bytes",
    }
    parts = []
    for path in sorted(files):
        parts.append(("file", (f"root%2F{path.replace('/', '%2F')}", files[path], "text/plain")))
    response = httpx.post(
        f"{jsipfs_node.api_url}/api/v0/add", params=ADD_PARAMS, files=parts, timeout=60
    )
    response.raise_for_status()
    entries = {e["Name"]: e["Hash"] for e in map(json.loads, response.text.splitlines())}
    assert parse_cid(entries["root"]) == directory_cid(files)
    assert parse_cid(entries["root/tiers"]) == directory_cid(
        {k.split("/", 1)[1]: v for k, v in files.items() if k.startswith("tiers/")}
    )


def test_directory_refuses_what_a_node_would_shard() -> None:
    too_many = {str(i): b"{}" for i in range(MAX_DIRECTORY_ENTRIES + 1)}
    with pytest.raises(MetadataError, match="shards"):
        directory_dag(too_many)
    directory_dag({str(i): b"{}" for i in range(MAX_DIRECTORY_ENTRIES)})  # the limit itself is fine


@pytest.mark.parametrize(
    "files", [{}, {"a/../b": b""}, {"a": b"", "a/b": b""}, {"a//b": b"x"}, {"x\x00": b""}]
)
def test_directory_refuses_bad_trees(files: dict[str, bytes]) -> None:
    with pytest.raises(MetadataError):
        directory_dag(files)


def test_parse_cid_normalises_and_refuses() -> None:
    v1 = file_cid(b"hello")
    assert parse_cid(str(v1)) == v1
    assert str(parse_cid(v1.encode("base58btc"))) == str(v1)
    v0 = "QmWfVY9y3xjsixTgbd9AorQxH7VtMpzfx2HaWtsoUYecaX"  # dag-pb, sha2-256: same block as v1
    assert str(parse_cid(v0)).startswith("bafybei")
    for bad in ["", "notacid", "bafy", "Qm" + "1" * 44, "x" * 500, "bafkrei!!!"]:
        with pytest.raises(InvalidCid):
            parse_cid(bad)
