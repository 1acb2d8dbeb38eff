"""The benchmark suite's harness: every case comes from ``sipdigest.bench`` (the same
adapters, inputs and checks as ``sipdigest bench``), is checked before it is timed and
again after.

Each group (one operation and variant, or the scale, replay-window and harness sets)
is measured twice, both in this run:

- side by side: the first test of a group builds every implementation's case and times
  them in interleaved rounds (``bench.measure``), so that load from other processes on
  a shared machine falls on all of them alike. These medians make the comparison
  printed at the end of the run (ratios against the baseline and the C reference,
  scale, memory, targets), exactly as ``sipdigest bench`` does.
- alone: each test then times its own case with ``benchmark.pedantic`` for
  pytest-benchmark's tables (calibrated to about ``ROUND_MS`` per round, ``ROUNDS``
  rounds; ``SIPDIGEST_BENCH_ROUNDS`` overrides).

With ``--benchmark-disable`` (CI) each body runs once, as a check, and nothing is timed.
The fast twin is skipped when the extension is not built, except in CI or with
SIPDIGEST_REQUIRE_EXTENSIONS=1, where that is a failure. A peer that is not installed
is skipped with its reason (``pip install 'sipdigest[bench]'``), and the peers' status
is printed at the end.
"""

from __future__ import annotations

import functools
import gc
import os
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence

import pytest

from sipdigest import bench

ROUNDS = int(os.environ.get("SIPDIGEST_BENCH_ROUNDS", "41"))
ROUND_MS = 0.5
REPORT = bench.Report()

Builders = Mapping[str, Callable[[], bench.Case]]


def strict_environment() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "SIPDIGEST_REQUIRE_EXTENSIONS", ""
    ) not in ("", "0")


def params(ops: Sequence[str]) -> list[Any]:
    """(op, variant, impl) for every implementation in scope, with readable ids."""
    out = []
    for op in ops:
        for variant in bench.op_variants(op):
            for impl in bench.IMPLS:
                if bench.in_scope(op, impl):
                    label = bench.variant_label(op, variant).replace(" ", "-")
                    out.append(pytest.param(op, variant, impl, id=f"{op}-{label}-{impl}"))
    return out


def op_builders(op: str, variant: bench.Variant) -> dict[str, Callable[[], bench.Case]]:
    return {
        impl: functools.partial(bench.build_case, op, variant, impl)
        for impl in bench.IMPLS
        if bench.in_scope(op, impl)
    }


class _Group:
    """The cases of the group being run (tests of one group run one after another)."""

    key: ClassVar[object] = None
    cases: ClassVar[dict[str, bench.Case]] = {}
    errors: ClassVar[dict[str, BaseException]] = {}
    measured: ClassVar[set[object]] = set()


def _cases(
    key: object, builders: Builders
) -> tuple[dict[str, bench.Case], dict[str, BaseException]]:
    if _Group.key != key:
        _Group.key, _Group.cases, _Group.errors = key, {}, {}
        gc.collect()
        for label, build in builders.items():
            try:
                _Group.cases[label] = build()
            except (bench.Unsupported, AssertionError) as exc:  # CheckFailed is an AssertionError
                _Group.errors[label] = exc
    return _Group.cases, _Group.errors


@pytest.fixture
def group(benchmark: Any) -> Callable[..., bench.Case]:
    """``group(key, builders, label, record)``: this test's case, after the whole group
    was measured side by side once (``record`` gets those results)."""

    def get(
        key: object,
        builders: Builders,
        label: str,
        record: Callable[[list[bench.Result]], None],
        rounds: int = ROUNDS,
    ) -> bench.Case:
        cases, errors = _cases(key, builders)
        if not benchmark.disabled and key not in _Group.measured and cases:
            _Group.measured.add(key)
            for name, exc in errors.items():
                if isinstance(exc, bench.Unsupported) and isinstance(key, tuple) and len(key) == 3:
                    REPORT.not_run.append(
                        {"op": key[1], "variant": key[2], "impl": name, "reason": str(exc)}
                    )
            record(bench.measure(list(cases.values()), rounds, int(ROUND_MS * 1e6)))
        if label in errors:
            exc = errors[label]
            if isinstance(exc, bench.Unsupported):
                if label == "fast" and strict_environment():
                    pytest.fail(f"fast twin required here: {exc}")
                if strict_environment() and "is not installed" in str(exc):
                    pytest.fail(f"CI installs the peers ('.[bench]'): {exc}")
                pytest.skip(str(exc))
            raise exc
        return cases[label]

    return get


@pytest.fixture
def timed(benchmark: Any) -> Callable[..., Any]:
    """``timed(case)``: time one checked case alone for pytest-benchmark; check it again."""

    def run(case: bench.Case, group: str | None = None, rounds: int = ROUNDS) -> Any:
        benchmark.group = group or (
            f"{bench.OPS.get(case.op, case.op)} {bench.variant_label(case.op, case.variant)}"
        )
        benchmark.extra_info.update(op=case.op, variant=case.variant.label, impl=case.impl)
        if case.note:
            benchmark.extra_info["note"] = case.note
        if benchmark.disabled:
            case.ensure(2)
            with case.context():
                result = benchmark(case.fn)
            case.check(result)
            return result
        iterations = bench.calibrate(case, int(ROUND_MS * 1e6))
        case.ensure((rounds + 1) * iterations + 2)
        gc.collect()
        gc.disable()  # as timeit and `sipdigest bench`: the ready-made requests would make
        try:  # every collection walk them, a cost of the bench, not of the code measured
            with case.context():
                result = benchmark.pedantic(
                    case.fn, iterations=iterations, rounds=rounds, warmup_rounds=1
                )
        finally:
            gc.enable()
        case.check(result)
        return result

    return run


@pytest.fixture(scope="session", autouse=True)
def _session_report(pytestconfig: pytest.Config) -> Iterator[None]:
    REPORT.machine = bench.machine_info()
    REPORT.peers = bench.peer_status()
    REPORT.settings = {
        "rounds": ROUNDS,
        "round_ms": ROUND_MS,
        "order": ", implementations interleaved round by round (pytest-benchmark's tables above "
        "time each alone)",
    }
    yield
    _Group.key, _Group.cases, _Group.errors = None, {}, {}


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not REPORT.peers:
        return
    tr = terminalreporter
    tr.section("sipdigest: the comparison measured side by side in this run")
    if not (REPORT.results or REPORT.scale or REPORT.replay):
        REPORT.settings = {}
        tr.write_line(
            "timings disabled (--benchmark-disable): every case was checked, nothing was timed"
        )
    for line in bench.render(REPORT).splitlines():
        tr.write_line(line)
