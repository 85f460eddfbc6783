"""config.json: the top-level template, filled with absolute URLs from ACTIVITY_PUBLIC_URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "config.json"  # in a checkout
PACKAGED_TEMPLATE = Path(__file__).resolve().parents[1] / "config.json"  # in a wheel (setup.py)


def load_template() -> str:
    for path in (PACKAGED_TEMPLATE, TEMPLATE_PATH):
        if path.exists():
            return path.read_text("utf-8")
    raise FileNotFoundError("config.json template not found")


def render_manifest(template: str, public_base: str, app_key: str, asset_version: str) -> Any:
    """Substitute `{{base}}`, `{{version}}` and `{{appKey}}` inside JSON string values only."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return (
                value.replace("{{base}}", public_base)
                .replace("{{version}}", asset_version)
                .replace("{{appKey}}", app_key)
            )
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    manifest = fill(json.loads(template))
    if not app_key:
        manifest["configurationArguments"].pop("applicationExtensionKey", None)
    return manifest
