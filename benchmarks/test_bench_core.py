"""The public functions, on both twins, against the baseline and the peers: parsing a
challenge, a challenge list and a credentials value; HA1; response; verify_credentials.
For MD5, SHA-256 and SHA-512-256 with qop auth and auth-int (1 KiB body). Each result is
checked before it is timed (``bench.build_case``) and after."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

import sipdigest
from sipdigest import bench

from . import baseline
from .conftest import REPORT, op_builders, params

CORE_OPS = ("parse-challenge", "parse-challenges", "parse-credentials", "ha1", "response", "verify")


@pytest.mark.parametrize("variant", bench.VARIANTS, ids=lambda v: v.label.replace(" ", "-"))
def test_inputs_are_realistic(variant: bench.Variant) -> None:
    """~280-330-byte credentials with ten parameters, a base64 nonce, a sip: URI with parameters."""
    inp = bench.inputs(variant)
    assert 250 <= len(inp.value) <= 340, len(inp.value)
    ((scheme, _, fields),) = sipdigest._impl.tokenize(inp.value, 8192, 64)
    assert scheme == "Digest" and len(fields) == 10
    assert re.fullmatch(r"[A-Za-z0-9_+/=-]{40,}", fields["nonce"])
    assert fields["uri"].startswith("sip:") and ";" in fields["uri"]
    assert len(variant.body) == (1024 if variant.qop == "auth-int" else 0)
    assert len(sipdigest.parse_challenges(inp.challenges)) == 2


def test_baseline_module_is_the_measured_code() -> None:
    inp = bench.inputs(bench.MD5_AUTH)
    assert baseline.verify(inp.value, "REGISTER", inp.ha1)
    assert not baseline.verify(inp.value, "INVITE", inp.ha1)
    assert baseline.parse(inp.value)["nc"] == "00000001"


@pytest.mark.parametrize("op,variant,impl", params(CORE_OPS))
def test_core(
    op: str, variant: bench.Variant, impl: str, group: Callable[..., Any], timed: Callable[..., Any]
) -> None:
    key = ("op", op, bench.variant_label(op, variant))
    timed(group(key, op_builders(op, variant), impl, REPORT.results.extend))
