"""The bridge serves the shared stylesheet and the bundled JavaScript itself (no CDN), and every
page's base template renders the landmarks a screen reader needs."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages import render
from fairgate.settings import Settings


def test_assets_are_served_offline_and_revalidated(tmp_path: Path) -> None:
    settings = Settings(env="test", home=tmp_path)
    app = create_app(settings, with_chain=False)

    @app.get("/_base", include_in_schema=False)
    def base(request: Request):  # type: ignore[no-untyped-def]
        return render(request, "base.html", nav="home")

    client = TestClient(app)
    css = client.get("/assets/css/fairgate.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "no-cache" and css.headers["etag"]
    manifest = client.get("/assets/js/manifest.json")
    assert manifest.status_code == 200 and isinstance(manifest.json(), dict)
    assert client.get("/assets/js/nope.js").status_code == 404
    page = client.get("/_base").text
    for landmark in (
        '<html lang="en">',
        'name="viewport"',
        '<main id="main">',
        'aria-label="Main"',
    ):
        assert landmark in page
