"""Test-support helpers (real Milvus server launcher, shared fixtures' building blocks)."""
