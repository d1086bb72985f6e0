"""Content stores: a Kubo-RPC node (Kubo, IPFS Cluster, pinning services, js-ipfs) or an embedded
on-disk store. Both return the CIDs :mod:`metadata.cid` computes, so the contract's URIs do not
depend on which one ran.

Why every put is checked against the local CID: the tokenURI is derived from the local CID (it
may be on-chain before the node answers). A node with other importer settings (CIDv0, another
chunker, trickle layout) would store content under another CID, and tickets would point at
nothing; :class:`CidMismatch` stops that at upload time instead of at the door.

ipfshttpclient 0.7.0, used where it works, has known failures against current daemons, guarded here:

* ``ipfshttpclient.connect()`` raises ``VersionMismatch`` for any daemon >= 0.8.0 (and js-ipfs
  reports 0.18.1): the :class:`ipfshttpclient.Client` is constructed directly, skipping the check;
* it adds directories only from the filesystem, not from memory: directories go over plain HTTP
  multipart (``/api/v0/add`` with ``application/x-directory`` parts), as do reads of the version;
* it returns CIDs in the node's default multibase (js-ipfs: base58btc ``zb2...``): every CID is
  parsed and re-encoded as base32 CIDv1;
* under urllib3 2.x each connection warns ``FutureWarning: The 'strict' parameter is no longer
  needed``: that one message is filtered;
* a read of a CID the node lacks blocks while the node searches (forever when offline): every
  call carries the RPC ``timeout`` option so the *node* gives up, and its "timed out"/"not found"
  answers become :class:`ContentNotFound`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import httpx
import ipfshttpclient
from multiformats import CID

from fairgate.settings import Settings
from metadata.cid import DAG_PB, RAW, Dag, decode_pbnode, directory_dag, file_dag, parse_cid
from metadata.errors import (
    CidMismatch,
    ContentNotFound,
    IpfsNodeError,
    MetadataError,
)

logger = logging.getLogger(__name__)

warnings.filterwarnings(
    "ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning
)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024


class ContentIsDirectory(MetadataError):
    """The CID (or path) names a directory, not a file."""

    code = "content_is_directory"


@runtime_checkable
class ContentStore(Protocol):
    """Where metadata and images live, addressed by CIDv1 (base32)."""

    def put(self, data: bytes, *, pin: bool = True) -> CID:
        """Store one file; return its CID (equal to :func:`metadata.cid.file_cid`)."""
        ...

    def put_directory(self, files: Mapping[str, bytes], *, pin: bool = True) -> CID:
        """Store a tree ``{"a/b": bytes}``; return its root CID (:func:`directory_cid`)."""
        ...

    def get(self, cid: CID | str, path: str = "") -> bytes:
        """The bytes of a file, or of the file at ``path`` under a directory CID."""
        ...

    def ls(self, cid: CID | str, path: str = "") -> dict[str, CID]:
        """The entries of a directory: name -> CID."""
        ...

    def pin(self, cid: CID | str) -> None:
        """Keep the DAG under ``cid`` (a node's garbage collector would drop it otherwise)."""
        ...


def _path_parts(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    for part in parts:
        if part in (".", "..") or "\x00" in part:
            raise MetadataError(f"invalid path segment {part!r}")
    return parts


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise MetadataError(f"content of {size} bytes exceeds the limit of {limit} bytes")


# ---------------------------------------------------------------------------------------------


class EmbeddedStore:
    """A blockstore on disk: the same blocks a node would keep, one file per block, by CID.

    Why blocks and not whole files: directories and paths (``<dirCID>/tiers/0``) then resolve
    exactly as on IPFS, and every block is re-hashed on read, so a corrupted file is detected
    instead of served. Pins are recorded (``pins/<cid>``); nothing is ever garbage-collected.
    """

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        (root / "blocks").mkdir(parents=True, exist_ok=True)
        (root / "pins").mkdir(parents=True, exist_ok=True)

    def _block_path(self, cid: CID) -> Path:
        name = str(cid)
        return self.root / "blocks" / name[-2:] / name

    def _write_dag(self, dag: Dag, pin: bool) -> CID:
        for cid, block in dag.blocks.values():
            target = self._block_path(cid)
            if target.exists():
                continue  # content-addressed: same name, same bytes
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(block)
                os.replace(tmp, target)  # atomic: readers never see half a block
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        if pin:
            self.pin(dag.cid)
        return dag.cid

    def put(self, data: bytes, *, pin: bool = True) -> CID:
        _check_size(len(data), self.max_bytes)
        return self._write_dag(file_dag(data), pin)

    def put_directory(self, files: Mapping[str, bytes], *, pin: bool = True) -> CID:
        _check_size(sum(len(v) for v in files.values()), self.max_bytes)
        return self._write_dag(directory_dag(files), pin)

    def _block(self, cid: CID) -> bytes:
        try:
            block = self._block_path(cid).read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(f"{cid} is not in the embedded store") from None
        if hashlib.sha256(block).digest() != bytes(cid.digest)[2:]:
            raise IpfsNodeError(f"block {cid} is corrupted on disk")
        return block

    def _resolve(self, cid: CID | str, path: str) -> CID:
        current = parse_cid(cid)
        for part in _path_parts(path):
            if current.codec.name != DAG_PB:
                raise ContentNotFound(f"{current} is a file: no {part!r} inside")
            node = decode_pbnode(self._block(current))
            if not node.is_directory:
                raise ContentNotFound(f"{current} is a file: no {part!r} inside")
            match = [link.cid for link in node.links if link.name == part]
            if not match:
                raise ContentNotFound(f"no {part!r} in directory {current}")
            current = match[0]
        return current

    def _chunks(self, cid: CID) -> Iterator[bytes]:
        if cid.codec.name == RAW:
            yield self._block(cid)
            return
        node = decode_pbnode(self._block(cid))
        if node.is_directory:
            raise ContentIsDirectory(f"{cid} is a directory")
        if not node.is_file:
            raise MetadataError(f"{cid} is an unsupported UnixFS node (type {node.unixfs_type})")
        if node.data:
            yield node.data
        for link in node.links:
            yield from self._chunks(link.cid)

    def get(self, cid: CID | str, path: str = "") -> bytes:
        out = bytearray()
        for chunk in self._chunks(self._resolve(cid, path)):
            out += chunk
            _check_size(len(out), self.max_bytes)
        return bytes(out)

    def ls(self, cid: CID | str, path: str = "") -> dict[str, CID]:
        target = self._resolve(cid, path)
        node = decode_pbnode(self._block(target)) if target.codec.name == DAG_PB else None
        if node is None or not node.is_directory:
            raise MetadataError(f"{target} is not a directory")
        return {link.name: link.cid for link in node.links}

    def pin(self, cid: CID | str) -> None:
        parsed = parse_cid(cid)
        self._block(parsed)  # pinning what we do not hold is an error, as on a node
        (self.root / "pins" / str(parsed)).touch()

    def pins(self) -> set[str]:
        return {p.name for p in (self.root / "pins").iterdir()}


# ---------------------------------------------------------------------------------------------


def api_multiaddr(api_url: str) -> str:
    """``http://127.0.0.1:5001`` -> ``/ip4/127.0.0.1/tcp/5001/http`` (what ipfshttpclient takes)."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetadataError(f"IPFS API URL must be http(s)://host:port, not {api_url!r}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 5001)
    proto = "ip6" if ":" in host else "ip4" if host.replace(".", "").isdigit() else "dns"
    return f"/{proto}/{host}/tcp/{port}/{parts.scheme}"


class KuboStore:
    """Content on a node speaking the Kubo RPC API (``/api/v0``).

    ``timeout_s`` bounds every call: it is sent to the node as the RPC ``timeout`` option (so the
    node abandons a search for missing blocks) and used, with a margin, as the HTTP timeout.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout_s: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._rpc_timeout = f"{max(1, int(timeout_s))}s"
        # Constructed directly: ipfshttpclient.connect() refuses daemons >= 0.8.0.
        self._client = ipfshttpclient.Client(
            addr=api_multiaddr(self.api_url), base="api/v0", timeout=timeout_s + 5
        )
        self._http = httpx.Client(base_url=f"{self.api_url}/api/v0", timeout=timeout_s + 5)

    def close(self) -> None:
        self._http.close()
        self._client.close()

    def __enter__(self) -> KuboStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> str:
        """The node's version string (plain HTTP: the client's own call would re-run its check)."""
        try:
            response = self._http.post("/version")
        except httpx.HTTPError as exc:
            raise IpfsNodeError(f"IPFS node at {self.api_url} unreachable: {exc}") from None
        self._raise_for(response, "version")
        return str(response.json().get("Version", "?"))

    # -- error mapping ---------------------------------------------------------------------

    def _node_error(self, what: str, message: str) -> Exception:
        lowered = message.lower()
        if "is a directory" in lowered or "not a file" in lowered:
            return ContentIsDirectory(f"{what}: {message}")
        if any(
            s in lowered
            for s in ("timed out", "not found", "no link named", "does not exist", "not exist")
        ):
            return ContentNotFound(f"{what}: {message}")
        if "invalid" in lowered and ("cid" in lowered or "path" in lowered or "input" in lowered):
            return MetadataError(f"{what}: {message}")
        return IpfsNodeError(f"{what}: IPFS node answered {message}")

    @contextlib.contextmanager
    def _client_call(self, what: str) -> Iterator[None]:
        try:
            yield
        except ipfshttpclient.exceptions.ErrorResponse as exc:
            raise self._node_error(what, str(exc)) from None
        except ipfshttpclient.exceptions.TimeoutError:
            raise ContentNotFound(f"{what}: no answer in {self.timeout_s:.0f} s") from None
        except ipfshttpclient.exceptions.Error as exc:
            raise IpfsNodeError(f"{what}: IPFS node at {self.api_url} failed: {exc}") from None

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        if response.status_code == 200:
            return
        try:
            message = str(response.json().get("Message", response.text))
        except ValueError:
            message = response.text[:300]
        raise self._node_error(what, message)

    def _check(self, what: str, expected: CID, returned: object) -> CID:
        got = parse_cid(str(returned))
        if got != expected:
            raise CidMismatch(
                f"{what}: node stored {got}, expected {expected}; its importer settings differ"
            )
        return expected

    # -- ContentStore ------------------------------------------------------------------------

    def put(self, data: bytes, *, pin: bool = True) -> CID:
        _check_size(len(data), self.max_bytes)
        expected = file_dag(data).cid
        with self._client_call("add"):
            result = self._client.add(
                io.BytesIO(data),
                cid_version=1,
                raw_leaves=True,
                chunker="size-262144",
                pin=pin,
                opts={"cid-base": "base32", "timeout": self._rpc_timeout},
            )
        logger.debug("added %d bytes as %s", len(data), result["Hash"])
        return self._check("add", expected, result["Hash"])

    def put_directory(self, files: Mapping[str, bytes], *, pin: bool = True) -> CID:
        """Plain-HTTP multipart add: ipfshttpclient can only add directories from disk."""
        _check_size(sum(len(v) for v in files.values()), self.max_bytes)
        dag = directory_dag(files)  # validates names and refuses sharded sizes first
        root = "root"
        directories: set[str] = set()
        parts: list[tuple[str, tuple[str, bytes, str]]] = []
        for path in sorted(files):
            segments = path.strip("/").split("/")
            for depth in range(len(segments)):
                prefix = "/".join([root, *segments[:depth]])
                if prefix not in directories:
                    directories.add(prefix)
                    parts.append(("file", (quote(prefix, safe=""), b"", "application/x-directory")))
            name = quote(f"{root}/{path.strip('/')}", safe="")
            parts.append(("file", (name, files[path], "application/octet-stream")))
        params: dict[str, Any] = {
            "cid-version": 1,
            "raw-leaves": "true",
            "chunker": "size-262144",
            "pin": "true" if pin else "false",
            "cid-base": "base32",
            "timeout": self._rpc_timeout,
        }
        try:
            response = self._http.post("/add", params=params, files=parts)
        except httpx.HTTPError as exc:
            raise IpfsNodeError(
                f"add directory: IPFS node at {self.api_url} failed: {exc}"
            ) from None
        self._raise_for(response, "add directory")
        entries = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        roots = [e for e in entries if e.get("Name") == root]
        if not roots:
            raise IpfsNodeError(f"add directory: no root entry in the node's answer {entries[:3]}")
        return self._check("add directory", dag.cid, roots[0]["Hash"])

    def _ipfs_path(self, cid: CID | str, path: str) -> str:
        return "/".join([f"/ipfs/{parse_cid(cid)}", *_path_parts(path)])

    def get(self, cid: CID | str, path: str = "") -> bytes:
        target = self._ipfs_path(cid, path)
        with self._client_call(f"cat {target}"):
            data = self._client.cat(
                target, opts={"timeout": self._rpc_timeout, "length": self.max_bytes + 1}
            )
        _check_size(len(data), self.max_bytes)
        return bytes(data)

    def ls(self, cid: CID | str, path: str = "") -> dict[str, CID]:
        target = self._ipfs_path(cid, path)
        with self._client_call(f"ls {target}"):
            result = self._client.ls(target, opts={"timeout": self._rpc_timeout})
        objects = result["Objects"]
        links = objects[0]["Links"] if objects else []
        return {str(link["Name"]): parse_cid(str(link["Hash"])) for link in links}

    def pin(self, cid: CID | str) -> None:
        with self._client_call("pin add"):
            self._client.pin.add(str(parse_cid(cid)), opts={"timeout": self._rpc_timeout})


def store_from_settings(settings: Settings) -> ContentStore:
    """KuboStore when ``ipfs_api_url`` is set, else the EmbeddedStore under ``home/ipfs``."""
    if settings.ipfs_api_url:
        return KuboStore(
            settings.ipfs_api_url,
            timeout_s=settings.ipfs_timeout_s,
            max_bytes=settings.ipfs_max_bytes,
        )
    return EmbeddedStore(settings.home / "ipfs", max_bytes=settings.ipfs_max_bytes)
