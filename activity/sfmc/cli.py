"""`rokt-activity sfmc connect|install`: Marketing Cloud connections and the data extension,
from the command line (the settings page's button does the same install)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import aiohttp

from activity.config import Settings
from activity.crypto import keyring_for
from activity.errors import SfmcError
from activity.sfmc import client_credentials, data_extension, installer, oauth
from activity.sfmc.connections import ConnectionService
from activity.sfmc.tokens import SfmcTokens
from activity.storage.factory import store_for


def read_client_secret() -> str:
    """From stdin (one line), or a hidden prompt on a terminal; never from argv."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Marketing Cloud client secret: ").strip()
    return sys.stdin.readline().strip()


async def run(settings: Settings, args: argparse.Namespace, user: str) -> int:
    store = store_for(settings)
    await store.open()
    keyring = keyring_for(settings.database_url, settings.encryption_keys)
    try:
        async with aiohttp.ClientSession() as http:
            if args.sfmc_command == "connect":
                secret = read_client_secret()
                if not secret:
                    print("rokt-activity: the client secret is read from stdin", file=sys.stderr)
                    return 2
                auth_url = args.auth_url or oauth.auth_base(
                    settings.sfmc_auth_url, settings.sfmc_subdomain
                )
                stored = await client_credentials.connect(
                    store, keyring, http, mid=args.mid, client_id=args.client_id,
                    client_secret=secret, auth_url=auth_url,
                )  # fmt: skip
                print(f"connected business unit {stored.mid} (client credentials)")
                return 0
            tokens = SfmcTokens(ConnectionService(store, keyring, settings), http)
            done = await installer.install_and_record(http, tokens, store, args.mid, user_id=user)
            what = "created" if done.created else "already installed; nothing changed"
            print(f"data extension Calendar Subscription ({data_extension.CUSTOMER_KEY}): {what}")
            print(f"next step: {installer.NEXT_STEP}")
            return 0
    except SfmcError as exc:
        print(f"rokt-activity: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await store.close()


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Adds `sfmc connect|install` to the top-level subparsers `sub`."""
    sfmc: argparse.ArgumentParser = sub.add_parser(
        "sfmc", help="Marketing Cloud connections and the data extension"
    )
    ssub = sfmc.add_subparsers(dest="sfmc_command", required=True)
    connect = ssub.add_parser(
        "connect", help="store a client-credentials connection (secret from stdin)"
    )
    connect.add_argument("--mid", required=True, help="the business unit's MID")
    connect.add_argument(
        "--client-id", required=True, help="the server-to-server package's client ID"
    )
    connect.add_argument("--auth-url", help="auth base URL (default SFMC_AUTH_URL for the tenant)")
    install = ssub.add_parser("install", help="install the Calendar Subscription data extension")
    install.add_argument("--mid", required=True, help="the business unit's MID")
    return sfmc
