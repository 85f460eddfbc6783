from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.devtools.jb import test_settings
from tests.conftest import ClientFactory

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "jb_config.schema.json").read_text())


async def test_served_config_validates_against_the_manifest_schema(client: TestClient) -> None:
    resp = await client.get("/config.json")
    assert resp.status == 200
    manifest = await resp.json()
    jsonschema.validate(manifest, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert manifest["lang"]["en-US"]["name"] == "Rokt Calendar Event"
    assert manifest["metaData"]["category"] == "message"


async def test_urls_come_from_public_url_never_from_host(client: TestClient) -> None:
    resp = await client.get("/config.json", headers={"Host": "evil.example.net"})
    manifest = await resp.json()
    execute = manifest["arguments"]["execute"]
    assert execute["url"] == "https://activity.example.com/execute"
    for route in ("save", "validate", "publish", "unpublish", "stop"):
        arg = manifest["configurationArguments"][route]
        assert arg["url"] == f"https://activity.example.com/{route}"
        assert arg["useJwt"] is True
    assert "evil.example.net" not in await resp.text()
    assert manifest["userInterfaces"]["configModal"]["url"].startswith(
        "https://activity.example.com/?v="
    )


async def test_running_uis_read_only_mode_and_one_wizard_step(client: TestClient) -> None:
    manifest = await (await client.get("/config.json")).json()
    jsonschema.validate(manifest, SCHEMA, cls=jsonschema.Draft202012Validator)
    ui = manifest["userInterfaces"]
    assert ui["runningHover"]["url"].startswith("https://activity.example.com/running/hover?v=")
    assert ui["runningModal"]["url"].startswith("https://activity.example.com/running/modal?v=")
    assert ui["configurationSupportsReadOnlyMode"] is True
    assert manifest["wizardSteps"] == [{"label": "Event", "key": "event"}]
    assert manifest["lang"]["en-US"]["runningHoverButtonLabel"] == "Deliveries"
    for path in ("/running/hover", "/running/modal"):
        page = await client.get(path)
        assert page.status == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "<script>" not in await page.text()


async def test_out_arguments_are_declared_visible_text(client: TestClient) -> None:
    manifest = await (await client.get("/config.json")).json()
    out = manifest["schema"]["arguments"]["execute"]["outArguments"]
    declared = {name: spec for entry in out for name, spec in entry.items()}
    assert set(declared) == {
        "roktStatus",
        "roktEventId",
        "roktError",
        "roktSubscriptionId",
        "roktSubscriptionUrl",
    }
    assert all(s["dataType"] == "Text" and s["access"] == "visible" for s in declared.values())
    assert all(s["direction"] == "out" for s in declared.values())
    # Empty for the event actions (and for a Google subscription awaiting consent).
    assert declared["roktSubscriptionId"]["isNullable"] is True
    assert declared["roktSubscriptionUrl"]["isNullable"] is True


async def test_execute_timing_suits_a_durable_accept(client: TestClient) -> None:
    execute = (await (await client.get("/config.json")).json())["arguments"]["execute"]
    # Retries are safe because a repeat returns the first answer; they cover 503s.
    assert execute["retryCount"] >= 1
    assert execute["timeout"] >= 10000


async def test_application_extension_key_only_when_set(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    plain = await aiohttp_client(create_app(test_settings(tmp_path / "a")))
    manifest = await (await plain.get("/config.json")).json()
    assert "applicationExtensionKey" not in manifest["configurationArguments"]
    keyed = await aiohttp_client(create_app(test_settings(tmp_path / "b", app_key="abc-123")))
    manifest = await (await keyed.get("/config.json")).json()
    assert manifest["configurationArguments"]["applicationExtensionKey"] == "abc-123"


def test_schema_rejects_a_broken_manifest() -> None:
    broken = {"workflowApiVersion": "1.1", "type": "REST"}
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert list(validator.iter_errors(broken))
