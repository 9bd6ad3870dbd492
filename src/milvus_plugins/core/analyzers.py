"""How the text field is analysed: :class:`TextAnalyzer` and the Milvus analyzer params it
renders to (:func:`analyzer_params`), used by the BM25 function and by text match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_plugins.core.errors import ConfigError

__all__ = [
    "ENGLISH_STOP_WORDS",
    "TextAnalyzer",
    "analyzer_params",
    "described_analyzer",
    "has_match",
    "stop_words_of",
]

ENGLISH_STOP_WORDS: tuple[str, ...] = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
    "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
    "there", "these", "they", "this", "to", "was", "will", "with",
)  # fmt: skip
"""The short English stop-word list Milvus calls ``_english_`` (Lucene's classic set)."""

_STEMMER_LANGUAGES = frozenset(
    [
        "arabic",
        "danish",
        "dutch",
        "english",
        "finnish",
        "french",
        "german",
        "greek",
        "hungarian",
        "italian",
        "norwegian",
        "portuguese",
        "romanian",
        "russian",
        "spanish",
        "swedish",
        "tamil",
        "turkish",
    ]
)
_ANALYZER_KEYS = frozenset({"type", "tokenizer", "filter", "char_filter", "stop_words"})


@dataclass(frozen=True, kw_only=True)
class TextAnalyzer:
    """How Milvus' BM25 function splits the text field into terms (``sparse="bm25"``).

    It renders as Milvus' custom-analyzer params (a tokenizer plus a filter list), the
    form every engine here honours the same way; see :func:`analyzer_params`.

    Attributes:
        tokenizer: ``"standard"`` (default; words split on Unicode boundaries) or another
            Milvus tokenizer (``"jieba"`` for Chinese; Milvus Lite 3.2.2 has only these
            two).
        lowercase: lower-case terms, so ``Cat`` matches ``cat``.
        stop_words: words left out of the index and of queries: a list, or
            ``"english"`` for :data:`ENGLISH_STOP_WORDS` (passed as the explicit list,
            because Milvus Lite does not know the ``_english_`` shorthand).
        stemmer: a language whose stemmer reduces words to stems (``"english"``:
            ``runs`` -> ``run``). Milvus servers >= 2.5 apply it; Milvus Lite 3.2.2
            accepts it and ignores it (tested).

    Raises:
        ConfigError: an empty tokenizer, an unknown stop-word language or stemmer
            language, or stop words that are not non-empty strings.
    """

    tokenizer: str = "standard"
    lowercase: bool = True
    stop_words: Sequence[str] | str = ()
    stemmer: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tokenizer, str) or not self.tokenizer.strip():
            raise ConfigError(f"TextAnalyzer tokenizer={self.tokenizer!r} must be a name.")
        words = self.stop_words
        if isinstance(words, str):
            if words.lower() != "english":
                raise ConfigError(
                    f"TextAnalyzer stop_words={words!r}: give a list of words, or 'english'."
                )
            words = ENGLISH_STOP_WORDS
        words = tuple(words)
        if not all(isinstance(w, str) and w.strip() for w in words):
            raise ConfigError(
                f"TextAnalyzer stop_words={words!r} must be non-empty strings (or 'english')."
            )
        object.__setattr__(self, "stop_words", words)
        if self.stemmer is not None and self.stemmer not in _STEMMER_LANGUAGES:
            raise ConfigError(
                f"TextAnalyzer stemmer={self.stemmer!r} must be one of "
                f"{sorted(_STEMMER_LANGUAGES)} or None."
            )

    def params(self) -> dict[str, Any]:
        """The Milvus analyzer params."""
        filters: list[Any] = ["lowercase"] if self.lowercase else []
        if self.stemmer is not None:
            filters.append({"type": "stemmer", "language": self.stemmer})
        if self.stop_words:
            filters.append({"type": "stop", "stop_words": list(self.stop_words)})
        return {"tokenizer": self.tokenizer, "filter": filters}


def analyzer_params(analyzer: TextAnalyzer | Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate an analyzer and return its Milvus params (``None``: ``standard``).

    A mapping is Milvus' own analyzer params, passed on as given, except that
    ``{"type": "standard", "stop_words": [...]}`` becomes the equivalent custom form
    (standard tokenizer, lowercase, stop filter): Milvus Lite 3.2.2 ignores
    ``stop_words`` on the built-in type but honours the stop filter.

    Raises:
        ConfigError: not a mapping or :class:`TextAnalyzer`; neither ``type`` nor
            ``tokenizer``; an unknown key; a non-list ``filter``; stop words that are
            not strings; values that are not JSON.
    """
    if analyzer is None:
        return {"type": "standard"}
    if isinstance(analyzer, TextAnalyzer):
        return analyzer.params()
    if not isinstance(analyzer, Mapping):
        raise ConfigError(
            f"analyzer={analyzer!r} must be a TextAnalyzer or a dict of Milvus analyzer "
            "params such as {'type': 'standard'}."
        )
    params = dict(analyzer)
    unknown = sorted(str(k) for k in set(params) - _ANALYZER_KEYS)
    if unknown:
        raise ConfigError(
            f"analyzer params {unknown} are unknown (Milvus Lite would ignore them "
            f"silently); use {sorted(_ANALYZER_KEYS)}."
        )
    if not isinstance(params.get("type", params.get("tokenizer")), (str, Mapping)):
        raise ConfigError(f"analyzer={params!r} needs 'type' (e.g. 'standard') or 'tokenizer'.")
    if not isinstance(params.get("filter", []), list):
        raise ConfigError(f"analyzer filter={params['filter']!r} must be a list.")
    words = params.get("stop_words", [])
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise ConfigError(f"analyzer stop_words={words!r} must be a list of strings.")
    try:
        json.dumps(params)
    except (TypeError, ValueError):
        raise ConfigError(f"analyzer={params!r} must hold JSON values only.") from None
    if params.get("type") == "standard" and words and set(params) <= {"type", "stop_words"}:
        return TextAnalyzer(stop_words=list(words)).params()
    return params


def stop_words_of(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The stop words an analyzer's params name (its ``stop_words`` and stop filters)."""
    words = list(params.get("stop_words", []))
    for item in params.get("filter", []) or []:
        if isinstance(item, Mapping) and item.get("type") == "stop":
            words.extend(w for w in item.get("stop_words", []) if isinstance(w, str))
    if params.get("type") == "english" and not words:
        words = list(ENGLISH_STOP_WORDS)
    return tuple(words)


def has_match(text_field: Mapping[str, Any]) -> bool:
    """Whether a described text field was created with ``enable_match``."""
    value = (text_field.get("params") or {}).get("enable_match")
    return value is True or str(value).lower() == "true"


def described_analyzer(text_field: Mapping[str, Any]) -> dict[str, Any] | None:
    """The analyzer params of a described text field (``None`` when it has none)."""
    raw = (text_field.get("params") or {}).get("analyzer_params")
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
