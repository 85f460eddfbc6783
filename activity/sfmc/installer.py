"""Installs the "Calendar Subscription" data extension in a business unit: SOAP Retrieve by
CustomerKey, then Create only when it is missing. Installing twice creates nothing new."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from activity.errors import SfmcError
from activity.sfmc import data_extension as de
from activity.sfmc import soap
from activity.sfmc.tokens import Access, SfmcTokens
from activity.storage.base import Store
from activity.storage.models import AuditEntry

NEXT_STEP = (
    "Link it to your contacts in Contact Builder: Data Designer, your attribute group, "
    "Link Data Extensions, choose Calendar Subscription, and map Contact Key to "
    "SubscriberExternalId. Marketing Cloud has no API for this step."
)


@dataclass(frozen=True)
class Installed:
    created: bool  # False: it was already there
    object_id: str


async def _find(http: aiohttp.ClientSession, access: Access) -> str | None:
    """The data extension's ObjectID when the business unit has it, else None."""
    found = await soap.call(
        http, access, "Retrieve", soap.retrieve_data_extension(de.CUSTOMER_KEY),
        "RetrieveResponseMsg",
    )  # fmt: skip
    if found.overall_status not in ("OK", "MoreDataAvailable"):
        raise SfmcError(
            f"looking for the data extension failed ({found.overall_status})",
            reason="sfmc_install_failed",
        )
    for result in found.results:
        if soap.text_of(result, "CustomerKey").lower() == de.CUSTOMER_KEY.lower():
            return soap.text_of(result, "ObjectID")
    return None


async def install(http: aiohttp.ClientSession, tokens: SfmcTokens, mid: str) -> Installed:
    async def run(access: Access) -> Installed:
        existing = await _find(http, access)
        if existing is not None:
            return Installed(False, existing)
        made = await soap.call(
            http,
            access,
            "Create",
            soap.create_data_extension(de.CUSTOMER_KEY, de.NAME, de.FIELDS),
            "CreateResponse",
        )
        first = made.results[0] if made.results else None
        if made.overall_status != "OK" or first is None:
            # Another install (a double click, another admin) may have created it meanwhile:
            # then Marketing Cloud refuses this create, and the goal is met all the same.
            existing = await _find(http, access)
            if existing is not None:
                return Installed(False, existing)
            why = soap.text_of(first, "StatusMessage") if first is not None else ""
            raise SfmcError(
                f"Marketing Cloud did not create the data extension: {why or made.overall_status}",
                reason="sfmc_install_failed",
            )
        return Installed(True, soap.text_of(first, "NewObjectID"))

    return await tokens.call(mid, run)


INSTALL_ACTION = "install_data_extension"


async def install_and_record(
    http: aiohttp.ClientSession,
    tokens: SfmcTokens,
    store: Store,
    mid: str,
    *,
    user_id: str,
    user_email: str = "",
    now: float | None = None,
) -> Installed:
    """Install, then note it in the business unit's change history (what the settings page
    reads to say it is installed)."""
    done = await install(http, tokens, mid)
    what = "created" if done.created else "already present, nothing changed"
    detail = f"data extension {de.NAME} ({de.CUSTOMER_KEY}): {what}"
    at = time.time() if now is None else now
    await store.add_audit_entry(AuditEntry(mid, at, user_id, user_email, INSTALL_ACTION, detail))
    return done


async def is_installed(store: Store, mid: str) -> bool:
    return any(e.action == INSTALL_ACTION for e in await store.audit_log(mid, 500))
