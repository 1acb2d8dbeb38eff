"""Differential fuzzing of the twin tokenizers: ``tokenize`` and ``tokenize_params``.

Oracle: ``_fast`` and ``_pure`` give the same result, or raise the same exception class
with the same message and position (DESIGN.md, "the twin core"); the only exception
either may raise for a str is ``MalformedHeader``; no returned name or value carries a
CR, LF or other control character (header injection), names are lower case.
Input: a header value (UTF-8; invalid bytes become lone surrogates). The first byte also
picks small limits for a second pass, so the "too many items" and length paths run.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cores, instrumented, outcome, run, text

with instrumented(__name__, python_coverage=False):
    from sipdigest.errors import MalformedHeader

PURE, FAST = cores()
_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_items(items: object) -> None:
    assert isinstance(items, list) and items, items
    for scheme, token68, params in items:  # type: ignore[attr-defined]
        assert scheme and not _BAD.search(scheme), scheme
        assert token68 is None or not _BAD.search(token68), token68
        _check_params(params)


def _check_params(params: object) -> None:
    assert isinstance(params, dict)
    for name, value in params.items():
        assert name == name.lower() and name.isascii() and not _BAD.search(name), name
        assert isinstance(value, str) and not _BAD.search(value), (name, value)


def _compare(fn: str, value: str, max_length: int, max_params: int) -> None:
    p = outcome(lambda: getattr(PURE, fn)(value, max_length, max_params))
    if p[0] == "raise":
        assert p[1][0] == MalformedHeader.__name__, p
    elif fn == "tokenize":
        _check_items(p[1])
    else:
        _check_params(p[1])
    if FAST is not None:
        f = outcome(lambda: getattr(FAST, fn)(value, max_length, max_params))
        assert p == f, f"twins differ on {fn}({value!r}, {max_length}, {max_params}):\n pure {p}\n fast {f}"


def TestOneInput(data: bytes) -> None:
    value = text(data)
    for fn in ("tokenize", "tokenize_params"):
        _compare(fn, value, 8192, 64)
        if data:
            k = data[0]
            _compare(fn, value, (k * 7) % (len(value) + 2), 1 + k % 6)


if __name__ == "__main__":
    run(TestOneInput)
