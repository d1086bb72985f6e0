"""Local CIDv1 computation that matches what a Kubo-RPC node's ``add`` returns.

Why compute CIDs ourselves: the ``tokenURI`` goes on-chain, so the bridge must know the CID before
(and independently of) any IPFS node, check that the node stored exactly those bytes, and serve the
same CIDs from the embedded store when no node runs.

The node's importer settings we reproduce (``add?cid-version=1&raw-leaves=true``, the defaults of
Kubo and js-ipfs for CIDv1):

* content of at most 256 KiB is one ``raw`` block (codec 0x55), CID = sha2-256 of the bytes;
* larger content is cut into 256 KiB ``raw`` leaves joined by UnixFS ``File`` nodes (``dag-pb``)
  in the *balanced* layout: at most 174 links per node, levels built bottom-up;
* a directory is one UnixFS ``Directory`` node whose links are sorted by name. Directories the
  node would shard (HAMT) are refused: js-ipfs shards above 1000 entries, Kubo above ~256 KiB of
  names and CIDs, and Fairgate never needs that many (see :data:`MAX_DIRECTORY_ENTRIES`).

The protobuf encoding (dag-pb ``PBNode``/``PBLink`` and UnixFS ``Data``) is written by hand: it is
four fields each, and pulling a protobuf runtime in for that would cost more than it saves.
Blocks are returned too, so the embedded store keeps the very DAG a node would keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from multiformats import CID, multihash

from metadata.errors import InvalidCid, MetadataError

CHUNK_SIZE = 256 * 1024
"""Leaf size of the node's default chunker (``size-262144``)."""

MAX_LINKS = 174
"""Links per UnixFS file node in the balanced layout (Kubo and js-ipfs default)."""

MAX_DIRECTORY_ENTRIES = 1000
"""js-ipfs 0.66 turns a directory into a HAMT shard above this many entries; we refuse instead."""

MAX_DIRECTORY_NODE_BYTES = 256 * 1024
"""Kubo shards a directory whose links exceed ~256 KiB; we refuse instead."""

RAW = "raw"
DAG_PB = "dag-pb"

# UnixFS Data.Type values
_UNIXFS_DIRECTORY = 1
_UNIXFS_FILE = 2


def parse_cid(value: str | CID) -> CID:
    """Parse a CID string (v0 ``Qm...`` or v1 in any multibase) into a CIDv1 in base32.

    Raises :class:`InvalidCid` for anything else, so the gateway can answer 400, not 500: the
    multiformats library raises KeyError, ValueError or its own types depending on the defect.
    """
    if isinstance(value, CID):
        cid = value
    else:
        if not isinstance(value, str) or not value or len(value) > 200:
            raise InvalidCid(f"not a CID: {str(value)[:80]!r}")
        try:
            cid = CID.decode(value)
        except Exception as exc:  # the library raises several unrelated types
            raise InvalidCid(f"not a CID: {value[:80]!r} ({exc.__class__.__name__})") from None
    if cid.codec.name not in (RAW, DAG_PB) or cid.hashfun.name != "sha2-256":
        raise InvalidCid(f"unsupported CID (codec {cid.codec.name}, hash {cid.hashfun.name})")
    return cid.set(version=1, base="base32")


def block_cid(codec: str, block: bytes) -> CID:
    """The CIDv1 (base32, sha2-256) of one block."""
    digest = multihash.wrap(hashlib.sha256(block).digest(), "sha2-256")
    return CID("base32", 1, codec, digest)


# ---------------------------------------------------------------------------------------------
# protobuf (proto2 wire format: varint = 0, length-delimited = 2; repeated fields unpacked)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint(field_number << 3 | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, 2) + _varint(len(payload)) + payload


def _int_field(field_number: int, value: int) -> bytes:
    return _key(field_number, 0) + _varint(value)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise MetadataError("truncated or oversized protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield ``(field_number, value)``; value is an int (varint) or bytes (length-delimited)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise MetadataError("truncated protobuf field")
            yield number, buf[pos : pos + length]
            pos += length
        else:
            raise MetadataError(f"unsupported protobuf wire type {wire}")


# ---------------------------------------------------------------------------------------------
# dag-pb and UnixFS


@dataclass(frozen=True)
class Link:
    """A dag-pb link. ``tsize`` is the cumulative size of the target DAG (node bytes + children)."""

    cid: CID
    name: str
    tsize: int


@dataclass(frozen=True)
class PBNode:
    """A decoded dag-pb node with its UnixFS fields."""

    links: tuple[Link, ...]
    unixfs_type: int
    data: bytes = b""
    filesize: int | None = None

    @property
    def is_directory(self) -> bool:
        return self.unixfs_type == _UNIXFS_DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.unixfs_type == _UNIXFS_FILE


def encode_pbnode(links: list[Link], unixfs: bytes) -> bytes:
    """Canonical dag-pb: links (field 2) first, then data (field 1), as the spec requires.

    Every link carries its name field, even empty: both Kubo and @ipld/dag-pb write ``Name: ""``
    for file chunks, and leaving it out would change the CID.
    """
    out = bytearray()
    for link in links:
        body = _len_field(1, bytes(link.cid)) + _len_field(2, link.name.encode("utf-8"))
        body += _int_field(3, link.tsize)
        out += _len_field(2, body)
    out += _len_field(1, unixfs)
    return bytes(out)


def _unixfs_file(filesize: int, blocksizes: list[int]) -> bytes:
    return (
        _int_field(1, _UNIXFS_FILE)
        + _int_field(3, filesize)
        + b"".join(_int_field(4, size) for size in blocksizes)
    )


def decode_pbnode(block: bytes) -> PBNode:
    """Decode a dag-pb block carrying UnixFS data (what the embedded store needs to walk DAGs)."""
    links: list[Link] = []
    unixfs = b""
    for number, value in _fields(block):
        if number == 2 and isinstance(value, bytes):
            cid_bytes, name, tsize = b"", "", 0
            for lnum, lval in _fields(value):
                if lnum == 1 and isinstance(lval, bytes):
                    cid_bytes = lval
                elif lnum == 2 and isinstance(lval, bytes):
                    name = lval.decode("utf-8")
                elif lnum == 3 and isinstance(lval, int):
                    tsize = lval
            links.append(Link(CID.decode(cid_bytes).set(base="base32"), name, tsize))
        elif number == 1 and isinstance(value, bytes):
            unixfs = value
    kind, data, filesize = -1, b"", None
    for number, value in _fields(unixfs):
        if number == 1 and isinstance(value, int):
            kind = value
        elif number == 2 and isinstance(value, bytes):
            data = value
        elif number == 3 and isinstance(value, int):
            filesize = value
    return PBNode(tuple(links), kind, data, filesize)


@dataclass
class Dag:
    """A root CID, its cumulative size, and every block under it (root last)."""

    cid: CID
    tsize: int
    size: int
    """Content bytes (file length; for a directory the sum of its files)."""
    blocks: dict[str, tuple[CID, bytes]] = field(default_factory=dict)

    def add_block(self, cid: CID, block: bytes) -> None:
        self.blocks[str(cid)] = (cid, block)


def file_dag(data: bytes) -> Dag:
    """The DAG ``ipfs add --cid-version=1 --raw-leaves`` makes of ``data`` (balanced layout)."""
    if len(data) <= CHUNK_SIZE:
        cid = block_cid(RAW, data)
        dag = Dag(cid, len(data), len(data))
        dag.add_block(cid, data)
        return dag
    dag = Dag(block_cid(RAW, b""), 0, len(data))
    # one level: (cid, tsize, content size) per node
    level: list[tuple[CID, int, int]] = []
    for start in range(0, len(data), CHUNK_SIZE):
        leaf = data[start : start + CHUNK_SIZE]
        cid = block_cid(RAW, leaf)
        dag.add_block(cid, leaf)
        level.append((cid, len(leaf), len(leaf)))
    while len(level) > 1:
        parents: list[tuple[CID, int, int]] = []
        for start in range(0, len(level), MAX_LINKS):
            group = level[start : start + MAX_LINKS]
            filesize = sum(size for _, _, size in group)
            unixfs = _unixfs_file(filesize, [size for _, _, size in group])
            node = encode_pbnode([Link(c, "", t) for c, t, _ in group], unixfs)
            cid = block_cid(DAG_PB, node)
            dag.add_block(cid, node)
            parents.append((cid, len(node) + sum(t for _, t, _ in group), filesize))
        level = parents
    dag.cid, dag.tsize, _ = level[0]
    return dag


def file_cid(data: bytes) -> CID:
    """The CIDv1 a Kubo-RPC node returns for ``add?cid-version=1&raw-leaves=true`` of ``data``."""
    return file_dag(data).cid


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise MetadataError(f"invalid directory entry name {name!r}")


def directory_dag(entries: Mapping[str, bytes]) -> Dag:
    """The DAG of a directory tree given as ``{"a/b.json": bytes, ...}`` (``/`` nests).

    Matches a node's ``add`` of the same tree (multipart, CIDv1, raw leaves): links sorted by
    the UTF-8 bytes of their names, no mode or mtime. Refuses empty trees, clashing paths and
    directories the node would shard.
    """
    if not entries:
        raise MetadataError("a directory needs at least one file")
    tree: dict[str, object] = {}
    for path, content in entries.items():
        parts = path.strip("/").split("/")
        for part in parts:
            _check_name(part)
        node: dict[str, object] = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MetadataError(f"path {path!r} nests under a file")
            node = child
        if parts[-1] in node:
            raise MetadataError(f"duplicate path {path!r}")
        node[parts[-1]] = content
    dag = Dag(block_cid(RAW, b""), 0, 0)
    dag.cid, dag.tsize, dag.size = _build_directory(tree, dag)
    return dag


def _build_directory(tree: Mapping[str, object], dag: Dag) -> tuple[CID, int, int]:
    if len(tree) > MAX_DIRECTORY_ENTRIES:
        raise MetadataError(
            f"directory of {len(tree)} entries: above {MAX_DIRECTORY_ENTRIES} a node shards it "
            "(HAMT), which Fairgate does not compute; split it or use per-tier URIs"
        )
    links: list[Link] = []
    total = 0
    for name in sorted(tree, key=lambda n: n.encode("utf-8")):
        child = tree[name]
        if isinstance(child, dict):
            cid, tsize, size = _build_directory(child, dag)
        else:
            assert isinstance(child, bytes)
            sub = file_dag(child)
            dag.blocks.update(sub.blocks)
            cid, tsize, size = sub.cid, sub.tsize, sub.size
        links.append(Link(cid, name, tsize))
        total += size
    node = encode_pbnode(links, _int_field(1, _UNIXFS_DIRECTORY))
    if len(node) > MAX_DIRECTORY_NODE_BYTES:
        raise MetadataError(f"directory node of {len(node)} bytes: a node would shard it")
    cid = block_cid(DAG_PB, node)
    dag.add_block(cid, node)
    return cid, len(node) + sum(link.tsize for link in links), total


def directory_cid(entries: Mapping[str, bytes]) -> CID:
    """The root CID of :func:`directory_dag`."""
    return directory_dag(entries).cid
