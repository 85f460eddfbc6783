"""The settings page's Marketing Cloud card: webhook URL shown, copied, rotated."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import HTTP, KEYRING, STORE, WEBHOOK_URLS
from activity.config import Settings
from activity.devtools.fake_sfmc import FakeSfmc
from activity.sfmc import client_credentials
from tests.admin_support import MID_A, MID_B, ClientFactory, ServerFactory, admin_client, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


def shown_url(html: str) -> str:
    found = re.search(r'id="webhook_url" class="slds-input" value="([^"]+)"', html)
    assert found, "no webhook URL on the page"
    return found.group(1)


async def browser(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> TestClient:
    return await admin_client(aiohttp_server, aiohttp_client, create_app(settings))


async def test_page_shows_this_units_url_and_rotates_it(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await browser(aiohttp_server, aiohttp_client, settings)
    csrf = await signed_in(client, mid=MID_A)
    page = await (await client.get("/settings")).text()
    url = shown_url(page)
    assert url == await client.app[WEBHOOK_URLS].url_for(MID_A)
    assert url.startswith("https://activity.example.com/webhooks/rokt/")
    assert url != await client.app[WEBHOOK_URLS].url_for(MID_B)
    assert 'id="copy-webhook-url"' in page
    # Without the form's CSRF token nothing changes.
    refused = await client.post("/settings/webhook-url/rotate", data={}, allow_redirects=False)
    assert refused.status == 403
    assert shown_url(await (await client.get("/settings")).text()) == url
    done = await client.post(
        "/settings/webhook-url/rotate", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert done.status == 303
    after = await (await client.get("/settings")).text()
    assert shown_url(after) != url
    assert "the old one no longer works" in after
    token = url.rsplit("/", 1)[1]
    assert (await client.post(f"/webhooks/rokt/{token}", json={})).status == 404


async def test_signed_out_cannot_rotate(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await browser(aiohttp_server, aiohttp_client, settings)
    resp = await client.post("/settings/webhook-url/rotate", data={}, allow_redirects=False)
    assert resp.status == 401


async def test_install_button_installs_once_and_shows_the_next_step(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    settings: Settings,
    sfmc: tuple[FakeSfmc, str],
) -> None:
    fake, url = sfmc
    fake.add_unit(MID_A, "500000000")
    client = await browser(aiohttp_server, aiohttp_client, settings)
    csrf = await signed_in(client, mid=MID_A)
    page = await (await client.get("/settings")).text()
    assert "is not installed yet" in page and "No Marketing Cloud connection" in page
    assert re.search(r'id="install-data-extensions"\s+disabled', page)
    app = client.app
    await client_credentials.connect(
        app[STORE], app[KEYRING], app[HTTP], mid=MID_A, client_id="sfmc-cid",
        client_secret="sfmc-csecret", auth_url=url,
    )  # fmt: skip
    for expected in ("data extension installed.", "was already installed; nothing changed."):
        done = await client.post(
            "/settings/data-extensions/install", data={"csrf_token": csrf}, allow_redirects=False
        )
        assert done.status == 303
        page = await (await client.get("/settings")).text()
        assert expected in page
    status = re.search(r'id="de-status">(.*?)</p>', page, re.S)
    assert status and status.group(1).endswith(
        "(external key RoktCalendarSubscription) is installed."
    )
    assert "Contact Key to SubscriberExternalId" in page
    assert [c.body["action"] for c in fake.calls("soap")] == ["Retrieve", "Create", "Retrieve"]
    assert page.count(">Installed<") == 2  # both installs are in the change history


async def test_a_url_stored_under_a_retired_key_is_a_clear_notice_not_a_500(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # The operator replaced ACTIVITY_ENCRYPTION_KEY without keeping the old key: the stored
    # URL cannot be shown again (it still works: it is found by its hash), but the page must.
    import dataclasses

    from cryptography.fernet import Fernet

    first = create_app(settings)
    server = await aiohttp_server(first)
    url = await first[WEBHOOK_URLS].url_for(MID_A)
    await server.close()
    rekeyed = dataclasses.replace(settings, encryption_keys=(Fernet.generate_key().decode(),))
    client = await browser(aiohttp_server, aiohttp_client, rekeyed)
    csrf = await signed_in(client, mid=MID_A)
    page = await client.get("/settings")
    assert page.status == 200
    html = await page.text()
    assert "cannot be shown" in html and "Make a new URL" in html
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    token = url.rsplit("/", 1)[1]
    assert (await client.post(f"/webhooks/rokt/{token}", json={})).status != 404  # still works
    done = await client.post(
        "/settings/webhook-url/rotate", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert done.status == 303
    assert shown_url(await (await client.get("/settings")).text()) != url


async def test_two_installs_at_once_both_end_installed_with_one_data_extension(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    settings: Settings,
    sfmc: tuple[FakeSfmc, str],
) -> None:
    # A double click, or two admins: both look, neither finds it, both create. Marketing
    # Cloud refuses the second create (the key exists); that admin must not be told it failed.
    import asyncio

    fake, url = sfmc
    fake.add_unit(MID_A, "500000000")
    app = create_app(settings)
    first = await admin_client(aiohttp_server, aiohttp_client, app)
    second = await admin_client(aiohttp_server, aiohttp_client, first.server)
    tokens = [await signed_in(first, mid=MID_A), await signed_in(second, mid=MID_A)]
    await client_credentials.connect(
        app[STORE], app[KEYRING], app[HTTP], mid=MID_A, client_id="sfmc-cid",
        client_secret="sfmc-csecret", auth_url=url,
    )  # fmt: skip
    done = await asyncio.gather(*(
        c.post("/settings/data-extensions/install", data={"csrf_token": t}, allow_redirects=False)
        for c, t in zip((first, second), tokens, strict=True)
    ))  # fmt: skip
    assert [d.status for d in done] == [303, 303]
    for client in (first, second):
        page = await (await client.get("/settings")).text()
        assert "was not installed" not in page, page[page.find("alert") : page.find("alert") + 300]
    creates = [c for c in fake.calls("soap") if c.body["action"] == "Create"]
    assert 1 <= len(creates) <= 2
