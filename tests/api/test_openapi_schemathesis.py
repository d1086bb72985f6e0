"""Property-based run of the OpenAPI schema with schemathesis, over every endpoint.

schemathesis cannot live in .venv (it needs a newer hypothesis than brownie's pin), so the set-up
(scripts/setup.sh, through scripts/setup_schemathesis.sh) creates .venv-schemathesis, and this
test drives its CLI against a real server (``python -m api``, real PostgreSQL and Ganache) over
HTTP. Checks: no 5xx, every status code, content type, header and body as the schema says. Run
once without credentials and once with an organizer's key (so the organizer endpoints get past
authentication).
"""

from __future__ import annotations

import subprocess

import pytest
from api_helpers import LiveServer, create_event, place_order
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
    """The CLI installed by the set-up (scripts/setup.sh runs scripts/setup_schemathesis.sh)."""
    cli = VENV / "bin" / "schemathesis"
    if not cli.exists():
        pytest.fail(f"{cli} is missing: run `make setup` (scripts/setup_schemathesis.sh)")
    return str(cli)


@pytest.mark.parametrize("auth", ["anonymous", "organizer", "fan"])
def test_openapi_property_run(
    schemathesis_cli: str, app_client: TestClient, organizer_key: str, settings, tmp_path, auth: str
) -> None:
    event = create_event(app_client, organizer_key, supply=20)  # something to read
    order = place_order(app_client, event, 1)
    # real identifiers, so the operations behind them are reached and not only their 404s
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.order_id" = "{order["id"]}"\n'
        f'"path.payment_id" = "{order["payment_ref"]}"\n'
        f'"path.event_id" = {event["id"]}\n'
        '"path.provider_name" = "local"\n'
    )
    server = LiveServer(settings)
    try:
        command = [
            schemathesis_cli,
            *(["--config-file", str(config)] if auth == "fan" else []),
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
        if auth == "fan":
            command += ["--header", f"X-Order-Token: {order['order_token']}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.stop()
    print(result.stdout[-2500:])  # the run's summary, shown with -s
    assert result.returncode == 0, result.stdout[-6000:]
