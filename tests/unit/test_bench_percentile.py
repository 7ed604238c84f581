"""The bench's percentile: nearest rank, so it is always a latency some request really had."""

from bench.scenarios import percentile


def test_nearest_rank_percentiles() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 1..100, unordered

    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_few_values_give_one_of_them() -> None:
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 1) == 7.0
