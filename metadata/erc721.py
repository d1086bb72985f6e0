"""ERC-721 metadata for events and ticket tiers, as canonical bytes.

Why canonical bytes: the CID of the metadata is its identity on-chain. Building the same event twice
(another machine, another run, a retry after a crash) must give byte-identical JSON, hence the
same CID, or a retry would pin a second copy and the contract would point at only one of them. So:
keys sorted, no whitespace, UTF-8 (not ``\\u`` escapes), no floats, times as integer Unix seconds.

Layout of an event on IPFS (one small UnixFS directory per event, whatever the number of tickets)::

    <dirCID>/event.json     collection metadata (ERC-7572 ``contractURI``)
    <dirCID>/image.<ext>    the event image
    <dirCID>/tiers/<id>     ticket metadata of tier <id> (no extension: tokenURI is base + id)
    <dirCID>/tiers/<id>.<ext>  a tier's own image, when it has one

``image`` fields point at the image's own CID (``ipfs://<imageCID>``): pointing into the directory
would make the JSON depend on the directory's CID, which depends on the JSON.

Tickets of a tier share one metadata file: ``tokenURI(id)`` is ``ipfs://<dirCID>/tiers/`` + the
ticket's tier id. 100k tickets cost no more uploads than 1 (see the report's recommendation).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from multiformats import CID

from metadata.cid import MAX_DIRECTORY_ENTRIES, directory_cid, file_cid
from metadata.errors import MetadataError

MAX_JSON_BYTES = 64 * 1024
"""Marketplaces fetch metadata eagerly; anything larger is a mistake, not a ticket."""

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_ATTRIBUTES = 64
MAX_TIERS = MAX_DIRECTORY_ENTRIES // 2 - 1  # a tier may bring its own image into tiers/

IMAGE_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}

AttributeValue = str | int


def image_kind(data: bytes) -> str:
    """The image format (a key of :data:`IMAGE_TYPES`) from magic bytes, or MetadataError.

    Sniffed, not trusted from a file name or a client's content type: a JSON or HTML file passed
    as an image would otherwise be pinned and shown by wallets as a broken (or scripted) image.
    """
    if not data:
        raise MetadataError("image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise MetadataError(f"image of {len(data)} bytes exceeds {MAX_IMAGE_BYTES} bytes")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        if b"<script" in data.lower():
            raise MetadataError("SVG image contains a script")
        return "svg"
    raise MetadataError(f"image is not PNG, JPEG, GIF, WebP or SVG (starts with {data[:16]!r})")


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no whitespace, no floats, at most 64 KiB."""
    _refuse_floats(value)
    try:
        data = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"metadata is not JSON-serialisable: {exc}") from None
    if len(data) > MAX_JSON_BYTES:
        raise MetadataError(f"metadata JSON of {len(data)} bytes exceeds {MAX_JSON_BYTES} bytes")
    return data


def _refuse_floats(value: object) -> None:
    """Floats print differently across languages (1e21, -0.0): they have no canonical form."""
    if isinstance(value, float) and not math.isnan(value):
        raise MetadataError(f"float {value!r} in metadata: use an integer or a string")
    if isinstance(value, float):
        raise MetadataError("NaN in metadata")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MetadataError(f"metadata key {key!r} is not a string")
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def parse_metadata(data: bytes) -> dict[str, Any]:
    """Parse and check ERC-721 metadata bytes (what a wallet would read back from tokenURI)."""
    if len(data) > MAX_JSON_BYTES:
        raise MetadataError(f"metadata JSON of {len(data)} bytes exceeds {MAX_JSON_BYTES} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MetadataError(f"metadata is not UTF-8 JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MetadataError("metadata must be a JSON object")
    for key in ("name", "description", "image"):
        if not isinstance(value.get(key), str):
            raise MetadataError(f"metadata field {key!r} is missing or not a string")
    attributes = value.get("attributes", [])
    if not isinstance(attributes, list) or not all(
        isinstance(a, dict) and isinstance(a.get("trait_type"), str) and "value" in a
        for a in attributes
    ):
        raise MetadataError("metadata attributes must be a list of {trait_type, value}")
    return value


def _text(label: str, value: str, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise MetadataError(f"{label} must be a string")
    value = value.strip()
    if required and not value:
        raise MetadataError(f"{label} is empty")
    if len(value) > limit:
        raise MetadataError(f"{label} of {len(value)} characters exceeds {limit}")
    return value


def _timestamp(start: datetime) -> int:
    if start.tzinfo is None:
        raise MetadataError("start time must be timezone-aware (a naive time is ambiguous)")
    return int(start.timestamp())


def _attribute(
    trait: str, value: AttributeValue, display_type: str | None = None
) -> dict[str, Any]:
    attr: dict[str, Any] = {"trait_type": trait, "value": value}
    if display_type:
        attr["display_type"] = display_type
    return attr


@dataclass(frozen=True)
class Tier:
    """A ticket tier. ``tier_id`` is what the contract appends to the base URI."""

    tier_id: int
    name: str
    description: str = ""
    image: bytes | None = None
    """The tier's own image; the event image when None."""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """The event: what every ticket's metadata repeats (name, venue, start time, image)."""

    name: str
    description: str
    venue: str
    start_time: datetime
    image: bytes
    external_url: str | None = None


def event_metadata(event: Event, image_cid: CID) -> dict[str, Any]:
    """Collection-level metadata (ERC-7572 ``contractURI``), as a JSON-ready dict."""
    meta: dict[str, Any] = {
        "name": _text("event name", event.name, MAX_NAME_CHARS),
        "description": _text(
            "description", event.description, MAX_DESCRIPTION_CHARS, required=False
        ),
        "image": f"ipfs://{image_cid}",
        "attributes": [
            _attribute("Venue", _text("venue", event.venue, MAX_NAME_CHARS)),
            _attribute("Start time", _timestamp(event.start_time), "date"),
        ],
    }
    if event.external_url:
        meta["external_link"] = _text("external url", event.external_url, 2048)
    return meta


def tier_metadata(event: Event, tier: Tier, image_cid: CID) -> dict[str, Any]:
    """ERC-721 metadata shared by every ticket of ``tier``, as a JSON-ready dict."""
    if not isinstance(tier.tier_id, int) or tier.tier_id < 0:
        raise MetadataError(f"tier id {tier.tier_id!r} must be a non-negative integer")
    tier_name = _text("tier name", tier.name, MAX_NAME_CHARS)
    attributes = [
        _attribute("Tier", tier_name),
        _attribute("Venue", _text("venue", event.venue, MAX_NAME_CHARS)),
        _attribute("Start time", _timestamp(event.start_time), "date"),
    ]
    reserved = {a["trait_type"] for a in attributes}
    for trait, value in sorted(tier.attributes.items()):
        _text("attribute name", trait, MAX_NAME_CHARS)
        if trait in reserved:
            raise MetadataError(f"attribute {trait!r} is set by Fairgate")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MetadataError(f"attribute {trait!r} must be a string or an integer")
        if isinstance(value, str):
            value = _text(f"attribute {trait!r}", value, MAX_NAME_CHARS, required=False)
        attributes.append(_attribute(trait, value))
    if len(attributes) > MAX_ATTRIBUTES:
        raise MetadataError(f"{len(attributes)} attributes exceed {MAX_ATTRIBUTES}")
    description = tier.description or event.description
    meta: dict[str, Any] = {
        "name": _text("ticket name", f"{event.name.strip()} — {tier_name}", MAX_NAME_CHARS * 2),
        "description": _text("description", description, MAX_DESCRIPTION_CHARS, required=False),
        "image": f"ipfs://{image_cid}",
        "attributes": attributes,
    }
    if event.external_url:
        meta["external_url"] = _text("external url", event.external_url, 2048)
    return meta


@dataclass(frozen=True)
class EventBundle:
    """The files of one event's directory and its locally computed CID."""

    files: dict[str, bytes]
    cid: CID

    @property
    def base_uri(self) -> str:
        """What the contract's base URI should be: ``tokenURI = base_uri + tierId``."""
        return f"ipfs://{self.cid}/tiers/"

    @property
    def contract_uri(self) -> str:
        return f"ipfs://{self.cid}/event.json"

    def tier_uri(self, tier_id: int) -> str:
        return f"{self.base_uri}{tier_id}"


def build_event_bundle(event: Event, tiers: Sequence[Tier]) -> EventBundle:
    """All files of an event (metadata JSON and images) and the directory CID they make."""
    if not tiers:
        raise MetadataError("an event needs at least one tier")
    if len(tiers) > MAX_TIERS:
        raise MetadataError(f"{len(tiers)} tiers exceed {MAX_TIERS}")
    ids = [t.tier_id for t in tiers]
    if len(set(ids)) != len(ids):
        raise MetadataError("tier ids must be unique")
    event_ext = image_kind(event.image)
    event_image_cid = file_cid(event.image)
    files: dict[str, bytes] = {
        f"image.{event_ext}": event.image,
        "event.json": canonical_json(event_metadata(event, event_image_cid)),
    }
    for tier in tiers:
        image_cid = event_image_cid
        if tier.image is not None:
            files[f"tiers/{tier.tier_id}.{image_kind(tier.image)}"] = tier.image
            image_cid = file_cid(tier.image)
        files[f"tiers/{tier.tier_id}"] = canonical_json(tier_metadata(event, tier, image_cid))
    return EventBundle(files, directory_cid(files))
