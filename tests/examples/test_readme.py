"""The README's LlamaIndex quickstart runs as written, and a re-run adds no rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from milvus_plugins.embeddings import MiniLMEmbedder

pytestmark = pytest.mark.skipif(
    not MiniLMEmbedder.is_available(), reason="the offline embedding model is not installed"
)

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_block(section: str) -> str:
    text = README.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_llama_index_quickstart_rerun_replaces_instead_of_duplicating(tmp_path: Path) -> None:
    code = _python_block("LlamaIndex quickstart") + "\nprint('rows:', store.store.count())\n"
    script = tmp_path / "quickstart.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MILVUS_URI", "MILVUS_TOKEN")}
    env["TOKENIZERS_PARALLELISM"] = "false"
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "Milvus Lite runs inside the Python process." in outputs[0]
    assert outputs[0].strip().endswith("rows: 2")
    assert outputs[1] == outputs[0]
