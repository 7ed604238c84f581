"""CPU seconds per process tree: the tree walk and the difference between two reads."""

from bench.cpu import cpu_delta, process_tree


def test_a_tree_is_the_root_and_everything_below_it() -> None:
    children = {1: [10, 20], 10: [11], 11: [12], 20: [], 99: [100]}

    assert sorted(process_tree(10, children)) == [10, 11, 12]
    assert sorted(process_tree(1, children)) == [1, 10, 11, 12, 20]
    assert process_tree(7, children) == [7]


def test_delta_per_name_rounded_and_never_negative() -> None:
    before = {"api": 1.0, "worker": 5.0, "bench": 2.0}
    after = {"api": 1.234, "worker": 4.5, "bench": 2.0, "floor": 0.3}

    assert cpu_delta(before, after) == {"api": 0.23, "worker": 0.0, "bench": 0.0, "floor": 0.3}
