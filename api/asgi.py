"""The ASGI entry for uvicorn: ``uvicorn api.asgi:app`` (settings from FAIRGATE_* variables)."""

from api.app import create_app

app = create_app()
