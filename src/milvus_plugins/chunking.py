"""Split text files into overlapping chunks on paragraph and sentence boundaries."""

from __future__ import annotations

import os
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
                # Cut at the last space that fits; mid-word only for a word longer than size.
                cut = sentence.rfind(" ", 0, size + 1)
                cut = cut if cut > 0 else size
                yield sentence[:cut].rstrip()
                sentence = sentence[cut:].lstrip()
            if sentence:
                yield sentence


def _tail(chunk: str, overlap: int) -> str:
    """The last ``overlap`` characters of ``chunk``, starting at a word, or ``""``."""
    if overlap <= 0:
        return ""
    start = max(0, len(chunk) - overlap)
    if start > 0 and chunk[start - 1] != " ":
        # The window starts inside a word: begin at the next word instead (if any).
        space = chunk.find(" ", start)
        start = space + 1 if space != -1 else len(chunk)
    return chunk[start:]


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
            tail = _tail(current, overlap)
            current = f"{tail} {piece}".strip() if len(tail) + 1 + len(piece) <= size else piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        chunks.append(current)
    return chunks


def iter_text_files(path: Path, *, links: list[Path] | None = None) -> Iterator[Path]:
    """Yield ``path`` itself or every text/markdown file below it, sorted.

    Below a folder, symbolic links (to files or to folders) are not followed: a link can
    lead out of the folder, or to a file that is ingested under its own name too. Each
    link passed over (a folder, or a file with a text suffix) is appended to ``links``
    when a list is given.
    """
    if path.is_file():
        yield path
        return
    found: list[Path] = []
    for folder, subfolders, files in os.walk(path):
        here = Path(folder)
        for name in sorted(subfolders):
            if (here / name).is_symlink():
                subfolders.remove(name)  # os.walk does not descend into it
                if links is not None:
                    links.append(here / name)
        for name in files:
            candidate = here / name
            if candidate.suffix.lower() not in TEXT_SUFFIXES:
                continue
            if candidate.is_symlink():
                if links is not None:
                    links.append(candidate)
            elif candidate.is_file():
                found.append(candidate)
    if links is not None:
        links.sort()
    yield from sorted(found)
