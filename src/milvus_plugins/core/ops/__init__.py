"""Sans-I/O operations: every store operation, defined once as pure code.

An operation is a generator that yields the steps it needs (:mod:`.calls`: a client
call, a guarded sub-operation, a capability probe, a paged read), receives each step's
answer (or has the translated error thrown into it), and returns the operation's result.
The sync and async runners (:mod:`milvus_plugins.core.runners`) only execute the steps.

Modules: :mod:`.calls` (the step types), :mod:`.context` (what an operation reads),
:mod:`.lifecycle` (capabilities, open/create, exists, drop), :mod:`.admin` (flush,
compaction, loading, partitions, stats), :mod:`.writes` (upsert, delete, clear),
:mod:`.reads` (get, query, count), :mod:`.search` (one entry for every search:
:mod:`.search_request` the typed requests and retrieval plans, :mod:`.vector_search`
dense, sparse, hybrid, MMR and filter-only, :mod:`.refined_search` decayed, grouped and
range searches) and :mod:`.fusion` (hybrid options, server or client fusion).
"""
