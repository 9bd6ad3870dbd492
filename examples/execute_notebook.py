"""Execute ``examples/notebook.ipynb`` in place, so it is committed with its outputs.

``make notebook`` runs this. The kernel is this interpreter; it runs in a temporary
directory (its Milvus Lite file goes there), on the SciFact sample of this repository.
Cells that print only to stderr (library log lines) keep nothing: the committed outputs
are the tables and the plot.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from ipykernel.kernelspec import install
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent
NOTEBOOK = EXAMPLES / "notebook.ipynb"


def execute(notebook_path: Path, workdir: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Execute a notebook with this interpreter as its kernel, in ``workdir``."""
    install(prefix=str(workdir / "jupyter"), kernel_name="python3")
    os.environ["JUPYTER_PATH"] = str(workdir / "jupyter" / "share" / "jupyter")
    os.environ.update(env)
    notebook = nbformat.read(notebook_path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return notebook


def clean(notebook: nbformat.NotebookNode) -> None:
    """Drop stderr output (library log lines) and join the stdout pieces it split."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[nbformat.NotebookNode] = []
        for output in cell.outputs:
            if output.get("name") == "stderr":
                continue
            if outputs and output.get("name") == "stdout" and outputs[-1].get("name") == "stdout":
                outputs[-1]["text"] += output["text"]
            else:
                outputs.append(output)
        cell.outputs = outputs


def main() -> int:
    """Execute the notebook and write it back with its outputs."""
    os.environ.pop("MILVUS_URI", None)
    with tempfile.TemporaryDirectory() as tmp:
        notebook = execute(
            NOTEBOOK,
            Path(tmp),
            {"SCIFACT_DATA": str(EXAMPLES / "data"), "TOKENIZERS_PARALLELISM": "false"},
        )
    clean(notebook)
    nbformat.write(notebook, NOTEBOOK)  # type: ignore[no-untyped-call]
    print(f"wrote {NOTEBOOK} with outputs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
