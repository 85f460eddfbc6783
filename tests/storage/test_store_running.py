"""The Store contract for the running-journey hover and modal: SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from typing import Any

from activity.storage.base import Store
from activity.storage.models import ActivityStats, Answer, AuditEntry, NewItem

MID, OTHER_MID = "100", "200"
ACTIVITY, OTHER_ACTIVITY = "activity-1", "activity-2"


def item(n: int, mid: str = MID, activity: str = ACTIVITY) -> NewItem:
    return NewItem(
        mid=mid,
        account_code="acme",
        action="create",
        batch_key=f"batch-{n}",
        payload={"eventId": f"e{n}"},
        subscription_ids=(f"sub-{n}",),
        event_id=f"e{n}",
        journey_id="journey-1",
        activity_id=activity,
        definition_instance_id=f"{activity}-instance-{n}",
        contact_key=f"contact-{n}",
    )


async def accept(store: Store, n: int, status: str = "queued", **kw: Any) -> None:
    activity = kw.get("activity", ACTIVITY)
    answer = Answer(200, {"roktStatus": status, "roktEventId": "", "roktError": ""})
    items = [item(n, **kw)] if status == "queued" else []
    mid = kw.get("mid", MID)
    await store.accept(activity, f"{activity}-instance-{n}", answer, items, 100.0, mid=mid)


async def ids_of(store: Store) -> dict[str, int]:
    claimed = await store.claim("w1", 100.0, 60.0, 100)
    return {i.contact_key: i.id for i in claimed}


async def a_run(store: Store) -> dict[str, int]:
    """Two sent, two dead (one reason twice... and another), one retrying, one queued, plus
    skipped contacts, and noise from another activity and another business unit."""
    for n in range(7):
        await accept(store, n)
    await accept(store, 50, mid=OTHER_MID)
    await accept(store, 60, activity=OTHER_ACTIVITY)
    for n, status in enumerate(["skipped_no_subscription"] * 3 + ["invalid"], start=10):
        await accept(store, n, status)
    await accept(store, 70, "skipped_not_configured", activity=OTHER_ACTIVITY)
    ids = await ids_of(store)
    await store.mark_sent([ids["contact-0"], ids["contact-1"]], 110.0)
    await store.mark_dead([ids["contact-2"], ids["contact-3"]], 120.0, "rejected: HTTP 400 bad")
    await store.mark_dead([ids["contact-4"]], 121.0, "auth_failed: refused")
    await store.mark_retry([ids["contact-5"]], 130.0, 300.0, "Rokt answered HTTP 503")
    await store.give_back([ids["contact-6"]], 130.0, "")
    await store.mark_dead([ids["contact-50"], ids["contact-60"]], 120.0, "noise")
    return ids


async def test_stats_count_one_activity_of_one_business_unit(store: Store) -> None:
    await a_run(store)
    stats = await store.activity_stats(MID, ACTIVITY)
    assert stats == ActivityStats(
        queued=2,
        sending=0,
        sent=2,
        dead=3,
        retrying=1,
        last_error="Rokt answered HTTP 503",
        next_attempt_at=300.0,
        dead_reasons=(("rejected: HTTP 400 bad", 2), ("auth_failed: refused", 1)),
        skipped=(("skipped_no_subscription", 3), ("invalid", 1)),
        last_sent_at=110.0,
    )


async def test_subscribed_contacts_are_counted_apart_from_skipped_ones(store: Store) -> None:
    for n in range(3):
        await accept(store, 80 + n, "subscribed")
    await accept(store, 90, "subscribed", activity=OTHER_ACTIVITY)
    await accept(store, 91, "invalid")
    stats = await store.activity_stats(MID, ACTIVITY)
    assert (stats.subscribed, stats.skipped) == (3, (("invalid", 1),))


async def test_answers_are_counted_only_for_the_business_unit_they_were_given_for(
    store: Store,
) -> None:
    """Accepted together (one group commit, one multi-row statement), each answer keeps its
    own MID; an answer stored without one (a malformed call) is counted for nobody."""
    calls = [
        (0, "subscribed", MID),
        (1, "subscribed", OTHER_MID),
        (2, "skipped_no_subscription", OTHER_MID),
        (3, "invalid", OTHER_MID),
        (4, "invalid", None),
        (5, "skipped_not_configured", MID),
    ]
    await asyncio.gather(*(accept(store, n, status, mid=mid) for n, status, mid in calls))
    mine, theirs = [await store.activity_stats(m, ACTIVITY) for m in (MID, OTHER_MID)]
    assert (mine.subscribed, mine.skipped) == (1, (("skipped_not_configured", 1),))
    assert theirs.subscribed == 1
    assert sorted(theirs.skipped) == [("invalid", 1), ("skipped_no_subscription", 1)]
    assert await store.activity_stats("300", ACTIVITY) == ActivityStats()


async def test_a_repeated_call_keeps_the_business_unit_of_its_first_answer(store: Store) -> None:
    first = Answer(200, {"roktStatus": "invalid"})
    assert (await store.accept(ACTIVITY, "k", first, [], 1.0, mid=MID))[1] is True
    other = Answer(200, {"roktStatus": "subscribed"})
    assert await store.accept(ACTIVITY, "k", other, [], 2.0, mid=OTHER_MID) == (first, False)
    assert (await store.activity_stats(MID, ACTIVITY)).skipped == (("invalid", 1),)
    assert await store.activity_stats(OTHER_MID, ACTIVITY) == ActivityStats()


async def test_an_activity_without_data_has_empty_stats(store: Store) -> None:
    assert await store.activity_stats(MID, "never-ran") == ActivityStats()
    assert await store.dead_of_activity(MID, "never-ran", 10) == []


async def test_dead_items_of_the_activity_newest_first(store: Store) -> None:
    await a_run(store)
    dead = await store.dead_of_activity(MID, ACTIVITY, 10)
    assert [d.contact_key for d in dead] == ["contact-4", "contact-3", "contact-2"]
    assert dead[0].reason == "auth_failed: refused"
    assert [d.contact_key for d in await store.dead_of_activity(MID, ACTIVITY, 1)] == ["contact-4"]


async def test_requeue_dead_makes_them_due_now_with_fresh_attempts_and_audits(
    store: Store,
) -> None:
    await a_run(store)
    audit = AuditEntry(MID, 500.0, "u1", "a@example.com", "retry_dead", "3 items")
    assert await store.requeue_dead(MID, ACTIVITY, 500.0, audit) == 3
    stats = await store.activity_stats(MID, ACTIVITY)
    assert (stats.dead, stats.queued, stats.retrying) == (0, 5, 1)
    claimed = await store.claim("w2", 500.0, 60.0, 100)
    requeued = {i.contact_key: i for i in claimed if i.contact_key in ("contact-2", "contact-4")}
    assert {i.attempts for i in requeued.values()} == {1}  # this claim is the first attempt
    assert {i.last_error for i in requeued.values()} == {""}
    assert [a.action for a in await store.audit_log(MID)] == ["retry_dead"]
    # Another business unit's and another activity's dead items stay dead.
    assert (await store.activity_stats(OTHER_MID, ACTIVITY)).dead == 1
    assert (await store.activity_stats(MID, OTHER_ACTIVITY)).dead == 1
    nothing = AuditEntry(MID, 600.0, "u1", "a@example.com", "retry_dead", "none")
    assert await store.requeue_dead(MID, ACTIVITY, 600.0, nothing) == 0
    assert len(await store.audit_log(MID)) == 1  # nothing re-queued, nothing audited


async def test_settings_keep_their_calendar_ids(store: Store) -> None:
    from activity.storage.models import StoredSettings

    settings = StoredSettings(MID, "acme", "client", b"token", calendar_ids=("cal-1", "cal_2"))
    await store.put_settings(settings, AuditEntry(MID, 1.0, "u", "", "save", "x"))
    stored = await store.get_settings(MID)
    assert stored is not None and stored.calendar_ids == ("cal-1", "cal_2")
    await store.put_settings(
        StoredSettings(MID, "acme", "client", b"token"), AuditEntry(MID, 2.0, "u", "", "save", "y")
    )
    stored = await store.get_settings(MID)
    assert stored is not None and stored.calendar_ids == ()


async def test_requeue_keeps_the_maybe_sent_mark_only_for_items_that_gave_up(store: Store) -> None:
    for n in range(2):
        await accept(store, n)
    ids = await ids_of(store)
    await store.mark_maybe_sent(list(ids.values()), 150.0)
    await store.mark_dead([ids["contact-0"]], 160.0, "gave_up: Rokt answered HTTP 503 20 times")
    await store.mark_dead([ids["contact-1"]], 160.0, "rejected: Rokt answered HTTP 400: bad")
    audit = AuditEntry(MID, 500.0, "u1", "", "retry_dead", "2 items")
    assert await store.requeue_dead(MID, ACTIVITY, 500.0, audit) == 2
    claimed = {i.contact_key: i for i in await store.claim("w2", 500.0, 60.0, 10)}
    assert claimed["contact-0"].maybe_sent_at == 150.0  # asked Rokt first: it may have landed
    assert claimed["contact-1"].maybe_sent_at is None  # Rokt refused it: nothing landed
