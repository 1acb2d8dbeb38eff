"""Every public vector (tests/vectors/public.json, copied from the project's shared
vector set with each vector's source inside it) on both twins."""

from __future__ import annotations

from typing import Any

import pytest

import sipdigest
from sipdigest import Credentials

from .conftest import VECTORS

DIGEST = {v["id"]: v for v in VECTORS["digest"]}
CORRECT = [v for v in VECTORS["digest"] if v["status"] != "published-but-wrong-algorithm"]


def _response(v: dict[str, Any], **over: Any) -> str:
    args = dict(
        algorithm=v["algorithm"],
        username=v["username"],
        realm=v["realm"],
        password=v["password"],
        method=v["method"],
        uri=v["uri"],
        nonce=v["nonce"],
        nc=v.get("nc"),
        cnonce=v.get("cnonce"),
        qop=v["qop"],
    )
    args.update(over)
    return sipdigest.compute_response(**args)


@pytest.mark.parametrize("v", CORRECT, ids=lambda v: v["id"])
def test_published_vector_response(twin: object, v: dict[str, Any]) -> None:
    assert _response(v) == v["expected"]["response"]


@pytest.mark.parametrize("v", CORRECT, ids=lambda v: v["id"])
def test_published_vector_verifies_through_header(twin: object, v: dict[str, Any]) -> None:
    creds = Credentials(
        username=v["username"],
        realm=v["realm"],
        nonce=v["nonce"],
        uri=v["uri"],
        response=v["expected"]["response"],
        algorithm=v["algorithm"],
        cnonce=v.get("cnonce"),
        opaque=v.get("opaque"),
        qop=v["qop"],
        nc=v.get("nc"),
    )
    value = creds.render()
    assert sipdigest.verify_credentials(value, method=v["method"], password=v["password"])
    ha1 = sipdigest.compute_ha1(v["algorithm"], v["username"], v["realm"], v["password"])
    assert sipdigest.verify_credentials(value, method=v["method"], ha1=ha1)
    assert not sipdigest.verify_credentials(value, method=v["method"], password=v["password"] + "x")


def test_rfc2617_intermediate_values(twin: object) -> None:
    v = DIGEST["rfc2617-3.5-mufasa"]
    assert sipdigest.compute_ha1("MD5", v["username"], v["realm"], v["password"]) == v["expected"]["ha1"]
    ha2 = sipdigest.compute_userhash("MD5", "GET", "/dir/index.html")  # H("GET:/dir/index.html")
    assert ha2 == v["expected"]["ha2"]


def test_rfc2069_printed_value_is_not_reproduced(twin: object) -> None:
    v = DIGEST["rfc2069-2.4-mufasa"]
    assert _response(v) != v["known_wrong_published"]["response"]


def test_sha512_256_is_fips_not_truncated_sha512(twin: object) -> None:
    printed = DIGEST["rfc7616-3.9.2-as-printed-truncated-sha512"]
    corrected = DIGEST["rfc7616-3.9.2-sha512-256-userhash-corrected"]
    got = _response(corrected)
    assert got == corrected["expected"]["response"]
    assert got != printed["expected"]["response"]
    uh = sipdigest.compute_userhash("SHA-512-256", corrected["username"], corrected["realm"])
    assert uh == corrected["expected"]["userhash_username"]
    assert uh != printed["expected"]["userhash_username"]


def test_truncated_sha512_quirk_reproduces_the_printed_example(twin: object) -> None:
    from sipdigest.digest import SHA512_256_TRUNCATED

    printed = DIGEST["rfc7616-3.9.2-as-printed-truncated-sha512"]
    assert _response(printed, algorithm=SHA512_256_TRUNCATED) == printed["expected"]["response"]


def test_username_star_vector(twin: object) -> None:
    v = DIGEST["rfc7616-3.9.2-sha512-256-userhash-corrected"]
    creds = Credentials(
        username=v["username"], realm=v["realm"], nonce=v["nonce"], uri=v["uri"],
        response="0" * 64, algorithm="SHA-512-256", cnonce=v["cnonce"], qop="auth", nc=1,
    )
    assert f"username*={v['expected']['username_star']}" in creds.render()
    assert sipdigest.parse_credentials(creds.render()).username == v["username"]
    assert v["username"].encode("utf-8").hex() == v["username_utf8_hex"]
