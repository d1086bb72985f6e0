"""Server-rendered pages: one Jinja2 environment (``api/templates``, every page extends
``base.html``) and the static assets every page shares, served from the package, offline.

- ``/assets/css/`` serves ``web/static`` (the one stylesheet, shared with the gate device);
- ``/assets/js/`` serves ``build/web``, the browser JavaScript bundled at set-up from ``web/src``
  (see ``web/README.md``). Bundles are named by entry, so they are sent with ``no-cache`` (the
  browser revalidates with the ETag); ``manifest.json`` there gives each one's sha256.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
STATIC_CSS = ROOT / "web" / "static"
BUNDLES = ROOT / "build" / "web"

__all__ = ["BUNDLES", "STATIC_CSS", "TEMPLATES", "mount_assets", "render"]


class _RevalidatedFiles(StaticFiles):
    """Static files the browser must revalidate (ETag) before reuse: names do not change."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def mount_assets(app: FastAPI) -> None:
    """Serve the stylesheet and the JavaScript bundles under ``/assets``."""
    app.mount("/assets/css", _RevalidatedFiles(directory=STATIC_CSS), name="css")
    app.mount("/assets/js", _RevalidatedFiles(directory=BUNDLES, check_dir=False), name="js")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` rendered with ``context`` (autoescaped)."""
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
