"""The measured systems: which driver, which interpreter, which settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["System", "all_systems"]


@dataclass(frozen=True)
class System:
    """One system under test.

    Attributes:
        key: short identifier used in results (``raw``, ``core`` ...).
        label: the name shown in tables.
        driver: the module in ``benchmarks.drivers``.
        python: the interpreter whose venv has the driver's library.
        config: driver settings added to the common ones.
        ours: one of this project's systems (checked against the targets).
    """

    key: str
    label: str
    driver: str
    python: Path
    config: dict[str, Any] = field(default_factory=dict)
    ours: bool = False


DEFAULTS: dict[str, Any] = {"infer": True}


def all_systems(official: dict[str, Path | None]) -> list[System]:
    """Our systems (this venv) plus the official ones whose venv is ready.

    Args:
        official: ``{"langchain": python or None, "llama_index": python or None}``.
    """
    here = Path(sys.executable)
    systems = [
        # The floor every ratio is taken to: the usual hand-written HNSW setup
        # (M 16, efConstruction 200, ef 64), the same index our Lite default builds.
        System("raw", "raw pymilvus (HNSW)", "raw_pymilvus", here),
        # Our stores with their defaults. Each driver creates the collection before the
        # timed ingest; ``infer`` gives it the typed accelerator columns the default
        # first write would have inferred from these documents.
        System("core", "milvus-plugins core", "core", here, DEFAULTS, ours=True),
        System("ours_lc", "milvus-plugins LangChain", "ours_langchain", here, DEFAULTS, ours=True),
        System(
            "ours_li", "milvus-plugins LlamaIndex", "ours_llama_index", here, DEFAULTS, ours=True
        ),
    ]
    lc, li = official.get("langchain"), official.get("llama_index")
    if lc is not None:
        systems.append(System("off_lc", "langchain-milvus", "official_langchain", lc))
        systems.append(
            System(
                "off_lc_flush",
                "langchain-milvus + flush",
                "official_langchain",
                lc,
                {"flush": True},
            )
        )
    if li is not None:
        systems.append(
            System("off_li", "llama-index-vector-stores-milvus", "official_llama_index", li)
        )
        systems.append(
            System(
                "off_li_flush",
                "llama-index-vector-stores-milvus + force_flush",
                "official_llama_index",
                li,
                {"flush": True},
            )
        )
    return systems
