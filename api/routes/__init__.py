"""HTTP routes: parse, authorize, delegate to api.services. Nothing else lives here."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the JSON errors a route can answer."""
    return {code: {"model": ErrorBody} for code in codes}
