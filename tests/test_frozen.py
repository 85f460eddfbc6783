"""quick_init: the same constructor as the dataclass's own, only quicker; still frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from activity.frozen import quick_init
from activity.storage.models import NewItem, OutboxItem


@dataclass(frozen=True)
class Plain:
    a: str
    b: int
    c: tuple[str, ...] = ()
    d: str = field(default="x", compare=False)


@quick_init
@dataclass(frozen=True)
class Quick(Plain):
    """Plain's fields, so the two cannot drift apart; only the constructor differs."""


def test_the_signature_is_the_dataclasses_own() -> None:
    ours = inspect.signature(Quick.__init__)
    theirs = inspect.signature(Plain.__init__)
    assert [(p.name, p.default) for p in list(ours.parameters.values())[1:]] == [
        (p.name, p.default) for p in list(theirs.parameters.values())[1:]
    ]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a", 1), {}), (("a",), {"b": 2, "d": "y"}), ((), {"a": "a", "b": 3, "c": ("z",)})],
)
def test_instances_equal_what_the_dataclass_builds(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    quick, plain = Quick(*args, **kwargs), Plain(*args, **kwargs)
    assert vars(quick) == vars(plain)
    assert hash(quick) == hash(Quick(*args, **kwargs))
    assert quick == Quick(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("a",), {}),
        (("a", 1), {"e": 1}),
        (("a", 1, (), "d", "extra"), {}),
        (("a", 1), {"a": "again"}),
    ],
)
def test_wrong_arguments_are_refused_as_by_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)
    with pytest.raises(TypeError):
        Quick(*args, **kwargs)


def test_instances_stay_frozen() -> None:
    quick = Quick("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del quick.b  # type: ignore[misc]
    assert dataclasses.replace(quick, b=5).b == 5
    assert quick.b == 1


def test_fields_may_take_any_name() -> None:
    @quick_init
    @dataclass(frozen=True)
    class Odd:
        self: str
        fields: str
        values: str = "v"

    odd = Odd("s", fields="f")
    assert (odd.self, odd.fields, odd.values) == ("s", "f", "v")


def test_post_init_still_runs() -> None:
    item = NewItem("1", "acct", "create", "k", {"eventId": "e"}, ("s",), "e")
    assert item.payload_json == '{"eventId":"e"}'  # filled in by __post_init__
    assert type(item).__init__.__qualname__ == "NewItem.__init__"
    assert OutboxItem.__init__.__module__ == "activity.storage.models"


@pytest.mark.parametrize(
    "make",
    [
        lambda: dataclass(frozen=True, slots=True)(
            type("S", (), {"__annotations__": {"a": "int"}})
        ),
        lambda: dataclass(type("N", (), {"__annotations__": {"a": "int"}})),
        lambda: dataclass(frozen=True)(
            type("F", (), {"__annotations__": {"a": "list[int]"}, "a": field(default_factory=list)})
        ),
        lambda: dataclass(frozen=True, kw_only=True)(
            type("K", (), {"__annotations__": {"a": "int"}})
        ),
        lambda: dataclass(frozen=True)(
            type("I", (), {"__annotations__": {"a": "int"}, "a": field(default=0, init=False)})
        ),
        lambda: int,
    ],
)
def test_what_it_cannot_build_faithfully_is_refused(make: Any) -> None:
    with pytest.raises(TypeError):
        quick_init(make())
