"""Sample events and images shared by the metadata tests."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image

from metadata.erc721 import Event, Tier


def png(color: tuple[int, int, int] = (200, 30, 60), size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (10, 20, 30)).save(buf, format="JPEG")
    return buf.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'


def sample_event(image: bytes | None = None) -> Event:
    return Event(
        name="Fairgate Live — Zürich",
        description="An evening of capped-resale music.",
        venue="Hallenstadion, Zürich",
        start_time=datetime(2027, 3, 14, 19, 30, tzinfo=UTC),
        image=image if image is not None else png(),
        external_url="https://fairgate.example/events/1",
    )


def sample_tiers() -> list[Tier]:
    return [
        Tier(0, "General admission"),
        Tier(
            1,
            "VIP",
            description="Front rows and a drink.",
            image=jpeg(),
            attributes={"Section": "A", "Row": 1},
        ),
        Tier(2, "Balcony", image=SVG),
    ]
