"""Argument checks for the public API: pure, no I/O.

Two layers:

* :func:`checked_arguments`, a class decorator: every public method (and the
  constructor) of the decorated class checks each argument it is given against the
  parameter's annotation before its body runs, so a ``bool`` flag given ``"yes"``, a
  ``Mapping`` given a list or an ``int`` given ``"5"`` raises a typed error naming the
  parameter, before any I/O or embedding, and never a stray ``AttributeError`` from
  deep inside. Only the outer type is judged (``Sequence[str]`` takes any sized,
  iterable non-string; the elements of a sequence of objects, such as
  ``Sequence[Record]``, are checked with ``isinstance``); values and ranges stay with
  the method's own checks (``check_k`` ...).
* :func:`as_list` and :func:`id_list`: a ``str`` is itself a sequence of characters, so
  without a check ``delete(ids="123")`` deletes the ids ``"1"``, ``"2"`` and ``"3"``.
"""

from __future__ import annotations

import collections.abc
import difflib
import functools
import inspect
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from milvus_plugins.core.errors import (
    ConfigError,
    FilterError,
    InvalidInputError,
    MilvusPluginsError,
    UnexpectedArgumentError,
    shown,
)
from milvus_plugins.core.values import utf8_len

__all__ = [
    "ARGUMENT_HINTS",
    "as_list",
    "check_argument",
    "checked_arguments",
    "id_list",
    "unexpected_arguments",
]

ARGUMENT_HINTS = "argument_hints"
"""The class attribute (a mapping: keyword -> what to pass instead) that a class checked by
:func:`checked_arguments` may set for keywords its constructor and methods do not take:
another tool's names for the same settings, so that code copied from it is told the fix."""


_shown = shown  # the package's one way of echoing a value in a message


def as_list(value: Any, field: str, *, of: str = "items") -> list[Any]:
    """Return ``value`` as a list, refusing a single string, bytes or mapping.

    Args:
        value: the argument (any iterable but ``str``, ``bytes`` and mappings).
        field: the argument's name, for the message.
        of: what the list holds, for the message (``"ids"``, ``"texts"`` ...).

    Returns:
        The items, in order (an iterator is consumed once).

    Raises:
        InvalidInputError: ``value`` is a ``str``/``bytes`` (a single item, not a list),
            a mapping, or not iterable.
    """
    if isinstance(value, (str, bytes, bytearray)):
        raise InvalidInputError(
            f"{field}={_shown(value)} is a single {type(value).__name__}, not a list of {of} "
            f"(a string would be taken character by character); pass a list: "
            f"{field}=[{_shown(value)}]."
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{field} must be a list of {of}, got {type(value).__name__} {_shown(value)}."
        )
    return list(value)


def id_list(ids: Any, field: str = "ids") -> list[str]:
    """Return ``ids`` as a list of non-empty strings.

    Ids are strings everywhere in this package (a write refuses numeric ids too), so a
    number, ``None`` or ``""`` in a list of ids to read or delete is a mistake, not an
    id: ``""`` in particular is the "no source document" value of ``doc_id``.

    Raises:
        InvalidInputError: ``ids`` is not a list (see :func:`as_list`), or an element
            is not a non-empty string (named by its position).
    """
    items = as_list(ids, field, of="string ids")
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError(
                f"{field}[{position}]={shown(item)} is not an id: ids are non-empty strings; "
                "convert numeric ids with str() and leave out None."
            )
        if not item:
            raise InvalidInputError(
                f"{field}[{position}] is the empty string, which is not an id; leave it out."
            )
        utf8_len(item, f"{field}[{position}]", "the id")  # no stored id holds a surrogate
    return items


# -- annotation checks ------------------------------------------------------------------

C = TypeVar("C", bound=type)
Check = Callable[[Any], bool]


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_iterable(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


def _is_sequence(value: Any) -> bool:
    # A str/bytes is one value, a mapping is not a list, a generator has no length;
    # numpy arrays and tuples are sequences here.
    return _is_iterable(value) and hasattr(value, "__len__")


_SCALARS: dict[Any, Check] = {
    bool: lambda v: isinstance(v, bool),
    int: _is_int,
    float: _is_number,
    str: lambda v: isinstance(v, str),
    bytes: lambda v: isinstance(v, (bytes, bytearray)),
    type(None): lambda v: v is None,
}
_SEQUENCES = {
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Collection,
}
_ITERABLES = {collections.abc.Iterable, collections.abc.Iterator}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def _element_check(args: tuple[Any, ...]) -> Check | None:
    # Elements are judged only for sequences of objects (Record, Document, BaseNode):
    # one isinstance per element. Scalars inside lists (ids, floats) keep their own,
    # more specific checks (LangChain ids may hold None, vectors get a dimension check).
    if len(args) != 1 or not isinstance(args[0], type) or args[0] in _SCALARS:
        return None
    return _check_for(args[0])


def _check_for(annotation: Any) -> Check | None:
    """A predicate for ``annotation``, or ``None`` where anything goes (``Any`` ...)."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        branches = [_check_for(a) for a in args]
        if any(b is None for b in branches):
            return None
        checks = [b for b in branches if b is not None]
        return lambda v: any(c(v) for c in checks)
    if origin is typing.Literal:
        allowed = set(args)
        return lambda v: isinstance(v, (str, int, type(None))) and v in allowed
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        each = _element_check(args)
        if each is None:
            return _is_sequence
        return lambda v: _is_sequence(v) and all(each(x) for x in v)
    if origin in _ITERABLES or annotation in _ITERABLES:
        return _is_iterable
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return lambda v: isinstance(v, Mapping)
    if origin is collections.abc.Callable or annotation is collections.abc.Callable:
        return callable
    if isinstance(annotation, type) and annotation not in (object, Any):
        if getattr(annotation, "_is_protocol", False) and not getattr(
            annotation, "_is_runtime_protocol", False
        ):
            return None
        cls = annotation
        return lambda v: isinstance(v, cls)
    return None  # Any, TypeVars, strings we cannot resolve: not judged


_WORDS: dict[Any, str] = {
    bool: "True or False",
    int: "an int",
    float: "a number",
    str: "a string",
    bytes: "bytes",
    type(None): "None",
}


def _describe(annotation: Any) -> list[str]:
    """``annotation`` in words, one entry per alternative."""
    if annotation in _WORDS:
        return [_WORDS[annotation]]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return list(dict.fromkeys(w for a in args for w in _describe(a)))
    if origin is typing.Literal:
        return [repr(a) for a in args]
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        element = _element_type(annotation)
        return [f"a list of {element.__name__}" if element else "a list"]
    if origin in _ITERABLES or annotation in _ITERABLES:
        return ["a list (or another iterable)"]
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return ["a mapping (dict)"]
    if isinstance(annotation, type):
        return [_a(annotation.__name__)]
    return [str(annotation)]


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _element_type(annotation: Any) -> type | None:
    """The class a sequence arm of ``annotation`` holds, when its elements are judged."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [e for e in map(_element_type, args) if e is not None]
        return found[0] if found else None
    if origin in _SEQUENCES and _element_check(args) is not None:
        return args[0]  # type: ignore[no-any-return]
    return None


@dataclass(frozen=True)
class _Param:
    check: Check
    expected: str  # in words, or the annotation as written when that is shorter
    listish: bool  # a list is expected: a str would be read character by character
    element: type | None  # the class of the elements, when they are judged
    error: type[MilvusPluginsError]
    integral: bool = False  # an int is expected: another Integral (np.int64) becomes one

    @classmethod
    def of(
        cls, check: Check, annotation: Any, text: str, error: type[MilvusPluginsError]
    ) -> _Param:
        words = _describe(annotation)
        expected = " or ".join(words) if len(words) <= 4 else text
        listish = any(w.startswith("a list") for w in words)
        integral = _WORDS[int] in words
        return cls(check, expected, listish, _element_type(annotation), error, integral)

    def message(self, name: str, value: Any) -> str:
        shown = _shown(value)
        if isinstance(value, float) and math.isnan(value):
            return f"{name} must be {self.expected}, got NaN."
        if isinstance(value, (str, bytes, bytearray)) and self.listish:
            return (
                f"{name}={shown} is a single {type(value).__name__}, not a list (a string "
                f"would be taken character by character); pass a list: {name}=[{shown}]."
            )
        if self.element is not None and _is_sequence(value):
            for position, item in enumerate(value):
                if not isinstance(item, self.element):
                    return (
                        f"{name}[{position}] is {_a(type(item).__name__)}, not "
                        f"{_a(self.element.__name__)}: {_shown(item)}."
                    )
        return f"{name} must be {self.expected}, got {name}={shown} ({type(value).__name__})."


def _resolve(fn: Callable[..., Any], error: type[MilvusPluginsError]) -> dict[str, _Param]:
    """Each annotated parameter's check (unresolvable annotations: not judged)."""
    out: dict[str, _Param] = {}
    # A method bound from an operation builder (core.facade) is judged by the builder's
    # annotations, in the builder's module.
    namespace = getattr(inspect.unwrap(fn), "__globals__", {})
    for name, parameter in inspect.signature(fn).parameters.items():
        annotation = parameter.annotation
        if annotation is inspect.Parameter.empty or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        if isinstance(annotation, str):
            try:
                # The annotation text of our own module, evaluated in its namespace.
                annotation = eval(annotation, namespace)
            except Exception:  # a name imported only for type checking: not judged
                continue
        check = _check_for(annotation)
        if check is not None:
            # A filter of the wrong type is a FilterError, as the filter code raises.
            kind = FilterError if "Filter" in text and error is InvalidInputError else error
            out[name] = _Param.of(check, annotation, text, kind)
    return out


def check_argument(
    name: str, value: Any, annotation: Any, *, error: type[MilvusPluginsError] = InvalidInputError
) -> None:
    """Raise ``error`` unless ``value`` fits ``annotation`` (outer type; see the module).

    For the values a signature cannot type, such as LangChain's ``**kwargs``
    (``search_params``, ``fetch_k``, ``progress`` ...).
    """
    check = _check_for(annotation)
    if check is not None and not check(value):
        text = inspect.formatannotation(annotation)
        raise error(_Param.of(check, annotation, text, error).message(name, value))


def unexpected_arguments(
    where: str,
    unknown: Iterable[str],
    accepted: Iterable[str],
    hints: Mapping[str, str] | None = None,
    *,
    list_accepted: bool = True,
) -> UnexpectedArgumentError:
    """The error for keyword arguments ``where`` does not take.

    Each unknown name is followed by its hint (``hints``: another tool's name for one of
    ours, and what to pass here instead) or by the accepted name it most resembles (a
    typo). The accepted names are listed when ``list_accepted`` or when a name got
    neither.
    """
    names = sorted(accepted)
    unknown = list(unknown)
    notes = []
    for name in unknown:
        hint = (hints or {}).get(name)
        if hint is None:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]}=?" if close else None
        if hint is not None:
            notes.append(f"{name}: {hint}")
    text = f"{where}() got unexpected keyword argument(s) {unknown}"
    if notes:
        text += " (" + "; ".join(notes) + ")"
    if list_accepted or len(notes) < len(unknown):
        text += f"; accepted: {names or 'none'}"
    return UnexpectedArgumentError(text + ".")


def _checking(
    fn: Callable[..., Any], error: type[MilvusPluginsError], where: str
) -> Callable[..., Any]:
    signature = inspect.signature(fn)
    params: dict[str, _Param] | None = None
    names = signature.parameters
    bound = next(iter(names), None) in ("self", "cls")
    keywords = [
        name
        for name, p in list(names.items())[int(bound) :]
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in names.values())
    # The names positional arguments fill, in order, when the signature has no
    # positional-only or variadic ones (then they are matched without binding).
    positional: tuple[str, ...] = ()
    if bound and not any(
        p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)
        for p in names.values()
    ):
        positional = tuple(
            name
            for name, p in list(names.items())[1:]
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        )

    def check(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Check the arguments; answer them, with other integers (``np.int64``) given
        where an ``int`` is expected turned into ``int`` (pymilvus takes only ints)."""
        nonlocal params
        if params is None:  # resolved on first use: every module is imported by then
            params = _resolve(fn, error)
        binding = None
        filled = len(args) - 1  # positional arguments after self / cls
        given: Iterable[tuple[str, Any]]
        if (
            bound
            and filled <= len(positional)
            and kwargs.keys() <= names.keys()
            and kwargs.keys().isdisjoint(positional[:filled])
        ):
            # The hot paths (the adapters' keyword calls, ``store.search(vector, k=4)``):
            # each positional argument is the parameter of its place, no binding; what
            # Python itself would refuse (a missing argument) it still refuses when the
            # method is called.
            given = [*zip(positional, args[1:], strict=False), *kwargs.items()]
        else:
            unknown = [] if open_ended else [k for k in kwargs if k not in keywords]
            if unknown:  # Python's TypeError, typed, with the fix when the class knows it
                hints = getattr(args[0], ARGUMENT_HINTS, None) if bound and args else None
                raise unexpected_arguments(where, unknown, keywords, hints, list_accepted=False)
            binding = signature.bind(*args, **kwargs)
            given = binding.arguments.items()
        ints: dict[str, int] | None = None  # made only when one is needed (a hot path)
        for name, value in given:
            param = params.get(name)
            if param is None:
                continue
            if not param.check(value):
                raise param.error(f"{where}(): " + param.message(name, value))
            if param.integral and type(value) is not int and _is_int(value):
                ints = {**(ints or {}), name: int(value)}
        if ints is None:
            return args, kwargs
        if binding is None:
            if filled == 0:
                return args, {**kwargs, **ints}
            binding = signature.bind(*args, **kwargs)  # an int to replace by place: rare
        binding.arguments.update(ints)
        return binding.args, binding.kwargs

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = check(args, kwargs)
            return await fn(*args, **kwargs)

        acall.__qualname__ = where
        return acall

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = check(args, kwargs)
        return fn(*args, **kwargs)

    call.__qualname__ = where if fn.__name__ != "__init__" else f"{where}.__init__"
    return call


def checked_arguments(cls: C, host: str | None = None) -> C:
    """Make every public method of ``cls`` check its arguments' types first.

    Methods (sync and async, class methods included) raise :class:`InvalidInputError`,
    the constructor :class:`ConfigError`, naming the parameter and the annotation it
    does not fit, before their body runs: before any I/O or embedding. A keyword the
    signature does not take is an :class:`UnexpectedArgumentError` (a ``TypeError`` too)
    naming the class's :data:`ARGUMENT_HINTS` for it or the accepted name it resembles;
    other binding mistakes (too many positional arguments) stay Python's ``TypeError``.
    An integer of another type (``np.int64``) given where an ``int`` is expected is passed
    on as an ``int``. Properties and ``_private`` methods are left alone; the arguments'
    values are the methods' own business.

    Errors name the method as ``Class.method`` (``host.method`` for a mixin of the
    class named ``host``).
    """
    for name, attr in list(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        error: type[MilvusPluginsError] = ConfigError if name == "__init__" else InvalidInputError
        owner = host or cls.__qualname__
        where = owner if name == "__init__" else f"{owner}.{name}"
        if isinstance(attr, (classmethod, staticmethod)):
            wrapped = _checking(attr.__func__, error, where)
            setattr(cls, name, type(attr)(wrapped))
        elif inspect.isfunction(attr):
            setattr(cls, name, _checking(attr, error, where))
    return cls
