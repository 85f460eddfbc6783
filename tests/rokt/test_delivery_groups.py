"""Packing a create group's items into calls within Rokt's per-call limit."""

from __future__ import annotations

from activity.rokt.delivery_groups import packs
from activity.storage.models import SENDING
from tests.rokt.delivery_env import MID


def test_packs_respect_the_per_call_limit() -> None:
    from activity.storage.models import OutboxItem

    def item(i: int, n: int) -> OutboxItem:
        subs = tuple(f"{i}-{k}" for k in range(n))
        return OutboxItem(
            i, MID, "acme", "create", "k", {}, subs, "e", "", "", "", "", SENDING, 1, 0.0, 0.0
        )

    assert [len(p) for p in packs([item(i, 1) for i in range(7)], limit=3)] == [3, 3, 1]
    assert [len(p) for p in packs([item(0, 5), item(1, 1), item(2, 2)], limit=3)] == [1, 2]
