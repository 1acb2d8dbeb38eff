"""Shared fixtures: run public-API tests on both twins.

``twin`` re-points ``sipdigest._impl`` at one core for the duration of a test, so
digest.py and headers.py (which look the core functions up at call time) exercise it.
Without the extension the fast half skips, except in CI or with
SIPDIGEST_REQUIRE_EXTENSIONS=1, where a missing extension is a failure.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import pytest

from sipdigest import _impl, _pure
from sipdigest._impl import TWIN_FUNCTIONS

#: RFC 2617 §3.5's example Authorization value and its HA1 (password "Circle Of Life")
RFC2617 = (
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_HA1 = "939e7578ed9e3c518a452acee763bce9"

VECTORS = json.loads((Path(__file__).parent / "vectors" / "public.json").read_text("utf-8"))


def strict_environment() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "SIPDIGEST_REQUIRE_EXTENSIONS", ""
    ) not in ("", "0")


def load_fast() -> ModuleType | None:
    try:
        return importlib.import_module("sipdigest._fast")
    except ImportError:
        if strict_environment():
            raise
        return None


FAST = load_fast()


def require_fast() -> ModuleType:
    if FAST is None:
        pytest.skip("sipdigest._fast is not built (pure-only environment)")
    return FAST


@pytest.fixture(params=["pure", "fast"])
def twin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    core = _pure if request.param == "pure" else require_fast()
    for name in TWIN_FUNCTIONS:
        monkeypatch.setattr(_impl, name, getattr(core, name))
    yield core


@pytest.fixture
def vectors() -> dict[str, Any]:
    return VECTORS


@pytest.fixture
def general_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    """Call with True to make Clients made afterwards skip the fast path."""

    def choose(off: bool) -> None:
        if off:
            monkeypatch.setattr(_impl, "plain_challenge", lambda *a: None)
        else:
            monkeypatch.undo()

    yield choose
