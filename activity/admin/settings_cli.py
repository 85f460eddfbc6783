"""`rokt-activity settings set|list|delete|rotate-key|webhook-url`: business units' Rokt
settings from the command line (the settings page does the same through SettingsService)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from activity.admin.settings_service import Actor, SettingsService
from activity.config import Settings
from activity.crypto import keyring_for
from activity.rokt.webhook_urls import WebhookUrls
from activity.sfmc.connections import ConnectionService
from activity.storage.factory import store_for

# settings commands that only read: they must not create a database or a key file.
READ_ONLY_SETTINGS = frozenset({"list", "delete", "rotate-key"})


async def run(
    settings: Settings, args: argparse.Namespace, user: str, read_secret: Callable[[], str]
) -> int:
    action = args.settings_command
    create = action not in READ_ONLY_SETTINGS
    store = store_for(settings, create=create)
    keyring = keyring_for(settings.database_url, settings.encryption_keys, create=create)
    await store.open()
    try:
        service = SettingsService(store, keyring)
        actor = Actor(user_id=user)
        if action == "set":
            await service.save(
                mid=args.mid,
                account_code=args.account_code,
                client_id=args.client_id,
                client_secret=read_secret(),
                account_id=args.account_id or "",
                enterprise_id=args.enterprise_id or "",
                is_enterprise_default=bool(args.enterprise_default),
                actor=actor,
            )
            print(f"saved settings for MID {args.mid}")
        elif action == "list":
            rows = await service.all_settings()
            print(
                f"{'MID':<14} {'account code':<20} {'account ID':<14} {'client ID':<24} "
                f"{'enterprise':<12} secret"
            )
            for s in rows:
                print(
                    f"{s.mid:<14} {s.account_code:<20} {s.account_id:<14} {s.client_id:<24} "
                    f"{s.enterprise_id + (' (default)' if s.is_enterprise_default else ''):<12} "
                    "stored"
                )
        elif action == "delete":
            if await service.delete(args.mid, actor):
                print(f"deleted settings for MID {args.mid}")
            else:
                print(f"no settings for MID {args.mid}", file=sys.stderr)
                return 1
        elif action == "webhook-url":
            urls = WebhookUrls(store, keyring, settings.public_base)
            print(await urls.url_for(args.mid, rotate=bool(args.rotate)))
        elif action == "rotate-key":
            changed = await service.rotate_keys()
            changed += await ConnectionService(store, keyring, settings).rotate_keys()
            changed += await WebhookUrls(store, keyring, settings.public_base).rotate_keys()
            print(f"re-encrypted {changed} stored secret(s) under the first key")
        return 0
    finally:
        await store.close()


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Adds `settings set|list|delete|rotate-key|webhook-url` to the top-level subparsers."""
    settings: argparse.ArgumentParser = sub.add_parser(
        "settings",
        help="manage business-unit Rokt settings",
        description="Manage each business unit's Rokt settings in the database named by "
        "ACTIVITY_DATABASE_URL (default sqlite:///./activity.db).",
    )
    ssub = settings.add_subparsers(dest="settings_command", required=True)
    sset = ssub.add_parser("set", help="store a business unit's settings (secret from stdin)")
    sset.add_argument("--mid", required=True, help="the business unit's MID")
    sset.add_argument("--account-code", required=True, help="the Rokt account code")
    sset.add_argument("--client-id", required=True, help="the Rokt OAuth client ID")
    sset.add_argument("--account-id", help="the Rokt account ID, shown to admins")
    sset.add_argument("--enterprise-id", help="the enterprise (parent) MID of the business unit")
    sset.add_argument(
        "--enterprise-default",
        action="store_true",
        help="use these settings for business units of the enterprise without their own",
    )
    ssub.add_parser("list", help="list stored settings (never prints secrets)")
    sdel = ssub.add_parser("delete", help="delete a business unit's settings")
    sdel.add_argument("--mid", required=True, help="the business unit's MID")
    ssub.add_parser("rotate-key", help="re-encrypt all secrets under the first key")
    shook = ssub.add_parser(
        "webhook-url", help="print the business unit's Rokt webhook URL (made on first use)"
    )
    shook.add_argument("--mid", required=True, help="the business unit's MID")
    shook.add_argument(
        "--rotate", action="store_true", help="replace it; the old URL stops working at once"
    )
    return settings
