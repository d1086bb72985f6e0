"""An IPFS path gateway (``GET /ipfs/{cid}/{path}``) over any :class:`ContentStore`.

Why the bridge serves this: without an IPFS node, the embedded store holds the metadata, and
wallets, the demo UI and tests still need to turn ``ipfs://CID/...`` into bytes over HTTP
(``{public_url}/ipfs/CID/...``, the standard path-gateway form). With a node it serves the same
bytes from the node, so clients need not know which store runs.

Responses are immutable by construction (the URL names the content's hash), hence
``Cache-Control: public, max-age=29030400, immutable`` and an ETag that never changes; the CID
and path also give 304s without reading the store. Content types come from the file extension
or, for extension-less metadata (``tiers/0``), from the bytes; anything unrecognised is served as
``application/octet-stream`` with ``nosniff``, and SVG under a CSP that forbids scripts, because
this gateway shares the bridge's origin and must never serve active content on it.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from multiformats import CID

from metadata.cid import parse_cid
from metadata.erc721 import IMAGE_TYPES, image_kind
from metadata.errors import ContentNotFound, InvalidCid, IpfsNodeError, MetadataError
from metadata.store import ContentIsDirectory, ContentStore

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=29030400, immutable"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

EXTENSION_TYPES: dict[str, str] = {
    "json": "application/json",
    "jpeg": "image/jpeg",
    "txt": "text/plain; charset=utf-8",
    **IMAGE_TYPES,
}


def content_type(path: str, data: bytes) -> str:
    """The media type to serve ``data`` (found at ``path``) with; see the module doc for why."""
    name = path.rsplit("/", 1)[-1]
    if "." in name:
        ext = name.rsplit(".", 1)[-1].lower()
        if ext in EXTENSION_TYPES:
            return EXTENSION_TYPES[ext]
    try:
        return IMAGE_TYPES[image_kind(data)]
    except MetadataError:
        pass
    stripped = data.lstrip()[:1]
    if stripped in (b"{", b"["):
        try:
            json.loads(data.decode("utf-8"))
            return "application/json"
        except (UnicodeDecodeError, ValueError):
            pass
    return "application/octet-stream"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def make_gateway_router(store: ContentStore | Callable[[], ContentStore]) -> APIRouter:
    """A router serving ``/ipfs/{cid}`` and ``/ipfs/{cid}/{path}`` from ``store``.

    ``store`` may be a callable returning the store, so the bridge can build it lazily (from
    settings) or swap it in tests. Mount with ``app.include_router(make_gateway_router(...))``.
    Store calls block, so the endpoints are plain functions (FastAPI runs them in a thread).
    """
    router = APIRouter(tags=["ipfs"])

    def current_store() -> ContentStore:
        return store if isinstance(store, ContentStore) else store()

    def serve(cid: str, path: str, request: Request) -> Response:
        try:
            parsed = parse_cid(cid)
        except InvalidCid as exc:
            return _error(400, exc.code, exc.message)
        ipfs_path = f"/ipfs/{parsed}" + (f"/{path.strip('/')}" if path.strip("/") else "")
        etag = f'"{quote(ipfs_path, safe="/")}"'
        headers = {
            "Cache-Control": IMMUTABLE,
            "ETag": etag,
            "X-Ipfs-Path": quote(ipfs_path, safe="/"),
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") in (etag, f"W/{etag}"):
            return Response(status_code=304, headers=headers)
        content_store = current_store()
        try:
            data = content_store.get(parsed, path)
        except ContentIsDirectory:
            return _listing(content_store, parsed, path, headers)
        except ContentNotFound as exc:
            return _error(404, exc.code, exc.message)
        except IpfsNodeError as exc:
            logger.warning("gateway: %s", exc)
            return _error(502, exc.code, exc.message)
        except MetadataError as exc:  # bad path segment, content over the size limit
            return _error(400, exc.code, exc.message)
        media_type = content_type(path, data)
        if media_type == "image/svg+xml":
            headers["Content-Security-Policy"] = SVG_CSP
        return Response(content=data, media_type=media_type, headers=headers)

    @router.api_route("/ipfs/{cid}", methods=["GET", "HEAD"])
    def get_root(cid: str, request: Request) -> Response:
        """A file by CID (or a directory listing)."""
        return serve(cid, "", request)

    @router.api_route("/ipfs/{cid}/{path:path}", methods=["GET", "HEAD"])
    def get_path(cid: str, path: str, request: Request) -> Response:
        """A file inside a directory CID, e.g. ``/ipfs/<dirCID>/tiers/0``."""
        return serve(cid, path, request)

    return router


def _listing(store: ContentStore, cid: CID, path: str, headers: dict[str, str]) -> Response:
    """A minimal HTML index of a directory, like a Kubo gateway's (names escaped)."""
    try:
        entries = store.ls(cid, path)
    except ContentNotFound as exc:
        return _error(404, exc.code, exc.message)
    base = headers["X-Ipfs-Path"].rstrip("/")
    items = "".join(
        f'<li><a href="{html.escape(base)}/{html.escape(quote(name))}">{html.escape(name)}</a></li>'
        for name in sorted(entries)
    )
    body = f"<!doctype html><title>{html.escape(base)}</title><ul>{items}</ul>"
    return HTMLResponse(body, headers={**headers, "Content-Security-Policy": "default-src 'none'"})
