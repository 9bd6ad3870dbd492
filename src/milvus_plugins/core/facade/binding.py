"""Make one operation builder a method of the sync store and of the async store.

``search = sync_method(StoreOperations.search)`` in the sync store and
``search = async_method(StoreOperations.search)`` in the async one: both keep the
builder's signature (for type checkers, :func:`inspect.signature` and the argument
checks of :func:`~milvus_plugins.core.arguments.checked_arguments`) and its docstring;
the sync method runs the operation, the async method awaits it. A store provides
``ops`` (its :class:`~milvus_plugins.core.facade.StoreOperations`) and ``_run``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from milvus_plugins.core.facade.data import StoreOperations
from milvus_plugins.core.ops.calls import Op

__all__ = ["async_method", "sync_method"]

P = ParamSpec("P")
T = TypeVar("T")
Builder = Callable[Concatenate[StoreOperations, P], Op[T]]


def _signature(build: Callable[..., Any]) -> inspect.Signature:
    """The builder's signature, returning what its operation returns (``Op[X]`` -> ``X``)."""
    signature = inspect.signature(build)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Op[") and returns.endswith("]"):
        signature = signature.replace(return_annotation=returns[3:-1])
    return signature


def sync_method(build: Builder[P, T]) -> Callable[Concatenate[Any, P], T]:
    """A sync store method that builds the operation with ``build`` and runs it."""

    @functools.wraps(build)
    def method(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        result: T = self._run(build(self.ops, *args, **kwargs))
        return result

    method.__signature__ = _signature(build)  # type: ignore[attr-defined]
    return method


def async_method(build: Builder[P, T]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    """An async store method that builds the operation with ``build`` and awaits it."""

    @functools.wraps(build)
    async def method(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        result: T = await self._run(build(self.ops, *args, **kwargs))
        return result

    method.__signature__ = _signature(build)  # type: ignore[attr-defined]
    return method
