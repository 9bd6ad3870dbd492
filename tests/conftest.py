"""Shared fixtures: a fresh Milvus Lite database file per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lite_uri(tmp_path: Path) -> str:
    """A Milvus Lite database path inside the test's temp dir."""
    return str(tmp_path / "milvus.db")
