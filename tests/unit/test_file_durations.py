"""The per-file durations table that orders test files for ``make test``."""

from __future__ import annotations

from pathlib import Path

from tests.support.file_durations import TABLE, load, order_key, parse

REPORT = """\
============================= slowest durations ==============================
107.11s setup    tests/benchmarks/test_bench_smoke.py::test_files_are_written
85.80s call     tests/integration/test_a.py::test_x[server]
0.50s teardown tests/integration/test_a.py::test_x[server]
2.25s call     tests/integration/test_b.py::Test::test_y
(42 durations < 0.005s hidden.  Use -vv to show these durations.)
6174 passed, 65 skipped in 1197.20s (0:19:57)
"""


def test_a_durations_report_sums_setup_call_and_teardown_per_file() -> None:
    assert parse(REPORT) == {
        "tests/benchmarks/test_bench_smoke.py": 107.1,
        "tests/integration/test_a.py": 86.3,
        "tests/integration/test_b.py": 2.2,
    }


def test_files_sort_longest_first_and_unknown_files_take_the_median() -> None:
    key = order_key({"a.py": 10.0, "b.py": 1.0, "c.py": 4.0, "d.py": 2.0})  # median 3
    files = ["b.py", "new.py", "d.py", "a.py", "c.py"]
    assert sorted(files, key=key) == ["a.py", "c.py", "new.py", "d.py", "b.py"]
    assert order_key({})("any.py") == 0.0  # no table: pytest's order (a stable sort)


def test_the_committed_table_names_existing_test_files(tmp_path: Path) -> None:
    table = load()
    assert len(table) > 100
    root = TABLE.parents[1]
    assert all((root / path).is_file() for path in table), "refresh tests/file_durations.json"
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert load(bad) == {} and load(tmp_path / "missing.json") == {}
