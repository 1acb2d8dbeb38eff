"""The scale bench feeds each round with requests made just before it, from the
stream's own objects: the populations differ only by the server's state."""

from __future__ import annotations

from typing import Any

from sipdigest import bench


def _recording(case: bench.Case) -> list[int]:
    sizes: list[int] = []
    feed: Any = case.feed
    grow = feed._grow

    def record(n: int) -> None:
        sizes.append(n)
        grow(n)

    feed._grow = record
    return sizes


def test_each_round_is_made_just_before_it() -> None:
    cases = [bench.scale_case(1), bench.scale_case(300)]
    made = [_recording(c) for c in cases]
    results = bench.measure(cases, 4, 200_000)
    for case, sizes, result in zip(cases, made, results, strict=True):
        # calibration, then one round's worth per round (4 + the warm-up), never the lot
        assert max(sizes) <= case.iterations, (sizes, case.iterations)
        assert sizes[-5:] == [case.iterations] * 5 or sizes[-6:-1] == [case.iterations] * 5
        assert result.median_ns > 0


def test_just_in_time_prefill_makes_nothing_even_with_few_rounds() -> None:
    case = bench.scale_case(300)
    sizes = _recording(case)
    case.iterations = 10
    case.prefill(3 * 10 + 2)  # measure()'s fill for two rounds and the warm-up
    assert sizes == []
    case.ensure(10)  # a round's own requests
    assert sizes == [10]


def test_without_just_in_time_the_fill_is_made_in_advance() -> None:
    case = bench.scale_case(300)
    case.iterations = 10
    case.just_in_time = False
    case.prefill(100)
    assert len(case.feed._items) >= 100  # type: ignore[union-attr]
    for _ in range(100):
        case.check(case.fn())


def test_requests_are_made_from_the_streams_own_objects() -> None:
    stream = bench.ScaleStream(300, sample=300)
    for i, name in enumerate(stream._names):
        ha1 = stream.users[name]
        key = next(k for k in stream.users if k == name)
        assert key is not name  # the server's key string is not the client's
        assert ha1 == stream._ha1s[i] and ha1 is not stream._ha1s[i]
    stream.grow(7)
    assert len(stream.items) == 7  # exactly the number asked for
