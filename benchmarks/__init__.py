"""Benchmarks: speed against raw pymilvus and the official integrations, quality on SciFact.

Run ``python -m benchmarks.run --quick`` (``make bench``) or ``--full`` (``make bench-full``).
Modules that worker processes import (``dataset``, ``worker``, ``drivers``) use only the
standard library and numpy, so they also run inside the official integrations' venvs.
"""
