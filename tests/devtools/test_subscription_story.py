"""The webhook traffic generator and its checker: the checker must catch every way to fail."""

from __future__ import annotations

from collections import Counter

from activity.devtools.subscription_story import check_rows, story


def test_story_has_repeats_reversed_pairs_and_a_known_ending() -> None:
    traffic = story("acme", 200, seed=1)
    ids = Counter(w["eventId"] for w in traffic.webhooks)
    assert sum(n - 1 for n in ids.values()) == traffic.duplicates > 0
    assert traffic.reordered > 0 and traffic.subscriptions == 200
    removed = [s for s, want in traffic.expected.items() if want["RemovedDateTime"]]
    assert 30 <= len(removed) <= 90
    assert story("acme", 200, seed=1).expected == traffic.expected  # the same people again


def test_check_rows_names_missing_duplicate_unexpected_and_stale_rows() -> None:
    traffic = story("acme", 3, seed=2, unsubscribe_share=1.0, duplicate_share=0)
    good = [dict(want) for want in traffic.expected.values()]
    assert check_rows(traffic.expected, good) == []
    first, second, third = good
    stale = {**second, "RemovedDateTime": ""}
    problems = check_rows(
        traffic.expected, [first, first, stale, {**third, "CalendarSubscriptionId": "x"}]
    )
    sub1, sub2, sub3 = traffic.expected
    assert f"{sub1}: 2 rows" in problems
    assert any(p.startswith(f"{sub2}: RemovedDateTime is ''") for p in problems)
    assert "unexpected row x" in problems and f"{sub3}: missing" in problems
