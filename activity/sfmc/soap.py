"""Marketing Cloud's SOAP API, as a client: just what installing a data extension needs.

POST {soap_instance_url}Service.asmx with the access token in a `fueloauth` header element
and SOAPAction Retrieve or Create (marketing-cloud-and-webhooks.md section 3). Answers are
parsed with defusedxml. A "Token Expired"/"Login failed" fault is SfmcUnauthorized (the caller
renews the token once); throttling shows up as HTTP 500 faults, so other 5xx are retryable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import aiohttp
import defusedxml.ElementTree as SafeET

from activity import remote_json
from activity.errors import SfmcError, SfmcUnavailable
from activity.sfmc.data_extension import BOOLEAN, DATE, Field
from activity.sfmc.tokens import Access, SfmcUnauthorized

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ET_NS = "http://exacttarget.com/wsdl/partnerAPI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
TIMEOUT_SECONDS = 30.0
MAX_ANSWER_BYTES = 4 * 1024 * 1024
AUTH_FAULTS = ("token expired", "login failed", "not authorized", "invalid token")


@dataclass(frozen=True)
class SoapResult:
    overall_status: str
    results: list[Element]


def envelope(token: str, body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:xsi="{XSI_NS}">'
        f'<s:Header><fueloauth xmlns="http://exacttarget.com">{escape(token)}</fueloauth>'
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


def retrieve_data_extension(customer_key: str) -> str:
    return (
        f'<RetrieveRequestMsg xmlns="{ET_NS}"><RetrieveRequest>'
        "<ObjectType>DataExtension</ObjectType>"
        "<Properties>CustomerKey</Properties><Properties>Name</Properties>"
        "<Properties>ObjectID</Properties>"
        '<Filter xsi:type="SimpleFilterPart"><Property>CustomerKey</Property>'
        f"<SimpleOperator>equals</SimpleOperator><Value>{escape(customer_key)}</Value>"
        "</Filter></RetrieveRequest></RetrieveRequestMsg>"
    )


def _field(f: Field) -> str:
    parts = [
        f"<CustomerKey>{escape(f.name)}</CustomerKey>",
        f"<Name>{escape(f.name)}</Name>",
        f"<FieldType>{f.type}</FieldType>",
    ]
    if f.length is not None:
        parts.append(f"<MaxLength>{f.length}</MaxLength>")
    # A primary key must be required; nothing else is, so a partial webhook still fits.
    required = "true" if f.is_primary_key else "false"
    parts.append(f"<IsRequired>{required}</IsRequired>")
    parts.append(f"<IsPrimaryKey>{'true' if f.is_primary_key else 'false'}</IsPrimaryKey>")
    if f.type == BOOLEAN:
        parts.append("<DefaultValue>false</DefaultValue>")
    assert f.type != DATE or not f.is_primary_key  # never a Date as a primary key
    return "<Field>" + "".join(parts) + "</Field>"


def create_data_extension(customer_key: str, name: str, fields: Sequence[Field]) -> str:
    return (
        f'<CreateRequest xmlns="{ET_NS}"><Objects xsi:type="DataExtension">'
        f"<CustomerKey>{escape(customer_key)}</CustomerKey><Name>{escape(name)}</Name>"
        "<Description>Rokt Calendar subscriptions, kept current from Rokt's webhooks"
        "</Description><IsSendable>false</IsSendable>"
        f"<Fields>{''.join(_field(f) for f in fields)}</Fields></Objects></CreateRequest>"
    )


async def call(
    http: aiohttp.ClientSession, access: Access, action: str, body: str, response_tag: str
) -> SoapResult:
    url = f"{access.soap_url}Service.asmx"
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action}
    try:
        async with http.post(
            url,
            data=envelope(access.token, body).encode("utf-8"),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            allow_redirects=False,
        ) as resp:
            raw = await remote_json.read_capped(resp.content, MAX_ANSWER_BYTES)
            status = resp.status
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        why = type(exc).__name__
        raise SfmcUnavailable(f"Marketing Cloud's SOAP API unreachable ({why})") from None
    try:
        root = SafeET.fromstring(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    except Exception:  # not XML, or XML defusedxml refuses
        root = None
    if root is None:
        if status == 401:
            raise SfmcUnauthorized(f"SOAP {action} answered 401", status=401)
        raise SfmcUnavailable(f"SOAP {action} answered {status} without XML", status=status)
    fault = root.find(f".//{{{SOAP_NS}}}Fault")
    if fault is not None:
        text = " ".join((fault.findtext("faultstring") or "").split())[:200]
        if any(marker in text.lower() for marker in AUTH_FAULTS):
            raise SfmcUnauthorized(f"SOAP {action}: {text}", status=status)
        if status >= 500:
            raise SfmcUnavailable(f"SOAP {action} fault: {text}", status=status)
        raise SfmcError(f"SOAP {action} fault: {text}", status=status, reason="sfmc_soap_fault")
    answer = root.find(f".//{{{ET_NS}}}{response_tag}")
    if answer is None:
        raise SfmcError(f"SOAP {action}: no {response_tag} in the answer", reason="bad_answer")
    return SoapResult(
        overall_status=answer.findtext(f"{{{ET_NS}}}OverallStatus") or "",
        results=answer.findall(f"{{{ET_NS}}}Results"),
    )


def text_of(element: Element, name: str) -> str:
    return (element.findtext(f"{{{ET_NS}}}{name}") or "").strip()
