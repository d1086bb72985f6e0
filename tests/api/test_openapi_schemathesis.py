"""Property-based run of the OpenAPI schema with schemathesis, over every endpoint.

schemathesis cannot live in .venv (it needs a newer hypothesis than brownie's pin), so
scripts/setup_schemathesis.sh creates .venv-schemathesis and this test drives its CLI against a
real server (``python -m api``, real PostgreSQL and Ganache) over HTTP. Checks: no 5xx, every status
code, content type, header and body as the schema says. Run once without credentials and once
with an organizer's key (so the organizer endpoints get past authentication).
"""

from __future__ import annotations

import subprocess

import pytest
from api_helpers import LiveServer, create_event
from fastapi.testclient import TestClient

from fairgate.settings import PROJECT_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.slow]
VENV = PROJECT_ROOT / ".venv-schemathesis"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture(scope="module")
def schemathesis_cli() -> str:
    setup = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "setup_schemathesis.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert setup.returncode == 0, setup.stderr[-2000:]
    return str(VENV / "bin" / "schemathesis")


@pytest.mark.parametrize("auth", ["anonymous", "organizer"])
def test_openapi_property_run(
    schemathesis_cli: str, app_client: TestClient, organizer_key: str, settings, tmp_path, auth: str
) -> None:
    create_event(app_client, organizer_key, supply=20)  # something to read
    server = LiveServer(settings)
    try:
        command = [
            schemathesis_cli,
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "20261125",
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ]
        if auth == "organizer":
            command += ["--header", f"X-API-Key: {organizer_key}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-6000:]
