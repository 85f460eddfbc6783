"""What every route of the fake shares: the app key, reading bodies, tenants, scripted
failures and the request record. Route modules (auth, and later soap and rows) use these."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from activity.devtools.fake_sfmc.state import Failure, FakeSfmc, RecordedRequest

FAKE = web.AppKey("fake_sfmc", FakeSfmc)
SCRIPTED_ERROR = web.RequestKey("scripted_error", str)  # an error= answer for /v2/authorize
NOT_JSON = object()  # marks a body that is not JSON
SECRET_FIELDS = frozenset({"client_secret"})


def fake_of(request: web.Request) -> FakeSfmc:
    return request.app[FAKE]


def tenant_of(request: web.Request) -> str:
    """Routes are served both bare (`/v2/token`) and under a tenant (`/{tssd}/v2/token`), so
    SFMC_AUTH_URL=http://host:port/{tssd} shows whether the service used the right tenant."""
    return request.match_info.get("tssd", "")


async def read_json(request: web.Request) -> Any:
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def redacted(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: ("<redacted>" if k in SECRET_FIELDS else v) for k, v in body.items()}
    return None if body is NOT_JSON else body


def failure_response(failure: Failure) -> web.Response:
    body = failure.body if failure.body is not None else {"error": "scripted_failure"}
    return web.json_response(body, status=failure.status)


async def recorded(
    request: web.Request,
    endpoint: str,
    body: Any,
    answer: Callable[[], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Apply a scripted failure (or answer normally) and record the request."""
    fake = fake_of(request)
    at = fake.clock()
    failure = fake.next_failure(endpoint)
    if failure is not None and failure.delay > 0:
        await asyncio.sleep(failure.delay)
    response: web.StreamResponse
    if failure is not None and failure.status == 0:
        if request.transport is not None:
            request.transport.abort()
        response = web.Response(status=599)
    elif failure is not None and not failure.error:
        response = failure_response(failure)
    else:
        if failure is not None:
            request[SCRIPTED_ERROR] = failure.error
        try:
            response = await answer()
        except web.HTTPException as exc:
            response = exc
    fake.record(
        RecordedRequest(
            endpoint=endpoint,
            method=request.method,
            path=request.path,
            tssd=tenant_of(request),
            body=redacted(body),
            status=response.status,
            at=at,
            query={k: v for k, v in request.query.items() if k not in SECRET_FIELDS},
        )
    )
    if isinstance(response, web.HTTPException):
        raise response
    return response


# Marketing Cloud checks each API call against the token's scopes (the package's API
# integration permissions, as granted at /v2/token): data extension rows need
# `data_extensions_write`, reading a journey needs `journeys_read` (Salesforce docs "REST API
# permission IDs and scopes"); a call without its scope is refused with 403.
INSUFFICIENT_SCOPE = "Insufficient privileges to complete this action."


def lacks_scope(scope: str, needed: str) -> bool:
    return needed not in scope.split()


def insufficient_scope() -> web.Response:
    body = {"message": INSUFFICIENT_SCOPE, "errorcode": 0, "documentation": ""}
    return web.json_response(body, status=403)


def oauth_error(status: int, error: str, description: str) -> web.Response:
    """The error shape of SFMC's /v2/token ("access-token-app": error, error_description,
    error_uri)."""
    return web.json_response(
        {
            "error": error,
            "error_description": description,
            "error_uri": "https://developer.salesforce.com/docs",
        },
        status=status,
    )
