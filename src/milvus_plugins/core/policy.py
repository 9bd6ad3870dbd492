"""Policy the framework adapters share, decided once here (no I/O but in :class:`StorePair`).

Both adapters translate framework types and nothing else; what a setting or a query
*means* is decided here: the sparse field a ``sparse=`` setting asks for, which rankers
hybrid search accepts, what each search kind needs (a sparse field, a vector, a text),
how unknown keyword arguments are refused (one error type), the ordering of records by
requested ids, and the pair of stores (sync, and async with one client per event loop)
an adapter drives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from typing_extensions import Self

from milvus_plugins.core.arguments import (
    check_argument,
    checked_arguments,
    unexpected_arguments,
)
from milvus_plugins.core.async_store import AsyncMilvusStore
from milvus_plugins.core.config import CollectionSpec
from milvus_plugins.core.errors import (
    ConfigError,
    InvalidInputError,
    shown,
)
from milvus_plugins.core.ops.search_request import SearchKind
from milvus_plugins.core.ranking import RRF, Ranker, Weighted
from milvus_plugins.core.records import Record
from milvus_plugins.core.sparse import SparseEncoder
from milvus_plugins.core.store import MilvusStore
from milvus_plugins.core.types import SparseMode

__all__ = [
    "StoreLifetime",
    "StorePair",
    "check_kwargs",
    "check_ranker",
    "checked_methods_of",
    "choose_sparse",
    "either",
    "hybrid_legs",
    "need_search_inputs",
    "order_by_ids",
    "require_fields_for",
    "require_sparse_for",
]

C = TypeVar("C", bound=type)


def checked_methods_of(host: str) -> Callable[[C], C]:
    """:func:`checked_arguments` for a mixin of the adapter class named ``host``.

    An adapter class too long for one module takes some of its methods from mixins;
    their methods are named as the host's (``MilvusVectorStore.add``), in argument
    errors too, as if they were written in the host class itself.
    """

    def apply(cls: C) -> C:
        return checked_arguments(cls, host)

    return apply


def check_kwargs(
    method: str,
    kwargs: Mapping[str, Any],
    allowed: Iterable[str],
    types: Mapping[str, Any] | None = None,
    hints: Mapping[str, str] | None = None,
) -> None:
    """Refuse keyword arguments ``method`` does not take, and known ones of a wrong type.

    Args:
        method: the method's name, for the message.
        kwargs: the keyword arguments given.
        allowed: the names accepted.
        types: the annotation of some accepted names (checked with ``check_argument``).
        hints: what to pass instead of some names ``method`` does not take (the
            official integration's names for the same things).

    Raises:
        InvalidInputError: a known keyword argument whose value has the wrong type.
        UnexpectedArgumentError: an unknown keyword (an :class:`InvalidInputError` and a
            ``TypeError``), naming it, its hint (or the closest accepted name) and the
            accepted ones.
    """
    accepted = set(allowed)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise unexpected_arguments(method, unknown, accepted, hints)
    for name, value in kwargs.items():
        if types and name in types:
            check_argument(name, value, types[name])


def either(name: str, value: Any, official: str, official_value: Any) -> Any:
    """The one of two names for a setting that was given: ours (``name``) or the official
    integration's (``official``, taken with the same meaning); ``None`` is "not given".

    Raises:
        ConfigError: both were given.
    """
    if value is not None and official_value is not None:
        raise ConfigError(
            f"{official}= is another name for {name}= (the official integration's); "
            "give one of the two."
        )
    return official_value if value is None else value


def choose_sparse(
    sparse: str | SparseEncoder | None, *, wanted: bool | None, wanted_by: str = ""
) -> tuple[SparseMode, SparseEncoder | None]:
    """The collection's sparse field from a ``sparse=`` setting.

    Args:
        sparse: ``"bm25"`` (server-side BM25), ``"none"``, a :class:`SparseEncoder`
            (client-side sparse vectors), or ``None`` (decided by ``wanted``).
        wanted: whether the adapter's settings ask for a sparse field (LlamaIndex's
            ``enable_sparse``, a LangChain retrieval mode other than dense); ``None``:
            no preference. With ``sparse=None`` (or ``"none"`` when wanted) a wanted
            field is server-side BM25.
        wanted_by: the setting that says ``wanted``, for the message of a contradiction
            (``"enable_sparse=False"``).

    Raises:
        ConfigError: ``"client"`` without the encoder, an unknown value, or a sparse
            field that ``wanted=False`` switches off.
    """
    if sparse is None or (isinstance(sparse, str) and sparse.strip().lower() == "none"):
        # "none" is LlamaIndex's spelling of "not given"; a LangChain mode that needs a
        # sparse field passes wanted=None and is refused by require_sparse_for.
        return (SparseMode.BM25 if wanted else SparseMode.NONE), None
    if isinstance(sparse, SparseEncoder):
        mode, encoder = SparseMode.CLIENT, sparse
    elif isinstance(sparse, str):
        mode, encoder = SparseMode.parse(sparse, field="sparse"), None
        if mode is SparseMode.CLIENT:
            raise ConfigError(
                "sparse='client' needs the encoder itself: pass sparse=BM25Encoder().fit(corpus) "
                "(or any SparseEncoder)."
            )
    else:
        raise ConfigError(
            f"sparse={shown(sparse)} must be 'bm25' (server-side BM25), 'none' or a SparseEncoder "
            "(e.g. BM25Encoder().fit(corpus))."
        )
    if wanted is False and mode is not SparseMode.NONE:
        raise ConfigError(
            f"{wanted_by or 'no sparse field'} contradicts sparse={shown(sparse)}; "
            "drop one of the two."
        )
    return mode, encoder


def check_ranker(ranker: Any, legs: Sequence[str] = ("dense", "sparse")) -> Ranker | None:
    """Accept ``None``, :class:`RRF` or a :class:`Weighted` with one weight per leg.

    Args:
        ranker: the value given.
        legs: the names of the hybrid search's legs, in order (default: dense, sparse;
            a store with named dense fields has one leg per field, then sparse).

    Raises:
        ConfigError: another value, or a ``Weighted`` without one weight per leg.
    """
    if ranker is None:
        return None
    if not isinstance(ranker, (RRF, Weighted)):
        raise ConfigError(f"ranker={shown(ranker)} must be RRF(k) or Weighted(dense, sparse).")
    if isinstance(ranker, Weighted) and len(ranker.weights) != len(legs):
        raise ConfigError(
            f"ranker={shown(ranker)} has {len(ranker.weights)} weights, but hybrid search "
            f"fuses {len(legs)} legs here; give one weight per leg ({', '.join(legs)})."
        )
    return ranker


def hybrid_legs(spec: CollectionSpec) -> tuple[str, ...]:
    """The legs of the adapters' hybrid search on ``spec``: each dense field, then sparse."""
    legs = [f.name for f in spec.dense_fields]
    if len(legs) == 1:
        legs = ["dense"]
    return (*legs, "sparse") if spec.has_sparse else tuple(legs)


def require_fields_for(
    kind: SearchKind, spec: CollectionSpec, *, setting: str, sparse_fix: str, dense_fix: str
) -> None:
    """Refuse a search kind the collection's fields cannot serve (before any I/O).

    Sparse search needs a sparse field; dense and MMR search a dense field; hybrid
    search two legs: a dense and a sparse field, or several dense fields.

    Raises:
        ConfigError: naming the setting, what is missing and the fix.
    """
    if kind in (SearchKind.DENSE, SearchKind.HYBRID, SearchKind.MMR) and not spec.dense:
        raise ConfigError(
            f"{setting} needs a dense embedding, but collection {shown(spec.name)} is "
            f"sparse-only (dense=False); {dense_fix}."
        )
    if kind is SearchKind.HYBRID and len(spec.dense_fields) >= 2:
        return
    require_sparse_for(kind, spec.has_sparse, collection=spec.name, setting=setting, fix=sparse_fix)


def require_sparse_for(
    kind: SearchKind, has_sparse: bool, *, collection: str, setting: str, fix: str
) -> None:
    """Refuse a sparse or hybrid search on a collection without a sparse field.

    Args:
        kind: the search kind.
        has_sparse: whether the collection has a sparse field.
        collection: the collection's name.
        setting: how the caller asked for it (``"retrieval_mode='hybrid'"``).
        fix: how to get a sparse field, in the caller's terms.

    Raises:
        ConfigError: ``kind`` needs a sparse field the collection lacks.
    """
    if kind in (SearchKind.SPARSE, SearchKind.HYBRID) and not has_sparse:
        raise ConfigError(
            f"{setting} needs keyword (sparse) search, but collection {shown(collection)} has no "
            f"sparse field; {fix}."
        )


def need_search_inputs(
    kind: SearchKind,
    vector: Sequence[float] | None,
    text: str | None,
    *,
    setting: str,
    vector_name: str = "a query vector",
    text_name: str = "a non-empty query text",
) -> None:
    """Refuse a search without the inputs its kind needs (checked before embedding).

    Raises:
        InvalidInputError: a vector for dense, hybrid and MMR, or a non-blank text for
            sparse and hybrid, is missing.
    """
    if kind is not SearchKind.SPARSE and vector is None:
        raise InvalidInputError(f"{setting} needs {vector_name}.")
    if kind in (SearchKind.SPARSE, SearchKind.HYBRID) and not (text or "").strip():
        raise InvalidInputError(f"{setting} needs {text_name}.")


def order_by_ids(records: Sequence[Record], ids: Sequence[str] | None) -> list[Record]:
    """Records in the order of ``ids`` (first occurrence; missing skipped); all if ``None``."""
    if ids is None:
        return list(records)
    by_id = {r.id: r for r in records}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


class StorePair:
    """A core store and its async twin (created on first use; one client per event loop).

    Args:
        store: the sync store.
    """

    def __init__(self, store: MilvusStore) -> None:
        self.store = store
        self._async: AsyncMilvusStore | None = None

    @property
    def astore(self) -> AsyncMilvusStore:
        """The async store (created on first access, no I/O)."""
        if self._async is None:
            self._async = AsyncMilvusStore(self.store)
        return self._async

    def close(self) -> None:
        """Close the sync client; drop the async clients of event loops that have ended.

        On Milvus Lite the last store of a database to close stops its server.
        """
        if self._async is not None:
            self._async.release_ended_loops()
        self.store.close()

    async def aclose(self) -> None:
        """Close the async clients and the sync one."""
        try:
            if self._async is not None:
                await self._async.close()
        finally:
            self.store.close()


@checked_methods_of("MilvusVectorStore")
class StoreLifetime:
    """``close``/``aclose`` and both context-manager protocols, for an adapter's store pair.

    An adapter mixes this in and implements :meth:`_store_pair`.
    """

    def _store_pair(self) -> StorePair:
        raise NotImplementedError

    def close(self) -> None:
        """Close the connections (the store reconnects if used again).

        Closes the sync client and drops the async clients of event loops that have
        ended; on Milvus Lite the last store of a database to close stops its server.
        """
        self._store_pair().close()

    async def aclose(self) -> None:
        """Close the connections: the async clients and the sync one."""
        await self._store_pair().aclose()

    def __enter__(self) -> Self:
        """Return the store; leaving the block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    async def __aenter__(self) -> Self:
        """Return the store; leaving the block closes it."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the store."""
        await self.aclose()
