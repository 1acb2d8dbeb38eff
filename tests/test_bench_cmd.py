"""`sipdigest bench`: the table names the CPU and the implementation, every adapter's
result is checked before it is timed, a missing peer or a wrong result is reported (never
hidden), and the twin switch leaves ``_impl`` as it found it. Tiny round counts: timings
are not judged here (the machine is shared), only what is printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

import sipdigest
from sipdigest import _impl, bench
from sipdigest.cli import build_parser, main

from .conftest import FAST, TWIN_FUNCTIONS, strict_environment

TINY = {"rounds": 1, "round_ms": 0.05}


def fast_measured() -> bool:
    """bench measures the fast twin when it is built and SIPDIGEST_NO_EXTENSIONS is not set."""
    return FAST is not None and not bench._forced_pure()


def test_bench_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--quick",
        "--json",
        "--markdown",
        "--rounds",
        "--ops",
        "--no-scale",
        "--no-peers",
    ):
        assert flag in out
    assert main(["bench", "--rounds", "0"]) == 2
    assert main(["bench", "--ops", "verify,nonsense"]) == 2


def test_command_prints_the_comparison_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rounds", "1", "--no-scale"]) == 0
    out = capsys.readouterr().out
    assert f"implementation in use: {sipdigest.IMPLEMENTATION}" in out
    assert f"CPU: {bench.cpu_model()}" in out
    assert "Median ns per operation" in out and "Speed-up against the hand-written baseline" in out
    header = next(line for line in out.splitlines() if line.startswith("operation"))
    assert "pure" in header and "baseline" in header
    assert ("fast" in header) == fast_measured()
    for label in bench.OPS.values():
        assert label in out
    assert "NOT in this run" in out  # the C figures are labelled as a reference
    assert "Reproduce: sipdigest bench --rounds 1 --no-scale" in out
    assert "Peers:" in out


def test_json_report_has_the_operations_and_every_peer(capsys: pytest.CaptureFixture[str]) -> None:
    ops = ["parse-credentials", "verify", "client-retry"]  # between them, every peer in scope
    assert main(["bench", "--rounds", "1", "--no-scale", "--json", "--ops", ",".join(ops)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["machine"]["implementation"] == sipdigest.IMPLEMENTATION
    assert report["machine"]["cpu"]
    assert report["failed"] == []
    assert set(report["peers"]) == set(bench.PEERS)
    assert all(p["status"] in ("ok", "missing", "broken") for p in report["peers"].values())
    done = {(r["op"], r["impl"]) for r in report["results"]}
    assert {op for op, _ in done} == set(ops)
    for op in ops:
        assert (op, "pure") in done and (op, "baseline") in done
        assert ((op, "fast") in done) == fast_measured()
    for peer, status in report["peers"].items():
        ran = any(r["impl"] == peer for r in report["results"])
        assert ran == (status["status"] == "ok"), peer
    assert all(r["median_ns"] > 0 for r in report["results"])
    assert report["c_reference_ns"]["verify"] == 525


def test_missing_peer_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bench.PEER_DISTRIBUTIONS, "sippy", "sippy-not-installed-anywhere")
    monkeypatch.setitem(bench._PEER_IMPORTS, "sippy", ("sippy_not_installed_anywhere",))
    monkeypatch.delitem(bench._PEER_CACHE, "sippy", raising=False)
    assert bench.peer_status()["sippy"]["status"] == "missing"
    report = bench.run(ops=["verify"], variants=[bench.MD5_AUTH], impls=["pure", "baseline", "sippy"],
                       extras=False, **TINY)  # fmt: skip
    assert [r.impl for r in report.results] == ["pure", "baseline"]
    assert report.not_run and "sippy" in report.not_run[0]["reason"]
    assert "pip install 'sipdigest[bench]'" in report.not_run[0]["reason"]
    text = bench.render(report)
    assert "sippy missing (not installed: pip install 'sipdigest[bench]')" in text
    assert "Not run:" in text


def test_a_wrong_result_is_reported_and_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.Baseline, "verify", staticmethod(lambda *a, **k: False))
    report = bench.run(ops=["verify"], variants=[bench.MD5_AUTH], impls=["pure", "baseline"],
                       extras=False, **TINY)  # fmt: skip
    assert [r.impl for r in report.results] == ["pure"]
    assert report.failed[0]["impl"] == "baseline" and "CheckFailed" in report.failed[0]["error"]
    assert "FAILED CHECKS" in bench.render(report)


def test_every_case_is_checked_again_after_timing() -> None:
    case = bench.build_case("verify", bench.MD5_AUTH, "baseline")
    case.fn = lambda: False  # a result gone wrong after the first check
    with pytest.raises(bench.CheckFailed):
        bench.measure([case], 1, 10_000)


def test_fast_column_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPDIGEST_NO_EXTENSIONS", "1")
    report = bench.run(ops=["ha1"], variants=[bench.MD5_AUTH], impls=["fast", "pure", "baseline"],
                       extras=False, **TINY)  # fmt: skip
    assert "fast" not in {r.impl for r in report.results}
    assert "SIPDIGEST_NO_EXTENSIONS" in report.not_run[0]["reason"]


def test_twins_are_measured_in_one_process_and_restored() -> None:
    before = {n: getattr(_impl, n) for n in TWIN_FUNCTIONS}
    case = bench.build_case("ha1", bench.MD5_AUTH, "pure")
    with case.context():
        assert _impl.ha1 is bench.twin_core("pure").ha1
    assert {n: getattr(_impl, n) for n in TWIN_FUNCTIONS} == before
    if not fast_measured():
        if FAST is None and strict_environment():
            raise AssertionError("the extension is required here")
        with pytest.raises(bench.Unsupported):
            bench.build_case("ha1", bench.MD5_AUTH, "fast")
    else:
        assert FAST is not None
        fast = bench.build_case("ha1", bench.MD5_AUTH, "fast")
        with fast.context():
            assert _impl.ha1 is FAST.ha1


def test_scale_replay_memory_and_flood_figures() -> None:
    report = bench.run(ops=[], scale=(1, 2_000), memory_nonces=2_000, flood_requests=2_000, **TINY)
    assert [r.impl for r in report.scale] == ["1", "2,000"]
    assert {r.op for r in report.replay} == {"replay-window", "replay-store"}
    assert 0 < report.memory["fresh"] <= report.memory["full_window"] < 1024
    assert report.flood["requests"] == 2_000 and report.flood["retained_bytes"] < 16_384
    assert report.harness["call"] > 0
    text = bench.render(report)
    for part in ("Scale:", "Replay window", "bytes per tracked nonce", "Flood:", "flat scaling"):
        assert part in text


def test_server_accept_feeds_fresh_nonce_counts() -> None:
    case = bench.build_case("server-accept", bench.MD5_AUTH, "pure")
    case.ensure(1500)  # past one nonce's 1000 counts: a new nonce is minted
    for _ in range(1500):
        with case.context():
            case.check(case.fn())


def test_targets_are_judged_on_ratios_from_one_run() -> None:
    report = bench.Report()
    md5 = bench.MD5_AUTH.label
    for op, fast, base in (("verify", 500.0, 5_000.0), ("server-accept", 1_000.0, 3_000.0),
                           ("client-retry", 1_000.0, 3_000.0), ("parse-credentials", 100.0, 4_000.0)):  # fmt: skip
        report.results += [bench.Result(op, md5, "fast", fast, 0, 1, 1),
                           bench.Result(op, md5, "baseline", base, 0, 1, 1),
                           bench.Result(op, md5, "pure", base * 0.9, 0, 1, 1)]  # fmt: skip
    targets = {t["target"]: t for t in report.targets()}
    assert targets["verify_credentials >= 8x the baseline (MD5 auth)"]["met"]
    assert not targets["Server.handle -> Accept >= 3.5x the baseline (MD5 auth)"]["met"]
    assert targets["the pure twin never slower than the baseline"]["met"]
    raw, normalised = report.c_ratios("verify")
    assert raw == pytest.approx(500 / 525)
    assert normalised == pytest.approx((500 / 5_000) / (525 / 5_500))


def test_cpu_model_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert bench.cpu_model()
    info = bench.machine_info()
    assert info["implementation"] == sipdigest.IMPLEMENTATION and info["cores"] >= 1


def test_markdown_is_the_readme_speed_section() -> None:
    report = bench.run(ops=["verify", "ha1"], variants=[bench.MD5_AUTH, bench.VARIANTS[2]],
                       impls=["fast", "pure", "baseline"], scale=(1, 2_000), memory_nonces=2_000,
                       flood_requests=2_000, **TINY)  # fmt: skip
    text = bench.render_markdown(report)
    assert text.startswith("## Speed")
    assert bench.cpu_model() in text and "sipdigest bench" in text
    assert "| verify_credentials |" in text and "NOT in this run" in text
    assert "of 525 ns" in text or not fast_measured()
    assert "bytes" in text and "python -m pytest benchmarks" in text
