"""Split text files into overlapping chunks on paragraph and sentence boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEXT_SUFFIXES", "chunk_text", "iter_text_files"]

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(text: str, size: int) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= size:
            yield paragraph
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            while len(sentence) > size:
                yield sentence[:size]
                sentence = sentence[size:]
            if sentence:
                yield sentence


def chunk_text(text: str, *, size: int = 800, overlap: int = 100) -> list[str]:
    """Return chunks of at most ``size`` characters, consecutive chunks sharing about
    ``overlap`` characters of context; paragraphs and sentences are kept whole when
    they fit.

    Raises:
        ValueError: ``size`` is not positive or ``overlap`` is not smaller than ``size``.
    """
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError(f"need size > 0 and 0 <= overlap < size (got {size}, {overlap}).")
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, size):
        if current and len(current) + 1 + len(piece) > size:
            chunks.append(current)
            tail = current[-overlap:] if overlap else ""
            tail = tail[tail.find(" ") + 1 :] if " " in tail else tail
            current = f"{tail} {piece}".strip() if len(tail) + 1 + len(piece) <= size else piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        chunks.append(current)
    return chunks


def iter_text_files(path: Path) -> Iterator[Path]:
    """Yield ``path`` itself or every text/markdown file below it, sorted."""
    if path.is_file():
        yield path
        return
    for candidate in sorted(path.rglob("*")):
        if candidate.is_file() and candidate.suffix.lower() in TEXT_SUFFIXES:
            yield candidate
