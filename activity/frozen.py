"""Frozen dataclasses that are quick to build.

A frozen dataclass's generated `__init__` stores each field through `object.__setattr__`
(the class's own `__setattr__` refuses), a quarter of a microsecond per field here. The values
built for every execute (the plan, its ids, the outbox item, the answer, the group commit's
job) and for every claimed outbox item paid that dozens of times per contact. `quick_init`
gives such a class an `__init__` that fills the instance's `__dict__` directly: the same
parameters in the same order, the same defaults, `__post_init__` still called, and the
instances as frozen as before (assigning a field still raises).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")
# The generated __init__'s own names, unlike any field's (a field may be called `self`).
_SELF, _VALUES = "__quick_init_self__", "__quick_init_values__"


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's `__init__`; refuse what the replacement does not handle
    (slots, init=False, keyword-only fields, default factories), so nothing is lost quietly."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init takes a frozen dataclass without slots")
    signature, stores = [], []
    namespace: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if (
            not f.init
            or f.kw_only
            or f.default_factory is not dataclasses.MISSING
            or f.name in (_SELF, _VALUES)
        ):
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init takes plain fields only")
        if f.default is dataclasses.MISSING:
            signature.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
        stores.append(f"    {_VALUES}[{f.name!r}] = {f.name}\n")
    post = f"    {_SELF}.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    source = (
        f"def __init__({_SELF}, {', '.join(signature)}):\n"
        f"    {_VALUES} = {_SELF}.__dict__\n"
        f"{''.join(stores)}{post}"
    )
    # How dataclasses builds its own __init__: the field names are the class's, never input.
    exec(source, namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
