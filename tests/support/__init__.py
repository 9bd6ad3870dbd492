"""Test-support helpers (real Milvus server launcher, shared fixtures' building blocks)."""


def stable_id(value: object) -> str:
    """A test id from ``repr`` without memory addresses (pytest-xdist workers must agree)."""
    import re

    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))
