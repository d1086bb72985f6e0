"""The pages a person opens first: ``/`` (what is on sale), ``/docs`` (the API, offline) and the
IPFS gateway of the stack's metadata (``/ipfs/<cid>/...``).

``/docs`` is Swagger UI from the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI
3.1), served under ``/assets/docs``: no CDN, so it works on a closed network. FastAPI's own
``/docs`` and ``/redoc`` (CDN-loaded) are switched off in :func:`api.app.create_app`.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.deps import SessionDep, SettingsDep
from api.pages import render
from api.services import catalog
from fairgate.settings import Settings
from metadata.gateway import make_gateway_router
from metadata.store import ContentStore, store_from_settings

__all__ = ["DOCS_ASSETS", "mount_site", "router"]

DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """What is on sale, and where to go next."""
    events = [catalog.event_out(e, settings.currency) for e in catalog.public_events(session)]
    return render(request, "landing.html", nav="home", events=events, currency=settings.currency)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, every asset served by the bridge itself."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="Fairgate bridge API",
        swagger_js_url=f"{root}/assets/docs/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/assets/docs/swagger-ui.css",
        swagger_favicon_url=f"{root}/assets/docs/favicon.png",
    )


def mount_site(app: FastAPI, settings: Settings) -> None:
    """The pages above, the Swagger UI assets, and the IPFS gateway over the metadata store
    (the dev stack's embedded store, or the Kubo node of ``FAIRGATE_IPFS_API_URL``)."""
    app.include_router(router)
    app.mount("/assets/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    stores: list[ContentStore] = []

    def store() -> ContentStore:
        if not stores:
            stores.append(store_from_settings(settings))
        return stores[0]

    app.include_router(make_gateway_router(store), include_in_schema=False)
