"""ERC-721 metadata: fields, determinism, round trip, and clear refusals of bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest
from helpers import SVG, png, sample_event, sample_tiers

from metadata.cid import directory_cid, file_cid
from metadata.erc721 import (
    MAX_IMAGE_BYTES,
    MAX_JSON_BYTES,
    MAX_TIERS,
    Tier,
    build_event_bundle,
    canonical_json,
    image_kind,
    parse_metadata,
    tier_metadata,
)
from metadata.errors import MetadataError


def test_bundle_layout_and_uris() -> None:
    bundle = build_event_bundle(sample_event(), sample_tiers())
    assert sorted(bundle.files) == [
        "event.json",
        "image.png",
        "tiers/0",
        "tiers/1",
        "tiers/1.jpg",
        "tiers/2",
        "tiers/2.svg",
    ]
    assert bundle.cid == directory_cid(bundle.files)
    assert bundle.base_uri == f"ipfs://{bundle.cid}/tiers/"
    assert bundle.tier_uri(1) == f"ipfs://{bundle.cid}/tiers/1"
    assert bundle.contract_uri == f"ipfs://{bundle.cid}/event.json"


def test_ticket_metadata_fields() -> None:
    event = sample_event()
    bundle = build_event_bundle(event, sample_tiers())
    general = parse_metadata(bundle.files["tiers/0"])
    assert general["name"] == "Fairgate Live — Zürich — General admission"
    assert general["description"] == event.description
    assert general["image"] == f"ipfs://{file_cid(event.image)}"
    assert general["external_url"] == "https://fairgate.example/events/1"
    traits = {a["trait_type"]: a for a in general["attributes"]}
    assert traits["Tier"]["value"] == "General admission"
    assert traits["Venue"]["value"] == "Hallenstadion, Zürich"
    assert traits["Start time"] == {
        "trait_type": "Start time",
        "display_type": "date",
        "value": 1805052600,
    }
    vip = parse_metadata(bundle.files["tiers/1"])
    assert vip["image"] == f"ipfs://{file_cid(bundle.files['tiers/1.jpg'])}"
    assert vip["description"] == "Front rows and a drink."
    vip_traits = {a["trait_type"]: a["value"] for a in vip["attributes"]}
    assert vip_traits.items() >= {"Section": "A", "Row": 1}.items()
    collection = parse_metadata(bundle.files["event.json"])
    assert collection["name"] == event.name


def test_deterministic_and_canonical() -> None:
    first = build_event_bundle(sample_event(), sample_tiers())
    second = build_event_bundle(sample_event(), list(reversed(sample_tiers())))
    assert first.files == second.files and first.cid == second.cid
    raw = first.files["tiers/0"]
    assert b" " not in raw.split(b'"')[0] and b"\n" not in raw
    assert "Zürich".encode() in raw  # UTF-8, not \u escapes
    meta = json.loads(raw)
    assert list(meta) == sorted(meta)


def test_round_trip() -> None:
    bundle = build_event_bundle(sample_event(), sample_tiers())
    for name in ("event.json", "tiers/0", "tiers/1", "tiers/2"):
        parsed = parse_metadata(bundle.files[name])
        assert canonical_json(parsed) == bundle.files[name]


def test_image_kinds() -> None:
    assert image_kind(png()) == "png"
    assert image_kind(SVG) == "svg"
    assert image_kind(b"GIF89a" + b"\0" * 10) == "gif"
    assert image_kind(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        pytest.param(b'{"name": "not an image"}', "not PNG, JPEG, GIF, WebP or SVG", id="json"),
        pytest.param(b"<html><script>alert(1)</script></html>", "not PNG", id="html"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
            "script",
            id="svg-script",
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_IMAGE_BYTES, "exceeds", id="huge"),
    ],
)
def test_bad_images_are_refused_clearly(image: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        build_event_bundle(sample_event(image=image), sample_tiers())


def test_bad_tier_image_is_refused() -> None:
    with pytest.raises(MetadataError, match="not PNG"):
        build_event_bundle(sample_event(), [Tier(0, "GA", image=b'{"a":1}')])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " "}, "empty"),
        ({"name": "x" * 201}, "exceeds"),
        ({"description": "d" * 10_001}, "exceeds"),
        ({"venue": ""}, "venue is empty"),
        ({"start_time": datetime(2027, 1, 1, 20, 0)}, "timezone-aware"),
    ],
)
def test_bad_event_fields(change: dict[str, object], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        build_event_bundle(replace(sample_event(), **change), sample_tiers())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one tier"),
        ([Tier(0, "A"), Tier(0, "B")], "unique"),
        ([Tier(-1, "A")], "non-negative"),
        ([Tier(i, "T") for i in range(MAX_TIERS + 1)], "exceed"),
        ([Tier(0, "A", attributes={"Price": 1.5})], "string or an integer"),  # type: ignore[dict-item]
        ([Tier(0, "A", attributes={"Tier": "B"})], "set by Fairgate"),
        ([Tier(0, "A", attributes={f"k{i}": i for i in range(70)})], "attributes exceed"),
    ],
)
def test_bad_tiers(tiers: list[Tier], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        build_event_bundle(sample_event(), tiers)


def test_canonical_json_refuses_floats_and_huge_documents() -> None:
    with pytest.raises(MetadataError, match="float"):
        canonical_json({"a": 1.5})
    with pytest.raises(MetadataError, match="NaN"):
        canonical_json({"a": [float("nan")]})
    with pytest.raises(MetadataError, match="exceeds"):
        canonical_json({"a": "x" * MAX_JSON_BYTES})
    with pytest.raises(MetadataError, match="key"):
        canonical_json({1: "x"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{not json", "not UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"name": "x", "description": "", "image": 3}', "image"),
        (b'{"name": "x", "description": "", "image": "", "attributes": [1]}', "attributes"),
        pytest.param(b" " * (MAX_JSON_BYTES + 1), "exceeds", id="huge"),
    ],
)
def test_parse_metadata_refuses(data: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_metadata(data)


def test_tier_metadata_is_a_plain_dict() -> None:
    meta = tier_metadata(sample_event(), Tier(3, "Floor"), file_cid(png()))
    assert json.loads(canonical_json(meta)) == meta
