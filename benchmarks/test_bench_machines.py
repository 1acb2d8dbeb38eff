"""The machines, on both twins, against the baseline and the peers: ``Server.handle`` to
Accept (every request a fresh (nonce, nc) pair, since the replay window refuses repeats)
and to SendChallenge, and ``Client.handle`` from a 401 to Retry. Realistic SIP headers;
the synchronous ``lookup=`` answers from a dict of stored HA1s."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from sipdigest import bench

from .conftest import REPORT, op_builders, params

MACHINE_OPS = ("server-accept", "server-challenge", "client-retry")


@pytest.mark.parametrize("op,variant,impl", params(MACHINE_OPS))
def test_machine(
    op: str, variant: bench.Variant, impl: str, group: Callable[..., Any], timed: Callable[..., Any]
) -> None:
    key = ("op", op, bench.variant_label(op, variant))
    timed(group(key, op_builders(op, variant), impl, REPORT.results.extend))
