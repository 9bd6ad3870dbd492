"""What the connected engine's expression language can do, as flags.

Imported by :mod:`milvus_plugins.core.capabilities` (which derives a dialect from the
server version) and by :mod:`.compiler` (which writes expressions for it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Dialect"]


@dataclass(frozen=True)
class Dialect:
    """What the connected engine's expression language can do.

    Attributes:
        json_in: ``metadata["k"] in [...]`` parses (Milvus Lite 3.2 rejects it).
        json_exists: ``exists metadata["k"]`` is supported.
        nullable: typed columns may be NULL (Milvus >= 2.5).
        missing_is_null: comparisons on a missing JSON key are NULL, so ``not (...)``
            drops those rows unless the compiler adds an explicit ``not exists``.
        like_infix: ``like`` takes any pattern. Without it (Milvus 2.3) only prefix
            patterns (``"abc%"``) work, and ``_`` and ``\\`` are not wildcards there, so
            other patterns raise :class:`FilterError`.
        bool_literals: a bare ``true`` / ``false`` is a predicate (Milvus 2.3 rejects it;
            the compiler then compares the primary key with ``""`` instead).
        empty_lists: an empty list literal parses (``json_contains_all(k, [])``, which
            tells lists from other JSON values); Milvus 2.3 rejects ``[]``, so filters
            that need that test raise :class:`FilterError` there.
        json_escaped_keys: a key in ``metadata["k"]`` is matched against the key as the
            JSON encoder wrote it, so control characters are spelled as JSON escapes
            (``\\b``, ``\\u001f``). Servers do this; Milvus Lite rejects those escapes and
            takes the characters as they are.
        json_key_brackets: a key may contain ``][``. Servers split a JSON path at
            ``][`` (Milvus 2.3.5 then rejects the expression, or its proxy crashes on
            ``metadata["]["]``), so such keys raise :class:`FilterError` there.
        not_expr: ``not (...)`` is evaluated. Milvus Lite 2.5 parses it but cannot run
            it; the compiler then writes negations on typed columns as complements
            and raises :class:`FilterError` for negations it cannot rewrite.
        like_match_all: ``like "%"`` matches every string. Milvus Lite 2.5 matches
            nothing with it, so the compiler writes ``k >= ""`` (true exactly for
            strings) instead.
        text_match: ``TEXT_MATCH(field, "...")`` runs (Milvus >= 2.5, Milvus Lite 3).
        phrase_match: ``PHRASE_MATCH(field, "...", slop)`` runs (Milvus >= 2.5.17).
        text_match_analyzer: ``TEXT_MATCH`` uses the field's analyzer (Milvus Lite 3.2.2
            uses the standard tokenizer, lower-cased, whatever the field's: the compiler
            drops stop words from the query there, and refuses an analyzer whose terms
            differ otherwise).
        engine: the engine's version, named in :class:`UnsupportedByServerError`.
        like_backslash_column / like_backslash_json: a backslash in a ``like`` pattern
            is read as a plain character (as the filter semantics say) on a typed
            column / on a JSON path. Otherwise a pattern holding a backslash and a
            wildcard raises :class:`FilterError` (without a wildcard it is an equality).
            Milvus Lite 3.2.2 reads it as a character on JSON paths; on typed columns
            pyarrow's ``match_like`` reads it as an escape in some pattern shapes and
            as a character in others (the pattern ``%\\\\d%`` finds no ``\\d``); Milvus
            Lite 2.5.1 is inconsistent too (``a\\\\%`` finds nothing), other servers are untested.
        json_bools_are_numbers: on a JSON path ``true``/``false`` compare equal to
            ``1``/``0`` (Milvus Lite 3.2.2 evaluates them as Python does: ``k == true``
            also finds ``1`` and ``1.0``; servers and Milvus Lite 2.5 tell them apart,
            as the filter semantics do). The compiler cannot write a kind test there;
            deletes check the rows they would touch (:mod:`.evaluator`) first.
        json_numbers_exact: a JSON path compares numbers with a literal exactly, as the
            filter semantics (Python) do. Milvus 2.3.5 and Milvus Lite 2.5.1 compare them
            as doubles: ``k == 2**53 + 1`` also finds ``2.0**53`` and ``k == 1e16`` finds
            ``10**16 + 1``; ``json_contains(k, 1)`` misses ``[1.0]`` (``json_contains(k,
            1.0)`` finds both, and not ``[true]``); and ``-9223372036854775808`` fails to
            parse (Lite 2.5.1 reads it as ``-2**63 + 1``). The compiler then writes such
            comparisons in exact forms (a whole float beyond 2**53 as the int it equals,
            an int without an exact double with a second comparison against the int
            next to it that shares its double; whole numbers in list tests as floats)
            and raises :class:`FilterError` for ints of size 2**63 or more and list
            elements of size 2**53 or more on a JSON path. Milvus Lite 3.2.2 compares
            exactly (tested).
        line_escapes: ``\\n``, ``\\r`` and ``\\t`` in a string literal are read as the
            control characters. Milvus Lite 2.5.1 drops the backslash (``"a\\nb"``
            selects ``"anb"``) and rejects a raw line break; the compiler then writes a
            tab as it is and raises :class:`FilterError` for a value holding a line break.
        like_nul: a ``like`` pattern may hold NUL. Milvus 2.3.5 and Milvus Lite 2.5.1 end
            a prefix pattern at the NUL (``"a\\x00c%"`` also finds ``"a\\x00b"``); the
            compiler then raises :class:`FilterError` for a pattern holding one.
        partition_key_equality: ``k == v`` / ``k in [...]`` on the partition-key column
            finds every matching row. Milvus 2.3.5 prunes such a query to the partition
            the value hashes to, but puts upserted rows elsewhere, so it misses them;
            the compiler then writes ``(k >= v and k <= v)``, which is not pruned.
    """

    json_in: bool = False
    json_exists: bool = True
    nullable: bool = True
    missing_is_null: bool = True
    like_infix: bool = True
    bool_literals: bool = True
    empty_lists: bool = True
    json_escaped_keys: bool = False
    json_key_brackets: bool = True
    not_expr: bool = True
    like_match_all: bool = True
    text_match: bool = True
    text_match_analyzer: bool = True
    phrase_match: bool = True
    engine: str = "this Milvus"
    line_escapes: bool = True
    like_nul: bool = True
    partition_key_equality: bool = True
    like_backslash_column: bool = False
    like_backslash_json: bool = False
    json_bools_are_numbers: bool = False
    json_numbers_exact: bool = True
