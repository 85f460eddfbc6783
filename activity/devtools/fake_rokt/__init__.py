"""A fake Rokt Calendar API: a real HTTP server that records requests and can be scripted."""

from activity.devtools.fake_rokt.record import RecordedRequest
from activity.devtools.fake_rokt.server import (
    create_fake_rokt_app,
    run_fake_rokt,
    running_fake_rokt,
    start_fake_rokt,
)
from activity.devtools.fake_rokt.state import FakeRokt

__all__ = [
    "FakeRokt",
    "RecordedRequest",
    "create_fake_rokt_app",
    "run_fake_rokt",
    "running_fake_rokt",
    "start_fake_rokt",
]
