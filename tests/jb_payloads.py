"""What the browser-test harness answers the config UI with (docs/protocol.md: "The
configuration UI")."""

from __future__ import annotations

import copy
from typing import Any

from activity.devtools.jb import ENTRY_KEY

CONFIGURED_MID = 500000001
UNCONFIGURED_MID = 500000099

# 7.4: the activity JSON sent with initActivity (a freshly dropped activity).
ACTIVITY: dict[str, Any] = {
    "name": "",
    "id": "b2a7f81d-6e35-4f9c-bd40-8c13a25f6d7b",
    "key": "REST-1",
    "type": "REST",
    "arguments": {
        "executionMode": "{{Context.ExecutionMode}}",
        "definitionId": "{{Context.DefinitionId}}",
        "activityId": "{{Activity.Id}}",
        "contactKey": "{{Context.ContactKey}}",
        "execute": {
            "inArguments": [{"email": f'{{{{Event.{ENTRY_KEY}."Email"}}}}'}],
            "outArguments": [],
            "url": "https://ca.example.com/execute",
            "useJwt": True,
            "timeout": 20000,
            "retryCount": 0,
            "retryDelay": 1000,
            "concurrentRequests": 5,
        },
        "testExecute": "",
        "startActivityKey": "{{Context.StartActivityKey}}",
        "definitionInstanceId": "{{Context.DefinitionInstanceId}}",
        "requestObjectId": "{{Context.RequestObjectId}}",
    },
    "configurationArguments": {
        "save": "",
        "testSave": "",
        "publish": {"url": "https://ca.example.com/publish", "useJwt": True},
        "testPublish": "",
        "unpublish": "",
        "stop": "",
        "testStop": "",
        "testUnpublish": "",
        "partnerActivityId": "",
        "validate": {"url": "https://ca.example.com/validate", "useJwt": True},
        "testValidate": "",
        "outArgumentSchema": {},
    },
    "metaData": {
        "icon": "https://ca.example.com/icon.png",
        "category": "message",
        "iconSmall": "",
        "statsContactIcon": "",
        "original_icon": "icon.png",
        "isConfigured": False,
    },
    "schema": {"arguments": {"execute": {"inArguments": [], "outArguments": []}}},
    "editable": True,
    "outcomes": [
        {
            "key": "b313ca1a-91c0-43a1-b46f-6ae9e6ba9aab",
            "next": "WAITBYDURATION-1",
            "arguments": {},
            "metaData": {"invalid": False},
        }
    ],
    "errors": None,
}


def _field(name: str, type_: str, length: int, **extra: Any) -> dict[str, Any]:
    entry = {
        "key": f"Event.{ENTRY_KEY}.{name}",
        "name": name,
        "type": type_,
        "length": length,
        "default": None,
        "isNullable": True,
        "isPrimaryKey": None,
    }
    entry.update(extra)
    return entry


# 7.5: the entry-source data extension, plus two fields a calendar journey would have.
SCHEMA: dict[str, Any] = {
    "schema": [
        _field("ContactKey", "Text", 50, isNullable=False, isPrimaryKey=True),
        _field("Email", "EmailAddress", 254),
        _field("Mobile", "Phone", 50),
        _field("First Name", "Text", 100),
        _field("Appointment Start", "Date", 0),
        _field("Rokt Subscription", "Text", 100),
    ]
}

# 7.6: requestedTokens.
TOKENS: dict[str, Any] = {
    "token": "<opaque legacy internal token>",
    "fuel2token": "<opaque>",
    "expires": 1695639774560,
    "stackKey": "S50",
    "EID": 500000000,
    "MID": CONFIGURED_MID,
    "UID": 951827403,
}

ENDPOINTS: dict[str, Any] = {
    "restHost": "rest.s50.exacttarget.com",
    "stackKey": "S50",
    "stackHost": "mc.s50.exacttarget.com",
    "ssoUrl": "https://mc.s50.exacttarget.com/cloud/tools/SSO.aspx?env=default&legacy=1&sk=S50",
    "fuelapiRestHost": "https://www-mc-s50.exacttargetapis.com/",
    "authTSSD": "https://tenant.auth.marketingcloudapis.com",
}


def binding(field: str) -> str:
    """How JB binds an entry-source field: {{Event.<key>."Field Name"}}."""
    return f'{{{{Event.{ENTRY_KEY}."{field}"}}}}'


def saved_activity(in_arguments: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """ACTIVITY as updateActivity should send it back: only these three things change."""
    activity = copy.deepcopy(ACTIVITY)
    activity["arguments"]["execute"]["inArguments"] = in_arguments
    activity["metaData"]["isConfigured"] = True
    activity["name"] = name
    return activity
