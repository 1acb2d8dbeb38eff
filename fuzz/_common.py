"""Shared pieces of the atheris fuzz targets (how to run them: docs/HARDENING.md).

Every target is a plain module with ``TestOneInput(data: bytes) -> None`` that raises
(``AssertionError`` for a broken oracle, anything else for a crash) on a finding, so
the same function serves three callers:

* ``python fuzz/fuzz_X.py [libFuzzer flags] CORPUS...`` under atheris (``run``), with
  ``sipdigest`` imported under atheris' bytecode instrumentation so that Python code
  is coverage-guided too, and the C extension instrumented by clang
  (``-fsanitize=fuzzer-no-link``, see scripts/fuzz.sh);
* ``tests/test_fuzz_regressions.py``, which replays every committed corpus file through
  each target under plain pytest (no atheris, no sanitizer) on every CI run;
* a developer reproducing one crash file: ``python fuzz/fuzz_X.py crash-...``.

Nothing in here imports ``sipdigest`` at module level: a target must import the
library inside ``instrumented(__name__)`` for the instrumentation to apply.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from types import ModuleType
from typing import Any, Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))


def instrumented(name: str, python_coverage: bool = True) -> contextlib.AbstractContextManager[Any]:
    """atheris' import instrumentation when a target runs as the fuzzer, else nothing.

    Instrumented Python is 10-25 times slower, so each target says whether its Python
    code is worth it (``python_coverage``); ``SIPDIGEST_FUZZ_PY_COVERAGE=1`` or ``=0``
    overrides that for every target (the C extension is always instrumented).
    """
    forced = os.environ.get("SIPDIGEST_FUZZ_PY_COVERAGE", "")
    wanted = python_coverage if forced not in ("0", "1") else forced == "1"
    if name != "__main__" or not wanted or os.environ.get("SIPDIGEST_FUZZ_REPLAY") == "1":
        return contextlib.nullcontext()
    try:
        import atheris
    except ImportError:  # replaying crash files without atheris installed
        return contextlib.nullcontext()
    return atheris.instrument_imports(include=["sipdigest"])


#: While a finding is open, a target may skip it (so the fuzzer looks for new ones)
#: unless ``SIPDIGEST_FUZZ_KNOWN=1``; no finding is open at present.
REPORT_KNOWN = os.environ.get("SIPDIGEST_FUZZ_KNOWN") == "1"


def text(data: bytes) -> str:
    """Fuzz bytes as a str: UTF-8 (lone surrogates allowed), else undecodable bytes become
    U+DC80..U+DCFF, so every PEP 393 kind and lone surrogates all reach the parsers."""
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def cores() -> tuple[ModuleType, ModuleType | None]:
    """(pure twin, C twin or None). The C twin is required when the fuzzer runs."""
    from sipdigest import _pure

    try:
        from sipdigest import _fast  # type: ignore[attr-defined]
    except ImportError:
        if os.environ.get("SIPDIGEST_REQUIRE_EXTENSIONS", "") not in ("", "0"):
            raise
        return _pure, None
    return _pure, _fast


@contextlib.contextmanager
def use_core(core: ModuleType) -> Iterator[None]:
    """Route every ``sipdigest._impl`` call to ``core`` (the machines look them up late)."""
    from sipdigest import _impl

    # imported here, not at the top: atheris instruments sipdigest only if it comes later
    names = _impl.TWIN_FUNCTIONS
    saved = {n: getattr(_impl, n) for n in names}
    try:
        for n in names:
            setattr(_impl, n, getattr(core, n))
        yield
    finally:
        for n, f in saved.items():
            setattr(_impl, n, f)


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or ("raise", (class name, str, position)) for differential checks."""
    try:
        return "ok", fn()
    except Exception as exc:  # compared, never swallowed: the caller asserts on it
        return "raise", (type(exc).__name__, str(exc), getattr(exc, "position", None))


class Counter:
    """Deterministic ``entropy``: a run replays exactly (and equally on both twins)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            self.n += 1
            out += self.n.to_bytes(8, "big")
        return bytes(out[:size])


# ---- an independent digest reference (hashlib only, no sipdigest code) ----------------

_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": lambda b: hashlib.new("sha512_256", b),
}


def ref_hash(algorithm: str, data: bytes) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    return str(_HASHES[base](data).hexdigest())


def ref_response(
    *,
    algorithm: str | None,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None,
    cnonce: str | None,
    qop: str | None,
    body: bytes = b"",
) -> str | None:
    """RFC 7616 §3.4.1 / RFC 2617 / RFC 2069 request-digest, or None if not computable."""
    alg = (algorithm or "MD5").upper()
    if alg.removesuffix("-SESS") not in _HASHES:
        return None
    try:
        enc = [s.encode("utf-8") for s in (username, realm, password, method, uri, nonce)]
        user_b, realm_b, pw_b, method_b, uri_b, nonce_b = enc
        nc_b = (nc or "").encode("utf-8")
        cnonce_b = (cnonce or "").encode("utf-8")
    except UnicodeEncodeError:
        return None
    h = lambda b: ref_hash(alg, b).encode()  # noqa: E731
    ha1 = h(b"%s:%s:%s" % (user_b, realm_b, pw_b))
    if alg.endswith("-SESS"):
        if cnonce is None:
            return None
        ha1 = h(b"%s:%s:%s" % (ha1, nonce_b, cnonce_b))
    q = None if qop is None else qop.lower()
    if q == "auth-int":
        ha2 = h(b"%s:%s:%s" % (method_b, uri_b, h(body)))
    elif q in (None, "auth"):
        ha2 = h(b"%s:%s" % (method_b, uri_b))
    else:
        return None
    if q is None:
        return h(b"%s:%s:%s" % (ha1, nonce_b, ha2)).decode()
    return h(b"%s:%s:%s:%s:%s:%s" % (ha1, nonce_b, nc_b, cnonce_b, q.encode(), ha2)).decode()


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Entry point of a target: libFuzzer via atheris, or replay of files without it."""
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is None or os.environ.get("SIPDIGEST_FUZZ_REPLAY") == "1":
        paths = [a for a in sys.argv[1:] if not a.startswith("-")]
        files = []
        for p in paths:
            if os.path.isdir(p):
                files += [os.path.join(p, f) for f in sorted(os.listdir(p))]
            else:
                files.append(p)
        for f in files:
            with open(f, "rb") as fh:
                test_one_input(fh.read())
        print(f"replayed {len(files)} inputs without a finding")
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
