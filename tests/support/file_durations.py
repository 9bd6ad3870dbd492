"""Per-file test durations, for ordering test files longest first across xdist workers.

``make test`` hands whole files to its workers (``--dist loadfile``), each file as a
worker runs low. With the longest files first, the run ends on short files instead of a
few workers finishing a long one while the others sit idle. The table only orders files:
a file missing from it (a new one) runs among the middle ones, and a stale table costs
time, never a test.

Refresh it from a full run::

    make test TEST_ARGS="--durations=0" | tee /tmp/test.log
    python -m tests.support.file_durations /tmp/test.log > tests/file_durations.json
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "file_durations.json"
_LINE = re.compile(r"^\s*([0-9.]+)s (?:call|setup|teardown)\s+(\S+?)::")


def parse(report: str) -> dict[str, float]:
    """Seconds per test file from the lines of a pytest ``--durations=0`` report."""
    seconds: dict[str, float] = defaultdict(float)
    for line in report.splitlines():
        match = _LINE.match(line)
        if match:
            seconds[match.group(2)] += float(match.group(1))
    return {path: round(total, 1) for path, total in sorted(seconds.items())}


def load(table: Path = TABLE) -> dict[str, float]:
    """The committed table (empty if it is missing or unreadable: the order is then pytest's)."""
    try:
        data = json.loads(table.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}


def order_key(table: dict[str, float]) -> Callable[[str], float]:
    """Sort key for test file paths, longest first; files not in ``table`` get its median."""
    default = statistics.median(table.values()) if table else 0.0
    return lambda path: -table.get(path, default)


def main(argv: list[str]) -> int:
    text = Path(argv[0]).read_text(encoding="utf-8") if argv else sys.stdin.read()
    table = parse(text)
    if not table:
        print("no duration lines found (run pytest with --durations=0)", file=sys.stderr)
        return 1
    print(json.dumps(table, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
