"""Fast path for Poseidon(2): a small C kernel compiled on first use, loaded with ctypes.

Why: light-poseidon-python costs ~41-50 us per call from Python and holds the GIL; a depth-20
tree over 50,000 leaves needs ~50,000 hashes (2.4 s). This kernel hashes whole tree levels in one
call (no per-hash Python work) in Montgomery form, and ctypes releases the GIL, so two threads
use both cores.

Guards: the C source is generated from circomlibjs's own ``poseidon_constants_opt.json`` (t = 3,
8 full + 57 partial rounds, circomlibjs's optimised ``poseidon_opt`` schedule with sparse
partial rounds; a straight-line Montgomery product generated below), compiled with the system C
compiler into the zk cache (keyed by the source's hash), and checked at load against
light-poseidon-python on fixed and random inputs. If there is no compiler, the constants are
missing, or a single answer differs, :func:`load` returns None and :mod:`zk.poseidon` falls back
to light-poseidon-python (logged once).

Layout: field elements are 32-byte little-endian canonical values; ``fg_hash_pairs(n, in, out)``
hashes ``in[2i], in[2i+1]`` into ``out[i]`` for ``i < n``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import light_poseidon_python

from fairgate.settings import get_settings
from zk.field import P

log = logging.getLogger(__name__)

R = 1 << 256
N_FULL, N_PARTIAL, T = 8, 57, 3
CFLAGS = ("-O2", "-shared", "-fPIC")  # -O3 measured 1.5x slower here (code bloat)

_C_BODY = r"""

static inline void fg_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t t[4], s[4];
    u128 c = 0;
    for (int j = 0; j < 4; j++) { c += (u128)a[j] + b[j]; t[j] = (uint64_t)c; c >>= 64; }
    u128 borrow = 0;
    for (int j = 0; j < 4; j++) {
        u128 d = (u128)t[j] - FG_P[j] - borrow;
        s[j] = (uint64_t)d;
        borrow = (d >> 64) & 1;
    }
    if (!borrow) { r[0] = s[0]; r[1] = s[1]; r[2] = s[2]; r[3] = s[3]; }
    else { r[0] = t[0]; r[1] = t[1]; r[2] = t[2]; r[3] = t[3]; }
}

/* r = a0*b0 + a1*b1 + a2*b2 */
static inline void fg_dot3(uint64_t r[4], const uint64_t *a0, const uint64_t *b0,
                           const uint64_t *a1, const uint64_t *b1,
                           const uint64_t *a2, const uint64_t *b2) {
    uint64_t x[4], y[4];
    fg_mul(r, a0, b0);
    fg_mul(x, a1, b1);
    fg_mul(y, a2, b2);
    fg_add(r, r, x);
    fg_add(r, r, y);
}

static inline void fg_pow5(uint64_t a[4]) {
    uint64_t s[4], q[4];
    fg_mul(s, a, a);
    fg_mul(q, s, s);
    fg_mul(a, q, a);
}

/* state <- state x Mat, with Mat[j][i] as circomlibjs's poseidon_opt applies it */
static inline void fg_matmul(uint64_t st[3][4], const uint64_t mat[3][3][4]) {
    uint64_t n[3][4];
    for (int i = 0; i < 3; i++)
        fg_dot3(n[i], mat[0][i], st[0], mat[1][i], st[1], mat[2][i], st[2]);
    for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) st[i][j] = n[i][j];
}

/* circomlibjs poseidon_opt (Neptune-style sparse partial rounds), t = 3 */
static void fg_permute(uint64_t st[3][4]) {
    const int t = 3, hf = FG_HALF_F;
    for (int i = 0; i < t; i++) fg_add(st[i], st[i], FG_C[i]);
    for (int r = 0; r < hf - 1; r++) {
        for (int i = 0; i < t; i++) { fg_pow5(st[i]); fg_add(st[i], st[i], FG_C[(r + 1) * t + i]); }
        fg_matmul(st, FG_M);
    }
    for (int i = 0; i < t; i++) { fg_pow5(st[i]); fg_add(st[i], st[i], FG_C[hf * t + i]); }
    fg_matmul(st, FG_PM);
    for (int r = 0; r < FG_PARTIAL; r++) {
        const uint64_t (*S)[4] = FG_S + (2 * t - 1) * r;
        uint64_t s0[4], m[4];
        fg_pow5(st[0]);
        fg_add(st[0], st[0], FG_C[(hf + 1) * t + r]);
        fg_dot3(s0, S[0], st[0], S[1], st[1], S[2], st[2]);
        for (int k = 1; k < t; k++) { fg_mul(m, st[0], S[t + k - 1]); fg_add(st[k], st[k], m); }
        for (int j = 0; j < 4; j++) st[0][j] = s0[j];
    }
    for (int r = 0; r < hf - 1; r++) {
        for (int i = 0; i < t; i++) {
            fg_pow5(st[i]);
            fg_add(st[i], st[i], FG_C[(hf + 1) * t + FG_PARTIAL + r * t + i]);
        }
        fg_matmul(st, FG_M);
    }
    for (int i = 0; i < t; i++) fg_pow5(st[i]);
    fg_matmul(st, FG_M);
}

void fg_hash_pairs(long n, const uint64_t *in, uint64_t *out) {
    static const uint64_t one[4] = {1, 0, 0, 0};
    for (long k = 0; k < n; k++) {
        uint64_t st[3][4] = {{0, 0, 0, 0}};
        fg_mul(st[1], in + 8 * k, FG_R2);
        fg_mul(st[2], in + 8 * k + 4, FG_R2);
        fg_permute(st);
        fg_mul(out + 4 * k, st[0], one);
    }
}
"""


def _limbs(value: int) -> str:
    return "{" + ", ".join(f"0x{(value >> (64 * i)) & (2**64 - 1):016x}ULL" for i in range(4)) + "}"


def _mul_source() -> str:
    """Straight-line Montgomery product (CIOS without the extra carry words, valid because the
    modulus's top limb is below 2^63 - 1, as in gnark's field code), then one conditional
    subtraction. Generated unrolled so the compiler keeps every limb in a register."""
    lines = [
        "typedef unsigned __int128 u128;",
        "static inline void fg_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {",
        "    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, A, C, m, bi, u[4];",
        "    u128 c;",
    ]
    for i in range(4):
        lines += [
            f"    bi = b[{i}];",
            "    c = (u128)a[0] * bi + t0; A = (uint64_t)(c >> 64); t0 = (uint64_t)c;",
            "    m = t0 * FG_PINV;",
            "    c = (u128)m * FG_P[0] + t0; C = (uint64_t)(c >> 64);",
        ]
        for j in range(1, 4):
            lines += [
                f"    c = (u128)a[{j}] * bi + A + t{j}; A = (uint64_t)(c >> 64);"
                f" t{j} = (uint64_t)c;",
                f"    c = (u128)m * FG_P[{j}] + t{j} + C; C = (uint64_t)(c >> 64);"
                f" t{j - 1} = (uint64_t)c;",
            ]
        lines.append("    t3 = C + A;")
    lines += [
        "    u128 d; uint64_t borrow = 0;",
        *(
            f"    d = (u128)t{k} - FG_P[{k}] - borrow; u[{k}] = (uint64_t)d;"
            " borrow = (uint64_t)(d >> 64) & 1;"
            for k in range(4)
        ),
        "    if (borrow) { r[0] = t0; r[1] = t1; r[2] = t2; r[3] = t3; }",
        "    else { r[0] = u[0]; r[1] = u[1]; r[2] = u[2]; r[3] = u[3]; }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _source() -> str | None:
    """The C source with circomlib's t=3 optimised constants (Montgomery form); None if missing."""
    constants = get_settings().node_modules / "circomlibjs" / "src" / "poseidon_constants_opt.json"
    if not constants.is_file():
        log.warning("circomlibjs constants not found at %s", constants)
        return None
    data = json.loads(constants.read_text())

    def mont(x: str) -> str:
        return _limbs(int(x, 16) * R % P)

    c, s = data["C"][T - 2], data["S"][T - 2]
    m, pm = data["M"][T - 2], data["P"][T - 2]
    if len(c) != T * N_FULL + N_PARTIAL or len(s) != (2 * T - 1) * N_PARTIAL:
        log.warning("unexpected circomlibjs Poseidon constants shape")
        return None

    def matrix(rows: list[list[str]]) -> str:
        return "{" + ", ".join("{" + ", ".join(mont(x) for x in row) + "}" for row in rows) + "}"

    lines = [
        "#include <stdint.h>",
        f"static const uint64_t FG_P[4] = {_limbs(P)};",
        f"static const uint64_t FG_PINV = 0x{(-pow(P, -1, 2**64)) % 2**64:016x}ULL;",
        f"static const uint64_t FG_R2[4] = {_limbs(R * R % P)};",
        f"#define FG_HALF_F {N_FULL // 2}",
        f"#define FG_PARTIAL {N_PARTIAL}",
        "static const uint64_t FG_C[][4] = {" + ", ".join(mont(x) for x in c) + "};",
        "static const uint64_t FG_S[][4] = {" + ", ".join(mont(x) for x in s) + "};",
        f"static const uint64_t FG_M[3][3][4] = {matrix(m)};",
        f"static const uint64_t FG_PM[3][3][4] = {matrix(pm)};",
    ]
    return "\n".join(lines) + "\n" + _mul_source() + _C_BODY


def _compile(source: str) -> Path | None:
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        log.warning("no C compiler: Poseidon uses light-poseidon-python (slower tree builds)")
        return None
    digest = hashlib.sha256((" ".join(CFLAGS) + source).encode()).hexdigest()
    folder = get_settings().zk_cache_dir / "native"
    lib = folder / f"poseidon-{digest[:24]}.so"
    if lib.is_file():
        return lib
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        src = Path(tmp) / "poseidon.c"
        src.write_text(source)
        out = Path(tmp) / "poseidon.so"
        proc = subprocess.run(
            [compiler, *CFLAGS, "-o", str(out), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            log.warning("compiling the Poseidon kernel failed: %s", proc.stderr[-500:])
            return None
        out.replace(lib)
    return lib


class NativePoseidon:
    """The loaded kernel. ``hash_pairs(buf, n)`` hashes n adjacent pairs of 32-byte LE values."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._fn = lib.fg_hash_pairs
        self._fn.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_void_p]
        self._fn.restype = None

    def hash_pairs(self, data: bytes, n: int) -> bytes:
        """Hash ``n`` pairs from ``data`` (64 bytes each) into ``n`` 32-byte LE outputs."""
        if len(data) < 64 * n:
            raise ValueError("buffer too short")
        out = ctypes.create_string_buffer(32 * n)
        self._fn(n, data, out)
        return out.raw

    def hash2(self, left: int, right: int) -> int:
        """Poseidon(left, right) of two canonical field elements."""
        data = left.to_bytes(32, "little") + right.to_bytes(32, "little")
        return int.from_bytes(self.hash_pairs(data, 1), "little")


def _self_check(native: NativePoseidon) -> bool:
    cases = [(0, 0), (1, 2), (P - 1, P - 1), (P - 1, 0)]
    cases += [(secrets.randbelow(P), secrets.randbelow(P)) for _ in range(32)]
    return all(
        native.hash2(a, b) == int(light_poseidon_python.poseidon_hash([a, b])) for a, b in cases
    )


def load() -> NativePoseidon | None:
    """The native kernel if it builds and agrees with light-poseidon-python; else None."""
    if not get_settings().zk_native_poseidon:
        return None
    try:
        source = _source()
        lib_path = _compile(source) if source else None
        if lib_path is None:
            return None
        native = NativePoseidon(ctypes.CDLL(str(lib_path)))
    except OSError:
        log.exception("loading the Poseidon kernel failed")
        return None
    if not _self_check(native):
        log.error("the native Poseidon kernel disagrees with light-poseidon-python: not used")
        return None
    return native
