"""Every example runs as written, and the notebook executes headless, on Milvus Lite.

The scripts run in subprocesses inside temp dirs, as a user would run them; the
assertions read their output (the documents found, the filters honoured), not just the
exit code. Each script runs once per module and several tests read its output.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from milvus_plugins.embeddings import MiniLMEmbedder

pytestmark = pytest.mark.skipif(
    not MiniLMEmbedder.is_available(), reason="the offline embedding model is not installed"
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRION_SURVEY = "Prevalent abnormal prion protein in human appendixes"


def run_example(script: str, *args: str, cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``examples/<script> ARGS`` in ``cwd``; return its stdout (it must succeed)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MILVUS_URI", "MILVUS_TOKEN", "OPENAI_API_KEY")
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env={**clean, "TOKENIZERS_PARALLELISM": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (for its helpers)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(output: str) -> dict[str, list[str]]:
    """Split output into blank-line separated blocks keyed by their first line."""
    blocks = [b.splitlines() for b in output.strip().split("\n\n")]
    return {block[0]: block[1:] for block in blocks if block}


# -- quickstart.py (make demo) -------------------------------------------------------------


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """The default run (all 300 abstracts, ./milvus_demo.db), then a second run."""
    cwd = tmp_path_factory.mktemp("quickstart")
    first = run_example("quickstart.py", cwd=cwd)
    # The second run names the same file through MILVUS_URI.
    second = run_example("quickstart.py", cwd=cwd, env={"MILVUS_URI": "./milvus_demo.db"})
    return first, second, cwd


def _table(output: str, claim_id: str) -> list[list[str]]:
    """The rows of one claim's side-by-side table, as [dense, keyword, hybrid] cells."""
    block = output.split(f"claim {claim_id}: ", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = [line for line in block if re.match(r"^ \d\. ", line)]
    return [[cell.strip() for cell in row[4:].split(" | ")] for row in rows]


def test_quickstart_ingests_the_whole_corpus_into_milvus_demo_db(
    quickstart: tuple[str, str, Path],
) -> None:
    first, _, cwd = quickstart
    assert "embedding 300 abstracts" in first
    assert "collection holds 300 abstracts" in first
    assert (cwd / "milvus_demo.db").exists()


def test_quickstart_prints_three_modes_side_by_side_for_three_claims(
    quickstart: tuple[str, str, Path],
) -> None:
    first, _, _ = quickstart
    header = "dense (MiniLM)"
    assert first.count(header) == 3
    assert re.search(r"dense \(MiniLM\)\s+\| keyword \(BM25\)\s+\| hybrid \(RRF\)", first)
    for claim_id in ("5", "183", "294"):
        table = _table(first, claim_id)
        assert len(table) == 3 and all(len(row) == 3 for row in table)


def test_quickstart_keyword_and_hybrid_find_the_acronym_claims_answer(
    quickstart: tuple[str, str, Path],
) -> None:
    first, _, _ = quickstart
    # Claim 5, "1/2000 in UK have abnormal PrP positivity.": the answer is the prion
    # survey, marked '*' as relevant; keyword and hybrid search rank it first.
    _, keyword, hybrid = _table(first, "5")[0]
    assert keyword.startswith("*Prevalent abnormal prion")
    assert hybrid.startswith("*Prevalent abnormal prion")


def test_quickstart_dense_finds_the_paraphrased_claims_answer(
    quickstart: tuple[str, str, Path],
) -> None:
    first, _, _ = quickstart
    dense, _, hybrid = _table(first, "183")[0]
    assert dense.startswith("*Tissue-resident macrophages")
    assert hybrid.startswith("*Tissue-resident macrophages")


def test_quickstart_rerun_reuses_the_collection_without_duplicates(
    quickstart: tuple[str, str, Path],
) -> None:
    first, second, _ = quickstart
    assert "all 300 abstracts already stored: reusing the collection." in second
    assert "collection holds 300 abstracts" in second
    assert _table(second, "5") == _table(first, "5")


def test_quickstart_limit_and_uri_arguments(tmp_path: Path) -> None:
    out = run_example(
        "quickstart.py",
        "--uri",
        str(tmp_path / "small.db"),
        "--limit",
        "20",
        "-k",
        "2",
        cwd=tmp_path,
    )
    assert "collection holds 20 abstracts" in out
    # A slice starts with the documents that answer the demo claims.
    assert _table(out, "5")[0][1].startswith("*Prevalent abnormal prion")
    assert all(len(_table(out, c)) == 2 for c in ("5", "183", "294"))
    # A larger slice later rebuilds the collection rather than topping it up.
    out = run_example(
        "quickstart.py", "--uri", str(tmp_path / "small.db"), "--limit", "25", cwd=tmp_path
    )
    assert "20 of 25 abstracts stored: rebuilding the collection." in out
    assert "collection holds 25 abstracts" in out


# -- langchain_rag.py ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rag_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    cwd = tmp_path_factory.mktemp("rag")
    out = run_example("langchain_rag.py", "--uri", "rag.db", "--limit", "60", "--offline", cwd=cwd)
    assert "chat model: QuotingChatModel" in out
    return sections(out)


def _qa(blocks: dict[str, list[str]], question: str) -> tuple[list[str], str]:
    """The source lines and the answer printed for one question."""
    lines = blocks[f"Q: {question}"]
    sources = [line.strip() for line in lines if line.startswith("   [")]
    answer = next(line for line in lines if line.startswith("A: "))
    return sources, answer


def test_rag_answers_from_the_retrieved_abstracts(rag_output: dict[str, list[str]]) -> None:
    sources, answer = _qa(rag_output, "Does a deficiency of vitamin B12 raise blood homocysteine?")
    ids = [re.match(r"\[(\w+)\]", s).group(1) for s in sources]  # type: ignore[union-attr]
    assert len(ids) == 3
    assert {"5152028", "11705328"} & set(ids)  # SciFact's relevant abstracts
    quoted = re.match(r"A: \[(\w+)\] says: \"(.+)\"$", answer)
    assert quoted and quoted.group(1) in ids
    assert "homocysteine" in quoted.group(2).lower()


def test_rag_search_kwargs_filter_on_a_string_field(rag_output: dict[str, list[str]]) -> None:
    sources, _ = _qa(rag_output, "Is birth weight associated with the risk of breast cancer?")
    assert sources and all(" cancer, " in s for s in sources)
    assert any("breast cancer" in s.lower() for s in sources)


def test_rag_search_kwargs_filter_on_bool_and_range_with_dense_mode(
    rag_output: dict[str, list[str]],
) -> None:
    sources, answer = _qa(rag_output, "Does antiretroviral therapy reduce tuberculosis?")
    assert sources[0].startswith("[4883040]")
    for source in sources:
        words = int(re.search(r", (\d+) words, p-value=yes:", source).group(1))  # type: ignore[union-attr]
        assert words <= 400
    assert "Tuberculosis" in answer


def test_rag_falls_back_to_the_offline_model_without_the_openai_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rag = load_example("langchain_rag")
    assert isinstance(rag.chat_model(offline=True), rag.QuotingChatModel)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert isinstance(rag.chat_model(offline=False), rag.QuotingChatModel)
    if importlib.util.find_spec("langchain_openai") is None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert isinstance(rag.chat_model(offline=False), rag.QuotingChatModel)


def test_rag_offline_model_quotes_the_best_matching_sentence() -> None:
    rag = load_example("langchain_rag")
    from langchain_core.documents import Document

    docs = [
        Document(id="a", page_content="Cats\nCats sleep all day. They purr."),
        Document(id="b", page_content="Trains\nNight trains cross the Alps. Beds are small."),
    ]
    prompt = rag.PROMPT.invoke(
        {"context": rag.format_docs(docs), "question": "Do night trains cross the Alps?"}
    )
    answer = rag.QuotingChatModel().invoke(prompt).content
    assert answer == '[b] says: "Night trains cross the Alps."'
    unrelated = rag.PROMPT.invoke({"context": rag.format_docs(docs), "question": "Quantum?"})
    assert "do not answer" in rag.QuotingChatModel().invoke(unrelated).content


# -- llama_index_query_engine.py ------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    cwd = tmp_path_factory.mktemp("llama")
    return run_example(
        "llama_index_query_engine.py", "--uri", "li.db", "--limit", "60", "--offline", cwd=cwd
    )


def _hits(output: str, title_prefix: str) -> list[tuple[str, str]]:
    """(ref_doc_id, topic) of the result lines under the block starting with a prefix."""
    block = next(b for t, b in sections(output).items() if t.startswith(title_prefix))
    found = [re.match(r"^\s+[\d.]+\s+\[([\w-]+)\] (\w+)", line) for line in block]
    return [(m.group(1), m.group(2)) for m in found if m]


def test_llama_indexes_nodes_with_deterministic_ids(llama_output: str) -> None:
    match = re.search(r"60 abstracts -> (\d+) nodes; 0 already stored", llama_output)
    assert match and int(match.group(1)) >= 60
    assert f"collection 'scifact_llama_index': {match.group(1)} nodes" in llama_output


def test_llama_dense_retriever_finds_the_prion_survey(llama_output: str) -> None:
    assert _hits(llama_output, "dense:")[0][0] == "13734012"


def test_llama_hybrid_retriever_matches_the_acronym_claim(llama_output: str) -> None:
    assert _hits(llama_output, "hybrid, alpha=0.3:")[0][0] == "13734012"


def test_llama_metadata_filters_keep_only_matching_nodes(llama_output: str) -> None:
    hits = _hits(llama_output, "filtered (topic == cancer")
    assert hits and all(topic == "cancer" for _, topic in hits)
    assert hits[0][0] == "45638119"  # ALDH1 and breast cancer outcome


def test_llama_query_engine_answers_from_its_sources(llama_output: str) -> None:
    hits = _hits(llama_output, "query engine:")
    assert hits[0][0] == "4883040"
    answer = next(line for line in llama_output.splitlines() if line.startswith("answer: "))
    assert "Tuberculosis" in answer or "tuberculosis" in answer


def test_llama_delete_by_ref_doc_id_removes_all_its_nodes(llama_output: str) -> None:
    inserted = re.search(r"after index.insert\(withdrawn\): (\d+) nodes; top 3: (.*)", llama_output)
    deleted = re.search(
        r"after delete_ref_doc\('withdrawn-preprint-1'\): (\d+) nodes; top 3: (.*)", llama_output
    )
    assert inserted and deleted
    assert int(inserted.group(1)) == int(deleted.group(1)) + 1
    assert "withdrawn-preprint-1" in inserted.group(2)
    assert "withdrawn-preprint-1" not in deleted.group(2)


# -- notebook.ipynb ------------------------------------------------------------------------


NOTEBOOK = EXAMPLES / "notebook.ipynb"


def _stdout(notebook: Any) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.get("name") == "stdout"
    )


def _images(notebook: Any) -> list[Any]:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]


def _assert_results(text: str, abstracts: int) -> None:
    assert f"{abstracts} abstracts" in text
    assert re.search(r"ef\s+recall@5\s+overlap with ef=512", text)
    for run in (
        "dense only",
        "keyword only (BM25)",
        "Weighted(0.7, 0.3)",
        "Weighted(0.3, 0.7)",
        "RRF(60)",
    ):
        assert re.search(rf"{re.escape(run)}\s+\d\.\d{{3}}\s+\d\.\d{{3}}", text), run


def test_notebook_is_committed_with_its_outputs() -> None:
    # `make notebook` regenerates them: the tables and the plot show on GitHub.
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    assert not any(o.output_type == "error" for cell in code for o in cell.outputs)
    _assert_results(_stdout(notebook), 300)
    assert len(_images(notebook)) == 1
    assert "/tmp" not in NOTEBOOK.read_text(encoding="utf-8")


def _run_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    """Execute a copy of the notebook in a directory outside the repository."""
    import nbformat
    from ipykernel.kernelspec import install
    from nbclient import NotebookClient

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    copy = workdir / "notebook.ipynb"
    shutil.copy(NOTEBOOK, copy)
    # A "python3" kernelspec for this very interpreter (the venv's), found first.
    install(prefix=str(tmp_path / "jupyter"), kernel_name="python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    monkeypatch.setenv("NOTEBOOK_LIMIT", "60")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.delenv("MILVUS_URI", raising=False)
    monkeypatch.delenv("SCIFACT_DATA", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError, with the cell, if any cell fails
    return notebook


def test_notebook_copy_executes_headless_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No SCIFACT_DATA: the data is found through the installed milvus_plugins package.
    assert not str(tmp_path).startswith(str(EXAMPLES.parent))
    notebook = _run_copy(tmp_path, monkeypatch)
    _assert_results(_stdout(notebook), 60)
    assert len(_images(notebook)) == 1  # the score distribution histograms
    assert (tmp_path / "elsewhere" / "notebook.db").exists()


def test_notebook_names_the_setting_when_the_data_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match=r"SCIFACT_DATA=.*holds no scifact_sample\.jsonl"):
        _run_copy(tmp_path, monkeypatch, SCIFACT_DATA=str(tmp_path / "nowhere"))
