"""The fake Marketing Cloud's SOAP API is as strict as the real one about what we send."""

from __future__ import annotations

import aiohttp
import pytest

from activity.devtools.fake_sfmc import FakeSfmc
from activity.errors import SfmcError
from activity.sfmc import soap
from activity.sfmc.data_extension import BOOLEAN, DATE, TEXT, Field
from activity.sfmc.tokens import SfmcUnauthorized
from tests.sfmc_support import access_for


async def _post(http: aiohttp.ClientSession, url: str, body: bytes, action: str) -> str:
    headers = {"SOAPAction": action, "Content-Type": "text/xml"}
    async with http.post(f"{url}/Service.asmx", data=body, headers=headers) as resp:
        assert resp.status == 500  # SOAP faults come back as 500
        return await resp.text()


async def test_retrieve_then_create_then_found(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    access = await access_for(http, url)
    retrieve = soap.retrieve_data_extension("Key1")
    found = await soap.call(http, access, "Retrieve", retrieve, "RetrieveResponseMsg")
    assert (found.overall_status, found.results) == ("OK", [])
    fields = [Field("Id", TEXT, 36), Field("Flag", BOOLEAN), Field("When", DATE)]
    made = await soap.call(
        http, access, "Create", soap.create_data_extension("Key1", "One", fields), "CreateResponse"
    )
    assert made.overall_status == "OK"
    assert soap.text_of(made.results[0], "NewObjectID")
    found = await soap.call(http, access, "Retrieve", retrieve, "RetrieveResponseMsg")
    assert [soap.text_of(r, "CustomerKey") for r in found.results] == ["Key1"]
    # Another business unit sees nothing of it.
    other = await access_for(http, url, "100000002")
    elsewhere = await soap.call(http, other, "Retrieve", retrieve, "RetrieveResponseMsg")
    assert elsewhere.results == []


@pytest.mark.parametrize(
    ("key", "fields", "why"),
    [
        ("K" * 37, [Field("Id", TEXT, 36)], "CustomerKey must be 1 to 36"),
        ("K2", [Field("Id", TEXT, 5000)], "MaxLength must be 1 to 4000"),
        ("K3", [Field("Id", TEXT, 36), Field("id", TEXT, 10)], "defined twice"),
        ("K4", [], "at least one field"),
    ],
)
async def test_create_refuses_what_marketing_cloud_refuses(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str], key: str, fields: list[Field], why: str
) -> None:
    _, url = sfmc
    access = await access_for(http, url)
    made = await soap.call(
        http, access, "Create", soap.create_data_extension(key, key, fields), "CreateResponse"
    )
    assert made.overall_status == "Error"
    assert why in soap.text_of(made.results[0], "StatusMessage")


async def test_a_primary_key_must_be_required_and_never_a_date(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    access = await access_for(http, url)
    for field_xml, why in (
        ("<Field><Name>Id</Name><FieldType>Text</FieldType><MaxLength>9</MaxLength>"
         "<IsPrimaryKey>true</IsPrimaryKey><IsRequired>false</IsRequired></Field>",
         "must be required"),
        ("<Field><Name>Id</Name><FieldType>Date</FieldType>"
         "<IsPrimaryKey>true</IsPrimaryKey><IsRequired>true</IsRequired></Field>",
         "cannot be a primary key"),
    ):  # fmt: skip
        body = (
            f'<CreateRequest xmlns="{soap.ET_NS}"><Objects xsi:type="DataExtension">'
            f"<CustomerKey>K</CustomerKey><Name>K</Name><Fields>{field_xml}</Fields>"
            "</Objects></CreateRequest>"
        )
        made = await soap.call(http, access, "Create", body, "CreateResponse")
        assert why in soap.text_of(made.results[0], "StatusMessage")


async def test_an_unknown_token_is_a_token_expired_fault(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    access = await access_for(http, url)
    fake.expire_access_tokens()
    with pytest.raises(SfmcUnauthorized, match="Token Expired"):
        await soap.call(
            http, access, "Retrieve", soap.retrieve_data_extension("K"), "RetrieveResponseMsg"
        )


async def test_envelopes_are_checked_strictly(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    access = await access_for(http, url)
    retrieve = soap.envelope(access.token, soap.retrieve_data_extension("K")).encode()
    # SOAPAction must match the request element.
    assert "needs a CreateRequest" in await _post(http, url, retrieve, "Create")
    assert "is not faked" in await _post(http, url, retrieve, "Delete")
    assert "not a SOAP 1.1 envelope" in await _post(http, url, b"<a/>", "Retrieve")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    assert "not well-formed XML" in await _post(http, url, bomb, "Retrieve")
    assert [c.status for c in fake.calls("soap")] == [500, 500, 500, 500]


async def test_a_soap_fault_without_auth_trouble_is_an_error(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    access = await access_for(http, url)
    with pytest.raises(SfmcError) as caught:
        await soap.call(http, access, "Create", "<Nothing/>", "CreateResponse")
    assert not isinstance(caught.value, SfmcUnauthorized)
