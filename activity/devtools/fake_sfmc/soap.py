"""The fake's SOAP API: POST /Service.asmx, Retrieve and Create of DataExtension only.

Strict like the real one: a SOAP 1.1 envelope, the `fueloauth` header with a live access
token (an unknown or expired one is a "Token Expired" fault, HTTP 500 as SFMC answers it),
SOAPAction matching the request element, objects in the partner API namespace
(marketing-cloud-and-webhooks.md section 3; SFMC docs "creating_a_data_extension_using_web_
service_api"). Parsed with defusedxml: the body comes from the service under test.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from aiohttp import web

from activity import remote_json
from activity.devtools.fake_sfmc.data_extensions import FieldDef, data_extensions_of
from activity.devtools.fake_sfmc.http import INSUFFICIENT_SCOPE, fake_of, lacks_scope, recorded

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ET_NS = "http://exacttarget.com/wsdl/partnerAPI"
FUEL_NS = "http://exacttarget.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_BODY = 1024 * 1024


class Fault(Exception):
    def __init__(self, text: str, code: str = "soap:Client") -> None:
        super().__init__(text)
        self.text, self.code = text, code


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(parent: Element, name: str) -> str:
    found = parent.find(_q(ET_NS, name))
    return (found.text or "").strip() if found is not None else ""


def _envelope(body: str) -> web.Response:
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}" '
        f'xmlns:xsi="{XSI_NS}"><soap:Body>{body}</soap:Body></soap:Envelope>'
    )
    return web.Response(text=xml, content_type="text/xml", charset="utf-8")


def _fault(fault: Fault) -> web.Response:
    response = _envelope(
        f"<soap:Fault><faultcode>{fault.code}</faultcode>"
        f"<faultstring>{escape(fault.text)}</faultstring></soap:Fault>"
    )
    response.set_status(500)
    return response


def _parse(raw: bytes) -> tuple[str, Element]:
    """(the fueloauth token, the Body's one request element)."""
    try:
        root = SafeET.fromstring(raw)
    except Exception as exc:  # defusedxml raises its own errors for entities and DTDs
        raise Fault(f"The request is not well-formed XML: {type(exc).__name__}") from None
    if root.tag != _q(SOAP_NS, "Envelope"):
        raise Fault("The request is not a SOAP 1.1 envelope.")
    header = root.find(_q(SOAP_NS, "Header"))
    token_el = header.find(_q(FUEL_NS, "fueloauth")) if header is not None else None
    token = (token_el.text or "").strip() if token_el is not None else ""
    body = root.find(_q(SOAP_NS, "Body"))
    if body is None or len(body) != 1:
        raise Fault("The SOAP Body must hold exactly one request.")
    return token, body[0]


def _retrieve(mid: str, request: Element, extensions: Any) -> str:
    inner = request.find(_q(ET_NS, "RetrieveRequest"))
    if inner is None or _text(inner, "ObjectType") != "DataExtension":
        raise Fault("Only RetrieveRequest of ObjectType DataExtension is faked.")
    if inner.find(_q(ET_NS, "Properties")) is None:
        raise Fault("RetrieveRequest needs at least one Properties element.")
    flt = inner.find(_q(ET_NS, "Filter"))
    if flt is None or flt.get(_q(XSI_NS, "type"), "").split(":")[-1] != "SimpleFilterPart":
        raise Fault("Only a SimpleFilterPart filter is faked.")
    if (_text(flt, "Property"), _text(flt, "SimpleOperator")) != ("CustomerKey", "equals"):
        raise Fault("Only CustomerKey equals ... is faked.")
    found = extensions.get(mid, _text(flt, "Value"))
    results = ""
    if found is not None:
        results = (
            f'<Results xsi:type="DataExtension"><CustomerKey>{escape(found.customer_key)}'
            f"</CustomerKey><Name>{escape(found.name)}</Name>"
            f"<ObjectID>{found.object_id}</ObjectID></Results>"
        )
    return (
        f'<RetrieveResponseMsg xmlns="{ET_NS}"><OverallStatus>OK</OverallStatus>'
        f"<RequestID>fake</RequestID>{results}</RetrieveResponseMsg>"
    )


def _field(el: Element) -> FieldDef:
    length = _text(el, "MaxLength")
    try:
        size = int(length) if length else None
    except ValueError:
        raise Fault(f"MaxLength {length!r} is not a number.") from None
    kind = _text(el, "FieldType") or "Text"
    return FieldDef(
        name=_text(el, "Name"),
        type=kind,
        length=50 if size is None and kind == "Text" else size,  # Text defaults to 50
        required=_text(el, "IsRequired").lower() == "true",
        primary_key=_text(el, "IsPrimaryKey").lower() == "true",
    )


def _create(mid: str, request: Element, extensions: Any) -> str:
    objects = request.findall(_q(ET_NS, "Objects"))
    if len(objects) != 1:
        raise Fault("Only one Objects element per CreateRequest is faked.")
    obj = objects[0]
    if obj.get(_q(XSI_NS, "type"), "").split(":")[-1] != "DataExtension":
        raise Fault('Objects must have xsi:type="DataExtension".')
    fields_el = obj.find(_q(ET_NS, "Fields"))
    fields = [_field(f) for f in fields_el.findall(_q(ET_NS, "Field"))] if fields_el else []
    try:
        object_id = extensions.create(mid, _text(obj, "CustomerKey"), _text(obj, "Name"), fields)
        result = (
            f"<StatusCode>OK</StatusCode><StatusMessage>Data Extension created.</StatusMessage>"
            f"<NewObjectID>{object_id}</NewObjectID>"
        )
        overall = "OK"
    except ValueError as exc:
        result = f"<StatusCode>Error</StatusCode><StatusMessage>{escape(str(exc))}</StatusMessage>"
        overall = "Error"
    return (
        f'<CreateResponse xmlns="{ET_NS}"><Results>{result}</Results>'
        f"<RequestID>fake</RequestID><OverallStatus>{overall}</OverallStatus></CreateResponse>"
    )


ACTIONS = {"Retrieve": ("RetrieveRequestMsg", _retrieve), "Create": ("CreateRequest", _create)}


async def service(request: web.Request) -> web.StreamResponse:
    raw = await remote_json.read_capped(request.content, MAX_BODY)
    action = request.headers.get("SOAPAction", "").strip('"')

    async def answer() -> web.StreamResponse:
        try:
            if len(raw) > MAX_BODY:
                raise Fault("The request is too large.")
            token, element = _parse(raw)
            grant = fake_of(request).access_grant(token)
            if grant is None:
                raise Fault("Token Expired", code="soap:Security")
            if action not in ACTIONS:
                raise Fault(f"SOAPAction {action!r} is not faked (Retrieve, Create).")
            needed = "data_extensions_read" if action == "Retrieve" else "data_extensions_write"
            if lacks_scope(grant.scope, needed):
                raise Fault(INSUFFICIENT_SCOPE)
            expected, handle = ACTIONS[action]
            if element.tag != _q(ET_NS, expected):
                raise Fault(f"SOAPAction {action} needs a {expected} element.")
            return _envelope(handle(grant.unit.mid, element, data_extensions_of(request.app)))
        except Fault as fault:
            return _fault(fault)

    return await recorded(request, "soap", {"action": action}, answer)


def add_routes(app: web.Application) -> None:
    data_extensions_of(app)
    app.router.add_post("/Service.asmx", service)
    app.router.add_post("/{tssd}/Service.asmx", service)
