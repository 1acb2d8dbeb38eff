"""Core hot path: verify_credentials and parse_credentials against the hand-written
baseline measured in the same run. Each result is checked before it is timed."""

from __future__ import annotations

import pytest

import sipdigest

from . import baseline
from .conftest import authorization, ha1

VALUE = authorization()
HA1 = ha1()


def test_authorization_is_realistic() -> None:
    assert 220 <= len(VALUE) <= 280
    assert len(sipdigest._impl.tokenize(VALUE, 8192, 64)[0][2]) == 10


def test_verify_baseline(benchmark: pytest.FixtureRequest) -> None:
    assert baseline.verify(VALUE, "REGISTER", HA1)
    benchmark.group = "verify MD5 auth"
    assert benchmark(baseline.verify, VALUE, "REGISTER", HA1)


def test_verify_sipdigest(benchmark: pytest.FixtureRequest) -> None:
    assert sipdigest.verify_credentials(VALUE, method="REGISTER", ha1=HA1)
    assert not sipdigest.verify_credentials(VALUE, method="INVITE", ha1=HA1)
    benchmark.group = "verify MD5 auth"
    benchmark.extra_info["implementation"] = sipdigest.IMPLEMENTATION
    assert benchmark(lambda: sipdigest.verify_credentials(VALUE, method="REGISTER", ha1=HA1))


def test_parse_baseline(benchmark: pytest.FixtureRequest) -> None:
    assert baseline.parse(VALUE)["nc"] == "00000001"
    benchmark.group = "parse credentials"
    benchmark(baseline.parse, VALUE)


def test_parse_sipdigest(benchmark: pytest.FixtureRequest) -> None:
    assert sipdigest.parse_credentials(VALUE).nc == "00000001"
    benchmark.group = "parse credentials"
    benchmark.extra_info["implementation"] = sipdigest.IMPLEMENTATION
    benchmark(sipdigest.parse_credentials, VALUE)
