"""Journey names from Marketing Cloud's journey API, through the fake over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from activity.devtools.fake_sfmc import FakeSfmc
from activity.errors import SfmcError
from activity.sfmc.journeys import MAX_LOOKUPS, RETRY_AFTER_SECONDS, JourneyNamer
from activity.sfmc.tokens import SfmcTokens
from activity.storage.delivery_views import FROM_MARKETING_CLOUD, JourneyName
from activity.storage.sqlite import SQLiteStore
from tests.clock import Clock
from tests.sfmc_support import MID, connected_store

OTHER_MID = "100000002"


async def add_journey(http: aiohttp.ClientSession, url: str, **journey: object) -> None:
    async with http.post(f"{url}/__fake/journeys", json=journey) as resp:
        assert resp.status == 200


@dataclass
class Rig:
    """A journey namer for MID, connected to the fake Marketing Cloud, on a fresh store."""

    names: JourneyNamer
    store: SQLiteStore
    clock: Clock
    fake: FakeSfmc
    url: str
    http: aiohttp.ClientSession


@pytest.fixture
async def rig(
    tmp_path: Path, http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> AsyncIterator[Rig]:
    fake, url = sfmc
    store, _, connections = await connected_store(tmp_path, http, url)
    clock = Clock(1_000_000.0)
    names = JourneyNamer(connections, SfmcTokens(connections, http), clock=clock)
    yield Rig(names, store, clock, fake, url, http)
    await store.close()


async def test_names_come_from_the_business_units_own_journeys(rig: Rig) -> None:
    names, store, clock = rig.names, rig.store, rig.clock
    fake, url, http = rig.fake, rig.url, rig.http
    await add_journey(http, url, mid=MID, id="j-1", name="Welcome\x00 series ", key="welcome")
    await add_journey(http, url, mid=OTHER_MID, id="j-2", name="Someone else's")
    found = await names.name(http, store, MID, ["j-1", "j-2", "j-unknown", ""])
    assert found == {
        "j-1": JourneyName("j-1", "Welcome series", "welcome", "1", FROM_MARKETING_CLOUD, clock.now)
    }
    assert await store.journey_names(["j-1", "j-2"]) == found  # stored for the next page view
    assert sorted(r.path for r in fake.calls("journey")) == [
        "/interaction/v1/interactions/j-1",
        "/interaction/v1/interactions/j-2",
        "/interaction/v1/interactions/j-unknown",
    ]
    statuses = sorted(r.status for r in fake.calls("journey"))
    assert statuses == [200, 404, 404]


async def test_a_journey_without_a_name_is_not_asked_about_again_for_a_while(rig: Rig) -> None:
    names, store, clock = rig.names, rig.store, rig.clock
    fake, url, http = rig.fake, rig.url, rig.http
    assert await names.name(http, store, MID, ["j-later"]) == {}
    await add_journey(http, url, mid=MID, id="j-later", name="Named later")
    assert await names.name(http, store, MID, ["j-later"]) == {}
    assert len(fake.calls("journey")) == 1
    clock.now += RETRY_AFTER_SECONDS + 1
    assert (await names.name(http, store, MID, ["j-later"]))["j-later"].name == "Named later"


async def test_without_a_connection_or_when_marketing_cloud_fails_the_page_gets_no_names(
    rig: Rig,
) -> None:
    names, store, clock = rig.names, rig.store, rig.clock
    fake, url, http = rig.fake, rig.url, rig.http
    await add_journey(http, url, mid=OTHER_MID, id="j-2", name="Other")
    assert await names.name(http, store, OTHER_MID, ["j-2"]) == {}  # not connected
    assert fake.calls("journey") == []
    await add_journey(http, url, mid=MID, id="j-3", name="Three")
    async with http.post(
        f"{url}/__fake/fail", json={"endpoint": "journey", "status": 500, "count": 1}
    ) as resp:
        assert resp.status == 200
    assert await names.name(http, store, MID, ["j-3"]) == {}
    clock.now += RETRY_AFTER_SECONDS + 1
    assert (await names.name(http, store, MID, ["j-3"]))["j-3"].name == "Three"


async def test_a_page_view_asks_about_a_few_journeys_at_most(rig: Rig) -> None:
    names, store = rig.names, rig.store
    fake, http = rig.fake, rig.http
    await names.name(http, store, MID, [f"j-{n}" for n in range(20)])
    assert len(fake.calls("journey")) == MAX_LOOKUPS


async def test_the_fake_wants_a_token(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    await add_journey(http, url, mid=MID, id="j-1", name="Welcome")
    for headers in ({}, {"Authorization": "Bearer nope"}):
        async with http.get(f"{url}/interaction/v1/interactions/j-1", headers=headers) as resp:
            assert resp.status == 401


async def test_a_token_without_journeys_read_is_refused_and_the_namer_says_why(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # A sign-in asks for SFMC_SCOPES (by default offline data_extensions_read
    # data_extensions_write): Marketing Cloud refuses that token the journey API, and the
    # fake must too, or names appear in tests and never in production.
    from activity.sfmc import journeys, oauth

    names, store = rig.names, rig.store
    fake, url, http = rig.fake, rig.url, rig.http
    await add_journey(http, url, mid=MID, id="j-9", name="Nine")
    tokens = await oauth.client_credentials(
        http, url, client_id="sfmc-cid", client_secret="sfmc-csecret", account_id=MID,
        scope="data_extensions_read data_extensions_write",
    )  # fmt: skip
    with pytest.raises(SfmcError) as refused:
        await journeys._fetch(http, url, tokens.access_token, "j-9")
    assert refused.value.reason == "missing_scope" and "journeys_read" in refused.value.message
    assert [r.status for r in fake.calls("journey")] == [403]
    # With the package's permissions (journeys_read among them) the same journey is named.
    assert (await names.name(http, store, MID, ["j-9"]))["j-9"].name == "Nine"
