"""The CLI's text chunker: bounded chunk sizes, overlap, paragraphs kept whole."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milvus_plugins.chunking import chunk_text, iter_text_files

PARAGRAPHS = [
    "Milvus stores dense and sparse vectors. It searches them by similarity.",
    "Sourdough rises slowly. Wild yeast ferments the flour. Bakers feed the starter daily.",
    "Trains run on rails between stations. Timetables say when they leave.",
]
TEXT = "\n\n".join(PARAGRAPHS)

words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=15).map(lambda ws: " ".join(ws) + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
texts = st.lists(paragraphs, min_size=0, max_size=8).map("\n\n".join)


def _shared_prefix_suffix(previous: str, chunk: str) -> int:
    """Length of the longest suffix of ``previous`` that ``chunk`` starts with."""
    for length in range(min(len(previous), len(chunk)), 0, -1):
        if chunk.startswith(previous[-length:]):
            return length
    return 0


def test_short_text_is_one_chunk_with_whitespace_normalised() -> None:
    assert chunk_text("  Hello\n   world.  ", size=100, overlap=0) == ["Hello world."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", " \n \t\n "])
def test_blank_text_gives_no_chunks(text: str) -> None:
    assert chunk_text(text) == []


@pytest.mark.parametrize("size", [40, 80, 120, 500])
def test_chunks_never_exceed_the_size(size: int) -> None:
    chunks = chunk_text(TEXT * 3, size=size, overlap=size // 4)
    assert chunks
    assert all(0 < len(chunk) <= size for chunk in chunks)


def test_paragraphs_that_fit_are_never_split() -> None:
    chunks = chunk_text(TEXT, size=100, overlap=0)
    for paragraph in PARAGRAPHS:
        assert any(paragraph in chunk for chunk in chunks), paragraph


def test_paragraphs_are_packed_together_while_they_fit() -> None:
    chunks = chunk_text(TEXT, size=1000, overlap=0)
    assert chunks == [" ".join(PARAGRAPHS)]


def test_long_paragraph_is_split_at_sentence_ends() -> None:
    chunks = chunk_text(PARAGRAPHS[1], size=50, overlap=0)
    assert chunks == [
        "Sourdough rises slowly.",
        "Wild yeast ferments the flour.",
        "Bakers feed the starter daily.",
    ]


def test_sentence_longer_than_the_size_is_cut_between_words() -> None:
    sentence = "one two three four five six seven eight nine ten eleven twelve"
    chunks = chunk_text(sentence, size=20, overlap=0)
    assert chunks == ["one two three four", "five six seven eight", "nine ten eleven", "twelve"]


def test_word_longer_than_the_size_is_cut_hard() -> None:
    assert chunk_text("x" * 250, size=100, overlap=0) == ["x" * 100, "x" * 100, "x" * 50]


def test_overlap_starts_at_a_word_of_the_previous_chunk() -> None:
    text = "One two. Three four. Five six. Seven eight. Nine ten."
    chunks = chunk_text(text, size=20, overlap=8)
    # "Three four." ends the first chunk; its last 8 characters start inside "Three".
    assert chunks == [
        "One two. Three four.",
        "four. Five six.",
        "six. Seven eight.",
        "eight. Nine ten.",
    ]


def test_consecutive_chunks_overlap_by_whole_words_at_most_overlap_long() -> None:
    text = " ".join(f"word{i}." for i in range(200))
    chunks = chunk_text(text, size=120, overlap=30)
    assert len(chunks) > 3
    for previous, chunk in itertools.pairwise(chunks):
        shared = _shared_prefix_suffix(previous, chunk)
        assert 0 < shared <= 30
        # The overlap starts at a word boundary of the previous chunk.
        assert previous[-shared - 1] == " "


def test_without_overlap_the_chunks_are_the_text_exactly_once() -> None:
    text = " ".join(f"word{i}." for i in range(200))
    chunks = chunk_text(text, size=120, overlap=0)
    assert " ".join(chunks) == text


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (-5, 0), (100, 100), (100, 150), (100, -1)])
def test_invalid_size_or_overlap_is_rejected(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="size"):
        chunk_text(TEXT, size=size, overlap=overlap)


@settings(max_examples=200, deadline=None)
@given(text=texts, size=st.integers(min_value=20, max_value=300), data=st.data())
def test_any_text_chunks_within_bounds_and_keeps_every_word(
    text: str, size: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=size - 1))
    chunks = chunk_text(text, size=size, overlap=overlap)
    assert all(0 < len(chunk) <= size for chunk in chunks)
    # Every word survives (words here are at most 13 characters, shorter than any size).
    assert set(text.split()) == {w for chunk in chunks for w in chunk.split()}
    if overlap == 0:
        assert " ".join(chunks).split() == text.split()


def test_iter_text_files_finds_text_and_markdown_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.md", "a.txt", "b/notes.MD", "c.rst", "data.csv", "image.png"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_text_files(tmp_path)]
    assert found == ["a.txt", "b/notes.MD", "b/z.md", "c.rst"]


def test_iter_text_files_yields_a_single_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x", encoding="utf-8")
    assert list(iter_text_files(path)) == [path]
