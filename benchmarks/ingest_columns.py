"""What our two extra columns cost an ingest: raw pymilvus with and without them.

Raw pymilvus (the speed benchmark's driver: HNSW, BM25, a JSON metadata column and the
declared typed columns) ingests N synthetic documents into three layouts, interleaved
and rotated rep by rep, with a wait until the process is idle before each timing
(Milvus Lite builds indexes in background threads):

* ``raw``: the driver's own layout;
* ``+ doc_id, extra``: plus the two columns our default layout adds (a VARCHAR written
  ``""`` and a JSON column written ``{}``, as our stores write them for a plain record);
* ``+ doc_id, extra (null)``: the two columns nullable and written as null;
* ``+ accelerator``: plus one nullable VARCHAR accelerator column (``source``).

Each layout's wall clock, process CPU and calling-thread (client) CPU are reported
(Milvus Lite runs in this process: process CPU minus client is the server's work). Run
with ``python -m benchmarks.ingest_columns --n 20000 --reps 3``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from pymilvus import DataType

from benchmarks.dataset import synthetic, workload_config
from benchmarks.drivers.raw_pymilvus import Driver
from benchmarks.proc_status import CLOCKS, clocked, wait_until_idle


class WithOurColumns(Driver):
    """Raw pymilvus rows plus ``doc_id`` and ``extra``."""

    accelerator = False
    nulls = False  # the two columns nullable, written as null instead of "" and {}

    def _schema(self, dim: int) -> Any:
        schema = super()._schema(dim)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512, nullable=self.nulls)
        schema.add_field("extra", DataType.JSON, nullable=self.nulls)
        if self.accelerator:
            schema.add_field("source", DataType.VARCHAR, max_length=1024, nullable=True)
        return schema

    def _rows(self, positions: list[int]) -> list[dict[str, Any]]:
        rows = super()._rows(positions)
        for row in rows:
            row["doc_id"] = None if self.nulls else ""
            row["extra"] = None if self.nulls else "{}"  # text, as our stores send it
            if self.accelerator:
                row["source"] = row["metadata"].get("source")
        return rows


class WithAccelerator(WithOurColumns):
    """Raw pymilvus rows plus ``doc_id``, ``extra`` and one accelerator column."""

    accelerator = True


class WithNullColumns(WithOurColumns):
    """Raw pymilvus rows plus ``doc_id`` and ``extra`` as nullable columns holding null."""

    nulls = True


LAYOUTS: dict[str, type[Driver]] = {
    "raw": Driver,
    "+ doc_id, extra": WithOurColumns,
    "+ doc_id, extra (null)": WithNullColumns,
    "+ accelerator": WithAccelerator,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    data = synthetic(args.n)
    names = list(LAYOUTS)
    seconds: dict[str, dict[str, list[float]]] = {n: {k: [] for k in CLOCKS} for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                # A fresh database file per repetition: reopening one that an earlier
                # client of this process used failed to connect on Milvus Lite 3.2.2.
                config = workload_config(
                    Path(tmp) / f"layout{names.index(name)}_{rep}.db", f"c{rep}", data.dim
                )
                driver = LAYOUTS[name](config, data)
                wait_until_idle()
                took = clocked(driver.ingest, list(range(args.n)))
                driver.client.drop_collection(driver.name)
                for clock, value in took.items():
                    seconds[name][clock].append(value)
                print(
                    f"rep {rep} {name}: {took['wall']:.2f} s, process CPU "
                    f"{took['cpu']:.2f} s, client thread {took['client']:.2f} s",
                    flush=True,
                )
    med = {n: {k: statistics.median(seconds[n][k]) for k in CLOCKS} for n in names}
    raw = med["raw"]
    print(f"\nN = {args.n:,}, {args.reps} rotated repetitions, raw pymilvus, medians\n")
    print("| layout | seconds (each rep) | throughput x raw | process CPU s | x raw | client s |")
    print("|---|---|---:|---:|---:|---:|")
    for name in names:
        each = ", ".join(f"{s:.1f}" for s in seconds[name]["wall"])
        m = med[name]
        print(
            f"| {name} | {m['wall']:.2f} ({each}) | {raw['wall'] / m['wall']:.2f}x | "
            f"{m['cpu']:.2f} | {raw['cpu'] / m['cpu']:.2f}x | {m['client']:.2f} |"
        )


if __name__ == "__main__":
    main()
