"""Webhook traffic with a known ending, for the tests, the demo and the benchmark.

`story()` makes subscriptions on a fake Rokt account and the webhooks Rokt would send about
them: every subscription's Subscribe, an Unsubscribe for some (half of those arriving before
their Subscribe), a details update for others, and repeats of random webhooks, all shuffled.
`expected` says how each data-extension row must end; `check_rows` compares what Marketing
Cloud holds with it and names every loss, duplicate and stale row.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from activity.devtools.fake_rokt import webhooks as rokt
from activity.sfmc.data_extension import CUSTOMER_KEY, PRIMARY_KEY

START = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


@dataclass
class Story:
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)  # sub -> fields
    duplicates: int = 0
    reordered: int = 0  # Unsubscribes sent before their Subscribe

    @property
    def subscriptions(self) -> int:
        return len(self.expected)


def story(
    account_code: str,
    subscriptions: int,
    *,
    unsubscribe_share: float = 0.3,
    update_share: float = 0.2,
    duplicate_share: float = 0.15,
    seed: int = 7,
    external_ids: list[str] | None = None,
) -> Story:
    rng = random.Random(seed)  # noqa: S311 - reproducible test traffic, not a secret
    result = Story()
    groups: list[list[dict[str, Any]]] = []
    for n in range(subscriptions):
        sub = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = START + n
        external = external_ids[n] if external_ids else f"contact-{n}"
        email = f"subscriber{n}@example.com"
        hooks = [
            rokt.subscribe(account_code, sub, created_at=created, external_id=external, email=email)
        ]
        want: dict[str, Any] = {
            PRIMARY_KEY: sub, "SubscriberExternalId": external, "Email": email,
            "RemovedDateTime": "",
        }  # fmt: skip
        roll = rng.random()
        if roll < unsubscribe_share:
            removed = created + 3600
            hooks.append(rokt.unsubscribe(account_code, sub, removed_at=removed))
            want["RemovedDateTime"] = datetime.fromtimestamp(removed, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%f"
            )[:-3]
            if rng.random() < 0.5:
                hooks.reverse()  # Rokt's order is not guaranteed: the removal comes first
                result.reordered += 1
        elif roll < unsubscribe_share + update_share:
            newer = f"updated{n}@example.com"
            hooks.append(
                rokt.details_updated(account_code, sub, created_at=created, email=newer,
                                     external_id=external)
            )  # fmt: skip
            want["Email"] = newer
        groups.append(hooks)
        result.expected[sub] = want
    # Interleave the subscriptions but keep each one's own order (which may be reversed).
    queue = [list(g) for g in groups]
    while queue:
        pick = rng.randrange(len(queue))
        result.webhooks.append(queue[pick].pop(0))
        if not queue[pick]:
            queue.pop(pick)
    repeats = [
        rng.choice(result.webhooks) for _ in range(int(len(result.webhooks) * duplicate_share))
    ]
    for hook in repeats:
        result.webhooks.insert(rng.randrange(len(result.webhooks) + 1), hook)
    result.duplicates = len(repeats)
    return result


async def read_rows(http: aiohttp.ClientSession, sfmc_url: str, mid: str) -> list[dict[str, Any]]:
    """The data extension's rows, as the fake Marketing Cloud holds them."""
    url = f"{sfmc_url}/__fake/dataextensions/{CUSTOMER_KEY}/rows"
    async with http.get(url, params={"mid": mid}) as resp:
        resp.raise_for_status()
        rows: list[dict[str, Any]] = (await resp.json())["rows"]
        return rows


def check_rows(expected: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
    """Every way `rows` differ from `expected`: missing, duplicate, unexpected or stale."""
    problems = []
    seen: dict[str, int] = {}
    for row in rows:
        sub = str(row.get(PRIMARY_KEY, "")).lower()
        seen[sub] = seen.get(sub, 0) + 1
        want = expected.get(sub)
        if want is None:
            problems.append(f"unexpected row {sub}")
            continue
        for name, value in want.items():
            if str(row.get(name, "")).lower() != str(value).lower():
                problems.append(f"{sub}: {name} is {row.get(name)!r}, expected {value!r}")
    problems += [f"{sub}: {n} rows" for sub, n in seen.items() if n > 1]
    problems += [f"{sub}: missing" for sub in expected if sub not in seen]
    return problems
