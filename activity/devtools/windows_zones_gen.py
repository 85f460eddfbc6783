"""Regenerates `activity/events/windows_zones.json` from CLDR's windowsZones table.

The table comes from the npm package `cldr-core` (a development dependency in package.json,
pinned to one release); the service reads only the small JSON this writes, so it never needs
node at run time. Run after changing the cldr-core version:

    python -m activity.devtools.windows_zones_gen

tests/events/test_windows_zones.py fails while the shipped file and the installed table differ.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLDR_PACKAGE = ROOT / "node_modules" / "cldr-core"
CLDR_TABLE = CLDR_PACKAGE / "supplemental" / "windowsZones.json"
TARGET = ROOT / "activity" / "events" / "windows_zones.json"
WORLD = "001"  # CLDR's territory for the Windows zone's default (golden) IANA zone


def mapping_from_cldr(table: Mapping[str, Any], version: str) -> dict[str, Any]:
    """CLDR's mapZone rows -> {Windows name: default IANA id} and {IANA id: Windows name}.

    Each row maps one Windows name and a territory to one or more IANA ids (space separated);
    the row for territory 001 names the default zone. Every IANA id appears in one row only.
    """
    windows_to_iana: dict[str, str] = {}
    iana_to_windows: dict[str, str] = {}
    for row in table["supplemental"]["windowsZones"]["mapTimezones"]:
        zone = row["mapZone"]
        windows, ids = zone["_other"], zone["_type"].split()
        if zone["_territory"] == WORLD:
            windows_to_iana[windows] = ids[0]
        for iana in ids:
            if iana_to_windows.setdefault(iana, windows) != windows:
                raise ValueError(f"{iana} maps to two Windows zones in CLDR {version}")
    return {
        "cldrVersion": version,
        "windowsToIana": dict(sorted(windows_to_iana.items())),
        "ianaToWindows": dict(sorted(iana_to_windows.items())),
    }


def from_installed_cldr() -> dict[str, Any]:
    version = json.loads((CLDR_PACKAGE / "package.json").read_text())["version"]
    return mapping_from_cldr(json.loads(CLDR_TABLE.read_text()), version)


def render(mapping: Mapping[str, Any]) -> str:
    return json.dumps(mapping, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    TARGET.write_text(render(from_installed_cldr()))
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
