"""``python -m api --workers 2``: prometheus-client's multiprocess mode, so one scrape of the port
counts the requests every worker process answered, and both workers log JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.db import make_engine
from api.migrate import upgrade
from chain.ganache import free_port
from fairgate.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_one_scrape_counts_the_requests_of_every_worker_process(tmp_path: Path) -> None:
    engine = make_engine(Settings(env="test", home=tmp_path))
    upgrade(engine)
    engine.dispose()
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # a previous run's file: removed at start
    env = {
        **os.environ,
        "FAIRGATE_ENV": "test",
        "FAIRGATE_HOME": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "--workers", "2", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the bridge did not start"
            time.sleep(0.3)
        for _ in range(40):  # new connections: the kernel spreads them over the workers
            assert httpx.get(url + "/health/live", timeout=10).status_code == 200
        text = httpx.get(url + "/metrics", timeout=10).text
        pids = {p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
        assert "1.db" not in pids
        assert len(pids) == 2  # both worker processes wrote their samples
        total = sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "fairgate_http_requests_total" and s.labels["route"] == "/health/live"
        )
        assert total >= 41  # every /health/live, whichever worker answered it
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    lines = [json.loads(x) for x in (tmp_path / "server.log").read_text().splitlines() if x]
    assert sum(x["msg"].startswith("Started server process") for x in lines) == 2  # JSON, both
