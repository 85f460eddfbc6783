"""The demo's first flow: Rokt's webhooks fill the data extension the journey then reads."""

from __future__ import annotations

import io
import re

from rich.console import Console

from activity.devtools.demo import run_demo
from activity.devtools.demo_marketing_cloud import SubscriptionsReport


def test_the_demo_prints_both_flows_and_the_journey_uses_the_data_extension() -> None:
    out = io.StringIO()
    assert run_demo(contacts=120, concurrency=8, console=Console(file=out, width=160)) == 0
    text = out.getvalue()
    assert "Rokt -> Marketing Cloud" in text
    assert "created; second install: nothing changed" in text
    assert "Every row is there once in its newest state: yes" in text
    stored = re.search(r"webhooks stored \(each eventId once\)\s*│\s*([\d,]+)", text)
    rows = re.search(r"rows synced / in the data extension\s*│\s*([\d,]+) / ([\d,]+)", text)
    assert stored and rows, text
    assert rows.group(2) == "120"  # one row per subscriber
    # The journey's contacts are the rows: removed subscriptions are skipped.
    removed = int(re.search(r"\((\d+) removed subscriptions", text).group(1))  # type: ignore[union-attr]
    skipped = re.search(r"skipped \(no subscription\)\s*│\s*(\d+)", text)
    assert skipped and int(skipped.group(1)) == removed > 0
    assert "demo-sfmc-secret" not in text


def test_rows_become_contacts_and_removed_subscriptions_none() -> None:
    report = SubscriptionsReport(
        True, True, 2, 2, 2, 0, 0,
        [
            {"CalendarSubscriptionId": "b", "SubscriberExternalId": "k2", "RemovedDateTime": "x"},
            {"CalendarSubscriptionId": "a", "SubscriberExternalId": "k1", "RemovedDateTime": ""},
        ],
        2, 2, 0.1, (),
    )  # fmt: skip
    assert report.contacts_from_rows() == [("k1", ("a",)), ("k2", ())]
