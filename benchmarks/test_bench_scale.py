"""Scale: the cost of ``Server.handle`` -> Accept with 1, 10 000 and 1 000 000 active
nonces and users; the replay window under reordering; memory per tracked nonce; and a
flood of unauthenticated requests, which must leave nothing allocated.

These run on the implementation in use (the fast twin when it is built), measured side
by side (interleaved rounds, three times as many: the ratios are close to 1). The
million-nonce state takes a few seconds to build (not timed); with
``--benchmark-disable`` (CI) it is skipped unless SIPDIGEST_BENCH_MILLION=1, and the 1
and 10 000 cases are still checked.
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import Any, Callable

import pytest

from sipdigest import bench

from .conftest import REPORT, ROUNDS

SCALES = (1, 10_000, 1_000_000)


def _twin() -> str:
    try:
        bench.twin_core("fast")
    except bench.Unsupported:
        return "pure"
    return "fast"


def _million(benchmark: Any) -> bool:
    return not benchmark.disabled or os.environ.get("SIPDIGEST_BENCH_MILLION", "") not in ("", "0")


def _harness_case(kind: str) -> bench.Case:
    nxt = itertools.cycle(range(1 << 16)).__next__

    def call() -> object:
        return None

    def call_next() -> object:
        return nxt()

    return bench.Case("harness", bench.MD5_AUTH, kind, call if kind == "call" else call_next,
                      lambda r: None)  # fmt: skip


@pytest.mark.parametrize("kind", ["call", "call+next"])
def test_harness_overhead(kind: str, group: Callable[..., Any], timed: Callable[..., Any]) -> None:
    """What the timing loop adds per call: a Python call (every case), and a call plus
    next() (the Server.handle -> Accept cases, which feed fresh requests)."""
    builders = {k: functools.partial(_harness_case, k) for k in ("call", "call+next")}
    case = group(("harness",), builders, kind,
                 lambda rs: REPORT.harness.update({r.impl: r.median_ns for r in rs}))  # fmt: skip
    timed(case, group="harness")


@pytest.mark.parametrize("active", SCALES, ids=lambda n: f"{n}-active")
def test_scale(
    active: int, benchmark: Any, group: Callable[..., Any], timed: Callable[..., Any]
) -> None:
    if active >= 1_000_000 and not _million(benchmark):
        pytest.skip(
            "1 000 000 active nonces are built only when timed (or SIPDIGEST_BENCH_MILLION=1)"
        )
    twin = _twin()
    sizes = [n for n in SCALES if n < 1_000_000 or _million(benchmark)]
    builders = {f"{n:,}": functools.partial(bench.scale_case, n, twin=twin) for n in sizes}
    case = group(("scale",), builders, f"{active:,}", REPORT.scale.extend, rounds=3 * ROUNDS)
    # group() measured the cases side by side (bench.measure: each round's requests made
    # just before it, see bench.ScaleCase); pytest-benchmark's loop below calls no
    # ensure() between rounds, so its requests are all made in advance
    case.just_in_time = False  # type: ignore[attr-defined]
    benchmark.extra_info["twin"] = twin
    timed(case, group="scale: Server.handle -> Accept by active nonces", rounds=3 * ROUNDS)


@pytest.mark.parametrize("block", [1, 32], ids=["in-order", "shuffled-32"])
def test_replay_window_server(
    block: int, group: Callable[..., Any], timed: Callable[..., Any]
) -> None:
    twin = _twin()
    builders = {
        "in order": functools.partial(bench.reorder_case, 1, twin),
        "shuffled in blocks of 32": functools.partial(bench.reorder_case, 32, twin),
    }
    label = "in order" if block == 1 else "shuffled in blocks of 32"
    case = group(("replay-window",), builders, label, REPORT.replay.extend, rounds=3 * ROUNDS)
    timed(case, group="replay window: Server.handle -> Accept", rounds=3 * ROUNDS)


@pytest.mark.parametrize("block", [1, 32], ids=["in-order", "shuffled-32"])
def test_replay_window_store(
    block: int, group: Callable[..., Any], timed: Callable[..., Any]
) -> None:
    builders = {
        "in order": functools.partial(bench.store_case, 1),
        "shuffled in blocks of 32": functools.partial(bench.store_case, 32),
    }
    label = "in order" if block == 1 else "shuffled in blocks of 32"
    case = group(("replay-store",), builders, label, REPORT.replay.extend, rounds=3 * ROUNDS)
    timed(case, group="replay window: MemoryReplayStore.check_and_record", rounds=3 * ROUNDS)


def test_replay_store_memory_per_nonce(benchmark: Any) -> None:
    mem = bench.replay_memory(20_000 if benchmark.disabled else 100_000)
    REPORT.memory = mem
    benchmark.extra_info.update(mem)
    assert 0 < mem["fresh"] <= mem["full_window"] < 512, mem
    benchmark.pedantic(lambda: None, rounds=1)  # no timing: the figure is in bytes


def test_flood_leaves_nothing_allocated(benchmark: Any) -> None:
    flood = bench.flood_retained(20_000 if benchmark.disabled else 100_000, _twin())
    REPORT.flood = flood
    benchmark.extra_info.update(flood)
    assert flood["retained_bytes"] < 16_384, flood
    benchmark.pedantic(lambda: None, rounds=1)  # no timing: the figure is in bytes
