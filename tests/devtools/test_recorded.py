"""The fakes' shared question: which recorded requests went to an endpoint and got a status."""

from __future__ import annotations

from dataclasses import dataclass

from activity.devtools.recorded import matching


@dataclass(frozen=True)
class Call:
    endpoint: str
    status: int


CALLS = [Call("create", 202), Call("token", 200), Call("create", 400), Call("create", 202)]


def test_endpoint_and_status_both_narrow_and_order_is_kept() -> None:
    assert matching(CALLS, "create", 202) == [CALLS[0], CALLS[3]]
    assert matching(CALLS, "create", None) == [CALLS[0], CALLS[2], CALLS[3]]
    assert matching(CALLS, None, 200) == [CALLS[1]]
    assert matching(CALLS, None, None) == CALLS
    assert matching(CALLS, "remove", None) == []
