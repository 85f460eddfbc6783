from __future__ import annotations

import json

import pytest

from activity.devtools import windows_zones_gen
from activity.events import timezones


def test_shipped_mapping_equals_the_installed_cldr_table() -> None:
    # package.json pins cldr-core; a new release must be regenerated into the package.
    expected = windows_zones_gen.render(windows_zones_gen.from_installed_cldr())
    assert windows_zones_gen.TARGET.read_text() == expected
    assert timezones.cldr_version() == json.loads(expected)["cldrVersion"]


def test_mapping_takes_territory_001_as_default_and_lists_every_id() -> None:
    table = {
        "supplemental": {
            "windowsZones": {
                "mapTimezones": [
                    {"mapZone": {"_other": "X Time", "_type": "A/One", "_territory": "001"}},
                    {"mapZone": {"_other": "X Time", "_type": "A/Two A/One", "_territory": "ZZ"}},
                ]
            }
        }
    }
    got = windows_zones_gen.mapping_from_cldr(table, "1.0")
    assert got["windowsToIana"] == {"X Time": "A/One"}
    assert got["ianaToWindows"] == {"A/One": "X Time", "A/Two": "X Time"}


def test_an_id_under_two_windows_names_is_refused() -> None:
    rows = [
        {"mapZone": {"_other": "X Time", "_type": "A/One", "_territory": "001"}},
        {"mapZone": {"_other": "Y Time", "_type": "A/One", "_territory": "001"}},
    ]
    with pytest.raises(ValueError, match="A/One maps to two Windows zones"):
        windows_zones_gen.mapping_from_cldr(
            {"supplemental": {"windowsZones": {"mapTimezones": rows}}}, "1.0"
        )
