"""Benchmark the gate scanner page: from a code on the (fake) camera to the verdict on screen.

    .venv/bin/python scripts/bench_gate_scanner.py [--codes 12] [--loops 3] [--json PATH]

(``scripts/bench_web.py`` runs it as its ``scanner`` section.)

Set-up, not timed: a Ganache of its own, one event with ``2 * codes`` tickets, its root
published; the gate device service (``gate.app`` under uvicorn, SQLite NORMAL) with the roots
synced; one rotating window code per ticket (groth16py; the gate's clock skew is set to 300 s
so the codes stay good for the whole run). Chromium plays a fake-camera video (10 frames/s,
640x480) of a warm-up QR code (not a ticket; its verdicts are left out, ``scan_first_ms`` is the
cold first scan) and ``codes`` ticket codes, each shown 1 s between 0.8 s of an empty view, in a
loop: the first loop's verdicts are admissions, later loops' are "already used".

* ``scan_to_verdict_p50_ms`` / ``_p95_ms`` (target p95 <= 500 ms): per scan, from the capture
  time of the first camera frame that can hold the code (``requestVideoFrameCallback``'s
  ``captureTime``; when frames were skipped, the one right after the last frame decoded empty:
  an upper bound) to the second animation frame after the verdict entered the page (painted).
  Split into ``decode`` (frame to request: waiting for the frame, jsQR), ``fetch`` (the
  device's answer) and ``paint``.
* Baseline in the same run: ``http_verdict_p50_ms`` / ``_p95_ms``, the same verdicts asked of
  the same service over plain HTTP from Python (``POST /api/scan``, a kept-alive connection),
  for the other ``codes`` fresh tickets (admitted) and then again (already used).

The machine's load average is recorded beside the figures (other jobs share its two cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "fgs_bench_" + "b" * 32
WARM_UP = "FAIRGATE SCANNER WARM-UP"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


def summary(prefix: str, values: list[float]) -> dict[str, float]:
    return {f"{prefix}_p50_ms": pct(values, 0.5), f"{prefix}_p95_ms": pct(values, 0.95)}


def measure(codes_n: int = 12, loops: int = 3, chromium: Any = None) -> dict[str, Any]:
    """The figures; ``chromium`` is a Playwright ``BrowserType`` to launch from (when the caller
    already runs Playwright, as bench_web.py does), else this starts Playwright itself."""
    import httpx
    import qrcode
    import qrcode.constants
    import uvicorn
    from playwright.sync_api import sync_playwright
    from web3 import Web3

    from chain.deploy import deploy_platform
    from chain.devchain import latest_timestamp
    from chain.ganache import GanacheRunner, free_port
    from chain.keys import Signer
    from chain.sender import TransactionSender
    from chain.ticket_event import TicketEventClient
    from chain.ticket_gate import TicketGateClient
    from chain.tree_logs import read_tree_logs
    from chain.types import EventParams, MintRun, Tier
    from fairgate.settings import Settings
    from gate.app import create_gate_app, pairing_link
    from gate.service import GateService
    from tests.web.browser import launch_chromium, write_y4m_sequence
    from zk import payload
    from zk.identity import TicketSecret, gate_scope, time_window, window_challenge
    from zk.prover import GateProver
    from zk.setup import local_setup
    from zk.tree_sync import tree_from_events
    from zk.verifier import GateVerifier

    artifacts = local_setup()
    prover, verifier = GateProver(artifacts), GateVerifier(artifacts.vkey)
    tickets = 2 * codes_n
    out: dict[str, Any] = {"scanner_codes": codes_n, "scanner_loops": loops}
    with GanacheRunner(free_port()) as node, tempfile.TemporaryDirectory() as tmp:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        signers = [
            Signer.from_account(a, f"dev{i}") for i, a in enumerate(node.accounts_with_keys())
        ]
        organizer, bridge, gate_account, fan = (TransactionSender(w3, s) for s in signers[1:5])
        deployment = deploy_platform(organizer, Settings(env="test", home=Path(tmp) / "home"))
        now = latest_timestamp(w3)
        event, _ = deployment.factory_client(w3, organizer).create_event(
            EventParams(
                name="Scanner bench",
                symbol="SCAN",
                organizer=organizer.address,
                starts_at=now + 86_400,
                ends_at=now + 2 * 86_400,
                tiers=(Tier(10**16, tickets, 10_000, 0, now, now + 43_200),),
                minter=bridge.address,
                gate=gate_account.address,
            )
        )
        secrets = [TicketSecret.generate() for _ in range(tickets)]
        run = MintRun(fan.address, tuple(s.commitment() for s in secrets), b"scan".ljust(32, b"\0"))
        TicketEventClient(w3, event.address, bridge).mint_batch(0, [run])
        gate_client = TicketEventClient(w3, event.address, gate_account)
        records, _ = read_tree_logs(w3, event.artifact.abi, event.address)
        tree = tree_from_events(records)
        TicketGateClient.for_event(gate_client).publish_root(tree.root)
        chain_id = int(w3.eth.chain_id)
        scope = gate_scope(chain_id, event.address)
        challenge = window_challenge(scope, time_window(time.time()))
        codes = [
            payload.encode(prover.prove(s, tree.proof(i), scope, challenge))
            for i, s in enumerate(secrets)
        ]
        settings = Settings(
            env="test", home=Path(tmp) / "gate", gate_id="bench", gate_window_skew_s=300
        )
        service = GateService.open(
            event=event.address,
            chain_id=chain_id,
            client=gate_client,
            verifier=verifier,
            settings=settings,
        )
        assert service.roots.sync()

        def qr_image(text: str) -> Any:
            qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4)
            qr.add_data(text)
            qr.make(fit=True)
            return qr.make_image().get_image()

        # a warm-up code first in each loop (not a ticket: refused, left out of the figures)
        scenes: list[tuple[Any, float]] = [(None, 0.8), (qr_image(WARM_UP), 1.0)]
        for text in codes[:codes_n]:
            scenes += [(None, 0.8), (qr_image(text), 1.0)]
        video = write_y4m_sequence(Path(tmp) / "camera.y4m", scenes, fps=10)

        app = create_gate_app(service, staff_key=KEY, name="Scanner bench", sync_every_s=None)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        try:
            out["load_avg_scanner_before"] = [round(x, 2) for x in os.getloadavg()]
            with contextlib.ExitStack() as stack:
                if chromium is None:
                    chromium = stack.enter_context(sync_playwright()).chromium
                browser = launch_chromium(chromium, fake_camera=video)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(pairing_link(base, KEY))
                    want = (codes_n + 1) * loops
                    page.wait_for_function(
                        f"() => window.fairgateScanner.timings.length >= {want}",
                        timeout=(codes_n * 1.8 * (loops + 1) + 60) * 1000,
                    )
                    timings = page.evaluate("() => window.fairgateScanner.timings")
                    out["scanner_time_base"] = page.evaluate(
                        "() => window.fairgateScanner.timeBase"
                    )
                finally:
                    browser.close()
            # baseline: the same verdicts over plain HTTP, on fresh tickets, then again
            http_ms: dict[str, list[float]] = {"admitted": [], "nullifier_used": []}
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as http:
                http.post("/api/scan", json={"code": "warm-up"})
                for _ in range(2):
                    for text in codes[codes_n:]:
                        started = time.perf_counter()
                        verdict = http.post("/api/scan", json={"code": text}).json()
                        http_ms[verdict["code"]].append((time.perf_counter() - started) * 1000)
            out["load_avg_scanner_after"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            service.close()

    out["scan_first_ms"] = round(timings[0]["ms"], 1)  # the cold first scan (the warm-up code)
    timings = [t for t in timings if t["code"] != "malformed"]
    scan = [t["ms"] for t in timings]
    out.update(summary("scan_to_verdict", scan))
    out["scan_to_verdict_n"] = len(scan)
    out["scan_to_verdict_max_ms"] = round(max(scan), 1)
    for code in ("admitted", "nullifier_used"):
        part = [t["ms"] for t in timings if t["code"] == code]
        if part:
            out.update(summary(f"scan_to_verdict_{code}", part))
    for step in ("decode", "fetch", "paint"):
        out[f"scan_{step}_p50_ms"] = pct([t[f"{step}_ms"] for t in timings], 0.5)
    out["scan_verdicts"] = {
        c: sum(t["code"] == c for t in timings) for c in {t["code"] for t in timings}
    }
    both = http_ms["admitted"] + http_ms["nullifier_used"]
    out.update(summary("http_verdict", both))
    for code, values in http_ms.items():
        if values:
            out.update(summary(f"http_verdict_{code}", values))
    out["scan_to_verdict_p50_over_http_ms"] = round(
        statistics.median(scan) - statistics.median(both), 1
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, default=12)
    parser.add_argument("--loops", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.codes, args.loops)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
