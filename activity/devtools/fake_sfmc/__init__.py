"""A fake Marketing Cloud: a real HTTP server that records requests and can be scripted."""

from activity.devtools.fake_sfmc.server import (
    create_fake_sfmc_app,
    run_fake_sfmc,
    running_fake_sfmc,
    start_fake_sfmc,
)
from activity.devtools.fake_sfmc.state import (
    BusinessUnit,
    Failure,
    FakeSfmc,
    Grant,
    RecordedRequest,
    User,
)

__all__ = [
    "BusinessUnit",
    "Failure",
    "FakeSfmc",
    "Grant",
    "RecordedRequest",
    "User",
    "create_fake_sfmc_app",
    "run_fake_sfmc",
    "running_fake_sfmc",
    "start_fake_sfmc",
]
