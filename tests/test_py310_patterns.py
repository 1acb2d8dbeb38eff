"""The pure twin's patterns without possessive quantifiers, as Python 3.10 builds them
(``re`` has them from 3.11 on), read exactly what the possessive ones read: the
client's lower-case challenge pattern and the server's credentials scanner.

Each module is executed a second time, from its own source, with ``sys.version_info``
reporting 3.10, so the fallback pattern is the one a 3.10 interpreter would compile;
the claim beside each pattern (nothing in the grammar ever needs to give back what it
matched) is what makes the two equal, and this test holds it.
"""

from __future__ import annotations

import inspect
import sys
from types import ModuleType
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import _pure_client, _pure_server, bench
from sipdigest.headers import MAX_HEADER_LENGTH, MAX_PARAMS

from .test_client_fastpath import REAL
from .test_client_lean import _cases
from .test_server_fastpath import BENCH_VALUES, FRAGMENTS, PLAIN, REALM, _mutations


def _as_of(original: ModuleType, version: tuple[int, int, int]) -> ModuleType:
    name = f"{original.__name__}_as_of"
    namespace: dict[str, Any] = {"__name__": name, "__package__": "sipdigest"}
    module = ModuleType(name)
    real = sys.version_info
    setattr(sys, "version_info", version)  # restored right below
    try:
        exec(compile(inspect.getsource(original), str(original.__file__), "exec"), namespace)
    finally:
        setattr(sys, "version_info", real)
    module.__dict__.update(namespace)
    return module


PY310 = _as_of(_pure_client, (3, 10, 0))
SERVER_PY310 = _as_of(_pure_server, (3, 10, 0))


def _fields(twin: ModuleType, value: str) -> Optional[tuple[Any, ...]]:
    result: Optional[tuple[Any, ...]] = twin.plain_challenge(
        [("Via", "x"), ("WWW-Authenticate", value)], MAX_HEADER_LENGTH, MAX_PARAMS
    )
    return result


def _same(value: str) -> None:
    new, old = _pure_client._SHORT_LC.fullmatch(value), PY310._SHORT_LC.fullmatch(value)
    assert (new is None) == (old is None), value
    if new is not None and old is not None:
        assert new.groups() == old.groups(), value
    assert _fields(_pure_client, value) == _fields(PY310, value), value


def test_the_fallback_is_really_built_without_possessive_quantifiers() -> None:
    # a quantifier right after a character class ("]*+", "]++") is possessive; "*+"
    # alone also occurs inside the token class
    fallback = PY310._SHORT_LC.pattern
    assert "]*+" not in fallback and "]++" not in fallback
    here = _pure_client._SHORT_LC.pattern
    if sys.version_info >= (3, 11):  # this interpreter has them: the rest is the same
        assert "]*+" in here and "]++" in here
        assert fallback == here.replace("]*+", "]*").replace("]++", "]+").replace(")?+", ")?")
    else:
        assert fallback == here


@pytest.mark.parametrize("value", REAL + [bench.inputs(v).challenge for v in bench.VARIANTS])
def test_fallback_pattern_reads_real_challenges_alike(value: str) -> None:
    for variant in _cases(value):
        _same(variant)


_PIECES = st.sampled_from(
    ["Digest", "digest ", " ", "\t", ",", "=", '"', "realm", "nonce", "qop", "algorithm",
     "opaque", "stale", "userhash", "a", "Z", "0", "-", "\\", "auth", "MD5", "true", "é", ";"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_fallback_pattern_reads_any_text_alike(value: str) -> None:
    _same(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["realm", "nonce", "qop", "x-y", "Opaque"]),
                          st.sampled_from(['"v"', "tok", '""', '"a b"', "=x", "a=b"]),
                          st.sampled_from(["", " ", "\t "])), min_size=1, max_size=10))  # fmt: skip
def test_fallback_pattern_reads_parameter_lists_alike(items: list[tuple[str, str, str]]) -> None:
    _same("Digest " + ",".join(f"{ows}{n}{ows}={ows}{v}{ows}" for n, v, ows in items))


# ---- the server's credentials scanner ------------------------------------------------


def _scanned_alike(value: str) -> None:
    new = _pure_server.scan_credentials(value, REALM, MAX_HEADER_LENGTH)
    old = SERVER_PY310.scan_credentials(value, REALM, MAX_HEADER_LENGTH)
    assert new == old, value


def test_the_server_fallback_differs_only_in_its_repeat() -> None:
    here, fallback = _pure_server._SCAN.__self__.pattern, SERVER_PY310._SCAN.__self__.pattern
    if sys.version_info >= (3, 11):
        assert here.endswith("))++") and fallback == here[:-1]
    else:
        assert fallback == here


@pytest.mark.parametrize("value", [PLAIN, *BENCH_VALUES])
def test_server_fallback_scans_every_mutation_alike(value: str) -> None:
    for m in [value, *_mutations(value)]:
        _scanned_alike(m)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join))
def test_server_fallback_scans_fragments_alike(value: str) -> None:
    _scanned_alike(value)
