"""Server-to-server connections (`rokt-activity sfmc connect`): the self-hosted alternative to
the SSO connection. The client secret is checked with a real token request (which also names
the REST and SOAP instance URLs) before it is stored, encrypted."""

from __future__ import annotations

import time

import aiohttp

from activity.crypto import Keyring
from activity.sfmc import oauth
from activity.storage.base import Store
from activity.storage.models import CLIENT_CREDENTIALS_GRANT, SfmcConnection


async def connect(
    store: Store,
    keyring: Keyring,
    http: aiohttp.ClientSession,
    *,
    mid: str,
    client_id: str,
    client_secret: str,
    auth_url: str,
) -> SfmcConnection:
    """Store the connection once Marketing Cloud granted a token for `mid` (`account_id`);
    SfmcError otherwise, and nothing is stored."""
    base = auth_url.rstrip("/")
    tokens = await oauth.client_credentials(
        http, base, client_id=client_id, client_secret=client_secret, account_id=mid
    )
    now = time.time()
    connection = SfmcConnection(
        mid=mid,
        grant_type=CLIENT_CREDENTIALS_GRANT,
        client_id=client_id,
        secret_token=keyring.encrypt(client_secret),
        auth_url=base,
        connected_at=now,
        updated_at=now,
        rest_instance_url=tokens.rest_instance_url,
        soap_instance_url=tokens.soap_instance_url,
        scope=tokens.scope,
        user_id="cli",
    )
    await store.put_sfmc_connection(connection)
    return connection
