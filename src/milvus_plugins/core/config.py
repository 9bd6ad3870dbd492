"""Frozen, keyword-only configuration objects, validated before any I/O.

* :class:`ConnectionConfig`: where Milvus is (a Milvus Lite file, a server, a cluster or
  Zilliz Cloud are all just a ``uri``), the token, database and timeout.
* :class:`FieldNames`: the names of the canonical fields.
* :class:`MetadataField`: a declared, typed metadata field stored as a real column.
* :class:`TextAnalyzer`: how the BM25 function splits text into terms.
* :class:`DenseField`: a named dense vector field (its own dimension, metric and index).
* :class:`CollectionSpec`: the one collection layout both adapters share.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from milvus_plugins.core.errors import ConfigError, shown
from milvus_plugins.core.indexes import IndexConfig, SparseInvertedIndex, index_from_dict
from milvus_plugins.core.names import check_name
from milvus_plugins.core.properties import CollectionProperties, coerce_properties
from milvus_plugins.core.types import ConsistencyLevel, MetricType, ScalarType, SparseMode

if TYPE_CHECKING:
    from milvus_plugins.core.layouts import FieldMapping

__all__ = [
    "DEFAULT_URI",
    "ENGLISH_STOP_WORDS",
    "CollectionSpec",
    "ConnectionConfig",
    "DenseField",
    "FieldNames",
    "MetadataField",
    "TextAnalyzer",
    "analyzer_params",
    "strip_userinfo",
]

DEFAULT_URI = "./milvus.db"
MAX_NUM_PARTITIONS = 4096  # Milvus' limit on partitions (and partition-key partitions)


def strip_userinfo(uri: str) -> str:
    """Return ``uri`` without the ``user:password@`` part of its authority, if any."""
    if "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # not a parsable URL: show nothing after the scheme
        return uri.split("://", 1)[0] + "://***"
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


@dataclass(frozen=True, kw_only=True)
class ConnectionConfig:
    """How to reach Milvus.

    Attributes:
        uri: a path ending in ``.db`` (embedded Milvus Lite, the default ``./milvus.db``),
            ``http://host:19530`` for a server or cluster, or a Zilliz Cloud endpoint. A
            relative Lite path is made absolute here, against the working directory at
            construction (a later ``os.chdir`` does not move the database).
        token: ``"user:password"`` or an API key; never shown in a repr or message.
        db_name: the Milvus database (``""`` is the server's default); a Milvus name.
        timeout: seconds for each call (and for connecting).
    """

    uri: str = DEFAULT_URI
    token: str = field(default="", repr=False)
    db_name: str = ""
    timeout: float | None = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise ConfigError("uri must be a non-empty string such as './milvus.db'.")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout={shown(self.timeout)} must be positive seconds or None.")
        if self.db_name != "":
            check_name("db_name", self.db_name)
        if self.is_lite:
            # Resolve now: pymilvus would resolve it at the first connection, after any
            # chdir in between, and open (or create) a database somewhere else.
            object.__setattr__(self, "uri", os.path.abspath(self.uri))

    @classmethod
    def from_env(
        cls, *, uri: str | None = None, token: str | None = None, **kwargs: Any
    ) -> ConnectionConfig:
        """Build a config, filling ``uri``/``token`` from ``MILVUS_URI``/``MILVUS_TOKEN``.

        Explicit arguments win over the environment, which wins over the defaults.
        """
        env_uri = os.environ.get("MILVUS_URI") or DEFAULT_URI
        env_token = os.environ.get("MILVUS_TOKEN", "")
        return cls(
            uri=uri if uri is not None else env_uri,
            token=token if token is not None else env_token,
            **kwargs,
        )

    @property
    def is_lite(self) -> bool:
        """Whether the uri names an embedded Milvus Lite database file."""
        return self.uri.endswith(".db") and "://" not in self.uri

    @property
    def safe_uri(self) -> str:
        """The uri without credentials (``http://user:pass@host`` -> ``http://host``).

        This is what reprs, serialisations and messages show.
        """
        return strip_userinfo(self.uri)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the token, its password part and uri credentials.

        Error translation masks these in the messages of this connection's errors
        (:func:`~milvus_plugins.core.errors.redact`); nothing is kept globally.
        """
        found = [self.token]
        if ":" in self.token:
            found.append(self.token.split(":", 1)[1])
        if "://" in self.uri:
            with contextlib.suppress(ValueError):
                parts = urlsplit(self.uri)
                userinfo = parts.netloc.rpartition("@")[0]
                if userinfo:
                    found.append(userinfo)
                    found.append(unquote(userinfo))
                if parts.password:
                    found.append(parts.password)
                    found.append(unquote(parts.password))
        return tuple(dict.fromkeys(s for s in found if s))

    def __repr__(self) -> str:
        token = "'***'" if self.token else "''"
        return (
            f"ConnectionConfig(uri={self.safe_uri!r}, token={token}, db_name={self.db_name!r}, "
            f"timeout={self.timeout!r})"
        )


@dataclass(frozen=True, kw_only=True)
class FieldNames:
    """Names of the canonical fields (change them to fit an existing naming scheme)."""

    id: str = "id"
    text: str = "text"
    vector: str = "vector"
    sparse: str = "sparse"
    metadata: str = "metadata"
    doc_id: str = "doc_id"
    extra: str = "extra"

    def __post_init__(self) -> None:
        values = [getattr(self, f.name) for f in fields(self)]
        for f in fields(self):
            check_name(f"field_names.{f.name}", getattr(self, f.name))
        if len(set(values)) != len(values):
            raise ConfigError(f"field names must be distinct; got {values}.")

    def all(self) -> tuple[str, ...]:
        """Every canonical field name."""
        return tuple(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True, kw_only=True)
class MetadataField:
    """A declared metadata key stored as a typed column (fast filters, scalar index).

    Attributes:
        name: the metadata key, which is also the column name.
        type: INT64, DOUBLE, BOOL, VARCHAR or ARRAY.
        element_type: for ARRAY, the element type (INT64, DOUBLE, BOOL or VARCHAR).
        max_length: for VARCHAR (and VARCHAR arrays), the maximum length in bytes.
        max_capacity: for ARRAY, the maximum number of elements.
        index: build a scalar index on the column where the server supports it.
    """

    name: str
    type: ScalarType | str
    element_type: ScalarType | str | None = None
    max_length: int = 1024
    max_capacity: int = 64
    index: bool = True

    def __post_init__(self) -> None:
        check_name("metadata_fields.name", self.name)
        kind = ScalarType.parse(self.type, field=f"metadata_fields[{shown(self.name)}].type")
        object.__setattr__(self, "type", kind)
        if kind is ScalarType.ARRAY:
            if self.element_type is None:
                raise ConfigError(
                    f"metadata field {shown(self.name)} is an ARRAY; give element_type "
                    "(INT64, DOUBLE, BOOL or VARCHAR)."
                )
            element = ScalarType.parse(
                self.element_type, field=f"metadata_fields[{shown(self.name)}].element_type"
            )
            if element is ScalarType.ARRAY:
                raise ConfigError(
                    f"metadata field {shown(self.name)}: arrays of arrays are not allowed."
                )
            object.__setattr__(self, "element_type", element)
        elif self.element_type is not None:
            raise ConfigError(
                f"element_type is only for ARRAY fields ({shown(self.name)} is {kind})."
            )
        if not 1 <= self.max_length <= 65535:
            raise ConfigError(f"max_length={self.max_length} must be in [1, 65535].")
        if not 1 <= self.max_capacity <= 4096:
            raise ConfigError(f"max_capacity={self.max_capacity} must be in [1, 4096].")

    @property
    def scalar_type(self) -> ScalarType:
        """The column type as an enum member."""
        return ScalarType.parse(self.type, field="type")

    @property
    def element_scalar_type(self) -> ScalarType | None:
        """The ARRAY element type as an enum member, or ``None``."""
        if self.element_type is None:
            return None
        return ScalarType.parse(self.element_type, field="element_type")


def _coerce_metadata_fields(
    value: Sequence[MetadataField] | Mapping[str, Any] | None,
) -> tuple[MetadataField, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        out = []
        for name, spec in value.items():
            if isinstance(spec, MetadataField):
                out.append(spec)
            elif isinstance(spec, Mapping):
                out.append(MetadataField(name=name, **spec))
            else:
                out.append(MetadataField(name=name, type=spec))
        return tuple(out)
    return tuple(value)


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


@dataclass(frozen=True, kw_only=True)
class DenseField:
    """A named dense vector field: one embedding model's vectors.

    A collection's dense fields are its canonical ``vector`` field (``CollectionSpec.dim``,
    ``metric``, ``index``) plus the named fields of ``CollectionSpec.vector_fields``,
    e.g. a ``title`` embedding beside the body's, or a second model's vectors. Each is
    written from ``Record.vectors[name]``, searched by name, and fused with the others
    in an N-leg hybrid search.

    Attributes:
        name: the field name (a Milvus name, distinct from the canonical fields).
        dim: the dimension, or ``None`` until the first write gives it.
        metric: COSINE (default), IP or L2; taken from ``index`` when one is given.
        index: the index config (``None``: FLAT on Milvus Lite, AUTOINDEX on servers).

    Raises:
        ConfigError: a bad name, dimension, metric or index.
    """

    name: str
    dim: int | None = None
    metric: MetricType | str = MetricType.COSINE
    index: IndexConfig | Mapping[str, Any] | str | None = None

    def __post_init__(self) -> None:
        check_name("vector_fields.name", self.name)
        where = f"vector_fields[{shown(self.name)}]"
        if self.dim is not None and (
            isinstance(self.dim, bool)
            or not isinstance(self.dim, int)
            or not 1 <= self.dim <= 32768
        ):
            raise ConfigError(f"{where}.dim={shown(self.dim)} must be an integer in [1, 32768].")
        index = self.index
        if isinstance(index, (str, Mapping)):
            index = index_from_dict(index)
            object.__setattr__(self, "index", index)
        elif index is not None and not isinstance(index, IndexConfig):
            raise ConfigError(
                f"{where}.index={shown(index)} must be an IndexConfig, a dict or a type name."
            )
        metric = MetricType.parse(self.metric, field=f"{where}.metric")
        if index is not None:
            metric = index.metric_type
        if metric is MetricType.BM25:
            raise ConfigError(
                f"{where}: metric 'BM25' is for the sparse field; use COSINE, IP or L2."
            )
        object.__setattr__(self, "metric", metric)
        if index is not None and self.dim is not None:
            index.validate_for(self.dim)

    @property
    def metric_type(self) -> MetricType:
        """The field's metric."""
        return MetricType.parse(self.metric, field="metric")

    @property
    def index_config(self) -> IndexConfig | None:
        """The field's index config, if one was given."""
        return self.index if isinstance(self.index, IndexConfig) else None


def _coerce_vector_fields(value: Any) -> tuple[DenseField, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        out = []
        for name, item in value.items():
            if isinstance(item, DenseField):
                out.append(item if item.name == name else replace(item, name=name))
            elif isinstance(item, Mapping):
                out.append(DenseField(name=name, **item))
            elif item is None or isinstance(item, int):
                out.append(DenseField(name=name, dim=item))
            else:
                raise ConfigError(
                    f"vector_fields[{shown(name)}]={shown(item)} must be a DenseField, a dict "
                    "of its settings, or a dimension."
                )
        return tuple(out)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(
            f"vector_fields={shown(value)} must be a list of DenseField or a mapping "
            "name -> DenseField / dict / dimension."
        )
    for item in value:
        if not isinstance(item, DenseField):
            raise ConfigError(f"vector_fields item {shown(item)} must be a DenseField.")
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class CollectionSpec:
    """The canonical collection layout shared by every adapter.

    Fields: ``id`` VARCHAR primary key, ``text`` VARCHAR (with an analyzer when the
    server-side BM25 function is used), ``vector`` FLOAT_VECTOR(dim), optional
    ``sparse`` SPARSE_FLOAT_VECTOR, ``metadata`` JSON, ``doc_id`` VARCHAR (the source
    document of a chunk), ``extra`` JSON (framework-private data, e.g. LlamaIndex node
    relationships), plus the declared typed metadata fields.

    Attributes:
        name: collection name.
        dim: dense vector dimension, or ``None`` until the first write infers it.
        index: dense index config (``None``: FLAT on Milvus Lite, AUTOINDEX on servers).
        metric: dense metric, used when ``index`` is ``None``.
        sparse: ``"none"``, ``"bm25"`` (server function) or ``"client"`` (encoder).
        sparse_index: the sparse index config.
        metadata_fields: declared typed metadata fields (a sequence of
            :class:`MetadataField` or a mapping ``name -> type``).
        partition_key: a declared field used as Milvus partition key, or ``None``.
        num_partitions: with a partition key, how many partitions Milvus hashes its
            values into (Milvus' default: 16 on 2.3, 64 later; at most 4096). Fixed at
            creation; an existing collection with another number is a schema mismatch.
            Milvus Lite 3.2.2 always makes 16 (``UnsupportedByServerError`` there).
        fields: canonical field names.
        text_max_length: maximum text length in bytes (the VARCHAR limit).
        id_max_length: maximum id length in bytes.
        analyzer: how the BM25 function tokenises ``text`` (``sparse="bm25"`` only): a
            :class:`TextAnalyzer` or Milvus analyzer params (default
            ``{"type": "standard"}``; see :func:`analyzer_params`). An existing
            collection with a different analyzer is a schema mismatch.
        consistency_level: read consistency (``Strong`` gives read-after-write).
        description: collection description.
        infer_metadata_fields: when a write creates the collection, also give each
            scalar metadata key of that write whose values share one kind a nullable
            typed *accelerator* column, so filters on it run at typed-column speed (see
            :mod:`milvus_plugins.core.inference`). The metadata JSON stays the source of
            truth: no value is ever refused or dropped, and a key that later holds a
            value of another kind is filtered through the JSON again. ``None`` (the
            default) and ``True``: on engines with nullable fields (Milvus Lite 3,
            servers >= 2.5), none elsewhere; ``False``: never.
        accelerated_fields: the accelerator columns of the collection: filled when the
            collection is created or opened (read from its properties), not set by hand.
        overflowed_keys: accelerated keys known to hold values their column cannot:
            filled from the collection's properties, not set by hand.
        dense: ``False`` makes a sparse-only collection: no ``vector`` field, records
            carry no dense vector, and only keyword (sparse) search and filter-only
            retrieval work (``sparse`` must then be ``"bm25"`` or ``"client"``).
        vector_fields: named dense fields besides ``vector`` (:class:`DenseField`, or
            a mapping ``name -> DenseField / dict / dim``); needs Milvus >= 2.4
            (multiple vector fields). See :attr:`dense_fields`.
        text_match: analyse the text field with ``analyzer`` and index its terms for
            the ``text_match`` / ``phrase_match`` filters (Milvus ``enable_match``;
            Milvus >= 2.5 or Milvus Lite 3). Fixed at creation: an existing collection
            without it is a schema mismatch; one with it is adopted as such.
        properties: TTL, mmap, shards and replicas set at creation (a
            :class:`~milvus_plugins.core.CollectionProperties` or a dict of its fields);
            those set are checked when an existing collection is opened. See
            :mod:`milvus_plugins.core.properties` for what each engine does with them.
        layout: read an existing collection of another layout through this
            :class:`~milvus_plugins.core.layouts.FieldMapping` (``None``: this package's
            layout, or a langchain-milvus / llama-index layout detected on opening).
            Such a collection is read-only for new rows (see :mod:`..layouts`).
    """

    name: str
    dim: int | None = None
    index: IndexConfig | Mapping[str, Any] | str | None = None
    metric: MetricType | str = MetricType.COSINE
    sparse: SparseMode | str = SparseMode.NONE
    sparse_index: SparseInvertedIndex | None = None
    metadata_fields: Sequence[MetadataField] | Mapping[str, Any] = ()
    partition_key: str | None = None
    num_partitions: int | None = None
    fields: FieldNames = field(default_factory=FieldNames)
    text_max_length: int = 65535
    id_max_length: int = 512
    analyzer: TextAnalyzer | Mapping[str, Any] | None = None
    consistency_level: ConsistencyLevel | str = ConsistencyLevel.STRONG
    description: str = ""
    infer_metadata_fields: bool | None = None
    dense: bool = True
    vector_fields: Sequence[DenseField] | Mapping[str, Any] = ()
    text_match: bool = False
    properties: CollectionProperties | Mapping[str, Any] | None = None
    layout: FieldMapping | None = None
    accelerated_fields: Sequence[MetadataField] = ()
    overflowed_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_name("collection_name", self.name)
        self._check_vector_fields()
        if self.layout is not None:
            from milvus_plugins.core.layouts import FieldMapping

            if not isinstance(self.layout, FieldMapping):
                raise ConfigError(f"layout={shown(self.layout)} must be a FieldMapping (or None).")
        if self.dim is not None and (
            isinstance(self.dim, bool)
            or not isinstance(self.dim, int)
            or not 1 <= self.dim <= 32768
        ):
            raise ConfigError(f"dim={shown(self.dim)} must be an integer in [1, 32768].")
        index = self.index
        if isinstance(index, (str, Mapping)):
            index = index_from_dict(index)
            object.__setattr__(self, "index", index)
        elif index is not None and not isinstance(index, IndexConfig):
            raise ConfigError(
                f"index={shown(index)} must be an IndexConfig, a dict or a type name."
            )
        metric = MetricType.parse(self.metric, field="metric")
        if index is not None:
            metric = index.metric_type
        if metric is MetricType.BM25:
            raise ConfigError("metric='BM25' is for the sparse field; use COSINE, IP or L2.")
        object.__setattr__(self, "metric", metric)
        if index is not None and self.dim is not None:
            index.validate_for(self.dim)
        sparse = SparseMode.parse(self.sparse, field="sparse")
        object.__setattr__(self, "sparse", sparse)
        if self.sparse_index is None and sparse is not SparseMode.NONE:
            sparse_metric = MetricType.BM25 if sparse is SparseMode.BM25 else MetricType.IP
            object.__setattr__(self, "sparse_index", SparseInvertedIndex(metric=sparse_metric))
        bm25_index = self.sparse_index if sparse is SparseMode.BM25 else None
        if bm25_index is not None and bm25_index.metric_type is not MetricType.BM25:
            raise ConfigError("sparse='bm25' needs a sparse index with metric BM25.")
        declared = _coerce_metadata_fields(self.metadata_fields)
        object.__setattr__(self, "metadata_fields", declared)
        names = [f.name for f in declared]
        vector_clash = sorted(set(names) & {f.name for f in self.extra_vector_fields})
        if vector_clash:
            raise ConfigError(
                f"metadata_fields {vector_clash} clash with vector_fields of the same name; "
                "rename one of them."
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"metadata_fields has duplicate names: {names}.")
        clash = sorted(set(names) & set(self.fields.all()))
        if clash:
            raise ConfigError(
                f"metadata_fields {clash} clash with reserved field names {self.fields.all()}; "
                "rename the metadata key or change FieldNames."
            )
        accelerated = tuple(self.accelerated_fields)
        object.__setattr__(self, "accelerated_fields", accelerated)
        object.__setattr__(self, "overflowed_keys", frozenset(self.overflowed_keys))
        both = sorted({f.name for f in accelerated} & (set(names) | set(self.fields.all())))
        if both:
            raise ConfigError(
                f"accelerated_fields {both} are declared or canonical fields already; "
                "accelerator columns are inferred for undeclared keys only."
            )
        if self.partition_key is not None and self.partition_key not in names:
            raise ConfigError(
                f"partition_key={shown(self.partition_key)} must be one of metadata_fields {names}."
            )
        pk_field = self.declared(self.partition_key) if self.partition_key else None
        if pk_field is not None and pk_field.scalar_type not in (
            ScalarType.INT64,
            ScalarType.VARCHAR,
        ):
            raise ConfigError("partition_key must be an INT64 or VARCHAR metadata field.")
        if self.num_partitions is not None:
            if (
                isinstance(self.num_partitions, bool)
                or not isinstance(self.num_partitions, int)
                or not 1 <= self.num_partitions <= MAX_NUM_PARTITIONS
            ):
                raise ConfigError(
                    f"num_partitions={shown(self.num_partitions)} must be an integer in "
                    f"[1, {MAX_NUM_PARTITIONS}]."
                )
            if self.partition_key is None:
                raise ConfigError(
                    f"num_partitions={self.num_partitions} applies to a partition key: name one "
                    "with partition_key= (a declared INT64 or VARCHAR field)."
                )
        if not 1 <= self.text_max_length <= 65535:
            raise ConfigError(f"text_max_length={self.text_max_length} must be in [1, 65535].")
        if not 1 <= self.id_max_length <= 65535:
            raise ConfigError(f"id_max_length={self.id_max_length} must be in [1, 65535].")
        if not isinstance(self.text_match, bool):
            raise ConfigError(f"text_match={shown(self.text_match)} must be True or False.")
        if self.analyzer is not None:
            if sparse is not SparseMode.BM25 and not self.text_match:
                raise ConfigError(
                    "an analyzer applies to the BM25 function and to text match: use it "
                    f"with sparse='bm25' or text_match=True (this spec has "
                    f"sparse={sparse.value!r}, text_match=False)."
                )
            object.__setattr__(self, "analyzer", analyzer_params(self.analyzer))
        object.__setattr__(
            self,
            "consistency_level",
            ConsistencyLevel.parse(self.consistency_level, field="consistency_level"),
        )
        object.__setattr__(self, "properties", coerce_properties(self.properties))

    def _check_vector_fields(self) -> None:
        if not isinstance(self.dense, bool):
            raise ConfigError(f"dense={shown(self.dense)} must be True or False.")
        extra = _coerce_vector_fields(self.vector_fields)
        object.__setattr__(self, "vector_fields", extra)
        if not self.dense:
            if SparseMode.parse(self.sparse, field="sparse") is SparseMode.NONE:
                raise ConfigError(
                    "dense=False (a sparse-only collection) needs a sparse field: pass "
                    "sparse='bm25' (server-side BM25) or a SparseEncoder (sparse='client')."
                )
            if self.dim is not None or self.index is not None or extra:
                raise ConfigError(
                    "dense=False (a sparse-only collection) stores no dense vectors: drop "
                    "dim=, index= and vector_fields=, or keep dense=True."
                )
        names = [f.name for f in extra]
        reserved = set(self.fields.all())
        if len(set(names)) != len(names):
            raise ConfigError(f"vector_fields has duplicate names: {names}.")
        clash = sorted(set(names) & reserved)
        if clash:
            raise ConfigError(
                f"vector_fields {clash} clash with reserved field names {self.fields.all()}; "
                "rename the vector field or change FieldNames."
            )

    # -- typed accessors (mypy sees the declared unions above) ---------------------------

    @property
    def extra_vector_fields(self) -> tuple[DenseField, ...]:
        """The named dense fields besides the canonical ``vector`` field."""
        return _coerce_vector_fields(self.vector_fields)

    @property
    def dense_fields(self) -> tuple[DenseField, ...]:
        """Every dense field, the canonical ``vector`` first (none when ``dense=False``)."""
        if not self.dense:
            return ()
        main = DenseField(
            name=self.fields.vector, dim=self.dim, metric=self.metric, index=self.index
        )
        return (main, *self.extra_vector_fields)

    def dense_field(self, name: str | None = None) -> DenseField:
        """The dense field called ``name`` (``None``: the canonical ``vector`` field).

        Raises:
            ConfigError: a sparse-only collection, or no dense field of that name.
        """
        if not self.dense:
            raise ConfigError(
                f"collection {shown(self.name)} is sparse-only (dense=False): it has no dense "
                "vector field; use keyword (sparse) search, or create a collection with a "
                "dense embedding."
            )
        fields = self.dense_fields
        if name is None:
            return fields[0]
        for f in fields:
            if f.name == name:
                return f
        raise ConfigError(
            f"vector_field={shown(name)} is not a dense field of collection {shown(self.name)}; "
            f"its dense fields are {[f.name for f in fields]}."
        )

    @property
    def metric_type(self) -> MetricType:
        """The dense metric."""
        return MetricType.parse(self.metric, field="metric")

    @property
    def sparse_mode(self) -> SparseMode:
        """The sparse mode."""
        return SparseMode.parse(self.sparse, field="sparse")

    @property
    def declared_fields(self) -> tuple[MetadataField, ...]:
        """The declared typed metadata fields."""
        return tuple(_coerce_metadata_fields(self.metadata_fields))

    @property
    def index_config(self) -> IndexConfig | None:
        """The dense index config, if one was given."""
        return self.index if isinstance(self.index, IndexConfig) else None

    @property
    def consistency(self) -> ConsistencyLevel:
        """The read consistency level."""
        return ConsistencyLevel.parse(self.consistency_level, field="consistency_level")

    @property
    def has_sparse(self) -> bool:
        """Whether the collection has a sparse vector field."""
        return self.sparse_mode is not SparseMode.NONE

    @property
    def analyzer_params(self) -> dict[str, Any]:
        """Analyzer params for the text field (BM25 and text match)."""
        return analyzer_params(self.analyzer)

    @property
    def collection_properties(self) -> CollectionProperties:
        """The creation properties (TTL, mmap, shards, replicas)."""
        return coerce_properties(self.properties)

    @property
    def analyzes_text(self) -> bool:
        """Whether the text field has an analyzer (BM25 or text match)."""
        return self.sparse_mode is SparseMode.BM25 or self.text_match

    @property
    def stop_words(self) -> tuple[str, ...]:
        """The stop words the BM25 analyzer drops (counted out of a query's terms)."""
        return stop_words_of(self.analyzer_params) if self.sparse_mode is SparseMode.BM25 else ()

    def declared(self, name: str) -> MetadataField | None:
        """Return the declared field called ``name``, or ``None``."""
        for f in self.declared_fields:
            if f.name == name:
                return f
        return None

    def accelerated(self, name: str) -> MetadataField | None:
        """The accelerator column of key ``name`` if filters may use it, else ``None``.

        ``None`` also for an accelerated key that has overflowed (filters take the JSON).
        """
        if name in self.overflowed_keys:
            return None
        for f in self.accelerated_fields:
            if f.name == name:
                return f
        return None

    def with_dim(self, dim: int) -> CollectionSpec:
        """Return a copy with ``dim`` set (validated)."""
        return replace(self, dim=dim)

    def with_vector_dims(self, dims: Mapping[str, int]) -> CollectionSpec:
        """Return a copy with the named dense fields' unknown dimensions set from ``dims``."""
        extra = tuple(
            replace(f, dim=dims[f.name]) if f.dim is None and f.name in dims else f
            for f in self.extra_vector_fields
        )
        return replace(self, vector_fields=extra)

    def with_index(self, index: IndexConfig) -> CollectionSpec:
        """Return a copy with ``index`` set (validated)."""
        return replace(self, index=index)
