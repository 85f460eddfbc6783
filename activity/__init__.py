"""Rokt Calendar Event: a Journey Builder custom activity that delivers calendar events."""

from activity.app import create_app
from activity.config import Settings

__all__ = ["Settings", "create_app"]
