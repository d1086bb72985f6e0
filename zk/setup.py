"""Trusted setup of the gate circuit: compile, powers of tau (phase 1), Groth16 phase 2.

zkpy drives the steps it does right (the product's users chose it); each of its faults seen on
this toolchain is guarded here, next to the call it affects:

* ``circom`` must be on PATH: :func:`zk.toolchain.tools_on_path` provides a wrapper around circom2.
* ``Circuit.compile()`` cannot pass ``-l`` or ``--O2``: the wrapper appends
  ``-l node_modules --O2`` (see :data:`CIRCOM_FLAGS`), so zkpy still runs the compile.
* ``Circuit.compile()`` ignores a failed compile and never creates its output folder: we create
  the folder, then check that the r1cs and wasm exist; if not, we rerun circom2 ourselves to get
  its error and raise :class:`~fairgate.errors.ToolchainError`.
* ``check_circ_compiled()`` always returns False: not used; files are checked directly.
* ``PTau(working_dir=relative)`` breaks: only absolute folders are passed.
* ``PTau.start()`` defaults to power 12: the power is always passed.
* ``PTau.contribute()`` draws default entropy with ``random.choices`` (not a CSPRNG), and
  ``Circuit.contribute_phase2()`` with its default empty entropy waits for a prompt forever:
  entropy is always ``secrets.token_hex(32)`` (or the caller's), never empty.
* ``Circuit.verify()`` raises CalledProcessError on an invalid proof: not used for verifying
  (see :mod:`zk.verifier`); every zkpy call is wrapped so its errors become ToolchainError.

Artifacts are cached by content hash (:mod:`zk.cache`) in ``~/.cache/fairgate/zk``: phase 1 at
2^13 costs about 4 minutes here (``prepare phase2`` dominates), and is done once per machine.

Production path (public ceremony, several phase-2 contributors)::

    # 1. a public phase-1 file, e.g. a prepared Hermez/PPoT .ptau of power >= 13, checked by hash
    FAIRGATE_ZK_PTAU_FILE=/path/pot13_final.ptau FAIRGATE_ZK_PTAU_SHA256=<sha256> \\
        python -m zk.setup init  --out round0.zkey        # circuit-specific phase 2 start
    # 2. each contributor, on their own machine, in turn (entropy from their CSPRNG)
    python -m zk.setup contribute round0.zkey round1.zkey --name "alice"
    python -m zk.setup contribute round1.zkey round2.zkey --name "bob"
    # 3. the coordinator checks the chain of contributions, applies a public random beacon
    #    (e.g. a future block hash named in advance), verifies and installs the result
    python -m zk.setup finalize round2.zkey --beacon <hex> --install

``python -m zk.setup local`` runs the whole development ceremony (one local contributor).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import zkpy

from fairgate.errors import ConfigError, ToolchainError
from fairgate.settings import PROJECT_ROOT, get_settings
from zk import cache
from zk.toolchain import CIRCOM_EXTRA_FLAGS, run_tool, tools_on_path

log = logging.getLogger(__name__)

CIRCUIT_DIR = Path(__file__).resolve().parent / "circuits"
GATE_CIRCUIT = CIRCUIT_DIR / "gate.circom"
CIRCUIT_NAME = "gate"
CIRCOM_FLAGS = ("-l", "node_modules", *CIRCOM_EXTRA_FLAGS)
# Public beacon of the development ceremony (phase 1 and 2). Production uses a value nobody
# could know in advance (e.g. the hash of a block named before the last contribution).
DEV_BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
BEACON_ITERATIONS = 10
SETUP_VERSION = "fairgate-zk-setup-1"

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# progress: the first set-up on a machine takes minutes; callers may follow it phase by phase

#: The set-up's phases in order, with their expected seconds on 2 loaded cores (toolchain.md):
#: the percentages are estimates from these, capped below 100 % until a phase really ends.
SETUP_PHASES: dict[str, float] = {
    "compile": 20.0,
    "ptau start": 2.0,
    "ptau contribute": 18.0,
    "ptau beacon": 10.0,
    "ptau prepare phase2": 234.0,
    "groth16 setup": 26.0,
    "zkey contribute": 5.0,
    "zkey beacon": 5.0,
    "export vkey": 2.0,
    "export solidity": 2.0,
}
_TOTAL_S = sum(SETUP_PHASES.values())


@dataclass(frozen=True)
class SetupProgress:
    """Where a running set-up is: its phase (``number`` of ``total``) and estimated shares."""

    phase: str
    number: int
    total: int
    phase_fraction: float
    overall: float
    elapsed_s: float


ProgressHook = Callable[[SetupProgress], None]
_hooks: list[ProgressHook] = []


@contextlib.contextmanager
def on_progress(hook: ProgressHook) -> Iterator[None]:
    """Call ``hook`` (about twice a second) while set-up phases run in this process."""
    _hooks.append(hook)
    try:
        yield
    finally:
        _hooks.remove(hook)


def _report(phase: str, fraction: float, elapsed: float) -> None:
    names = list(SETUP_PHASES)
    number = names.index(phase) + 1 if phase in SETUP_PHASES else len(names)
    before = sum(SETUP_PHASES[n] for n in names[: number - 1])
    overall = (before + SETUP_PHASES.get(phase, 0.0) * fraction) / _TOTAL_S
    progress = SetupProgress(phase, number, len(names), fraction, min(overall, 1.0), elapsed)
    for hook in list(_hooks):
        with contextlib.suppress(Exception):  # a display must never break the set-up
            hook(progress)


@contextlib.contextmanager
def _phase(what: str) -> Iterator[None]:
    """Report ``what`` while it runs: a ticker estimates its share from the expected time."""
    if not _hooks:
        yield
        return
    expected = SETUP_PHASES.get(what, 10.0)
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(0.5):
            elapsed = time.monotonic() - started
            _report(what, min(0.95, elapsed / expected), elapsed)

    _report(what, 0.0, 0.0)
    ticker = threading.Thread(target=tick, name="zk-setup-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
    _report(what, 1.0, time.monotonic() - started)


def _zkpy(what: str, call: Callable[[], T]) -> T:
    """Run a zkpy call; its CalledProcessError/ValueError become ToolchainError (no secrets).

    zkpy prints snarkjs's output with ``print``: it is captured and logged at debug level.
    """
    captured = io.StringIO()
    started = time.perf_counter()
    try:
        with _phase(what), contextlib.redirect_stdout(captured):
            result = call()
        log.info("zkpy %s: %.1f s", what, time.perf_counter() - started)
        log.debug("zkpy %s output: %s", what, captured.getvalue()[-4000:])
        return result
    except subprocess.CalledProcessError as exc:
        out = exc.stderr if isinstance(exc.stderr, bytes) else b""
        out = out or (exc.stdout if isinstance(exc.stdout, bytes) else b"")
        tail = out.decode("utf-8", "replace").strip()[-1500:]
        raise ToolchainError(f"zkpy {what} failed (exit {exc.returncode}): {tail}") from None
    except (ValueError, OSError) as exc:
        raise ToolchainError(f"zkpy {what} failed: {str(exc)[-1500:]}") from None


def _entropy(given: str | None) -> str:
    """Caller's entropy, or 32 bytes from the OS CSPRNG; never empty (zkpy would hang)."""
    value = given if given else secrets.token_hex(32)
    if not value.strip() or "\n" in value.rstrip("\n"):
        raise ToolchainError("entropy must be one non-empty line")
    return value


# ---------------------------------------------------------------------------------------------
# circuit


@dataclass(frozen=True)
class CompiledCircuit:
    """Compiled gate circuit: r1cs, wasm witness generator and symbols, in a cache entry."""

    key: str
    r1cs: Path
    wasm: Path
    sym: Path
    constraints: int


def _toolchain_versions() -> str:
    settings = get_settings()
    versions = []
    for package in ("circom2", "snarkjs", "circomlib"):
        manifest = settings.node_modules / package / "package.json"
        if not manifest.is_file():
            raise ToolchainError(f"{package} is not installed under {settings.node_modules}")
        versions.append(f"{package}@{json.loads(manifest.read_text())['version']}")
    return ",".join(versions)


def circuit_key(circuit: Path = GATE_CIRCUIT) -> str:
    """Cache key of a compiled circuit: its source, the toolchain versions and the flags."""
    return cache.key_of(
        SETUP_VERSION,
        "circuit",
        circuit.read_bytes(),
        _toolchain_versions(),
        " ".join(CIRCOM_FLAGS),
    )


def _r1cs_constraints(r1cs: Path) -> int:
    """Number of constraints, read from the r1cs header section (iden3 r1cs format)."""
    data = r1cs.read_bytes()
    if data[:4] != b"r1cs":
        raise ToolchainError(f"{r1cs.name} is not an r1cs file")
    pos, sections = 12, int.from_bytes(data[8:12], "little")
    for _ in range(sections):
        kind = int.from_bytes(data[pos : pos + 4], "little")
        size = int.from_bytes(data[pos + 4 : pos + 12], "little")
        body = pos + 12
        # header: field size (4), prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels (8), nConstraints
        if kind == 1:
            field_size = int.from_bytes(data[body : body + 4], "little")
            at = body + 4 + field_size + 4 * 4 + 8
            return int.from_bytes(data[at : at + 4], "little")
        pos = body + size
    raise ToolchainError(f"{r1cs.name} has no header section")


def compile_circuit(circuit: Path = GATE_CIRCUIT) -> CompiledCircuit:
    """Compile the circuit through zkpy (with the guards above), cached by :func:`circuit_key`."""
    name = circuit.stem

    def build(work: Path) -> dict[str, Any]:
        out = work / "out"
        out.mkdir()  # zkpy does not create it, and circom2 refuses a missing output folder
        rel = circuit.resolve().relative_to(PROJECT_ROOT)
        circ = zkpy.Circuit(str(rel), output_dir=str(out), working_dir=str(PROJECT_ROOT))
        with tools_on_path():
            _zkpy("compile", circ.compile)
        r1cs, wasm = out / f"{name}.r1cs", out / f"{name}_js" / f"{name}.wasm"
        if not (r1cs.is_file() and wasm.is_file()):
            # zkpy ignored a failed compile: rerun it ourselves to surface circom's message.
            run_tool("circom2", [str(rel), "--r1cs", "-o", str(out), *CIRCOM_FLAGS])
            raise ToolchainError(f"circom produced no r1cs/wasm for {rel}")
        shutil.move(r1cs, work / f"{name}.r1cs")
        shutil.move(wasm, work / f"{name}.wasm")
        shutil.move(out / f"{name}.sym", work / f"{name}.sym")
        shutil.rmtree(out)
        return {"circuit": str(rel), "constraints": _r1cs_constraints(work / f"{name}.r1cs")}

    entry = cache.build_entry("circuit", circuit_key(circuit), build)
    return CompiledCircuit(
        key=entry.folder.name,
        r1cs=entry.path(f"{name}.r1cs"),
        wasm=entry.path(f"{name}.wasm"),
        sym=entry.path(f"{name}.sym"),
        constraints=int(entry.meta["constraints"]),
    )


# ---------------------------------------------------------------------------------------------
# phase 1: powers of tau


def local_ptau(power: int | None = None, *, beacon: str = DEV_BEACON) -> Path:
    """A prepared phase-1 file from a local one-contributor ceremony (development only).

    Driven through ``zkpy.PTau``; cached per power (the entropy is random, so the key is the
    recipe and the file's own hash is recorded and checked in the manifest).
    """
    power = power or get_settings().zk_ptau_power

    def build(work: Path) -> dict[str, Any]:
        ptau = zkpy.PTau(working_dir=str(work.resolve()))  # absolute: relative ones break PTau
        with tools_on_path():
            _zkpy("ptau start", lambda: ptau.start(curve="bn128", constraints=str(power)))
            _zkpy(
                "ptau contribute",
                lambda: ptau.contribute(name="fairgate-dev", entropy=_entropy(None)),
            )
            _zkpy("ptau beacon", lambda: ptau.beacon(public_entropy=beacon, iter=BEACON_ITERATIONS))
            _zkpy("ptau prepare phase2", ptau.prep_phase2)
        final = Path(ptau.ptau_file)
        if not final.is_file():
            raise ToolchainError("zkpy reported success but wrote no prepared ptau")
        final.rename(work / "final.ptau")
        return {"power": power, "source": "local", "beacon": beacon}

    key = cache.key_of(SETUP_VERSION, "ptau-local", str(power), beacon)
    return cache.build_entry("ptau", key, build, keep=["final.ptau"]).path("final.ptau")


def public_ptau(path: Path, sha256: str) -> Path:
    """A public ceremony's prepared ptau, checked against its published SHA-256, then cached."""
    if not path.is_file():
        raise ToolchainError(f"ptau file {path} does not exist")
    actual = cache.sha256_file(path)
    if actual != sha256.lower():
        raise ToolchainError(f"ptau file {path.name} has SHA-256 {actual}, expected {sha256}")

    def build(work: Path) -> dict[str, Any]:
        shutil.copyfile(path, work / "final.ptau")
        return {"source": str(path), "sha256": actual}

    return cache.build_entry("ptau", cache.key_of("ptau-file", actual), build).path("final.ptau")


def phase1() -> Path:
    """The phase-1 file in use: the configured public file if any, else the local ceremony."""
    settings = get_settings()
    if settings.zk_ptau_file is not None:
        if not settings.zk_ptau_sha256:
            raise ToolchainError("FAIRGATE_ZK_PTAU_FILE needs FAIRGATE_ZK_PTAU_SHA256")
        return public_ptau(settings.zk_ptau_file, settings.zk_ptau_sha256)
    return local_ptau()


# ---------------------------------------------------------------------------------------------
# phase 2


@dataclass(frozen=True)
class Artifacts:
    """A finished setup: the circuit, its final zkey and verification key (all hash-checked)."""

    key: str
    circuit: CompiledCircuit
    zkey: Path
    vkey: Path
    ptau_sha256: str

    def vkey_json(self) -> dict[str, Any]:
        """The snarkjs verification key as a dict."""
        data: dict[str, Any] = json.loads(self.vkey.read_text())
        return data


def _zkpy_circuit(compiled: CompiledCircuit, work: Path) -> zkpy.Circuit:
    return zkpy.Circuit(
        str(GATE_CIRCUIT),
        output_dir=str(work),
        working_dir=str(PROJECT_ROOT),
        r1cs=str(compiled.r1cs),
        wasm=str(compiled.wasm),
        sym_file=str(compiled.sym),
    )


def start_phase2(compiled: CompiledCircuit, ptau: Path, out: Path) -> Path:
    """``groth16 setup`` through zkpy: the circuit-specific initial zkey (no contribution yet)."""
    circ = _zkpy_circuit(compiled, out.parent)
    with tools_on_path():
        _zkpy("groth16 setup", lambda: circ.setup(zkpy.GROTH, zkpy.PTau(str(ptau)), str(out)))
    if not out.is_file():
        raise ToolchainError("groth16 setup wrote no zkey")
    return out


def contribute_phase2(
    zkey_in: Path, zkey_out: Path, *, name: str, entropy: str | None = None
) -> str:
    """One phase-2 contribution (``snarkjs zkey contribute``); returns its contribution hash.

    zkpy's ``contribute_phase2`` cannot name the contributor, so this calls snarkjs directly;
    entropy comes from the CSPRNG unless given, and is never logged.
    """
    proc = run_tool(
        "snarkjs",
        [
            "zkey",
            "contribute",
            str(zkey_in),
            str(zkey_out),
            f"--name={name}",
            f"-e={_entropy(entropy)}",
        ],
    )
    if not zkey_out.is_file():
        raise ToolchainError("zkey contribute wrote no zkey")
    return _contribution_hash(proc.stdout)


def _contribution_hash(stdout: str) -> str:
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "Contribution Hash" in line:
            return " ".join(x.strip() for x in lines[i + 1 : i + 5]).replace(" ", "")
    return ""


def finalize_phase2(zkey_in: Path, zkey_out: Path, *, beacon: str, name: str = "beacon") -> Path:
    """Apply a public random beacon as the last phase-2 contribution."""
    with _phase("zkey beacon"):
        _beacon(zkey_in, zkey_out, beacon=beacon, name=name)
    return zkey_out


def _beacon(zkey_in: Path, zkey_out: Path, *, beacon: str, name: str) -> None:
    run_tool(
        "snarkjs",
        [
            "zkey",
            "beacon",
            str(zkey_in),
            str(zkey_out),
            beacon,
            str(BEACON_ITERATIONS),
            f"-n={name}",
        ],
    )


def verify_zkey(compiled: CompiledCircuit, ptau: Path, zkey: Path) -> None:
    """Check a zkey against the circuit and the phase-1 file (every contribution); raise if bad."""
    proc = run_tool("snarkjs", ["zkey", "verify", str(compiled.r1cs), str(ptau), str(zkey)])
    if "ZKey Ok!" not in proc.stdout:
        raise ToolchainError(f"zkey {zkey.name} does not match the circuit and ptau")


def _export(compiled: CompiledCircuit, zkey: Path, work: Path) -> None:
    circ = _zkpy_circuit(compiled, work)
    circ.zkey_file = str(zkey)
    with tools_on_path():
        _zkpy(
            "export vkey", lambda: circ.export_vkey(str(zkey), str(work / "verification_key.json"))
        )
        _zkpy("export solidity", lambda: circ.export_sol(str(work / "verifier.sol")))
    for name in ("verification_key.json", "verifier.sol"):
        if not (work / name).is_file():
            raise ToolchainError(f"snarkjs wrote no {name}")


def _install(compiled: CompiledCircuit, ptau: Path, zkey: Path, meta: dict[str, Any]) -> Artifacts:
    ptau_sha = cache.sha256_file(ptau)
    key = cache.key_of(SETUP_VERSION, "zkey", compiled.key, ptau_sha, cache.sha256_file(zkey))

    def build(work: Path) -> dict[str, Any]:
        shutil.copyfile(zkey, work / "final.zkey")
        _export(compiled, work / "final.zkey", work)
        return {**meta, "circuit": compiled.key, "ptau_sha256": ptau_sha}

    entry = cache.build_entry("zkey", key, build)
    _point_current(compiled, ptau_sha, key)
    return _artifacts(entry, compiled)


def _artifacts(entry: cache.Entry, compiled: CompiledCircuit) -> Artifacts:
    return Artifacts(
        key=entry.folder.name,
        circuit=compiled,
        zkey=entry.path("final.zkey"),
        vkey=entry.path("verification_key.json"),
        ptau_sha256=str(entry.meta["ptau_sha256"]),
    )


def _pointer(compiled: CompiledCircuit, ptau_sha: str) -> Path:
    return cache.cache_root() / "current" / f"{compiled.key}-{ptau_sha[:16]}.json"


def _point_current(compiled: CompiledCircuit, ptau_sha: str, key: str) -> None:
    pointer = _pointer(compiled, ptau_sha)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"zkey": key}))
    tmp.replace(pointer)


def local_setup(*, contributors: int = 1) -> Artifacts:
    """The development setup: phase 1 (:func:`phase1`), then phase 2 with ``contributors``
    local contributions and the dev beacon. Cached: a second call returns at once."""
    compiled = compile_circuit()
    ptau = phase1()
    ptau_sha = cache.sha256_file(ptau)
    pointer = _pointer(compiled, ptau_sha)
    found = _installed(pointer, compiled)
    if found is not None:
        return found
    cache.cache_root().mkdir(parents=True, exist_ok=True)
    with cache.exclusive(cache.cache_root() / f".{pointer.name}.lock", "phase 2"):
        # a parallel process (another test run) may have installed it while we waited
        return _installed(pointer, compiled) or _local_phase2(compiled, ptau, contributors)


def _installed(pointer: Path, compiled: CompiledCircuit) -> Artifacts | None:
    if pointer.is_file():
        entry = cache.open_entry("zkey", json.loads(pointer.read_text())["zkey"])
        if entry is not None:
            return _artifacts(entry, compiled)
    return None


def _local_phase2(compiled: CompiledCircuit, ptau: Path, contributors: int) -> Artifacts:
    with tempfile.TemporaryDirectory(prefix=".phase2-", dir=cache.cache_root()) as tmp:
        work = Path(tmp)
        zkey = start_phase2(compiled, ptau, work / "round0.zkey")
        hashes = []
        for i in range(contributors):
            nxt = work / f"round{i + 1}.zkey"
            if i == 0:
                _zkpy_contribute(compiled, zkey, nxt)
            else:
                hashes.append(contribute_phase2(zkey, nxt, name=f"dev-{i + 1}"))
            zkey = nxt
        final = finalize_phase2(zkey, work / "final.zkey", beacon=DEV_BEACON)
        meta = {"contributors": contributors, "beacon": DEV_BEACON, "hashes": hashes}
        return _install(compiled, ptau, final, meta)


def _zkpy_contribute(compiled: CompiledCircuit, zkey_in: Path, zkey_out: Path) -> None:
    """The first local contribution, through zkpy (non-empty CSPRNG entropy: no prompt)."""
    circ = _zkpy_circuit(compiled, zkey_out.parent)
    circ.zkey_file = str(zkey_in)

    def contribute() -> None:
        circ.contribute_phase2(entropy=_entropy(None), output_file=str(zkey_out))

    with tools_on_path():
        _zkpy("zkey contribute", contribute)
    if not zkey_out.is_file():
        raise ToolchainError("zkpy contribute_phase2 wrote no zkey")


def current_artifacts() -> Artifacts:
    """The installed setup for the current circuit and phase-1 file; runs the dev setup if none."""
    return local_setup()


SETUP_COMMAND = "make setup (or: .venv/bin/python -m zk.setup local)"


class SetupNotInstalled(ConfigError):
    """The gate circuit's set-up is not built on this machine (a server never builds it)."""

    code = "zk_setup_missing"


def installed_setup() -> Artifacts:
    """The set-up :func:`current_artifacts` would return, only if it is already built: never a
    compile or a ceremony step (minutes of CPU), so a server may call it from a request.

    Raises :class:`SetupNotInstalled` naming the first missing step and the command that builds
    it. Every file found is hash-checked (:func:`zk.cache.open_entry`)."""
    settings = get_settings()
    try:
        circuit = circuit_key()
    except ToolchainError as exc:  # circom2/snarkjs/circomlib not installed: nothing to key by
        _not_installed(f"the circuit toolchain ({exc})")
    compiled_entry = cache.open_entry("circuit", circuit)
    if compiled_entry is None:
        _not_installed("the compiled gate circuit")
    if settings.zk_ptau_file is not None:
        sha = (settings.zk_ptau_sha256 or "").lower()
        ptau_entry = cache.open_entry("ptau", cache.key_of("ptau-file", sha)) if sha else None
        what = f"the phase-1 file {settings.zk_ptau_file.name}, checked and cached"
    else:
        key = cache.key_of(SETUP_VERSION, "ptau-local", str(settings.zk_ptau_power), DEV_BEACON)
        ptau_entry = cache.open_entry("ptau", key)
        what = "phase 1 (powers of tau)"
    if ptau_entry is None:
        _not_installed(what)
    name = CIRCUIT_NAME
    compiled = CompiledCircuit(
        key=compiled_entry.folder.name,
        r1cs=compiled_entry.path(f"{name}.r1cs"),
        wasm=compiled_entry.path(f"{name}.wasm"),
        sym=compiled_entry.path(f"{name}.sym"),
        constraints=int(compiled_entry.meta["constraints"]),
    )
    # the manifest's hash of final.ptau: open_entry has just checked the file against it
    found = _installed(_pointer(compiled, ptau_entry.files["final.ptau"]), compiled)
    if found is None:
        _not_installed("phase 2 (the circuit's zkey and verification key)")
    return found


def _not_installed(what: str) -> NoReturn:
    raise SetupNotInstalled(
        f"the gate circuit's trusted set-up is not built on this machine (missing: {what}); "
        f"build it once with {SETUP_COMMAND}"
    )


def solidity_verifier_path() -> Path:
    """Path of the generated Solidity Groth16 verifier (``snarkjs zkey export solidityverifier``),
    copied to ``build/zk/GateVerifier.sol`` with a GENERATED header. Not written into contracts/."""
    artifacts = current_artifacts()
    source = (artifacts.zkey.parent / "verifier.sol").read_text()
    header = (
        "// GENERATED by zk/setup.py from `snarkjs zkey export solidityverifier` -- do not edit.\n"
        f"// zkey entry {artifacts.key}; public signals: [nullifier, root, scope, challenge].\n"
    )
    target = get_settings().zk_build_dir / "GateVerifier.sol"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = header + source
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return target


# ---------------------------------------------------------------------------------------------
# command line (multi-party path, see the module docstring)


def _log_progress_every(seconds: float) -> ProgressHook:
    """A progress hook that logs a line at each new phase and then every ``seconds``."""
    last: dict[str, float] = {}

    def hook(p: SetupProgress) -> None:
        if p.phase not in last or p.elapsed_s - last[p.phase] >= seconds:
            last[p.phase] = p.elapsed_s
            log.info(
                "ceremony %d/%d %s: about %d%% done (%.0f s)",
                p.number,
                p.total,
                p.phase,
                round(p.overall * 100),
                p.elapsed_s,
            )

    return hook


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m zk.setup local|init|contribute|finalize|verifier``."""
    parser = argparse.ArgumentParser(prog="python -m zk.setup", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    local = sub.add_parser("local", help="development ceremony (cached)")
    local.add_argument("--contributors", type=int, default=1)
    init = sub.add_parser("init", help="phase 2 start from the configured ptau")
    init.add_argument("--out", type=Path, required=True)
    contrib = sub.add_parser("contribute", help="one phase-2 contribution")
    contrib.add_argument("zkey_in", type=Path)
    contrib.add_argument("zkey_out", type=Path)
    contrib.add_argument("--name", required=True)
    fin = sub.add_parser("finalize", help="verify all contributions, apply the beacon, install")
    fin.add_argument("zkey_in", type=Path)
    fin.add_argument("--beacon", required=True)
    fin.add_argument("--install", action="store_true")
    sub.add_parser("verifier", help="print the generated Solidity verifier's path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.cmd == "local":
        with on_progress(_log_progress_every(10.0)):
            art = local_setup(contributors=args.contributors)
        log.info("setup ready: zkey %s", art.zkey)
    elif args.cmd == "init":
        start_phase2(compile_circuit(), phase1(), args.out.resolve())
        log.info("phase 2 started: %s", args.out)
    elif args.cmd == "contribute":
        digest = contribute_phase2(args.zkey_in, args.zkey_out, name=args.name)
        log.info("contribution hash: %s (publish it)", digest)
    elif args.cmd == "finalize":
        compiled, ptau = compile_circuit(), phase1()
        verify_zkey(compiled, ptau, args.zkey_in)
        final = args.zkey_in.with_name("final.zkey")
        finalize_phase2(args.zkey_in, final, beacon=args.beacon)
        verify_zkey(compiled, ptau, final)
        if args.install:
            art = _install(compiled, ptau, final, {"beacon": args.beacon, "source": "multi-party"})
            log.info("installed zkey %s", art.zkey)
    else:
        log.info("%s", solidity_verifier_path())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
