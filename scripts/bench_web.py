"""Benchmark the browser pages in headless Chromium, beside a baseline measured in the same run.

    .venv/bin/python scripts/bench_web.py [--json PATH] [--n-prove 5] [--only SECTION ...]

Sections (each registered with :func:`section`; another engineer's section adds its own keys):

* ``fan``: the fan page's JavaScript. ``fan_page_js_kb`` is ``build/web/fan.js`` gzipped (what
  ``/event/{id}`` and ``/me`` load; the circuit files excluded), with ``fan_page_js_contents``
  (minified bytes per npm package, from esbuild's metafile) and ``fan_worker_js_kb`` (the
  prover worker, loaded only when a fan shows a code).
* ``scanner``: ``scan_to_verdict_p50_ms`` / ``_p95_ms``, a code on the gate scanner page's fake
  camera to the verdict on screen, beside ``http_verdict_p50_ms`` / ``_p95_ms``, the same
  verdicts over plain HTTP (``scripts/bench_gate_scanner.py``, which it runs).
* ``prove``: ``browser_prove_s``, the gate proof made in the page's Web Worker
  (``/assets/js/prove.worker.js``, snarkjs) with the circuit files the bridge serves by hash,
  warm (median of N after one warm-up), timed in the page from ``postMessage`` to the answer;
  beside ``node_prove_s``, snarkjs ``groth16.fullProve`` in one warm Node process
  (``zk/node/snarkjs_worker.js``) on the same input, in the same run: one proof each in turn,
  so both see the same load. ``*_cpu_s`` are the CPU seconds of Chromium's processes and of
  the Node process per proof (threads summed): the figure the machine's load moves least.

The machine's load average is recorded beside the figures (other jobs share its two cores).
Uses the cached ceremony (built on first use, minutes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

TARGETS = {
    "browser_prove_s": ("<=", 1.5),
    "scan_to_verdict_p95_ms": ("<=", 500.0),
}


class Context:
    """What every section may use: the Chromium browser and the arguments."""

    def __init__(self, browser: Browser, args: argparse.Namespace) -> None:
        self.browser = browser
        self.args = args


SECTIONS: dict[str, Callable[[Context], dict[str, Any]]] = {}


def section(name: str) -> Callable[[Callable[[Context], dict[str, Any]]], Any]:
    """Register a benchmark section (its figures are merged into the result)."""

    def register(fn: Callable[[Context], dict[str, Any]]) -> Callable[[Context], dict[str, Any]]:
        SECTIONS[name] = fn
        return fn

    return register


@contextmanager
def bridge_without_chain() -> Iterator[str]:
    """A bridge (no chain needed: the pages' assets and the circuit files) served by uvicorn."""
    import uvicorn

    from api.app import create_app
    from api.migrate import upgrade
    from chain.ganache import free_port
    from fairgate.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-web-") as home:
        settings = Settings(env="test", home=Path(home))
        app = create_app(settings, with_chain=False)
        upgrade(app.state.engine)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


# ------------------------------------------------------------------ fan: the page's JavaScript


def bundle_contents(entry: Path) -> dict[str, int]:
    """Minified bytes per npm package (or ``web/src``) in the bundle of ``entry``."""
    script = """
    import { build } from "esbuild";
    const r = await build({ entryPoints: [process.argv[1]], bundle: true, minify: true,
      format: "esm", platform: "browser", write: false, metafile: true, logLevel: "silent",
      define: { "process.env.NODE_DEBUG": "false", global: "globalThis" },
      target: ["chrome110", "firefox115", "safari16"], outdir: "out" });
    const out = Object.values(r.metafile.outputs)[0];
    const by = {};
    for (const [path, info] of Object.entries(out.inputs)) {
      const m = path.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/);
      const key = m ? m[1] : "web/src (ours)";
      by[key] = (by[key] || 0) + info.bytesInOutput;
    }
    process.stdout.write(JSON.stringify(by));
    """
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script, str(entry)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    parts: dict[str, int] = json.loads(proc.stdout)
    return dict(sorted(parts.items(), key=lambda kv: -kv[1]))


def gz_kb(path: Path) -> float:
    return round(len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024, 1)


@section("fan")
def bench_fan_js(ctx: Context) -> dict[str, Any]:
    built = ROOT / "build" / "web"
    return {
        "fan_page_js_kb": gz_kb(built / "fan.js"),
        "fan_page_js_raw_kb": round((built / "fan.js").stat().st_size / 1024, 1),
        "fan_page_js_contents": bundle_contents(ROOT / "web" / "src" / "fan.js"),
        "fan_worker_js_kb": gz_kb(built / "prove.worker.js"),
    }


# ------------------------------------------------------------------ prove: the page's worker


def prove_input() -> dict[str, Any]:
    """A gate proof's input for a ticket in a tree of 1,000 tickets, for the current window."""
    from zk.identity import TicketSecret, gate_scope, time_window, window_challenge
    from zk.tree import MerkleTree

    secrets = [TicketSecret.generate() for _ in range(1000)]
    tree = MerkleTree.from_leaves([s.commitment() for s in secrets])
    scope = gate_scope(1337, "0x" + "ab" * 20)
    path = tree.proof(777)
    return {
        "root": str(path.root),
        "scope": str(scope),
        "challenge": str(window_challenge(scope, time_window(time.time()))),
        "secret": str(secrets[777].reveal()),
        "leafIndex": "777",
        "siblings": [str(s) for s in path.siblings],
    }


PAGE_SETUP = """async () => {
  const circuit = await (await fetch("/zk/gate-circuit")).json();
  const worker = new Worker("/assets/js/prove.worker.js", { type: "module" });
  let next = 1;
  window.__prove = (input) => new Promise((resolve, reject) => {
    const id = next++;
    const started = performance.now();
    worker.onmessage = (e) => e.data.error ? reject(new Error(e.data.error))
      : resolve({ s: (performance.now() - started) / 1000, proof: e.data.proof,
                  publicSignals: e.data.publicSignals });
    worker.postMessage({ id, input, wasm: circuit.wasm, zkey: circuit.zkey });
  });
}"""


def _cpu_s(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _chromium_pids() -> list[int]:
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                found.append(child.pid)
        except psutil.Error:
            pass
    return found


@section("prove")
def bench_prove(ctx: Context) -> dict[str, Any]:
    """Browser worker and Node, one proof each in turn (so both see the same machine load),
    wall time and the CPU seconds of the processes (Chromium's, Node's) per proof."""
    from zk.proof import GateProof, PublicSignals
    from zk.setup import current_artifacts
    from zk.snarkjs_node import SnarkjsNode
    from zk.verifier import GateVerifier

    artifacts = current_artifacts()
    inputs = prove_input()
    n = ctx.args.n_prove
    files = {"wasm": str(artifacts.circuit.wasm), "zkey": str(artifacts.zkey)}
    browser_s, browser_cpu, node_s, node_cpu = [], [], [], []
    with bridge_without_chain() as url, SnarkjsNode() as node:
        page = ctx.browser.new_page()
        try:
            page.goto(url + "/me")
            page.evaluate(PAGE_SETUP)
            started = time.perf_counter()
            out = page.evaluate("(input) => window.__prove(input)", inputs)  # cold
            cold = time.perf_counter() - started
            node.call("fullprove", input=inputs, **files)  # warm the Node process
            node_pid = [node._proc.pid]
            for _ in range(n):
                pids = _chromium_pids()
                cpu = _cpu_s(pids)
                out = page.evaluate("(input) => window.__prove(input)", inputs)
                browser_cpu.append(_cpu_s(pids) - cpu)
                browser_s.append(out["s"])
                cpu = _cpu_s(node_pid)
                started = time.perf_counter()
                node.call("fullprove", input=inputs, **files)
                node_s.append(time.perf_counter() - started)
                node_cpu.append(_cpu_s(node_pid) - cpu)
        finally:
            page.close()
    words = _words(out["proof"])
    proof = GateProof(
        proof=b"".join(w.to_bytes(32, "big") for w in words),
        public=PublicSignals.from_snarkjs(out["publicSignals"]),
    )
    verifier = GateVerifier(artifacts.vkey)
    try:
        verified = verifier.verify(proof)
    finally:
        verifier.close()
    med = statistics.median
    return {
        "browser_prove_s": round(med(browser_s), 3),
        "browser_prove_cold_s": round(cold, 3),
        "browser_prove_all_s": [round(x, 3) for x in browser_s],
        "browser_prove_cpu_s": round(med(browser_cpu), 3),
        "browser_proof_verified_by_gate_verifier": verified,
        "node_prove_s": round(med(node_s), 3),
        "node_prove_all_s": [round(x, 3) for x in node_s],
        "node_prove_cpu_s": round(med(node_cpu), 3),
    }


def _words(proof: dict[str, Any]) -> list[int]:
    a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
    raw = [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]]
    return [int(x) for x in raw]


# ------------------------------------------------------------------ scanner: the gate's camera


@section("scanner")
def bench_scanner(ctx: Context) -> dict[str, Any]:
    """``scan_to_verdict_p50_ms`` / ``_p95_ms`` beside ``http_verdict_*`` (the same verdicts
    over plain HTTP): see ``scripts/bench_gate_scanner.py``, which launches its own Chromium
    (the fake camera is a launch flag) and its own Ganache."""
    from bench_gate_scanner import measure  # scripts/ is sys.path[0] when run as a script

    return measure(ctx.args.scan_codes, ctx.args.scan_loops, ctx.browser.browser_type)


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--n-prove", type=int, default=5)
    parser.add_argument("--scan-codes", type=int, default=12, help="scanner: codes on camera")
    parser.add_argument("--scan-loops", type=int, default=3, help="scanner: video loops")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="sections to run")
    args = parser.parse_args()
    from tests.web.browser import launch_chromium

    result: dict[str, Any] = {"load_avg_before": list(os.getloadavg()), "cpus": os.cpu_count()}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        ctx = Context(browser, args)
        try:
            for name, fn in SECTIONS.items():
                if args.only and name not in args.only:
                    continue
                started = time.monotonic()
                result.update(fn(ctx))
                result[f"{name}_section_s"] = round(time.monotonic() - started, 1)
        finally:
            browser.close()
    result["load_avg_after"] = list(os.getloadavg())
    result["chromium"] = _chromium_version()
    for key, (op, target) in TARGETS.items():
        if key in result:
            ok = result[key] <= target if op == "<=" else result[key] >= target
            result[f"{key}_target"] = f"{op} {target}: {'met' if ok else 'NOT met'}"
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


def _chromium_version() -> str:
    from tests.web.browser import CHROMIUM

    try:
        out = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True)
        return out.stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
