"""The fake's async data-extension rows API, and a way to read rows back.

- PUT /data/v1/async/dataextensions/key:{key}/rows {"items": [...]}: 202 {requestId}; rows
  Marketing Cloud would refuse are kept as per-row errors of the request, the others upserted
  (by primary key). A body that is not {"items": [non-empty list]}, or over 32,000 rows (the
  hard async limit), is a 400 with SFMC's error shape {message, errorcode, documentation}.
- GET /data/v1/async/{requestId}/status: `status.requestStatus` Complete, `hasErrors`.
- GET /data/v1/async/{requestId}/results: the per-row errors.
- GET /__fake/dataextensions/{key}/rows[?mid=MID]: every stored row (never a Marketing Cloud
  route; how tests and the demo read the data extension).
All but the last need a live Bearer access token (else 401 with SFMC's error shape).
(marketing-cloud-and-webhooks.md section 3; SFMC docs for the async data extension rows API.)
The fake completes a request at once: real ones may stay Pending for a while, so clients
poll; `FakeSfmc.fail("rows_status", ...)` scripts failures of the status call.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from activity.devtools.fake_sfmc.data_extensions import (
    MAX_ASYNC_ROWS,
    DataExtension,
    data_extensions_of,
)
from activity.devtools.fake_sfmc.http import (
    NOT_JSON,
    fake_of,
    insufficient_scope,
    lacks_scope,
    read_json,
    recorded,
)
from activity.devtools.fake_sfmc.state import Grant


def _error(status: int, message: str, code: int) -> web.Response:
    body = {"message": message, "errorcode": code, "documentation": ""}
    return web.json_response(body, status=status)


def _grant(request: web.Request) -> Grant | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return fake_of(request).access_grant(token.strip())


def _unauthorized() -> web.Response:
    return _error(401, "Not Authorized", 0)


def _row_keys(extension: DataExtension, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        return {}
    lowered = {k.lower(): v for k, v in row.items()}
    return {k: lowered.get(k.lower()) for k in extension.keys}


async def upsert(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    key = request.match_info["key"]

    async def answer() -> web.StreamResponse:
        grant = _grant(request)
        if grant is None:
            return _unauthorized()
        if lacks_scope(grant.scope, "data_extensions_write"):
            return insufficient_scope()
        extension = data_extensions_of(request.app).get(grant.unit.mid, key)
        if extension is None:
            return _error(404, f"Data extension with key {key} was not found.", 10001)
        if body is NOT_JSON or not isinstance(body, dict):
            return _error(400, "The request body is not a JSON object.", 10000)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            return _error(400, "items must be a non-empty array.", 10000)
        if len(items) > MAX_ASYNC_ROWS:
            return _error(400, f"At most {MAX_ASYNC_ROWS} rows per request.", 10000)
        errors = []
        for row in items:
            why = extension.check_row(row)
            if why:
                errors.append(
                    {"status": "Error", "errorCode": "10006", "message": why,
                     "keys": _row_keys(extension, row)}
                )  # fmt: skip
            else:
                extension.upsert(row)
        request_id = secrets.token_hex(16)
        data_extensions_of(request.app).requests.done[request_id] = (key, errors)
        data_extensions_of(request.app).requests.owner[request_id] = grant.unit.mid
        return web.json_response({"requestId": request_id, "resultMessages": []}, status=202)

    count = (
        len(body["items"]) if isinstance(body, dict) and isinstance(body.get("items"), list) else 0
    )
    return await recorded(request, "rows", {"key": key, "rows": count}, answer)


def _own_request(
    request: web.Request, request_id: str
) -> tuple[str, list[dict[str, Any]]] | web.StreamResponse:
    """The caller's finished upsert request, or the answer when there is none it may read:
    401 without a valid token, 404 for an unknown request or another business unit's."""
    grant = _grant(request)
    if grant is None:
        return _unauthorized()
    requests = data_extensions_of(request.app).requests
    found = requests.done.get(request_id)
    if requests.owner.get(request_id) != grant.unit.mid or found is None:
        return _error(404, f"Request {request_id} was not found.", 10001)
    return found


async def status(request: web.Request) -> web.StreamResponse:
    request_id = request.match_info["request_id"]

    async def answer() -> web.StreamResponse:
        found = _own_request(request, request_id)
        if isinstance(found, web.StreamResponse):
            return found
        now = datetime.now(UTC).isoformat()
        return web.json_response(
            {
                "requestId": request_id,
                "status": {
                    "callDateTime": now,
                    "completionDateTime": now,
                    "hasErrors": bool(found[1]),
                    "pipelineProcessingTime": 1.0,
                    "requestStatus": "Complete",
                    "resultStatus": "Error" if found[1] else "OK",
                    "requestId": request_id,
                },
            }
        )

    return await recorded(request, "rows_status", None, answer)


async def results(request: web.Request) -> web.StreamResponse:
    request_id = request.match_info["request_id"]

    async def answer() -> web.StreamResponse:
        found = _own_request(request, request_id)
        if isinstance(found, web.StreamResponse):
            return found
        items = found[1]
        return web.json_response(
            {"page": 1, "pageSize": len(items), "count": len(items), "items": items}
        )

    return await recorded(request, "rows_results", None, answer)


async def read_rows(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"].lower()
    mid = request.query.get("mid")
    rows = [
        row
        for (unit, customer_key), extension in data_extensions_of(request.app).by_key.items()
        if customer_key == key and (mid is None or unit == mid)
        for row in extension.rows.values()
    ]
    return web.json_response({"rows": rows})


def add_routes(app: web.Application) -> None:
    data_extensions_of(app)
    for prefix in ("", "/{tssd}"):
        app.router.add_put(f"{prefix}/data/v1/async/dataextensions/key:{{key}}/rows", upsert)
        app.router.add_get(f"{prefix}/data/v1/async/{{request_id}}/status", status)
        app.router.add_get(f"{prefix}/data/v1/async/{{request_id}}/results", results)
    app.router.add_get("/__fake/dataextensions/{key}/rows", read_rows)
